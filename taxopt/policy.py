"""A rule-based household engine: conventional contributions and withdrawals, any placement.

Nothing here optimizes. Each year the engine routes savings by a conventional rule (fixed
amounts, then tax-deferred accounts up to each owner's limit, then exempt accounts, then
taxable), draws money in the conventional order (RMDs, then taxable, then tax-deferred, then
exempt; accounts of one class pro rata to their balances), sells taxable lots oldest first
and pro rata across tiers (the account's mix is kept), and asks a `Placement` where the
sheltered money and the taxable purchases go. It grosses the draw up for tax by a
safeguarded fixed-point (secant) iteration on the pure tax calculator (federal, and the
plan's state from taxopt.state_tax as the ledger charges it), since the tax depends on
which accounts are drawn and on the gains the sales realize. Premiums are drawn on top like
tax, as the ledger charges them (taxopt.premiums): Medicare IRMAA on the MAGI of the return
two years before (with options.irmaa; the engine remembers each year's MAGI), marketplace
premiums net of the premium tax credit on the year's own income (plans with [aca]).

The engine keeps its own state (balances per account and tier; taxable lots with units,
value and basis per unit, kept as the ledger keeps them) and emits `Decisions`; the ledger's
replay of those decisions is the official record and must agree with the engine to the cent.

Timing as everywhere in taxopt: flows at the start of the year on opening balances; yields
on post-trade taxable holdings are paid and reinvested (adding basis); then total growth.
Amounts are nominal dollars of their year unless a name says `_real` (today's dollars).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import pandas as pd

from taxopt.cashflows import earned_income_before, plan_flows
from taxopt.decisions import Decisions
from taxopt.marketplace import household_income
from taxopt.plan import Plan, surplus_years
from taxopt.premiums import PlanPremiums
from taxopt.roth import RothDraw, RothLayers, opening_layers, settle_year
from taxopt.rules import Growth, RuleSet, WithdrawalTax
from taxopt.state_tax import OrdinaryParts, plan_state_tax
from taxopt.tax import TaxInput, TaxResult, compute_tax

DRAW_TOLERANCE = 1e-6  # dollars: a year's spending is solved to within this of its target
LEVEL_TOLERANCE = 0.005  # today's dollars: the level search stops when its bracket is this narrow
ESTATE_SLACK = 1e-6  # today's dollars: an estate this close to the floor meets it
MAX_DRAW_ITERATIONS = 100
MAX_DOUBLINGS = 60  # the level's upper bracket: 2^60 x the first guess is beyond any plan

LotKey = tuple[str, str, int, bool]  # (account, tier, purchase year, is opening lot)


@dataclass
class PolicyLot:
    """A taxable purchase (or the opening holding): units, value and basis per unit."""

    account: str
    tier: str
    year: int
    opening: bool
    units: float
    value_per_unit: float
    basis_per_unit: float

    @property
    def key(self) -> LotKey:
        return (self.account, self.tier, self.year, self.opening)


@dataclass
class PolicyState:
    """Balances per (account, tier), taxable lots and each owner's Roth basis by ordering
    layer, at the start of a year (nominal)."""

    balances: dict[tuple[str, str], float]
    lots: dict[LotKey, PolicyLot]
    roth: dict[str, RothLayers] = field(default_factory=dict)
    magi: dict[int, float] = field(default_factory=dict)  # years walked: IRMAA's lookback
    # (owner, kind) -> taken tax free so far, where the kind has a lifetime limit
    tax_free_taken: dict[tuple, float] = field(default_factory=dict)

    def copy(self) -> PolicyState:
        return PolicyState(
            dict(self.balances),
            {k: PolicyLot(**vars(lot)) for k, lot in self.lots.items()},
            {owner: layers.copy() for owner, layers in self.roth.items()},
            dict(self.magi),
            dict(self.tax_free_taken),
        )


Dollars = dict[str, dict[str, float]]  # account -> tier -> dollars


class Placement(Protocol):
    """Where money lives: sheltered accounts' post-trade split and taxable purchases."""

    def place(
        self,
        year: int,
        sheltered: dict[str, float],
        taxable_held: Dollars,
        taxable_cash: dict[str, float],
    ) -> tuple[Dollars, Dollars]:
        """(post-trade dollars per tier of each sheltered account, purchases per tier of
        each taxable account). `sheltered` is each sheltered account's post-flow total,
        `taxable_held` each taxable account's holdings after this year's sales, and
        `taxable_cash` the cash each taxable account must invest (all nominal)."""
        ...


@dataclass
class YearOutcome:
    """One year's decisions and the engine's own figures (nominal dollars)."""

    year: int
    draw: float  # withdrawals less contributions, as solved
    contributions: dict[str, float]
    withdrawals: dict[str, float]  # taxable: cash from sales
    allocation: Dollars  # sheltered accounts' post-trade split
    buys: Dollars  # taxable purchases
    sales: list[tuple[LotKey, float]]  # (lot, units sold)
    realized_gains: float
    tax_input: TaxInput
    tax: TaxResult
    spending: float  # after federal and state tax and premiums
    unplaced: float  # cash no account could take (spent instead)
    shortfall: float  # money the year needed beyond everything the portfolio held
    state_tax: float = 0.0  # the plan's state tax (taxopt.state_tax), as the ledger charges it
    # IRMAA and net marketplace premiums paid from spending (taxopt.premiums), as the ledger.
    premiums: float = 0.0


@dataclass
class PolicyRun:
    """A walk through the plan's years: outcomes, closing balances and the estate."""

    plan: Plan
    outcomes: list[YearOutcome]
    closing: list[dict[str, float]]  # per year: account -> closing balance (nominal)
    estate_real: float  # after-tax estate at the horizon, today's dollars
    level_real: float | None = None  # the constant real spending level, if one was solved
    warnings: list[str] = field(default_factory=list)

    @property
    def short_years(self) -> list[int]:
        return [o.year for o in self.outcomes if o.shortfall > DRAW_TOLERANCE]

    def decisions(self, label: str) -> Decisions:
        """The run as plain decisions for the ledger; no Roth conversions."""
        d = Decisions(label=label)
        for o in self.outcomes:
            for account, amount in o.contributions.items():
                if amount > 0:
                    d.contributions[account, o.year] = amount
            for account, amount in o.withdrawals.items():
                if amount > 0:
                    d.withdrawals[account, o.year] = amount
            for account, split in o.allocation.items():
                for tier, amount in split.items():
                    d.allocation[account, tier, o.year] = amount
            for account, split in o.buys.items():
                for tier, amount in split.items():
                    if amount > 0:
                        d.buys[account, tier, o.year] = amount
            for (account, tier, bought, opening), units in o.sales:
                key = (account, tier, bought, opening, o.year)
                d.lot_sales[key] = d.lot_sales.get(key, 0.0) + units
        return d

    @property
    def yearly(self) -> pd.DataFrame:
        """The engine's own figures by year, named as in the ledger's table."""
        rows = []
        for o, closing in zip(self.outcomes, self.closing, strict=True):
            infl = self.plan.inflation_factor(o.year)
            row = {
                "year": o.year,
                "total_tax": o.tax.total_tax + o.state_tax,
                "spending": o.spending,
                "spending_real": o.spending / infl,
                "premiums": o.premiums,
                "realized_gains": o.realized_gains,
                "contributions": sum(o.contributions.values()),
                "shortfall": o.shortfall,
            }
            for account, value in closing.items():
                row[f"closing_{account}"] = value
            row["portfolio_closing"] = sum(closing.values())
            rows.append(row)
        return pd.DataFrame(rows)


class PolicyEngine:
    """The plan and rules laid out by year, and the conventional rules that walk it."""

    def __init__(self, plan: Plan, rules: RuleSet, placement: Placement):
        self.plan, self.rules, self.placement = plan, rules, placement
        self.flows = plan_flows(plan, rules)
        self.kinds = {a.name: rules.account_kinds[a.kind] for a in plan.accounts}
        self.accounts = [a.name for a in plan.accounts]
        self.owner = {a.name: a.owner for a in plan.accounts}
        self.owner_person = {a.name: plan.owner(a.name) for a in plan.accounts}
        self.kind_name = {a.name: a.kind for a in plan.accounts}
        self.owner_name = {a.name: a.owner for a in plan.accounts}
        self.tiers = [t.name for t in plan.tiers]
        self.tier = {t.name: t for t in plan.tiers}
        self.growth = plan.tier_growth
        by_growth = {g: [a for a in self.accounts if self.kinds[a].growth == g] for g in Growth}
        self.taxable = by_growth[Growth.TAXED]
        self.deferred = by_growth[Growth.DEFERRED]
        self.exempt = by_growth[Growth.EXEMPT]
        self.sheltered = [a for a in self.accounts if a not in self.taxable]
        self.year_rules = {y: rules.for_year(y, plan.inflation) for y in plan.years}
        self.contribution_years = set(self.flows.contribution_years)
        self.surplus_years = surplus_years(plan, rules)
        c = plan.contributions
        self.routable = set(c.accounts or self.accounts) | {f.account for f in c.fixed}
        self.routable -= {a.name for a in plan.accounts if a.implied}
        self.income = {
            y: self.flows.social_security[y]
            + self.flows.other_income[y]
            + self.flows.savings[y]
            + self.flows.wage_tax[y]
            for y in plan.years
        }
        self.pensions = self.flows.pensions
        self.premiums = PlanPremiums(plan, rules)
        self.heir_keep = {
            a: 1.0 - plan.objective.heir_tax_rate if a in self.deferred else 1.0
            for a in self.accounts
        }

    # -- state ---------------------------------------------------------------------------

    def initial_state(self) -> PolicyState:
        balances = {
            (a.name, t): a.balances.get(t, 0.0) for a in self.plan.accounts for t in self.tiers
        }
        lots = {}
        for a in self.plan.accounts:
            if a.name not in self.taxable:
                continue
            for t in self.tiers:
                balance = a.balances.get(t, 0.0)
                if balance > 0:
                    lot = PolicyLot(
                        a.name, t, self.plan.start_year, True, balance, 1.0, a.basis_of(t) / balance
                    )
                    lots[lot.key] = lot
        return PolicyState(balances, lots, opening_layers(self.plan, self.rules))

    def opening(self, state: PolicyState) -> dict[str, float]:
        return {a: sum(state.balances[a, t] for t in self.tiers) for a in self.accounts}

    # -- one year --------------------------------------------------------------------------

    def _rmd(self, account: str, year: int, opening: float) -> float:
        """The RMD due from `account` in `year` on its `opening` balance (0 if none)."""
        owner = self.owner_person[account]
        if owner is None:
            return 0.0
        return self.rules.rmd_amount(
            self.kind_name[account], owner.age_in(year), owner.birth_year, opening
        )

    def year_context(self, state: PolicyState, year: int) -> _Year:
        opening = self.opening(state)
        rmd = {a: self._rmd(a, year, opening[a]) for a in self.deferred}
        capacity = sum(self.route(year, math.inf)[0].values())
        lots = {
            (a, t): sorted(
                (lot for lot in state.lots.values() if lot.account == a and lot.tier == t),
                key=lambda lot: (lot.year, not lot.opening),
            )
            for a in self.taxable
            for t in self.tiers
        }
        # IRMAA is set by a return already filed (or given): the same for every draw.
        irmaa = self.premiums.irmaa(year, self.year_rules[year], state.magi)
        return _Year(year, state, opening, rmd, capacity, lots, self.premiums.irmaa_paid(irmaa))

    def evaluate(self, y: _Year, draw: float) -> YearOutcome:
        """The year's flows, trades and tax for a net draw (withdrawals - contributions)."""
        year, opening = y.year, y.opening
        withdrawals = {a: r for a, r in y.rmd.items() if r > 0}
        contributions: dict[str, float] = {}
        shortfall = unplaced = 0.0
        if draw >= y.forced:
            shortfall = self._draw_down(y, draw - y.forced, withdrawals)
        else:
            contributions, unplaced = self.route(year, y.forced - draw)
        sales, realized, held, proceeds = self._sell(y, withdrawals)
        sheltered = {
            a: opening[a] + contributions.get(a, 0.0) - withdrawals.get(a, 0.0)
            for a in self.sheltered
        }
        cash = {a: contributions.get(a, 0.0) for a in self.taxable}
        allocation, buys = self.placement.place(year, sheltered, held, cash)
        post = {
            (a, t): max(0.0, held[a][t] + buys.get(a, {}).get(t, 0.0))
            for a in self.taxable
            for t in self.tiers
        }
        # As the ledger counts it: a taxable account's withdrawal is its net cash out.
        cash_out = {a: cash[a] + proceeds[a] - sum(buys.get(a, {}).values()) for a in self.taxable}
        roth = self._roth_draws(y.state, year, contributions, withdrawals)
        tax_free, _taken = self.tax_free(y.state, withdrawals)
        tax_input, distributions = self._tax_input(
            year, withdrawals, contributions, post, realized, roth, tax_free
        )
        tax = compute_tax(self.year_rules[year], tax_input)
        # The state's tax on the same figures, split as the ledger splits them.
        parts = OrdinaryParts(ira_distributions=distributions, pension_income=self.pensions[year])
        state_tax = plan_state_tax(
            self.plan.state, year, self.plan.inflation, tax_input, tax, parts
        )
        # The marketplace premium is set by this year's own income, so by the draw.
        marketplace = self.premiums.marketplace_net(
            year, self.year_rules[year], household_income(tax_input, tax)
        )
        premiums = y.irmaa + marketplace
        sheltered_out = sum(withdrawals.get(a, 0.0) for a in self.sheltered)
        spending = (
            sheltered_out
            + sum(cash_out.values())
            + self.income[year]
            - sum(contributions.values())
            - tax.total_tax
            - state_tax
            - premiums
        )
        for a in self.taxable:
            withdrawals[a] = withdrawals.get(a, 0.0)
        return YearOutcome(
            year=year,
            draw=draw,
            contributions=contributions,
            withdrawals=withdrawals,
            allocation=allocation,
            buys=buys,
            sales=sales,
            realized_gains=realized,
            tax_input=tax_input,
            tax=tax,
            spending=spending,
            unplaced=unplaced,
            shortfall=shortfall,
            state_tax=state_tax,
            premiums=premiums,
        )

    def solve_year(self, y: _Year, target: float) -> YearOutcome:
        """The outcome whose after-tax spending is `target` (or the nearest one possible).

        Spending rises with the draw (slope 1 - marginal tax rate, between 0 and 2), so the
        first step is the plain fixed-point one (draw = target - income + tax), later ones
        are secant steps kept inside the bracket found so far, else bisection.
        """
        low, high = y.forced - y.capacity, y.portfolio
        lo, hi, lo_known, hi_known = low, high, False, False
        if low > -math.inf:
            floor = self.evaluate(y, low)
            if floor.spending >= target - DRAW_TOLERANCE:
                return floor  # nothing more can be invested: the surplus is spent
            lo_known = True
        x = min(max(target - self.income[y.year], low), high)
        best: YearOutcome | None = None
        previous: tuple[float, float] | None = None
        for i in range(MAX_DRAW_ITERATIONS):
            o = self.evaluate(y, x)
            fx = o.spending - target
            if best is None or abs(fx) < abs(best.spending - target):
                best = o
            if abs(fx) <= DRAW_TOLERANCE:
                return o
            if fx < 0:
                lo, lo_known = x, True
                if x >= high:  # even selling everything falls short
                    o.shortfall = max(o.shortfall, -fx)
                    return o
            else:
                hi, hi_known = x, True
            step = x - fx
            if previous is not None and previous[1] != fx:
                step = x - fx * (x - previous[0]) / (fx - previous[1])
            previous = (x, fx)
            if not lo < step < hi or i > MAX_DRAW_ITERATIONS // 2:
                if lo_known and hi_known:
                    step = 0.5 * (lo + hi)
                else:
                    step = min(max(x - fx, low), high)
            x = step
        assert best is not None
        return best

    def tax_free(
        self, state: PolicyState, withdrawals: dict[str, float]
    ) -> tuple[dict[str, float], dict[tuple, float]]:
        """Each ordinary account's tax-free part of its withdrawal, taken as the ledger
        takes it without chosen amounts (AccountKind.tax_free_part, in account order), and
        the lifetime totals after them."""
        taken = dict(state.tax_free_taken)
        out: dict[str, float] = {}
        for a in self.accounts:
            kind = self.kinds[a]
            if kind.withdrawals != WithdrawalTax.ORDINARY:
                continue
            key = (self.owner_name[a], self.kind_name[a])
            out[a] = float(kind.tax_free_part(withdrawals.get(a, 0.0), taken.get(key, 0.0)))
            if kind.tax_free_lifetime_limit is not None:
                taken[key] = taken.get(key, 0.0) + out[a]
        return out, taken

    def apply(self, state: PolicyState, o: YearOutcome) -> dict[str, float]:
        """Carry out a year's outcome on the state (as the ledger replays it); grow; closing."""
        _free, state.tax_free_taken = self.tax_free(state, o.withdrawals)
        b = state.balances
        for a in self.sheltered:
            total = (
                sum(b[a, t] for t in self.tiers)
                + o.contributions.get(a, 0.0)
                - o.withdrawals.get(a, 0.0)
            )
            wanted = {t: max(0.0, o.allocation[a].get(t, 0.0)) for t in self.tiers}
            wanted_total = sum(wanted.values())
            for t in self.tiers:
                share = wanted[t] / wanted_total if wanted_total > 0 else 1.0 / len(self.tiers)
                b[a, t] = max(total, 0.0) * share
        for key, units in o.sales:
            lot = state.lots[key]
            units = min(units, lot.units)
            lot.units -= units
            b[key[0], key[1]] -= units * lot.value_per_unit
        for a, split in o.buys.items():
            for t, amount in split.items():
                if amount > 0:
                    b[a, t] += amount
                    lot = PolicyLot(a, t, o.year, False, amount, 1.0, 1.0)
                    state.lots[lot.key] = lot
        for a in self.taxable:
            for t in self.tiers:
                b[a, t] = max(0.0, b[a, t])
        settle_year(self.plan, self.rules, state.roth, o.year, o.contributions, {}, o.withdrawals)
        state.magi[o.year] = o.tax.magi
        for lot in state.lots.values():
            lot.basis_per_unit += self.tier[lot.tier].yield_rate * lot.value_per_unit
            lot.value_per_unit *= self.growth[lot.tier]
        for key in b:
            b[key] *= self.growth[key[1]]
        return self.opening(state)

    # -- the conventional rules -------------------------------------------------------------

    def route(self, year: int, amount: float) -> tuple[dict[str, float], float]:
        """Contributions of `amount` cash: ({account: dollars}, what no account could take).

        Working years: fixed amounts, then tax-deferred accounts up to each owner's limit
        (and wages), then exempt accounts, then the first taxable account. Retirement:
        surplus cash goes to a taxable account in the years the optimizer may reinvest it too
        (taxopt.plan.surplus_years); other years it is spent. Before retirement, outside the
        saving years, nothing is invested.
        """
        out: dict[str, float] = {}
        if year in self.contribution_years:
            room = _Room(self, year)
            for fixed in self.plan.contributions.fixed:
                if fixed.until_year is None or year <= fixed.until_year:
                    wanted = fixed.annual * self.plan.inflation_factor(year)
                    amount -= room.give(out, fixed.account, min(wanted, amount))
            for group in (self.deferred, self.exempt, self.taxable):
                for a in group:
                    if a in self.routable and amount > 0:
                        given = room.give(out, a, amount)
                        amount = 0.0 if given == math.inf else amount - given
        elif amount > 0:
            takers = [a for a in self.taxable if year in self.surplus_years.get(a, ())]
            if takers:
                out[takers[0]] = amount
                amount = 0.0
        return out, max(0.0, amount)

    def _draw_down(self, y: _Year, extra: float, withdrawals: dict[str, float]) -> float:
        """Withdraw `extra` beyond the RMDs: taxable, then deferred, then exempt; shortfall."""
        for group in (self.taxable, self.deferred, self.exempt):
            room = {a: y.opening[a] - withdrawals.get(a, 0.0) for a in group}
            room = {a: r for a, r in room.items() if r > 0}
            available = sum(room.values())
            if extra <= 0 or available <= 0:
                continue
            if extra >= available:
                for a in room:
                    withdrawals[a] = y.opening[a]
                extra -= available
            else:
                for a, r in room.items():
                    withdrawals[a] = withdrawals.get(a, 0.0) + extra * r / available
                extra = 0.0
        return max(0.0, extra)

    def _sell(
        self, y: _Year, withdrawals: dict[str, float]
    ) -> tuple[list[tuple[LotKey, float]], float, Dollars, dict[str, float]]:
        """Sales raising each taxable withdrawal: pro rata across tiers, oldest lots first.

        Returns (sales, realized gain, holdings after the sales, cash raised per account).
        """
        sales: list[tuple[LotKey, float]] = []
        realized = 0.0
        held: Dollars = {}
        proceeds = dict.fromkeys(self.taxable, 0.0)
        balances = y.state.balances
        for a in self.taxable:
            held[a] = {t: balances[a, t] for t in self.tiers}
            amount = withdrawals.get(a, 0.0)
            if amount <= 0:
                continue
            everything = amount >= y.opening[a]
            for t in self.tiers:
                want = amount * balances[a, t] / y.opening[a]
                for lot in y.lots[a, t]:
                    if lot.units <= 0 or (want <= 0 and not everything):
                        continue
                    value = lot.units * lot.value_per_unit
                    units = lot.units if everything or want >= value else want / lot.value_per_unit
                    sales.append((lot.key, units))
                    realized += units * (lot.value_per_unit - lot.basis_per_unit)
                    held[a][t] -= units * lot.value_per_unit
                    proceeds[a] += units * lot.value_per_unit
                    want -= units * lot.value_per_unit
        return sales, realized, held, proceeds

    def _tax_input(
        self,
        year: int,
        withdrawals: dict[str, float],
        contributions: dict[str, float],
        post: dict[tuple[str, str], float],
        realized: float,
        roth: list[RothDraw],
        tax_free: dict[str, float],
    ) -> tuple[TaxInput, float]:
        """The year's federal tax input and its IRA distributions (traditional withdrawals
        and taxable Roth earnings: the part a state may exempt), nominal dollars."""
        # Roth money beyond the basis the ordering rules leave free is income / early.
        ordinary = sum(d.income for d in roth)
        early = sum(d.early for d in roth)
        deductible = ordinary_yield = qualified_yield = pension = 0.0
        for a in self.accounts:
            kind = self.kinds[a]
            out = withdrawals.get(a, 0.0)
            owner = self.owner_person[a]
            if owner is not None and self.rules.withdrawal_is_pension_income(
                self.kind_name[a], owner.age_in(year)
            ):  # eligible pension income, as the ledger counts it
                pension += out * (1.0 - kind.tax_free_withdrawal_fraction)
            if kind.withdrawals == WithdrawalTax.ORDINARY:
                ordinary += out - tax_free.get(a, 0.0)
                if owner is not None and self.rules.withdrawal_is_early(
                    self.kind_name[a], owner.age_in(year), year
                ):
                    early += out
            if kind.contributions == "deductible":
                deductible += contributions.get(a, 0.0)
        for (_a, t), value in post.items():
            tier = self.tier[t]
            if tier.yield_character == "ordinary":
                ordinary_yield += tier.yield_rate * value
            elif tier.yield_character == "qualified_dividends":
                qualified_yield += tier.yield_rate * value
        flows = self.flows
        federal = TaxInput(
            filing_status=self.plan.filing_status,
            ages=self.plan.ages_in(year),
            ordinary_income=max(
                0.0,
                flows.wages(year)
                + flows.other_income[year]
                + ordinary
                + ordinary_yield
                - deductible,
            ),
            investment_ordinary_income=ordinary_yield,
            qualified_dividends=qualified_yield,
            ltcg=max(0.0, realized),
            social_security=flows.social_security[year],
            early_distributions=early,
            year=year,
            pension_income=pension,
        )
        return federal, ordinary

    def _roth_draws(
        self,
        state: PolicyState,
        year: int,
        contributions: dict[str, float],
        withdrawals: dict[str, float],
    ) -> list[RothDraw]:
        """How this year's Roth withdrawals split under the ordering rules (state untouched)."""
        layers = {owner: lay.copy() for owner, lay in state.roth.items()}
        draws = settle_year(self.plan, self.rules, layers, year, contributions, {}, withdrawals)
        return list(draws.values())

    # -- whole runs -------------------------------------------------------------------------

    def after_tax(self, y: _Year) -> float:
        """The after-tax portfolio at the start of the year: tax-deferred balances net of
        the household's assumed tax rate (as the model's net-basis policy counts it)."""
        keep = 1.0 - self.plan.profile.assumed_tax_rate
        return sum(v * (keep if a in self.deferred else 1.0) for a, v in y.opening.items())

    def policy_draw(self, y: _Year, retirement_portfolio: float) -> float:
        """What the plan's withdrawal policy sets for a retirement year (nominal): the net
        withdrawal (gross basis) or the portfolio's after-tax part of spending (net basis).
        `retirement_portfolio` is the portfolio the basis measures, at retirement."""
        policy, plan = self.plan.withdrawal, self.plan
        if policy.policy == "fixed_amount":
            return (policy.amount or 0.0) * plan.inflation_factor(y.year)
        if policy.policy == "constant_percentage":
            return policy.rate * (self.after_tax(y) if policy.basis == "net" else y.portfolio)
        start = max(plan.retirement_year, plan.start_year)
        ratio = plan.inflation_factor(y.year) / plan.inflation_factor(start)
        return policy.rate * ratio * retirement_portfolio

    def walk(
        self,
        state: PolicyState,
        years: list[int],
        year_outcome: Callable[[_Year], YearOutcome],
        stop_when_short: bool = False,
    ) -> tuple[list[YearOutcome], list[dict[str, float]]]:
        """Walk `years` from `state` (mutated), each year's outcome from `year_outcome`."""
        outcomes, closing = [], []
        for year in years:
            o = year_outcome(self.year_context(state, year))
            outcomes.append(o)
            closing.append(self.apply(state, o))
            if stop_when_short and o.shortfall > DRAW_TOLERANCE:
                break
        return outcomes, closing

    def estate_real(self, closing: dict[str, float]) -> float:
        end = self.plan.inflation_factor(self.plan.end_year + 1)
        return sum(closing[a] * self.heir_keep[a] for a in closing) / end

    def run_policy(self) -> PolicyRun:
        """Working years save everything; retirement draws what the withdrawal policy sets
        (gross basis) or spends it plus the year's income, taxes drawn on top (net basis)."""
        plan, state = self.plan, self.initial_state()
        net = plan.withdrawal.basis == "net"
        retirement_portfolio: list[float] = []

        def outcome(y: _Year) -> YearOutcome:
            if y.year < plan.retirement_year:
                return self.solve_year(y, 0.0)
            if not retirement_portfolio:
                retirement_portfolio.append(self.after_tax(y) if net else y.portfolio)
            amount = self.policy_draw(y, retirement_portfolio[0])
            if net:
                flows = self.flows
                return self.solve_year(
                    y, amount + flows.social_security[y.year] + flows.other_income[y.year]
                )
            return self.evaluate(y, amount)

        outcomes, closing = self.walk(state, plan.years, outcome)
        return self._finish(outcomes, closing, None)

    def run_level(self, level_real: float, start: PolicyState, years: list[int], stop: bool):
        """Retirement years spending `level_real` today's dollars each, from `start` (copied)."""
        state = start.copy()

        def outcome(y: _Year) -> YearOutcome:
            target = level_real * self.plan.inflation_factor(y.year)
            return self.solve_year(y, target)

        return self.walk(state, years, outcome, stop_when_short=stop)

    def run_max_spending(self) -> PolicyRun:
        """The highest constant real spending that never runs short and leaves the bequest
        floor (today's dollars, after tax), to within LEVEL_TOLERANCE (see _highest_level)."""
        plan = self.plan
        state = self.initial_state()
        working = [y for y in plan.years if y < plan.retirement_year]
        retired = [y for y in plan.years if y >= plan.retirement_year]
        pre, pre_closing = self.walk(state, working, lambda y: self.solve_year(y, 0.0))
        floor = plan.objective.bequest_floor
        walks: dict[float, tuple] = {}

        def attempt(level: float) -> tuple[bool, float]:
            """(whether `level` works, its margin in today's dollars: the estate above the
            floor less every shortfall; it falls as the level rises)."""
            outcomes, closing = self.run_level(level, state, retired, stop=False)
            short = sum(o.shortfall / plan.inflation_factor(o.year) for o in outcomes)
            final = closing[-1] if closing else (pre_closing[-1] if pre_closing else {})
            estate = self.estate_real(final)
            ok = short <= DRAW_TOLERANCE and estate >= floor - ESTATE_SLACK
            walks[level] = (outcomes, closing)
            return ok, estate - floor - short

        warnings = []
        first = max(1.0, self._level_guess(state, retired))
        level = _highest_level(attempt, first)
        if level is None:
            warnings.append(
                "no constant spending level meets the bequest floor and never runs short; "
                "the baseline spends nothing"
            )
            level = 0.0
        outcomes, closing = walks[level]
        run = self._finish(pre + outcomes, pre_closing + closing, level)
        run.warnings.extend(warnings)
        return run

    def run(self) -> PolicyRun:
        """The run the plan's objective calls for."""
        if self.plan.objective.kind == "max_spending":
            return self.run_max_spending()
        return self.run_policy()

    def _level_guess(self, state: PolicyState, retired: list[int]) -> float:
        """A rough upper guess of the level: wealth plus income spread over retirement."""
        if not retired:
            return 1.0
        wealth = sum(state.balances.values()) / self.plan.inflation_factor(retired[0])
        income = sum(self.income[y] / self.plan.inflation_factor(y) for y in retired)
        return 1.5 * (wealth + income) / len(retired)

    def _finish(self, outcomes, closing, level) -> PolicyRun:
        final = closing[-1] if closing else self.opening(self.initial_state())
        run = PolicyRun(self.plan, outcomes, closing, self.estate_real(final), level)
        for o in outcomes:
            if o.shortfall > DRAW_TOLERANCE:
                run.warnings.append(f"{o.year}: the portfolio is {o.shortfall:,.2f} short")
        return run


def _highest_level(attempt: Callable[[float], tuple[bool, float]], guess: float) -> float | None:
    """The highest level (today's dollars) that `attempt` accepts, to LEVEL_TOLERANCE; None
    if even 0 fails. `attempt(level)` -> (ok, margin), the margin falling through 0 near
    the highest ok level (the estate above its floor less any shortfall).

    Brackets the level from 0 and `guess` (doubling the upper end while it still works),
    then keeps a bracket [ok, not ok] and steps to the secant estimate of the margin's root
    through the last two walks (regula falsi on the bracket's ends when that estimate falls
    outside). An estimate within a tolerance of an end is moved three quarters of a
    tolerance past it, so the next walk lands on the other side of the root and closes the
    bracket; a bracket that fails to halve in three walks is bisected. The level is the
    bisection's to within LEVEL_TOLERANCE, in about a third of the walks.
    """
    ok, margin = attempt(0.0)
    if not ok:
        return None
    low, m_low = 0.0, margin
    high = guess
    for _ in range(MAX_DOUBLINGS):
        ok, margin = attempt(high)
        if not ok:
            m_high = margin
            break
        low, m_low, high = high, margin, 2.0 * high
    else:
        return low
    tol = LEVEL_TOLERANCE
    recent = [(low, m_low), (high, m_high)]
    widths = [high - low]
    while high - low > tol:
        (x1, f1), (x2, f2) = recent[-2:]
        x = x2 - f2 * (x2 - x1) / (f2 - f1) if f2 != f1 else low - 1.0
        if not low < x < high:
            a, b = max(m_low, 0.0), min(m_high, 0.0)
            x = low + (high - low) * a / (a - b) if a > b else 0.5 * (low + high)
        if len(widths) > 3 and widths[-1] > 0.5 * widths[-4]:
            x = 0.5 * (low + high)  # the bracket is closing too slowly
        if high - low <= 2.0 * tol:
            x = 0.5 * (low + high)
        elif x - low < tol:
            x = low + 0.75 * tol
        elif high - x < tol:
            x = high - 0.75 * tol
        ok, margin = attempt(x)
        if ok:
            low, m_low = x, margin
        else:
            high, m_high = x, margin
        recent.append((x, margin))
        widths.append(high - low)
    return low


@dataclass
class _Year:
    """What a year's evaluations share: the opening state, RMDs, limits, lots by tier."""

    year: int
    state: PolicyState
    opening: dict[str, float]
    rmd: dict[str, float]
    capacity: float  # the most cash the year's contributions can take
    lots: dict[tuple[str, str], list[PolicyLot]]
    irmaa: float = 0.0  # IRMAA premiums spending pays this year (set by an earlier return)

    @property
    def forced(self) -> float:
        return sum(self.rmd.values())

    @property
    def portfolio(self) -> float:
        return sum(self.opening.values())


class _Room:
    """Contribution room left this year: per (owner, limit) and per owner's wages."""

    def __init__(self, engine: PolicyEngine, year: int):
        self.engine, self.year = engine, year
        self.rules = engine.year_rules[year]
        self.limit_room: dict[tuple[str, str], float] = {}
        self.wage_room = dict(engine.flows.earnings[year])

    def _limits(self, account: str) -> list[tuple[str, str]]:
        owner = self.engine.owner[account]
        if owner is None:
            return []
        kind = self.engine.kind_name[account]
        keys = []
        age = self.year - self.engine.plan.person(owner).birth_year
        for limit in self.rules.contribution_limits:
            if kind in limit.account_kinds:
                key = (owner, limit.name)
                earned = earned_income_before(self.engine.flows.earnings, self.year, owner)
                self.limit_room.setdefault(key, limit.for_earned_income(age, earned))
                keys.append(key)
        return keys

    def give(self, out: dict[str, float], account: str, amount: float) -> float:
        """Contribute up to `amount` to `account` within its limits; return what was given."""
        keys = self._limits(account)
        room = min((self.limit_room[k] for k in keys), default=math.inf)
        if keys:
            room = min(room, self.wage_room.get(self.engine.owner[account] or "", 0.0))
        given = max(0.0, min(amount, room))
        if given <= 0:
            return 0.0
        for k in keys:
            self.limit_room[k] -= given
        if keys:
            self.wage_room[self.engine.owner[account] or ""] -= given
        out[account] = out.get(account, 0.0) + given
        return given
