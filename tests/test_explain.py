"""Marginal values (taxopt.explain) against finite differences of the real final LP.

Each reported value is checked by moving its room by a few today's dollars in the final
model HiGHS solved and re-solving. The move is written here independently of
taxopt.explain (each row's sense, the inflation factor from the plan), so a wrong sign or
a wrong scale (nominal vs today's dollars) in the module fails the test. At a kink a dual
is one-sided: it must lie between the left and the right difference quotients.
"""

from __future__ import annotations

import json
import sys
import tomllib
from pathlib import Path

import openpyxl
import pytest
from workbook_checks import developer_words

from taxopt import load_plan, load_rules, optimize
from taxopt.explain import COLUMNS, explain_lines
from taxopt.plan import plan_from_dict
from taxopt.report.excel import SHEETS, sheets_of
from taxopt.report.why_sheet import SHEET as WHY_SHEET
from taxopt.solve import solve

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
STEP_REAL = 50.0  # today's dollars each room is moved by
PER_KIND = 2  # rooms checked per kind: the largest values


def _final_model(monkeypatch, plan, **options):
    """optimize(explain=True), keeping the final model it read the duals from (a spy on
    the one hook; the solve and the duals are the real ones)."""
    module = sys.modules["taxopt.optimize"]
    kept = {}
    real = module._shadow_prices

    def spy(search, ctx):
        kept["ctx"] = ctx
        return real(search, ctx)

    monkeypatch.setattr(module, "_shadow_prices", spy)
    result = optimize(
        plan, load_rules("us-federal-2026"), paths=0, with_baselines=False, explain=True, **options
    )
    return result, kept["ctx"]


def _shift(ctx, row: dict, nominal: float) -> None:
    """Move one room by `nominal` dollars, by the meaning of its row (not explain.move)."""
    name = row["row"]
    if row["moved"] == "rhs":
        constraint = ctx.prob.constraints[name]
        if name.startswith("ordinary_fill_"):
            constraint.constant += nominal  # a dollar more deduction: less taxable income
        else:
            constraint.constant -= nominal  # a limit raised / an extra outflow to fund
        return
    var = ctx.prob.variablesDict()[name]
    if row["moved"] == "upper":
        var.upBound += nominal
    else:
        var.lowBound += nominal


def _quotients(ctx, plan, row: dict) -> list[float]:
    """(gain of moving the room up, of moving it down) per today's dollar, plan's terms."""
    base = solve(ctx).objective
    nominal = STEP_REAL * plan.inflation_factor(row["year"])
    sign = -1.0 if ctx.prob.sense == 1 else 1.0  # min_tax: a saving is a gain
    out = []
    for direction in (1.0, -1.0):
        if row["moved"] == "lower" and direction < 0:
            continue  # a conversion cannot go below nothing
        _shift(ctx, row, direction * nominal)
        report = solve(ctx)
        _shift(ctx, row, -direction * nominal)
        if report.objective is not None:
            out.append(sign * (report.objective - base) / (direction * STEP_REAL))
    solve(ctx)
    return out


def _checked_rows(table):
    """The largest values of each kind, and one zero of each kind when there is one."""
    rows = []
    for _kind, group in table.groupby("kind"):
        ranked = group.reindex(group["value_per_dollar"].abs().sort_values(ascending=False).index)
        rows += ranked.head(PER_KIND).to_dict("records")
        zeros = group[group["value_per_dollar"] == 0]
        rows += zeros.head(1).to_dict("records")
    return rows


def _check_against_finite_differences(ctx, plan, table) -> int:
    """Assert each checked value lies between its difference quotients; count non-zeros."""
    nonzero = 0
    for row in _checked_rows(table):
        quotients = _quotients(ctx, plan, row)
        assert quotients, f"no re-solve of {row['row']} was feasible"
        low, high = min(quotients), max(quotients)
        if len(quotients) == 1:  # one side only: the dual is that side's derivative
            low = high = quotients[0]
        slack = 1e-6 + 0.02 * abs(row["value_per_dollar"])
        value = row["value_per_dollar"]
        assert low - slack <= value <= high + slack, (row["row"], value, quotients)
        nonzero += abs(value) > 1e-5
    return nonzero


def test_couple_marginal_values_match_re_solves(monkeypatch):
    """max_spending, exact mode: contribution limits, brackets, conversions, spending."""
    plan = load_plan(EXAMPLES / "couple-near-retirement.toml")
    result, ctx = _final_model(monkeypatch, plan)
    table = result.shadow_prices
    assert list(table.columns) == COLUMNS
    assert set(table["kind"]) == {"conversion", "contribution_limit", "bracket", "spending"}
    assert (table["objective"] == "spending").all()
    assert _check_against_finite_differences(ctx, result.plan, table) >= 4


def test_retiree_marginal_values_match_re_solves_in_both_modes(monkeypatch):
    """max_estate: values in today's dollars of estate; the fast LP too."""
    plan = load_plan(EXAMPLES / "retiree-drawing-2.5-percent.toml")
    for mode in ("exact", "fast"):
        result, ctx = _final_model(monkeypatch, plan, mode=mode)
        table = result.shadow_prices
        assert (table["objective"] == "estate").all()
        assert _check_against_finite_differences(ctx, result.plan, table) >= 3


def test_min_tax_values_are_tax_saved(monkeypatch):
    """A minimisation: a positive value is lifetime tax saved (the sign flips once)."""
    data = tomllib.loads((EXAMPLES / "retiree-drawing-2.5-percent.toml").read_text())
    data["objective"]["kind"] = "min_tax"
    data["horizon_age"] = 85
    result, ctx = _final_model(monkeypatch, plan_from_dict(data))
    table = result.shadow_prices
    assert (table["objective"] == "tax").all()
    assert _check_against_finite_differences(ctx, result.plan, table) >= 2


def test_duals_read_without_a_second_solve_equal_a_fresh_solves(monkeypatch):
    """When the final LP's own solve was a plain one (no netting re-solve after it), its
    duals are read in place (taxopt.solve.holds_plain_solve); a fresh solve of the same
    model, forced here, gives the same table to the last digit."""
    from taxopt.explain import shadow_prices
    from taxopt.solve import holds_plain_solve

    plan = load_plan(EXAMPLES / "young-accumulator.toml")
    result, ctx = _final_model(monkeypatch, plan)
    assert holds_plain_solve(ctx), "the young plan nets nothing: its final solve is plain"
    assert solve(ctx).status == "optimal"  # afresh, as taxopt did before it reused them
    fresh = shadow_prices(ctx)
    assert not result.shadow_prices.empty
    assert result.shadow_prices.equals(fresh)


@pytest.fixture(scope="module")
def couple():
    return optimize(
        load_plan(EXAMPLES / "couple-near-retirement.toml"),
        load_rules("us-federal-2026"),
        paths=0,
        with_baselines=False,
        explain=True,
    )


def test_relaxing_a_room_never_hurts_and_spending_always_costs(couple):
    """Signs that hold for any plan: a wider bracket or limit is a relaxation (value >= 0);
    a dollar more spent is never free on the couple (value < 0 every retirement year)."""
    table = couple.shadow_prices
    relaxed = table[table["moved"] == "upper"]
    limits = table[table["kind"] == "contribution_limit"]
    assert (relaxed["value_per_dollar"] >= -1e-9).all()
    assert (limits["value_per_dollar"] >= -1e-9).all()
    spending = table[(table["kind"] == "spending") & (table["year"] >= 2031)]
    assert (spending["value_per_dollar"] < 0).all()
    assert (table["value_per_1000"] == 1000 * table["value_per_dollar"]).all()
    # The words say what the table says, per $1,000.
    lines = explain_lines(table, 2031)
    cost = -spending.set_index("year").at[2031, "value_per_1000"]
    assert (
        lines[-1]
        == f"each extra $1,000 spent in 2031 costs ${cost:,.2f} a year of sustainable spending"
    )


def test_without_explain_there_are_no_duals_and_json_carries_the_table(tmp_path):
    plan = load_plan(EXAMPLES / "retiree-drawing-2.5-percent.toml")
    rules = load_rules("us-federal-2026")
    plain = optimize(plan, rules, paths=0, with_baselines=False, mode="fast")
    assert plain.shadow_prices.empty
    assert json.loads(plain.to_json(tmp_path / "plain.json").read_text())["shadow_prices"] == []
    explained = optimize(plan, rules, paths=0, with_baselines=False, mode="fast", explain=True)
    records = json.loads(explained.to_json(tmp_path / "why.json").read_text())["shadow_prices"]
    assert len(records) == len(explained.shadow_prices) > 0
    assert set(records[0]) == set(COLUMNS)
    # The figures are the plan's own: same objective with and without explain.
    assert explained.objective == pytest.approx(plain.objective, abs=1e-6)


def test_why_this_plan_sheet_prints_the_table_in_client_words(couple, tmp_path):
    path = couple.to_excel(tmp_path / "why.xlsx")
    book = openpyxl.load_workbook(path, data_only=True)
    assert book.sheetnames == sheets_of(couple)
    assert book.sheetnames[book.sheetnames.index("This year") + 1] == WHY_SHEET
    sheet = book[WHY_SHEET]
    assert developer_words(sheet) == []
    rows = {r[0]: r for r in sheet.iter_rows(values_only=True) if isinstance(r[0], int)}
    table = couple.shadow_prices
    limits = table[(table["kind"] == "contribution_limit") & (table["year"] == 2030)]
    spending = table[(table["kind"] == "spending") & (table["year"] == 2031)]
    assert rows[2030][6] == pytest.approx(limits["value_per_1000"].max(), abs=0.005)
    assert rows[2031][7] == pytest.approx(spending["value_per_1000"].iloc[0], abs=0.005)
    assert rows[2031][1] == "deductions, next 10%"
    # Without marginal values the workbook is as before.
    plain = optimize(
        couple.plan, couple.rules, paths=0, with_baselines=False, mode="fast"
    ).to_excel(tmp_path / "plain.xlsx")
    assert openpyxl.load_workbook(plain).sheetnames == list(SHEETS)
