"""Stress-test an optimized plan: replay its decisions as a policy on many return paths.

`simulate(result, paths, seed, returns, withdrawal)` reads the optimized plan's decisions as
rules and runs them on every path, year by year, all paths at once (numpy arrays across
paths; the loops are over years, accounts and tiers only):

- where each tier lives: each account's post-trade tier shares per year, from
  `result.ledger.holdings` (an account the plan empties keeps its last known shares);
- contributions and Roth conversions: the plan's real amounts per account and year
  (inflation is the plan's, so these are the plan's nominal amounts); a conversion is cut to
  what the source holds after its RMD;
- withdrawals: the plan's real amount from each account is the starting point; the gap
  between what the path needs and that is taken from (or given back to) the accounts in
  the order the plan draws them (amount-weighted mean year of its withdrawals; accounts it
  never draws come last). RMDs (Uniform Lifetime Table) are always taken; cash an RMD
  forces beyond the need is reinvested in the taxable account (spent if there is none);
- taxable accounts: the plan's sales are kept as fractions: in a year the plan sold a
  fraction f of a tier's holding and so used a fraction g of its basis (specific lots), the
  path sells f of its holding and uses g of its basis. Any further trade to reach the
  post-trade shares buys, or sells at average cost. Basis is tracked per account and tier
  as one aggregate (average cost); net losses in a year are not carried (as in the ledger);
- taxes each year from `compute_tax_arrays`, the tax calculator over arrays, plus the
  plan's state tax from the state calculator over the same arrays (taxopt.state_tax);
- premiums as the ledger charges them, by the same functions (taxopt.premiums) over the
  path's own figures: Medicare IRMAA on the path's MAGI two years before (plan.prior_magi
  for a return before the plan; paid with options.irmaa) and marketplace premiums net of
  the premium tax credit on the path's household income that year (plans with [aca]).

Spending is after tax and premiums: the withdrawal rule sets each retirement year's real
spending target and the gross withdrawal is found per path by at most SECANT_STEPS secant
steps on gross = spending + tax + premiums + contributions - income. Before retirement the
target is the plan's own spending. Rules stated as a share of the portfolio apply it to the
pre-tax opening balances and add the household's income (Social Security, pensions); the tax is
drawn on top, so "4%" here asks more of the portfolio than a pre-tax 4% withdrawal.
A path succeeds when every year's spending meets its target (within half a dollar, or a
billionth of it); when the accounts cannot, the path spends what is left. A rule may ask
for everything (VPW's last year): the accounts are emptied and the target is what that
buys after tax. Rules that spend a share of what is left (constant, VPW, RMD-based)
cannot run out and succeed by construction: compare their spending instead.

Paths on which every tier earns the plan's deterministic return (`Plan.tier_returns`: the
lognormal median by default, the mean, i.e. zero volatility, under `return_basis = "mean"`)
reproduce the ledger (`result.yearly`) to the cent with the `fixed` rule (the plan's own
spending): the test of this module.

Timing and units as in the ledger: flows at the start of each year on opening balances;
yields on post-trade taxable holdings are reinvested (adding basis); then total growth.
Amounts are nominal dollars of their year unless a name says `_real` (today's dollars).
"""

from __future__ import annotations

import math
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import pandas as pd

from taxopt.cashflows import plan_flows
from taxopt.errors import InputError
from taxopt.marketplace import credit_income
from taxopt.plan import Plan
from taxopt.premiums import PlanPremiums
from taxopt.returns import ReturnModel, make_return_model
from taxopt.rules import AccountKind, Growth, RuleSet, WithdrawalTax
from taxopt.state_tax import OrdinaryParts, plan_state_tax_arrays
from taxopt.tax import compute_tax_arrays
from taxopt.validation import check_simulation_size

PERCENTILES = (5, 25, 50, 75, 95)
SECANT_STEPS = 12  # most gross-up steps per year (see `_gross_up`); most years need 4-6
SUCCESS_TOLERANCE = 0.5  # dollars: spending this close to the target counts as met ...
SUCCESS_RELATIVE = 1e-9  # ... or this share of it (float rounding on very large paths)
SPEND_ALL = np.inf  # a rule's target meaning "whatever is left, after tax"
SEQUENCE_YEARS = 10  # "first decade" of retirement for the sequence-risk figure
WORST_PATHS = 10


# ---------------------------------------------------------------------------------------
# The policy: the optimized plan's decisions as arrays indexed [year, account, tier]


@dataclass
class Policy:
    plan: Plan
    rules: RuleSet
    years: list[int]
    accounts: list[str]
    tiers: list[str]
    taxable: np.ndarray  # (A,) bool: growth taxed (lots, basis)
    ordinary_share: np.ndarray  # (A,) share of a withdrawal or conversion that is ordinary
    deductible: np.ndarray  # (A,) bool
    heir_keep: np.ndarray  # (A,) after-tax share of a closing balance for heirs
    yield_rate: np.ndarray  # (T,)
    yield_ordinary: np.ndarray  # (T,) bool
    yield_qualified: np.ndarray  # (T,) bool
    balances: np.ndarray  # (A, T) opening balances in the start year
    basis: np.ndarray  # (A, T)
    inflation_factor: np.ndarray  # (Y + 1,) for each year and the year after the horizon
    contributions: np.ndarray  # (Y, A) nominal
    withdrawals: np.ndarray  # (Y, A) nominal, the plan's
    conversions: list[tuple[int, int]]  # (source, destination) account indices
    conversion_amounts: np.ndarray  # (Y, K) nominal
    shares: np.ndarray  # (Y, A, T) post-trade tier shares
    sale_fraction: np.ndarray  # (Y, A, T) taxable: share of the holding the plan sold
    basis_fraction: np.ndarray  # (Y, A, T) taxable: share of the basis those sales used
    rmd_fraction: np.ndarray  # (Y, A) 1 / Uniform Lifetime divisor, 0 when none is due
    penalty: np.ndarray  # (Y, A) bool: withdrawals bear the early-withdrawal penalty
    rank: list[int]  # accounts in the order the plan draws them
    spending: np.ndarray  # (Y,) the plan's after-tax spending, nominal
    tax: np.ndarray  # (Y,) the plan's tax, nominal
    premiums_paid: np.ndarray  # (Y,) the premiums the plan's spending paid, nominal
    premiums: PlanPremiums  # what each year's premiums are (taxopt.premiums)
    wages: np.ndarray
    other_income: np.ndarray
    social_security: np.ndarray
    savings: np.ndarray
    wage_tax: np.ndarray
    pensions: np.ndarray  # (Y,) the pension part of other_income (a state may exempt it)
    year_rules: list[RuleSet]
    ages: list[tuple[int, ...]]
    retire_index: int
    # Accounts whose tax-free part has a lifetime limit, grouped by (owner, kind): the
    # account indices and the kind (UK lump sum allowance; AccountKind.tax_free_part).
    capped: list[tuple[list[int], AccountKind]] = field(default_factory=list)
    # (Y, G) the plan's chosen tax-free amounts of each group (decisions.tax_free), at
    # most what a path's withdrawals allow; NaN where the plan chose none (then a path
    # takes the fraction until the limit is used)
    tax_free_plan: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))

    @property
    def n_years(self) -> int:
        return len(self.years)

    @property
    def yield_ordinary_rate(self) -> np.ndarray:
        """(T,) yield taxed as ordinary income per dollar held in a taxable account."""
        return self.yield_rate * self.yield_ordinary

    @property
    def yield_qualified_rate(self) -> np.ndarray:
        return self.yield_rate * self.yield_qualified


def policy_from_result(result) -> Policy:
    """Read an optimize() Result's decisions as the arrays the simulator replays."""
    plan, rules, decisions = result.plan, result.rules, result.decisions
    years, accounts, tiers = plan.years, [a.name for a in plan.accounts], plan.tier_names
    kinds = [rules.account_kinds[a.kind] for a in plan.accounts]
    n_y, n_a = len(years), len(accounts)
    yearly = result.yearly.set_index("year")
    flows = plan_flows(plan, rules)

    conversions = sorted({(s, d) for (s, d, _y) in decisions.conversions})
    conversion_amounts = np.zeros((n_y, len(conversions)))
    for (s, d, y), amount in decisions.conversions.items():
        conversion_amounts[years.index(y), conversions.index((s, d))] += amount

    taxable = np.array([k.growth == Growth.TAXED for k in kinds])
    sale_fraction, basis_fraction = planned_sales(plan, decisions, taxable)
    rmd_fraction = np.zeros((n_y, n_a))
    penalty = np.zeros((n_y, n_a), dtype=bool)
    for j, account in enumerate(plan.accounts):
        owner = plan.owner(account.name)
        if owner is None:
            continue
        for i, y in enumerate(years):
            age = owner.age_in(y)
            rmd_fraction[i, j] = rules.rmd_amount(account.kind, age, owner.birth_year, 1.0)
            penalty[i, j] = rules.withdrawal_is_early(account.kind, age, y)

    retired = [i for i, y in enumerate(years) if y >= plan.retirement_year]
    return Policy(
        plan=plan,
        rules=rules,
        years=years,
        accounts=accounts,
        tiers=tiers,
        taxable=taxable,
        ordinary_share=np.array(
            [
                1.0 - k.tax_free_withdrawal_fraction
                if k.withdrawals == WithdrawalTax.ORDINARY
                else 0.0
                for k in kinds
            ]
        ),
        deductible=np.array([k.contributions == "deductible" for k in kinds]),
        heir_keep=np.array(
            [
                1.0 - plan.objective.heir_tax_rate if k.growth == Growth.DEFERRED else 1.0
                for k in kinds
            ]
        ),
        yield_rate=np.array([t.yield_rate for t in plan.tiers]),
        yield_ordinary=np.array([t.yield_character == "ordinary" for t in plan.tiers]),
        yield_qualified=np.array([t.yield_character == "qualified_dividends" for t in plan.tiers]),
        balances=np.array([[a.balances.get(t, 0.0) for t in tiers] for a in plan.accounts]),
        basis=np.array([[a.basis_of(t) for t in tiers] for a in plan.accounts]),
        inflation_factor=np.array([plan.inflation_factor(y) for y in [*years, years[-1] + 1]]),
        contributions=np.array([[decisions.contribution(a, y) for a in accounts] for y in years]),
        withdrawals=np.array([[decisions.withdrawal(a, y) for a in accounts] for y in years]),
        conversions=[(accounts.index(s), accounts.index(d)) for s, d in conversions],
        conversion_amounts=conversion_amounts,
        shares=holding_shares(plan, result.ledger.holdings),
        sale_fraction=sale_fraction,
        basis_fraction=basis_fraction,
        rmd_fraction=rmd_fraction,
        penalty=penalty,
        rank=draw_order(plan, decisions, kinds),
        spending=yearly["spending"].reindex(years).to_numpy(dtype=float),
        tax=yearly["total_tax"].reindex(years).to_numpy(dtype=float),
        premiums_paid=_premiums_paid(yearly, plan, years),
        premiums=PlanPremiums(plan, rules),
        wages=np.array([flows.wages(y) for y in years]),
        other_income=np.array([flows.other_income[y] for y in years]),
        social_security=np.array([flows.social_security[y] for y in years]),
        savings=np.array([flows.savings[y] for y in years]),
        wage_tax=np.array([flows.wage_tax[y] for y in years]),
        pensions=np.array([flows.pensions[y] for y in years]),
        year_rules=[rules.for_year(y, plan.inflation) for y in years],
        ages=[plan.ages_in(y) for y in years],
        retire_index=retired[0] if retired else n_y,
        capped=(capped := _capped_groups(plan, kinds)),
        tax_free_plan=_planned_tax_free(decisions, accounts, years, capped),
    )


def _premiums_paid(yearly: pd.DataFrame, plan: Plan, years: list[int]) -> np.ndarray:
    """(Y,) the premiums the ledger took from the plan's spending (nominal): IRMAA with
    options.irmaa, marketplace premiums net of the credit."""
    paid = pd.Series(0.0, index=yearly.index)
    if plan.options.irmaa and "irmaa" in yearly:
        paid = paid + yearly["irmaa"]
    if "aca_premium" in yearly:
        paid = paid + yearly["aca_premium"]
    return paid.reindex(years).to_numpy(dtype=float)


def _planned_tax_free(decisions, accounts: list[str], years: list[int], capped) -> np.ndarray:
    """(Y, G) the plan's tax-free amount of each capped group a year; NaN: not chosen."""
    out = np.full((len(years), len(capped)), np.nan)
    for g, (indices, _kind) in enumerate(capped):
        keys = [(accounts[j], y) for j in indices for y in years]
        if not any(k in decisions.tax_free for k in keys):
            continue
        for i, y in enumerate(years):
            out[i, g] = sum(decisions.tax_free.get((accounts[j], y), 0.0) for j in indices)
    return out


def _capped_groups(plan: Plan, kinds: list[AccountKind]) -> list[tuple[list[int], AccountKind]]:
    """Ordinary accounts whose tax-free part has a lifetime limit, by (owner, kind)."""
    groups: dict[tuple, tuple[list[int], AccountKind]] = {}
    for j, (account, kind) in enumerate(zip(plan.accounts, kinds, strict=True)):
        if kind.tax_free_lifetime_limit is not None and kind.withdrawals == WithdrawalTax.ORDINARY:
            groups.setdefault((account.owner, account.kind), ([], kind))[0].append(j)
    return list(groups.values())


def holding_shares(plan: Plan, holdings: pd.DataFrame) -> np.ndarray:
    """(year, account, tier) post-trade shares; an empty account keeps its nearest shares
    (earlier years first), else the profile's weights."""
    years, accounts, tiers = plan.years, [a.name for a in plan.accounts], plan.tier_names
    table = (
        holdings.pivot_table(
            index=["year", "account"], columns="tier", values="post_trade", aggfunc="sum"
        )
        .reindex(pd.MultiIndex.from_product([years, accounts]))
        .reindex(columns=tiers)
        .fillna(0.0)
        .clip(lower=0.0)
    )
    dollars = table.to_numpy().reshape(len(years), len(accounts), len(tiers))
    totals = dollars.sum(axis=2, keepdims=True)
    shares = np.where(totals > 0, dollars / np.where(totals > 0, totals, 1.0), np.nan)
    default = np.array([plan.profile.weights.get(t, 0.0) for t in tiers])
    for j in range(len(accounts)):
        frame = pd.DataFrame(shares[:, j, :]).ffill().bfill()
        shares[:, j, :] = frame.fillna(pd.Series(default)).to_numpy()
    return shares


def planned_sales(plan: Plan, decisions, taxable: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each (year, account, tier) of a taxable account: the share of the holding the
    plan's lot sales sold, and the share of the holding's basis those lots carried.

    Walks the plan's lots under its deterministic returns, valued as the ledger values them
    (a purchase is one unit per dollar; yields add basis; then total growth).
    """
    years, tiers = plan.years, plan.tier_names
    n_y, n_a, n_t = len(years), len(plan.accounts), len(tiers)
    sale = np.zeros((n_y, n_a, n_t))
    used = np.zeros((n_y, n_a, n_t))
    growth = plan.tier_growth
    yields = {t.name: t.yield_rate for t in plan.tiers}
    lots = _opening_lots(plan, taxable)
    sales_by_year: dict[tuple[str, int], list] = defaultdict(list)
    for (acct, tier, bought, opening, sold), units in decisions.lot_sales.items():
        sales_by_year[acct, sold].append((tier, bought, opening, units))
    for i, year in enumerate(years):
        for j, account in enumerate(plan.accounts):
            if not taxable[j]:
                continue
            name = account.name
            value, basis = _holding(lots, name, tiers)
            sold, sold_basis = _sell(lots, name, tiers, sales_by_year[name, year])
            for k, t in enumerate(tiers):
                sale[i, j, k] = min(1.0, sold[t] / value[t]) if value[t] > 0 else 0.0
                used[i, j, k] = min(1.0, sold_basis[t] / basis[t]) if basis[t] > 0 else 0.0
            for t in tiers:
                amount = decisions.buys.get((name, t, year), 0.0)
                if amount > 0:
                    lots[name, t, year, False] = [amount, 1.0, 1.0]
        for (_a, tier, _y, _o), lot in lots.items():
            lot[2] += yields[tier] * lot[1]
            lot[1] *= growth[tier]
    return sale, used


# A lot of planned_sales: (account, tier, year, opening) -> [units, value/unit, basis/unit].
Lots = dict[tuple[str, str, int, bool], list[float]]


def _opening_lots(plan: Plan, taxable: np.ndarray) -> Lots:
    """Today's holdings of taxable accounts as lots of one unit per dollar."""
    lots: Lots = {}
    for j, account in enumerate(plan.accounts):
        if not taxable[j]:
            continue
        for t in plan.tier_names:
            balance = account.balances.get(t, 0.0)
            if balance > 0:
                lots[account.name, t, plan.start_year, True] = [
                    balance,
                    1.0,
                    account.basis_of(t) / balance,
                ]
    return lots


def _holding(lots: Lots, account: str, tiers: list[str]) -> tuple[dict, dict]:
    """Value and basis per tier of an account's lots."""
    value = dict.fromkeys(tiers, 0.0)
    basis = dict.fromkeys(tiers, 0.0)
    for (acct, tier, _y, _o), (units, vpu, bpu) in lots.items():
        if acct == account:
            value[tier] += units * vpu
            basis[tier] += units * bpu
    return value, basis


def _sell(lots: Lots, account: str, tiers: list[str], sales: list) -> tuple[dict, dict]:
    """Take the year's lot sales (tier, bought, opening, units) out of `lots`; the value and
    basis sold per tier."""
    sold = dict.fromkeys(tiers, 0.0)
    sold_basis = dict.fromkeys(tiers, 0.0)
    for tier, bought, opening, units in sales:
        lot = lots.get((account, tier, bought, opening))
        if lot is None or units <= 0:
            continue
        units = min(units, lot[0])
        sold[tier] += units * lot[1]
        sold_basis[tier] += units * lot[2]
        lot[0] -= units
    return sold, sold_basis


def draw_order(plan: Plan, decisions, kinds) -> list[int]:
    """Accounts by the amount-weighted mean year of the plan's real withdrawals; accounts
    never drawn come last (taxable, then deferred, then exempt)."""
    keys = []
    kind_order = {Growth.TAXED: 0, Growth.DEFERRED: 1, Growth.EXEMPT: 2}
    for j, account in enumerate(plan.accounts):
        amounts = [
            (y, decisions.withdrawal(account.name, y) / plan.inflation_factor(y))
            for y in plan.years
        ]
        total = sum(a for _, a in amounts if a > 0)
        mean_year = sum(y * a for y, a in amounts if a > 0) / total if total > 0 else math.inf
        keys.append((mean_year, kind_order[kinds[j].growth], j))
    return [j for *_rest, j in sorted(keys)]


# ---------------------------------------------------------------------------------------
# Withdrawal rules: each sets the real after-tax spending target of a retirement year


@dataclass
class YearView:
    """What a withdrawal rule sees in a retirement year (real = today's dollars)."""

    index: int  # position in plan.years
    since_retirement: int  # 0 in the first retirement year
    remaining: int  # years left including this one
    portfolio_real: np.ndarray  # (P,) opening balances of all accounts, pre-tax
    income_real: float  # Social Security, pensions and other income
    plan_spending_real: float  # the optimized plan's spending this year
    last_return: np.ndarray  # (P,) the portfolio's total return last year
    age: int  # the oldest person's age at the end of the year
    inflation: float


class WithdrawalRule(Protocol):
    name: str

    def start(self, paths: int, policy: Policy) -> None: ...

    def target_real(self, view: YearView) -> np.ndarray | float: ...

    def describe(self) -> str: ...


@dataclass
class FixedReal:
    """Constant real spending. `rate=None`: the optimized plan's own spending each year.
    `rate`: Bengen (1994): the first retirement year's portfolio times `rate`, then held
    in real terms, plus the household's income.

    Spending here is after tax (the tax is drawn on top), so a 4% rate asks more of the
    portfolio than Bengen's 4% pre-tax withdrawal.
    """

    rate: float | None = None
    name: str = "fixed"
    _part: np.ndarray | None = field(default=None, repr=False)

    def start(self, paths: int, policy: Policy) -> None:
        self._part = None

    def target_real(self, view: YearView) -> np.ndarray | float:
        if self.rate is None:
            return view.plan_spending_real
        if self._part is None:
            self._part = self.rate * view.portfolio_real
        return self._part + view.income_real

    def describe(self) -> str:
        if self.rate is None:
            return "fixed real: the optimized plan's own spending each year"
        return f"fixed real (Bengen): {self.rate:.1%} of the portfolio at retirement + income"


@dataclass
class ConstantLevel:
    """A constant real after-tax spending level through retirement, income included
    (today's dollars); an array gives each path its own level (the stress search)."""

    level_real: float | np.ndarray
    name: str = "level"

    def start(self, paths: int, policy: Policy) -> None:
        pass

    def target_real(self, view: YearView) -> np.ndarray | float:
        return self.level_real

    def describe(self) -> str:
        if np.ndim(self.level_real):
            return "constant real spending, a level per path"
        return f"constant real spending of ${float(self.level_real):,.0f} a year"


@dataclass
class ConstantPercentage:
    """Spend `rate` x this year's opening portfolio, plus income."""

    rate: float = 0.04
    name: str = "constant"

    def start(self, paths: int, policy: Policy) -> None:
        pass

    def target_real(self, view: YearView) -> np.ndarray:
        return self.rate * view.portfolio_real + view.income_real

    def describe(self) -> str:
        return f"constant percentage: {self.rate:.1%} of each year's portfolio + income"


@dataclass
class Guardrails:
    """Guyton & Klinger (2006), "Decision Rules and Maximum Initial Withdrawal Rates",
    Journal of Financial Planning 19(3), with their published parameters:

    - withdrawal rule: the amount rises with inflation (at most 6%) each year, except after
      a year of negative portfolio return when the current rate exceeds the initial rate;
    - capital preservation: if the current rate (amount / portfolio) exceeds the initial
      rate by more than 20%, cut the amount by 10%; not in the last 15 years;
    - prosperity: if the current rate falls more than 20% below the initial rate, raise the
      amount by 10%.

    The amount is the portfolio's part of after-tax spending (income comes on top, tax is
    drawn on top). `initial_rate` 0.05 is our default, below the paper's maximum rates.
    """

    initial_rate: float = 0.05
    guardrail: float = 0.20
    adjustment: float = 0.10
    preservation_stop_years: int = 15
    max_inflation_raise: float = 0.06
    name: str = "guardrails"
    _part: np.ndarray | None = field(default=None, repr=False)
    cuts: np.ndarray | None = field(default=None, repr=False)  # (P,) cuts so far
    raises: np.ndarray | None = field(default=None, repr=False)

    def start(self, paths: int, policy: Policy) -> None:
        self._part = None
        self.cuts = np.zeros(paths, dtype=int)
        self.raises = np.zeros(paths, dtype=int)

    def target_real(self, view: YearView) -> np.ndarray:
        portfolio = view.portfolio_real
        if self._part is None:
            self._part = self.initial_rate * portfolio
            return self._part + view.income_real
        assert self.cuts is not None and self.raises is not None
        raise_factor = (1.0 + min(view.inflation, self.max_inflation_raise)) / (
            1.0 + view.inflation
        )
        part = self._part * raise_factor  # real amount after this year's inflation raise
        rate = _rate(part, portfolio)
        frozen = (view.last_return < 0) & (rate > self.initial_rate)
        part = np.where(frozen, self._part / (1.0 + view.inflation), part)
        rate = _rate(part, portfolio)
        cut = rate > self.initial_rate * (1.0 + self.guardrail)
        if view.remaining <= self.preservation_stop_years:
            cut = np.zeros_like(cut)
        lift = rate < self.initial_rate * (1.0 - self.guardrail)
        part = np.where(cut, part * (1.0 - self.adjustment), part)
        part = np.where(lift, part * (1.0 + self.adjustment), part)
        self.cuts += cut
        self.raises += lift
        self._part = part
        return part + view.income_real

    def describe(self) -> str:
        return (
            f"Guyton-Klinger guardrails: initial {self.initial_rate:.1%}, "
            f"+/-{self.guardrail:.0%} guardrails, {self.adjustment:.0%} cuts/raises"
        )


def _rate(part: np.ndarray, portfolio: np.ndarray) -> np.ndarray:
    return np.where(portfolio > 0, part / np.where(portfolio > 0, portfolio, 1.0), np.inf)


@dataclass
class VanguardDynamic:
    """Jaconetti, Kinniry & DiJoseph (Vanguard Research, 2013), "A more dynamic approach to
    spending for investors in retirement": `rate` x the portfolio, but the real amount may
    rise at most 5% (ceiling) and fall at most 2.5% (floor) from the year before."""

    rate: float = 0.04
    ceiling: float = 0.05
    floor: float = -0.025
    name: str = "vanguard"
    _part: np.ndarray | None = field(default=None, repr=False)

    def start(self, paths: int, policy: Policy) -> None:
        self._part = None

    def target_real(self, view: YearView) -> np.ndarray:
        proposed = self.rate * view.portfolio_real
        if self._part is not None:
            proposed = np.clip(
                proposed, self._part * (1.0 + self.floor), self._part * (1.0 + self.ceiling)
            )
        self._part = proposed
        return proposed + view.income_real

    def describe(self) -> str:
        return (
            f"Vanguard dynamic spending: {self.rate:.1%} of the portfolio, real change "
            f"between {self.floor:+.1%} and {self.ceiling:+.1%} a year"
        )


@dataclass
class VariablePercentage:
    """VPW (Bogleheads): spend the level payment that would use up the portfolio over the
    plan's remaining years at a stated real return, paid at the start of each year:
    rate = r / ((1 + r) (1 - (1 + r)^-n)), or 1/n when r = 0. In the last year the rate is
    1: the household spends whatever is left after that year's tax (and meets its target)."""

    real_return: float = 0.03
    name: str = "vpw"

    def start(self, paths: int, policy: Policy) -> None:
        pass

    def target_real(self, view: YearView) -> np.ndarray:
        if view.remaining <= 1:  # the last year: spend what is left after its tax
            return SPEND_ALL
        return vpw_rate(self.real_return, view.remaining) * view.portfolio_real + view.income_real

    def describe(self) -> str:
        return f"variable percentage (VPW) at a {self.real_return:.1%} real return to the horizon"


def vpw_rate(real_return: float, years: int) -> float:
    """Share of the portfolio to spend this year to use it up in `years` level payments."""
    if years <= 1:
        return 1.0
    r = real_return
    if r == 0:
        return 1.0 / years
    return r / ((1.0 + r) * (1.0 - (1.0 + r) ** -years))


@dataclass
class RmdBased:
    """Spend the portfolio divided by the Uniform Lifetime Table divisor at the oldest
    person's age (the rule set's [rmd] table; before its first age, its first divisor)."""

    name: str = "rmd"
    _rules: RuleSet | None = field(default=None, repr=False)

    def start(self, paths: int, policy: Policy) -> None:
        if policy.rules.rmd is None:
            raise InputError(
                f"withdrawal rmd: rule set {policy.rules.name} has no [rmd] table; choose "
                "another withdrawal rule"
            )
        self._rules = policy.rules

    def target_real(self, view: YearView) -> np.ndarray:
        assert self._rules is not None and self._rules.rmd is not None
        rmd = self._rules.rmd
        return view.portfolio_real / rmd.divisor(rmd.table_age(view.age)) + view.income_real

    def describe(self) -> str:
        return "RMD-based: the portfolio / Uniform Lifetime Table divisor, + income"


WITHDRAWAL_RULES = {
    "fixed": FixedReal,
    "bengen": lambda: FixedReal(rate=0.04, name="bengen"),
    "constant": ConstantPercentage,
    "guardrails": Guardrails,
    "vanguard": VanguardDynamic,
    "vpw": VariablePercentage,
    "rmd": RmdBased,
}


def make_withdrawal_rule(spec: str | WithdrawalRule) -> WithdrawalRule:
    if not isinstance(spec, str):
        return spec
    if spec not in WITHDRAWAL_RULES:
        raise InputError(
            f"withdrawal '{spec}' is unknown; use one of {', '.join(WITHDRAWAL_RULES)}"
        )
    return WITHDRAWAL_RULES[spec]()


# ---------------------------------------------------------------------------------------
# The engine


@dataclass
class _Paths:
    """What the engine records, year-major: arrays (Y, P) or (Y, A, P)."""

    spending: np.ndarray  # nominal
    target: np.ndarray  # nominal
    tax: np.ndarray  # nominal
    premiums: np.ndarray  # nominal, paid from spending (IRMAA, net marketplace)
    withdrawals: np.ndarray  # (Y, A, P) nominal
    closing: np.ndarray  # (Y, A, P) nominal
    wealth_real: np.ndarray  # after-tax closing wealth, today's dollars
    portfolio_return: np.ndarray
    realized_gains: np.ndarray  # nominal
    gross_up_residual: float = 0.0  # largest |need - gross| / need left by the secant steps


@dataclass
class _Trade:
    """A year's draws and taxable trades for candidate withdrawals, not yet committed."""

    withdrawals: np.ndarray  # (A, P)
    post: dict[int, np.ndarray]  # taxable account -> (T, P) post-trade holdings
    basis: dict[int, np.ndarray]  # taxable account -> (T, P) post-trade basis
    gains: np.ndarray  # (P,)
    tax: np.ndarray  # (P,)
    premiums: np.ndarray  # (P,) IRMAA and net marketplace premiums paid from spending
    magi: np.ndarray  # (P,) the year's MAGI (a later year's IRMAA reads it)


class _Year:
    """One year of the replay on all paths (arrays path-last: (A, T, P), (A, P), (P,))."""

    def __init__(
        self,
        policy: Policy,
        i: int,
        balances: np.ndarray,
        basis: np.ndarray,
        taken: np.ndarray | None = None,
        magi: dict[int, np.ndarray] | None = None,
    ):
        self.p, self.i = policy, i
        # (G, P): taken tax free so far by each group of policy.capped, on each path
        self.taken = taken if taken is not None else np.zeros((len(policy.capped), 0))
        year = policy.years[i]
        # IRMAA: set by the MAGI of an earlier year (`magi`: each path's, by year), so the
        # same for every draw this year.
        due = policy.premiums.irmaa(year, policy.year_rules[i], magi or {})
        self.irmaa = policy.premiums.irmaa_paid(due)
        self.balances, self.basis = balances, basis
        self.opening = balances.sum(axis=1)  # (A, P)
        contrib = policy.contributions[i]
        self.contrib = contrib
        rmd = self.opening * policy.rmd_fraction[i][:, None]
        conv_out = np.zeros_like(self.opening)
        conv_in = np.zeros_like(self.opening)
        for k, (s, d) in enumerate(policy.conversions):
            room = np.maximum(0.0, self.opening[s] + contrib[s] - rmd[s] - conv_out[s])
            amount = np.minimum(policy.conversion_amounts[i, k], room)
            conv_out[s] += amount
            conv_in[d] += amount
        self.conv_out, self.conv_in = conv_out, conv_in
        self.high = np.maximum(self.opening + contrib[:, None] + conv_in - conv_out, 0.0)
        self.low = np.minimum(rmd, self.high)
        self.base = np.clip(policy.withdrawals[i][:, None], self.low, self.high)
        self.base_total = self.base.sum(axis=0)
        self.capacity = self.high.sum(axis=0)
        self.taxable_index = [j for j in range(len(policy.accounts)) if policy.taxable[j]]
        self.income = (
            policy.social_security[i]
            + policy.other_income[i]
            + policy.savings[i]
            + policy.wage_tax[i]
        )
        self.contrib_total = float(contrib.sum())
        self.deductible = float((contrib * policy.deductible).sum())
        # Taxed income that does not depend on the draw: conversions (ordinary).
        self.ordinary_fixed = np.zeros(balances.shape[2])
        for j in range(len(policy.accounts)):
            if policy.ordinary_share[j] > 0:
                self.ordinary_fixed += conv_out[j] * policy.ordinary_share[j]

    def allocate(self, gross: np.ndarray) -> np.ndarray:
        """Per-account withdrawals (A, P) summing to `gross` where the accounts allow."""
        w = self.base.copy()
        gap = gross - self.base_total
        for j in self.p.rank:
            take = np.clip(gap, 0.0, self.high[j] - w[j])
            w[j] += take
            gap -= take
        for j in reversed(self.p.rank):
            give = np.clip(-gap, 0.0, w[j] - self.low[j])
            w[j] -= give
            gap += give
        if self.taxable_index:  # cash an RMD forced beyond the need: reinvest it
            w[self.taxable_index[0]] += np.minimum(gap, 0.0)
        return w

    def trade(self, w: np.ndarray) -> _Trade:
        """Taxable trades and the year's tax for withdrawals `w` (sheltered accounts need
        no trade to know the tax)."""
        post, basis = {}, {}
        gains = np.zeros(w.shape[1])
        for j in self.taxable_index:
            post[j], basis[j], g = self._taxable(j, w[j])
            gains += g
        return _Trade(w, post, basis, gains, *self._tax(w, post, gains))

    def holdings(self, trade: _Trade) -> tuple[np.ndarray, np.ndarray]:
        """Post-trade holdings and basis (A, T, P) of every account for a final trade."""
        p, i = self.p, self.i
        post = np.empty_like(self.balances)
        basis = self.basis.copy()
        w = trade.withdrawals
        for j in range(len(p.accounts)):
            if p.taxable[j]:
                post[j], basis[j] = trade.post[j], trade.basis[j]
            else:
                total = self.opening[j] + self.contrib[j] - w[j]
                total = np.maximum(total - self.conv_out[j] + self.conv_in[j], 0.0)
                post[j] = p.shares[i, j][:, None] * total
        return post, basis

    def _taxable(self, j: int, w: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        p, i = self.p, self.i
        value, basis = self.balances[j], self.basis[j]  # (T, P)
        sold = p.sale_fraction[i, j][:, None] * value
        sold_basis = p.basis_fraction[i, j][:, None] * basis
        left, left_basis = value - sold, basis - sold_basis
        total = np.maximum(self.opening[j] + self.contrib[j] - w, 0.0)
        target = p.shares[i, j][:, None] * total
        change = target - left
        bought = np.maximum(change, 0.0)
        extra = np.maximum(-change, 0.0)  # further sales, at average cost
        held = left > 0
        extra_basis = extra * np.where(held, left_basis / np.where(held, left, 1.0), 0.0)
        gains = (sold - sold_basis).sum(axis=0) + (extra - extra_basis).sum(axis=0)
        return target, left_basis + bought - extra_basis, gains

    def _tax(
        self, w: np.ndarray, post: dict[int, np.ndarray], gains: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(tax, premiums paid, MAGI) per path for withdrawals `w`."""
        p, i = self.p, self.i
        ordinary = self.ordinary_fixed.copy()
        early = np.zeros(w.shape[1])
        for j in range(len(p.accounts)):
            if p.ordinary_share[j] > 0:
                ordinary += w[j] * p.ordinary_share[j]
                if p.penalty[i, j]:
                    early += w[j]
        ordinary += self.tax_free_beyond_limit(w)[1]
        ordinary_yield = np.zeros(w.shape[1])
        qualified_yield = np.zeros(w.shape[1])
        for holdings in post.values():
            ordinary_yield += p.yield_ordinary_rate @ holdings
            qualified_yield += p.yield_qualified_rate @ holdings
        income = dict(
            ordinary_income=np.maximum(
                0.0, p.wages[i] + p.other_income[i] + ordinary + ordinary_yield - self.deductible
            ),
            investment_ordinary_income=ordinary_yield,
            qualified_dividends=qualified_yield,
            ltcg=np.maximum(0.0, gains),
            social_security=p.social_security[i],
        )
        year = p.years[i]
        status, ages = p.plan.filing_status, p.ages[i]
        tax = compute_tax_arrays(
            p.year_rules[i], status, ages, early_distributions=early, year=year, **income
        )
        # The state's tax on the same figures, as the ledger charges it (0 without one).
        parts = OrdinaryParts(ira_distributions=ordinary, pension_income=p.pensions[i])
        state = plan_state_tax_arrays(
            p.plan.state, year, p.plan.inflation, status, ages, income, tax, parts
        )
        household = credit_income(tax, p.social_security[i])
        marketplace = p.premiums.marketplace_net(year, p.year_rules[i], household)
        premiums = np.broadcast_to(self.irmaa + marketplace, w.shape[1:])
        return tax.total_tax + state, premiums, np.broadcast_to(tax.magi, w.shape[1:])

    def tax_free_beyond_limit(self, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(G, P) tax-free parts taken this year by each capped group, and (P,) the part of
        the fractions the lifetime limits leave taxed (ordinary income on top of
        ordinary_share), for withdrawals `w` (A, P) and the year's conversions."""
        free = np.zeros_like(self.taken)
        excess = np.zeros(w.shape[1])
        for g, (indices, kind) in enumerate(self.p.capped):
            drawn = sum(w[j] + self.conv_out[j] for j in indices)
            free[g] = kind.tax_free_part(drawn, self.taken[g])
            chosen = self.p.tax_free_plan[self.i, g]
            if not np.isnan(chosen):
                free[g] = np.minimum(free[g], chosen)
            excess += kind.tax_free_withdrawal_fraction * drawn - free[g]
        return free, excess

    def need(self, trade: _Trade, target: np.ndarray) -> np.ndarray:
        """Gross withdrawal that funds `target` spending given this trade's tax."""
        return target + trade.tax + trade.premiums + self.contrib_total - self.income

    def spending(self, trade: _Trade) -> np.ndarray:
        """The ledger's identity: what is left to spend after contributions and tax."""
        return (
            trade.withdrawals.sum(axis=0)
            + self.income
            - self.contrib_total
            - trade.tax
            - trade.premiums
        )


def _gross_up(year: _Year, target: np.ndarray, start: np.ndarray) -> tuple[_Trade, float]:
    """Solve gross = need(gross) per path by at most SECANT_STEPS secant steps.

    need(gross) - gross falls with slope (marginal tax rate - 1); the first step is the
    plain fixed-point step, later ones use the secant slope (clipped to [-1.5, -0.05]),
    which settles in four to six steps on the piecewise-linear tax (a few paths that
    cross several kinks need up to ten). Stops early once
    every path is within a millionth of a dollar. Returns the final trade and the largest
    relative residual among paths the accounts can still fund.
    """
    gross = start
    previous: tuple[np.ndarray, np.ndarray] | None = None
    for _ in range(SECANT_STEPS):
        trade = year.trade(year.allocate(gross))
        gap = year.need(trade, target) - gross
        if np.abs(gap).max() <= 1e-6:
            break
        if previous is None:
            slope = np.full_like(gross, -1.0)
        else:
            moved = gross - previous[0]
            ok = np.abs(moved) > 1e-9
            slope = np.where(ok, (gap - previous[1]) / np.where(ok, moved, 1.0), -1.0)
            slope = np.clip(slope, -1.5, -0.05)
        previous = (gross, gap)
        gross = gross - gap / slope
    else:
        trade = year.trade(year.allocate(gross))
    need = year.need(trade, target)
    residual = np.abs(need - trade.withdrawals.sum(axis=0)) / np.maximum(np.abs(need), 1.0)
    # where RMDs force more than the need, or the accounts hold less, there is no root
    funded = (need < year.capacity - 1.0) & (need > year.low.sum(axis=0) + 1.0)
    return trade, float(residual[funded].max()) if funded.any() else 0.0


class _Progress:
    """A one-line progress bar on stderr."""

    def __init__(self, total: int, enabled: bool, label: str):
        self.total, self.enabled, self.label = total, enabled, label
        self.started = time.perf_counter()

    def update(self, done: int, year: int) -> None:
        if not self.enabled:
            return
        width = 30
        filled = int(width * done / self.total)
        elapsed = time.perf_counter() - self.started
        sys.stderr.write(
            f"\r{self.label} [{'#' * filled}{'.' * (width - filled)}] {done}/{self.total} "
            f"years ({year}) {elapsed:.1f} s"
        )
        if done == self.total:
            sys.stderr.write("\n")
        sys.stderr.flush()


def run_paths(
    policy: Policy, returns: np.ndarray, rule: WithdrawalRule, progress: _Progress | None = None
) -> _Paths:
    """Replay the policy on every path (returns: (P, Y, T) nominal annual returns)."""
    n_p, n_y = returns.shape[0], policy.n_years
    n_a = len(policy.accounts)
    growth = np.ascontiguousarray(1.0 + returns.transpose(1, 2, 0))  # (Y, T, P)
    balances = np.repeat(policy.balances[:, :, None], n_p, axis=2)  # (A, T, P)
    basis = np.repeat((policy.basis * policy.taxable[:, None])[:, :, None], n_p, axis=2)
    out = _Paths(
        spending=np.zeros((n_y, n_p)),
        target=np.zeros((n_y, n_p)),
        tax=np.zeros((n_y, n_p)),
        premiums=np.zeros((n_y, n_p)),
        withdrawals=np.zeros((n_y, n_a, n_p)),
        closing=np.zeros((n_y, n_a, n_p)),
        wealth_real=np.zeros((n_y, n_p)),
        portfolio_return=np.zeros((n_y, n_p)),
        realized_gains=np.zeros((n_y, n_p)),
    )
    rule.start(n_p, policy)
    ages = [max(a) for a in policy.ages]
    yields = (policy.yield_rate[None, :] * policy.taxable[:, None])[:, :, None]  # (A, T, 1)
    last_return = np.zeros(n_p)
    taken = np.zeros((len(policy.capped), n_p))  # lifetime tax-free amounts so far
    magi: dict[int, np.ndarray] = {}  # each path's MAGI by year, for IRMAA's lookback
    for i in range(n_y):
        infl = policy.inflation_factor[i]
        year = _Year(policy, i, balances, basis, taken, magi)
        if i >= policy.retire_index:
            view = YearView(
                index=i,
                since_retirement=i - policy.retire_index,
                remaining=n_y - i,
                portfolio_real=year.opening.sum(axis=0) / infl,
                income_real=(policy.social_security[i] + policy.other_income[i]) / infl,
                plan_spending_real=policy.spending[i] / infl,
                last_return=last_return,
                age=ages[i],
                inflation=policy.plan.inflation,
            )
            target = np.broadcast_to(np.asarray(rule.target_real(view), float) * infl, (n_p,))
        else:
            target = np.full(n_p, policy.spending[i])
        spend_all = np.isinf(target)
        if spend_all.any():  # more than the accounts can fund: they are emptied
            target = np.where(spend_all, 2.0 * (year.capacity + abs(year.income)) + 1.0, target)
        start = target + year.contrib_total - year.income + policy.tax[i] + policy.premiums_paid[i]
        trade, residual = _gross_up(year, target, start)
        out.gross_up_residual = max(out.gross_up_residual, residual)

        taken = taken + year.tax_free_beyond_limit(trade.withdrawals)[0]
        post, basis = year.holdings(trade)
        basis += post * yields  # yields on taxable holdings are reinvested
        balances = post * growth[i]
        before = post.sum(axis=(0, 1))
        closing = balances.sum(axis=1)  # (A, P)
        after = closing.sum(axis=0)
        last_return = np.where(before > 0, after / np.where(before > 0, before, 1.0) - 1.0, 0.0)

        out.spending[i] = year.spending(trade)
        out.target[i] = np.where(spend_all, out.spending[i], target)
        out.tax[i] = trade.tax
        out.premiums[i] = trade.premiums
        magi[policy.years[i]] = trade.magi
        out.withdrawals[i] = trade.withdrawals
        out.closing[i] = closing
        out.wealth_real[i] = policy.heir_keep @ closing / policy.inflation_factor[i + 1]
        out.portfolio_return[i] = last_return
        out.realized_gains[i] = trade.gains
        if progress is not None:
            progress.update(i + 1, policy.years[i])
    return out


# ---------------------------------------------------------------------------------------
# The result


@dataclass
class Simulation:
    """A stress test's paths and the figures read from them (real = today's dollars)."""

    policy: Policy
    paths: int
    seed: int | None
    returns_model: str
    rule: WithdrawalRule
    returns: np.ndarray  # (P, Y, T) annual nominal returns of each path
    spending_real: np.ndarray  # (P, Y)
    target_real: np.ndarray  # (P, Y)
    tax: np.ndarray  # (P, Y) nominal
    premiums: np.ndarray  # (P, Y) nominal: IRMAA and net marketplace premiums paid
    withdrawals: np.ndarray  # (P, Y, A) nominal
    closing: np.ndarray  # (P, Y, A) nominal closing balance per account
    wealth_real: np.ndarray  # (P, Y) after-tax closing wealth
    portfolio_return: np.ndarray  # (P, Y)
    realized_gains: np.ndarray  # (P, Y) nominal
    seconds: float
    gross_up_residual: float
    _comparison: pd.DataFrame | None = field(default=None, repr=False)

    @property
    def years(self) -> list[int]:
        return self.policy.years

    @property
    def withdrawal(self) -> str:
        return self.rule.name

    @property
    def met(self) -> np.ndarray:
        """(P, Y) bool: the year's spending met its target."""
        slack = np.maximum(SUCCESS_TOLERANCE, SUCCESS_RELATIVE * np.abs(self.target_real))
        return self.spending_real >= self.target_real - slack

    @property
    def success(self) -> np.ndarray:
        """(P,) bool: every year's spending met to the horizon."""
        return self.met.all(axis=1)

    @property
    def success_rate(self) -> float:
        return float(self.success.mean())

    @property
    def shortfall_year(self) -> np.ndarray:
        """(P,) first year spending fell short of its target (0 when it never did)."""
        short = ~self.met
        first = np.argmax(short, axis=1)
        return np.where(short.any(axis=1), np.asarray(self.years)[first], 0)

    @property
    def percentiles(self) -> pd.DataFrame:
        """Percentiles (5/25/50/75/95) across paths of real spending and real after-tax
        wealth at the end of each year, one row per year."""
        columns = {}
        for label, data in (
            ("spending_real", self.spending_real),
            ("wealth_real", self.wealth_real),
        ):
            values = np.percentile(data, PERCENTILES, axis=0)
            for q, row in zip(PERCENTILES, values, strict=True):
                columns[f"{label}_p{q}"] = row
        return pd.DataFrame(columns, index=pd.Index(self.years, name="year"))

    def _window(self) -> tuple[slice, slice]:
        start = min(self.policy.retire_index, len(self.years) - 1)
        return slice(start, start + SEQUENCE_YEARS), slice(start, len(self.years))

    def annualized_returns(self) -> tuple[np.ndarray, np.ndarray]:
        """(P,) annualized portfolio returns over the first decade of retirement and over
        the whole retirement (geometric means of the post-trade-weighted yearly returns)."""
        first, full = self._window()
        logs = np.log1p(np.maximum(self.portfolio_return, -0.999999))
        return np.expm1(logs[:, first].mean(axis=1)), np.expm1(logs[:, full].mean(axis=1))

    @property
    def outcome_real(self) -> np.ndarray:
        """(P,) a path's whole outcome: real spending over retirement plus real after-tax
        wealth at the horizon (a rule that spends everything still has an outcome)."""
        return self._retired_spending().sum(axis=1) + self.wealth_real[:, -1]

    @property
    def sequence_risk(self) -> dict[str, float]:
        """How much of the spread of outcomes the first decade's returns explain.

        R^2 of the log outcome (`outcome_real`, floored at $1) regressed on the annualized
        portfolio return of the first ten retirement years, beside the same R^2 for the
        whole retirement's annualized return. A first-decade R^2 close to the whole-horizon
        one means the early returns, not only the average, decide the outcome.
        """
        first, full = self.annualized_returns()
        outcome = np.log(np.maximum(self.outcome_real, 1.0))
        return {
            "r2_first_decade": _r_squared(first, outcome),
            "r2_full_horizon": _r_squared(full, outcome),
            "median_first_decade_return": float(np.median(first)),
            "median_full_horizon_return": float(np.median(full)),
        }

    @property
    def worst_paths(self) -> pd.DataFrame:
        """The paths that fall short soonest, then those ending with least wealth."""
        first, full = self.annualized_returns()
        short = self.shortfall_year
        order = np.lexsort((self.wealth_real[:, -1], np.where(short > 0, short, 10**6)))
        lowest = self._retired_spending().min(axis=1)
        rows = [
            {
                "path": int(k),
                "shortfall_year": int(short[k]) if short[k] else None,
                "min_spending_real": float(lowest[k]),
                "final_wealth_real": float(self.wealth_real[k, -1]),
                "first_decade_return": float(first[k]),
                "full_horizon_return": float(full[k]),
            }
            for k in order[:WORST_PATHS]
        ]
        return pd.DataFrame(rows)

    def _retired_spending(self) -> np.ndarray:
        """(P, years in retirement) real spending; all years if the plan never retires."""
        retired = self.spending_real[:, self.policy.retire_index :]
        return retired if retired.shape[1] else self.spending_real

    def yearly_path(self, path: int) -> pd.DataFrame:
        """One path's year-by-year figures (nominal unless _real), ledger-style columns."""
        frame = pd.DataFrame({"year": self.years})
        for j, name in enumerate(self.policy.accounts):
            frame[f"withdrawal_{name}"] = self.withdrawals[path, :, j]
            frame[f"closing_{name}"] = self.closing[path, :, j]
        frame["total_tax"] = self.tax[path]
        frame["premiums"] = self.premiums[path]
        frame["realized_gains"] = self.realized_gains[path]
        frame["spending_real"] = self.spending_real[path]
        frame["target_real"] = self.target_real[path]
        frame["portfolio_closing"] = self.closing[path].sum(axis=1)
        frame["after_tax_wealth_real"] = self.wealth_real[path]
        frame["portfolio_return"] = self.portfolio_return[path]
        return frame

    def compare_rules(self, names: list[str] | None = None) -> pd.DataFrame:
        """Each withdrawal rule run once on these same return paths, side by side."""
        if names is None and self._comparison is not None:
            return self._comparison
        rows = []
        # By default every rule that applies: the RMD rule needs the rule set's [rmd] table.
        applicable = [n for n in WITHDRAWAL_RULES if n != "rmd" or self.policy.rules.rmd]
        for name in names or applicable:
            if name == self.rule.name:
                sim = self
            else:
                rule = make_withdrawal_rule(name)
                sim = _simulation(self.policy, self.returns, rule, self.seed, self.returns_model)
            rows.append(sim.summary_row())
        table = pd.DataFrame(rows).set_index("rule")
        if names is None:
            self._comparison = table
        return table

    def summary_row(self) -> dict:
        spending = self._retired_spending()
        return {
            "rule": self.rule.name,
            "description": self.rule.describe(),
            "success_rate": self.success_rate,
            "median_spending_real": float(np.median(spending)),
            "p5_lowest_spending_real": float(np.percentile(spending.min(axis=1), 5)),
            "median_final_wealth_real": float(np.median(self.wealth_real[:, -1])),
            "p5_final_wealth_real": float(np.percentile(self.wealth_real[:, -1], 5)),
        }

    def summary(self) -> str:
        seq = self.sequence_risk
        pct = self.percentiles
        retire = self.years[min(self.policy.retire_index, len(self.years) - 1)]
        last = self.years[-1]
        lines = [
            f"{self.policy.plan.name} under {self.policy.rules.name}: {self.paths:,} paths, "
            f"seed {self.seed}, {self.returns_model}",
            f"  withdrawal rule: {self.rule.describe()}",
            f"  success rate (spending met every year to {last}): {self.success_rate:.1%}",
            f"  real spending in {retire}: median ${pct.at[retire, 'spending_real_p50']:,.0f} "
            f"(5th-95th ${pct.at[retire, 'spending_real_p5']:,.0f}-"
            f"${pct.at[retire, 'spending_real_p95']:,.0f}), today's dollars after tax",
            f"  after-tax wealth at the end of {last}: median "
            f"${pct.at[last, 'wealth_real_p50']:,.0f} (5th ${pct.at[last, 'wealth_real_p5']:,.0f}, "
            f"95th ${pct.at[last, 'wealth_real_p95']:,.0f}), today's dollars",
            f"  sequence risk: R^2 of the log outcome (retirement spending + final wealth) on "
            f"the first retirement decade's return {seq['r2_first_decade']:.2f}, on the whole "
            f"retirement's {seq['r2_full_horizon']:.2f}",
            f"  {self.seconds:.2f} s; gross-up residual at most "
            f"{self.gross_up_residual:.1e} of the need",
        ]
        return "\n".join(lines)


def _r_squared(x: np.ndarray, y: np.ndarray) -> float:
    if x.size < 3 or np.std(x) == 0 or np.std(y) == 0:
        return float("nan")
    return float(np.corrcoef(x, y)[0, 1] ** 2)


def _simulation(
    policy: Policy,
    returns: np.ndarray,
    rule: WithdrawalRule,
    seed: int | None,
    returns_model: str,
    progress: _Progress | None = None,
) -> Simulation:
    started = time.perf_counter()
    paths = run_paths(policy, returns, rule, progress)
    infl = policy.inflation_factor[:-1, None]
    return Simulation(
        policy=policy,
        paths=returns.shape[0],
        seed=seed,
        returns_model=returns_model,
        rule=rule,
        returns=returns,
        spending_real=(paths.spending / infl).T,
        target_real=(paths.target / infl).T,
        tax=paths.tax.T,
        premiums=paths.premiums.T,
        withdrawals=paths.withdrawals.transpose(2, 0, 1),
        closing=paths.closing.transpose(2, 0, 1),
        wealth_real=paths.wealth_real.T,
        portfolio_return=paths.portfolio_return.T,
        realized_gains=paths.realized_gains.T,
        seconds=time.perf_counter() - started,
        gross_up_residual=paths.gross_up_residual,
    )


def sample_returns(policy: Policy, model: ReturnModel, paths: int, seed: int | None) -> np.ndarray:
    """(paths, years, tiers) annual returns of the plan's tiers from `default_rng(seed)`."""
    rng = np.random.default_rng(seed)
    plan = policy.plan
    sample = model.sample(plan.tiers, plan.profile.reserve_tier, policy.n_years, paths, rng)
    if (sample <= -1.0).any():
        raise InputError(f"returns {model.name}: a path has a return of -100% or below")
    return sample


def meets_level(policy: Policy, returns: np.ndarray, level_real: float | np.ndarray) -> np.ndarray:
    """(P,) bool: each path meets constant real spending `level_real` (today's dollars, or
    one level per path) in every retirement year, and the plan's own spending before."""
    return _simulation(policy, returns, ConstantLevel(level_real), None, "").success


def simulate(
    result,
    paths: int = 1000,
    seed: int | None = 0,
    returns: str | ReturnModel | np.ndarray = "lognormal",
    withdrawal: str | WithdrawalRule = "fixed",
    progress: bool | None = None,
    **return_options,
) -> Simulation:
    """Run the optimized plan's policy on `paths` return paths.

    returns: "lognormal", "regime" or "bootstrap" (options such as `scenario="guide"`,
    `path="returns.csv"`, `correlation=0.6` are passed to the model), a model from
    taxopt.returns, or an array (years, tiers) / (paths, years, tiers) of returns.
    withdrawal: one of WITHDRAWAL_RULES or a rule object. progress: a bar on stderr;
    None shows it only on a terminal for long runs.
    """
    if paths < 1:
        raise InputError(f"paths: {paths}; simulate at least 1 path")
    policy = policy_from_result(result)
    plan = policy.plan
    check_simulation_size(paths, policy.n_years, len(plan.tiers), len(plan.accounts), False)
    model = make_return_model(returns, **return_options)
    rule = make_withdrawal_rule(withdrawal)
    sample = sample_returns(policy, model, paths, seed)
    show = (
        progress
        if progress is not None
        else (sys.stderr.isatty() and paths * policy.n_years >= 100_000)
    )
    bar = _Progress(policy.n_years, bool(show), f"simulate {paths:,} paths")
    return _simulation(policy, sample, rule, seed, model.describe(), bar)
