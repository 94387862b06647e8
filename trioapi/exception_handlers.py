"""The default exception handlers of ``TrioAPI``: FastAPI's response shapes."""

from __future__ import annotations

import json

from trioapi._routing.response_model import is_body_allowed_for_status_code
from trioapi.encoders import jsonable_encoder
from trioapi.exceptions import (
    HTTPException,
    RequestValidationError,
    WebSocketRequestValidationError,
)
from trioapi.requests import Request
from trioapi.responses import JSONResponse, Response
from trioapi.websockets import WebSocket

__all__ = [
    "http_exception_handler",
    "request_validation_exception_handler",
    "websocket_request_validation_exception_handler",
]

WS_1008_POLICY_VIOLATION = 1008
# RFC 6455 section 5.5: a close frame's payload is at most 125 bytes, 2 of them the code.
_MAX_CLOSE_REASON_BYTES = 123


async def http_exception_handler(request: Request, exc: HTTPException) -> Response:
    """Answer ``{"detail": exc.detail}`` with the exception's status and headers.

    Statuses that cannot have a body (204, 304, 1xx) get an empty response.
    Not a checkpoint.
    """
    del request  # the answer depends on the exception only
    headers = getattr(exc, "headers", None)
    if not is_body_allowed_for_status_code(exc.status_code):
        return Response(status_code=exc.status_code, headers=headers)
    return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=headers)


async def request_validation_exception_handler(
    request: Request, exc: RequestValidationError
) -> JSONResponse:
    """Answer 422 with ``{"detail": [errors]}``, each error as FastAPI reports it. Not a checkpoint."""
    del request  # the answer depends on the exception only
    return JSONResponse(status_code=422, content={"detail": jsonable_encoder(exc.errors())})


async def websocket_request_validation_exception_handler(
    websocket: WebSocket, exc: WebSocketRequestValidationError
) -> None:
    """Close the socket with 1008 (policy violation), the errors as the reason.

    A checkpoint (sends the close frame). FastAPI passes the error list itself
    as the reason; a close reason must be text of at most 123 bytes, so
    trioapi sends the errors as JSON when they fit, else a summary.
    """
    await websocket.close(code=WS_1008_POLICY_VIOLATION, reason=close_reason(exc))


def close_reason(exc: WebSocketRequestValidationError) -> str:
    """The close reason for ``exc``: its errors as JSON, or a summary that fits a close frame."""
    errors = jsonable_encoder(exc.errors())
    reason = json.dumps(errors, separators=(",", ":"))
    if len(reason.encode()) <= _MAX_CLOSE_REASON_BYTES:
        return reason
    first = errors[0] if errors else {}
    loc = ".".join(str(part) for part in first.get("loc", ()))
    summary = f"{len(errors)} validation error(s); {loc}: {first.get('msg', '')}"
    return summary.encode()[:_MAX_CLOSE_REASON_BYTES].decode(errors="ignore")
