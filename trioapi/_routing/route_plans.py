"""A route's dependency analysis and execution plans, with ``dependency_overrides``.

The plan without overrides is compiled at registration. Overrides are read
per request from the provider (the app), because tests set them after the
routes exist; the plan for a given set of overrides is compiled on first use
and kept, so a signature is analysed once per override, not per request.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from pydantic import BaseModel, create_model

from trioapi.dependencies.analysis import build_dependant, build_parameterless_dependant
from trioapi.dependencies.body import BodyPlan
from trioapi.dependencies.fields import build_param_field
from trioapi.dependencies.form_body import (
    build_form_body_model,
    form_models,
    is_nullable_form_model,
)
from trioapi.dependencies.limits import DependencyLimiters
from trioapi.dependencies.models import Dependant, ParamField
from trioapi.dependencies.plan import Plan, compile_plan
from trioapi.params import Body, Depends, File, Form
from trioapi.types import Scope

__all__ = ["PlannedRoute", "RoutePlans"]

_MAX_OVERRIDE_PLANS = 32


class RoutePlans:
    """The analysed endpoint of one route and its plans.

    Attributes:
        dependant: The endpoint's dependant, route ``dependencies=`` first.
        plan: The plan without overrides.
        bare_plan: :attr:`plan` when solving it only calls the endpoint,
            without arguments (see :func:`_is_bare_plan`), else ``None``.
    """

    def __init__(
        self,
        *,
        path: str,
        label: str,
        endpoint: Callable[..., Any],
        dependencies: Sequence[Depends],
        overrides_provider: Any | None,
    ) -> None:
        self._path = path
        self._label = label
        self._provider = overrides_provider
        # The app owns the semaphores of Depends(max_concurrency=N); a route
        # not registered on one has its own.
        limiters = getattr(overrides_provider, "dependency_limiters", None)
        self._limiters: DependencyLimiters = limiters or DependencyLimiters()
        self.dependant = build_dependant(
            path=path, call=endpoint, label=label, limiters=self._limiters
        )
        extra = [
            build_parameterless_dependant(
                path=path, depends=depends, label=label, limiters=self._limiters
            )
            for depends in dependencies
        ]
        self.dependant.dependencies[:0] = extra
        self.plan = compile_plan(self.dependant, label=label)
        self.bare_plan = self.plan if _is_bare_plan(self.plan) else None
        self._override_plans: dict[Any, Plan] = {}

    def _analyze_override(self, original: Dependant, override: Callable[..., Any]) -> Dependant:
        depends = Depends(override, use_cache=original.use_cache, scope=original.scope)
        dependant = build_dependant(
            path=self._path,
            call=override,
            name=original.name,
            label=self._label,
            depends=depends,
            parent=original,
            limiters=self._limiters,
        )
        return dependant

    def for_overrides(self, overrides: Mapping[Any, Callable[..., Any]] | None) -> Plan:
        """The plan to run with ``overrides`` (original callable -> replacement) in effect."""
        if not overrides:
            return self.plan
        try:
            key: Any = tuple(overrides.items())
            hash(key)
        except TypeError:
            key = None  # unhashable replacement: compile for this request only
        plan = self._override_plans.get(key) if key is not None else None
        if plan is None:
            plan = compile_plan(
                self.dependant,
                label=self._label,
                overrides=overrides,
                analyze_override=self._analyze_override,
            )
            if key is not None:
                if len(self._override_plans) >= _MAX_OVERRIDE_PLANS:
                    self._override_plans.clear()
                self._override_plans[key] = plan
        return plan

    def for_scope(self, scope: Scope) -> Plan:
        """The plan for one request: overrides come from the provider, else the app in scope."""
        provider = self._provider
        if provider is None:
            provider = scope.get("app")
        overrides = getattr(provider, "dependency_overrides", None)
        if not overrides:
            return self.plan  # what for_overrides() answers, without the call
        return self.for_overrides(overrides)

    def body_field(self, body_plan: BodyPlan | None, unique_id: str) -> ParamField | None:
        """FastAPI's ``body_field``: the lone body parameter, or a model of the embedded ones."""
        if body_plan is None:
            return None
        fields = body_plan.documented or body_plan.fields
        if not body_plan.embed and not any(is_nullable_form_model(f) for f in fields):
            return fields[0]
        if any(form_models(field) for field in fields):
            model = build_form_body_model(fields, f"Body_{unique_id}")
        else:
            model = _embedded_body_model(fields, f"Body_{unique_id}")
        if not body_plan.embed:
            # A lone nullable form model: documented through the model, declared as itself.
            info = copy.copy(fields[0].field_info)
            info.metadata = []
            info.discriminator = None
            return build_param_field(fields[0].name, model, info)
        info_class: type[Body] = Body
        if any(field.is_file for field in body_plan.fields):
            info_class = File
        elif any(field.is_form for field in body_plan.fields):
            info_class = Form
        media_type = _body_media_type(body_plan.fields, info_class)
        info = info_class(media_type=media_type) if media_type else info_class()
        required = any(field.required for field in body_plan.fields)
        if not required:
            info.default = None
        return build_param_field("body", model, info)


def _is_bare_plan(plan: Plan) -> bool:
    """Whether solving ``plan`` only calls the endpoint, without arguments.

    One step (the endpoint) that reads no parameter, receives nothing
    injected and has no sub-dependency: ``call_root`` then calls it with no
    keyword arguments and nothing can fail before it.
    """
    if len(plan.steps) != 1 or plan.early or plan.late:
        return False
    root = plan.steps[0]
    return not (root.reads_params or root.reads_body or root.injects or root.args or root.subs)


def _body_media_type(fields: Sequence[ParamField], info_class: type[Body]) -> str | None:
    """FastAPI's media type for a body of several parameters (``None``: the class's own).

    Files are always multipart; a form is multipart when any of its
    parameters says so; otherwise the one media type its parameters share.
    """
    if info_class is File:
        return None
    declared = [
        getattr(f.field_info, "media_type", None)
        for f in fields
        if isinstance(f.field_info, info_class)
    ]
    if info_class is Form and "multipart/form-data" in declared:
        return "multipart/form-data"
    return declared[0] if len(set(declared)) == 1 else None


def _embedded_body_model(fields: Sequence[ParamField], name: str) -> type[BaseModel]:
    definitions: dict[str, Any] = {}
    for field in fields:
        definitions[field.name] = (field.annotation, field.field_info)
    model: type[BaseModel] = create_model(name, **definitions)
    return model


class PlannedRoute:
    """What ``APIRoute`` and ``APIWebSocketRoute`` share: an endpoint and its ``dependencies``.

    They are compiled into :class:`RoutePlans` at registration and again by
    :meth:`rebuild`, which each route class defines (an HTTP route also
    rebuilds its body plan and response serializer).
    """

    endpoint: Callable[..., Any]
    dependencies: list[Depends]
    dependency_overrides_provider: Any | None
    plans: RoutePlans
    dependant: Dependant

    def add_dependency(self, dependency: Depends) -> None:
        """Add ``dependency`` to this registered route and recompile the route.

        The public way for extension libraries (pagination, auth, ...) to
        attach a dependency to routes that already exist: it runs as if it
        had been given in ``dependencies=[...]`` (after the others), its
        parameters are read and validated, and OpenAPI shows them. It takes
        effect from the next request; an app's cached ``openapi_schema`` is
        not rebuilt (set it to ``None`` to regenerate it).

        Raises:
            TrioAPIError: the dependency is declared wrongly, as at registration.
        """
        self.dependencies.append(dependency)
        try:
            self.rebuild()
        except Exception:
            self.dependencies.pop()  # a failed addition leaves the route as it was
            raise

    def rebuild(self) -> None:
        """Recompile the route after its ``dependencies`` changed."""
        raise NotImplementedError

    def compile_plans(self, path: str, label: str) -> None:
        """Analyse the endpoint with the route's dependencies into ``plans`` and ``dependant``."""
        self.plans = RoutePlans(
            path=path,
            label=label,
            endpoint=self.endpoint,
            dependencies=self.dependencies,
            overrides_provider=self.dependency_overrides_provider,
        )
        self.dependant = self.plans.dependant
