"""Invariants of the state tax calculator on random households (hypothesis).

Each household goes through the federal calculator (us-federal-2026) and then a state
file indexed to 2026. Properties: the state tax is never negative, never more than the
top combined rate on all income, and never falls when any one income component rises.

Monotone holds in every shipped state, cliffs included: a cliff (New Jersey's pension
exclusion above 150,000 of total income, Illinois' exemption above the AGI limit,
Colorado's Social Security subtraction at 55-64 above the AGI limit, California's
stepped credit phase-out) makes the tax jump up, so what is NOT monotone there is income
after tax: one more dollar can cost more than a dollar (tests/test_state_tax.py,
test_nj_cliff_raises_tax_by_more_than_the_extra_dollar, and the check below).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from hypothesis import given, settings
from hypothesis import strategies as st

from taxopt.rules import load_rules
from taxopt.state_rules import StateRuleSet, load_state_rules, state_rule_files
from taxopt.state_tax import OrdinaryParts, state_tax_of
from taxopt.tax import TaxInput

FEDERAL = load_rules("us-federal-2026")
STATES = {path.stem: load_state_rules(path).for_year(2026, 0.025) for path in state_rule_files()}
COMPONENTS = (
    "wages", "interest", "ira_distributions", "pension_income", "short_term_gains",
    "qualified_dividends", "ltcg", "social_security",
)  # fmt: skip
EPS = 1e-6


@dataclass(frozen=True)
class Household:
    status: str
    ages: tuple[int, ...]
    amounts: dict[str, float]

    def federal(self) -> tuple[TaxInput, OrdinaryParts]:
        a = self.amounts
        ordinary = a["wages"] + a["interest"] + a["ira_distributions"] + a["pension_income"]
        ordinary += a["short_term_gains"]
        income = TaxInput(
            filing_status=self.status,
            ages=self.ages,
            ordinary_income=ordinary,
            investment_ordinary_income=a["interest"] + a["short_term_gains"],
            qualified_dividends=a["qualified_dividends"],
            ltcg=a["ltcg"],
            social_security=a["social_security"],
            year=2026,
        )
        parts = OrdinaryParts(
            ira_distributions=a["ira_distributions"],
            pension_income=a["pension_income"],
            short_term_gains=a["short_term_gains"],
        )
        return income, parts

    def tax(self, state: StateRuleSet) -> float:
        income, parts = self.federal()
        return float(state_tax_of(FEDERAL, state, income, parts).total_tax)

    def with_more(self, component: str, extra: float) -> Household:
        amounts = dict(self.amounts)
        amounts[component] += extra
        return replace(self, amounts=amounts)


def _money(high: int) -> st.SearchStrategy[float]:
    return st.one_of(st.just(0.0), st.integers(0, high).map(float))


@st.composite
def households(draw: st.DrawFn) -> Household:
    status = draw(st.sampled_from(["single", "mfj"]))
    people = 2 if status == "mfj" else 1
    ages = tuple(draw(st.integers(18, 95)) for _ in range(people))
    amounts = {name: draw(_money(400_000)) for name in COMPONENTS}
    amounts["social_security"] = draw(_money(90_000))
    return Household(status=status, ages=ages, amounts=amounts)


def _top_rate(state: StateRuleSet) -> float:
    rates = [max(s.rates) for s in state.brackets.schedules.values()]
    rates += [f.rate for f in state.flat_rates]
    local = max((max(s.rates) for s in state.local.schedules.values()), default=0.0) if (
        state.local is not None
    ) else 0.0  # a local overlay (New York City) taxes the state's taxable income again
    return max(rates) + sum(s.rate for s in state.surtaxes) + local


@settings(max_examples=120, deadline=None)
@given(households(), st.sampled_from(sorted(STATES)))
def test_state_tax_is_never_negative_nor_above_the_top_rate(
    household: Household, name: str
) -> None:
    state = STATES[name]
    value = household.tax(state)
    income = sum(household.amounts.values())
    assert -EPS <= value <= _top_rate(state) * income + EPS


@settings(max_examples=150, deadline=None)
@given(
    households(),
    st.sampled_from(sorted(STATES)),
    st.sampled_from(COMPONENTS),
    st.sampled_from([1.0, 100.0, 2_500.0, 25_000.0]),
)
def test_state_tax_never_falls_when_income_rises(
    household: Household, name: str, component: str, extra: float
) -> None:
    state = STATES[name]
    before = household.tax(state)
    after = household.with_more(component, extra).tax(state)
    assert after >= before - EPS, (name, component, before, after)


def test_after_tax_income_is_not_monotone_at_the_new_jersey_cliff() -> None:
    # Couple 65/65 with 100,000 of pension: total income 150,000 keeps a quarter of the
    # exclusion; 150,001 loses it all (N.J.S.A. 54A:6-10), so the last dollar costs more
    # than 1,000 of New Jersey tax.
    amounts = dict.fromkeys(COMPONENTS, 0.0)
    amounts.update(pension_income=100_000, wages=50_000)
    below = Household("mfj", (65, 65), amounts)
    above = below.with_more("wages", 1.0)
    nj = STATES["us-nj-2026"]
    assert above.tax(nj) - below.tax(nj) > 1_000
