"""Roth rules that bind: the ordering and 5-year rules of IRC §408A(d), worked by hand.

Sources for the figures: IRC §408A(d)(2) (qualified distributions), (d)(3)(F) (a
conversion taken within 5 years before 59 1/2 bears the §72(t) 10% tax on its taxable
part), (d)(4) and Treas. Reg. §1.408A-6 Q&A-8 (ordering: regular contributions, then
conversions first in first out, taxable part first, then earnings), IRS Pub. 590-B ch. 2
"Ordering Rules for Distributions"; 2026 amounts from Rev. Proc. 2025-32 §4.01 (single:
10% to $12,400) and §4.14 (standard deduction $16,100 single).

Witnesses: the ledger's replay (taxopt.roth) against hand figures; the optimizer against
hand limits and against its own plan replayed under the real law.
"""

from __future__ import annotations

import functools
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import taxopt
from taxopt import InputError
from taxopt.baselines import SameMixPlacement
from taxopt.decisions import Decisions
from taxopt.ledger import replay
from taxopt.model import build_model
from taxopt.model.roth import CLOCK_LEVERAGE
from taxopt.plan import plan_from_dict
from taxopt.policy import PolicyEngine
from taxopt.roth import ConversionLayer, RothLayers
from taxopt.rules import RothPhase

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
US = taxopt.load_rules("us-federal-2026")
# The same law without the Roth table: every Roth distribution is tax free.
NO_ROTH_RULES = US.model_copy(update={"roth_distributions": None})
CENT = 0.01


def _plan(accounts: list[dict], birth_year: int = 1974, **over) -> taxopt.Plan:
    """Single filer retired from 2026, one tier with no return, no inflation, no income."""
    data = {
        "name": "roth test",
        "filing_status": "single",
        "start_year": 2026,
        "retirement_year": 2026,
        "horizon_age": 2035 - birth_year,
        "inflation": 0.0,
        "people": [{"name": "Ann", "birth_year": birth_year}],
        "tiers": [{"name": "index", "expected_return": 0.0}],
        "profile": {"weights": {"index": 1.0}},
        "accounts": accounts,
        "withdrawal": {"policy": "fixed_amount", "amount": 0.0},
        "objective": {"kind": "max_estate"},
        "options": {"roth_conversions": False},
    }
    data.update(over)
    return plan_from_dict(data)


def _roth(balance: float, **fields) -> dict:
    """Ann's Roth IRA holding `balance` of the one tier, with any Roth fields."""
    return {
        "name": "roth",
        "kind": "roth_ira",
        "owner": "Ann",
        "balances": {"index": balance},
        **fields,
    }


def _worked_roth(**over) -> dict:
    """$100,000: $50,000 regular contributions, $30,000 converted in 2024, $20,000 earnings."""
    fields = {
        "roth_contributions": 50_000,
        "roth_conversions": {2024: 30_000},
        "roth_first_contribution_year": 2015,
    }
    return _roth(100_000, **{**fields, **over})


# -- the ledger against hand figures ------------------------------------------------------


@pytest.mark.parametrize(
    ("year", "withdrawal", "tax"),
    [
        (2026, 40_000, 0.0),
        (2026, 60_000, 1_000.0),
        (2026, 80_000, 3_000.0),
        (2026, 95_000, 4_500.0),
        (2026, 100_000, 5_390.0),
        (2029, 80_000, 0.0),
        (2029, 100_000, 2_390.0),
    ],
)
def test_a_52_year_olds_withdrawal_costs_what_pub_590b_orders(year, withdrawal, tax):
    """Ann (born 1974: 52 in 2026, 55 in 2029, before 59 1/2 throughout) holds $100,000:
    $50,000 regular contributions, a $30,000 conversion from 2024, $20,000 earnings. One
    withdrawal W, no other income. By the ordering rules:

    - W <= 50,000 is regular contributions: no tax at any age.
    - The next 30,000 is the 2024 conversion, all of it taxable when converted. Its 5-year
      period is 2024-2028, so in 2026 it bears the 10% tax (§408A(d)(3)(F)); from 2029
      it is free. W = 60,000 in 2026: 10% x 10,000 = 1,000; W = 80,000: 3,000.
    - Beyond 80,000 is earnings: income (not qualified before 59 1/2) and 10%.
      W = 95,000 in 2026: 15,000 of income is inside the $16,100 deduction, so only the
      10% on 30,000 + 15,000 = 4,500. W = 100,000: income 20,000 - 16,100 = 3,900 at 10%
      = 390, plus 10% on 30,000 + 20,000 = 5,000: 5,390.
    - 2029, W = 80,000: contributions and a seasoned conversion, free. W = 100,000: the
      20,000 of earnings: 390 + 2,000 = 2,390.
    """
    plan = _plan([_worked_roth()])
    ledger = replay(plan, US, Decisions(withdrawals={("roth", year): withdrawal}))
    row = ledger.yearly.set_index("year").loc[year]
    assert row["total_tax"] == pytest.approx(tax, abs=CENT)
    earnings = max(0.0, withdrawal - 80_000)
    assert row["roth_taxable_earnings"] == pytest.approx(earnings, abs=CENT)
    unseasoned = min(30_000, max(0.0, withdrawal - 50_000)) if year < 2029 else 0.0
    assert row["roth_early_distributions"] == pytest.approx(unseasoned + earnings, abs=CENT)


def test_earnings_after_59_and_a_half_are_income_until_the_clock_runs():
    """Ann at 62 (born 1964) opened her first Roth in 2024 with $30,000; it is now $100,000.
    A $50,000 withdrawal in 2026 is $30,000 of contributions and $20,000 of earnings,
    which are income (the 5-year period runs 2024-2028) but bear no 10% (she is past
    59 1/2): (20,000 - 16,100) x 10% = 390. In 2029 the same withdrawal is qualified: 0."""
    account = _worked_roth(roth_conversions={}, roth_first_contribution_year=2024)
    account["roth_contributions"] = 30_000
    plan = _plan([account], birth_year=1964)
    for year, tax in ((2026, 390.0), (2029, 0.0)):
        ledger = replay(plan, US, Decisions(withdrawals={("roth", year): 50_000}))
        row = ledger.yearly.set_index("year").loc[year]
        assert row["total_tax"] == pytest.approx(tax, abs=CENT)
        assert row["early_withdrawal_penalty"] == pytest.approx(0.0, abs=CENT)


def test_a_roth_401k_counts_as_rolled_into_the_owners_roth_ira():
    """Roth 401(k): $50,000, of which $20,000 is contributions (its investment in the
    contract); Ann is 52. As after a rollover to her Roth IRA (Treas. Reg. §1.408A-10
    Q&A-3) the $20,000 is regular contributions: a $20,000 withdrawal is free, $30,000
    adds $10,000 of earnings: income inside the deduction, 10% = 1,000."""
    account = {**_roth(50_000, roth_contributions=20_000), "name": "r401k", "kind": "roth_401k"}
    plan = _plan([account])
    for amount, tax in ((20_000, 0.0), (30_000, 1_000.0)):
        ledger = replay(plan, US, Decisions(withdrawals={("r401k", 2026): amount}))
        assert ledger.yearly["total_tax"].iloc[0] == pytest.approx(tax, abs=CENT)


def test_a_conversion_comes_out_taxable_part_first():
    """A 2025 conversion of $15,000, $10,000 of it taxable and $5,000 after-tax basis,
    taken in 2026 before 59 1/2: the first $10,000 bears the 10%, the next $5,000 not."""
    layers = RothLayers("Ann", conversions=[ConversionLayer(2025, 10_000, 5_000)])
    first = layers.distribute(2026, 8_000, RothPhase.EARLY, US.roth_distributions)
    second = layers.distribute(2026, 7_000, RothPhase.EARLY, US.roth_distributions)
    assert (first.early, second.early) == pytest.approx((8_000, 2_000))
    assert first.income == second.income == 0.0
    assert layers.basis == pytest.approx(0.0)


@pytest.mark.parametrize(
    ("age", "year", "clock", "phase"),
    [
        (59, 2026, 2000, RothPhase.EARLY),  # before 59 1/2 (conservatively: through 59)
        (60, 2026, 2000, RothPhase.QUALIFIED),
        (60, 2026, 2022, RothPhase.UNQUALIFIED),  # the 2022-2026 period is not over
        (60, 2027, 2022, RothPhase.QUALIFIED),
        (70, 2030, None, RothPhase.UNQUALIFIED),  # no Roth contribution yet
    ],
)
def test_the_rule_set_reads_the_phase(age, year, clock, phase):
    assert US.roth_withdrawal_phase(age, year, clock) == phase
    assert taxopt.load_rules("uk-2025-26").roth_withdrawal_phase(age, year, clock) == (
        RothPhase.QUALIFIED
    )


def test_the_rule_based_engine_grosses_up_for_roth_tax_as_the_ledger_charges_it():
    """The conventional engine (baselines) spending a level from the worked $100,000 Roth
    over 2026-2030 (Ann 52-56): by 2028 its draws pass the $50,000 of contributions into
    the 2024 conversion (10%), by 2030 into earnings (income and 10%). It grosses its draws
    up for that tax; its own figures must equal the ledger's replay to the cent."""
    plan = _plan([_worked_roth()], horizon_age=56, objective={"kind": "max_spending"})
    run = PolicyEngine(plan, US, SameMixPlacement(plan)).run()
    ledger = replay(plan, US, run.decisions("engine"))
    engine, book = run.yearly.set_index("year"), ledger.yearly.set_index("year")
    for column in ("total_tax", "spending", "portfolio_closing"):
        assert (engine[column] - book[column]).abs().max() < CENT, column
    assert book.loc[2028, "roth_early_distributions"] > 1_000
    assert book.loc[2030, "roth_taxable_earnings"] > 1_000
    assert book.loc[2029, "total_tax"] == pytest.approx(0.0, abs=CENT)  # seasoned conversion


# -- the optimizer ------------------------------------------------------------------------


def test_a_seasoned_roth_after_59_and_a_half_is_drawn_freely_and_a_young_one_is_not():
    """Ann is 66 (born 1960) with $500,000 in a Roth, no return, no inflation, 2026-2035,
    nothing left at the end. First contribution in 2010: every distribution is qualified,
    the model has no Roth row and she spends 500,000 / 10 = 50,000 a year, tax free.
    First contribution in 2024 with $60,000 of contributions: until 2028 only the $60,000
    comes out tax free, so a constant level is at most 60,000 / 3 = 20,000."""
    for first_year, contributions, level, rows in ((2010, 0.0, 50_000, 0), (2024, 6e4, 2e4, 3)):
        account = _roth(
            500_000, roth_contributions=contributions, roth_first_contribution_year=first_year
        )
        plan = _plan([account], birth_year=1960, objective={"kind": "max_spending"})
        ctx = build_model(plan, US, "fast")
        assert len([n for n in ctx.prob.constraints if n.startswith("roth_ordering")]) == rows
        result = taxopt.optimize(plan, US, with_baselines=False)
        assert result.figures.sustainable_spending == pytest.approx(level, abs=CENT)
        assert result.yearly["total_tax"].abs().max() < CENT
        assert result.reconciliation_max_abs_error < 1.0


def test_a_plan_the_roth_rules_make_infeasible_says_so_with_the_closest_amount():
    """Ann, 52, must draw a fixed amount A a year in 2026-2030 from the worked Roth alone.
    Free of tax: $50,000 through 2028 (3A <= 50,000), $80,000 once the 2024 conversion is
    seasoned in 2029 (4A <= 80,000), and still $80,000 in 2030 at 56, when earnings are
    not yet qualified (5A <= 80,000): A <= 16,000. Asking $30,000 is infeasible, and the
    message names the Roth rules and the highest amount."""
    plan = _plan(
        [_worked_roth()],
        horizon_age=56,
        withdrawal={"policy": "fixed_amount", "amount": 30_000},
    )
    with pytest.raises(taxopt.InfeasiblePlanError) as caught:
        taxopt.optimize(plan, US, mode="fast", with_baselines=False)
    message = str(caught.value)
    assert "withdrawal.amount" in message and "The Roth rules bind" in message
    assert caught.value.closest_feasible["withdrawal_amount"] == pytest.approx(16_000, abs=2)
    # At 60 (born 1966, qualified) only the balance limits: 100,000 / 5, no Roth clause.
    older = _plan(
        [_worked_roth()],
        birth_year=1966,
        horizon_age=64,
        withdrawal={"policy": "fixed_amount", "amount": 30_000},
    )
    with pytest.raises(taxopt.InfeasiblePlanError) as caught:
        taxopt.optimize(older, US, mode="fast", with_baselines=False)
    assert "Roth" not in str(caught.value)
    assert caught.value.closest_feasible["withdrawal_amount"] == pytest.approx(20_000, abs=2)


def _ladder(rules) -> taxopt.Result:
    """Ann retires at 50 (born 1976) with $600,000 in a traditional IRA and an empty Roth;
    $40,000 a year to spend; conversions allowed; to age 62."""
    plan = _plan(
        [
            {"name": "ira", "kind": "traditional_ira", "owner": "Ann", "balances": {"index": 6e5}},
            {"name": "roth", "kind": "roth_ira", "owner": "Ann", "balances": {}},
        ],
        birth_year=1976,
        horizon_age=62,
        tiers=[{"name": "index", "expected_return": 0.03}],
        withdrawal={"policy": "fixed_amount", "amount": 40_000},
        objective={"kind": "max_estate", "heir_tax_rate": 0.25},
        options={"roth_conversions": True},
    )
    return taxopt.optimize(plan, rules, mode="exact", with_baselines=False)


@functools.cache
def ladders() -> tuple[taxopt.Result, taxopt.Result]:
    return _ladder(US), _ladder(NO_ROTH_RULES)


def test_conversions_before_59_and_a_half_wait_five_years():
    """Before 60 (through 2035) the plan's cumulative Roth withdrawals never exceed the
    conversions made five or more years earlier (§408A(d)(3)(F)): the 10% on IRA money
    is paid instead, and the Roth is drawn from 2031, when the 2026 conversion is
    seasoned (a conversion ladder). Nothing in the ledger bears the Roth 10%."""
    result, _ = ladders()
    y = result.yearly.set_index("year")
    drawn = converted = 0.0
    seasoned: dict[int, float] = {}
    for year in y.index:
        seasoned[year] = y.at[year, "conversion_out_ira"]
        drawn += y.at[year, "withdrawal_roth"]
        converted = sum(amount for c, amount in seasoned.items() if c + 5 <= year)
        if y.at[year, "age_Ann"] <= 59:
            assert drawn <= converted + CENT, year
    assert y.loc[:2030, "withdrawal_roth"].max() < CENT
    # The ladder is used ($78,056 with the $40,000 spent after tax, the net basis; it was
    # over $100,000 when the policy set the gross withdrawal).
    assert y.loc[2031:2035, "withdrawal_roth"].sum() > 50_000
    assert y["roth_early_distributions"].abs().max() < CENT
    assert y["roth_taxable_earnings"].abs().max() < CENT
    assert result.reconciliation_max_abs_error < 1.0


def test_without_the_rule_the_plan_would_owe_what_the_ledger_charges():
    """The same plan optimized without the Roth rules converts and withdraws in the same
    years to dodge the 10% on IRA money. Replayed under the law, every Roth dollar it
    draws before 60 comes from a conversion less than five years old (checked below from
    its own flows), so the law charges 10% of all of them: the ledger's extra tax is
    exactly that, and the plan that obeys the rule keeps more."""
    lawful, dodging = ladders()
    y = dodging.yearly.set_index("year")
    young = y[y["age_Ann"] <= 59]
    assert young["withdrawal_roth"].sum() > 100_000
    drawn = 0.0
    for year in young.index:
        drawn += y.at[year, "withdrawal_roth"]
        seasoned = y.loc[: year - 5, "conversion_out_ira"].sum()
        assert drawn > seasoned  # FIFO: this year's draw is past every seasoned dollar
    at_law = replay(dodging.plan, US, dodging.decisions)
    extra = at_law.yearly["total_tax"].sum() - y["total_tax"].sum()
    assert extra == pytest.approx(0.10 * young["withdrawal_roth"].sum(), abs=CENT)
    assert lawful.yearly["total_tax"].sum() < at_law.yearly["total_tax"].sum()


@pytest.mark.parametrize(
    "name", ["couple-near-retirement", "retiree-drawing-2.5-percent", "young-accumulator"]
)
def test_examples_pay_no_roth_tax_and_reconcile(name):
    plan = taxopt.load_plan(EXAMPLES / f"{name}.toml")
    result = taxopt.optimize(plan, US, with_baselines=False)
    assert result.yearly["roth_taxable_earnings"].abs().max() < CENT
    assert result.yearly["roth_early_distributions"].abs().max() < CENT
    assert result.reconciliation_max_abs_error < 1.0
    assert result.to_dict()["notes"] == result.notes


def test_the_result_notes_when_the_default_clock_carries_the_plan():
    """Ann, 66, holds $500,000 in a Roth and states no first-contribution year: the plan
    draws Roth earnings from 2026, which is tax free only if her first contribution was in
    2021 or earlier. The note says so; stating the year silences it."""
    account = _roth(500_000)
    plan = _plan([account], birth_year=1960, objective={"kind": "max_spending"})
    result = taxopt.optimize(plan, US, with_baselines=False)
    # (Another note says the plan's fixed_amount policy is not used under max_spending.)
    clock = [n for n in result.notes if "roth_first_contribution_year" in n]
    assert len(clock) == 1
    note = clock[0]
    assert "2021 or earlier" in note and "roth_first_contribution_year" in note
    stated = _plan(
        [{**account, "roth_first_contribution_year": 2015}],
        birth_year=1960,
        objective={"kind": "max_spending"},
    )
    notes = taxopt.optimize(stated, US, with_baselines=False).notes
    assert not [n for n in notes if "roth_first_contribution_year" in n]


def test_the_clock_of_an_owner_without_a_roth_starts_with_the_first_money_put_in():
    """Ann (born 1968) has no Roth; her IRA holds $100,000 of a tier growing 10% a year,
    no inflation, no other income. She converts $50,000 in 2027: her first Roth money, so
    her 5-year period is 2027-2031 (IRC §408A(d)(2)(B); Pub. 590-B, "What Are Qualified
    Distributions?"). The conversion is income in 2027: (50,000 - 16,100) = 33,900 taxed
    10% on 12,400 and 12% on 21,500 = 3,820 (Rev. Proc. 2025-32 §4.01, §4.14).
    Drawing the whole Roth in 2031 (63: past 59 1/2, no 10%): 50,000 x 1.1^4 = 73,205, of
    which 50,000 is the conversion (free) and 23,205 earnings, income because the period
    has not ended: (23,205 - 16,100) x 10% = 710.50. In 2032 the period has ended and the
    whole 50,000 x 1.1^5 = 80,525.50 is qualified: no tax. A clock started in 2026, the
    first year the plan could have funded a Roth, would wrongly make 2031 qualified too."""
    plan = _plan(
        [
            {"name": "ira", "kind": "traditional_ira", "owner": "Ann", "balances": {"index": 1e5}},
            {"name": "roth", "kind": "roth_ira", "owner": "Ann", "balances": {}},
        ],
        birth_year=1968,
        tiers=[{"name": "index", "expected_return": 0.10}],
        options={"roth_conversions": True},
    )
    for year, balance, tax in ((2031, 73_205.0, 710.50), (2032, 80_525.50, 0.0)):
        decisions = Decisions(
            conversions={("ira", "roth", 2027): 50_000}, withdrawals={("roth", year): balance}
        )
        y = replay(plan, US, decisions).yearly.set_index("year")
        assert y.at[2027, "total_tax"] == pytest.approx(3_820.0, abs=CENT)
        assert y.at[year, "opening_roth"] == pytest.approx(balance, abs=CENT)
        assert y.at[year, "total_tax"] == pytest.approx(tax, abs=CENT)
        assert y.at[year, "roth_taxable_earnings"] == pytest.approx(
            balance - 50_000 if tax else 0.0
        )
    # The model's rows: in 2031 only money put in during 2026 can have started a period
    # that has ended (2026-2030); in 2032 money put in during 2026 or 2027.
    ctx = build_model(plan, US, "fast")
    for year, started in ((2031, {2026}), (2032, {2026, 2027})):
        row = ctx.prob.constraints[f"roth_ordering_{year}_Ann"]
        for c in range(2026, year + 1):
            expected = -(1.0 + CLOCK_LEVERAGE) if c in started else -1.0
            assert row[ctx.x["convert"]["ira", "roth", c]] == expected, (year, c)
            assert row[ctx.x["withdraw"]["roth", c]] == 1.0
        assert row.constant == 0.0


def _clock_case() -> taxopt.Plan:
    """A generated plan (test_optimize_properties' strategy, figures rounded) on which the
    model once started the clock of P0, who has no Roth, in 2026, the first year it could
    convert, while its plan first converted in 2031: the ledger charged 22% on $3,858 of
    Roth earnings drawn in 2035 ($848.68) that the model took as qualified."""
    return plan_from_dict(
        {
            "name": "generated",
            "filing_status": "single",
            "start_year": 2026,
            "retirement_year": 2027,
            "horizon_age": 64,
            "inflation": 0.0,
            "people": [{"name": "P0", "birth_year": 1971}],
            "tiers": [
                {
                    "name": "stocks",
                    "expected_return": 0.042,
                    "yield": 0.02,
                    "yield_character": "qualified_dividends",
                },
                {"name": "staking", "expected_return": 0.02, "yield_character": "ordinary"},
                {
                    "name": "cash",
                    "expected_return": 0.03,
                    "yield": 0.03,
                    "yield_character": "ordinary",
                },
            ],
            "profile": {
                "weights": {"stocks": 0.5, "staking": 0.5},
                "reserve_tier": "cash",
                "reserve_min": 0.05,
                "reserve_max": 0.2,
                "tolerance": 0.05,
            },
            "accounts": [
                {
                    "name": "traditional",
                    "kind": "traditional_ira",
                    "owner": "P0",
                    "balances": {"stocks": 524_000, "cash": 2_000},
                },
                {"name": "roth", "kind": "roth_ira", "owner": "P0", "balances": {}},
                {
                    "name": "taxable",
                    "kind": "taxable",
                    "balances": {"stocks": 36_000, "staking": 3_000, "cash": 58_000},
                    "basis": {"stocks": 18_000, "staking": 1_500, "cash": 29_000},
                },
            ],
            "earnings": [{"person": "P0", "annual": 60_000}],
            "withdrawal": {"policy": "fixed_real", "rate": 0.04},
            "objective": {"kind": "max_spending"},
            "options": {"roth_conversions": True},
        }
    )


def test_a_plan_that_starts_the_roth_clock_itself_reconciles_to_the_cent():
    """The generated case above: the plan draws Roth earnings tax free only in years whose
    5-year period, counted from the first money the plan puts in (read here from its own
    flows), has ended, and the model's taxes equal the ledger's to the cent every year."""
    result = taxopt.optimize(_clock_case(), US, mode="exact", with_baselines=False, paths=0)
    d = result.decisions
    put_in = {
        y: d.contribution("roth", y) + d.conversions.get(("traditional", "roth", y), 0.0)
        for y in result.plan.years
    }
    first = min(y for y, amount in put_in.items() if amount > 0)
    drawn = basis = 0.0
    earnings_years = []
    for year in result.plan.years:
        basis += put_in[year]
        drawn += d.withdrawal("roth", year)
        if drawn > basis + CENT:
            earnings_years.append(year)
    assert earnings_years, "the case must draw Roth earnings to test the clock"
    assert min(earnings_years) >= first + 5
    y = result.yearly
    assert y["roth_taxable_earnings"].abs().max() < CENT
    assert y["roth_early_distributions"].abs().max() < CENT
    assert result.reconciliation["tax_error"].abs().max() < CENT
    assert result.reconciliation_max_abs_error < CENT
    started = [n for n in result.notes if "starts the 5-year clock" in n]
    assert len(started) == 1 and f"in {first} starts" in started[0], result.notes


# -- plan input -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            {"roth_conversions": {2023: -5}},
            ["accounts[0].roth_conversions[2023]", "cannot be negative"],
        ),
        (
            {"roth_first_contribution_year": 2024},
            ["accounts[0].roth_first_contribution_year", "2024", "use 2023 or earlier"],
        ),
        (
            {"roth_conversions": {2027: 1000}},
            ["accounts[0].roth_conversions[2027]", "after start_year 2026"],
        ),
        (
            {"roth_conversions": {}, "roth_first_contribution_year": 2030},
            ["accounts[0].roth_first_contribution_year", "after start_year"],
        ),
        ({"roth_contributions": -1}, ["accounts[0].roth_contributions", "greater than or equal"]),
        (
            {"roth_contributions": 90_000},
            ["accounts[0].roth_contributions", "110,000 is more than the balance 100,000"],
        ),
    ],
)
def test_roth_fields_get_one_line_errors(change, expected):
    account = _worked_roth(roth_conversions={2023: 20_000}, roth_first_contribution_year=None)
    account.update(change)
    with pytest.raises(InputError) as caught:
        _plan([account])
    message = str(caught.value)
    assert "\n" not in message
    for part in expected:
        assert part in message, message


def test_roth_fields_on_other_accounts_are_refused_by_name():
    plan = _plan(
        [
            {
                "name": "ira",
                "kind": "traditional_ira",
                "owner": "Ann",
                "balances": {"index": 10},
                "roth_contributions": 5,
            }
        ]
    )
    with pytest.raises(InputError) as caught:
        plan.check_against(US, source="plan.toml")
    assert str(caught.value) == (
        "plan.toml: accounts[0].roth_contributions: only Roth accounts keep a Roth history; "
        "remove it from ira (traditional_ira)"
    )


# -- properties -----------------------------------------------------------------------------


@st.composite
def roth_plans(draw) -> taxopt.Plan:
    """A person 45-70 with a traditional IRA, a Roth with some stated history (or an empty
    one with none) and maybe a taxable account; conversions allowed; spending set by a
    policy or maximized."""
    birth = 2026 - draw(st.integers(45, 70))
    balance = draw(st.integers(0, 400_000))
    converted = {
        year: draw(st.integers(0, balance // 4))
        for year in draw(st.sets(st.integers(2018, 2026), max_size=3))
    }
    history = {
        "roth_contributions": draw(st.integers(0, balance - sum(converted.values()))),
        "roth_conversions": converted,
    }
    if draw(st.booleans()):
        history["roth_first_contribution_year"] = min(
            [draw(st.integers(2000, 2026)), *history["roth_conversions"]]
        )
    elif draw(st.booleans()):  # no Roth history at all: the plan's own money starts the clock
        balance, history = 0, {}
    accounts = [
        _roth(balance, **history),
        {"name": "ira", "kind": "traditional_ira", "owner": "Ann", "balances": {"index": 5e5}},
    ]
    if draw(st.booleans()):
        accounts.append({"name": "brokerage", "kind": "taxable", "balances": {"index": 1e5}})
    objective = draw(st.sampled_from(["max_spending", "max_estate"]))
    return _plan(
        accounts,
        birth_year=birth,
        horizon_age=2026 + draw(st.integers(6, 12)) - birth,
        tiers=[{"name": "index", "expected_return": draw(st.floats(0.0, 0.07))}],
        withdrawal={"policy": "fixed_real", "rate": draw(st.floats(0.02, 0.06))},
        objective={"kind": objective},
        options={"roth_conversions": True},
    )


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plan=roth_plans())
def test_optimized_plans_never_pay_roth_tax_and_reconcile(plan):
    """Whatever the Roth history: the optimized plan's Roth withdrawals are free of tax in
    the ledger's replay of the ordering rules, and model and ledger agree within $1."""
    try:
        result = taxopt.optimize(plan, US, mode="exact", with_baselines=False)
    except taxopt.InfeasiblePlanError:
        assume(False)
    assert result.yearly["roth_taxable_earnings"].abs().max() < CENT
    assert result.yearly["roth_early_distributions"].abs().max() < CENT
    assert result.reconciliation_max_abs_error < 1.0
