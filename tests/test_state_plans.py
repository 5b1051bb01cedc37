"""State income tax in plans: the ledger charges it, the model sees it, the two agree.

The ledger's state tax is the state calculator's (taxopt.state_tax) on the federal
calculation's own figures; the hand-worked cases below re-derive it from the rule data's
published rates: Pennsylvania's 3.07% (72 P.S. §7302(a)) on the classes of income, with
retirement distributions after 59 1/2 and Social Security not taxed (72 P.S. §7301(d)).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from taxopt import load_plan, load_rules, optimize
from taxopt.ledger import replay
from taxopt.state_rules import find_state_rules

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
RETIREE = EXAMPLES / "retiree-drawing-2.5-percent.toml"
COUPLE = EXAMPLES / "couple-near-retirement.toml"


@pytest.fixture(scope="module")
def us2026():
    return load_rules("us-federal-2026")


@pytest.fixture(scope="module")
def retiree_fast(us2026):
    plan = load_plan(RETIREE)
    return optimize(plan, us2026, mode="fast", with_baselines=False, paths=0)


def test_ledger_charges_pennsylvania_only_on_investment_income(retiree_fast, us2026):
    """Both retirees are past 60: their IRA withdrawals and Social Security are exempt, so
    PA tax is 3.07% of interest, dividends and realized gains, year by year."""
    plan = retiree_fast.plan.with_state("pa")
    ledger = replay(plan, us2026, retiree_fast.decisions)
    y = ledger.yearly
    rate = find_state_rules("pa", plan.start_year).brackets.schedules["mfj"].rates[0]
    assert rate == 0.0307
    base = y["taxable_ordinary_yield"] + y["qualified_dividends"] + y["realized_gains"]
    assert (base > 0).any() and (y["withdrawals"] > 0).all()
    assert list(y["state_tax"]) == pytest.approx(list(rate * base), abs=1e-6)
    assert list(y["total_tax"]) == pytest.approx(list(y["federal_tax"] + y["state_tax"]))


def test_state_tax_is_spent_and_counted_in_lifetime_tax(retiree_fast, us2026):
    """The same decisions in California: the federal figures are unchanged, spending
    falls by the state tax each year and lifetime tax rises by it."""
    plan = retiree_fast.plan
    federal = replay(plan, us2026, retiree_fast.decisions)
    ca = replay(plan.with_state("ca"), us2026, retiree_fast.decisions)
    f, c = federal.yearly, ca.yearly
    assert (f["state_tax"] == 0).all() and (f["total_tax"] == f["federal_tax"]).all()
    assert list(c["federal_tax"]) == pytest.approx(list(f["federal_tax"]), abs=1e-9)
    assert (c["state_tax"] >= 0).all() and c["state_tax"].iloc[0] > 1000  # IRA draws taxed
    assert list(f["spending"] - c["spending"]) == pytest.approx(list(c["state_tax"]), abs=1e-6)
    real_state = (c["state_tax"] / c["inflation_factor"]).sum()
    assert ca.lifetime_tax_real - federal.lifetime_tax_real == pytest.approx(real_state)
