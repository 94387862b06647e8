"""The functions that declare where an endpoint parameter comes from.

``item_id: Annotated[int, Path(ge=1)]``, ``q: str | None = Query(None)``,
``user = Depends(get_user)``: each returns the matching object of
:mod:`trioapi.params`. They are typed ``Any`` so that they can stand as a
parameter's default without upsetting a type checker, as in FastAPI.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from pydantic_core import PydanticUndefined
from typing_extensions import Unpack

from trioapi import params
from trioapi.openapi.models import Example  # noqa: F401  # as fastapi.param_functions offers it
from trioapi.params import DependencyScope, ParamOptions

__all__ = ["Body", "Cookie", "Depends", "File", "Form", "Header", "Path", "Query", "Security"]


def Path(default: Any = ..., **options: Unpack[ParamOptions]) -> Any:
    """Declare a path parameter: the value of a ``{name}`` segment of the path.

    Path parameters are always required, so ``default`` may only be ``...``.
    ``options`` are the constraints and metadata of :class:`~trioapi.params.ParamOptions`.
    """
    return params.Path(default, **options)


def Query(default: Any = PydanticUndefined, **options: Unpack[ParamOptions]) -> Any:
    """Declare a query-string parameter (a ``list[...]`` type reads repeated keys).

    ``options`` are the constraints and metadata of :class:`~trioapi.params.ParamOptions`.
    """
    return params.Query(default, **options)


def Header(
    default: Any = PydanticUndefined,
    *,
    convert_underscores: bool = True,
    **options: Unpack[ParamOptions],
) -> Any:
    """Declare a header parameter; ``user_agent`` reads ``User-Agent`` unless told not to.

    ``options`` are the constraints and metadata of :class:`~trioapi.params.ParamOptions`.
    """
    return params.Header(default, convert_underscores=convert_underscores, **options)


def Cookie(default: Any = PydanticUndefined, **options: Unpack[ParamOptions]) -> Any:
    """Declare a cookie parameter.

    ``options`` are the constraints and metadata of :class:`~trioapi.params.ParamOptions`.
    """
    return params.Cookie(default, **options)


def Body(
    default: Any = PydanticUndefined,
    *,
    embed: bool | None = None,
    media_type: str = "application/json",
    **options: Unpack[ParamOptions],
) -> Any:
    """Declare a JSON body parameter.

    With ``embed=True`` a lone body parameter is read from ``{"name": value}``
    instead of being the whole body. ``options`` are those of
    :class:`~trioapi.params.ParamOptions`.
    """
    return params.Body(default, embed=embed, media_type=media_type, **options)


def Form(
    default: Any = PydanticUndefined,
    *,
    media_type: str = "application/x-www-form-urlencoded",
    **options: Unpack[ParamOptions],
) -> Any:
    """Declare a field of a URL-encoded or multipart form body.

    ``options`` are the constraints and metadata of :class:`~trioapi.params.ParamOptions`.
    """
    return params.Form(default, media_type=media_type, **options)


def File(
    default: Any = PydanticUndefined,
    *,
    media_type: str = "multipart/form-data",
    **options: Unpack[ParamOptions],
) -> Any:
    """Declare an uploaded file (as ``bytes`` or ``UploadFile``) of a multipart form.

    ``options`` are the constraints and metadata of :class:`~trioapi.params.ParamOptions`.
    """
    return params.File(default, media_type=media_type, **options)


def Depends(
    dependency: Callable[..., Any] | None = None,
    *,
    use_cache: bool = True,
    scope: DependencyScope | None = None,
    max_concurrency: int | None = None,
) -> Any:
    """Declare a parameter as the result of calling ``dependency`` for each request.

    Args:
        dependency: Any callable; its own parameters are declared like an
            endpoint's. ``None`` uses the parameter's annotation (a class).
        use_cache: Reuse the value when the same dependency appears more than
            once in one request.
        scope: For ``yield`` dependencies: ``"request"`` (default) keeps them
            open until the response has been sent and the background tasks
            have run; ``"function"`` closes them as soon as the endpoint returns.
        max_concurrency: At most this many calls of ``dependency`` run at once
            across all requests (shared by every declaration of the same
            callable with the same limit); the others wait for a slot. A
            ``yield`` dependency keeps its slot until it has been torn down.

    Raises:
        TrioAPIError: ``max_concurrency`` is not a positive int.
    """
    return params.Depends(
        dependency=dependency, use_cache=use_cache, scope=scope, max_concurrency=max_concurrency
    )


def Security(
    dependency: Callable[..., Any] | None = None,
    *,
    scopes: Sequence[str] | None = None,
    use_cache: bool = True,
) -> Any:
    """Declare a dependency that is a security requirement needing OAuth2 ``scopes``.

    Args:
        dependency: A security scheme or a callable that depends on one.
        scopes: The OAuth2 scopes needed; a ``SecurityScopes`` parameter
            further down receives them.
        use_cache: As for :func:`Depends`.
    """
    return params.Security(dependency=dependency, scopes=scopes, use_cache=use_cache)
