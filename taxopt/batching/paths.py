"""Column paths: how a household table's column names one field of the template plan.

A path is the plan file's field names joined by dots. A list entry is named by its position
(0 is the first) or by its name: the entry's `name` (accounts, tiers, income streams), or
`person` (earnings) or `account` (fixed contributions). Examples:

    people.0.birth_year                           the first person's birth year
    accounts.joint_taxable.balances.conservative  a tier's balance in the account so named
    earnings.Alex.annual                          Alex's wages
    objective.bequest_floor                       a field of a table the template may omit

Paths are checked once, against the plan schema and the template, before any household is
read: a misspelt column is one error for the whole table, not a failed row per household.
A table the template omits is filled from the template's defaults, so that a column can set
one field of it. Blank cells keep the template's value.
"""

from __future__ import annotations

import copy
import math
import types
import typing
from dataclasses import dataclass

from pydantic import BaseModel

from taxopt.errors import InputError
from taxopt.plan import Plan

NAME_KEYS = ("name", "person", "account")  # fields that name a list entry, in this order


@dataclass(frozen=True)
class ColumnPath:
    """A column resolved against the template: where its value goes in the plan data."""

    column: str  # as written in the table's header
    steps: tuple[str | int, ...]  # dict keys and list positions into the plan data

    @property
    def field(self) -> str:
        """The plan field as validation messages name it: accounts[4].balances.reserve."""
        out = ""
        for step in self.steps:
            out += f"[{step}]" if isinstance(step, int) else ("." if out else "") + step
        return out


def resolve_columns(
    columns: list[str], template: dict, defaults: dict | None, source: str
) -> list[ColumnPath]:
    """Each column's path, checked against the Plan schema and the template's lists.

    `defaults`: the validated template dumped with every default filled in (None when the
    template alone is not a valid plan); lists and tables missing from `template` are looked
    up there, so that `tiers.aggressive.expected_return` works with a tier preset.
    """
    return [resolve_column(c, template, defaults, source) for c in columns]


def resolve_column(column: str, template: dict, defaults: dict | None, source: str) -> ColumnPath:
    segments = column.strip().split(".")
    if not column.strip() or any(not s.strip() for s in segments):
        raise InputError(
            f"{source}: column '{column}': not a field path; write field names joined by dots, "
            "e.g. people.0.birth_year"
        )
    steps: list[str | int] = []
    annotation: object = Plan
    data: object = template
    fallback: object = defaults
    for depth, raw in enumerate(segments):
        segment = raw.strip()
        where = ".".join(segments[:depth]) or "the plan"
        model = _model_of(annotation)
        item = _list_item_of(annotation)
        if model is not None:
            name = _field_name(model, segment)
            if name is None:
                known = ", ".join(_field_names(model))
                raise InputError(
                    f"{source}: column '{column}': {where} has no field '{segment}'; "
                    f"use one of {known}"
                )
            field = model.model_fields[name]
            key = field.alias or name
            steps.append(key)
            annotation = field.annotation
        elif item is not None:
            entries = _first_list(data, fallback)
            position = _position(entries, segment)
            if position is None:
                names = [_entry_name(e) for e in entries]
                choices = ", ".join(f"{i} ({n})" if n else str(i) for i, n in enumerate(names))
                raise InputError(
                    f"{source}: column '{column}': {where} has no entry '{segment}'; "
                    f"name one of the template's entries by position or name: {choices or 'none'}"
                )
            steps.append(position)
            annotation = item
            data, fallback = _index(data, position), _index(fallback, position)
            continue
        elif _is_dict(annotation):
            steps.append(segment)
            annotation = typing.get_args(_strip_none(annotation))[1]
        else:
            raise InputError(
                f"{source}: column '{column}': {where} is a single value; the path cannot go "
                f"deeper than {where}"
            )
        data, fallback = _child(data, steps[-1]), _child(fallback, steps[-1])
    if any(f(annotation) for f in (_model_of, _list_item_of, _is_dict)):
        raise InputError(
            f"{source}: column '{column}': {'.'.join(segments)} is a table or list, not one "
            "value; name one of its fields"
        )
    return ColumnPath(column, tuple(steps))


def apply_cells(template: dict, defaults: dict | None, cells: list[tuple[ColumnPath, object]]):
    """A copy of the template plan data with each (path, value) set; blank values skipped.

    Tables and lists the template omits are copied from `defaults` before a value goes in.
    """
    plan = copy.deepcopy(template)
    for path, value in cells:
        if is_blank(value):
            continue
        node: typing.Any = plan
        fallback: typing.Any = defaults
        for step, following in zip(path.steps[:-1], path.steps[1:], strict=True):
            fallback = _index(fallback, step) if isinstance(step, int) else _child(fallback, step)
            existing = node[step] if isinstance(step, int) else node.get(step)
            if existing is None or (existing == [] and fallback):
                existing = copy.deepcopy(fallback) if fallback is not None else None
                if existing is None:
                    existing = [] if isinstance(following, int) else {}
                node[step] = existing
            node = existing
        node[path.steps[-1]] = plain(value)
    return plan


def is_blank(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and not value.strip()


def plain(value: object) -> object:
    """A table cell as a plain Python value (numpy scalars unwrapped, text stripped)."""
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        value = value.item()
    if isinstance(value, str):
        return value.strip()
    return value


# ---------------------------------------------------------------------------------------
# Schema helpers


def _strip_none(annotation: object) -> object:
    """`X | None` -> X."""
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return annotation


def _model_of(annotation: object) -> type[BaseModel] | None:
    annotation = _strip_none(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None


def _list_item_of(annotation: object) -> object | None:
    annotation = _strip_none(annotation)
    if typing.get_origin(annotation) is list:
        return typing.get_args(annotation)[0]
    return None


def _is_dict(annotation: object) -> bool:
    return typing.get_origin(_strip_none(annotation)) is dict


def _field_name(model: type[BaseModel], segment: str) -> str | None:
    for name, field in model.model_fields.items():
        if segment in (name, field.alias):
            return name
    return None


def _field_names(model: type[BaseModel]) -> list[str]:
    return [field.alias or name for name, field in model.model_fields.items()]


def _child(data: object, key: str | int) -> object:
    return data.get(key) if isinstance(data, dict) else None


def _index(data: object, position: int) -> object:
    if isinstance(data, list) and 0 <= position < len(data):
        return data[position]
    return None


def _first_list(data: object, fallback: object) -> list:
    for candidate in (data, fallback):
        if isinstance(candidate, list) and candidate:
            return candidate
    return []


def _entry_name(entry: object) -> str | None:
    if isinstance(entry, dict):
        for key in NAME_KEYS:
            if isinstance(entry.get(key), str):
                return entry[key]
    return None


def _position(entries: list, segment: str) -> int | None:
    """The list position a segment names: a number, else the entry with that name."""
    if segment.isdigit():
        position = int(segment)
        return position if position < len(entries) else None
    for i, entry in enumerate(entries):
        if _entry_name(entry) == segment:
            return i
    return None
