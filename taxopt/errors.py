"""Errors a user can act on: one line naming the file, the field and the fix."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import ValidationError


class TaxoptError(Exception):
    """A problem with the user's input or request; the CLI prints it without a traceback."""


class InputError(TaxoptError):
    """A plan or rule file that cannot be used as written."""


class InfeasiblePlanError(TaxoptError):
    """The plan's requirements cannot all be met; the message names which and by how much."""

    def __init__(self, message: str, closest_feasible: dict | None = None):
        super().__init__(message)
        self.closest_feasible = closest_feasible or {}


class SolverError(TaxoptError):
    """The solver failed for a reason other than infeasibility."""


def field_path(loc: tuple) -> str:
    """('accounts', 1, 'basis') -> 'accounts[1].basis'."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(top level)"


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def printable(text: object) -> str:
    """`text` with control characters escaped (a newline in a user's value shows as \\n),
    so a message about it stays one line."""
    return _CONTROL.sub(lambda m: repr(m.group())[1:-1], str(text))


# A validator of a whole table may name the field it means: "weights: sum to 1.1, not 1".
_FIELD_PREFIX = re.compile(r"^([A-Za-z_][\w\[\]]*(?:\.[A-Za-z_][\w\[\]]*)*): (.+)$", re.S)


# pydantic's own messages say what is wrong; these say what to do (by error type).
_FIXES = {
    "missing": "; add it",
    "extra_forbidden": "; remove it or correct its spelling",
    "finite_number": " (not nan or inf); give a number",
    "float_parsing": "; give a number",
    "float_type": "; give a number",
    "int_parsing": "; give a whole number",
    "int_type": "; give a whole number",
    "int_from_float": "; give a whole number",
    "greater_than": "; give a value in that range",
    "greater_than_equal": "; give a value in that range",
    "less_than": "; give a value in that range",
    "less_than_equal": "; give a value in that range",
    "string_type": "; give text in quotes",
    "dict_type": "; give a table of key = value pairs",
    "model_type": "; give a table of key = value pairs",
    "list_type": "; give a list in [ ]",
    "bool_type": "; give true or false",
    "bool_parsing": "; give true or false",
}


def validation_problems(error: ValidationError) -> list[tuple[str, str, str]]:
    """(field path, problem, pydantic error type) for each error, the path including a field
    that a validator of a whole table names in its message."""
    problems = []
    for item in error.errors():
        message = item["msg"]
        # pydantic prefixes errors raised from our validators with "Value error, ".
        message = message.removeprefix("Value error, ").removeprefix("Assertion failed, ")
        loc = tuple(
            p for p in item["loc"] if not (isinstance(p, str) and p.startswith("function-"))
        )
        path = field_path(loc)
        named = _FIELD_PREFIX.match(message) if item["type"] == "value_error" else None
        if named:
            inner, message = named.groups()
            path = inner if path == "(top level)" else f"{path}.{inner}"
        problems.append((path, message, item["type"]))
    return problems


def explain_validation_error(source: str | Path, error: ValidationError) -> InputError:
    """Turn pydantic's report into lines of the form `file: field: problem and fix`, each
    one line even when a value holds a newline."""
    lines = [
        printable(f"{source}: {path}: {message}{_FIXES.get(kind, '')}")
        for path, message, kind in validation_problems(error)
    ]
    return InputError("\n".join(lines))
