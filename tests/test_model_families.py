"""The model's named families (taxopt.model.families) on the real models of the examples.

Every column but the regime binaries and every row of the LP belongs to exactly one named
family; each family's keys follow its dimensions in the order the LP names show them; a
misspelt family or a second definition is refused in one line; solved values read back as
Series labelled by the dimensions and agree with the ledger's replay of the same plan.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from taxopt import load_plan, load_rules
from taxopt.model import build_model
from taxopt.model.families import FamilyError
from taxopt.optimize import read_decisions
from taxopt.solve import solve

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
US = load_rules("us-federal-2026")


@pytest.fixture(scope="module", params=["couple-near-retirement", "retiree-drawing-2.5-percent"])
def model(request):
    plan = load_plan(EXAMPLES / f"{request.param}.toml")
    return plan, build_model(plan, US, "exact")


def test_every_column_and_row_belongs_to_one_family(model):
    _plan, ctx = model
    columns = [v for name in ctx.variables for v in ctx.variables[name].values()]
    assert len({v.name for v in columns}) == len(columns)
    assert len(columns) + ctx.binaries == len(ctx.prob.variables())
    rows = [r for name in ctx.rows for r in ctx.rows[name].values()]
    assert sorted(rows) == sorted(ctx.prob.constraints)


def test_keys_follow_the_dims_in_name_order(model):
    """Each key part appears in the column's name, left to right in key order."""
    _plan, ctx = model
    checked = 0
    for name in ctx.variables:
        family = ctx.variables[name]
        for key, var in family.items.items():
            parts = key if isinstance(key, tuple) else (key,)
            assert len(parts) == len(family.dims), (name, key)
            position = 0
            for part in parts:
                position = var.name.index(str(part).replace(" ", "_"), position)
            checked += 1
    assert checked == len(ctx.prob.variables()) - ctx.binaries
    assert ctx.variables["withdraw"][ctx.first_year, ctx.accounts[0].name].name == (
        f"withdraw_{ctx.first_year}_{ctx.accounts[0].name}"
    )


def test_a_misspelt_family_or_a_second_definition_is_refused(model):
    _plan, ctx = model
    with pytest.raises(FamilyError, match=r"no variable family 'withdrawl'; known: .*withdraw"):
        ctx.variables["withdrawl"]
    with pytest.raises(FamilyError, match="variable family withdraw is declared twice"):
        ctx.declare("withdraw", ("year", "account"))
    with pytest.raises(FamilyError, match=r"no item \(1999, 'nowhere'\)"):
        ctx.variables["withdraw"][1999, "nowhere"]
    year, account = next(iter(ctx.variables["withdraw"]))
    with pytest.raises(FamilyError, match="defined twice"):
        ctx.variables["withdraw"].add((year, account))
    with pytest.raises(FamilyError, match="has 1 parts, not 2"):
        ctx.variables["withdraw"].label(year)
    with pytest.raises(FamilyError, match="no constraint family 'cashflow'"):
        ctx.row("cashflow", year)


def test_rows_are_found_by_family_and_key(model):
    _plan, ctx = model
    year = ctx.first_year
    assert ctx.row("cash_flow", year).name == f"cash_flow_{year}"
    ordering = ctx.rows["roth_ordering"]
    for (y, owner), row_name in ordering.items.items():
        assert row_name == f"roth_ordering_{y}_{owner}"
        assert ctx.row("roth_ordering", (y, owner)) is ctx.prob.constraints[row_name]
    assert set(ctx.rows["stack"].at(year=year)) <= set(ctx.rows["stack"])


def test_solved_values_read_back_labelled(model):
    """Bulk-read values carry the right labels: each year's cash-flow row, evaluated from
    the labelled Series alone, balances (a label off by one year or account would not)."""
    plan, _exact = model
    ctx = build_model(plan, US, "fast")  # an LP: solves in a fraction of a second
    assert solve(ctx).status == "optimal"
    solution = ctx.solution()
    v = ctx.variables
    hold = v["hold"].series(solution)
    assert list(hold.index.names) == ["year", "account", "tier"]
    tax, spend = v["tax"].series(solution), v["spend"].series(solution)
    assert tax.index.name == "year" and list(tax.index) == plan.years
    withdrawn = v["withdraw"].series(solution).groupby(level="year").sum()
    contributed = v["contribute"].series(solution).groupby(level="year").sum()
    for year in plan.years:
        sources = (
            ctx.social_security[year]
            + ctx.other_income[year]
            + ctx.savings[year]
            + ctx.wage_tax[year]
        )
        balance = withdrawn[year] - contributed.get(year, 0.0) - spend[year] + sources - tax[year]
        assert abs(balance) < 1e-4 * max(1.0, sources), year
    sales = v["sell"].series(solution)
    assert all(sales[key] == (q.varValue or 0.0) for key, q in v["sell"].items.items())
    magi = ctx.expressions["magi"].series(solution)
    assert magi.index.name == "year" and len(magi) == len(plan.years)
    decisions = read_decisions(ctx)
    assert set(decisions.withdrawals) == {(a, y) for (y, a) in v["withdraw"]}
