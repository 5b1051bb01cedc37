"""What every model component needs: the plan and rules laid out by year, and the LP itself.

Everything here is a constant computed from the plan and the rule set (nominal dollars of
each year), plus small helpers that create named variables and constraints. Components in
this package each add one family of variables and constraints.

Timing convention within a year t: flows (contributions, withdrawals, conversions, trades)
happen at the start of the year on the opening balances; the post-trade holdings then earn
the tier's deterministic return over the year (Plan.tier_returns: the lognormal median or
the mean, by the plan's return_basis; yield paid and reinvested inside the account).
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field

import pulp

# PuLP 3.x warns about its 4.0 API on every variable; we pin <4 (pyproject) and the
# warnings cost measurable build time on long horizons.
if hasattr(pulp, "set_v4_migration_warnings"):
    pulp.set_v4_migration_warnings(False)

from taxopt.cashflows import plan_flows
from taxopt.plan import Account, Plan, Tier
from taxopt.rules import AccountKind, Growth, RuleSet

Expr = pulp.LpAffineExpression


@dataclass
class Lot:
    """Taxable purchases of one tier in one account in one year (or the opening holding).

    Sales are measured in purchase units: a unit bought at the start of year `year` for $1
    is worth `value_per_unit[t]` at the start of year t and carries basis `basis_per_unit[t]`
    (its purchase price plus the yields reinvested since), so the realized gain of selling
    q units in year t is q * (value - basis): linear in q.
    """

    account: str
    tier: str
    year: int  # purchase year; for the opening lot, the plan's start year
    opening: bool
    units: float | None  # opening lot: its balance; purchases: the buy variable
    value_per_unit: dict[int, float] = field(default_factory=dict)
    basis_per_unit: dict[int, float] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.account}_{self.tier}_{'open' if self.opening else self.year}"


class ModelContext:
    """The plan and rules by year, plus the PuLP problem and its named parts."""

    def __init__(
        self,
        plan: Plan,
        rules: RuleSet,
        mode: str | None = None,
        fixed_regime=None,
        gross_policy_tax: dict[int, float] | None = None,
    ):
        self.plan = plan
        self.base_rules = rules
        self.mode = mode or plan.options.mode
        self.exact = self.mode == "exact"
        self.years: list[int] = plan.years
        self.first_year = self.years[0]
        self.last_year = self.years[-1]
        self.retirement_year = plan.retirement_year
        self.tiers: list[Tier] = list(plan.tiers)
        self.tier_by_name = {t.name: t for t in self.tiers}
        self.growth = plan.tier_growth
        self.accounts: list[Account] = list(plan.accounts)
        self.kind: dict[str, AccountKind] = {
            a.name: rules.account_kinds[a.kind] for a in self.accounts
        }
        self.taxable = [a.name for a in self.accounts if self.kind[a.name].growth == Growth.TAXED]
        self.sheltered = [a.name for a in self.accounts if a.name not in self.taxable]
        self.deferred = [
            a.name for a in self.accounts if self.kind[a.name].growth == Growth.DEFERRED
        ]
        self.implied = {a.name for a in self.accounts if a.implied}
        self.rules_by_year = {y: rules.for_year(y, plan.inflation) for y in self.years}
        self.inflation = {y: plan.inflation_factor(y) for y in self.years}
        self.end_inflation = plan.inflation_factor(self.last_year + 1)

        self._precompute_cash_flows()
        # Gross basis: each retirement year's tax on the policy's own withdrawal (nominal,
        # taxopt.spending.gross_policy_tax); every other tax is paid by extra withdrawals.
        self.gross_policy_tax = gross_policy_tax or {}
        self.rmd_years = self._rmd_years()
        self.lots: list[Lot] = []
        self.prob = pulp.LpProblem(_safe(plan.name) or "taxopt", pulp.LpMaximize)
        # Named expressions the components share, keyed by concept then year (and more).
        self.x: dict[str, dict] = defaultdict(dict)
        self.binaries = 0
        # (binary name, year, rule) where rule(tax_input, tax_result) -> 0 or 1 gives the
        # binary's value implied by the true taxes of a decision set (the "regime").
        self.regimes: list[tuple[str, int, object]] = []
        self.fixed_regime = fixed_regime
        self.regime_values: dict[str, int] = {}
        self.regime_conflicts: list[str] = []

    # -- constants by year ------------------------------------------------------------

    def _precompute_cash_flows(self) -> None:
        flows = plan_flows(self.plan, self.base_rules)
        self.contribution_years = flows.contribution_years
        self.savings = flows.savings
        self.earnings = flows.earnings
        self.social_security = flows.social_security
        self.other_income = flows.other_income
        self.wage_tax = flows.wage_tax

    def _rmd_years(self) -> set[int]:
        """Years in which some account's owner must take a required distribution."""
        rmd = self.base_rules.rmd
        years: set[int] = set()
        if rmd is None:
            return years
        for account in self.accounts:
            if not self.kind[account.name].rmd or account.owner is None:
                continue
            birth = self.plan.person(account.owner).birth_year
            years.update(y for y in self.years if y - birth >= rmd.start_age(birth))
        return years

    def ages(self, year: int) -> tuple[int, ...]:
        return self.plan.ages_in(year)

    def owner_age(self, account: str, year: int) -> int | None:
        owner = next(a.owner for a in self.accounts if a.name == account)
        if owner is None:
            return None
        return year - self.plan.person(owner).birth_year

    def is_retired(self, year: int) -> bool:
        return year >= self.retirement_year

    def money_bound(self, year: int) -> float:
        """A safe upper bound on any dollar flow in `year` (for big-M constraints)."""
        g_max = max(self.growth.values())
        wealth = sum(a.total for a in self.accounts) + sum(self.savings.values())
        steps = year - self.first_year + 1
        income = (
            sum(self.earnings[year].values()) + self.social_security[year] + self.other_income[year]
        )
        return 2.0 * (wealth * max(1.0, g_max) ** steps + income) + 1e5

    # -- naming helpers ---------------------------------------------------------------

    def var(self, name: str, low: float | None = 0.0, high: float | None = None) -> pulp.LpVariable:
        return pulp.LpVariable(_safe(name), lowBound=low, upBound=high)

    def binary(self, name: str, year: int, rule) -> pulp.LpVariable | int:
        """A binary for one kink of the tax code in `year`.

        `rule(tax_input, tax_result) -> 0 | 1` says which side of the kink the ledger's true
        taxes of a plan are on (the "regime"). With a `fixed_regime` (a function of name,
        year and rule) the binary is that constant instead of a variable, so the model is an
        LP without big-M rows; `regime_values` records what was used.
        """
        name = _safe(name)
        self.regimes.append((name, year, rule))
        if self.fixed_regime is not None:
            value = int(self.fixed_regime(name, year, rule))
            self.regime_values[name] = value
            return value
        self.binaries += 1
        return pulp.LpVariable(name, cat=pulp.LpBinary)

    def implies(self, name: str, binary, when: int, expr, big: float) -> None:
        """If `binary` == `when` then `expr` <= 0 (else it may reach `big`).

        With a fixed regime the binary is a constant: the row is either `expr <= 0` or
        left out, so the LP carries no big-M coefficients (they cost precision).
        """
        if isinstance(binary, int):
            if binary == when:
                self.constrain(name, expr <= 0)
            return
        switch = (1 - binary) if when == 1 else binary
        self.constrain(name, expr - big * switch <= 0)

    def constrain(self, name: str, expr: Expr | pulp.LpConstraint | bool) -> None:
        if isinstance(expr, bool):  # a fixed regime turned the constraint into a constant
            if not expr:
                self.regime_conflicts.append(name)
            return
        self.prob.addConstraint(expr, _safe(name))


_UNSAFE = re.compile(r"[^0-9A-Za-z_]")


def _safe(name: str) -> str:
    """PuLP/LP-file safe names: letters, digits and underscores."""
    return _UNSAFE.sub("_", name)


def lin(terms: dict | list, constant: float = 0.0) -> Expr:
    """Build an affine expression from {var: coef} or [(var, coef)] without repeated +=."""
    items = terms.items() if isinstance(terms, dict) else terms
    return pulp.LpAffineExpression([(v, c) for v, c in items if c != 0], constant=constant)


def total(exprs) -> Expr:
    """Sum expressions/variables/numbers in one pass."""
    return pulp.lpSum(exprs)
