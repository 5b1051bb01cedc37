"""Rule sets for people: every value with its legal source, and the differences of two.

A rule set is flattened into *values*, each a leaf of a table (`ordinary.brackets.single`,
`deductions[standard].amount.mfj`, `rmd.uniform_lifetime_table.75`) carrying the `source`
of the table it sits in. Lists of numbers (a schedule's thresholds) are one value, so a
diff shows a whole schedule side by side. Descriptions and sources are not values; they
are shown beside them.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from typing import Any

from taxopt.rules import RuleSet

NOT_SET = None  # value of a path that one side of a diff does not have

_SKIPPED_KEYS = {"source", "url", "description"}
_NOT_LAW = {"meta.name", "extends"}  # identify a rule set; never reported as a difference


@dataclass(frozen=True)
class RuleValue:
    """One leaf value of a rule set and the source of the table it belongs to."""

    path: str
    value: Any
    source: str
    table: str
    urls: tuple[str, ...] = ()  # links to the texts the source cites


@dataclass(frozen=True)
class RuleTable:
    """One table (a section or a named entry of a list) with its source and values."""

    path: str
    source: str
    values: dict[str, Any]  # leaf path relative to the table -> value
    urls: tuple[str, ...] = ()  # links to the texts the source cites


@dataclass(frozen=True)
class RuleDifference:
    """A value that differs between rule sets `a` and `b` (None: absent on that side)."""

    path: str
    a_value: Any
    b_value: Any
    a_source: str
    b_source: str

    def as_dict(self) -> dict:
        return asdict(self)


def rule_values(rules: RuleSet) -> list[RuleValue]:
    """Every leaf value of the rule set in file order, each with its table's source."""
    data = rules.model_dump(mode="json")
    out: list[RuleValue] = []
    for key, value in data.items():
        _walk(value, key, key, ("", ()), out)
    return out


def _walk(
    node: Any, path: str, table: str, cite: tuple[str, tuple[str, ...]], out: list[RuleValue]
) -> None:
    if isinstance(node, dict):
        if isinstance(node.get("source"), str):
            cite, table = (node["source"], tuple(node.get("url") or ())), path
        for key, value in node.items():
            if key not in _SKIPPED_KEYS:
                _walk(value, f"{path}.{key}", table, cite, out)
    elif isinstance(node, list) and node and all(isinstance(v, dict) for v in node):
        for i, item in enumerate(node):
            label = item.get("name", i)
            item_path = f"{path}[{label}]"
            _walk(item, item_path, table, cite, out)
    elif node is not None and node != []:
        source, urls = cite
        out.append(RuleValue(path=path, value=node, source=source, table=table, urls=urls))


def rule_tables(rules: RuleSet) -> list[RuleTable]:
    """The rule set grouped by table, in file order."""
    tables: dict[str, RuleTable] = {}
    for item in rule_values(rules):
        table = tables.setdefault(item.table, RuleTable(item.table, item.source, {}, item.urls))
        relative = item.path[len(item.table) :].lstrip(".") or item.path
        table.values[relative] = item.value
    return list(tables.values())


def diff_rules(a: RuleSet, b: RuleSet) -> list[RuleDifference]:
    """Every value that differs between `a` and `b` (paths in a's order, then b-only ones).

    A table that only one side has (a deduction a reform adds or removes) is one
    difference whose value is the table's values. The rule sets' names and `extends` are
    not differences; other metadata (title, year) is.
    """
    a_values = {v.path: v for v in rule_values(a) if v.path not in _NOT_LAW}
    b_values = {v.path: v for v in rule_values(b) if v.path not in _NOT_LAW}
    a_tables = {v.table for v in a_values.values()}
    b_tables = {v.table for v in b_values.values()}
    out: list[RuleDifference] = []
    whole_tables: set[str] = set()
    for path in [*a_values, *(p for p in b_values if p not in a_values)]:
        left, right = a_values.get(path), b_values.get(path)
        one_side = left if right is None else right if left is None else None
        if one_side is not None and (
            one_side.table not in a_tables or one_side.table not in b_tables
        ):
            if one_side.table not in whole_tables:
                whole_tables.add(one_side.table)
                out.append(_whole_table_difference(one_side, left is not None, a_values, b_values))
            continue
        a_value = left.value if left else NOT_SET
        b_value = right.value if right else NOT_SET
        if not _same(a_value, b_value):
            out.append(
                RuleDifference(
                    path=path,
                    a_value=a_value,
                    b_value=b_value,
                    a_source=left.source if left else "",
                    b_source=right.source if right else "",
                )
            )
    return out


def _whole_table_difference(
    item: RuleValue, in_a: bool, a_values: dict, b_values: dict
) -> RuleDifference:
    side = a_values if in_a else b_values
    values = {
        v.path[len(item.table) :].lstrip("."): v.value
        for v in side.values()
        if v.table == item.table and v.path != f"{item.table}.name"
    }
    return RuleDifference(
        path=item.table,
        a_value=values if in_a else NOT_SET,
        b_value=NOT_SET if in_a else values,
        a_source=item.source if in_a else "",
        b_source="" if in_a else item.source,
    )


def _same(x: Any, y: Any) -> bool:
    if isinstance(x, list) and isinstance(y, list):
        return len(x) == len(y) and all(_same(u, v) for u, v in zip(x, y, strict=True))
    numbers = (int, float)
    if isinstance(x, numbers) and isinstance(y, numbers) and not isinstance(x, bool):
        return math.isclose(x, y, rel_tol=1e-12, abs_tol=1e-9)
    return x == y


# ---------------------------------------------------------------------------------------
# Rendering


def format_value(value: Any, path: str = "") -> str:
    """A value as a person reads it: 15,750; 0.22 -> 22% where the path says it is a rate."""
    if value is NOT_SET:
        return "(not set)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(format_value(v, path) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + "; ".join(f"{k} = {format_value(v, k)}" for k, v in value.items()) + "}"
    if isinstance(value, int) and _is_count(path):
        return str(value)
    if isinstance(value, float | int):
        return _format_rate(value) if _is_rate(path) else _format_amount(value)
    return str(value)


def _is_count(path: str) -> bool:
    """Years and ages print without thousands separators."""
    leaf = path.rsplit(".", 1)[-1].split("[")[0]
    return "year" in leaf or leaf.endswith("age") or leaf.startswith("born")


def _is_rate(path: str) -> bool:
    leaf = path.rsplit(".", 1)[-1].split("[")[0]
    return leaf in {"rates", "rate", "rate1", "rate2", "penalty_rate"} or leaf.endswith(
        ("_rate", "_fraction")
    )


def _format_rate(value: float) -> str:
    return f"{value * 100:.4g}%"


def _format_amount(value: float) -> str:
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.2f}".rstrip("0").rstrip(".") if abs(value) >= 1000 else f"{value:g}"


def render_rules(rules: RuleSet) -> str:
    """Every table of the rule set with its source, one value a line."""
    meta = rules.meta
    lines = [
        f"{meta.name}: {meta.title}",
        f"  jurisdiction {meta.jurisdiction}, year {meta.year}, currency {meta.currency}, "
        f"filing statuses {', '.join(meta.filing_statuses)}"
        + (f", extends {rules.extends}" if rules.extends else ""),
    ]
    if meta.description:
        lines.append(f"  {meta.description}")
    for table in rule_tables(rules):
        if table.path == "meta" or table.path == "extends":
            continue
        lines.append("")
        lines.append(f"[{table.path}]")
        if table.source:
            lines.append(f"  source: {table.source}")
        lines += [f"  url: {url}" for url in table.urls]
        lines += _render_table_values(table)
    return "\n".join(lines)


def _render_table_values(table: RuleTable) -> list[str]:
    values = dict(table.values)
    lines = []
    # A schedule reads best as "from threshold: rate" pairs.
    for key in [k for k in values if k.endswith(".thresholds")]:
        stem = key.removesuffix(".thresholds")
        rates = values.pop(f"{stem}.rates", None)
        thresholds = values.pop(key)
        if rates is None:
            values[key] = thresholds
            continue
        steps = ", ".join(
            f"{_format_rate(r)} from {_format_amount(t)}"
            for t, r in zip(thresholds, rates, strict=True)
        )
        lines.append(f"  {stem}: {steps}")
    for key, value in values.items():
        if key != "name":  # already in the table's heading
            lines.append(f"  {key} = {format_value(value, key)}")
    return lines


def render_diff(a: RuleSet, b: RuleSet, differences: list[RuleDifference]) -> str:
    """The differences as text: `path: a -> b` then both sources when they differ."""
    if not differences:
        return f"{a.name} vs {b.name}: no differences"
    count = len(differences)
    lines = [f"{a.name} -> {b.name}: {count} difference{'s' if count != 1 else ''}"]
    for d in differences:
        lines.append(
            f"{d.path}: {format_value(d.a_value, d.path)} -> {format_value(d.b_value, d.path)}"
        )
        if d.a_source == d.b_source:
            if d.a_source:
                lines.append(f"    source: {d.a_source}")
        else:
            lines.append(f"    {a.name}: {d.a_source or '(not in this rule set)'}")
            lines.append(f"    {b.name}: {d.b_source or '(not in this rule set)'}")
    return "\n".join(lines)


def rules_as_json(rules: RuleSet) -> str:
    """The rule set as JSON: metadata and every table with its source and values."""
    payload = {
        "meta": rules.meta.model_dump(mode="json"),
        "extends": rules.extends,
        "tables": [
            {"table": t.path, "source": t.source, "url": list(t.urls), "values": t.values}
            for t in rule_tables(rules)
            if t.path not in {"meta", "extends"}
        ],
    }
    return json.dumps(payload, indent=2, ensure_ascii=False)


def diff_as_json(a: RuleSet, b: RuleSet, differences: list[RuleDifference]) -> str:
    payload = {"a": a.name, "b": b.name, "differences": [d.as_dict() for d in differences]}
    return json.dumps(payload, indent=2, ensure_ascii=False)
