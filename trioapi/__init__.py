"""trioapi: FastAPI's programming model on Trio."""

from trioapi import status as status
from trioapi._settings import Limits as Limits
from trioapi.applications import TrioAPI as TrioAPI
from trioapi.background import BackgroundTasks as BackgroundTasks
from trioapi.datastructures import UploadFile as UploadFile
from trioapi.exceptions import HTTPException as HTTPException
from trioapi.exceptions import WebSocketException as WebSocketException
from trioapi.nurseries import AppNursery as AppNursery
from trioapi.nurseries import RequestNursery as RequestNursery
from trioapi.nurseries import RequestScope as RequestScope
from trioapi.param_functions import Body as Body
from trioapi.param_functions import Cookie as Cookie
from trioapi.param_functions import Depends as Depends
from trioapi.param_functions import File as File
from trioapi.param_functions import Form as Form
from trioapi.param_functions import Header as Header
from trioapi.param_functions import Path as Path
from trioapi.param_functions import Query as Query
from trioapi.param_functions import Security as Security
from trioapi.requests import Request as Request
from trioapi.responses import Response as Response
from trioapi.routing import APIRouter as APIRouter
from trioapi.websockets import WebSocket as WebSocket
from trioapi.websockets import WebSocketDisconnect as WebSocketDisconnect

__version__ = "0.1.0"

__all__ = [
    "APIRouter",
    "AppNursery",
    "BackgroundTasks",
    "Body",
    "Cookie",
    "Depends",
    "File",
    "Form",
    "HTTPException",
    "Header",
    "Limits",
    "Path",
    "Query",
    "Request",
    "RequestNursery",
    "RequestScope",
    "Response",
    "Security",
    "TrioAPI",
    "UploadFile",
    "WebSocket",
    "WebSocketDisconnect",
    "WebSocketException",
    "status",
]
