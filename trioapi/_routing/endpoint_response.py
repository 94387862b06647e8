"""Turning an endpoint's return value into the response, as FastAPI does.

A returned ``Response`` is sent as it is (it only gains the request's
background tasks if it has none). Anything else is validated against the
``response_model`` if there is one, encoded, and wrapped in the route's
``response_class`` with the route's ``status_code``; the status, headers and
cookies that dependencies set on the injected ``Response`` are merged in.
"""

from __future__ import annotations

from typing import Any

from trioapi._response import keeps_response_construction, rendered_headers, rendered_response
from trioapi._routing.endpoint_stream import StreamBuilder
from trioapi._routing.response_model import (
    ResponseSerializer,
    is_body_allowed_for_status_code,
    serialize_without_model,
)
from trioapi.background import BackgroundTasks
from trioapi.dependencies.solver import RequestSolution
from trioapi.encoders import jsonable_encoder
from trioapi.requests import Request
from trioapi.responses import JSONResponse, Response
from trioapi.types import HeaderList, Send

__all__ = ["ResponseBuilder"]

# build_now()'s default: the serializer has not run yet.
_NOT_SERIALIZED: Any = object()
# Statuses from 200 up whose response has no body (is_body_allowed_for_status_code).
_NO_BODY_STATUSES = frozenset({204, 205, 304})


class _RenderedJSONResponse(JSONResponse):
    """A ``JSONResponse`` whose content is already JSON bytes (pydantic wrote them)."""

    def __init__(
        self, content: bytes, status_code: int = 200, background: BackgroundTasks | None = None
    ) -> None:
        # What Response.__init__ does, minus the call to render() and the
        # options it has no use for: this is built for every JSON response.
        self.status_code = status_code
        self.background = background
        self.body = content
        self.init_headers()

    def render(self, content: Any) -> bytes:
        """Pass the ready bytes through."""
        return bytes(content)


class ResponseBuilder:
    """Builds a route's response from its endpoint's result; configured once per route.

    Attributes:
        synchronous: Whether :meth:`build_now` may be called (nothing runs in a thread).
        response_class: The class that wraps returned data.
        status_code: The route's default status code (``None``: the class's default).
        serializer: Validates and encodes against the ``response_model``, if any.
        stream: Streams the items of a generator endpoint, if the endpoint is one.
    """

    __slots__ = (
        "_plain_class",
        "_plain_json",
        "response_class",
        "serializer",
        "status_code",
        "stream",
        "synchronous",
    )

    def __init__(
        self,
        response_class: type[Response],
        status_code: int | None,
        serializer: ResponseSerializer | None,
        stream: StreamBuilder | None = None,
    ) -> None:
        self.response_class = response_class
        self.status_code = status_code
        self.serializer = serializer
        self.stream = stream
        # The common case, served without the general path's indirections.
        self._plain_json = response_class is JSONResponse and stream is None
        # Text for a class built as Response builds itself: made without its calls.
        self._plain_class = stream is None and keeps_response_construction(response_class)
        # Whether build_now() may be called: nothing is validated in a worker
        # thread (a stream's items are, as they are sent).
        self.synchronous = serializer is None or not serializer.in_thread or stream is not None

    async def respond(
        self,
        state: RequestSolution,
        request: Request,
        send: Send | None,
        kept: list[Response] | None,
        telemetry: Any,
        endpoint: Any,
        result: Any,
    ) -> None:
        """Build the response for ``result`` and send it, or keep it in ``kept`` without ``send``.

        A checkpoint. ``telemetry`` (with the ``endpoint`` it names) records
        the serialization as an operation span.
        """
        background = state.background_tasks
        sub_response = state.sub_response
        if telemetry is not None:
            with telemetry.operation("trioapi.serialization", endpoint):
                response = await self.build(result, background, sub_response)
        elif not self.synchronous:
            response = await self.build(result, background, sub_response)
        elif background is not None or sub_response is not None or send is None:
            response = self.build_now(result, background, sub_response)
        else:
            made = self.build_parts(result)
            if isinstance(made, tuple):
                # What Response.__call__ sends for it, without the response.
                status, headers, body = made
                await send({"type": "http.response.start", "status": status, "headers": headers})
                await send({"type": "http.response.body", "body": body})
                return
            response = made
        if send is None:
            if kept is not None:
                kept.append(response)
            return
        await response(request.scope, request.receive, send)

    async def build(
        self,
        result: Any,
        background: BackgroundTasks | None = None,
        sub_response: Response | None = None,
    ) -> Response:
        """The response for ``result``. A checkpoint when validation runs in a thread.

        Args:
            result: What the endpoint returned.
            background: The request's ``BackgroundTasks``, if a parameter asked for them.
            sub_response: The ``Response`` injected into parameters, if one asked for it.

        Raises:
            ResponseValidationError: ``result`` does not match the response model.
        """
        serializer = self.serializer
        if self.synchronous or serializer is None or isinstance(result, Response):
            return self.build_now(result, background, sub_response)
        # Validated in a worker thread.
        if self._plain_json:
            serialized: Any = await serializer(result)
        else:
            serialized = await serializer.to_content(result)
        return self.build_now(result, background, sub_response, serialized)

    def build_now(
        self,
        result: Any,
        background: BackgroundTasks | None = None,
        sub_response: Response | None = None,
        serialized: Any = _NOT_SERIALIZED,
    ) -> Response:
        """:meth:`build` without its coroutine, for a :attr:`synchronous` builder.

        ``serialized`` is what the serializer made of ``result`` in a worker
        thread, when :meth:`build` had it run there.
        """
        if isinstance(result, Response):
            if result.background is None:
                result.background = background
            return result
        status_code = self.status_code
        if sub_response is not None and sub_response.status_code:
            status_code = sub_response.status_code
        serializer = self.serializer
        response: Response
        if self._plain_json:
            # The common case: JSON bytes straight from pydantic or the encoder.
            if serialized is not _NOT_SERIALIZED:
                body = serialized
            elif serializer is None:
                body = serialize_without_model(result)
            else:
                body = serializer.serialize(result)
            status = 200 if status_code is None else status_code
            response = rendered_response(_RenderedJSONResponse, body, status, background)
        elif self.stream is not None:
            options: dict[str, Any] = {"background": background}
            if status_code is not None:
                options["status_code"] = status_code
            response = self.stream.build(result, options)
        else:
            # Any other class gets JSON-compatible data, as in FastAPI.
            if serialized is not _NOT_SERIALIZED:
                content: Any = serialized
            elif serializer is None:
                content = jsonable_encoder(result)
            else:
                content = serializer.serialize_python(result)
            if self._plain_class and type(content) is str:
                status = 200 if status_code is None else status_code
                body = content.encode(self.response_class.charset)  # what render() does
                response = rendered_response(self.response_class, body, status, background)
            else:
                response = self._wrap(content, status_code, background)
        # 200, by far the most common, needs no look-up.
        if response.status_code != 200 and not is_body_allowed_for_status_code(
            response.status_code
        ):
            response.body = b""
        if sub_response is not None:
            response.headers.raw.extend(sub_response.headers.raw)
        return response

    def build_parts(self, result: Any) -> Response | tuple[int, HeaderList, bytes]:
        """What :meth:`build_now` makes of ``result``, without a background or sub-response.

        When that would be a response :func:`rendered_response` makes (JSON,
        or text of a class that keeps Response's construction) with a status
        that allows a body: its status, headers and body, for the caller to
        send as ``Response.__call__`` would, without the object. Otherwise
        the response itself.
        """
        status = self.status_code
        if status is None:
            status = 200  # the class's default: JSONResponse's and Response's
        if (
            isinstance(result, Response)
            or self.stream is not None
            or status < 200
            or status in _NO_BODY_STATUSES
        ):
            return self.build_now(result)
        serializer = self.serializer
        if self._plain_json:
            if serializer is None:
                body = serialize_without_model(result)
            else:
                body = serializer.serialize(result)
            return status, rendered_headers(_RenderedJSONResponse, body, status), body
        if not self._plain_class:
            return self.build_now(result)
        if serializer is None:
            content: Any = jsonable_encoder(result)
        else:
            content = serializer.serialize_python(result)
        if type(content) is not str:
            return self.build_now(result, None, None, content)
        body = content.encode(self.response_class.charset)  # what render() does
        return status, rendered_headers(self.response_class, body, status), body

    def _wrap(
        self, content: Any, status_code: int | None, background: BackgroundTasks | None
    ) -> Response:
        # The status only when the route sets one: the class's own default otherwise.
        if status_code is None:
            return self.response_class(content, background=background)
        return self.response_class(content, status_code=status_code, background=background)
