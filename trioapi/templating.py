"""Jinja2 templates rendered into HTML responses.

Jinja2 is optional: ``pip install 'trioapi[templates]'``.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from os import PathLike
from typing import Any, Protocol

from trioapi._response import HTMLResponse, has_no_body
from trioapi.background import BackgroundTask
from trioapi.concurrency import run_in_threadpool
from trioapi.exceptions import TrioAPIError
from trioapi.types import Receive, Scope, Send

try:
    import jinja2
except ModuleNotFoundError as exc:
    raise ImportError(
        "trioapi.templating needs Jinja2, which is not installed. "
        "Install it with: pip install 'trioapi[templates]' (or pip install jinja2)."
    ) from exc

__all__ = ["Jinja2Templates"]


class _RequestLike(Protocol):
    """What templating needs from a request: ``url_for`` for the template helper."""

    def url_for(self, name: str, /, **path_params: Any) -> Any: ...


ContextProcessor = Callable[[Any], dict[str, Any]]


class _TemplateResponse(HTMLResponse):
    """An HTML response rendered from a template when it is sent.

    Rendering happens in ``__call__``: in a worker thread for a sync Jinja
    environment, with ``render_async`` for an async one, so a large template
    never blocks the event loop. Reading :attr:`body` before that renders it
    synchronously, on the spot.

    Attributes:
        template: The ``jinja2.Template``.
        context: The context it is rendered with (includes ``request``).
    """

    def __init__(
        self,
        template: jinja2.Template,
        context: dict[str, Any],
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        media_type: str | None = None,
        background: BackgroundTask | None = None,
    ) -> None:
        self.template = template
        self.context = context
        self._rendered: bytes | None = None
        self._length_is_ours = not any(name.lower() == "content-length" for name in headers or {})
        super().__init__(None, status_code, headers, media_type, background)

    def init_headers(self, headers: Mapping[str, str] | None = None) -> None:
        """Build the headers for the still-empty body; Content-Length is fixed on rendering."""
        # Without this, Response.init_headers reading self.body would render
        # the template synchronously inside the constructor.
        rendered, self._rendered = self._rendered, b""
        super().init_headers(headers)
        self._rendered = rendered

    @property
    def body(self) -> bytes:
        """The rendered HTML, rendered now (blocking) if it has not been yet."""
        rendered = self._rendered
        if rendered is None:
            rendered = self._set_rendered(self.template.render(self.context))
        return rendered

    @body.setter
    def body(self, value: bytes | memoryview) -> None:
        # Response.__init__ assigns an empty placeholder; ignoring it keeps
        # the template unrendered until it is sent (or body is read).
        if self._rendered is not None or value:
            self._rendered = bytes(value)

    def _set_rendered(self, html: str) -> bytes:
        rendered = self._rendered = html.encode(self.charset)
        if self._length_is_ours and not has_no_body(self.status_code):
            # Content-Length was computed for the empty placeholder body.
            self.headers["content-length"] = str(len(rendered))
        return rendered

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Render (off the event loop) and send, then run the background task.

        A checkpoint. Cancelled while rendering in a thread, the response is
        not sent once the render finishes.
        """
        if self._rendered is None:
            if self.template.environment.is_async:
                html = await self.template.render_async(self.context)
            else:
                html = await run_in_threadpool(self.template.render, self.context)
            self._set_rendered(html)
        if "http.response.debug" in scope.get("extensions", {}):
            # Lets a test client expose .template and .context on its response.
            await send(
                {
                    "type": "http.response.debug",
                    "info": {"template": self.template, "context": self.context},
                }
            )
        await super().__call__(scope, receive, send)


class TemplatesConfigError(TrioAPIError, ValueError, AssertionError):
    """``Jinja2Templates`` got neither or both of ``directory`` and ``env``.

    Also a ``ValueError`` (what trioapi raised before) and an
    ``AssertionError`` (what Starlette raises), so either ``except`` catches it.
    """


class Jinja2Templates:
    """Render Jinja2 templates into HTML responses.

    Args:
        directory: Folder(s) to load templates from (autoescaping on).
        context_processors: Callables ``f(request) -> dict`` merged into
            every template's context.
        env: A ready ``jinja2.Environment`` instead of ``directory``.

    Templates get ``url_for(name, **path_params)``, which calls
    ``request.url_for``.

    Raises:
        ValueError: Neither or both of ``directory`` and ``env`` were given.
    """

    def __init__(
        self,
        directory: str | PathLike[str] | Sequence[str | PathLike[str]] | None = None,
        *,
        context_processors: list[ContextProcessor] | None = None,
        env: jinja2.Environment | None = None,
    ) -> None:
        if directory is not None and env is None:
            env = jinja2.Environment(loader=jinja2.FileSystemLoader(directory), autoescape=True)
        elif env is None or directory is not None:
            raise TemplatesConfigError(
                "Jinja2Templates: either 'directory' or 'env' arguments must be passed (exactly "
                "one of them). Pass the template folder as directory=..., or a configured "
                "jinja2.Environment as env=...."
            )
        self.context_processors = context_processors or []
        self.env = env
        env.globals.setdefault("url_for", _url_for)

    def get_template(self, name: str) -> jinja2.Template:
        """Load the template ``name`` from the environment."""
        return self.env.get_template(name)

    # Not snake_case: the name is Starlette's public API.
    def TemplateResponse(self, *args: Any, **kwargs: Any) -> _TemplateResponse:
        """Build an HTML response from a template.

        Call it as ``TemplateResponse(request, name, context=None,
        status_code=200, headers=None, media_type=None, background=None)``.
        The older ``TemplateResponse(name, {"request": request}, ...)`` still
        works and emits a ``DeprecationWarning``.

        Raises:
            ValueError: The old form was used without ``"request"`` in the context.
        """
        request, name, context, options = _bind_template_args(args, kwargs)
        context.setdefault("request", request)
        for processor in self.context_processors:
            context.update(processor(request))
        template = self.get_template(name)
        return _TemplateResponse(template, context, **options)


@jinja2.pass_context
def _url_for(context: jinja2.runtime.Context, name: str, /, **path_params: Any) -> Any:
    request: _RequestLike = context["request"]
    return request.url_for(name, **path_params)


_OPTION_NAMES = ("status_code", "headers", "media_type", "background")
_OLD_STYLE_WARNING = (
    "The `name` is not the first parameter anymore. The first parameter should be the "
    "`Request` instance.\n"
    'Replace `TemplateResponse(name, {"request": request})` by `TemplateResponse(request, name)`.'
)
_NO_REQUEST_WARNING = (
    "The `TemplateResponse` now requires the `request` argument.\n"
    'Replace `TemplateResponse(name, {"context": context})` by `TemplateResponse(request, name)`.'
)


def _bind_template_args(
    args: tuple[Any, ...], kwargs: dict[str, Any]
) -> tuple[Any, str, dict[str, Any], dict[str, Any]]:
    """Sort both call forms into ``(request, name, context, response options)``."""
    if args and not isinstance(args[0], str):
        names: tuple[str, ...] = ("request", "name", "context", *_OPTION_NAMES)
    elif args or "request" not in kwargs:
        names = ("name", "context", *_OPTION_NAMES)
        warnings.warn(
            _OLD_STYLE_WARNING if args else _NO_REQUEST_WARNING, DeprecationWarning, stacklevel=3
        )
    else:
        names = ("request", "name", "context", *_OPTION_NAMES)
    if len(args) > len(names):
        raise TypeError(f"TemplateResponse() takes at most {len(names)} positional arguments.")
    bound = dict(zip(names, args, strict=False))
    for key, value in kwargs.items():
        if key not in names and key != "request":
            raise TypeError(f"TemplateResponse() got an unexpected keyword argument {key!r}.")
        if key in bound:
            raise TypeError(f"TemplateResponse() got multiple values for argument {key!r}.")
        bound[key] = value
    context: dict[str, Any] = bound.get("context") or {}
    if "request" not in bound:
        if "request" not in context:
            raise ValueError('context must include a "request" key')
        bound["request"] = context["request"]
    options = {key: bound[key] for key in _OPTION_NAMES if key in bound}
    return bound["request"], bound["name"], context, options
