"""The execution plan of a route: its dependency tree flattened once, at registration.

Steps are numbered in FastAPI's solving order (sub-dependencies before the
dependant that needs them, the endpoint last), which is also the order the
422 errors are reported in. A dependency met again with ``use_cache=True``
becomes an *echo* step that reuses the first value.

Yield dependencies nest: each one's teardown must run after everything
entered inside it. Request-scoped ones are torn down after the response, so
they must be entered outside every function-scoped one. The plan therefore
runs in two phases: ``early`` (everything that does not need a
function-scoped yield dependency) and then ``late``. A request-scoped yield
dependency that needs a function-scoped one cannot be nested and is a
registration error.

Between two yield dependencies, plain async dependencies that do not need
each other are resolved concurrently: the plan marks those runs as
groups (:class:`Group`), worked out here once so a request pays nothing to find them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from trioapi.concurrency import is_async_callable
from trioapi.dependencies.analysis import DependencyScopeError, callable_name
from trioapi.dependencies.call_kinds import never_waits as generator_never_waits
from trioapi.dependencies.models import Dependant
from trioapi.dependencies.param_readers import LocationReader, param_readers

__all__ = ["Group", "Plan", "Step", "StepKind", "compile_plan", "find_groups"]

OverrideAnalyzer = Callable[[Dependant, Callable[..., Any]], Dependant]


class StepKind(Enum):
    """How a step's callable is run."""

    ASYNC = "async"
    SYNC = "sync"
    ASYNC_GEN = "async_gen"
    SYNC_GEN = "sync_gen"
    ECHO = "echo"
    ENDPOINT = "endpoint"


def _no_call(**kwargs: Any) -> Any:  # pragma: no cover - analysis always records the callable
    raise RuntimeError("this step of the plan has no callable")


@dataclass(eq=False, slots=True)
class Step:
    """One call in the plan.

    Attributes:
        index: Position in solving order; indexes the per-request arrays.
        dependant: What is called and which parameters it reads.
        kind: How it is called.
        args: ``(parameter name, step index)`` of the sub-dependencies it receives.
        subs: Step indices whose failure means this step is skipped.
        subtree: Every step index below and including this one (for echoes).
        replay_of: For an echo, the step whose value or errors it repeats.
        late: Needs a function-scoped yield dependency (runs in the late phase).
        reads_params: Its dependant reads path, query, header, cookie or body
            parameters (a request skips the reading when it does not).
        reads_body: Its dependant reads body parameters (the only reading that may wait).
        injects: Its dependant receives the ``Request``, ``Response``,
            ``BackgroundTasks``, ... (a request skips the injecting when it does not).
        injections: ``(what, parameter name)`` of each object it receives:
            ``"connection"``, ``"request"``, ``"websocket"``, ``"response"``,
            ``"background"`` or ``"scopes"``.
        name: How messages name its callable (``get_db()``).
        readers: Read its path, query, header and cookie parameters, one per location.
        never_waits: An async generator that never yields to Trio (its
            teardown needs no scope; see :func:`~trioapi.dependencies.call_kinds.never_waits`).
        direct: An ``async def`` without a concurrency limit: awaited as it is.
        nests: A ``yield`` dependency: the rest of the request runs inside it.
        plain: Receives only sub-dependency values and injected objects (no
            request parameters to read; not an echo).
        call: The dependant's callable.
    """

    index: int
    dependant: Dependant
    kind: StepKind
    args: tuple[tuple[str, int], ...] = ()
    subs: tuple[int, ...] = ()
    subtree: tuple[int, ...] = ()
    replay_of: int = -1
    late: bool = False
    reads_params: bool = False
    reads_body: bool = False
    injects: bool = False
    injections: tuple[tuple[str, str], ...] = ()
    name: str = ""
    readers: tuple[LocationReader, ...] = ()
    never_waits: bool = False
    direct: bool = False
    nests: bool = False
    plain: bool = False
    call: Callable[..., Any] = _no_call


@dataclass(eq=False, slots=True)
class Group:
    """A run of plain (non-``yield``) steps in which some async ones can run concurrently.

    Attributes:
        steps: The run's step indices, in solving order.
        tasks: The async steps among them that run as tasks of their own,
            each as soon as its sub-dependencies are done. The others (sync
            ones, echoes, instant providers) run in order in the request's task.
    """

    steps: tuple[int, ...]
    tasks: frozenset[int]


@dataclass(eq=False)
class Plan:
    """The steps of a route, and the order they run in.

    Attributes:
        steps: By solving order; the last one is the endpoint.
        early: Indices run first (request-scoped yield dependencies nest here).
        late: Indices run inside the early ones (function-scoped ones nest
            here), ending just before the endpoint.
        groups: The runs of steps worth resolving concurrently, by the
            index of their first step (see :func:`find_groups`).
        nests: Has a yield dependency (the endpoint and the response then
            run inside it); without one the steps simply run in order.
    """

    steps: list[Step] = field(default_factory=list)
    early: tuple[int, ...] = ()
    late: tuple[int, ...] = ()
    groups: dict[int, Group] = field(default_factory=dict)
    nests: bool = False


def _kind_of(dependant: Dependant) -> StepKind:
    if dependant.is_async_gen_callable:
        return StepKind.ASYNC_GEN
    if dependant.is_gen_callable:
        return StepKind.SYNC_GEN
    if dependant.is_coroutine_callable or is_async_callable(dependant.call):
        return StepKind.ASYNC
    return StepKind.SYNC


class _Compiler:
    def __init__(
        self, overrides: Mapping[Any, Callable[..., Any]], analyze: OverrideAnalyzer | None
    ) -> None:
        self.overrides = overrides
        self.analyze = analyze
        self.steps: list[Step] = []
        self.cache: dict[Any, int] = {}

    def _resolve(self, sub: Dependant) -> Dependant:
        override = self.overrides.get(sub.call) if self.overrides else None
        if override is None or self.analyze is None:
            return sub
        replacement = self.analyze(sub, override)
        if replacement.limiter is None:
            # The declaration's max_concurrency limits whatever provides the value.
            replacement.limiter = sub.limiter
        return replacement

    def add(self, dependant: Dependant, kind: StepKind | None = None) -> int:
        args: list[tuple[str, int]] = []
        subs: list[int] = []
        start = len(self.steps)
        for original in dependant.dependencies:
            sub = self._resolve(original)
            cached = self.cache.get(sub.cache_key) if sub.use_cache else None
            if cached is not None:
                index = self._echo(sub, cached)
            else:
                index = self.add(sub)
                self.cache.setdefault(sub.cache_key, index)
            subs.append(index)
            if sub.name is not None:
                args.append((sub.name, index))
        step_kind = kind or _kind_of(dependant)
        index = len(self.steps)
        late = step_kind is StepKind.SYNC_GEN or step_kind is StepKind.ASYNC_GEN
        late = late and dependant.computed_scope == "function"
        late = late or any(self.steps[i].late for i in subs)
        self.steps.append(
            Step(
                index=index,
                dependant=dependant,
                kind=step_kind,
                args=tuple(args),
                subs=tuple(subs),
                subtree=tuple(range(start, index + 1)),
                late=late,
                reads_params=_reads_params(dependant),
                reads_body=bool(dependant.body_params),
                injects=bool(_injections(dependant)),
                injections=_injections(dependant),
                name=callable_name(dependant.call),
                readers=param_readers(dependant),
                never_waits=step_kind is StepKind.ASYNC_GEN
                and generator_never_waits(dependant.call),
                direct=step_kind is StepKind.ASYNC and dependant.limiter is None,
                nests=step_kind is StepKind.ASYNC_GEN or step_kind is StepKind.SYNC_GEN,
                plain=not _reads_params(dependant),
                call=dependant.call or _no_call,
            )
        )
        return index

    def _echo(self, dependant: Dependant, original: int) -> int:
        index = len(self.steps)
        source = self.steps[original]
        self.steps.append(
            Step(
                index=index,
                dependant=dependant,
                kind=StepKind.ECHO,
                subs=(original,),
                subtree=(index,),
                replay_of=original,
                late=source.late,
            )
        )
        return index


def _reads_params(dependant: Dependant) -> bool:
    return bool(
        dependant.path_params
        or dependant.query_params
        or dependant.header_params
        or dependant.cookie_params
        or dependant.body_params
    )


def _injections(dependant: Dependant) -> tuple[tuple[str, str], ...]:
    named = (
        ("connection", dependant.http_connection_param_name),
        ("request", dependant.request_param_name),
        ("websocket", dependant.websocket_param_name),
        ("response", dependant.response_param_name),
        ("background", dependant.background_tasks_param_name),
        ("scopes", dependant.security_scopes_param_name),
    )
    return tuple((what, name) for what, name in named if name)


def _check_nesting(plan: Plan, label: str) -> None:
    for step in plan.steps:
        dependant = step.dependant
        if step.kind is StepKind.ENDPOINT:
            continue
        if step.late and dependant.is_generator and dependant.computed_scope == "request":
            raise DependencyScopeError(
                f"{label}: the yield dependency {callable_name(dependant.call)} has a scope of "
                f'"request", but it needs a dependency with scope "function" (through the '
                f"dependencies it depends on), which is torn down before it. Give it "
                f'scope="function", or give the function-scoped dependency scope="request".'
            )


def _is_task_step(step: Step) -> bool:
    # Providers that return at once (trioapi.nurseries) are not worth a task.
    call = step.dependant.call
    return step.kind is StepKind.ASYNC and not getattr(call, "__trioapi_instant__", False)


def _runs(plan: Plan, order: tuple[int, ...]) -> list[list[int]]:
    """Split ``order`` into runs of plain steps; yield dependencies end a run (they nest)."""
    runs: list[list[int]] = [[]]
    for index in order:
        if plan.steps[index].kind in (StepKind.ASYNC_GEN, StepKind.SYNC_GEN):
            runs.append([])
        else:
            runs[-1].append(index)
    return [run for run in runs if run]


def find_groups(plan: Plan) -> dict[int, Group]:
    """The runs of plain steps holding two async steps that do not depend on each other.

    Only those are resolved concurrently: a run with one async step, or a
    chain where each needs the one before, gains nothing from a nursery.
    """
    needs: dict[int, set[int]] = {}
    for step in plan.steps:
        needs[step.index] = set(step.subs).union(*(needs[i] for i in step.subs))
    groups: dict[int, Group] = {}
    for run in (*_runs(plan, plan.early), *_runs(plan, plan.late)):
        tasks = [i for i in run if _is_task_step(plan.steps[i])]
        independent = any(
            a not in needs[b] and b not in needs[a] for a in tasks for b in tasks if a < b
        )
        if independent:
            groups[run[0]] = Group(steps=tuple(run), tasks=frozenset(tasks))
    return groups


def compile_plan(
    root: Dependant,
    *,
    label: str,
    overrides: Mapping[Any, Callable[..., Any]] | None = None,
    analyze_override: OverrideAnalyzer | None = None,
) -> Plan:
    """Flatten ``root``'s dependency tree into a plan, applying ``overrides``.

    Args:
        root: The endpoint's dependant (route ``dependencies=`` included).
        label: How errors name the route (``"GET /items"``).
        overrides: ``app.dependency_overrides``: original callable -> replacement.
        analyze_override: Analyses a replacement in place of the dependant it replaces.

    Raises:
        DependencyScopeError: a request-scoped yield dependency needs a
            function-scoped one.
    """
    compiler = _Compiler(overrides or {}, analyze_override)
    compiler.add(root, StepKind.ENDPOINT)
    plan = Plan(steps=compiler.steps)
    _check_nesting(plan, label)
    early = _early_steps(plan)
    body_steps = plan.steps[:-1]
    plan.early = tuple(s.index for s in body_steps if s.index in early)
    plan.late = tuple(s.index for s in body_steps if s.index not in early)
    plan.groups = find_groups(plan)
    plan.nests = any(step.nests for step in plan.steps)
    return plan


def _early_steps(plan: Plan) -> set[int]:
    """The steps that run before (outside) the function-scoped yield dependencies.

    Steps run in solving order, as FastAPI runs them, so a dependency that
    fails after a function-scoped yield dependency was entered has its error
    thrown in there. Only what a request-scoped yield dependency needs is
    moved before the first function-scoped one: it must be entered outside
    all of them, since it is torn down after them.
    """
    steps = plan.steps[:-1]
    first = next((s.index for s in steps if _is_yield(s, "function")), len(steps))
    early = set(range(first))
    # Backwards, so a step added here adds what it needs in turn (subs come first).
    for step in reversed(steps[first:]):
        if step.index in early or _is_yield(step, "request"):
            early.add(step.index)
            early.update(step.subs)
    return early


def _is_yield(step: Step, scope: str) -> bool:
    is_gen = step.kind is StepKind.ASYNC_GEN or step.kind is StepKind.SYNC_GEN
    return is_gen and step.dependant.computed_scope == scope
