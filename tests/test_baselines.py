"""Baselines: rules of thumb walked by taxopt.policy, witnessed by the ledger's replay.

The engine (taxopt.policy) keeps its own balances and lots; the ledger (taxopt.ledger)
replays the engine's decisions independently. They must agree to the cent. On top: the
conventional withdrawal order, RMDs, non-negative balances, conserved money, a routing and
an annuity worked by hand, and the optimized plan beating every baseline on its objective.
"""

from __future__ import annotations

import functools
import math
import tomllib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import taxopt
from taxopt.baselines import (
    BASELINE_NAMES,
    GuidePlacement,
    SameMixPlacement,
    baseline_engines,
    evaluate_baselines,
    mix_deviation,
    optimized_mix,
    run_baselines,
    target_mix,
)
from taxopt.ledger import replay
from taxopt.plan import plan_from_dict, surplus_years
from taxopt.policy import PolicyEngine
from taxopt.rules import Growth

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = ("couple-near-retirement", "retiree-drawing-2.5-percent", "young-accumulator")
RULES = "us-federal-2026"
CENT = 0.01


@functools.cache
def rules():
    return taxopt.load_rules(RULES)


@functools.cache
def optimized(example: str):
    plan = taxopt.load_plan(REPO / "examples" / f"{example}.toml")
    return plan, taxopt.optimize(plan, rules(), with_baselines=False)


@functools.cache
def baselines(example: str):
    plan, result = optimized(example)
    return run_baselines(plan, rules(), result)


def _kind_of(plan, account: str):
    return rules().account_kinds[next(a.kind for a in plan.accounts if a.name == account)]


def _accounts(plan, growth: Growth) -> list[str]:
    return [a.name for a in plan.accounts if _kind_of(plan, a.name).growth == growth]


def _assert_engine_matches_ledger(plan, run, ledger) -> None:
    engine = run.yearly.set_index("year")
    book = ledger.yearly.set_index("year")
    columns = ["total_tax", "spending", "realized_gains", "portfolio_closing"]
    columns += [f"closing_{a.name}" for a in plan.accounts]
    for column in columns:
        gap = (engine[column] - book[column]).abs().max()
        assert gap < CENT, f"{column}: engine and ledger differ by {gap:.4f}"
    assert not ledger.warnings, ledger.warnings


def _assert_invariants(plan, ledger) -> None:
    """RMDs met, conventional order, nothing negative, money conserved (nominal dollars)."""
    y = ledger.yearly
    holdings = ledger.holdings
    post = holdings.groupby(["year", "account"])["post_trade"].sum()
    taxable, deferred = _accounts(plan, Growth.TAXED), _accounts(plan, Growth.DEFERRED)
    exempt = _accounts(plan, Growth.EXEMPT)
    assert (holdings["post_trade"] >= -CENT).all()
    for _, row in y.iterrows():
        year = row["year"]
        for a in plan.accounts:
            assert row[f"withdrawal_{a.name}"] >= row[f"rmd_{a.name}"] - CENT, (year, a.name)
            assert row[f"closing_{a.name}"] >= -CENT
            assert row[f"conversion_out_{a.name}"] == 0
        taxable_left = sum(post[year, a] for a in taxable)
        deferred_left = sum(post[year, a] for a in deferred)
        beyond_rmd = sum(row[f"withdrawal_{a}"] - row[f"rmd_{a}"] for a in deferred)
        if beyond_rmd > CENT:
            assert taxable_left < CENT, f"{year}: deferred drawn while taxable holds money"
        if sum(row[f"withdrawal_{a}"] for a in exempt) > CENT:
            assert taxable_left + deferred_left < CENT, f"{year}: exempt drawn too early"
        opening = sum(row[f"opening_{a.name}"] for a in plan.accounts)
        flows = row["contributions"] - row["withdrawals"]
        assert sum(post[year, a.name] for a in plan.accounts) == pytest.approx(
            opening + flows, abs=CENT
        )
        assert row["spending"] >= -CENT
    closing = y["portfolio_closing"].to_numpy()[:-1]
    next_opening = y[[f"opening_{a.name}" for a in plan.accounts]].sum(axis=1).to_numpy()[1:]
    assert closing == pytest.approx(next_opening, abs=CENT)


# -- the examples ---------------------------------------------------------------------------


@pytest.mark.parametrize("example", EXAMPLES)
def test_engine_agrees_with_ledger_to_the_cent(example):
    plan, _ = optimized(example)
    for name in BASELINE_NAMES:
        b = baselines(example)[name]
        _assert_engine_matches_ledger(plan, b.run, b.ledger)


@pytest.mark.parametrize("example", EXAMPLES)
def test_conventional_order_rmds_no_negatives_money_conserved(example):
    plan, _ = optimized(example)
    for name in BASELINE_NAMES:
        _assert_invariants(plan, baselines(example)[name].ledger)


@pytest.mark.parametrize("example", EXAMPLES)
def test_the_optimized_plan_beats_every_baseline_on_its_objective(example):
    plan, result = optimized(example)
    kind = plan.objective.kind
    for name, b in baselines(example).items():
        if kind == "max_spending":
            assert result.figures.sustainable_spending >= b.figures.sustainable_spending - CENT
            assert b.figures.after_tax_estate >= plan.objective.bequest_floor - CENT, name
        elif kind == "max_estate":
            # Its objective: the after-tax estate plus the after-tax spending the policy
            # delivers (both today's dollars); a baseline may keep more estate by paying
            # more tax out of spending.
            def value(figures, ledger):
                return figures.after_tax_estate + ledger.yearly["spending_real"].sum()

            assert value(result.figures, result.ledger) >= value(b.figures, b.ledger) - CENT, name
        else:
            assert result.figures.lifetime_tax <= b.figures.lifetime_tax + CENT, name


@pytest.mark.parametrize("example", ["couple-near-retirement", "young-accumulator"])
def test_max_spending_baselines_spend_the_level_every_retirement_year(example):
    plan, _ = optimized(example)
    for b in baselines(example).values():
        y = b.ledger.yearly
        retired = y[y["year"] >= plan.retirement_year]
        working = y[y["year"] < plan.retirement_year]
        # At least the level; exactly it where a taxable account may take the surplus (the
        # optimizer's own rule, taxopt.plan.surplus_years), elsewhere the surplus is spent.
        reinvesting = set().union(*surplus_years(plan, rules()).values())
        assert retired["spending_real"].min() == pytest.approx(b.run.level_real, abs=CENT)
        level = retired[retired["year"].isin(reinvesting)]["spending_real"]
        assert level.to_numpy() == pytest.approx(b.run.level_real, abs=CENT)
        assert working["spending"].abs().max() < CENT if len(working) else True  # all saved
        assert b.figures.sustainable_spending == pytest.approx(b.run.level_real, abs=CENT)


def test_policy_baselines_spend_what_the_net_policy_sets():
    """Retiree, fixed_real 2.5% on the net basis: each year spends 2.5% of the after-tax
    portfolio at retirement (the $1,000,000 IRA at 1 - 22%, the $650,000 Roth and taxable
    in full: 0.025 x $1,430,000 = $35,750), indexed, plus Social Security ($60,000), taxes
    drawn on top."""
    plan, _ = optimized("retiree-drawing-2.5-percent")
    for b in baselines("retiree-drawing-2.5-percent").values():
        y = b.ledger.yearly
        opening = sum(y.iloc[0][f"opening_{a.name}"] for a in plan.accounts)
        assert opening == pytest.approx(1_650_000)
        from_portfolio = (y["spending"] - y["social_security"]) / y["inflation_factor"]
        assert from_portfolio.to_numpy() == pytest.approx(35_750, abs=CENT)
        assert (y["social_security"] / y["inflation_factor"]).to_numpy() == pytest.approx(60_000)


def test_policy_baselines_draw_what_a_gross_policy_sets():
    """The same retiree on the gross basis (Bengen): net withdrawals are 2.5% of the opening
    pre-tax portfolio, indexed; spending is what the tax leaves."""
    data = tomllib.loads((REPO / "examples" / "retiree-drawing-2.5-percent.toml").read_text())
    data["withdrawal"]["basis"] = "gross"
    data["horizon_age"] = 80
    plan = plan_from_dict(data)
    result = taxopt.optimize(plan, rules(), with_baselines=False)
    for b in run_baselines(plan, rules(), result).values():
        y = b.ledger.yearly
        net = (y["withdrawals"] - y["contributions"]) / y["inflation_factor"]
        assert net.to_numpy() == pytest.approx(0.025 * 1_650_000, abs=CENT)


def test_guide_keeps_the_optimized_plans_mix_while_sheltered_money_allows():
    """Guide: sheltered accounts fill what taxable leaves, so the whole portfolio holds the
    optimized plan's own mix each year (its gap to the plan is then location, not risk).
    Taxable accounts are buy-and-hold: in a year where the taxable account alone holds more
    of a tier than the mix wants of the whole portfolio, no sheltered placement can help;
    every other year must hold the mix exactly."""
    checked = 0
    for example in EXAMPLES:
        plan, result = optimized(example)
        mix = optimized_mix(plan, rules(), result.ledger)
        taxable = {
            a.name for a in plan.accounts if rules().account_kinds[a.kind].growth == Growth.TAXED
        }
        for name in ("guide_rule_of_thumb", "conventional_withdrawals"):
            b = baselines(example)[name]
            deviation = mix_deviation(plan, rules(), b.ledger, mix)
            holdings = b.ledger.holdings
            for year, at in holdings.groupby("year"):
                portfolio = at.post_trade.sum()
                in_taxable = at[at.account.isin(taxable)].groupby("tier").post_trade.sum()
                if any(v > mix(year)[t] * portfolio + CENT for t, v in in_taxable.items()):
                    continue  # the taxable account alone overshoots a tier
                checked += 1
                assert deviation[year] <= 1e-9, (example, name, year, deviation[year])
    assert checked >= 150  # most of the 3 x 2 x (37, 27, 65) years


def test_guide_places_aggressive_in_roth_and_conservative_in_traditional():
    plan, _ = optimized("couple-near-retirement")
    first = baselines("couple-near-retirement")["guide_rule_of_thumb"].run.outcomes[0]
    roth = first.allocation["alex_roth"]
    traditional = first.allocation["alex_401k"]
    assert max(roth, key=roth.get) == "aggressive"
    # Aggressive money reaches a traditional account only once the Roth accounts are full
    # of it (the optimized mix holds more aggressive than the Roth accounts can).
    roth_accounts = [first.allocation["alex_roth"], first.allocation["blake_roth"]]
    if traditional["aggressive"] > 0:
        for account in roth_accounts:
            assert account["aggressive"] == pytest.approx(sum(account.values()))
    assert max(traditional, key=traditional.get) == "conservative"
    mix = target_mix(plan, plan.start_year)
    # 2026: Alex is 61, on the glide path's start: 50/30/20 scaled by 1 - 15% reserve.
    assert mix == pytest.approx(
        {"conservative": 0.425, "balanced": 0.255, "aggressive": 0.17, "reserve": 0.15}
    )


def test_evaluate_baselines_returns_ledger_figures():
    # Speed is measured in benchmarks/, not asserted here.
    plan, result = optimized("couple-near-retirement")
    figures = evaluate_baselines(plan, rules(), result)
    assert set(figures) == set(BASELINE_NAMES)
    for name, f in figures.items():
        assert f.sustainable_spending == pytest.approx(
            baselines("couple-near-retirement")[name].figures.sustainable_spending, abs=CENT
        )


# -- worked by hand -------------------------------------------------------------------------


def test_contributions_route_deferred_first_with_the_tax_saved():
    """Couple, 2026: savings $30,000 plus the tax the deduction saves.

    Alex (61) may put $24,500 + $11,250 (age 60-63 catch-up) = $35,750 in the 401(k)
    (IRC §402(g), §414(v); IRS Notice 2025-67). Wages $200,000 mfj keep every marginal
    dollar in the 22% bracket ($100,800-$211,400, Rev. Proc. 2025-32 §4.01). The taxable
    account's yields are ordinary: 1% x 120,000 + 2% x 90,000 + 3.5% x 50,000 = $4,750.
    Contributions K = savings + wage tax - tax = 30,000 + 0.22 K - 0.22 x 4,750, so
    K = 28,955 / 0.78 = 37,121.79; Blake's IRA takes K - 35,750 = 1,371.79.
    """
    plan = taxopt.load_plan(REPO / "examples" / "couple-near-retirement.toml")
    engine = PolicyEngine(plan, rules(), SameMixPlacement(plan))
    y = engine.year_context(engine.initial_state(), 2026)
    first = engine.solve_year(y, 0.0)
    assert first.contributions["alex_401k"] == pytest.approx(35_750, abs=CENT)
    assert first.contributions["blake_ira"] == pytest.approx(28_955 / 0.78 - 35_750, abs=CENT)
    assert set(first.contributions) == {"alex_401k", "blake_ira"}
    assert first.spending == pytest.approx(0.0, abs=CENT)


def _tiny_plan(**over) -> taxopt.Plan:
    data = {
        "name": "tiny",
        "filing_status": "single",
        "start_year": 2026,
        "retirement_year": 2026,
        "horizon_age": 94,
        "inflation": 0.02,
        "people": [{"name": "Kim", "birth_year": 1941}],
        "tiers": [
            {"name": "index", "expected_return": 0.05, "yield": 0.0, "yield_character": "none"}
        ],
        "profile": {"weights": {"index": 1.0}},
        "accounts": [
            {"name": "roth", "kind": "roth_ira", "owner": "Kim", "balances": {"index": 100_000}},
            {"name": "brokerage", "kind": "taxable", "balances": {"index": 200_000}},
        ],
        "objective": {"kind": "max_spending", "bequest_floor": 0},
    }
    data.update(over)
    return plan_from_dict(data)


def test_tiny_plan_spends_the_annuity_worked_by_hand():
    """One Roth, one taxable, one tier, no tax due: the level is an annuity due.

    Ten years (2026-2035), $300,000 at 5% nominal, spending constant in real terms with 2%
    inflation, withdrawn at the start of each year, nothing left at the end:
    300,000 = L x sum_{t=0..9} v^t with v = 1.02 / 1.05, so
    L = 300,000 (1 - v) / (1 - v^10) = 8,571.4286 / 0.2516432 = 34,061.84
    (v = 0.9714286, v^10 = 0.7483568). Realized gains stay far inside the 0% band
    ($49,450 single, Rev. Proc. 2025-32 §4.03, above a $16,100 + $2,050 deduction),
    so no tax is due.
    """
    plan = _tiny_plan()
    v = 1.02 / 1.05
    assert v**10 == pytest.approx(0.7483568, abs=1e-7)
    hand = 300_000 * (1 - v) / (1 - v**10)
    assert hand == pytest.approx(34_061.84, abs=0.01)
    run = PolicyEngine(plan, rules(), SameMixPlacement(plan)).run()
    ledger = replay(plan, rules(), run.decisions("tiny"))
    _assert_engine_matches_ledger(plan, run, ledger)
    _assert_invariants(plan, ledger)
    assert ledger.yearly["total_tax"].abs().max() < CENT
    assert run.level_real == pytest.approx(hand, abs=CENT)
    assert ledger.yearly["spending_real"].to_numpy() == pytest.approx(hand, abs=CENT)
    # Conventional order: the taxable account is emptied before the Roth is touched.
    y = ledger.yearly
    first_roth = y[y["withdrawal_roth"] > CENT]["year"].min()
    assert y[y["year"] < first_roth]["withdrawal_brokerage"].min() > 0
    assert y[y["year"] == first_roth]["closing_brokerage"].iloc[0] < CENT


# -- properties -----------------------------------------------------------------------------


@st.composite
def small_plans(draw):
    """Random one-person plans: 2-4 accounts of the three growth kinds, a short horizon."""
    birth = draw(st.integers(1950, 1972))
    retire = draw(st.integers(2026, 2030))
    kinds = draw(
        st.lists(
            st.sampled_from(["traditional_ira", "roth_ira", "taxable", "traditional_401k"]),
            min_size=2,
            max_size=4,
        )
    )
    tiers = ["conservative", "balanced", "aggressive", "reserve"]
    accounts = []
    for i, kind in enumerate(kinds):
        balances = {t: draw(st.integers(0, 300_000)) for t in tiers if draw(st.booleans())}
        account = {"name": f"a{i}", "kind": kind, "balances": balances}
        if kind != "taxable":
            account["owner"] = "P"
        else:
            account["basis"] = {t: b * draw(st.floats(0.2, 1.0)) for t, b in balances.items()}
        accounts.append(account)
    data = {
        "filing_status": "single",
        "start_year": 2026,
        "retirement_year": retire,
        "horizon_age": 2026 + draw(st.integers(8, 16)) - birth,
        "people": [{"name": "P", "birth_year": birth}],
        "profile": {
            "weights": {"conservative": 0.5, "balanced": 0.3, "aggressive": 0.2},
            "reserve_tier": "reserve",
            "reserve_min": 0.1,
            "reserve_max": 0.2,
        },
        "accounts": accounts,
        "contributions": {"annual": draw(st.integers(0, 40_000))},
        "earnings": [{"person": "P", "annual": draw(st.integers(0, 150_000))}],
        "income": [
            {
                "name": "ss",
                "kind": "social_security",
                "owner": "P",
                "start_age": 67,
                "annual": draw(st.integers(0, 40_000)),
            }
        ],
        "withdrawal": {"policy": draw(st.sampled_from(["fixed_real", "constant_percentage"]))},
        "objective": {"kind": draw(st.sampled_from(["max_estate", "max_spending"]))},
    }
    return plan_from_dict(data)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plan=small_plans(), guide=st.booleans())
def test_property_engine_equals_ledger_and_invariants_hold(plan, guide):
    placement = GuidePlacement(plan, rules()) if guide else SameMixPlacement(plan)
    run = PolicyEngine(plan, rules(), placement).run()
    ledger = replay(plan, rules(), run.decisions("property"))
    _assert_engine_matches_ledger(plan, run, ledger)
    if not run.short_years:
        _assert_invariants(plan, ledger)
    assert all(math.isfinite(o.tax.total_tax) for o in run.outcomes)


# ---------------------------------------------------------------------------------------
# The level search (policy._highest_level): the bisection's answer in fewer walks


@given(
    root=st.floats(min_value=0.0, max_value=5e6),
    kink=st.floats(min_value=0.05, max_value=20.0),
    guess=st.floats(min_value=1.0, max_value=1e7),
)
def test_highest_level_is_the_last_ok_level_to_the_tolerance(root, kink, guess):
    """A margin with a kink at the root (slopes 1 and `kink`, like a tax bracket or the
    estate hitting its floor): the level found works and one tolerance more does not."""
    from taxopt.policy import LEVEL_TOLERANCE, _highest_level

    calls = []

    def attempt(level):
        calls.append(level)
        margin = root - level if level <= root else kink * (root - level)
        return level <= root, margin

    found = _highest_level(attempt, guess)
    assert found is not None and found <= root < found + LEVEL_TOLERANCE
    bisection = 2 + max(0, math.ceil(math.log2(max(guess, root) / LEVEL_TOLERANCE)))
    assert len(calls) <= bisection + 1


def test_highest_level_is_none_when_nothing_works():
    from taxopt.policy import _highest_level

    assert _highest_level(lambda level: (False, -1.0 - level), 100.0) is None


@pytest.mark.parametrize("example", ["couple-near-retirement", "young-accumulator"])
def test_a_baselines_level_works_and_a_cent_more_does_not(example):
    plan, result = optimized(example)
    engine = baseline_engines(plan, rules(), result)["guide_rule_of_thumb"]
    run = engine.run()
    state = engine.initial_state()
    working = [y for y in plan.years if y < plan.retirement_year]
    retired = [y for y in plan.years if y >= plan.retirement_year]
    engine.walk(state, working, lambda y: engine.solve_year(y, 0.0))

    def works(level):
        outcomes, closing = engine.run_level(level, state, retired, stop=False)
        short = any(o.shortfall > 1e-6 for o in outcomes)
        return not short and engine.estate_real(closing[-1]) >= plan.objective.bequest_floor - 1e-6

    assert works(run.level_real)
    assert not works(run.level_real + 0.01)
