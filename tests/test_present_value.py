"""Lifetime tax at present value, and ties broken toward tax paid later.

Witnesses: a two-year plan worked by hand (flat 25% tax, no growth, no inflation), where
paying the IRA's tax in either year gives the same spending; the couple example's regime LP
solved with and without the tie-break (spending moves by less than $1).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from test_optimize import FLAT_RULES

import taxopt.model.objective as objective
from taxopt import load_plan, load_rules, optimize
from taxopt.model import build_model
from taxopt.optimize import regime_from
from taxopt.plan import plan_from_dict
from taxopt.solve import solve

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.fixture(scope="module")
def flat_rules(tmp_path_factory):
    path = tmp_path_factory.mktemp("rules") / "flat-25.toml"
    path.write_text(FLAT_RULES)
    return load_rules(path)


def two_year_plan() -> dict:
    """Ann, 65, two years; $100,000 in a traditional IRA and in a Roth, in a tier that
    neither grows nor yields; a cash reserve tier earning 2% that the profile keeps at 0%
    (it sets the discount rate); no inflation; the highest constant spending."""
    return {
        "name": "two years",
        "filing_status": "single",
        "start_year": 2026,
        "retirement_year": 2026,
        "horizon_age": 66,
        "inflation": 0.0,
        "people": [{"name": "Ann", "birth_year": 1961}],
        "tiers": [
            {"name": "index", "expected_return": 0.0},
            {"name": "cash", "expected_return": 0.02, "yield": 0.02, "yield_character": "ordinary"},
        ],
        "profile": {"weights": {"index": 1.0}, "reserve_tier": "cash", "tolerance": 0.0},
        "accounts": [
            {"name": "ira", "kind": "traditional", "owner": "Ann", "balances": {"index": 1e5}},
            {"name": "roth", "kind": "roth", "owner": "Ann", "balances": {"index": 1e5}},
        ],
        "objective": {"kind": "max_spending", "bequest_floor": 0.0},
        "options": {"roth_conversions": False},
    }


def test_tax_is_paid_late_when_the_timing_is_a_tie_and_its_present_value_is_by_hand(flat_rules):
    """By hand: after-tax money is 0.75 x 100,000 + 100,000 = 175,000, so the level is
    87,500 a year whichever year the IRA is drawn. Drawing it in 2027 (the Roth first) pays
    the 25,000 of tax a year later: present value 25,000 / 1.02 = 24,509.80 at the cash
    tier's 2%; the sum in today's dollars is 25,000 either way (no inflation)."""
    plan = plan_from_dict(two_year_plan())
    result = optimize(plan, flat_rules, mode="exact", with_baselines=False, paths=0)
    yearly = result.yearly.set_index("year")
    assert result.figures.sustainable_spending == pytest.approx(87_500, abs=0.01)
    assert yearly.at[2026, "withdrawal_ira"] == pytest.approx(0.0, abs=0.01)
    assert yearly.at[2026, "total_tax"] == pytest.approx(0.0, abs=0.01)
    assert yearly.at[2027, "total_tax"] == pytest.approx(25_000, abs=0.01)
    assert result.figures.discount_rate == pytest.approx(0.02)
    assert result.figures.lifetime_tax == pytest.approx(25_000, abs=0.01)
    assert result.figures.lifetime_tax_pv == pytest.approx(25_000 / 1.02, abs=0.01)


def test_the_tie_break_moves_spending_by_less_than_a_dollar(monkeypatch):
    """The couple's final regime LP solved with the tie-break and without it (circles
    netted only when free, so that LP's optimum is the plan's)."""
    rules = load_rules("us-federal-2026")
    plan = load_plan(EXAMPLES / "couple-near-retirement.toml")
    loose = {"circle_min_gain": 0.0, "circle_min_gain_share": 0.0}
    plan = plan.model_copy(update={"options": plan.options.model_copy(update=loose)})
    result = optimize(plan, rules, with_baselines=False, paths=0)
    levels = []
    for weight in (objective.ESTATE_TIE_BREAK, 0.0):
        monkeypatch.setattr(objective, "ESTATE_TIE_BREAK", weight)
        ctx = build_model(plan, rules, "exact", regime_from(result.ledger, plan.years))
        assert solve(ctx).status == "optimal"
        levels.append(ctx.x["spending_level"][None].varValue)
    assert abs(levels[0] - levels[1]) < 1.0
    assert levels[0] == pytest.approx(result.figures.sustainable_spending, abs=1.0)


def test_baselines_compare_tax_at_the_plans_present_value():
    """Every baseline's present value uses the plan's rate; tax_saved_pv is the difference,
    re-derived here from each ledger's yearly tax."""
    rules = load_rules("us-federal-2026")
    plan = load_plan(EXAMPLES / "couple-near-retirement.toml")
    result = optimize(plan, rules, paths=0)
    from taxopt.baselines import run_baselines

    rate = result.figures.discount_rate
    assert rate == pytest.approx(1.035 / np.sqrt(1 + (0.01 / 1.035) ** 2) - 1)

    def pv(yearly) -> float:
        years = yearly.year.to_numpy() - plan.start_year
        return float((yearly.total_tax.to_numpy() / (1 + rate) ** years).sum())

    table = result.baselines_table
    assert table.at["optimized", "lifetime_tax_pv"] == pytest.approx(pv(result.yearly))
    for name, run in run_baselines(plan, rules, result).items():
        assert run.figures.discount_rate == rate
        assert table.at[name, "lifetime_tax_pv"] == pytest.approx(pv(run.ledger.yearly))
        expected = pv(run.ledger.yearly) - pv(result.yearly)
        assert table.at[name, "tax_saved_pv"] == pytest.approx(expected, abs=0.01)
