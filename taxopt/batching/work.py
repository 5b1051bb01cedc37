"""The unit of work: one household under one rule set, in, one row of the results table, out.

A unit is plain data (the plan as a dict, the rule set's name, the settings) so that it
crosses to a worker process or a Dask worker as a small pickle; the rule sets travel once per
worker. `run_unit` never raises: a household's mistake becomes a failed row naming the
household, the column and the fix; an unexpected exception becomes a "crashed" row (redone
on the next run).

Row columns (today's dollars, the plan's start year; rates and shares as fractions):
household, rules, status (ok | failed | crashed), solve_status, error; mode, method;
sustainable_spending, after_tax_estate, lifetime_tax, lifetime_tax_pv (when the Result has
it), lifetime_agi, effective_rate, first_year_withdrawal_rate; safe_spending, success_rate
(when the Result carries a stress test); gain_in_spending_vs_guide, gain_in_estate_vs_guide,
tax_saved_vs_guide (against the guide's rule of thumb, with baselines);
share_<tier>_in_<roth|deferred|taxable> and weight_<tier> at retirement (taxopt.compare);
first_year, first_year_conversions, first_year_withdrawals, first_year_contributions (the
plan's first year, all accounts); reconciliation_max_abs_error (model vs ledger, nominal $/yr);
optimize_seconds, seconds (the whole unit, in the worker); key. The results table adds
<figure>_vs_first: the change against the household's first rule set (taxopt.batching.run).
"""

from __future__ import annotations

import math
import re
import tempfile
import time
from pathlib import Path

from pydantic import ValidationError

from taxopt.compare import pair_figures
from taxopt.errors import InfeasiblePlanError, InputError, TaxoptError, validation_problems
from taxopt.optimize import optimize
from taxopt.plan import Plan
from taxopt.result import Result
from taxopt.rules import RuleSet

GUIDE = "guide_rule_of_thumb"  # the baseline the gains are measured against
FIXES = {  # pydantic error type -> what to write instead
    "int_parsing": "give a whole number",
    "int_from_float": "give a whole number",
    "int_type": "give a whole number",
    "float_parsing": "give a number",
    "float_type": "give a number",
    "finite_number": "give a finite number",
    "bool_parsing": "give true or false",
    "bool_type": "give true or false",
    "string_type": "give text",
    "dict_type": "give a table of values",
    "missing": "give a value in the table or the template",
    "extra_forbidden": "remove it or check its spelling",
}


def run_unit(unit: dict, rule_sets: dict[str, RuleSet]) -> dict:
    """{'row': the results row, 'artifacts': {'json': dict, 'xlsx': bytes} as asked}."""
    started = time.perf_counter()
    row: dict = {"household": unit["household"], "rules": unit["rules"], "key": unit["key"]}
    artifacts: dict = {}
    source = unit["source"]
    try:
        plan = _plan(unit)
        rules = rule_sets[unit["rules"]]
        _check_against(unit, plan, rules)
        settings = unit["settings"]
        result = optimize(plan, rules, mode=settings["mode"], with_baselines=settings["baselines"])
        row.update(status="ok", solve_status=result.status, error="", **result_row(result))
        if settings.get("json"):
            artifacts["json"] = result.to_dict()
        if settings.get("workbook"):
            artifacts["xlsx"] = _workbook_bytes(result)
    except InfeasiblePlanError as exc:
        row.update(status="failed", solve_status="infeasible", error=_named(source, exc))
    except TaxoptError as exc:
        row.update(status="failed", solve_status="", error=_named(source, exc))
    except Exception as exc:  # a bug, not the household's fault: keep the batch going
        message = f"{type(exc).__name__}: {exc}".replace("\n", " ")
        row.update(
            status="crashed",
            solve_status="",
            error=f"{source}: taxopt failed unexpectedly ({message}); please report it",
        )
    row["seconds"] = time.perf_counter() - started
    return {"row": row, "artifacts": artifacts}


def result_row(result: Result) -> dict:
    """The row's figures from one optimized Result."""
    plan = result.plan
    row = {"mode": result.mode, "method": result.method, **pair_figures(result)}
    row["lifetime_tax_pv"] = _number(getattr(result.figures, "lifetime_tax_pv", None))
    stress = getattr(result, "stress", None)
    for name in ("safe_spending", "success_rate"):
        value = stress.get(name) if isinstance(stress, dict) else getattr(stress, name, None)
        row[name] = _number(value)
    guide = result.baselines.get(GUIDE)
    f = result.figures
    row["gain_in_spending_vs_guide"] = (
        f.sustainable_spending - guide.sustainable_spending if guide else math.nan
    )
    row["gain_in_estate_vs_guide"] = (
        f.after_tax_estate - guide.after_tax_estate if guide else math.nan
    )
    row["tax_saved_vs_guide"] = guide.lifetime_tax - f.lifetime_tax if guide else math.nan
    first = plan.start_year
    d = result.decisions
    row["first_year"] = first
    row["first_year_conversions"] = sum(v for (_s, _d, y), v in d.conversions.items() if y == first)
    row["first_year_withdrawals"] = sum(v for (_a, y), v in d.withdrawals.items() if y == first)
    row["first_year_contributions"] = sum(v for (_a, y), v in d.contributions.items() if y == first)
    row["reconciliation_max_abs_error"] = result.reconciliation_max_abs_error
    row["optimize_seconds"] = result.total_seconds
    return row


# ---------------------------------------------------------------------------------------
# The household's plan, with errors that name its column


def _plan(unit: dict) -> Plan:
    if unit.get("problem"):
        raise InputError(unit["problem"])
    try:
        return Plan.model_validate(unit["plan"])
    except ValidationError as exc:
        lines = [
            _problem(unit, path, message, kind) for path, message, kind in validation_problems(exc)
        ]
        raise InputError("; ".join(lines)) from None


def _check_against(unit: dict, plan: Plan, rules: RuleSet) -> None:
    """The plan against the rule set, a problem naming the column that set the field."""
    source = unit["source"]
    try:
        plan.check_against(rules, source=source)
    except InputError as exc:
        path, _, message = str(exc).removeprefix(f"{source}: ").partition(": ")
        raise InputError(_problem(unit, path, message, "")) from None


def _problem(unit: dict, path: str, message: str, kind: str) -> str:
    """`source: column 'c' (value): field: problem; fix` for one validation problem."""
    fix = FIXES.get(kind)
    text = f"{message}; {fix}" if fix and "; " not in message else message
    cell = _cell_for(unit.get("cells", ()), path)
    if cell is None:
        return f"{unit['source']}: {path}: {text}"
    column, field, value = cell
    where = "" if field == path else f"{path}: "
    return f"{unit['source']}: column '{column}' ({value!r}): {where}{text}"


def _segments(path: str) -> list[str]:
    return re.findall(r"[^.\[\]]+", path)


def _cell_for(cells, path: str):
    """The cell a problem at `path` most likely comes from: the same field, a field inside
    it or around it, or a sibling in the same list entry; None if no cell is near."""
    target = _segments(path)
    best, best_score = None, 0
    for cell in cells:
        mine = _segments(cell[1])
        common = 0
        for a, b in zip(mine, target, strict=False):
            if a != b:
                break
            common += 1
        near = common in (len(mine), len(target)) or common >= 2
        if near and common > best_score:
            best, best_score = cell, common
    return best


def _named(source: str, exc: Exception) -> str:
    """The error on one line, starting with the household's name."""
    message = " ".join(str(exc).split("\n"))
    return message if message.startswith(source) else f"{source}: {message}"


def _number(value: object) -> float:
    return math.nan if value is None else float(value)


def _workbook_bytes(result: Result) -> bytes:
    with tempfile.TemporaryDirectory(prefix="taxopt-batch-") as folder:
        path = Path(folder) / "plan.xlsx"
        result.to_excel(path)
        return path.read_bytes()
