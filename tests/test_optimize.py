"""The optimizer against answers known independently, with the real HiGHS solver.

Each test names its independent witness: a hand argument, the pure tax calculator, or the
ledger's replay (which shares no code with the model).
"""

from __future__ import annotations

import json
import math
import tomllib
from pathlib import Path

import pulp
import pytest

from taxopt import InfeasiblePlanError, load_plan, load_rules, optimize
from taxopt.cli import main
from taxopt.model import build_model
from taxopt.model.objective import ESTATE_TIE_BREAK
from taxopt.optimize import regime_from
from taxopt.plan import plan_from_dict
from taxopt.rules import Growth
from taxopt.solve import solve
from taxopt.tax import TaxInput, compute_tax

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"

FLAT_RULES = """
[meta]
name = "flat-25"
title = "Test: a flat 25% tax on all income, nothing else"
jurisdiction = "test"
currency = "USD"
year = 2026
filing_statuses = ["single"]

[ordinary]
source = "test fixture"
indexed = false
brackets.single = { thresholds = [0], rates = [0.25] }

[capital_gains]
source = "test fixture"
inclusion_rate = 1.0

[account_kinds.roth]
label = "Roth"
source = "test fixture"
contributions = "after_tax"
growth = "exempt"
withdrawals = "exempt"

[account_kinds.traditional]
label = "Traditional"
source = "test fixture"
contributions = "deductible"
growth = "deferred"
withdrawals = "ordinary"

[account_kinds.taxable]
label = "Taxable"
source = "test fixture"
contributions = "after_tax"
growth = "taxed"
withdrawals = "basis_and_gains"
"""


@pytest.fixture(scope="module")
def flat_rules(tmp_path_factory):
    path = tmp_path_factory.mktemp("rules") / "flat-25.toml"
    path.write_text(FLAT_RULES)
    return load_rules(path)


@pytest.fixture(scope="module")
def us2026():
    return load_rules("us-federal-2026")


def small_plan(**overrides) -> dict:
    """A one-person plan skeleton; tests override what they study."""
    plan = {
        "name": "test",
        "filing_status": "single",
        "start_year": 2026,
        "retirement_year": 2026,
        "horizon_age": 75,
        "inflation": 0.0,
        "people": [{"name": "Ann", "birth_year": 1961}],
        "tiers": [
            {"name": "fast", "expected_return": 0.10, "volatility": 0.2},
            {"name": "slow", "expected_return": 0.02, "volatility": 0.05},
        ],
        "profile": {"weights": {"fast": 0.5, "slow": 0.5}, "tolerance": 0.0},
        "accounts": [],
        "withdrawal": {"policy": "fixed_amount", "amount": 0.0},
        "objective": {"kind": "max_estate", "heir_tax_rate": 0.25},
        "options": {"roth_conversions": False},
    }
    plan.update(overrides)
    return plan


def _share(result, account: str, tier: str, snapshot: str = "today") -> float:
    loc = result.location
    row = loc[(loc.snapshot == snapshot) & (loc.account == account) & (loc.tier == tier)]
    return float(row.share_of_account.iloc[0])


def test_solvers_are_reachable():
    """Both HiGHS (highspy) and CBC solve a two-variable LP: min x + y, x + 2y >= 4, x >= 1."""
    for solver in (pulp.HiGHS(msg=False), pulp.PULP_CBC_CMD(msg=False)):
        prob = pulp.LpProblem("smoke", pulp.LpMinimize)
        x, y = pulp.LpVariable("x", 0), pulp.LpVariable("y", 0)
        prob += x + y
        prob += x + 2 * y >= 4
        prob += x >= 1
        assert pulp.LpStatus[prob.solve(solver)] == "Optimal"
        assert pulp.value(prob.objective) == pytest.approx(2.5)


def test_faster_tier_goes_to_roth_under_flat_tax(flat_rules):
    """Hand argument: with R = T pre-tax and a flat tax t, the after-tax estate is
    R g_R + T g_T (1 - t); putting the 10% tier in the Roth beats the swap by
    (1.1^n - 1.02^n)(R - T(1 - t)) > 0."""
    # One year (age 65 in 2026, horizon 65), so the 50/50 mix binds only once.
    plan = plan_from_dict(
        small_plan(
            horizon_age=65,
            accounts=[
                {"name": "roth", "kind": "roth", "owner": "Ann", "balances": {"slow": 100000}},
                {
                    "name": "ira",
                    "kind": "traditional",
                    "owner": "Ann",
                    "balances": {"fast": 100000},
                },
            ],
        )
    )
    result = optimize(plan, flat_rules, mode="exact", with_baselines=False)
    assert _share(result, "roth", "fast") == pytest.approx(1.0, abs=1e-6)
    assert _share(result, "ira", "slow") == pytest.approx(1.0, abs=1e-6)
    # Median growth (the default basis) of a lognormal with mean 1 + m and sd s:
    # (1 + m) / sqrt(1 + (s / (1 + m))^2), here 1.0822 and 1.0188.
    g_fast = 1.10 / math.sqrt(1 + (0.20 / 1.10) ** 2)
    g_slow = 1.02 / math.sqrt(1 + (0.05 / 1.02) ** 2)
    expected = 100000 * g_fast + 100000 * g_slow * (1 - 0.25)
    assert result.figures.after_tax_estate == pytest.approx(expected, rel=1e-9)


def test_heavily_taxed_tier_goes_to_roth_before_taxable(flat_rules):
    """When a tier's whole return is a yield taxed every year in a taxable account, the
    faster tier belongs in the Roth: sheltering 10% a year saves more than 2%."""
    tiers = [
        {"name": "fast", "expected_return": 0.10, "yield": 0.10, "yield_character": "ordinary"},
        {"name": "slow", "expected_return": 0.02, "yield": 0.02, "yield_character": "ordinary"},
    ]
    plan = plan_from_dict(
        small_plan(
            tiers=tiers,
            withdrawal={"policy": "fixed_amount", "amount": 15000.0},  # pays the yearly tax
            horizon_age=70,
            accounts=[
                {"name": "roth", "kind": "roth", "owner": "Ann", "balances": {"slow": 100000}},
                {"name": "brokerage", "kind": "taxable", "balances": {"fast": 100000}},
            ],
        )
    )
    result = optimize(plan, flat_rules, mode="exact", with_baselines=False)
    # All of the fast tier the 50/50 mix allows lives in the Roth; taxable keeps none.
    assert _share(result, "brokerage", "fast") == pytest.approx(0.0, abs=1e-6)
    assert _share(result, "roth", "fast") > 0.9


def test_traditional_only_retiree_pays_the_calculators_tax(us2026):
    """Witness: compute_tax on each year's IRA withdrawal, independent of model and ledger."""
    plan = plan_from_dict(
        small_plan(
            tiers=[{"name": "index", "expected_return": 0.05}],
            profile={"weights": {"index": 1.0}},
            accounts=[
                {
                    "name": "ira",
                    "kind": "traditional_ira",
                    "owner": "Ann",
                    "balances": {"index": 800000},
                }
            ],
            # Gross basis: the IRA withdrawal itself is the policy's amount (and no RMD
            # reaches it: nothing to reinvest).
            withdrawal={
                "policy": "fixed_amount",
                "amount": 50000.0,
                "basis": "gross",
                "rmd_surplus": "spend",
            },
            inflation=0.02,
        )
    )
    result = optimize(plan, us2026, mode="exact", with_baselines=False)
    recon = result.reconciliation.set_index("year")
    for row in result.yearly.itertuples():
        rules = us2026.for_year(row.year, plan.inflation)
        ages = (row.year - 1961,)
        expected = compute_tax(
            rules, TaxInput("single", ages, ordinary_income=row.withdrawal_ira, year=row.year)
        ).total_tax
        assert recon.at[row.year, "model_tax"] == pytest.approx(expected, abs=0.01)
        assert row.withdrawal_ira == pytest.approx(
            50000 * plan.inflation_factor(row.year), abs=0.01
        )


def test_low_brackets_are_filled_with_traditional_money(us2026):
    """With Roth and traditional money and no other income, drawing only Roth would waste
    the standard deduction and the 10% bracket: every year draws (or converts) traditional
    money at least up to the deductions while traditional money lasts."""
    plan = plan_from_dict(
        small_plan(
            tiers=[{"name": "index", "expected_return": 0.04}],
            profile={"weights": {"index": 1.0}},
            accounts=[
                {
                    "name": "ira",
                    "kind": "traditional_ira",
                    "owner": "Ann",
                    "balances": {"index": 400000},
                },
                {"name": "roth", "kind": "roth_ira", "owner": "Ann", "balances": {"index": 400000}},
            ],
            objective={"kind": "max_spending", "bequest_floor": 0.0},
            options={"roth_conversions": True},
        )
    )
    result = optimize(plan, us2026, mode="exact", with_baselines=False)
    yearly = result.yearly
    for row in yearly.itertuples():
        if row.opening_ira > row.total_deductions:
            drawn = row.withdrawal_ira + row.conversion_out_ira
            assert drawn >= row.total_deductions - 0.01, row.year


@pytest.fixture(scope="module")
def example_results(us2026):
    out = {}
    for name in ("couple-near-retirement", "retiree-drawing-2.5-percent"):
        result = optimize(load_plan(EXAMPLES / f"{name}.toml"), us2026, with_baselines=False)
        out[name] = (result.plan, result)  # the plan with any account taxopt opened
    return out


@pytest.mark.parametrize("name", ["couple-near-retirement", "retiree-drawing-2.5-percent"])
def test_exact_mode_agrees_with_ledger_within_a_dollar(example_results, us2026, name):
    _plan, result = example_results[name]
    us = us2026
    errors = result.reconciliation.filter(like="_error").abs()
    assert errors.max().max() < 1.0, errors.max()
    assert result.status == "optimal"
    assert result.objective <= result.objective_bound + 1e-6  # the LP relaxation bounds it
    if name == "couple-near-retirement":
        # The search's plan, before its circles were netted (the same regime LP without the
        # netted legs forbidden, solved here), is within 0.01% of the bound: no better plan
        # to seek. Netting costs less than the circles' thresholds together ($500 each at
        # least over the 32 spending years: $15.6 a year each).
        searched = solve(
            build_model(result.plan, us, "exact", regime_from(result.ledger, _plan.years))
        )
        assert result.objective_bound - searched.objective <= 1e-4 * result.objective_bound
        netted = len(result.netted_circles)
        assert 0 <= searched.objective - result.objective <= netted * 500 / 32 + 1.0


@pytest.mark.parametrize("name", ["couple-near-retirement", "retiree-drawing-2.5-percent"])
def test_rmds_met_and_no_balance_negative(example_results, us2026, name):
    plan, result = example_results[name]
    yearly = result.yearly
    deferred = [a for a in plan.accounts if us2026.account_kinds[a.kind].rmd]
    checked = 0
    for row in yearly.itertuples():
        for account in deferred:
            owner, opening = plan.owner(account.name), getattr(row, f"opening_{account.name}")
            age = owner.age_in(row.year)
            required = us2026.rmd_amount(account.kind, age, owner.birth_year, opening)
            assert getattr(row, f"withdrawal_{account.name}") >= required - 0.01
            checked += required > 0
    assert checked > 0 or name == "couple-near-retirement"
    assert (result.ledger.holdings.post_trade >= -0.01).all()
    assert not result.warnings


@pytest.mark.parametrize("name", ["couple-near-retirement", "retiree-drawing-2.5-percent"])
def test_money_is_conserved(example_results, name):
    """Each year: opening + contributions - withdrawals = post-trade; post-trade grown by
    each tier's return = closing; spending + taxes + contributions = withdrawals + income."""
    plan, result = example_results[name]
    growth = plan.tier_returns  # each tier's lognormal median return (see test_plan)
    holdings = result.ledger.holdings
    for row in result.yearly.itertuples():
        opening = sum(getattr(row, f"opening_{a.name}") for a in plan.accounts)
        at = holdings[holdings.year == row.year]
        post = at.post_trade.sum()
        assert post == pytest.approx(opening + row.contributions - row.withdrawals, abs=0.01)
        grown = sum(r.post_trade * (1 + growth[r.tier]) for r in at.itertuples())
        assert grown == pytest.approx(row.portfolio_closing, abs=0.01)
        sources = (
            row.withdrawals
            + row.social_security
            + row.other_income
            + row.savings_budget
            + _wage_tax(plan, row)
        )
        assert row.spending + row.total_tax + row.contributions == pytest.approx(sources, abs=0.01)


def _wage_tax(plan, row) -> float:
    if row.wages == 0:
        return 0.0
    rules = load_rules("us-federal-2026").for_year(row.year, plan.inflation)
    ages = plan.ages_in(row.year)
    return compute_tax(
        rules, TaxInput(plan.filing_status, ages, ordinary_income=row.wages, year=row.year)
    ).total_tax


def test_couple_plan_uses_every_account_kind_and_conversions_are_taxed(example_results, us2026):
    plan, result = example_results["couple-near-retirement"]
    kinds = {us2026.account_kinds[a.kind].growth for a in plan.accounts}
    assert kinds == {Growth.TAXED, Growth.DEFERRED, Growth.EXEMPT}
    yearly = result.yearly
    assert (yearly.ordinary_withdrawals >= yearly.roth_conversions - 0.01).all()


def test_fast_mode_reports_its_error_and_keeps_balances_exact(us2026):
    plan = load_plan(EXAMPLES / "couple-near-retirement.toml")
    result = optimize(plan, us2026, mode="fast", with_baselines=False)
    recon = result.reconciliation
    assert recon.portfolio_closing_error.abs().max() < 1.0
    assert recon.realized_gains_error.abs().max() < 1.0
    assert result.reconciliation_max_abs_error == pytest.approx(
        recon.filter(like="_error").abs().max().max()
    )


def test_cbc_fallback_solves_the_same_lp(us2026):
    plan = plan_from_dict(
        small_plan(
            tiers=[{"name": "index", "expected_return": 0.05}],
            profile={"weights": {"index": 1.0}},
            accounts=[
                {
                    "name": "ira",
                    "kind": "traditional_ira",
                    "owner": "Ann",
                    "balances": {"index": 300000},
                }
            ],
            objective={"kind": "max_spending"},
            horizon_age=70,
        )
    )
    highs = optimize(plan, us2026, mode="fast", solver="highs", with_baselines=False)
    cbc = optimize(plan, us2026, mode="fast", solver="cbc", with_baselines=False)
    assert cbc.figures.sustainable_spending == pytest.approx(
        highs.figures.sustainable_spending, rel=1e-6
    )


def test_infeasible_bequest_floor_names_the_requirement_and_closest_value(us2026):
    plan = plan_from_dict(
        small_plan(
            tiers=[{"name": "index", "expected_return": 0.03}],
            profile={"weights": {"index": 1.0}},
            accounts=[
                {"name": "roth", "kind": "roth_ira", "owner": "Ann", "balances": {"index": 100000}}
            ],
            objective={"kind": "max_spending", "bequest_floor": 10_000_000},
            horizon_age=70,
        )
    )
    with pytest.raises(InfeasiblePlanError) as caught:
        optimize(plan, us2026, mode="fast", with_baselines=False)
    message = str(caught.value)
    assert "bequest_floor" in message
    # Nothing is spent and 3% growth for 6 years: the most it can leave is 100,000 x 1.03^6,
    # reported to the dollar below (so that it can be left).
    closest = caught.value.closest_feasible["bequest_floor"]
    assert closest == math.floor(100000 * 1.03**6)


def test_unsustainable_withdrawal_rate_reports_the_highest_sustainable(us2026):
    plan = plan_from_dict(
        small_plan(
            tiers=[{"name": "index", "expected_return": 0.0}],
            profile={"weights": {"index": 1.0}},
            accounts=[
                {"name": "roth", "kind": "roth_ira", "owner": "Ann", "balances": {"index": 100000}}
            ],
            withdrawal={"policy": "fixed_real", "rate": 0.25},
            horizon_age=70,  # 2026..2031: six withdrawals
        )
    )
    with pytest.raises(InfeasiblePlanError) as caught:
        optimize(plan, us2026, mode="fast", with_baselines=False)
    # No growth, no inflation, no tax on Roth money: six equal withdrawals of at most 1/6.
    assert "withdrawal.rate" in str(caught.value)
    assert caught.value.closest_feasible["withdrawal_rate"] == pytest.approx(1 / 6, abs=1e-3)


def test_cli_optimize_writes_the_json_contract(tmp_path, capsys):
    out = tmp_path / "result.json"
    code = main(
        [
            "optimize",
            str(EXAMPLES / "retiree-drawing-2.5-percent.toml"),
            "--rules",
            "us-federal-2026",
            "--json",
            str(out),
            "--no-baselines",
        ]
    )
    assert code == 0
    data = json.loads(out.read_text())
    for key in (
        "status",
        "objective",
        "sustainable_spending",
        "after_tax_estate",
        "lifetime_tax",
        "location",
        "reconciliation_max_abs_error",
        "baselines",
        "solve_seconds",
        "build_seconds",
    ):
        assert key in data
    assert data["reconciliation_max_abs_error"] < 1.0
    assert set(data["location"]) >= {"today", "retirement"}
    assert "sustainable spending" in capsys.readouterr().out


def test_cli_reports_a_bad_plan_without_traceback(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text(
        (EXAMPLES / "retiree-drawing-2.5-percent.toml")
        .read_text()
        .replace('kind = "roth_ira"', 'kind = "roth_iraa"')
    )
    code = main(["optimize", str(bad), "--no-baselines"])
    err = capsys.readouterr().err
    assert code == 2
    assert "accounts[1].kind" in err and "roth_iraa" in err and "Traceback" not in err


@pytest.mark.parametrize("wages", [150_000, 400_000])
def test_niit_and_high_brackets_reconcile_exactly(us2026, wages):
    """High earners with large taxable yields: NIIT (both lesser-of branches), the 20% gains
    band and the top brackets; exact mode must still equal the ledger within $1 a year."""
    plan = plan_from_dict(
        small_plan(
            people=[{"name": "Ann", "birth_year": 1976}],
            retirement_year=2030,
            horizon_age=54,
            tiers=[
                {
                    "name": "stocks",
                    "expected_return": 0.07,
                    "yield": 0.03,
                    "yield_character": "qualified_dividends",
                },
                {
                    "name": "bonds",
                    "expected_return": 0.04,
                    "yield": 0.04,
                    "yield_character": "ordinary",
                },
            ],
            profile={"weights": {"stocks": 0.6, "bonds": 0.4}, "tolerance": 0.05},
            accounts=[
                {
                    "name": "brokerage",
                    "kind": "taxable",
                    "balances": {"stocks": 3_000_000, "bonds": 1_000_000},
                    "basis": {"stocks": 1_000_000, "bonds": 1_000_000},
                },
                {
                    "name": "ira",
                    "kind": "traditional_ira",
                    "owner": "Ann",
                    "balances": {"bonds": 500_000},
                },
            ],
            earnings=[{"person": "Ann", "annual": wages}],
            contributions={"annual": 20_000},
            objective={"kind": "max_spending"},
            options={"roth_conversions": False},
        )
    )
    result = optimize(plan, us2026, mode="exact", with_baselines=False)
    assert result.yearly.niit.sum() > 0
    assert result.reconciliation.filter(like="_error").abs().max().max() < 1.0


def test_default_search_finds_what_thorough_finds_within_the_relaxation_bound(us2026):
    """The retiree's first plan (from the LP relaxation, one regime round) is far below the
    relaxation's bound, so the default search goes on as --thorough does (more rounds, the
    fast LP's plan as a second start) and ends where --thorough does. No plan beats the
    bound (each regime LP restricts the exact model it relaxes)."""
    plan = load_plan(EXAMPLES / "retiree-drawing-2.5-percent.toml")
    quick = optimize(plan, us2026, mode="exact", with_baselines=False, paths=0)
    thorough = optimize(plan, us2026, mode="exact", with_baselines=False, thorough=True, paths=0)
    assert quick.objective == pytest.approx(thorough.objective, abs=1e-6 * abs(quick.objective))
    assert quick.objective <= quick.objective_bound + 1e-6
    assert thorough.reconciliation_max_abs_error < 1.0
    assert quick.reconciliation_max_abs_error < 1.0


def test_early_withdrawals_pay_the_penalty_and_reconcile(us2026):
    """A 50-year-old living off a traditional IRA pays 10% on each withdrawal (IRC §72(t))
    on top of income tax, until the year she turns 60."""
    plan = plan_from_dict(
        small_plan(
            people=[{"name": "Ann", "birth_year": 1976}],
            horizon_age=62,
            tiers=[{"name": "index", "expected_return": 0.05}],
            profile={"weights": {"index": 1.0}},
            accounts=[
                {
                    "name": "ira",
                    "kind": "traditional_ira",
                    "owner": "Ann",
                    "balances": {"index": 900000},
                }
            ],
            withdrawal={"policy": "fixed_amount", "amount": 40000.0, "basis": "gross"},
        )
    )
    result = optimize(plan, us2026, mode="exact", with_baselines=False)
    yearly = result.yearly.set_index("year")
    assert yearly.at[2030, "early_withdrawal_penalty"] == pytest.approx(0.10 * 40000, abs=0.01)
    assert yearly.at[2036, "early_withdrawal_penalty"] == 0.0  # she is 60 in 2036
    assert result.reconciliation_max_abs_error < 1.0


@pytest.mark.parametrize("measure", ["pre_tax", "tax_adjusted"])
def test_min_tax_objective_and_mix_measures_reconcile(measure):
    data = tomllib.loads((EXAMPLES / "retiree-drawing-2.5-percent.toml").read_text())
    data["objective"]["kind"] = "min_tax"
    data["profile"]["mix_measure"] = measure
    data["horizon_age"] = 85
    plan = plan_from_dict(data)
    result = optimize(plan, load_rules("us-federal-2026"), mode="exact", with_baselines=False)
    assert result.reconciliation_max_abs_error < 1.0
    # The objective is lifetime tax plus the heirs' tax on what stays tax-deferred (less a
    # tiny estate tie-break), all from the ledger's figures.
    deferred_left = sum(
        result.yearly[f"closing_{a.name}"].iloc[-1]
        for a in plan.accounts
        if a.kind.startswith("trad")
    ) / plan.inflation_factor(plan.end_year + 1)
    expected = (
        result.figures.lifetime_tax
        + plan.objective.heir_tax_rate * deferred_left
        - ESTATE_TIE_BREAK * result.figures.after_tax_estate
    )
    assert result.objective == pytest.approx(expected, rel=1e-4)


def test_fixed_and_routed_contributions_are_respected(us2026):
    """`contributions.fixed` forces an amount into one account each working year and
    `contributions.accounts` limits where the rest may go."""
    plan = plan_from_dict(
        small_plan(
            people=[{"name": "Ann", "birth_year": 1981}],
            retirement_year=2031,
            horizon_age=55,
            tiers=[{"name": "index", "expected_return": 0.05}],
            profile={"weights": {"index": 1.0}},
            accounts=[
                {"name": "k401", "kind": "traditional_401k", "owner": "Ann", "balances": {}},
                {"name": "roth", "kind": "roth_ira", "owner": "Ann", "balances": {}},
                {"name": "brokerage", "kind": "taxable", "balances": {"index": 10000}},
            ],
            earnings=[{"person": "Ann", "annual": 120000}],
            contributions={
                "annual": 30000,
                "accounts": ["k401", "roth"],
                "fixed": [{"account": "k401", "annual": 10000}],
            },
            objective={"kind": "max_spending"},
        )
    )
    result = optimize(plan, us2026, mode="exact", with_baselines=False)
    working = result.yearly[result.yearly.year < 2031]
    assert (working.contribution_k401 >= 10000 - 0.01).all()
    assert (working.contribution_brokerage == 0).all()
    limit = us2026.limits_by_name["ira"].for_age(45)
    assert (working.contribution_roth <= limit + 0.01).all()
    assert result.reconciliation_max_abs_error < 1.0


def test_location_and_withdrawal_rate_agree_with_independent_figures(example_results):
    """Location dollars at each snapshot add up to that year's opening balances plus
    contributions less withdrawals (the yearly table); each account's shares sum to 1.
    The retiree's first retirement year spends the 2.5% its fixed_real policy sets on the
    net basis: 2.5% of the after-tax portfolio (the $1,000,000 IRA at 1 - 22%, the $650,000
    Roth and taxable in full) = $35,750, plus $60,000 of Social Security."""
    for name, (plan, result) in example_results.items():
        yearly = result.yearly.set_index("year")
        for (_snapshot, year), group in result.location.groupby(["snapshot", "year"]):
            opening = sum(yearly.at[year, f"opening_{a.name}"] for a in plan.accounts)
            expected = opening + yearly.at[year, "contributions"] - yearly.at[year, "withdrawals"]
            assert group.dollars.sum() == pytest.approx(expected, abs=0.01), (name, year)
            for _account, shares in group.groupby("account"):
                if shares.dollars.sum() > 0:
                    assert shares.share_of_account.sum() == pytest.approx(1.0)
        if name == "retiree-drawing-2.5-percent":
            assert result.figures.sustainable_spending == pytest.approx(35_750 + 60_000, abs=0.01)


def test_time_for_the_full_milp_never_leaves_a_worse_plan(us2026):
    """`mip_seconds` lets the full MILP try to beat the regime search's plan; whatever it
    finds is made exact again, and the answer is never worse than without it (the
    polished MILP plan is compared with the plan it started from), and still reconciles."""
    plan = load_plan(EXAMPLES / "retiree-drawing-2.5-percent.toml")
    without = optimize(plan, us2026, mode="exact", mip_seconds=0, with_baselines=False, paths=0)
    with_mip = optimize(plan, us2026, mode="exact", mip_seconds=3, with_baselines=False, paths=0)
    assert with_mip.objective >= without.objective - 0.01
    assert with_mip.objective <= with_mip.objective_bound + 0.01
    assert with_mip.reconciliation_max_abs_error < 1.0
