"""The household plan file: people, accounts, tiers, profile, contributions, policy.

Validated once here (pydantic v2); code downstream trusts it. Conventions: calendar years;
amounts in today's dollars (the plan's `start_year`) unless a field says nominal; rates and
weights are fractions (0.04, not 4).
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Annotated, Literal

import numpy as np
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from taxopt.errors import InputError, explain_validation_error, printable
from taxopt.io import read_text
from taxopt.rules import Growth, RuleSet

WEIGHT_TOLERANCE = 1e-6
# Every amount in a plan is at most this (today's dollars): beyond it the figures mean
# nothing for a household and the solver's arithmetic loses its precision.
MAX_DOLLARS = 1e10
MIN_YEAR, MAX_YEAR = 1900, 2300

Year = Annotated[int, Field(ge=MIN_YEAR, le=MAX_YEAR)]
PLAN_FORMATS = {".toml": "TOML", ".json": "JSON"}

ReturnBasis = Literal["median", "mean"]


def lognormal_log_moments(mean, sd):
    """(mu, s2): mean and variance of log(1 + r) when 1 + r is lognormal with mean
    1 + `mean` and standard deviation `sd` (floats or arrays; fractions a year).

    The one statement of the convention the simulator samples (taxopt.returns.Lognormal) and
    the median basis compounds at: s2 = ln(1 + (sd / (1 + mean))^2), mu = ln(1 + mean) - s2/2.
    """
    gross = 1.0 + np.asarray(mean, dtype=float)
    s2 = np.log1p((np.asarray(sd, dtype=float) / gross) ** 2)
    return np.log(gross) - s2 / 2.0, s2


class Strict(BaseModel):
    # NaN and infinities are refused in every number ("nan" is never a balance).
    model_config = ConfigDict(
        extra="forbid", frozen=True, populate_by_name=True, allow_inf_nan=False
    )


class Person(Strict):
    name: str = Field(min_length=1)
    birth_year: int = Field(ge=1900, le=2100)

    def age_in(self, year: int) -> int:
        """Age at the end of `year`: the age every rule reads (RMD, early withdrawal)."""
        return year - self.birth_year


class Tier(Strict):
    """An index product with its assumptions (annual, nominal, fractions)."""

    name: str = Field(min_length=1)
    expected_return: float = Field(gt=-1, le=5, description="annual total return incl. yield")
    yield_rate: float = Field(0.0, ge=0, le=1, alias="yield", description="annual cash yield")
    yield_character: Literal["qualified_dividends", "ordinary", "none"] = Field(
        "qualified_dividends",
        description="tax character of the yield in a taxable account (staking, interest: ordinary)",
    )
    volatility: float = Field(0.0, ge=0, le=5, description="annual standard deviation of return")
    description: str = ""

    def deterministic_return(self, basis: ReturnBasis = "median") -> float:
        """The annual return (fraction) a deterministic plan compounds this tier at.

        mean: `expected_return`. median: the median of the simulator's lognormal return,
        exp(mu) - 1 = (1 + m) / sqrt(1 + (s / (1 + m))^2) - 1 (see lognormal_log_moments):
        the growth a typical path earns, below the mean by about half the variance.
        """
        if basis == "mean" or self.volatility == 0:
            return self.expected_return
        mu, _ = lognormal_log_moments(self.expected_return, self.volatility)
        return float(np.expm1(mu))

    @model_validator(mode="after")
    def _yield_within_return(self) -> Tier:
        if self.yield_rate > 0 and self.yield_character == "none":
            raise ValueError(
                "yield_character: a tier with a yield needs qualified_dividends or ordinary"
            )
        return self


ROTH_FIELDS = ("roth_contributions", "roth_conversions", "roth_first_contribution_year")


def kind_under(account: Account, rules: RuleSet) -> str:
    """The account's kind under `rules`: its `kinds` entry for the rule set's jurisdiction
    ("US-federal"), else for the jurisdiction's country code ("US"), else `kind`."""
    jurisdiction = rules.meta.jurisdiction
    country = jurisdiction.split("-", 1)[0]
    return account.kinds.get(jurisdiction, account.kinds.get(country, account.kind))


class Account(Strict):
    name: str = Field(min_length=1)
    implied: bool = Field(
        False,
        description="set by taxopt on an account it opens: a taxable account that only "
        "receives RMD surplus, or a Roth for a person who converts and has none",
    )
    kind: str = Field(min_length=1, description="an account kind defined by the rule set")
    kinds: dict[str, str] = Field(
        default_factory=dict,
        description="the account's kind under another jurisdiction's rules, by the rule "
        'set\'s meta.jurisdiction or its country code (kinds = { UK = "isa", US = '
        '"roth_ira" }: US names US-federal); a rule set of a jurisdiction listed here reads '
        "that kind instead of `kind`",
    )
    owner: str | None = Field(None, description="person who owns it; required for limited kinds")
    balances: dict[str, float] = Field(default_factory=dict, description="dollars per tier today")
    basis: dict[str, float] | None = Field(
        None, description="cost basis per tier (taxable accounts); default: equal to the balance"
    )
    # Roth accounts (kinds with roth_distribution_rules): what the ordering rules of IRC
    # §408A(d)(4) need to know about money already in the account (Pub. 590-B, Form 8606
    # Part III). Defaults: no regular-contribution basis and no past conversions, so before
    # 59 1/2 nothing held today comes out free (conservative); and money held today is
    # taken to be past the 5-year period for earnings, which matters only from 59 1/2 and
    # which the result's notes flag wherever a plan relies on it.
    roth_contributions: float | None = Field(
        None,
        ge=0,
        description="Roth accounts: regular contributions still in the account (dollars, "
        "your basis in Roth contributions); they come out first, free of tax at any age. "
        "Default 0: the balance beyond roth_conversions counts as earnings",
    )
    roth_conversions: dict[int, float] = Field(
        default_factory=dict,
        description="Roth accounts: past conversions still in the account, by year, e.g. "
        "{2023 = 20000}; each is free of the early-withdrawal tax 5 years after its year. "
        "The whole amount counts as taxable when converted (conservative)",
    )
    roth_first_contribution_year: int | None = Field(
        None,
        ge=1900,
        le=2200,
        description="Roth accounts: year of the owner's first contribution or conversion to "
        "any Roth IRA (starts the 5-year clock for tax-free earnings). Default: when the "
        "owner holds Roth money at start_year, five or more years before it (the period is "
        "met; the result notes where a plan relies on this); else the owner's first Roth "
        "contribution in the plan",
    )

    @model_validator(mode="after")
    def _check_amounts(self) -> Account:
        for field, amounts in (("balances", self.balances), ("basis", self.basis or {})):
            for tier, amount in amounts.items():
                if amount < 0:
                    raise ValueError(f"{field}.{tier}: {amount} cannot be negative; use 0 or more")
                if amount > MAX_DOLLARS:
                    raise ValueError(
                        f"{field}.{tier}: {amount:g} is above {MAX_DOLLARS:g}; give today's "
                        "dollars (a household's balance)"
                    )
        for year, amount in self.roth_conversions.items():
            if amount < 0:
                raise ValueError(
                    f"roth_conversions[{year}]: {amount} cannot be negative; use 0 or more"
                )
        roth_basis = (self.roth_contributions or 0.0) + sum(self.roth_conversions.values())
        if roth_basis > self.total + 1e-9:
            raise ValueError(
                f"roth_contributions: with roth_conversions {roth_basis:,.0f} is more than the "
                f"balance {self.total:,.0f}; lower them to at most the balance (after a loss "
                f"that is conservative)"
            )
        first = self.roth_first_contribution_year
        converted = [y for y, amount in self.roth_conversions.items() if amount > 0]
        if first is not None and converted and min(converted) < first:
            raise ValueError(
                f"roth_first_contribution_year: {first} is after the {min(converted)} "
                f"conversion in roth_conversions; a conversion starts the 5-year clock too, "
                f"so use {min(converted)} or earlier"
            )
        for tier, amount in (self.basis or {}).items():
            balance = self.balances.get(tier, 0.0)
            if amount > balance + 1e-9:
                raise ValueError(
                    f"basis.{tier}: {amount:,.0f} is more than the balance "
                    f"{balance:,.0f}; lower the basis"
                )
        return self

    @property
    def total(self) -> float:
        return sum(self.balances.values())

    @property
    def states_roth_history(self) -> bool:
        """Does the account give any of the Roth fields?"""
        return (
            self.roth_contributions is not None
            or bool(self.roth_conversions)
            or self.roth_first_contribution_year is not None
        )

    def basis_of(self, tier: str) -> float:
        if self.basis is None or tier not in self.basis:
            return self.balances.get(tier, 0.0)
        return self.basis[tier]


class GlidePath(Strict):
    """Move the index weights linearly from the profile's weights to `to_weights`."""

    start_age: int = Field(ge=0, le=120)
    end_age: int = Field(ge=0, le=120)
    to_weights: dict[str, float]

    @model_validator(mode="after")
    def _check(self) -> GlidePath:
        if self.end_age < self.start_age:
            raise ValueError(f"end_age: {self.end_age} is before start_age {self.start_age}")
        _check_weights(self.to_weights, "to_weights")
        return self


class Profile(Strict):
    """The whole portfolio's mix: index-tier weights plus a reserve band."""

    weights: dict[str, float] = Field(description="weights of the index tiers; sum to 1")
    reserve_tier: str | None = Field(None, description="the stablecoin / cash reserve tier")
    reserve_min: float = Field(0.0, ge=0, le=1)
    reserve_max: float = Field(0.0, ge=0, le=1)
    tolerance: float = Field(
        0.02, ge=0, le=1, description="each tier may deviate this share of the portfolio"
    )
    glide_path: GlidePath | None = None
    mix_measure: Literal["pre_tax", "tax_adjusted"] = "pre_tax"
    assumed_tax_rate: float = Field(
        0.22,
        ge=0,
        lt=1,
        description="the household's expected tax rate on traditional money: scales "
        "traditional balances in the tax_adjusted mix and in the after-tax portfolio a net "
        "withdrawal policy is measured on",
    )

    @model_validator(mode="after")
    def _check(self) -> Profile:
        _check_weights(self.weights, "weights")
        if self.reserve_max < self.reserve_min:
            raise ValueError(
                f"reserve_max: {self.reserve_max} is below reserve_min {self.reserve_min}"
            )
        if self.reserve_tier is None and self.reserve_max > 0:
            raise ValueError("reserve_tier: reserve_min/max are set but no reserve tier; name it")
        if self.reserve_tier is not None and self.reserve_tier in self.weights:
            raise ValueError(f"weights: reserve tier '{self.reserve_tier}' must not appear here")
        if self.glide_path and set(self.glide_path.to_weights) != set(self.weights):
            raise ValueError("glide_path.to_weights: must name the same tiers as weights")
        return self


def _check_weights(weights: dict[str, float], label: str) -> None:
    if not weights:
        raise ValueError(f"{label}: empty; give at least one tier weight")
    for tier, w in weights.items():
        if not 0 <= w <= 1:
            raise ValueError(f"{label}.{tier}: {w}; weights are fractions between 0 and 1")
    total = sum(weights.values())
    if abs(total - 1.0) > WEIGHT_TOLERANCE:
        raise ValueError(
            f"{label}: sum to {total:.4f}, not 1; scale them so they add up to 1 "
            f"(50/30/20 is 0.5, 0.3, 0.2)"
        )


class FixedContribution(Strict):
    """An amount that must go to one account each year (e.g. an employer 401(k) match)."""

    account: str
    annual: float = Field(ge=0, le=MAX_DOLLARS, description="today's dollars per year")
    until_year: Year | None = None


class Contributions(Strict):
    """Savings the household invests each year until retirement (today's dollars)."""

    initial: float = Field(0.0, ge=0, le=MAX_DOLLARS, description="one-off, in the first year")
    monthly: float = Field(0.0, ge=0, le=MAX_DOLLARS / 12)
    annual: float = Field(0.0, ge=0, le=MAX_DOLLARS)
    growth: float = Field(0.0, ge=-0.5, le=1, description="yearly real growth of the amounts")
    until_year: Year | None = Field(
        None, description="last contribution year; default: retirement-1"
    )
    accounts: list[str] | None = Field(
        None, description="accounts the optimizer may route savings to; default: all eligible"
    )
    fixed: list[FixedContribution] = Field(default_factory=list)

    @property
    def yearly_amount(self) -> float:
        return 12 * self.monthly + self.annual


class Earnings(Strict):
    """Wages of one person until retirement; sets the tax rate that contributions save."""

    person: str
    annual: float = Field(ge=0, le=MAX_DOLLARS, description="today's dollars per year")
    until_year: Year | None = Field(None, description="last year of wages; default: retirement-1")


PUBLIC_PENSIONS = ("social_security", "state_pension")
CHOOSE_CLAIM = "optimize"  # claim_age: the optimizer chooses it (taxopt.claiming)


class IncomeStream(Strict):
    """Income outside the portfolio, given as claimed: `annual` from `start_year` or
    `start_age`. A public pension (US Social Security, UK State Pension) is taxed as the
    rule set's [benefit_taxation] table says (fully, without one: ITEPA 2003 s.577 for the
    State Pension); the other kinds are ordinary income.

    Social Security may instead be given by the owner's benefit at full retirement age,
    `pia_annual` (today's dollars a year), and `claim_age`: a whole age the rule set allows
    (62 to 70 in the US), or "optimize" (the default) to let the optimizer choose it. The
    benefit is then `pia_annual` x the rule set's factor for that age
    (RuleSet.social_security.benefit_factor), paid from the year the owner reaches it and
    raised with inflation.
    """

    name: str
    kind: Literal["social_security", "state_pension", "pension", "other_taxable"]
    owner: str | None = None
    start_year: Year | None = None
    start_age: int | None = Field(None, ge=0, le=120)
    end_year: Year | None = None
    annual: float | None = Field(
        None, ge=0, le=MAX_DOLLARS, description="today's dollars per year at start"
    )
    inflation_adjusted: bool = True
    pia_annual: float | None = Field(
        None,
        ge=0,
        le=MAX_DOLLARS,
        description="Social Security: the benefit at full retirement age (the PIA) for a "
        "year, today's dollars; with claim_age instead of annual and start_age",
    )
    claim_age: int | str | None = Field(
        None,
        description="Social Security with pia_annual: the whole age the benefit is claimed "
        'at (62 to 70 in the US), or "optimize" (default) to let the optimizer choose it',
    )

    @model_validator(mode="before")
    @classmethod
    def _choose_by_default(cls, data: object) -> object:
        """A benefit at full retirement age without claim_age: the optimizer chooses."""
        if isinstance(data, dict) and data.get("pia_annual") is not None:
            if data.get("claim_age") is None:
                data = {**data, "claim_age": CHOOSE_CLAIM}
        return data

    @field_validator("claim_age", mode="before")
    @classmethod
    def _claim_age(cls, value: object) -> object:
        if value is None or value == CHOOSE_CLAIM:
            return value
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise ValueError(
            f"'{printable(value)}' is not a claiming age; give a whole age (62 to 70 in the "
            f'US) or "{CHOOSE_CLAIM}" to let the optimizer choose it'
        )

    @model_validator(mode="after")
    def _start(self) -> IncomeStream:
        if self.pia_annual is not None:
            return self._check_claim()
        if self.claim_age is not None:
            raise ValueError(
                "pia_annual: claim_age needs the benefit at full retirement age; give "
                "pia_annual (today's dollars a year), or drop claim_age and give annual "
                "and start_age for a benefit as claimed"
            )
        if self.annual is None:
            raise ValueError("annual: missing; give today's dollars per year at start")
        if (self.start_year is None) == (self.start_age is None):
            raise ValueError("start_year: give exactly one of start_year or start_age")
        if self.start_age is not None and self.owner is None:
            raise ValueError("owner: start_age needs an owner")
        return self

    def _check_claim(self) -> IncomeStream:
        """A benefit given at full retirement age: Social Security, one owner, claimed at
        claim_age (nothing else says when it starts or how much it pays)."""
        if self.kind != "social_security":
            raise ValueError(
                f"pia_annual: only a social_security stream has a benefit at full "
                f"retirement age; give annual and start_age for a {self.kind}"
            )
        if self.owner is None:
            raise ValueError("owner: a benefit claimed by age needs an owner; set owner")
        for name in ("annual", "start_year", "start_age"):
            if getattr(self, name) is not None:
                raise ValueError(
                    f"{name}: pia_annual and claim_age say how much the benefit pays and "
                    f"when; remove {name} (or remove pia_annual and claim_age to give the "
                    "benefit as claimed)"
                )
        if self.end_year is not None:
            raise ValueError("end_year: Social Security is paid for life; remove end_year")
        if not self.inflation_adjusted:
            raise ValueError(
                "inflation_adjusted: Social Security rises with inflation (COLA); remove it"
            )
        return self

    @property
    def claimed_by_age(self) -> bool:
        """Social Security given at full retirement age (pia_annual and claim_age)."""
        return self.pia_annual is not None

    @property
    def claim_to_choose(self) -> bool:
        """Whether the optimizer chooses this benefit's claiming age."""
        return self.claim_age == CHOOSE_CLAIM


class Withdrawal(Strict):
    """Retirement spending policy, applied under the max_estate and min_tax objectives.

    `basis` "net" (default): the policy sets the portfolio's part of after-tax spending;
    income streams (Social Security, pensions) come on top and every tax, a Roth
    conversion's included, is paid from the portfolio, wherever that is cheapest.
    fixed_real: rate x the after-tax portfolio at retirement, then raised with inflation;
    constant_percentage: rate x the after-tax portfolio each year; fixed_amount: `amount`
    today's dollars a year, raised with inflation. The after-tax portfolio counts
    tax-deferred balances net of `profile.assumed_tax_rate` (the household's own expected
    rate on that money), taxable accounts at market value and exempt ones in full.

    `basis` "gross": the policy sets gross withdrawals before income tax (Bengen's reading,
    on the pre-tax portfolio); spending is what remains after tax. With Roth conversions the
    conversions' tax is paid from extra withdrawals: each year spends at least what the same
    policy spends in the best plan without conversions.

    `rmd_surplus`: a required distribution above what the policy withdraws is taken; its
    after-tax surplus is reinvested in the household's taxable account ("reinvest"; taxopt
    opens one with zero basis when the plan has none) or spent ("spend").
    """

    policy: Literal["fixed_real", "constant_percentage", "fixed_amount"] = "fixed_real"
    rate: float = Field(0.04, gt=0, le=0.5)
    amount: float | None = Field(
        None, ge=0, le=MAX_DOLLARS, description="today's dollars, for fixed_amount"
    )
    basis: Literal["net", "gross"] = Field(
        "net",
        description="net: the policy sets after-tax spending from the portfolio (taxes paid "
        "on top); gross: it sets withdrawals before income tax (Bengen)",
    )
    rmd_surplus: Literal["reinvest", "spend"] = Field(
        "reinvest",
        description="what happens to an RMD above the policy's withdrawal, after its tax: "
        "reinvested in the taxable account or spent",
    )

    @model_validator(mode="after")
    def _amount(self) -> Withdrawal:
        if self.policy == "fixed_amount" and self.amount is None:
            raise ValueError("amount: policy fixed_amount needs today's dollars per year")
        return self

    def describe(self) -> str:
        """The policy in words, e.g. "fixed real: 4.00% of the after-tax portfolio at
        retirement, raised with inflation (net: after-tax spending from the portfolio)"."""
        portfolio = "after-tax portfolio" if self.basis == "net" else "portfolio (pre-tax)"
        text = {
            "fixed_real": f"fixed real: {self.rate:.2%} of the {portfolio} at retirement, "
            "raised with inflation",
            "constant_percentage": f"constant percentage: {self.rate:.2%} of the {portfolio} "
            "each year",
            "fixed_amount": f"fixed amount: ${self.amount or 0:,.0f} a year in today's dollars",
        }[self.policy]
        basis = (
            "net: after-tax spending from the portfolio, income on top, taxes paid beside it"
            if self.basis == "net"
            else "gross: withdrawals before income tax"
        )
        return f"{text} ({basis})"


class Objective(Strict):
    """What the optimizer maximizes or minimizes.

    max_spending: the highest constant real after-tax spending from retirement to the horizon,
    leaving at least `bequest_floor`; the withdrawal policy is not used. max_estate: the
    after-tax estate at the horizon with spending set by the withdrawal policy (gross basis:
    since a dollar of tax saved is then a dollar more after-tax spending, estate plus that
    spending, i.e. estate - lifetime tax). min_tax: lifetime tax (today's dollars, including
    the tax heirs owe on traditional balances) with spending set by the policy.
    """

    kind: Literal["max_spending", "max_estate", "min_tax"] = "max_spending"
    bequest_floor: float = Field(0.0, ge=0, le=MAX_DOLLARS, description="today's dollars")
    heir_tax_rate: float = Field(
        0.22, ge=0, lt=1, description="tax heirs pay on inherited traditional balances"
    )


class Options(Strict):
    roth_conversions: bool = True
    mode: Literal["exact", "fast"] = "exact"
    solver: Literal["highs", "cbc"] = "highs"
    taxable_buys: Literal["always", "contribution_years"] = Field(
        "always",
        description="years the taxable account may buy (and so open lots); "
        "contribution_years keeps the model smaller: after the last contribution the taxable "
        "account only sells, rebalancing happens in sheltered accounts",
    )
    circle_min_gain: float = Field(
        500.0,
        ge=0,
        le=1e9,
        description="today's dollars over the plan: a circle of money (a flow into and out "
        "of the same place in one year) is kept only when netting it costs more than this "
        "and more than circle_min_gain_share of the money it moves",
    )
    irmaa: bool = Field(
        True,
        description="pay Medicare IRMAA premiums (Parts B and D, from the MAGI of two years "
        "before, per person 65+) from the portfolio (default): the exact model sees them as "
        "cliffs (regime binaries), and the ledger, the rules of thumb and the simulator net "
        "them from spending; fast mode's model leaves them out and the ledger still charges "
        "them (a note says how much). It applies only where someone is on Medicare within the "
        "horizon under a rule set with a [medicare] table. false: the ledger only reports them "
        "(column irmaa) and nothing pays them",
    )
    circle_min_gain_share: float = Field(
        0.005,
        ge=0,
        le=1,
        description="fraction of the money a circle moves (its smaller leg, today's dollars) "
        "that netting it must cost for the plan to keep it (see circle_min_gain)",
    )


class Marketplace(Strict):
    """Health coverage bought on the ACA marketplace before Medicare, with the premium tax
    credit (IRC §36B; the rule set's [aca] table). Each person named is covered from
    `from_year` until Medicare; the household is taken to buy the benchmark plan."""

    benchmark_premium: dict[str, float] = Field(
        min_length=1,
        description="each covered person's share of the benchmark (second-lowest-cost "
        "silver) premium, dollars a year in today's dollars; grows with inflation",
    )
    household_size: int | None = Field(
        None, ge=1, le=20, description="people in the tax family (default: the plan's people)"
    )
    from_year: Year | None = Field(
        None, description="first year of marketplace coverage (default: the retirement year)"
    )

    @field_validator("benchmark_premium")
    @classmethod
    def _amounts(cls, values: dict[str, float]) -> dict[str, float]:
        for name, amount in values.items():
            if not 0 <= amount <= MAX_DOLLARS:
                raise ValueError(
                    f"{name}'s benchmark premium {amount} is not an amount; give dollars a year, "
                    "0 or more"
                )
        return values


class Plan(Strict):
    """A household plan. `source` is the file it came from (for messages)."""

    _source: str = PrivateAttr("plan")
    name: str = "plan"
    description: str = ""
    filing_status: str
    state: str | None = Field(
        None,
        description="US state of residence for state income tax: a code with a file in "
        "rules/states (ca, ny, ny-nyc, tx, ...); none: federal tax only",
    )
    prior_magi: dict[int, float] = Field(
        default_factory=dict,
        description="MAGI of the tax returns before start_year (nominal dollars, by year), "
        "e.g. {2024 = 180000, 2025 = 150000}: they set the first years' Medicare IRMAA "
        "premiums (two-year lookback); without them those premiums are left out",
    )
    start_year: int = Field(ge=2000, le=2100)
    retirement_year: int = Field(ge=2000, le=2200)
    horizon_age: int = Field(95, ge=50, le=120, description="plan until the youngest is this age")
    inflation: float = Field(0.025, ge=-0.05, le=0.5)
    return_basis: ReturnBasis = Field(
        "median",
        description="growth the deterministic plan compounds each tier at: median (the "
        "lognormal median from expected_return and volatility, what a typical path earns) "
        "or mean (expected_return)",
    )
    people: list[Person] = Field(min_length=1, max_length=2)
    tier_preset: str | None = Field(
        None,
        description="bundled tier assumptions (sober, guide_optimistic) used when tiers is empty",
    )
    tiers: list[Tier] = Field(default_factory=list)
    profile: Profile
    accounts: list[Account] = Field(min_length=1)
    contributions: Contributions = Field(default_factory=Contributions)
    earnings: list[Earnings] = Field(default_factory=list)
    income: list[IncomeStream] = Field(default_factory=list)
    withdrawal: Withdrawal = Field(default_factory=Withdrawal)
    objective: Objective = Field(default_factory=Objective)
    options: Options = Field(default_factory=Options)
    aca: Marketplace | None = Field(
        None, description="marketplace coverage with the premium tax credit before Medicare"
    )

    @model_validator(mode="before")
    @classmethod
    def _fill_tiers_from_preset(cls, data: object) -> object:
        if isinstance(data, dict) and not data.get("tiers"):
            preset = data.get("tier_preset") or "sober"
            presets = tier_presets()
            if not isinstance(preset, str) or preset not in presets:
                raise ValueError(
                    f"tier_preset '{preset}' is unknown; use one of {', '.join(presets)}"
                )
            data = {**data, "tier_preset": preset, "tiers": presets[preset]["tiers"]}
        return data

    @field_validator("state")
    @classmethod
    def _known_state(cls, state: str | None) -> str | None:
        if state is None:
            return None
        from taxopt.state_rules import state_code_problem

        problem = state_code_problem(state)
        if problem is not None:
            raise ValueError(problem)
        return state.strip().lower()

    @model_validator(mode="after")
    def _cross_checks(self) -> Plan:
        _unique([t.name for t in self.tiers], "tiers")
        _unique([a.name for a in self.accounts], "accounts")
        _unique([p.name for p in self.people], "people")
        self._check_profile_tiers()
        self._check_accounts()
        self._check_dates()
        self._check_references()
        return self

    def _check_profile_tiers(self) -> None:
        tier_names = [t.name for t in self.tiers]
        for tier in [*self.profile.weights, self.profile.reserve_tier]:
            if tier is not None and tier not in tier_names:
                raise ValueError(
                    f"profile: names tier '{tier}', which tiers does not define; "
                    f"use one of {', '.join(tier_names)}"
                )

    def _check_accounts(self) -> None:
        """Each account's tiers, past Roth years and owner name what the plan defines."""
        tier_names = [t.name for t in self.tiers]
        known, people = set(tier_names), {p.name for p in self.people}
        for i, account in enumerate(self.accounts):
            for tier in [*account.balances, *(account.basis or {})]:
                if tier not in known:
                    raise ValueError(
                        f"accounts[{i}].balances: {account.name} holds tier '{tier}', which "
                        f"tiers does not define; use one of {', '.join(tier_names)}"
                    )
            for year in [*account.roth_conversions, account.roth_first_contribution_year]:
                if year is not None and year > self.start_year:
                    field = (
                        "roth_first_contribution_year"
                        if year == account.roth_first_contribution_year
                        else f"roth_conversions[{year}]"
                    )
                    raise ValueError(
                        f"accounts[{i}].{field}: {year} is after start_year {self.start_year}; "
                        f"give only the past (the plan decides later contributions and "
                        f"conversions)"
                    )
            if account.owner is not None and account.owner not in people:
                raise ValueError(
                    f"accounts[{i}].owner: '{account.owner}' is not one of the people "
                    f"({', '.join(sorted(people))})"
                )

    def _check_dates(self) -> None:
        """Retirement within the plan's years; each person of a plausible age today."""
        if self.retirement_year < self.start_year:
            raise ValueError(
                f"retirement_year: {self.retirement_year} is before start_year "
                f"{self.start_year}; retirement cannot be in the past of the plan"
            )
        if self.retirement_year > self.end_year:
            raise ValueError(
                f"retirement_year: {self.retirement_year} is after the horizon "
                f"{self.end_year}; raise horizon_age or retire earlier"
            )
        for year, magi in self.prior_magi.items():
            if not (self.start_year - 5 <= year < self.start_year and 0 <= magi <= 1e10):
                raise ValueError(
                    f"prior_magi.{year}: give the MAGI (0 to 1e10 dollars) of a return from "
                    f"the five years before start_year {self.start_year}"
                )
        for i, person in enumerate(self.people):
            age = self.start_year - person.birth_year
            if not 0 <= age <= 110:
                raise ValueError(
                    f"people[{i}].birth_year: {person.name} would be {age} in "
                    f"{self.start_year}; give a birth year 0 to 110 years before start_year"
                )

    def _check_references(self) -> None:
        """Contributions name accounts, and income streams name people, the plan defines."""
        people = {p.name for p in self.people}
        account_names = {a.name for a in self.accounts}
        for name in [
            *(self.contributions.accounts or []),
            *(f.account for f in self.contributions.fixed),
        ]:
            if name not in account_names:
                raise ValueError(
                    f"contributions: name account '{name}', which accounts does not define"
                )
        claimers = [s.owner for s in self.income if s.claimed_by_age]
        for owner in set(claimers):
            if claimers.count(owner) > 1:
                raise ValueError(
                    f"income: {owner} has {claimers.count(owner)} benefits given by "
                    "pia_annual; give one per person"
                )
        for stream in [*self.income, *self.earnings]:
            owner = getattr(stream, "owner", None) or getattr(stream, "person", None)
            if owner is not None and owner not in people:
                raise ValueError(
                    f"income: '{owner}' in income/earnings is not one of the people "
                    f"({', '.join(sorted(people))})"
                )
        if self.aca is not None:
            self._check_marketplace(people)

    def _check_marketplace(self, people: set[str]) -> None:
        """The covered people are the plan's; the tax family holds at least them."""
        aca = self.aca
        for name in aca.benchmark_premium:
            if name not in people:
                raise ValueError(
                    f"aca.benchmark_premium: '{name}' is not one of the people "
                    f"({', '.join(sorted(people))}); name the people the marketplace covers"
                )
        if aca.household_size is not None and aca.household_size < len(self.people):
            raise ValueError(
                f"aca.household_size: {aca.household_size} is fewer than the plan's "
                f"{len(self.people)} people; give the whole tax family"
            )

    @property
    def source(self) -> str:
        """The file the plan came from, or "plan" (names it in messages)."""
        return self._source

    @property
    def end_year(self) -> int:
        """Last modelled year: when the youngest person reaches `horizon_age`."""
        return max(p.birth_year for p in self.people) + self.horizon_age

    @property
    def years(self) -> list[int]:
        return list(range(self.start_year, self.end_year + 1))

    @property
    def tier_names(self) -> list[str]:
        return [t.name for t in self.tiers]

    @property
    def tier_returns(self) -> dict[str, float]:
        """Each tier's deterministic annual return (fraction) under `return_basis`: the
        growth the model, the ledger, the baselines and the simulator's replay all use."""
        return {t.name: t.deterministic_return(self.return_basis) for t in self.tiers}

    @property
    def tier_growth(self) -> dict[str, float]:
        """1 + each tier's deterministic annual return (see tier_returns)."""
        return {name: 1.0 + r for name, r in self.tier_returns.items()}

    @property
    def safe_tier(self) -> Tier:
        """The plan's safest asset: its reserve tier, else its least volatile tier."""
        reserve = self.profile.reserve_tier
        if reserve is not None:
            return next(t for t in self.tiers if t.name == reserve)
        return min(self.tiers, key=lambda t: (t.volatility, t.expected_return))

    @property
    def discount_rate(self) -> float:
        """The annual nominal rate (fraction) present values of tax use: the safe tier's
        deterministic return. Tax amounts are close to certain, so they are discounted at
        what safe money earns, not at the risky portfolio's growth (whose median can be
        below zero, which would make later tax weigh more than tax today)."""
        return self.safe_tier.deterministic_return(self.return_basis)

    def person(self, name: str) -> Person:
        return next(p for p in self.people if p.name == name)

    def owner(self, account: str) -> Person | None:
        """The person who owns `account` (None for an account without an owner)."""
        owner = next(a.owner for a in self.accounts if a.name == account)
        return None if owner is None else self.person(owner)

    def ages_in(self, year: int) -> tuple[int, ...]:
        return tuple(year - p.birth_year for p in self.people)

    def index_weights(self, year: int) -> dict[str, float]:
        """Index-tier weights in `year`: linear along the glide path by the first person's age."""
        profile = self.profile
        glide = profile.glide_path
        if glide is None:
            return dict(profile.weights)
        age = year - self.people[0].birth_year
        if glide.end_age == glide.start_age:
            share = 1.0 if age >= glide.end_age else 0.0
        else:
            share = min(1.0, max(0.0, (age - glide.start_age) / (glide.end_age - glide.start_age)))
        return {
            tier: (1 - share) * w + share * glide.to_weights[tier]
            for tier, w in profile.weights.items()
        }

    def inflation_factor(self, year: int) -> float:
        """Nominal dollars of `year` per today's dollar."""
        return (1.0 + self.inflation) ** (year - self.start_year)

    def discount_factor(self, year: int) -> float:
        """Today's value of a nominal dollar paid at the start of `year` (discount_rate)."""
        return (1.0 + self.discount_rate) ** -(year - self.start_year)

    def under(self, rules: RuleSet) -> Plan:
        """The plan with each account's kind as `rules`' jurisdiction names it (the
        account's `kinds` entry for meta.jurisdiction, else its `kind`); the plan itself
        when nothing changes. Nothing else is translated: amounts stay in the plan's units."""
        mapped = [
            a.model_copy(update={"kind": kind_under(a, rules)})
            if kind_under(a, rules) != a.kind
            else a
            for a in self.accounts
        ]
        if all(new is old for new, old in zip(mapped, self.accounts, strict=True)):
            return self
        plan = self.model_copy(update={"accounts": mapped})
        plan._source = self._source
        return plan

    def _status_problem(self, rules: RuleSet, source: str) -> str:
        """Why the plan's filing status does not exist under `rules`, and the fix."""
        status = printable(self.filing_status)
        people = len(self.people)
        fitting = [s for s in rules.meta.filing_statuses if rules.people_covered(s) == people]
        if fitting:
            return (
                f"{source}: filing_status: '{status}' is not defined by rule set {rules.name}; "
                f"use {' or '.join(repr(s) for s in fitting)}"
            )
        # Rule sets that tax each person separately (UK, Canada) list only one-person
        # statuses; taxopt does not yet split a couple's income into two returns.
        return (
            f"{source}: filing_status: '{status}' covers {people} people, but rule set "
            f"{rules.name} taxes each person separately and taxopt plans only one-person "
            "households under it; plan each spouse as a one-person plan with their own "
            "accounts and income"
        )

    def check_against(self, rules: RuleSet, source: str = "plan") -> None:
        """Errors for what only the rule set can tell: unknown account kinds, filing status
        and the people it covers, savings the accounts cannot take (taxopt.validation).
        Account kinds are read as `under(rules)` maps them."""
        if self.under(rules) is not self:
            self.under(rules).check_against(rules, source)
            return
        if self.filing_status not in rules.meta.filing_statuses:
            raise InputError(self._status_problem(rules, source))
        for i, account in enumerate(self.accounts):
            kind = rules.account_kinds.get(account.kind)
            if kind is None:
                jurisdiction = rules.meta.jurisdiction.split("-", 1)[0]
                raise InputError(
                    f"{source}: accounts[{i}].kind: '{printable(account.kind)}' is not an account "
                    f"kind of rule set {rules.name}; use one of {', '.join(rules.account_kinds)}"
                    f", or name its kind under {jurisdiction} rules beside it: "
                    f'kinds = {{ {jurisdiction} = "{nearest_kind(account.kind, rules)}" }}'
                )
            if account.basis and kind.growth != Growth.TAXED:
                raise InputError(
                    f"{source}: accounts[{i}].basis: only taxable accounts track basis; remove "
                    f"the basis of {account.name} ({account.kind})"
                )
            if account.states_roth_history and not kind.roth_distribution_rules:
                field = next(
                    name
                    for name in ROTH_FIELDS
                    if getattr(account, name) is not None and getattr(account, name) != {}
                )
                raise InputError(
                    f"{source}: accounts[{i}].{field}: only Roth accounts keep a Roth history; "
                    f"remove it from {account.name} ({account.kind})"
                )
            needs_owner = kind.contribution_limit or kind.rmd or kind.roth_distribution_rules
            if needs_owner and account.owner is None:
                raise InputError(
                    f"{source}: accounts[{i}].owner: {account.kind} accounts belong to one "
                    f"person; set owner"
                )
        self._check_state_years(source)
        self._check_claims(rules, source)
        if self.aca is not None and rules.aca is None:
            raise InputError(
                f"{source}: aca: rule set {rules.name} has no [aca] table (premium tax "
                "credit); use a rule set that has one (us-federal-2026) or remove aca"
            )
        from taxopt.validation import check_plan_against_rules

        check_plan_against_rules(self, rules, source)

    def _check_claims(self, rules: RuleSet, source: str) -> None:
        """Benefits given at full retirement age: the rule set has the factors, for the
        owner's birth year and the claiming age the plan pins."""
        for i, stream in enumerate(self.income):
            if not stream.claimed_by_age:
                continue
            table = rules.social_security
            field = f"{source}: income[{i}]"
            if table is None:
                raise InputError(
                    f"{field}.pia_annual: rule set {rules.name} has no [social_security] "
                    "table of claiming-age factors; give the benefit as claimed (annual and "
                    "start_age) instead"
                )
            problem = table.birth_year_problem(self.person(stream.owner).birth_year)
            if problem is not None:
                raise InputError(
                    f"{field}.pia_annual: {problem} ({rules.name}); give the benefit as "
                    "claimed (annual and start_age) instead"
                )
            ages = table.claim_ages()
            if not stream.claim_to_choose and stream.claim_age not in ages:
                raise InputError(
                    f"{field}.claim_age: {stream.claim_age} is outside the claiming ages "
                    f"of {rules.name} (from {ages[0]}, the earliest; the benefit stops "
                    f"growing at {ages[-1]}); give a whole age from {ages[0]} to "
                    f'{ages[-1]}, or "{CHOOSE_CLAIM}" to let the optimizer choose it'
                )

    def _check_state_years(self, source: str) -> None:
        """The plan's state has rules for its first year (later years index them)."""
        if self.state is None:
            return
        from taxopt.state_rules import find_state_rules

        try:
            find_state_rules(self.state, self.start_year)
        except InputError as exc:
            raise InputError(f"{source}: state: {str(exc).removeprefix('--state: ')}") from None

    def with_state(self, state: str | None) -> Plan:
        """This plan in another state (`--state`): validated as the plan field is."""
        from taxopt.state_rules import state_code_problem

        problem = None if state is None else state_code_problem(state)
        if problem is not None:
            raise InputError(f"--state: {problem}")
        data = self.model_dump(mode="json", by_alias=True)
        data["state"] = state
        try:
            plan = Plan.model_validate(data)
        except ValidationError as exc:
            raise explain_validation_error("--state", exc) from None
        plan._source = self._source
        return plan


IMPLIED_TAXABLE = "implied_taxable"  # the account taxopt opens for RMD surplus
POLICY_FIELDS = ("policy", "rate", "amount", "basis")


def policy_applies(plan: Plan) -> bool:
    """Whether the objective spends by the withdrawal policy (max_spending sets its own)."""
    return plan.objective.kind != "max_spending"


def spending_rule(plan: Plan) -> str:
    """What sets retirement spending under this plan's objective, in words."""
    if policy_applies(plan):
        return f"withdrawal policy: {plan.withdrawal.describe()}"
    return (
        "max_spending: the highest constant real after-tax spending to the horizon "
        f"(bequest floor ${plan.objective.bequest_floor:,.0f}); the withdrawal policy is not used"
    )


def policy_notes(plan: Plan) -> list[str]:
    """A line for a withdrawal policy the objective will not apply (one a plan file set)."""
    given = set(plan.withdrawal.model_fields_set) & set(POLICY_FIELDS)
    if policy_applies(plan) or "withdrawal" not in plan.model_fields_set or not given:
        return []
    fields = ", ".join(f"withdrawal.{f}" for f in POLICY_FIELDS if f in given)
    return [
        f"{plan.source}: {fields}: objective max_spending sets its own constant real spending, so "
        f"the policy ({plan.withdrawal.describe()}) is not used; remove it, or use objective "
        "max_estate or min_tax to spend by it"
    ]


def rmd_years(plan: Plan, rules: RuleSet) -> set[int]:
    """Years in which some account's owner must take a required distribution
    (RuleSet.rmd_divisor)."""
    years: set[int] = set()
    for account in plan.accounts:
        owner = plan.owner(account.name)
        if account.kind not in rules.account_kinds or owner is None:
            continue
        for year in plan.years:
            if rules.rmd_divisor(account.kind, owner.age_in(year), owner.birth_year) is not None:
                years.add(year)
    return years


def surplus_years(plan: Plan, rules: RuleSet) -> dict[str, set[int]]:
    """{taxable account: the retirement years it takes surplus cash}, one rule for the
    optimizer and the rules of thumb alike.

    With `withdrawal.rmd_surplus = "reinvest"`: every retirement year when the plan lets
    taxable accounts buy always (`options.taxable_buys`), else the years an RMD is due (an
    RMD above spending is the surplus to reinvest); the implied account (see
    with_implied_taxable) only in RMD years. Other surplus income is spent.
    """
    if plan.withdrawal.rmd_surplus != "reinvest":
        return {}
    due = rmd_years(plan, rules)
    retired = {y for y in plan.years if y >= plan.retirement_year}
    out: dict[str, set[int]] = {}
    for account in plan.accounts:
        kind = rules.account_kinds.get(account.kind)
        if kind is None or kind.growth != Growth.TAXED:
            continue
        always = plan.options.taxable_buys == "always" and not account.implied
        out[account.name] = retired if always else retired & due
    return out


def with_implied_taxable(plan: Plan, rules: RuleSet) -> Plan:
    """The plan with a taxable account for RMD surplus when it reinvests one and has none.

    The account (`implied_taxable`, zero balance and basis) only receives the after-tax
    surplus of required distributions above what the policy withdraws.
    """
    taxed = [k for k, kind in rules.account_kinds.items() if kind.growth == Growth.TAXED]
    has_taxable = any(rules.account_kinds[a.kind].growth == Growth.TAXED for a in plan.accounts)
    if (
        plan.withdrawal.rmd_surplus != "reinvest"
        or has_taxable
        or not taxed
        or not rmd_years(plan, rules)
        or any(a.name == IMPLIED_TAXABLE for a in plan.accounts)
    ):
        return plan
    account = Account(name=IMPLIED_TAXABLE, kind=taxed[0], implied=True)
    return plan.model_copy(update={"accounts": [*plan.accounts, account]})


def with_implied_roths(plan: Plan, rules: RuleSet) -> tuple[Plan, list[str]]:
    """The plan with a Roth account for each person who could convert but has none.

    A conversion goes only to the converting owner's own Roth (IRC §408A(d)(3) treats it
    as a rollover, and an IRA is individual: IRC §408(a)); a person without one may open
    it. Returns the plan and the names of the accounts opened (zero balance, no routing of
    savings).
    """
    if not plan.options.roth_conversions:
        return plan, []
    opened: list[Account] = []
    names = {a.name for a in plan.accounts}
    for account in plan.accounts:
        kind = rules.account_kinds.get(account.kind)
        target = kind.convertible_to if kind is not None else None
        if target is None or account.owner is None:
            continue
        owned = [*plan.accounts, *opened]
        if any(a.kind == target and a.owner == account.owner for a in owned):
            continue
        name = re.sub(r"[^0-9a-z_]", "_", f"implied_{target}_{account.owner}".lower())
        while name in names:
            name += "_"
        names.add(name)
        opened.append(Account(name=name, kind=target, owner=account.owner, implied=True))
    if not opened:
        return plan, []
    return plan.model_copy(update={"accounts": [*plan.accounts, *opened]}), [a.name for a in opened]


def tier_presets() -> dict:
    """Bundled tier assumptions, by name (taxopt/data/tier_presets.toml)."""
    with (Path(__file__).parent / "data" / "tier_presets.toml").open("rb") as handle:
        return tomllib.load(handle)


def _unique(names: list[str], label: str) -> None:
    seen = set()
    for name in names:
        if name in seen:
            raise ValueError(f"{label}: '{name}' appears twice; names must be unique")
        seen.add(name)


def load_plan(path: str | Path) -> Plan:
    """Read and validate a plan file: TOML (.toml) or JSON (.json), UTF-8."""
    return plan_from_dict(read_plan_data(path), source=str(path))


def read_plan_data(path: str | Path) -> dict:
    """A plan file's data as written, before validation: TOML (.toml) or JSON (.json), UTF-8
    with or without a byte-order mark; YAML and other encodings are refused in one line."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in (".yaml", ".yml"):
        raise InputError(
            f"{path}: taxopt reads plans written in TOML (.toml) or JSON (.json), not YAML; "
            "convert the file (`taxopt plan schema` shows the fields)"
        )
    text = read_text(path, "plan file")
    kind = PLAN_FORMATS.get(suffix, "TOML")
    try:
        data = json.loads(text) if kind == "JSON" else tomllib.loads(text)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
        named = "" if suffix in PLAN_FORMATS else " (plans are TOML, .toml, or JSON, .json)"
        raise InputError(f"{path}: not valid {kind}{named}: {exc}") from None
    except RecursionError:
        raise InputError(f"{path}: nested too deeply to be a plan") from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: the plan must be a table of fields, not {type(data).__name__}")
    return data


def plan_from_dict(data: dict, source: str = "plan") -> Plan:
    if not isinstance(data, dict):
        raise InputError(f"{source}: the plan must be a table of fields, not {type(data).__name__}")
    try:
        plan = Plan.model_validate(data)
    except ValidationError as exc:
        raise explain_validation_error(source, exc) from None
    plan._source = source
    return plan


def plan_json_schema() -> dict:
    return Plan.model_json_schema(by_alias=True)


def nearest_kind(kind_name: str, rules: RuleSet) -> str:
    """The kind of `rules` taxed most like `kind_name` is taxed in a bundled rule set that
    defines it (same growth and contributions, else same growth); the first kind when no
    bundled rule set knows `kind_name`. Only an error message's suggestion."""
    from taxopt.rules import available_rule_sets, load_rules

    for name in available_rule_sets():
        other = load_rules(name).account_kinds.get(kind_name)
        if other is None:
            continue
        treatments = [
            (n, k.growth == other.growth, k.contributions == other.contributions)
            for n, k in rules.account_kinds.items()
        ]
        alike = [n for n, growth, contributions in treatments if growth and contributions]
        same_growth = [n for n, growth, _ in treatments if growth]
        if alike or same_growth:
            return (alike or same_growth)[0]
    return next(iter(rules.account_kinds))
