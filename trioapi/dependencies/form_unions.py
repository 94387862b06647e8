"""``Form()`` parameters typed as a union of models (``TextForm | ListForm | None``).

A form is flat: ``value=blue`` may be one string for one model and a list
for another. So, as FastAPI does, the whole form is handed to the union, and
each branch first reshapes it for its own model (lists where the model wants
lists, empty fields dropped) before validating. Each branch is tagged with
its model's name, which names it in errors.
"""

from __future__ import annotations

import functools
from types import NoneType
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, BeforeValidator, Tag
from pydantic.fields import FieldInfo

from trioapi.datastructures import FormData
from trioapi.dependencies.fields import (
    build_model_fields,
    is_union,
    models_of,
    param_aliases,
    strip_annotated,
)
from trioapi.dependencies.models import ParamField
from trioapi.dependencies.request_params import extras_of, read_value

__all__ = ["collect_union_form", "form_model_fields", "form_union_annotation"]


def form_model_fields(model: type[BaseModel]) -> tuple[ParamField, ...]:
    """The fields of ``model`` as a form reads them (their request keys, preferred first)."""
    group = ParamField(
        name="", alias="", source="body", field_info=FieldInfo(), annotation=model,
        required=True, adapter=None, is_form=True,
    )  # fmt: skip
    return build_model_fields(group, convert_underscores=False)


def _reshape(value: Any, *, fields: tuple[ParamField, ...]) -> Any:
    """The form (as a dict of values and lists) as this branch's model reads it."""
    if not isinstance(value, dict):
        return value
    form = FormData(
        [(key, item) for key, items in value.items() for item in (items if isinstance(items, list) else [items])]
    )  # fmt: skip
    shaped: dict[str, Any] = {}
    taken: set[str] = set()
    for field in fields:
        for validation_key, request_key in field.aliases:
            taken.add(validation_key)
            found = read_value(field, form, request_key)
            if found is not None:
                shaped[validation_key] = found
                break  # later choices stay extras, as FastAPI leaves them
    shaped.update(extras_of(form, taken))
    for key, item in value.items():
        # No browser sends these, but a validator may supply them.
        if item is None or (isinstance(item, list) and not item):
            shaped[key] = item
    return shaped


def form_union_annotation(annotation: Any) -> Any:
    """``annotation`` with each model of a union of two or more reshaping the form for itself.

    Anything else is returned as it is. ``Annotated[union, ...]`` keeps its metadata.
    """
    if get_origin(annotation) is Annotated:
        inner, *metadata = get_args(annotation)
        return Annotated[(form_union_annotation(inner), *metadata)]
    if not is_union(annotation) or len(models_of(annotation)) < 2:
        return annotation
    choices: list[Any] = []
    for choice in get_args(annotation):
        if choice is NoneType:
            choices.append(choice)
            continue
        model, branch_metadata = (
            (get_args(choice)[0], get_args(choice)[1:])
            if get_origin(choice) is Annotated
            else (choice, ())
        )
        tags = [m for m in branch_metadata if isinstance(m, Tag)]
        tag = tags[-1] if tags else Tag(model.__name__)
        reshape = BeforeValidator(functools.partial(_reshape, fields=form_model_fields(model)))
        choices.append(Annotated[choice, reshape, tag])
    return Union[tuple(choices)]  # noqa: UP007  # built at runtime from a tuple


def _supplied(model: type[BaseModel], form: FormData) -> bool:
    own = {key for name, info in model.model_fields.items() for key, _ in param_aliases(name, info)}
    keeps_extras = model.model_config.get("extra") in ("allow", "forbid")
    return bool(own.intersection(form) or (keeps_extras and len(form)))


def collect_union_form(group: ParamField, form: FormData) -> dict[str, Any] | None:
    """The whole form for a union of form models; ``None`` (absent) when an optional union sees none of its models."""
    optional = NoneType in get_args(strip_annotated(group.annotation))
    if optional and not any(_supplied(model, form) for model in models_of(group.annotation)):
        return None
    return extras_of(form, set())
