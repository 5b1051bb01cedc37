"""Premiums beside tax in every engine: the rules-of-thumb engine (taxopt.policy) and the
simulator pay Medicare IRMAA and marketplace premiums as the ledger charges them.

Hand-worked figures come from the law's tables:
- IRMAA: CMS, '2026 Medicare Parts A & B Premiums and Deductibles' (Part B and Part D
  income-related monthly adjustment tables, the rule set's [medicare] source): for an
  individual return, MAGI above $109,000 and not above $137,000 adds 81.20 (B) + 14.50 (D)
  a month, above $137,000 and not above $171,000 adds 202.90 + 37.50; the lower floors are
  CPI-indexed (42 USC 1395r(i)(5), increases rounded down to a multiple of $1,000), here at
  the plan's 2% inflation: 2027's floors 111,000 / 139,000, 2028's 113,000 / 142,000.
  The premium of year t is set by the MAGI of year t - 2 (42 USC 1395r(i)(4)).
- The premium tax credit: Rev. Proc. 2025-25 (2026 applicable percentages: 250% to 300% of
  the poverty line rises linearly from 8.44% to 9.96%) and HHS's 2025 poverty guideline for
  one person in the 48 states, $15,650 (see tests/test_aca.py for the full table).
"""

from __future__ import annotations

import numpy as np
import pytest

from taxopt.baselines import SameMixPlacement, run_baselines
from taxopt.ledger import replay
from taxopt.optimize import optimize
from taxopt.plan import plan_from_dict
from taxopt.policy import PolicyEngine
from taxopt.returns import Lognormal
from taxopt.rules import load_rules
from taxopt.simulate import simulate

RULES = load_rules("us-federal-2026")
CENT = 0.01
TIER_1 = 12 * (81.20 + 14.50)  # a year, per person, 2026 dollars
TIER_2 = 12 * (202.90 + 37.50)


def _one_tier(**over) -> dict:
    """A single filer, one index tier earning 0% (balances stay put), no volatility."""
    data = {
        "name": "premiums",
        "filing_status": "single",
        "start_year": 2026,
        "retirement_year": 2026,
        "inflation": 0.02,
        "tiers": [
            {
                "name": "index",
                "expected_return": 0.0,
                "volatility": 0.0,
                "yield": 0.0,
                "yield_character": "none",
            }
        ],
        "profile": {"weights": {"index": 1.0}},
    }
    data.update(over)
    return data


def _medicare_retiree(ira: float, irmaa: bool = True) -> dict:
    """Kim, 66 in 2026 (on Medicare throughout, no RMD before 75), spends a fixed $200,000
    a year after tax (net basis) from an IRA of `ira` and a large Roth; the conventional
    order empties the IRA in 2026, so 2026's MAGI is `ira` and later years' is 0. The
    returns of 2024 and 2025 (before the plan) are given: 100,000 and 120,000."""
    return _one_tier(
        horizon_age=70,
        people=[{"name": "Kim", "birth_year": 1960}],
        accounts=[
            {"name": "ira", "kind": "traditional_ira", "owner": "Kim", "balances": {"index": ira}},
            {"name": "roth", "kind": "roth_ira", "owner": "Kim", "balances": {"index": 2e6}},
        ],
        withdrawal={"policy": "fixed_amount", "amount": 200_000, "basis": "net"},
        objective={"kind": "max_estate"},
        prior_magi={2024: 100_000, 2025: 120_000},
        options={"irmaa": irmaa},
    )


def _walk(data: dict):
    """The rule-of-thumb engine's run and the ledger's replay of its decisions."""
    plan = plan_from_dict(data)
    run = PolicyEngine(plan, RULES, SameMixPlacement(plan)).run()
    ledger = replay(plan, RULES, run.decisions("rule of thumb"))
    return run, ledger.yearly.set_index("year")


def _roth_draws(run) -> dict[int, float]:
    return {o.year: o.withdrawals.get("roth", 0.0) for o in run.outcomes}


def test_a_rule_of_thumb_withdrawal_over_a_tier_pays_the_premium_two_years_later():
    run, yearly = _walk(_medicare_retiree(150_000))
    premiums = {o.year: o.premiums for o in run.outcomes}
    # 2026's MAGI, the IRA's 150,000, is above 2028's second floor (142,000) and not above
    # its third (177,000): tier 2 in 2028, 12 x (202.90 + 37.50) x 1.02^2 = 3,001.35.
    assert yearly.at[2026, "magi"] == pytest.approx(150_000)
    assert yearly.at[2028, "irmaa_magi_year"] == 2026 and yearly.at[2028, "irmaa_tier"] == 2
    assert premiums[2028] == pytest.approx(TIER_2 * 1.02**2, abs=CENT)
    # 2026: the 2024 return (100,000) is under 109,000; 2027: the 2025 return (120,000) is
    # above 2027's first floor (111,000): tier 1, 12 x 95.70 x 1.02. From 2029 the MAGI
    # looked at (2027's, 2028's) is 0.
    assert premiums[2026] == 0.0
    assert premiums[2027] == pytest.approx(TIER_1 * 1.02, abs=CENT)
    assert premiums[2029] == premiums[2030] == 0.0
    # The premium is drawn on top of the spending, from the Roth (no tax): the 2028 draw is
    # the spending, 200,000 x 1.02^2, plus the premium, to the cent.
    assert _roth_draws(run)[2028] == pytest.approx(200_000 * 1.02**2 + TIER_2 * 1.02**2, abs=CENT)
    assert _roth_draws(run)[2029] == pytest.approx(200_000 * 1.02**3, abs=CENT)
    # The ledger's replay charges the same premiums and finds the same spending.
    for o in run.outcomes:
        assert yearly.at[o.year, "irmaa"] == pytest.approx(o.premiums, abs=CENT)
        assert yearly.at[o.year, "spending"] == pytest.approx(o.spending, abs=CENT)
        assert o.spending == pytest.approx(200_000 * 1.02 ** (o.year - 2026), abs=CENT)


def test_under_the_first_floor_the_same_rule_pays_nothing_two_years_later():
    # An IRA of 100,000: 2026's MAGI is under 2028's first floor (113,000).
    run, yearly = _walk(_medicare_retiree(100_000))
    assert yearly.at[2028, "irmaa"] == 0.0
    assert _roth_draws(run)[2028] == pytest.approx(200_000 * 1.02**2, abs=CENT)


def test_with_irmaa_off_the_rule_of_thumb_reports_the_premium_and_does_not_pay_it():
    run, yearly = _walk(_medicare_retiree(150_000, irmaa=False))
    assert yearly.at[2028, "irmaa"] == pytest.approx(TIER_2 * 1.02**2, abs=CENT)
    assert all(o.premiums == 0.0 for o in run.outcomes)
    assert _roth_draws(run)[2028] == pytest.approx(200_000 * 1.02**2, abs=CENT)


def test_irmaa_is_paid_by_default():
    data = _medicare_retiree(150_000)
    del data["options"]
    assert plan_from_dict(data).options.irmaa


# ---------------------------------------------------------------------------------------
# Marketplace premiums net of the premium tax credit in the rule-of-thumb engine


def _early_retiree(**over) -> dict:
    """Kim, 60 in 2026, draws a fixed $40,000 a year (gross basis: the withdrawal itself)
    from an IRA, no other income, no inflation, and buys the benchmark plan ($10,000)."""
    data = _one_tier(
        horizon_age=62,
        inflation=0.0,
        people=[{"name": "Kim", "birth_year": 1966}],
        accounts=[
            {"name": "ira", "kind": "traditional_ira", "owner": "Kim", "balances": {"index": 1e6}}
        ],
        withdrawal={"policy": "fixed_amount", "amount": 40_000, "basis": "gross"},
        objective={"kind": "max_estate"},
        aca={"benchmark_premium": {"Kim": 10_000}},
    )
    data.update(over)
    return data


def test_the_rule_of_thumb_pays_the_marketplace_premium_net_of_the_credit():
    # Household income 40,000 = 255.59% of 15,650: 8.44% + (9.96% - 8.44%) x 0.11182 =
    # 8.6100% of income, a contribution of 3,443.99; credit 10,000 - 3,443.99 = 6,556.01.
    # Tax (Rev. Proc. 2025-32, 2026): 40,000 - 16,100 standard deduction = 23,900, 10% of
    # 12,400 + 12% of 11,500 = 2,620.
    share = 0.0844 + (0.0996 - 0.0844) * (40_000 / 15_650 - 2.5) / 0.5
    contribution = share * 40_000
    assert contribution == pytest.approx(3_443.99, abs=CENT)
    run, yearly = _walk(_early_retiree())
    for o in run.outcomes:
        assert o.tax.magi == pytest.approx(40_000)
        assert o.premiums == pytest.approx(contribution, abs=CENT)
        assert o.tax.total_tax == pytest.approx(2_620, abs=CENT)
        assert o.spending == pytest.approx(40_000 - 2_620 - contribution, abs=CENT)
        assert yearly.at[o.year, "aca_premium"] == pytest.approx(o.premiums, abs=CENT)
        assert yearly.at[o.year, "aca_credit"] == pytest.approx(10_000 - contribution, abs=CENT)
        assert yearly.at[o.year, "spending"] == pytest.approx(o.spending, abs=CENT)


def test_above_the_cliff_the_rule_of_thumb_pays_the_whole_benchmark():
    # 70,000 is 447% of 15,650: above 400%, no credit.
    run, yearly = _walk(
        _early_retiree(withdrawal={"policy": "fixed_amount", "amount": 70_000, "basis": "gross"})
    )
    assert [o.premiums for o in run.outcomes] == pytest.approx([10_000] * 3)
    assert yearly["aca_credit"].to_numpy() == pytest.approx(0.0)


# ---------------------------------------------------------------------------------------
# Optimized plans: baselines and the simulator pay what the ledger charges


def _pensioner() -> dict:
    """Kim, 68, with a $150,000 pension: MAGI crosses IRMAA floors every year, so every
    year from 2026 pays a premium (2026-27 on the given prior returns)."""
    return _one_tier(
        horizon_age=74,
        people=[{"name": "Kim", "birth_year": 1958}],
        income=[
            {
                "name": "pension",
                "kind": "pension",
                "owner": "Kim",
                "start_year": 2026,
                "annual": 150_000,
            }
        ],
        accounts=[
            {"name": "ira", "kind": "traditional_ira", "owner": "Kim", "balances": {"index": 5e5}},
            {"name": "roth", "kind": "roth_ira", "owner": "Kim", "balances": {"index": 3e5}},
        ],
        prior_magi={2024: 160_000, 2025: 160_000},
    )


def _marketplace_couple() -> dict:
    """Ana and Ben, 61 in 2026, mfj, an IRA and a brokerage account at basis, benchmark
    $9,000 each; Medicare from 2030."""
    return _one_tier(
        filing_status="mfj",
        horizon_age=67,
        people=[{"name": "Ana", "birth_year": 1965}, {"name": "Ben", "birth_year": 1965}],
        accounts=[
            {"name": "ira", "kind": "traditional_ira", "owner": "Ana", "balances": {"index": 6e5}},
            {
                "name": "brokerage",
                "kind": "taxable",
                "balances": {"index": 2e5},
                "basis": {"index": 2e5},
            },
        ],
        aca={"benchmark_premium": {"Ana": 9_000, "Ben": 9_000}},
    )


@pytest.fixture(scope="module", params=["pensioner", "marketplace"])
def optimized(request):
    data = _pensioner() if request.param == "pensioner" else _marketplace_couple()
    result = optimize(plan_from_dict(data), RULES, paths=0)
    return request.param, result


def _paid(yearly, plan):
    """The premiums a ledger's yearly table says spending paid, by year."""
    paid = yearly["irmaa"] if plan.options.irmaa else 0.0 * yearly["irmaa"]
    return paid + yearly["aca_premium"] if "aca_premium" in yearly else paid


def test_the_simulator_pays_the_ledgers_premiums_on_a_zero_volatility_path(optimized):
    name, result = optimized
    paid = _paid(result.yearly, result.plan).to_numpy()
    assert (paid > 100).sum() >= 3, name  # the plan does pay premiums in several years
    sim = simulate(result, paths=2, seed=1, returns=Lognormal(volatility={"index": 0.0}))
    y = result.yearly
    assert np.abs(sim.premiums - paid).max() < CENT
    assert np.abs(sim.spending_real - y["spending_real"].to_numpy()).max() < CENT
    assert np.abs(sim.tax - y["total_tax"].to_numpy()).max() < CENT
    assert sim.success_rate == 1.0


def test_baselines_pay_the_premiums_and_agree_with_their_ledger(optimized):
    name, result = optimized
    for b in run_baselines(result.plan, RULES, result).values():
        engine = b.run.yearly.set_index("year")
        book = b.ledger.yearly.set_index("year")
        assert (engine["premiums"] - _paid(book, result.plan)).abs().max() < CENT
        assert (engine["spending"] - book["spending"]).abs().max() < CENT
        assert engine["premiums"].sum() > 100, name
        # The optimized plan, paying premiums too, still beats each rule of thumb.
        assert result.figures.sustainable_spending >= b.figures.sustainable_spending - CENT
