"""The optimizer in the states whose law has income tests, kind limits, a recapture or a
local overlay: New York (+ New York City), New Jersey, Georgia and Colorado.

Second witness: the ledger, which charges the state calculator's tax (taxopt.state_tax) on
the plan's own figures. Exact mode must agree with it within a dollar every year, on plans
generated to cross each state's age and income edges; the edges themselves are checked
against hand-worked figures from the rule files' published tables.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_state_plans import SPENDER
from test_state_tax_properties import STATES, households

from taxopt import load_plan, load_rules, optimize
from taxopt.model import build_model
from taxopt.model.state_taxes import relief_bound
from taxopt.plan import plan_from_dict
from taxopt.state_rules import find_state_rules, state_rules_for
from taxopt.state_tax import (
    OrdinaryParts,
    compute_state_tax,
    convex_floor,
    plan_state_tax_arrays,
    recapture_pieces,
    recaptured_benefit,
    state_input,
)
from taxopt.tax import compute_tax, compute_tax_arrays

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
US = load_rules("us-federal-2026")


def generated_plan(
    state: str,
    *,
    birth_years: tuple[int, ...],
    years: int = 8,
    ira: float = 900_000,
    brokerage: float = 300_000,
    pension: float = 0.0,
    wages: float = 0.0,
    social_security: float = 0.0,
    social_security_age: int = 62,
    bequest: float = 300_000,
) -> object:
    """A retiree household generated for one state's edges: ages straddle the state's
    retirement ages over `years`, with optional pension, wages (part-time work of the
    first person, through the plan's first years) and Social Security."""
    names = ["Ann", "Bob"][: len(birth_years)]
    start = 2026
    data: dict = {
        "name": f"{state} generated",
        "filing_status": "mfj" if len(birth_years) == 2 else "single",
        "start_year": start,
        "retirement_year": start,
        "horizon_age": start + years - 1 - birth_years[0],
        "inflation": 0.025,
        "tier_preset": "sober",
        "people": [{"name": n, "birth_year": b} for n, b in zip(names, birth_years, strict=True)],
        "profile": {"weights": {"conservative": 1.0}, "tolerance": 0.02},
        "objective": {"kind": "max_spending", "heir_tax_rate": 0.2, "bequest_floor": bequest},
        "options": {"mode": "exact"},
        "accounts": [
            {
                "name": "ira",
                "kind": "traditional_ira",
                "owner": names[0],
                "balances": {"conservative": ira},
            },
            {
                "name": "brokerage",
                "kind": "taxable",
                "balances": {"conservative": brokerage},
                "basis": {"conservative": brokerage * 0.6},
            },
        ],
        "income": [],
        "state": state,
    }
    if pension:
        data["income"].append(
            {
                "name": "pension",
                "kind": "pension",
                "owner": names[0],
                "start_year": start,
                "annual": pension,
            }  # fmt: skip
        )
    if social_security:
        data["income"].append(
            {
                "name": "ss",
                "kind": "social_security",
                "owner": names[0],
                "start_age": social_security_age,
                "annual": social_security,
            }  # fmt: skip
        )
    if wages:
        data["retirement_year"] = start + 2
        data["earnings"] = [{"person": names[0], "annual": wages}]
    return plan_from_dict(data)


# Each state's plans cross its edges: New York's pension and annuity exclusion from 60
# (Tax Law §612(c)(3-a)); New Jersey's exclusion tiers and cliff on gross income (N.J.S.A.
# 54A:6-10(b)); Georgia's exclusion at 62-64 and 65+ with earned income limited to 5,000 a
# person (O.C.G.A. §48-7-27(a)(5)); Colorado's Social Security at 55-64 under the AGI limit
# and the pension/annuity subtraction by age (C.R.S. 39-22-104(4)(f)).
PLANS = {
    "ny": dict(birth_years=(1967,), pension=15_000),
    "ny-nyc": dict(birth_years=(1964, 1966), ira=1_500_000, social_security=30_000),
    "nj": dict(birth_years=(1963, 1962), pension=50_000, ira=500_000),
    "ga": dict(birth_years=(1964,), wages=20_000, pension=10_000),
    "co": dict(birth_years=(1965, 1961), social_security=24_000, pension=12_000),
}


@pytest.fixture(scope="module", params=sorted(PLANS))
def exact_run(request):
    state = request.param
    plan = generated_plan(state, **PLANS[state])
    return state, optimize(plan, US, with_baselines=False, paths=0)


def test_exact_mode_agrees_with_the_ledger_every_year(exact_run):
    """The model's tax (federal + state) is the ledger's within a dollar in every year, and
    its own state-tax column is the ledger's state tax: a kink priced wrong fails here."""
    state, result = exact_run
    assert result.status == "optimal"
    errors = result.reconciliation.filter(like="_error").abs()
    assert errors.max().max() < 1.0, (state, errors.max())
    yearly = result.yearly.set_index("year")
    model_tax = result.reconciliation.set_index("year")["model_tax"]
    assert list(model_tax - yearly["federal_tax"]) == pytest.approx(
        list(yearly["state_tax"]), abs=1.0
    )
    assert yearly["state_tax"].sum() > 100, state  # each plan pays some state tax


def test_the_plans_reach_the_states_exclusions(exact_run):
    """Each generated plan uses its state's retirement subtraction in some year (the
    ledger's state result), so the agreement above covers it."""
    state, result = exact_run
    plan = result.plan
    from taxopt.ledger import replay

    ledger = replay(plan, US, result.decisions)
    names = {
        "ny": "pension_and_annuity_exclusion",
        "ny-nyc": "pension_and_annuity_exclusion",
        "nj": "pension_exclusion",
        "ga": "retirement_income_exclusion",
        "co": "pension_annuity",
    }
    used = [float(r.subtractions[names[state]]) for r in ledger.state_results]
    assert max(used) > 1000, (state, used)


def test_the_exact_model_has_the_states_kinks_as_regime_binaries():
    """New Jersey's tiers, Colorado's AGI limit and New York's recapture pieces are regime
    binaries of the exact model (a MILP's variables until the regime search fixes them);
    the fast model has none of them."""
    prefixes = {
        "nj": "state_pension_exclusion_",
        "co": "state_social_security_55_64_",
        "ny": "state_recapture_",
    }
    for state, prefix in prefixes.items():
        plan = generated_plan(state, **PLANS[state])
        exact = build_model(plan, US, "exact")
        fast = build_model(plan, US, "fast")
        assert any(name.startswith(prefix) for name, _y, _r in exact.regimes), state
        assert not any(name.startswith(prefix) for name, _y, _r in fast.regimes), state


def test_new_york_recapture_pieces_are_the_calculators_function():
    """The pieces the model uses reproduce the calculator's recapture at every income,
    and one is worked by hand: joint, NY AGI 157,650 (fully phased in, taxable income
    141,600 in the 5.4% bracket): all taxable income below 27,900 is taxed at 5.4%, so the
    recapture is 0.054 x 27,900 - (17,150 x 3.9% + 6,450 x 4.4% + 4,300 x 5.15%) = 332.50
    (Tax Law §601(d-1); §601(a) 2026 rates)."""
    rules = find_state_rules("ny", 2026)
    for status in ("mfj", "single"):
        deduction = rules.deductions[0].amount[status]
        pieces = recapture_pieces(rules, status, deduction)
        schedule = rules.brackets.schedules[status]
        start = rules.brackets.recapture.start[status]
        for m in [0, 50_000, 107_650, 120_000, 157_650, 200_000, 330_000, 1e6, 2.2e6, 3e7]:
            piece = next(p for p in pieces if p.upper is None or m <= p.upper)
            taxable = max(0.0, m - deduction)
            expected = float(recaptured_benefit(schedule, taxable, m, start, 50_000))
            assert piece.slope * m + piece.intercept == pytest.approx(expected, abs=1e-6)
        # The convex floor the relaxation uses is below the recapture everywhere.
        floor = convex_floor(pieces, 3e7)
        for m in np.linspace(0.0, 3e7, 20_001):
            piece = next(p for p in pieces if p.upper is None or m <= p.upper)
            assert max(a * m + b for a, b in floor) <= piece.slope * m + piece.intercept + 1e-6
        assert max(a * 160_000 + b for a, b in floor) > 0  # and not the trivial R >= 0
    mfj = recapture_pieces(rules, "mfj", 16_050)
    full = next(p for p in mfj if 157_650 <= (p.upper or 1e12))
    assert full.slope * 157_650 + full.intercept == pytest.approx(332.50, abs=0.005)


NJ_TIERS = dict(birth_years=(1960, 1960), pension=60_000, ira=500_000, brokerage=50_000,
                bequest=200_000)  # fmt: skip
NJ_EDGES = (100_000, 125_000, 150_000)


def test_new_jersey_income_stops_at_the_exclusion_tiers():
    """A joint couple of 66 with a 60,000 pension and an IRA: New Jersey excludes their
    pension and IRA income in full (to 100,000) at gross income up to 100,000, half of it
    to 125,000, a quarter to 150,000 and none above (N.J.S.A. 54A:6-10(b); NJ-1040 line
    28a). A dollar past 125,000 with about 120,000 of pension and IRA income loses
    (50% - 25%) x 120,000 = 30,000 of exclusion, about 1,650 of tax at 5.525%, so exact
    mode holds gross income at an edge or well past it, never just above one; and fast
    mode (the first tier at every income) says so in a note."""
    plan = generated_plan("nj", **NJ_TIERS)
    exact = optimize(plan, US, with_baselines=False, paths=0)
    assert exact.reconciliation.filter(like="_error").abs().max().max() < 1.0
    from taxopt.ledger import replay

    ledger = replay(exact.plan, US, exact.decisions)
    gross = [float(r.state_income) for r in ledger.state_results]
    just_above = [g for g in gross for edge in NJ_EDGES if edge + 0.5 < g < edge + 5_000]
    assert just_above == [], gross
    at_edge = [g for g in gross if min(abs(g - edge) for edge in NJ_EDGES) < 1.0]
    assert len(at_edge) >= 3, gross
    fast = optimize(plan, US, mode="fast", with_baselines=False, paths=0)
    assert any("fast mode" in n and "New Jersey" in n for n in fast.notes), fast.notes


def test_fast_mode_says_how_it_approximates_the_state():
    for state in ("ny", "co"):
        plan = generated_plan(state, **PLANS[state])
        result = optimize(plan, US, mode="fast", with_baselines=False, paths=0)
        notes = [n for n in result.notes if n.startswith("state: fast mode")]
        assert len(notes) == 1, result.notes
        word = {"ny": "recapture", "co": "social_security_55_64"}[state]
        assert word in notes[0]


def test_new_york_city_couple_reconciles_in_the_recapture_band():
    """The example couple in New York City: the years before retirement put New York AGI
    inside the supplemental tax's bands (above 107,650) and the city's schedule on top;
    exact mode still agrees with the ledger within a dollar."""
    plan = load_plan(EXAMPLES / "couple-near-retirement.toml").with_state("ny-nyc")
    result = optimize(plan, US, with_baselines=False, paths=0)
    assert result.reconciliation.filter(like="_error").abs().max().max() < 1.0
    from taxopt.ledger import replay

    ledger = replay(result.plan, US, result.decisions)
    agi = [float(r.state_agi) for r in ledger.state_results]
    assert any(a > 107_650 for a in agi)
    assert all(float(r.local_tax) >= 0 for r in ledger.state_results)
    assert sum(float(r.local_tax) for r in ledger.state_results) > 1000


@pytest.mark.parametrize("state", ["ca", "ny"])
def test_rules_of_thumb_pay_the_states_tax(state):
    """The rules of thumb (taxopt.baselines) walk the plan paying federal and state tax:
    the engine's own figures are the ledger's to the cent with a state, and the level
    they can spend falls by about the state's tax (within 15% of its mean a year, today's
    dollars: the rest is the tax no longer compounding). Before, the engine paid federal
    tax only and the ledger's spending fell short of the engine's level."""
    import tomllib

    from taxopt.baselines import run_baselines

    data = tomllib.loads(SPENDER)  # Sam, 66, max_spending; a larger IRA, planned fast
    data["accounts"][0]["balances"]["conservative"] = 1_200_000
    data["options"]["mode"] = "fast"
    plan = plan_from_dict(data)
    optimized = optimize(plan, US, with_baselines=False, paths=0)
    without = run_baselines(plan, US, optimized)
    with_state = run_baselines(plan.with_state(state), US, optimized)
    for name, run in with_state.items():
        engine = run.run.yearly.set_index("year")
        book = run.ledger.yearly.set_index("year")
        for column in ("total_tax", "spending"):
            assert (engine[column] - book[column]).abs().max() < 0.01, (name, column)
        yearly = run.ledger.yearly
        state_tax = float((yearly["state_tax"] / yearly["inflation_factor"]).mean())
        drop = without[name].run.level_real - run.run.level_real
        assert state_tax > 500
        assert drop == pytest.approx(state_tax, rel=0.15), (name, drop, state_tax)


def test_compare_across_states_measures_each_state_against_the_first():
    """`compare --state ca --state pa`: the differences and the largest location shift of
    the Pennsylvania row are measured against the same plan in California (the first
    state), re-derived here from the two results' own figures and location shares; the
    California row is its own reference (all zero, no shift)."""
    from taxopt.compare import compare, location_shares, render_table

    comparison = compare(
        EXAMPLES / "couple-near-retirement.toml", US, mode="fast", processes=1, states=["ca", "pa"]
    )
    ca_label, pa_label = comparison.plans
    table = comparison.table.set_index("plan")
    assert table.loc[pa_label, "versus"] == f"{ca_label} / {comparison.rule_sets[0]}"
    ca = comparison.results[ca_label, comparison.rule_sets[0]]
    pa = comparison.results[pa_label, comparison.rule_sets[0]]
    assert table.loc[pa_label, "lifetime_tax_vs_first"] == pytest.approx(
        pa.figures.lifetime_tax - ca.figures.lifetime_tax
    )
    assert table.loc[ca_label, "lifetime_tax_vs_first"] == 0.0
    for label, result in ((ca_label, ca), (pa_label, pa)):
        y = result.yearly
        real = (y["roth_conversions"] / y["inflation_factor"]).sum()
        assert table.loc[label, "lifetime_conversions"] == pytest.approx(real)
    assert table.loc[ca_label, "largest_shift"] == "none"
    a, b = location_shares(ca), location_shares(pa)

    def held(shares: dict, key: str) -> float:  # a fraction of the portfolio (nan: none)
        tier = key.removeprefix("share_").rsplit("_in_", 1)[0]
        value = shares[key] * shares[f"weight_{tier}"]
        return 0.0 if math.isnan(value) else value

    moves = {key: held(b, key) - held(a, key) for key in a if key.startswith("share_")}
    biggest = max(moves.values(), key=abs)
    assert abs(biggest) > 0.001  # the two states place the tiers differently
    assert table.loc[pa_label, "largest_shift_points"] == pytest.approx(biggest)
    assert "the same plan in the first state" in render_table(comparison)


# -- properties of what the model and the simulator read from the calculator ---------------


@settings(max_examples=150, deadline=None)
@given(households())
def test_a_tax_caps_relief_never_exceeds_the_models_bound(household):
    """The model bounds Massachusetts' no-tax status and limited income credit by
    `relief_bound`; the calculator's relief is never above it (a bound too tight would
    make exact mode mis-state the tax), on the incomes the model has: it realizes no
    short-term gains (taxed at Massachusetts' 8.5% flat rate, the bound would not hold)."""
    state = STATES["us-ma-2025"]
    household = household.with_more("short_term_gains", -household.amounts["short_term_gains"])
    income, parts = household.federal()
    result = compute_state_tax(
        state, state_input(income, compute_tax(US.for_year(2026, 0.025), income), parts)
    )
    for cap in state.tax_caps:
        bound = relief_bound(state, cap, household.status, household.ages)
        assert float(result.reliefs[cap.name]) <= bound + 1e-6


@settings(max_examples=60, deadline=None)
@given(st.lists(households(), min_size=2, max_size=4), st.sampled_from(sorted(STATES)))
def test_the_simulators_state_tax_is_the_calculators_per_path(group, name):
    """The simulator's state tax over arrays (one element per path) is the scalar
    calculator's for each path: the paths share status and ages, so they share the
    first household's."""
    first = group[0]
    rules = US.for_year(2026, 0.025)
    paths = [
        type(first)(first.status, first.ages, h.amounts) for h in group
    ]  # the same people, each path's own incomes
    inputs = [p.federal() for p in paths]
    fields = ("ordinary_income", "investment_ordinary_income", "qualified_dividends", "ltcg",
              "social_security")  # fmt: skip
    income = {f: np.array([getattr(i, f) for i, _ in inputs]) for f in fields}
    federal = compute_tax_arrays(rules, first.status, first.ages, year=2026, **income)
    parts = OrdinaryParts(
        ira_distributions=np.array([p.ira_distributions for _, p in inputs]),
        pension_income=np.array([p.pension_income for _, p in inputs]),
    )
    state = STATES[name]
    arrays = plan_state_tax_arrays(
        str(state.meta.states[0]).lower(), 2026, 0.025, first.status, first.ages, income,
        federal, parts,
    )  # fmt: skip
    for k, (tax_input, path_parts) in enumerate(inputs):
        scalar_parts = OrdinaryParts(path_parts.ira_distributions, path_parts.pension_income)
        one = compute_state_tax(
            state_rules_for(str(state.meta.states[0]).lower(), 2026, 0.025),
            state_input(tax_input, compute_tax(rules, tax_input), scalar_parts),
        )
        assert float(np.asarray(arrays)[k]) == pytest.approx(float(one.total_tax), abs=1e-6)


CO_CLIFF = dict(birth_years=(1966, 1966), social_security=30_000, ira=600_000,
                brokerage=50_000, bequest=200_000, years=6)  # fmt: skip
CO_LIMIT_MFJ = 95_000  # C.R.S. 39-22-104(4)(f) as amended by HB24-1142, joint filers


def test_colorado_holds_agi_at_the_social_security_limit():
    """A joint couple of 60-65 drawing Social Security from 62: at 55-64 Colorado subtracts
    the taxable benefits only while federal AGI is at most 95,000 (a cliff). A dollar
    past it adds about 26,800 of taxable benefits x 4.4% = 1,180 of Colorado tax, so exact
    mode holds AGI at the limit in some years and never just above it; in those years the
    ledger's Colorado return subtracts the benefits."""
    plan = generated_plan("co", **CO_CLIFF)
    result = optimize(plan, US, with_baselines=False, paths=0)
    assert result.reconciliation.filter(like="_error").abs().max().max() < 1.0
    from taxopt.ledger import replay

    ledger = replay(result.plan, US, result.decisions)
    agi = [float(t.agi) for t in ledger.taxes]
    assert not [a for a in agi if CO_LIMIT_MFJ + 0.5 < a < CO_LIMIT_MFJ + 2_000], agi
    at_limit = [i for i, a in enumerate(agi) if abs(a - CO_LIMIT_MFJ) < 1.0]
    assert at_limit, agi
    for i in at_limit:
        taxable_benefits = float(ledger.taxes[i].taxable_social_security)
        subtracted = float(ledger.state_results[i].subtractions["social_security_55_64"])
        assert taxable_benefits > 10_000
        assert subtracted == pytest.approx(taxable_benefits)
