"""Spending by the plan's rule, RMD surplus, circles of money and infeasible plans.

All with the real HiGHS solver. Each test names its witness: arithmetic from the plan, the
pure tax calculator (us-federal-2026: Rev. Proc. 2025-32 as amended by P.L. 119-21, see
`taxopt rules show us-federal-2026`), the ledger's replay (which shares no code with the
model), or an independent re-solve.
"""

from __future__ import annotations

import json
import math
import tomllib
from pathlib import Path

import pytest
from circles_witness import independent_circles

import taxopt.model.objective as objective_module
from taxopt import InfeasiblePlanError, load_plan, load_rules, optimize
from taxopt.cli import main
from taxopt.model import build_model
from taxopt.optimize import regime_from
from taxopt.plan import IMPLIED_TAXABLE, plan_from_dict
from taxopt.rules import Growth
from taxopt.solve import solve
from taxopt.tax import TaxInput, compute_tax

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ("couple-near-retirement", "retiree-drawing-2.5-percent", "young-accumulator")
US = load_rules("us-federal-2026")
CENT = 0.01


@pytest.fixture(scope="module")
def examples():
    out = {}
    for name in EXAMPLES:
        plan = load_plan(ROOT / "examples" / f"{name}.toml")
        out[name] = (plan, optimize(plan, US, with_baselines=False))
    return out


def _reconciles(result) -> None:
    errors = result.reconciliation.filter(like="_error").abs().max().max()
    assert errors < 1.0, errors
    assert not result.warnings, result.warnings


# ---------------------------------------------------------------------------------------
# Conversions never push spending below the policy


def one_person(**overrides) -> dict:
    """Ann, 65 in 2026, retired, one index tier: the skeleton the plans below fill in."""
    data = {
        "filing_status": "single",
        "start_year": 2026,
        "retirement_year": 2026,
        "people": [{"name": "Ann", "birth_year": 1961}],
        "profile": {"weights": {"index": 1.0}},
    }
    return {**data, **overrides}


def conversion_pays(**withdrawal) -> dict:
    """A 65-year-old with $2M of traditional money and an empty Roth whose heirs pay 37%:
    converting pays (a test asserts it does), so the optimizer converts heavily."""
    return one_person(
        name="conversion pays",
        horizon_age=85,
        inflation=0.02,
        tiers=[{"name": "index", "expected_return": 0.06}],
        accounts=[
            {
                "name": "ira",
                "kind": "traditional_ira",
                "owner": "Ann",
                "balances": {"index": 2_000_000},
            },
            {"name": "roth", "kind": "roth_ira", "owner": "Ann", "balances": {}},
        ],
        withdrawal={"policy": "fixed_amount", "amount": 40_000, **withdrawal},
        objective={"kind": "max_estate", "heir_tax_rate": 0.37},
    )


@pytest.mark.parametrize("kind", ["max_estate", "min_tax"])
def test_net_policy_spends_its_amount_every_year_while_converting(kind):
    """Net basis: the $40,000 (today's dollars, 2% inflation) is after-tax spending, so each
    year spends exactly 40,000 x 1.02^t whatever the conversions' tax."""
    data = conversion_pays()
    data["objective"]["kind"] = kind
    result = optimize(plan_from_dict(data), US, with_baselines=False)
    _reconciles(result)
    yearly = result.yearly
    assert yearly.roth_conversions.sum() > 500_000  # converting pays, and happens
    expected = 40_000 * 1.02 ** (yearly.year - 2026)
    assert yearly.spending.to_numpy() == pytest.approx(expected.to_numpy(), abs=CENT)
    assert (result.spending_check.margin >= -CENT).all()


@pytest.mark.parametrize("kind", ["max_estate", "min_tax"])
def test_gross_policy_pays_conversion_tax_from_extra_withdrawals(kind):
    """Gross basis: the $40,000 withdrawal pays its own tax only. Witness: the calculator's
    tax on 40,000 x 1.02^t of ordinary income for a single filer of Ann's age; every year
    spends at least what that leaves, though the plan converts (before the fix, four years
    spent $0: the conversions' tax came out of the policy's withdrawal)."""
    data = conversion_pays(basis="gross")
    data["objective"]["kind"] = kind
    result = optimize(plan_from_dict(data), US, with_baselines=False)
    _reconciles(result)
    yearly = result.yearly
    assert yearly.roth_conversions.sum() > 500_000
    for row in yearly.itertuples():
        amount = 40_000 * 1.02 ** (row.year - 2026)
        tax = compute_tax(
            US.for_year(row.year, 0.02),
            TaxInput("single", (row.year - 1961,), ordinary_income=amount, year=row.year),
        ).total_tax
        assert row.spending >= amount - tax - CENT, row.year
        assert row.withdrawals - row.contributions >= amount - CENT, row.year
    # Where a conversion's tax is due the policy withdrawal is not enough: extra withdrawals.
    converting = yearly[yearly.roth_conversions > 0]
    assert (converting.withdrawals - converting.contributions > 40_000 + 1).any()
    assert (result.spending_check.margin >= -CENT).all()


def test_max_spending_keeps_constant_real_spending(examples):
    """The couple's max_spending plan converts; its real spending is the same every
    retirement year (the ledger's figures)."""
    plan, result = examples["couple-near-retirement"]
    retired = result.yearly[result.yearly.year >= plan.retirement_year]
    assert result.yearly.roth_conversions.sum() > 0
    level = retired.spending_real.iloc[0]
    assert retired.spending_real.to_numpy() == pytest.approx(level, abs=0.5)
    assert (result.spending_check.margin >= -CENT).all()


def test_the_retirees_four_percent_is_after_tax_and_holds(examples):
    """Retiree example, fixed_real net: the rate x the after-tax portfolio at retirement (the
    $1,000,000 IRA at 1 - 22%, the $650,000 Roth and taxable in full: $1,430,000; at 2.5%,
    $35,750) a year in today's dollars from the portfolio, plus $60,000 of Social Security,
    every year."""
    plan, result = examples["retiree-drawing-2.5-percent"]
    from_portfolio = (result.yearly.spending - result.yearly.social_security) / (
        result.yearly.inflation_factor
    )
    expected = plan.withdrawal.rate * 1_430_000
    assert from_portfolio.to_numpy() == pytest.approx(expected, abs=CENT)
    _reconciles(result)


# ---------------------------------------------------------------------------------------
# RMDs above spending


def ira_only(people: int, **withdrawal) -> dict:
    """The issue's profile: aged 67 in 2026, $1.2M in one traditional IRA, nothing else,
    spending $20,000 a year (today's dollars); RMDs from 73 (2032) soon exceed it. On mean
    returns, as in the issue: the IRA then outgrows the policy for decades (on the default
    median path it shrinks, and the surplus lasts fewer years)."""
    persons = [{"name": "Pat", "birth_year": 1959}, {"name": "Lee", "birth_year": 1959}]
    return {
        "name": "IRA only",
        "filing_status": "mfj" if people == 2 else "single",
        "start_year": 2026,
        "retirement_year": 2026,
        "horizon_age": 95,
        "people": persons[:people],
        "tier_preset": "sober",
        "return_basis": "mean",
        "profile": {
            "weights": {"conservative": 0.5, "balanced": 0.3, "aggressive": 0.2},
            "reserve_tier": "reserve",
            "reserve_min": 0.1,
            "reserve_max": 0.2,
        },
        "accounts": [
            {
                "name": "ira",
                "kind": "traditional_ira",
                "owner": "Pat",
                "balances": {
                    "conservative": 600_000,
                    "balanced": 360_000,
                    "aggressive": 120_000,
                    "reserve": 120_000,
                },
            }
        ],
        "withdrawal": {"policy": "fixed_amount", "amount": 20_000, **withdrawal},
        "objective": {"kind": "max_estate"},
    }


def _rmds_met(plan, result) -> list[int]:
    """Years an RMD is due (Uniform Lifetime Table, start age by birth year); asserts each
    is met from the ledger's opening balance."""
    due = []
    for row in result.yearly.itertuples():
        owner, kind = plan.owner("ira"), next(a.kind for a in plan.accounts if a.name == "ira")
        required = US.rmd_amount(kind, owner.age_in(row.year), owner.birth_year, row.opening_ira)
        assert row.withdrawal_ira >= required - CENT, row.year
        if required > 0:
            due.append(row.year)
    return due


@pytest.mark.parametrize("people", [2, 1])
@pytest.mark.parametrize("buys", ["always", "contribution_years"])
def test_ira_only_retiree_reinvests_the_rmd_surplus(people, buys):
    """Once the RMD exceeds what spending needs, the surplus after tax goes to the taxable
    account taxopt opens (zero basis): spending stays $20,000 x inflation, the account
    takes withdrawals - tax - spending, and the ledger reconciles. Before the fix: exit 3."""
    data = ira_only(people)
    data["options"] = {"taxable_buys": buys}
    result = optimize(plan_from_dict(data), US, with_baselines=False)
    plan = result.plan
    assert IMPLIED_TAXABLE in result.implied_accounts  # beside a Roth opened to convert into
    assert any(IMPLIED_TAXABLE in note for note in result.notes)
    _reconciles(result)
    due = _rmds_met(plan, result)
    assert due and due[0] == 1959 + 73  # SECURE 2.0: born 1951-1959, RMDs from 73
    yearly = result.yearly.set_index("year")
    inflation = yearly.inflation_factor
    assert yearly.spending.to_numpy() == pytest.approx((20_000 * inflation).to_numpy(), abs=CENT)
    reinvested = yearly[f"contribution_{IMPLIED_TAXABLE}"]
    assert reinvested.sum() > 100_000
    for year, amount in reinvested.items():
        if amount > 0:
            assert year in due
            row = yearly.loc[year]
            assert amount == pytest.approx(row.withdrawals - row.total_tax - row.spending, abs=CENT)


def test_ira_only_retiree_with_rmd_1959_start_age():
    """SECURE 2.0 (IRC §401(a)(9)(C)(v)): born 1951-1959, RMDs start at 73."""
    assert US.rmd.start_age(1959) == 73


@pytest.mark.parametrize("basis", ["net", "gross"])
def test_ira_only_retiree_spends_the_surplus_when_told(basis):
    """rmd_surplus = "spend": no account is opened; years whose RMD exceeds the policy spend
    all of it after tax (withdrawals - tax), never less than the policy."""
    data = ira_only(2, basis=basis, rmd_surplus="spend")
    # Without conversions the RMD must outgrow the policy (with them the optimizer may
    # convert early into a Roth it opens, so that no surplus arises).
    data["options"] = {"roth_conversions": False}
    result = optimize(plan_from_dict(data), US, with_baselines=False)
    _reconciles(result)
    assert IMPLIED_TAXABLE not in result.implied_accounts
    assert (result.yearly.contributions == 0).all()
    _rmds_met(result.plan, result)
    assert (result.spending_check.margin.dropna() >= -CENT).all()
    late = result.yearly[result.yearly.year >= 2045]
    assert (late.spending > 20_000 * late.inflation_factor + 1).all()  # the surplus spent
    assert late.spending.to_numpy() == pytest.approx(
        (late.withdrawals - late.total_tax).to_numpy(), abs=CENT
    )


def test_gross_ira_only_retiree_reinvests_after_the_surplus_tax():
    """Gross basis: the $20,000 withdrawal pays its own tax (calculator, MFJ, ages 67+);
    the RMD surplus pays its own before it is reinvested."""
    result = optimize(plan_from_dict(ira_only(2, basis="gross")), US, with_baselines=False)
    _reconciles(result)
    for row in result.yearly.itertuples():
        amount = 20_000 * row.inflation_factor
        tax = compute_tax(
            US.for_year(row.year, result.plan.inflation),
            TaxInput("mfj", result.plan.ages_in(row.year), ordinary_income=amount, year=row.year),
        ).total_tax
        assert row.spending >= amount - tax - CENT, row.year


# ---------------------------------------------------------------------------------------
# What applies: objective and policy never contradict


def test_a_policy_max_spending_ignores_is_named_in_one_line(tmp_path, capsys):
    """The couple example used to set fixed_real 4% under max_spending and print it as if it
    applied; such a plan now runs with one note naming the fields and what applies."""
    text = (ROOT / "examples" / "couple-near-retirement.toml").read_text()
    text += '\n[withdrawal]\npolicy = "fixed_real"\nrate = 0.04\n'
    path = tmp_path / "couple.toml"
    path.write_text(text)
    out = tmp_path / "result.json"
    assert main(["optimize", str(path), "--no-baselines", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    notes = [line for line in printed.splitlines() if "withdrawal.policy" in line]
    assert len(notes) == 1 and "not used" in notes[0] and str(path) in notes[0]
    assert "spending rule: max_spending" in printed
    data = json.loads(out.read_text())
    assert data["spending_rule"].startswith("max_spending")
    assert "fixed real" not in data["spending_rule"]


def test_plans_that_apply_their_policy_say_which(examples):
    plan, result = examples["retiree-drawing-2.5-percent"]
    rule = f"withdrawal policy: fixed real: {plan.withdrawal.rate:.2%} of the after"
    assert result.spending_rule.startswith(rule)
    assert not result.notes or all("withdrawal.policy" not in n for n in result.notes)
    for name in ("couple-near-retirement", "young-accumulator"):
        assert not [n for n in examples[name][1].notes if "withdrawal" in n]


# ---------------------------------------------------------------------------------------
# Circles of money


def test_no_circles_on_the_examples_but_explained_ones(examples):
    """Every year of every example: no conversion into a Roth drawn the same year, no
    contribution to an account drawn the same year, no Roth money moved to taxable, no
    purchase and sale of a tier, unless netting it costs more than its threshold; a kept
    circle's note says why and what netting it costs. Under the default threshold the
    three examples keep none."""
    for name, (plan, result) in examples.items():
        found = independent_circles(plan, US, result)
        kept = {
            (r.year, r.kind, r.account, r.tier if isinstance(r.tier, str) else None)
            for r in result.circles.itertuples()
        }
        assert found == kept, name
        assert not kept, (name, kept)
        for circle in result.netted_circles.itertuples():
            assert circle.why.startswith("netted at a cost of $"), (name, circle)
        for circle in result.circles.itertuples():
            assert "netting it costs $" in circle.why, (name, circle)
            if circle.kind == "purchase_and_sale":
                # It claims a gain harvest only in a year the ledger realizes a gain.
                gains = result.yearly.set_index("year").at[circle.year, "realized_gains"]
                harvest = "raises the basis" in circle.why
                assert harvest == (gains > 1.0), (name, circle, gains)
                assert harvest or "realizes no taxable gain" in circle.why, (name, circle)


def _smaller_leg(ctx, plan, circle) -> list:
    """The witness's own reading of a circle's smaller leg (the flow netting removes)."""
    v, year = ctx.variables, circle.year
    inflow = circle.money_in <= circle.money_out
    taxed = [a.name for a in plan.accounts if US.account_kinds[a.kind].growth == Growth.TAXED]
    if circle.kind == "purchase_and_sale":
        if inflow:
            return [v["buy"][year, circle.account, circle.tier]]
        return [
            q
            for (y, lot), q in v["sell"].items.items()
            if y == year and lot.startswith(f"{circle.account}_{circle.tier}_")
        ]
    if inflow and circle.kind == "exempt_to_taxable":
        return [v["contribute"][year, a] for a in taxed if (year, a) in v["contribute"]]
    if inflow and circle.kind == "conversion_and_withdrawal":
        return [
            q for (y, _s, t), q in v["convert"].items.items() if t == circle.account and y == year
        ]
    if inflow and circle.kind == "contribution_and_withdrawal":
        return [v["contribute"][year, circle.account]]
    return [v["withdraw"][year, circle.account]]


def _threshold(plan, circle) -> float:
    """max(circle_min_gain, circle_min_gain_share x the smaller leg in today's dollars), in
    the objective's units: under max_spending spread over the spending years."""
    moved = min(circle.money_in, circle.money_out) / (1 + plan.inflation) ** (
        circle.year - plan.start_year
    )
    dollars = max(plan.options.circle_min_gain, plan.options.circle_min_gain_share * moved)
    if plan.objective.kind == "max_spending":
        return dollars / len([y for y in plan.years if y >= plan.retirement_year])
    return dollars


def _witness_costs(result) -> tuple[float, dict]:
    """The exact LP in the final plan's regime with the netted circles' legs forbidden,
    solved here: its objective, and for each kept circle what forbidding its smaller leg
    too costs."""
    plan = result.plan
    regime = regime_from(result.ledger, plan.years)

    def solved(extra=None) -> float:
        ctx = build_model(plan, US, "exact", regime)
        circles = list(result.netted_circles.itertuples()) + ([extra] if extra else [])
        for circle in circles:
            for var in _smaller_leg(ctx, plan, circle):
                var.upBound = 0.0
        return solve(ctx).objective

    base = solved()
    return base, {c: base - solved(c) for c in result.circles.itertuples()}


def test_kept_circles_are_worth_their_threshold_and_netted_ones_were_not(examples):
    """Witness: re-solved here in the final plan's regime. With the netted circles' legs
    forbidden the LP gives the reported objective (the figures are the netted plan's); on
    the couple, with the threshold set to $0 (only circles worth over $1 kept), the
    circles it then keeps are worth more than $1 each, and under the default threshold
    each of them is worth less than its threshold or netted: none is kept."""
    for name, (_plan, result) in examples.items():
        base, _ = _witness_costs(result)
        assert base == pytest.approx(result.objective, abs=0.5), name
    data = tomllib.loads((ROOT / "examples" / "couple-near-retirement.toml").read_text())
    data["options"].update(circle_min_gain=0.0, circle_min_gain_share=0.0)
    plan = plan_from_dict(data)
    loose = optimize(plan, US, with_baselines=False, paths=0)
    assert len(loose.circles) >= 1  # the $1 rule keeps some (the $4/yr Roth to taxable)
    _base, costs = _witness_costs(loose)
    for circle, cost in costs.items():
        assert cost > 1.0 - 0.01, (circle, cost)
    default_plan, default = examples["couple-near-retirement"]
    cheap = [c for c, cost in costs.items() if cost < _threshold(default_plan, c)]
    assert cheap  # the default threshold has something to net on the couple
    kept = {(c.year, c.kind, c.account) for c in default.circles.itertuples()}
    assert not kept & {(c.year, c.kind, c.account) for c in cheap}


def test_flow_tie_break_costs_the_examples_less_than_a_dollar(examples, monkeypatch):
    """The same regime LP with and without the flow tie-break: the objective without its
    own tie-break term differs by under $1 (objective units: $, or $/yr under max_spending)."""
    for name, (plan, result) in examples.items():
        regime = regime_from(result.ledger, plan.years)
        with_break = build_model(result.plan, US, "exact", regime)
        report = solve(with_break)
        flows = sum(
            c * (v.varValue or 0.0)
            for v, c in objective_module.gross_flow_terms(with_break).items()
        )
        sign = -1 if plan.objective.kind == "min_tax" else 1
        true_with = report.objective + sign * objective_module.FLOW_TIE_BREAK * flows
        monkeypatch.setattr(objective_module, "FLOW_TIE_BREAK", 0.0)
        without = solve(build_model(result.plan, US, "exact", regime)).objective
        monkeypatch.undo()
        assert abs(true_with - without) < 1.0, (name, true_with, without)


def test_reported_conversions_are_real(examples):
    """No converted dollar comes back out of the Roth the same year."""
    for _name, (_plan, result) in examples.items():
        d = result.decisions
        for (_source, target, year), amount in d.conversions.items():
            if amount >= 1:
                assert d.withdrawal(target, year) < 1, (target, year)


# ---------------------------------------------------------------------------------------
# Infeasible plans explain themselves


def roth_only(**overrides) -> dict:
    """$100,000 in a Roth, no growth, no inflation, no tax: six years, 2026-2031."""
    data = one_person(
        name="roth only",
        horizon_age=70,
        inflation=0.0,
        tiers=[{"name": "index", "expected_return": 0.0}],
        accounts=[
            {"name": "roth", "kind": "roth_ira", "owner": "Ann", "balances": {"index": 100_000}}
        ],
        withdrawal={"policy": "fixed_amount", "amount": 25_000},
        objective={"kind": "max_estate"},
        options={"roth_conversions": False},
    )
    data.update(overrides)
    return data


def test_infeasible_spending_names_it_and_the_highest_to_the_dollar():
    """Six equal untaxed draws from $100,000: at most $16,666.67 a year; the diagnosis
    reports $16,666 (resolved to $1, feasible), and $16,667 is not feasible."""
    with pytest.raises(InfeasiblePlanError) as caught:
        optimize(plan_from_dict(roth_only()), US, with_baselines=False)
    assert "withdrawal.amount" in str(caught.value) and "after-tax spending" in str(caught.value)
    closest = caught.value.closest_feasible["withdrawal_amount"]
    assert closest == math.floor(100_000 / 6)
    enough = {"policy": "fixed_amount", "amount": closest}
    optimize(plan_from_dict(roth_only(withdrawal=enough)), US, with_baselines=False)
    with pytest.raises(InfeasiblePlanError):
        too_much = {"policy": "fixed_amount", "amount": closest + 1}
        optimize(plan_from_dict(roth_only(withdrawal=too_much)), US, with_baselines=False)


def test_infeasible_fixed_contribution_names_it_and_the_limit():
    """A fixed $10,000 a year into a Roth IRA: the 2026 IRA limit is $7,500 under 50 (IRS
    Notice 2025-67; no inflation, so every year), which the diagnosis reports exactly."""
    data = roth_only(
        people=[{"name": "Ann", "birth_year": 1986}],
        retirement_year=2029,
        horizon_age=50,
        earnings=[{"person": "Ann", "annual": 90_000}],
        contributions={"annual": 12_000, "fixed": [{"account": "roth", "annual": 10_000}]},
        withdrawal={"policy": "fixed_amount", "amount": 0},
    )
    with pytest.raises(InfeasiblePlanError) as caught:
        optimize(plan_from_dict(data), US, with_baselines=False)
    assert "contributions.fixed[0].annual" in str(caught.value)
    assert caught.value.closest_feasible["contributions_fixed_0_annual"] == 7_500


def test_gross_example_summary_states_the_basis(tmp_path):
    data = tomllib.loads((ROOT / "examples" / "retiree-drawing-2.5-percent.toml").read_text())
    data["withdrawal"]["basis"] = "gross"
    data["horizon_age"] = 80
    result = optimize(plan_from_dict(data), US, with_baselines=False)
    assert "(gross: withdrawals before income tax)" in result.spending_rule
    _reconciles(result)
    assert (result.spending_check.margin.dropna() >= -CENT).all()
    assert result.to_dict()["withdrawal_basis"] == "gross"


def test_the_workbook_and_the_stress_test_show_the_implied_account(tmp_path):
    """The account taxopt opened is a column of the workbook's yearly plan (its
    contributions are the reinvested surplus) and the simulator replays it."""
    from openpyxl import load_workbook

    from taxopt import simulate

    result = optimize(plan_from_dict(ira_only(2)), US, with_baselines=False)
    path = result.to_excel(tmp_path / "plan.xlsx")
    book = load_workbook(path)
    label = "Taxable brokerage account (to open for surplus RMDs)"
    headers = {c.value for row in book["Ledger"].iter_rows() for c in row}
    assert f"Contribution to {label} (nominal $)" in headers
    assert f"Closing balance {label} (nominal $)" in headers
    assert IMPLIED_TAXABLE in result.implied_accounts
    assert any(
        str(c.value).startswith(f"{label}: the plan opens this account")
        for row in book["Inputs"].iter_rows()
        for c in row
    )
    sim = simulate(result, paths=4, seed=1)
    assert sim.success_rate >= 0.0


def test_rules_of_thumb_reinvest_income_surplus_only_where_the_plan_may():
    """Income above the spending level (Social Security after the portfolio is spent) goes
    where the optimizer may put it too (taxopt.plan.surplus_years), so a rule of thumb never
    keeps an estate the plan could not; with taxable_buys = "contribution_years" it is spent
    and a note says so, with "always" it is reinvested by both."""
    plan = load_plan(ROOT / "examples" / "young-accumulator.toml")
    spent = optimize(plan, US, mode="fast", paths=0)
    for name, figures in spent.baselines.items():
        assert figures.sustainable_spending <= spent.figures.sustainable_spending + 1.0, name
        assert figures.after_tax_estate <= spent.figures.after_tax_estate + 1.0, name
    [note] = [n for n in spent.notes if "income above the spending level is spent" in n]
    assert 'taxable_buys = "always"' in note

    options = plan.options.model_copy(update={"taxable_buys": "always"})
    # Exact mode (the plan's own): fast mode's approximate taxes spend about $300 a year of it.
    kept = optimize(plan.model_copy(update={"options": options}), US, paths=0)
    assert not [n for n in kept.notes if "income above the spending level" in n]
    # $14,000+ a year of Social Security above spending for 20+ years, invested.
    assert kept.figures.after_tax_estate > 100_000
    for name, figures in kept.baselines.items():
        assert figures.after_tax_estate <= kept.figures.after_tax_estate + 1.0, name
