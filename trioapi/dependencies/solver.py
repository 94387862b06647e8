"""Per request: run a route's plan, from its dependencies to the endpoint.

:func:`solve_and_run` walks the plan's steps in order. A plain dependency is
called and its value kept; a ``yield`` dependency is entered and the rest of
the walk continues *inside* it (see :mod:`trioapi.dependencies.yield_deps`),
so the request's scopes nest::

    request-scoped yield dependencies        (early phase)
    └─ function-scoped yield dependencies    (late phase)
       └─ endpoint(**values)
       function-scoped ones torn down
    └─ respond(result): response sent, background tasks run
    request-scoped ones torn down

Between yield dependencies, async dependencies that do not need each other
run concurrently (the plan's groups, unless the app says
``concurrent_dependencies=False``); sync ones and yield ones keep their order
and run in the request's own task.

Every parameter is validated and every error collected, in FastAPI's order;
a dependency whose parameters (or sub-dependencies) failed is skipped, the
others still run, and the errors are raised as one ``RequestValidationError``
just before the endpoint would have been called, inside every yield
dependency entered so far (they see it thrown in at their ``yield``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

import trio

from trioapi._scopes import log_request_error, run_alongside
from trioapi.background import BackgroundTasks
from trioapi.concurrency import run_in_threadpool
from trioapi.dependencies.analysis import callable_name
from trioapi.dependencies.body import ParsedBody, validate_body_params, validate_json_body_params
from trioapi.dependencies.models import SecurityScopes
from trioapi.dependencies.plan import Group, Plan, Step, StepKind
from trioapi.dependencies.request_params import Errors
from trioapi.dependencies.yield_deps import run_inside_generator
from trioapi.exceptions import ValidationException
from trioapi.requests import HTTPConnection, Request
from trioapi.responses import Response
from trioapi.websockets import WebSocket

__all__ = ["RequestSolution", "solve_and_run"]

Inner = Callable[[], Awaitable[Any]]

# What RequestSolution.failed and .own_errors are until an error is recorded:
# they are only read once one was (indexing it would fail loudly).
_NO_ERRORS: list[Any] = []


class RequestSolution:
    """Everything one request's dependency solving produces and shares.

    Attributes:
        connection: The ``Request`` or ``WebSocket``.
        body: The parsed body (``None`` when the route has no body parameters).
        embed: Whether body parameters are embedded.
        form_body: The body is a form (its steps are prepared by :func:`prepare_step`).
        values: Each step's value, by step index.
        failed: Whether each step was skipped (its parameters or a sub-dependency failed).
        own_errors: Each step's own validation errors, by step index.
        has_errors: Whether any step recorded a validation error.
        sub_response: The ``Response`` injected into parameters, if any asked for it.
        background_tasks: The ``BackgroundTasks`` injected, if any asked for it.
    """

    __slots__ = (
        "background_tasks",
        "body",
        "concurrent",
        "connection",
        "embed",
        "failed",
        "form_body",
        "has_errors",
        "own_errors",
        "plan",
        "sub_response",
        "values",
    )

    def __init__(
        self,
        connection: HTTPConnection,
        plan: Plan,
        body: ParsedBody | None,
        embed: bool,
        concurrent: bool = True,
    ) -> None:
        count = len(plan.steps)
        self.plan = plan
        self.connection = connection
        self.body = body
        self.embed = embed
        # Reading a form body's files may wait (prepare_step); JSON never does.
        self.form_body = body is not None and body.is_form
        self.values: list[Any] = [None] * count
        # Made on the first error (record_errors): most requests have none.
        self.failed: list[bool] = _NO_ERRORS
        self.own_errors: list[Errors | None] = _NO_ERRORS
        self.has_errors = False
        self.sub_response: Response | None = None
        self.background_tasks: BackgroundTasks | None = None
        # Off when the request's settings say concurrent_dependencies=False
        # (or the plan has no group).
        self.concurrent = concurrent and bool(plan.groups)

    def record_errors(self, index: int, errors: Errors) -> None:
        """Record step ``index``'s own validation errors; the step is skipped."""
        if not self.has_errors:
            count = len(self.plan.steps)
            self.failed = [False] * count
            self.own_errors = [None] * count
            self.has_errors = True
        self.own_errors[index] = errors
        self.failed[index] = True

    def errors(self) -> Errors:
        """Every validation error so far, in FastAPI's order."""
        return [error for errors in self.own_errors if errors for error in errors]

    def get_sub_response(self) -> Response:
        """The request's shared sub-response: headers, cookies and status set by dependencies."""
        if self.sub_response is None:
            response = Response()
            if "content-length" in response.headers:
                del response.headers["content-length"]
            response.status_code = None  # type: ignore[assignment]  # None = "not set"
            self.sub_response = response
        return self.sub_response

    def get_background_tasks(self) -> BackgroundTasks:
        """The request's shared background tasks, created on first use."""
        if self.background_tasks is None:
            self.background_tasks = BackgroundTasks()
        return self.background_tasks


def _read_params(state: RequestSolution, step: Step, errors: Errors) -> dict[str, Any]:
    """The path, query, header and cookie parameters (body ones: :func:`prepare_step`)."""
    values: dict[str, Any] = {}
    for reader in step.readers:
        reader.read(state.connection, values, errors)
    return values


def _add_injected(state: RequestSolution, step: Step, kwargs: dict[str, Any]) -> None:
    connection = state.connection
    for what, name in step.injections:
        if what == "connection":
            kwargs[name] = connection
        elif what == "request":
            if isinstance(connection, Request):
                kwargs[name] = connection
        elif what == "websocket":
            if isinstance(connection, WebSocket):
                kwargs[name] = connection
        elif what == "response":
            kwargs[name] = state.get_sub_response()
        elif what == "background":
            kwargs[name] = state.get_background_tasks()
        else:
            kwargs[name] = SecurityScopes(scopes=step.dependant.oauth_scopes)


async def prepare_step(state: RequestSolution, step: Step) -> dict[str, Any] | None:
    """The keyword arguments for ``step``, or ``None`` if it must be skipped.

    A checkpoint only when it reads a form body (:func:`_prepare` otherwise).
    """
    if not (step.reads_body and state.form_body):
        return _prepare(state, step)
    errors: Errors = []
    kwargs = _read_params(state, step, errors)
    body = _body_of(state)
    kwargs.update(await validate_body_params(step.dependant.body_params, body, state.embed, errors))
    return _finish_step(state, step, kwargs, errors)


def _body_of(state: RequestSolution) -> ParsedBody:
    # None when the route has no body parameters but an override reads some.
    return state.body if state.body is not None else ParsedBody(None, absent=True)


def _prepare(state: RequestSolution, step: Step) -> dict[str, Any] | None:
    """:func:`prepare_step` when the request has no form body: it never waits."""
    if step.plain and not state.has_errors:
        # Only sub-dependency values and injected objects: what
        # _finish_step would do, without its frame.
        kwargs: dict[str, Any] = {}
        values = state.values
        for name, index in step.args:
            kwargs[name] = values[index]
        if step.injects:
            _add_injected(state, step, kwargs)
        return kwargs
    if step.kind is StepKind.ECHO:
        _echo(state, step)
        return None
    if not step.reads_params:
        return _finish_step(state, step, {}, None)
    # A dependant's own parameters are validated even when a sub-dependency
    # failed, so that the 422 lists every error at once (as FastAPI does).
    errors: Errors = []
    kwargs = _read_params(state, step, errors)
    if step.reads_body:
        params = step.dependant.body_params
        kwargs.update(validate_json_body_params(params, _body_of(state), state.embed, errors))
    return _finish_step(state, step, kwargs, errors)


def _finish_step(
    state: RequestSolution, step: Step, kwargs: dict[str, Any], errors: Errors | None
) -> dict[str, Any] | None:
    """Add the sub-dependencies' values and the injected objects, or mark the step failed."""
    if errors:
        state.record_errors(step.index, errors)
        return None
    if state.has_errors:  # no step has failed before any error was recorded
        failed = state.failed
        for index in step.subs:
            if failed[index]:
                failed[step.index] = True
                return None
    values = state.values
    for name, index in step.args:
        kwargs[name] = values[index]
    if step.injects:
        _add_injected(state, step, kwargs)
    return kwargs


def _echo(state: RequestSolution, step: Step) -> None:
    # A cached dependency met again: FastAPI solves it again, so when the
    # first solve failed its errors are reported a second time.
    original = step.replay_of
    if state.has_errors and state.failed[original]:
        state.failed[step.index] = True
        subtree = state.plan.steps[original].subtree
        replay = [e for i in subtree for e in state.own_errors[i] or ()]
        state.own_errors[step.index] = replay
        state.has_errors = state.has_errors or bool(replay)
    else:
        state.values[step.index] = state.values[original]


def _callable(step: Step) -> Callable[..., Any]:
    call = step.dependant.call
    if call is None:  # pragma: no cover - analysis always records the callable
        raise RuntimeError(f"step {step.index} of the plan has no callable")
    return call


async def _call(step: Step, kwargs: dict[str, Any]) -> Any:
    limiter = step.dependant.limiter
    if limiter is not None:
        async with limiter:  # Depends(max_concurrency=N): wait for a slot
            return await _call_unlimited(step, kwargs)
    return await _call_unlimited(step, kwargs)


async def _call_unlimited(step: Step, kwargs: dict[str, Any]) -> Any:
    call = _callable(step)
    if step.kind is StepKind.ASYNC:
        return await call(**kwargs)
    return await run_in_threadpool(call, **kwargs)


async def _run_steps(
    state: RequestSolution, plan: Plan, order: tuple[int, ...], position: int, inner: Inner | None
) -> Any:
    """Run ``order[position:]`` then ``inner()`` (if any), nesting inside each yield dependency."""
    steps = plan.steps
    values = state.values
    count = len(order)
    while position < count:
        step = steps[order[position]]
        if state.concurrent:
            group = plan.groups.get(step.index)
            if group is not None:
                await _run_group(state, group)
                position += len(group.steps)
                continue
        position += 1
        kwargs = await prepare_step(state, step) if state.form_body else _prepare(state, step)
        if kwargs is None:
            continue
        if step.direct:  # the common case, without _call's two frames
            values[step.index] = await step.call(**kwargs)
        elif step.nests:
            return await _enter(state, plan, step, kwargs, order, position, inner)
        else:
            state.values[step.index] = await _call(step, kwargs)
    return None if inner is None else await inner()


async def _run_step(state: RequestSolution, step: Step) -> None:
    kwargs = await prepare_step(state, step)
    if kwargs is not None:
        state.values[step.index] = await _call(step, kwargs)


async def _run_group(state: RequestSolution, group: Group) -> None:
    """Resolve a group: its async steps as concurrent tasks, the rest in order in this task.

    Each step starts once the steps it needs are done. If several fail, the
    request fails with the first one in solving order (as if they had run
    one after the other); the others are logged with the request.
    """
    steps = state.plan.steps
    done = {index: trio.Event() for index in group.steps}
    failures: dict[int, Exception] = {}

    async def run(step: Step) -> None:
        for sub in step.subs:
            if sub in done:
                await done[sub].wait()
        try:
            await _run_step(state, step)
        except Exception as exc:
            failures[step.index] = exc
            raise
        # Only on success: a dependant must never start without its value.
        done[step.index].set()

    async def in_order() -> None:
        for index in group.steps:
            if index not in group.tasks:
                await run(steps[index])

    tasks = [partial(run, steps[index]) for index in group.steps if index in group.tasks]
    scope = state.connection.scope
    await run_alongside(in_order, tasks, scope=scope)
    if failures:
        ordered = sorted(failures.items())
        for index, error in ordered[1:]:
            name = callable_name(steps[index].dependant.call)
            log_request_error(scope, f"The dependency {name} also failed", error)
        raise ordered[0][1]


async def _enter(
    state: RequestSolution,
    plan: Plan,
    step: Step,
    kwargs: dict[str, Any],
    order: tuple[int, ...],
    position: int,
    inner: Inner | None,
) -> Any:
    async def rest(value: Any) -> Any:
        state.values[step.index] = value
        return await _run_steps(state, plan, order, position, inner)

    call = _callable(step)
    is_async = step.kind is StepKind.ASYNC_GEN
    limiter = step.dependant.limiter
    if limiter is None:
        return await run_inside_generator(
            call,
            kwargs,
            is_async=is_async,
            name=step.name,
            inner=rest,
            never_waits=step.never_waits,
        )
    async with limiter:  # the slot is held from setup to the end of teardown
        return await run_inside_generator(
            call, kwargs, is_async=is_async, name=step.name, inner=rest
        )


async def solve_and_run(
    plan: Plan,
    state: RequestSolution,
    *,
    call_endpoint: Callable[[dict[str, Any]], Awaitable[Any]],
    respond: Callable[[Any], Awaitable[None]],
    error_class: Callable[[Errors, Any], ValidationException],
) -> None:
    """Solve the dependencies, call the endpoint, respond, tear everything down. A checkpoint.

    Args:
        plan: The route's plan.
        state: This request's solution state.
        call_endpoint: Calls the endpoint with its keyword arguments; returns its result.
        respond: Sends the response for the endpoint's result (inside the
            request-scoped dependencies, after the function-scoped ones closed).
        error_class: Builds the exception for validation errors from
            ``(errors, body)``.

    Raises:
        ValidationException: what ``error_class`` builds, when any parameter failed.
    """
    if not plan.early and not plan.late:
        # No dependencies: nothing to nest inside, so no closures either.
        await respond(await call_root(plan, state, call_endpoint, error_class))
        return
    if not plan.nests:
        # No yield dependency to nest the endpoint and the response in.
        await _run_steps(state, plan, plan.early, 0, None)
        await respond(await call_root(plan, state, call_endpoint, error_class))
        return

    async def request_scope() -> Any:
        if plan.late:

            async def endpoint() -> Any:
                return await call_root(plan, state, call_endpoint, error_class)

            result = await _run_steps(state, plan, plan.late, 0, endpoint)
        else:
            result = await call_root(plan, state, call_endpoint, error_class)
        await respond(result)
        return result

    await _run_steps(state, plan, plan.early, 0, request_scope)


async def call_root(
    plan: Plan,
    state: RequestSolution,
    call_endpoint: Callable[[dict[str, Any]], Awaitable[Any]],
    error_class: Callable[[Errors, Any], ValidationException],
) -> Any:
    """Call the endpoint once its dependencies are solved; its result. A checkpoint.

    Raises:
        ValidationException: what ``error_class`` builds, when any parameter failed.
    """
    root = plan.steps[-1]
    kwargs = await prepare_step(state, root) if state.form_body else _prepare(state, root)
    if state.has_errors or kwargs is None:
        body = state.body.for_error if state.body is not None else None
        raise error_class(state.errors(), body)
    return await call_endpoint(kwargs)
