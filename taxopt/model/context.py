"""What every model component needs: the plan and rules laid out by year, and the LP itself.

Everything here is a constant computed from the plan and the rule set (nominal dollars of
each year), plus the registries of named families (taxopt.model.families): components
declare variable families with `declare` (phase 1) and add rows with `declare_rows` and
`constrain` (phase 2); `row(family, key)` finds a row, `solution()` reads every value once.

Timing convention within a year t: flows (contributions, withdrawals, conversions, trades)
happen at the start of the year on the opening balances; the post-trade holdings then earn
the tier's deterministic return over the year (Plan.tier_returns: the lognormal median or
the mean, by the plan's return_basis; yield paid and reinvested inside the account).
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field

import pulp

# PuLP 3.x warns about its 4.0 API on every variable; we pin <4 (pyproject) and the
# warnings cost measurable build time on long horizons.
if hasattr(pulp, "set_v4_migration_warnings"):
    pulp.set_v4_migration_warnings(False)

from taxopt.cashflows import plan_flows
from taxopt.model.families import (
    ConstraintFamily,
    ExpressionFamily,
    Registry,
    VariableFamily,
    safe_name,
)
from taxopt.plan import Account, Plan, Tier, rmd_years, surplus_years
from taxopt.rules import AccountKind, Growth, RuleSet

Expr = pulp.LpAffineExpression

# Big-M rows need a bound on any dollar flow of a year: twice the plan's wealth grown at the
# fastest tier plus the year's income, plus a floor so a small plan's bound is not tight.
BIG_M_WEALTH_FACTOR = 2.0
BIG_M_FLOOR_DOLLARS = 1e5


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
    # {year: its `sell` variable}: the lot's entries of that family, kept here because the
    # rows and the gains walk them lot by lot.
    sales: dict[int, pulp.LpVariable] = field(default_factory=dict)
    key: str = field(init=False)  # the lot's key in the `sell` family

    def __post_init__(self) -> None:
        self.key = f"{self.account}_{self.tier}_{'open' if self.opening else self.year}"


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
        self.account_by_name = {a.name: a for a in self.accounts}
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
        self.rmd_years = rmd_years(plan, self.base_rules)
        self.surplus_years = surplus_years(plan, self.base_rules)
        self.lots: list[Lot] = []
        self.prob = pulp.LpProblem(safe_name(plan.name) or "taxopt", pulp.LpMaximize)
        # Named families (see taxopt.model.families): columns, shared expressions, rows.
        self.variables: Registry[VariableFamily] = Registry("variable", VariableFamily)
        self.expressions: Registry[ExpressionFamily] = Registry("expression", ExpressionFamily)
        self.rows: Registry[ConstraintFamily] = Registry("constraint", ConstraintFamily)
        self.binaries = 0
        # (binary name, year, rule) where rule(tax_input, tax_result) -> 0 or 1 gives the
        # binary's value implied by the true taxes of a decision set (the "regime").
        self.regimes: list[tuple[str, int, object]] = []
        self.fixed_regime = fixed_regime
        self.regime_values: dict[str, int] = {}
        self.regime_conflicts: list[str] = []
        # Cliffs among the binaries: name -> (ladder, rung, escape). Crossing one costs a
        # lump sum (an IRMAA tier, an allowance lost whole above an income limit); `escape`
        # is the binary's value below it; rungs of one ladder (a year's IRMAA tiers) are
        # stepped back from the top. See optimize._Search.step_back_cliffs.
        self.cliffs: dict[str, tuple[str, int, int]] = {}
        # Binaries a fixed regime holds to one region of a cliff-shaped cost with many
        # regions (the premium tax credit's bands): the optimizer also solves a MILP with
        # the binaries of their years left free (optimize._Search._free_kinks).
        self.free_kinks: set[str] = set()

    # -- constants by year ------------------------------------------------------------

    def _precompute_cash_flows(self) -> None:
        flows = plan_flows(self.plan, self.base_rules)
        self.contribution_years = flows.contribution_years
        self.savings = flows.savings
        self.earnings = flows.earnings
        self.social_security = flows.social_security
        self.other_income = flows.other_income
        self.pensions = flows.pensions
        self.wage_tax = flows.wage_tax

    def account_rmd_divisor(self, account: str, year: int) -> float | None:
        """The rule set's RMD divisor for `account` in `year` (RuleSet.rmd_divisor), None
        when no distribution is due (no owner, a kind without RMDs, before the start age)."""
        acct = self.account_by_name[account]
        if acct.owner is None:
            return None
        birth = self.plan.person(acct.owner).birth_year
        return self.base_rules.rmd_divisor(acct.kind, year - birth, birth)

    def ages(self, year: int) -> tuple[int, ...]:
        return self.plan.ages_in(year)

    def owner_age(self, account: str, year: int) -> int | None:
        owner = self.account_by_name[account].owner
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
        growth = max(1.0, g_max) ** steps
        return BIG_M_WEALTH_FACTOR * (wealth * growth + income) + BIG_M_FLOOR_DOLLARS

    # -- families and rows -------------------------------------------------------------

    def declare(self, name: str, dims: tuple[str, ...] = (), name_format: str | None = None):
        """Declare a variable family (see taxopt.model.families)."""
        return self.variables.declare(name, dims, name_format)

    def declare_rows(self, *names: str, dims: tuple[str, ...], name_format: str | None = None):
        """Declare constraint families that share their dimensions."""
        for name in names:
            self.rows.declare(name, dims, name_format)

    def solution(self) -> dict[str, float]:
        """{variable name: value} of every family's column, read once after a solve (or
        after a stored solution was put back); feed it to `VariableFamily.series`."""
        return {
            var.name: var.varValue or 0.0
            for name in self.variables
            for var in self.variables[name].values()
        }

    def binary(
        self, name: str, year: int, rule, cliff: tuple[str, int, int] | None = None
    ) -> pulp.LpVariable | int:
        """A binary for one kink of the tax code in `year`.

        `rule(tax_input, tax_result) -> 0 | 1` says which side of the kink the ledger's true
        taxes of a plan are on (the "regime"). With a `fixed_regime` (a function of name,
        year and rule) the binary is that constant instead of a variable, so the model is an
        LP without big-M rows; `regime_values` records what was used (a fixed_regime that
        gives None leaves that binary a variable). Binaries are created with the rows of
        their kink (they are constants under a fixed regime). `cliff` marks a cliff:
        (ladder, rung, value below the cliff), see `cliffs`.
        """
        name = safe_name(name)
        self.regimes.append((name, year, rule))
        if cliff is not None:
            self.cliffs[name] = cliff
        fixed = None if self.fixed_regime is None else self.fixed_regime(name, year, rule)
        if fixed is not None:
            value = int(fixed)
            self.regime_values[name] = value
            return value
        self.binaries += 1
        return pulp.LpVariable(name, cat=pulp.LpBinary)

    def implies(self, family: str, key: Hashable, binary, when: int, expr, big: float) -> None:
        """If `binary` == `when` then `expr` <= 0 (else it may reach `big`).

        With a fixed regime the binary is a constant: the row is either `expr <= 0` or
        left out, so the LP carries no big-M coefficients (they cost precision).
        """
        if isinstance(binary, int):
            if binary == when:
                self.constrain(family, key, expr <= 0)
            return
        switch = (1 - binary) if when == 1 else binary
        self.constrain(family, key, expr - big * switch <= 0)

    def constrain(self, family: str, key: Hashable, expr: Expr | pulp.LpConstraint | bool) -> None:
        """Add the row `key` of constraint `family` (declared with `declare_rows`)."""
        rows = self.rows[family]
        if isinstance(expr, bool):  # a fixed regime turned the constraint into a constant
            if not expr:
                self.regime_conflicts.append(rows.label(key))
            return
        self.prob.addConstraint(expr, rows.add(key))

    def row(self, family: str, key: Hashable) -> pulp.LpConstraint:
        """The LP row `key` of constraint `family` (for its dual value, slack, ...)."""
        return self.prob.constraints[self.rows[family][key]]


def lin(terms: dict | list, constant: float = 0.0) -> Expr:
    """Build an affine expression from {var: coef} or [(var, coef)] without repeated +=."""
    items = terms.items() if isinstance(terms, dict) else terms
    return pulp.LpAffineExpression([(v, c) for v, c in items if c != 0], constant=constant)


def total(exprs) -> Expr:
    """Sum expressions/variables/numbers in one pass."""
    return pulp.lpSum(exprs)
