"""Code-health rules of the optimization model, read from its source with `ast`.

1. No numeric literal in taxopt/model/ outside module-level named constants (an UPPER_CASE
   assignment at the top of a module), except 0 and 1 (also written 0.0, 1.0, -1 and -1.0):
   they are the identity and the unit coefficient of linear algebra (a term entering a row
   once, a lower bound of zero), not figures anyone would look up. Every other number is a
   tolerance, a weight or a bound that needs a name and a reason; tax figures belong in
   rules/*.toml.
2. Every constraint family a component registers (`ctx.declare_rows("name", ...)`) is named
   in its module's docstring, and every row a function adds (`ctx.constrain("name", ...)`,
   `ctx.implies("name", ...)`, the family named literally) is named in that function's
   docstring: the docstrings state the rows as equations.
3. Every variable and constraint family is listed in taxopt.model.families' table.
4. The model reads the law only through the rule objects: no module of taxopt/model defines
   a helper over rule tables (RMD divisor, early withdrawal, bracket rate) of its own.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

MODEL = Path(__file__).resolve().parent.parent / "taxopt" / "model"
MODULES = sorted(MODEL.glob("*.py"))
ALLOWED_NUMBERS = {0, 1}
CONSTANT_NAME = re.compile(r"^_?[A-Z][A-Z0-9_]*$")
# Names of the law-reading methods the rule objects own (taxopt/rules.py); a model module
# defining a function of one of these names reads the law a second time.
LAW_READERS = {
    "rmd_divisor",
    "divisor_if_due",
    "withdrawal_is_early",
    "early_withdrawal_penalty_rate",
    "people_covered",
    "qualifying_people",
    "roth_withdrawal_phase",
    "rate_at",
    "_rate_at",
    "start_age",
}


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(), filename=str(path))


def _named_constant_nodes(tree: ast.Module) -> set[int]:
    """ids of every node inside a module-level UPPER_CASE assignment."""
    inside: set[int] = set()
    for node in tree.body:
        targets = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AnnAssign):
            targets = [node.target]
        names = [n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)]
        if names and all(CONSTANT_NAME.match(n) for n in names):
            inside.update(id(n) for n in ast.walk(node))
    return inside


def _literals(path: Path) -> list[str]:
    tree = _tree(path)
    allowed = _named_constant_nodes(tree)
    docstrings = {
        id(n.body[0].value)
        for n in ast.walk(tree)
        if isinstance(n, (ast.Module, ast.FunctionDef, ast.ClassDef))
        and n.body
        and isinstance(n.body[0], ast.Expr)
    }
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Constant) or id(node) in allowed | docstrings:
            continue
        value = node.value
        if isinstance(value, bool) or not isinstance(value, (int, float, complex)):
            continue
        if value not in ALLOWED_NUMBERS:
            found.append(f"{path.name}:{node.lineno}: {value!r}")
    return found


def _calls(tree: ast.AST, method: str) -> list[ast.Call]:
    return [
        n
        for n in ast.walk(tree)
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr == method
    ]


def _string_args(call: ast.Call, first_only: bool) -> list[str]:
    args = call.args[:1] if first_only else call.args
    return [a.value for a in args if isinstance(a, ast.Constant) and isinstance(a.value, str)]


def _names(text: str | None) -> set[str]:
    return set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", text or ""))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_no_unnamed_numbers_in_the_model(path):
    assert _literals(path) == []


def test_the_literal_check_sees_a_stray_number(tmp_path):
    """The check itself: a bare tolerance inside a function is found, a named one is not."""
    source = tmp_path / "sample.py"
    source.write_text(
        '"""Doc 2.5 is prose."""\nTOL = 1e-6\n\n\ndef f(x):\n    return x * 1e-9 + 0.0 - 1\n'
    )
    assert _literals(source) == ["sample.py:6: 1e-09"]


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_constraint_families_are_named_in_their_module_docstring(path):
    tree = _tree(path)
    module_doc = _names(ast.get_docstring(tree))
    declared = [n for call in _calls(tree, "declare_rows") for n in _string_args(call, False)]
    assert [n for n in declared if n not in module_doc] == []


def test_rows_are_named_in_the_function_that_adds_them():
    """Each function adding rows names every row family it adds in its own docstring."""
    missing, rows = [], 0
    for path in MODULES:
        for function in (n for n in ast.walk(_tree(path)) if isinstance(n, ast.FunctionDef)):
            doc = _names(ast.get_docstring(function))
            for call in _calls(function, "constrain") + _calls(function, "implies"):
                rows += 1
                if path.name != "context.py" and not _string_args(call, True):
                    missing.append(f"{path.name}:{function.name}: a family not named literally")
                missing += [
                    f"{path.name}:{function.name}: {n}"
                    for n in _string_args(call, True)
                    if n not in doc
                ]
    assert rows > len(MODULES), "too few rows found: the check would pass vacuously"
    assert missing == []


def test_every_family_is_in_the_families_table():
    table = _names(ast.get_docstring(_tree(MODEL / "families.py")))
    declared = []
    for path in MODULES:
        tree = _tree(path)
        for call in _calls(tree, "declare"):
            declared += _string_args(call, True)
        for call in _calls(tree, "declare_rows"):
            declared += _string_args(call, False)
    assert declared, "no family declarations found: the check would pass vacuously"
    assert sorted(n for n in declared if n not in table) == []


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_the_model_reads_the_law_through_the_rule_objects(path):
    defined = {n.name for n in ast.walk(_tree(path)) if isinstance(n, ast.FunctionDef)}
    assert sorted(defined & LAW_READERS) == []
