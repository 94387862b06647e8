"""Per-request settings as one immutable value, merged app ← router ← include ← route.

:class:`Limits` holds every setting a request runs under: its deadline, the
disconnect policy, the body, form and JSON limits, how strictly a body's
``Content-Type`` is read and whether dependencies resolve concurrently. Each
setting is either given or :data:`NOT_GIVEN`, and ``outer.merge(inner)``
keeps ``outer``'s setting wherever ``inner`` gives none::

    TrioAPI(...)            DEFAULT_LIMITS.merge(app's)    applied when a request starts
    APIRouter(...)          router's
    include_router(...)     include's ← router's           merged when the route is
    @router.get(...)        ... ← route's                  registered: route.limits
    request                 app's.merge(route.limits)      applied as the route starts

The keyword arguments users write (``timeout=5``) and a ``limits=Limits(...)``
value are two spellings of the same thing: :func:`limits_from` turns either
into a ``Limits``.

Adding a setting is a change to this file: a field of ``Limits`` (its type,
its docs), its key in :class:`LimitOptions` and its default in
:data:`DEFAULT_LIMITS`. The keyword arguments of ``TrioAPI``, ``APIRouter``,
``include_router`` and every route decorator, the merge, the route attributes
and the per-request application all follow from these; what the setting does
is read from ``RequestContext.limits`` where it acts.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any, TypedDict

__all__ = [
    "DEFAULT_LIMITS",
    "LIMIT_NAMES",
    "NOT_GIVEN",
    "FormLimits",
    "LimitOptions",
    "Limits",
    "RequestLimits",
    "form_limits",
    "limits_from",
    "split_limits",
]


class _NotGiven:
    """The type of :data:`NOT_GIVEN`: one instance, falsy is not relied on."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "NOT_GIVEN"

    def __reduce__(self) -> str:
        return "NOT_GIVEN"  # copies and pickles stay the one instance


NOT_GIVEN: Any = _NotGiven()
"""A setting left to the enclosing level (route → include → router → app).

``None`` is a value, not "not given": it means "no limit" (``timeout=None``:
no deadline). Typed ``Any`` so a field reads as its real type once merged
onto :data:`DEFAULT_LIMITS`, where no setting is left ``NOT_GIVEN``.
"""


@dataclass(frozen=True, slots=True, kw_only=True)
class Limits:
    """The settings a request runs under, as one immutable value.

    Every setting defaults to :data:`NOT_GIVEN` (the router's or the app's
    applies); ``None`` means "no limit". Pass it as ``limits=`` to ``TrioAPI``,
    ``APIRouter``, ``include_router`` or a route decorator, or give the same
    settings as keyword arguments (``timeout=5``); keywords given beside a
    ``limits=`` value replace its settings.

    Attributes:
        timeout: Seconds the whole request may take, counted from its start
            (504 when it passes before the response has started; once the
            response has started, the stream is ended). App default: none.
        cancel_on_disconnect: Cancel the endpoint when the client goes away.
            App default: on.
        max_body_size: Largest request body in bytes (413 above it, at once
            when ``Content-Length`` says so). App default: 16 MiB.
        body_timeout: Seconds to receive the whole request body, counted from
            the first read (408 after it). App default: 60.
        min_body_rate: Slowest average rate, in bytes per second, at which a
            body may arrive once a 10 s grace period from its first read is
            over (408 below it). App default: 500.
        send_timeout: Seconds one response message may wait for a client that
            does not read (the endpoint is then cancelled as on a disconnect).
            App default: 60.
        max_form_files: Most file parts of a multipart body (400 above it).
            App default: 1000.
        max_form_fields: Most non-file parts of a form, multipart or
            URL-encoded (400 above it). App default: 1000.
        max_form_part_size: Largest non-file part of a multipart body, in
            bytes (400 above it). App default: 1 MiB.
        max_form_header_count: Most headers in one part of a multipart body
            (400 above it). App default: 8.
        max_form_header_size: Longest header line of a multipart part, in
            bytes (400 above it). App default: 4224.
        max_json_depth: Deepest nesting of arrays/objects in a JSON body read
            by a typed endpoint (422 past it). App default: 64.
        strict_content_type: Parse a body as JSON only when its
            ``Content-Type`` says JSON (``False``: a body without one is
            parsed as JSON too), as FastAPI 0.132+. App default: on.
        concurrent_dependencies: Resolve independent async dependencies
            concurrently. App default: on.
    """

    timeout: float | None = NOT_GIVEN
    cancel_on_disconnect: bool = NOT_GIVEN
    max_body_size: int | None = NOT_GIVEN
    body_timeout: float | None = NOT_GIVEN
    min_body_rate: float | None = NOT_GIVEN
    send_timeout: float | None = NOT_GIVEN
    max_form_files: int | None = NOT_GIVEN
    max_form_fields: int | None = NOT_GIVEN
    max_form_part_size: int | None = NOT_GIVEN
    max_form_header_count: int | None = NOT_GIVEN
    max_form_header_size: int | None = NOT_GIVEN
    max_json_depth: int | None = NOT_GIVEN
    strict_content_type: bool = NOT_GIVEN
    concurrent_dependencies: bool = NOT_GIVEN

    def given(self) -> dict[str, Any]:
        """The settings this value gives, by name (those not :data:`NOT_GIVEN`)."""
        return {
            name: value for name in LIMIT_NAMES if (value := getattr(self, name)) is not NOT_GIVEN
        }

    @property
    def is_empty(self) -> bool:
        """Whether this value gives no setting at all (every one is ``NOT_GIVEN``)."""
        return all(getattr(self, name) is NOT_GIVEN for name in LIMIT_NAMES)

    def merge(self, inner: Limits) -> Limits:
        """This value with each setting ``inner`` gives replacing this one's.

        ``app.merge(router).merge(route)``: the innermost setting given wins.
        Returns ``self`` (not a copy) when ``inner`` gives nothing.
        """
        given = inner.given()
        if not given:
            return self
        return replace(self, **given)


LIMIT_NAMES: tuple[str, ...] = tuple(field.name for field in fields(Limits))
"""The settings' names, in declaration order."""


class LimitOptions(TypedDict, total=False):
    """The settings as keyword arguments (``**settings: Unpack[LimitOptions]``).

    Each key means what the :class:`Limits` attribute of the same name says; a
    key left out is not given. ``limits`` is a whole value, whose settings the
    other keys replace.
    """

    limits: Limits | None
    timeout: float | None
    cancel_on_disconnect: bool
    max_body_size: int | None
    body_timeout: float | None
    min_body_rate: float | None
    send_timeout: float | None
    max_form_files: int | None
    max_form_fields: int | None
    max_form_part_size: int | None
    max_form_header_count: int | None
    max_form_header_size: int | None
    max_json_depth: int | None
    strict_content_type: bool
    concurrent_dependencies: bool


DEFAULT_LIMITS = Limits(
    timeout=None,
    cancel_on_disconnect=True,
    max_body_size=16 * 1024 * 1024,
    body_timeout=60.0,
    # Counted once the pump's grace period (trioapi._receive.BODY_RATE_GRACE) is over.
    min_body_rate=500.0,
    # One response message: a client that reads nothing for this long is gone.
    send_timeout=60.0,
    max_form_files=1000,
    max_form_fields=1000,
    max_form_part_size=1024 * 1024,
    # python-multipart's own defaults: headers per part, bytes per header line.
    max_form_header_count=8,
    max_form_header_size=4096 + 128,
    max_json_depth=64,
    strict_content_type=True,
    concurrent_dependencies=True,
)
"""What an app uses for each setting it does not give; no setting is ``NOT_GIVEN`` here."""

_OPTION_NAMES = frozenset(LimitOptions.__annotations__)


def limits_from(options: Mapping[str, Any], where: str = "") -> Limits:
    """The ``Limits`` that keyword options give: ``limits=``, then each keyword given over it.

    Args:
        options: Keys of :class:`LimitOptions` only.
        where: The callable the options were passed to, for the error message.

    Raises:
        TypeError: a key is not a setting (as Python says for a misspelt keyword).
    """
    unknown = set(options) - _OPTION_NAMES
    if unknown:
        name = sorted(unknown)[0]
        raise TypeError(f"{where or 'Limits'}() got an unexpected keyword argument {name!r}")
    base = options.get("limits") or _EMPTY
    if not isinstance(base, Limits):
        raise TypeError(f"{where}(limits=...) takes a trioapi.Limits, not {base!r}")
    given = {name: value for name, value in options.items() if name != "limits"}
    return replace(base, **given) if given else base


def split_limits(options: dict[str, Any], where: str) -> Limits:
    """Take the settings out of ``options`` (changed in place) and return them as ``Limits``."""
    taken = {name: options.pop(name) for name in _OPTION_NAMES & options.keys()}
    return limits_from(taken, where)


def RequestLimits(**given: Any) -> Limits:  # CapWords: it reads as the value it builds
    """An app's complete value: :data:`DEFAULT_LIMITS` with the settings given replaced."""
    return DEFAULT_LIMITS.merge(limits_from(given, "RequestLimits"))


FormLimits = tuple[float, float, float, float, float]
"""Most files, most fields, largest non-file part (bytes), most headers per part
and largest header line (bytes) of a form, as the parsers take them."""


def form_limits(limits: Limits) -> FormLimits:
    """The five form limits of a complete value, ``None`` (no limit) as infinity."""
    return (
        _finite_or_inf(limits.max_form_files),
        _finite_or_inf(limits.max_form_fields),
        _finite_or_inf(limits.max_form_part_size),
        _finite_or_inf(limits.max_form_header_count),
        _finite_or_inf(limits.max_form_header_size),
    )


def _finite_or_inf(limit: float | None) -> float:
    return math.inf if limit is None else limit


_EMPTY = Limits()
