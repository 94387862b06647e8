"""HTTP responses: the ASGI apps an endpoint returns.

A response is an ASGI application: awaiting ``response(scope, receive, send)``
sends ``http.response.start`` and the body, then runs ``response.background``
(the post-response phase of the request).

A façade, as Starlette's and FastAPI's module paths are public: the classes
live in ``trioapi._response``, ``_streamingresponse``, ``_fileresponse`` and
``_eventsource``.
"""

from trioapi._eventsource import EventSourceResponse
from trioapi._fileresponse import FileResponse, MalformedRangeHeader, RangeNotSatisfiable
from trioapi._response import (
    HTMLResponse,
    JSONResponse,
    ORJSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
    UJSONResponse,
)
from trioapi._streamingresponse import (
    AsyncContentStream,
    Content,
    ContentStream,
    StreamingResponse,
    SyncContentStream,
)

__all__ = [
    "AsyncContentStream",
    "Content",
    "ContentStream",
    "EventSourceResponse",
    "FileResponse",
    "HTMLResponse",
    "JSONResponse",
    "MalformedRangeHeader",
    "ORJSONResponse",
    "PlainTextResponse",
    "RangeNotSatisfiable",
    "RedirectResponse",
    "Response",
    "StreamingResponse",
    "SyncContentStream",
    "UJSONResponse",
]
