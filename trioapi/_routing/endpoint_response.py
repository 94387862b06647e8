"""Turning an endpoint's return value into the response, as FastAPI does.

A returned ``Response`` is sent as it is (it only gains the request's
background tasks if it has none). Anything else is validated against the
``response_model`` if there is one, encoded, and wrapped in the route's
``response_class`` with the route's ``status_code``; the status, headers and
cookies that dependencies set on the injected ``Response`` are merged in.
"""

from __future__ import annotations

from typing import Any

from trioapi._routing.endpoint_stream import StreamBuilder
from trioapi._routing.response_model import (
    ResponseSerializer,
    is_body_allowed_for_status_code,
    serialize_without_model,
)
from trioapi.background import BackgroundTasks
from trioapi.dependencies.solver import RequestSolution
from trioapi.encoders import jsonable_encoder
from trioapi.responses import JSONResponse, Response

__all__ = ["ResponseBuilder"]


class _RenderedJSONResponse(JSONResponse):
    """A ``JSONResponse`` whose content is already JSON bytes (pydantic wrote them)."""

    def render(self, content: Any) -> bytes:
        """Pass the ready bytes through."""
        return bytes(content)


class ResponseBuilder:
    """Builds a route's response from its endpoint's result; configured once per route.

    Attributes:
        response_class: The class that wraps returned data.
        status_code: The route's default status code (``None``: the class's default).
        serializer: Validates and encodes against the ``response_model``, if any.
        stream: Streams the items of a generator endpoint, if the endpoint is one.
    """

    __slots__ = ("response_class", "serializer", "status_code", "stream")

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

    async def build(self, result: Any, state: RequestSolution) -> Response:
        """The response for ``result``. A checkpoint when validation runs in a thread.

        Raises:
            ResponseValidationError: ``result`` does not match the response model.
        """
        background: BackgroundTasks | None = state.background_tasks
        if isinstance(result, Response):
            if result.background is None:
                result.background = background
            return result
        sub_response = state.sub_response
        status_code = self.status_code
        if sub_response is not None and sub_response.status_code:
            status_code = sub_response.status_code
        response = await self._render(result, status_code, background)
        if not is_body_allowed_for_status_code(response.status_code):
            response.body = b""
        if sub_response is not None:
            response.headers.raw.extend(sub_response.headers.raw)
        return response

    async def _render(
        self, result: Any, status_code: int | None, background: BackgroundTasks | None
    ) -> Response:
        options: dict[str, Any] = {"background": background}
        if status_code is not None:
            options["status_code"] = status_code
        if self.stream is not None:
            return self.stream.build(result, options)
        if self.response_class is JSONResponse:
            # The common case: JSON bytes straight from pydantic or the encoder.
            if self.serializer is not None:
                content: Any = await self.serializer(result)
            else:
                content = serialize_without_model(result)
            return _RenderedJSONResponse(content, **options)
        if self.serializer is not None:
            content = await self.serializer.to_content(result)
        else:
            content = jsonable_encoder(result)
        return self.response_class(content, **options)
