"""Invariants of the tax calculator, checked on random households (hypothesis).

Run against us-federal-2025 and us-federal-2026, each also indexed up to five years ahead
(which crosses the end of the senior deduction after 2028).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from taxopt.rules import RuleSet, load_rules
from taxopt.tax import TaxInput, compute_tax, marginal_rates

RULE_SETS = {name: load_rules(name) for name in ("us-federal-2025", "us-federal-2026")}
INCOME_KINDS = ("ordinary_income", "qualified_dividends", "ltcg", "social_security")
# Float noise allowance for sums of up to a few million dollars.
EPS = 1e-6


@dataclass(frozen=True)
class Case:
    rules: RuleSet
    income: TaxInput


def _money(high: float) -> st.SearchStrategy[float]:
    # Mostly whole dollars around the thresholds that matter, sometimes cents.
    return st.one_of(
        st.integers(0, int(high)).map(float),
        st.floats(0, high, allow_nan=False, allow_infinity=False),
    )


@st.composite
def cases(draw: st.DrawFn) -> Case:
    base = RULE_SETS[draw(st.sampled_from(sorted(RULE_SETS)))]
    year = base.year + draw(st.integers(0, 5))
    inflation = draw(st.sampled_from([0.0, 0.025, 0.05]))
    status = draw(st.sampled_from(base.meta.filing_statuses))
    people = 2 if status == "mfj" else 1
    ages = tuple(draw(st.integers(18, 100)) for _ in range(people))
    ordinary = draw(_money(900_000))
    income = TaxInput(
        filing_status=status,
        ages=ages,
        ordinary_income=ordinary,
        investment_ordinary_income=ordinary * draw(st.floats(0, 1)),
        qualified_dividends=draw(_money(300_000)),
        ltcg=draw(_money(900_000)),
        social_security=draw(_money(120_000)),
        early_distributions=ordinary * draw(st.sampled_from([0.0, 0.0, 0.5])),
        year=year,
    )
    return Case(rules=base.for_year(year, inflation), income=income)


def marginal_ordinary_bound(rules: RuleSet) -> float:
    """Largest possible extra total tax per extra dollar of ordinary income.

    One more dollar raises provisional income by 1, so taxable benefits by at most
    `rate2` (0.85): income rises by at most 1 + rate2. Each per-person phase-out shrinks
    deductions by at most people x rate per dollar of MAGI (2 x 6% for the US senior
    deduction), so taxable income rises by at most (1 + rate2)(1 + 2 x rate). Each such
    dollar costs at most the top ordinary rate on itself plus the top preferential rate on
    the gain dollar it pushes up the stack. Surtaxes add their rate on the MAGI rise.
    US: 1.85 x 1.12 x (0.37 + 0.20) + 1.85 x 0.038 = 1.2513.
    """
    bt = rules.benefit_taxation
    benefit_gain = 1.0 + (bt.rate2 if bt is not None else 0.0)
    phaseout = max((d.phaseout.rate for d in rules.deductions if d.phaseout), default=0.0)
    top_ordinary = max(max(s.rates) for s in rules.ordinary.brackets.values())
    top_pref = max_preferential_rate(rules)
    surtax = sum(s.rate for s in rules.surtaxes)
    return benefit_gain * (1 + 2 * phaseout) * (top_ordinary + top_pref) + benefit_gain * surtax


def max_preferential_rate(rules: RuleSet) -> float:
    return max((max(s.rates) for p in rules.preferential for s in p.brackets.values()), default=0.0)


def test_marginal_bound_is_the_worked_figure() -> None:
    for rules in RULE_SETS.values():
        assert marginal_ordinary_bound(rules) == pytest.approx(1.85 * 1.12 * 0.57 + 1.85 * 0.038)


@settings(max_examples=300, deadline=None)
@given(
    case=cases(),
    kind=st.sampled_from(INCOME_KINDS),
    extra=st.one_of(st.floats(0.01, 50_000), st.sampled_from([1.0, 100.0, 10_000.0])),
)
def test_total_tax_never_falls_when_an_income_rises(case: Case, kind: str, extra: float) -> None:
    before = compute_tax(case.rules, case.income).total_tax
    richer = replace(case.income, **{kind: getattr(case.income, kind) + extra})
    after = compute_tax(case.rules, richer).total_tax
    assert after >= before - EPS


@settings(max_examples=200, deadline=None)
@given(case=cases())
def test_marginal_ordinary_rate_is_bounded(case: Case) -> None:
    rate = marginal_rates(case.rules, case.income)["ordinary_income"]
    assert -EPS <= rate <= marginal_ordinary_bound(case.rules) + EPS


@settings(max_examples=300, deadline=None)
@given(case=cases())
def test_result_is_internally_consistent(case: Case) -> None:
    r = compute_tax(case.rules, case.income)
    income = case.income
    # taxable income lies between 0 and AGI
    assert 0 <= r.taxable_income <= r.agi + EPS
    # preferential income is at most the dividends and gains, and its tax at most the
    # top preferential rate on it
    assert r.preferential_taxable_income <= income.qualified_dividends + r.included_gains + EPS
    assert -EPS <= r.capital_gains_tax
    assert r.capital_gains_tax <= (
        max_preferential_rate(case.rules) * r.preferential_taxable_income + EPS
    )
    # components sum to the total
    parts = r.ordinary_tax + r.capital_gains_tax - r.credits + r.niit + r.early_withdrawal_penalty
    assert r.total_tax == pytest.approx(parts, abs=EPS)
    # IRC §86: at most 85% of benefits; IRC §1411: at most 3.8% of net investment income
    assert r.taxable_social_security <= 0.85 * income.social_security + EPS
    nii = income.investment_ordinary_income + income.qualified_dividends + r.included_gains
    assert r.niit <= 0.038 * nii + EPS
    assert r.total_deductions == pytest.approx(sum(r.deductions.values()))
    assert all(amount >= 0 for amount in r.deductions.values())
