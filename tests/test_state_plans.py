"""State income tax in plans: the ledger charges it, the model sees it, the two agree.

The ledger's state tax is the state calculator's (taxopt.state_tax) on the federal
calculation's own figures; the hand-worked cases below re-derive it from the rule data's
published rates: Pennsylvania's 3.07% (72 P.S. §7302(a)) on the classes of income, with
retirement distributions after 59 1/2 and Social Security not taxed (72 P.S. §7301(d)).
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from taxopt import InputError, load_plan, load_rules, optimize
from taxopt.ledger import replay
from taxopt.plan import plan_from_dict
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


@pytest.fixture(scope="module")
def couple_by_state(us2026):
    plan = load_plan(COUPLE)
    return {
        state: optimize(plan.with_state(state), us2026, with_baselines=False, paths=0)
        for state in ("ca", "pa", "ma")
    }


@pytest.mark.parametrize("state", ["ca", "pa", "ma"])
def test_exact_model_and_ledger_agree_with_a_state(couple_by_state, state):
    """Exact mode: the model's tax (federal + state) is the ledger's within a dollar a
    year, and the model's own state-tax column is the ledger's state tax: a model that
    dropped (or mis-stated) the state's tax fails here."""
    result = couple_by_state[state]
    assert result.status == "optimal"
    errors = result.reconciliation.filter(like="_error").abs()
    assert errors.max().max() < 1.0, errors.max()
    yearly = result.yearly.set_index("year")
    assert yearly["state_tax"].sum() > 10_000  # each of these states taxes this couple
    model_tax = result.reconciliation.set_index("year")["model_tax"]
    model_state = model_tax - yearly["federal_tax"]
    assert (yearly["state_tax"] > 1.0).sum() >= 5
    assert list(model_state) == pytest.approx(list(yearly["state_tax"]), abs=1.0)


def test_a_state_the_optimizer_cannot_model_is_refused_in_one_line(us2026, tmp_path):
    """New Jersey's exclusion tested on its own result (state AGI) would be circular for
    the model's income tests: a rule file saying so is refused in one line."""
    source = (Path(__file__).parent.parent / "rules/states/us-nj-2026.toml").read_text()
    changed = tmp_path / "us-nj-circular.toml"
    changed.write_text(source.replace('measure = "state_income"', 'measure = "state_agi"'))
    from taxopt.state_rules import load_state_rules

    with pytest.raises(InputError) as caught:
        load_state_rules(changed).check_optimizer_support()
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("state: the optimizer does not yet model")
    assert "pension_exclusion on state AGI" in message and "taxopt tax --state nj" in message


SPENDER = """
name = "single retiree choosing which account to spend"
filing_status = "single"
start_year = 2026
retirement_year = 2026
horizon_age = 80
inflation = 0.025
tier_preset = "sober"
people = [{ name = "Sam", birth_year = 1960 }]
profile = { weights = { conservative = 1.0 }, tolerance = 0.02 }
objective = { kind = "max_spending", heir_tax_rate = 0.0, bequest_floor = 400000 }
options = { roth_conversions = false, mode = "exact" }

[[accounts]]
name = "ira"
kind = "traditional_ira"
owner = "Sam"
balances = { conservative = 500000 }

[[accounts]]
name = "brokerage"
kind = "taxable"
balances = { conservative = 500000 }
basis = { conservative = 100000 }
"""


def test_pennsylvania_spends_the_ira_first_where_california_sells_lots(us2026):
    """Sam is 66: Pennsylvania does not tax IRA distributions after 59 1/2 (72 P.S.
    §7301(d)) but taxes every realized gain at 3.07%; California taxes an IRA dollar in
    full but a sale only on its gain (4/5 of this lot's value), and this income stays under
    the federal standard deduction and 0% gains band. So Pennsylvania draws the IRA and
    realizes fewer gains; California sells the brokerage lots and draws the IRA less."""
    plan = plan_from_dict(tomllib.loads(SPENDER))
    runs = {
        state: optimize(plan.with_state(state), us2026, with_baselines=False, paths=0)
        for state in ("ca", "pa")
    }
    first_years = {s: r.yearly.head(3) for s, r in runs.items()}
    for run in runs.values():
        assert run.reconciliation.filter(like="_error").abs().max().max() < 1.0
    pa, ca = first_years["pa"], first_years["ca"]
    assert pa["withdrawal_ira"].sum() > ca["withdrawal_ira"].sum() + 20_000
    assert pa["realized_gains"].sum() < ca["realized_gains"].sum() - 20_000
    assert runs["pa"].yearly["realized_gains"].sum() < runs["ca"].yearly["realized_gains"].sum()
    # Neither pays federal tax, so the state alone moves the choice.
    assert runs["pa"].yearly["federal_tax"].abs().max() < 0.01
    assert runs["ca"].yearly["federal_tax"].abs().max() < 0.01


def test_compare_runs_a_plan_once_per_state(us2026):
    from taxopt.compare import compare

    comparison = compare(COUPLE, us2026, mode="fast", processes=1, states=["ca", "tx"])
    assert comparison.plans == ["Couple near retirement (CA)", "Couple near retirement (TX)"]
    results = [comparison.results[plan, us2026.name] for plan in comparison.plans]
    assert [r.plan.state for r in results] == ["ca", "tx"]
    ca, tx = (r.yearly["state_tax"].sum() for r in results)
    assert ca > 10_000 and tx == 0  # Texas has no income tax (us-none-2025)


def test_gross_policy_tax_includes_the_state_on_the_withdrawal(us2026):
    """The gross basis's tax on the policy withdrawal itself: Pennsylvania adds nothing to
    a 60+ retiree's IRA withdrawal (72 P.S. §7301(d)); California taxes it."""
    from taxopt.spending import gross_policy_tax

    plan = load_plan(RETIREE)
    amounts = {plan.start_year: 60_000.0}
    federal = gross_policy_tax(plan, us2026, amounts)[plan.start_year]
    pa = gross_policy_tax(plan.with_state("pa"), us2026, amounts)[plan.start_year]
    ca = gross_policy_tax(plan.with_state("ca"), us2026, amounts)[plan.start_year]
    assert federal > 0 and pa == federal and ca > federal


def test_the_plan_with_a_state_is_never_behind_a_rule_of_thumb(us2026):
    """In California the reported plan (its small circles netted, or kept where netting
    would leave it behind) spends at least what every rule of thumb spends, the rules
    now paying the state's tax too, and each circle kept says why. (When the rules of
    thumb paid federal tax only, the ledger's California tax on them put netting here $43
    a year behind conventional withdrawals and the circles were kept.)"""
    result = optimize(load_plan(COUPLE).with_state("ca"), us2026, paths=0)
    spending = result.figures.sustainable_spending
    for name, figures in result.baselines.items():
        assert figures.sustainable_spending <= spending + 0.01, name
    assert not [n for n in result.notes if "does better than the optimized plan" in n]
    kept = [n for n in result.notes if n.startswith("kept: ")]
    assert all(": " in n.removeprefix("kept: ") for n in kept), kept  # each says why
    errors = result.reconciliation.filter(like="_error").abs()
    assert errors.max().max() < 1.0
