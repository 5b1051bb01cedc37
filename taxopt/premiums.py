"""The premiums a plan pays beside its tax, one year at a time: Medicare IRMAA (Parts B and
D income-related adjustments, on the MAGI of the return `lookback_years` before) and
marketplace (ACA) premiums net of the premium tax credit (on the same year's household
income).

The ledger, the rules-of-thumb engine (taxopt.policy) and the simulator (taxopt.simulate)
all charge premiums through `PlanPremiums`, so the three read the law once; the law itself
is the rule set's [medicare] and [aca] tables (taxopt.rules). MAGI may be a float (one
household) or a numpy array (one element per simulated path); so is every amount returned.
Amounts are nominal dollars of the premium year.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from taxopt.marketplace import MarketplaceYear, marketplace_years
from taxopt.plan import Plan
from taxopt.rules import RuleSet


@dataclass(frozen=True)
class IrmaaDue:
    """A year's IRMAA: the return whose MAGI sets it, the tier (0: none) and the premium
    for everyone on Medicare that year (nominal; owed whether or not the plan pays it)."""

    magi_year: int
    tier: Any
    premium: Any


class PlanPremiums:
    """The premiums one plan owes and pays, by year.

    IRMAA is paid from spending when `plan.options.irmaa` is on (otherwise only reported);
    marketplace premiums whenever the plan has an [aca] table (the household's choice).
    """

    def __init__(self, plan: Plan, rules: RuleSet):
        self.plan = plan
        self.marketplace = marketplace_years(plan, rules)
        self.pays_irmaa = plan.options.irmaa

    def irmaa(self, year: int, year_rules: RuleSet, magi_by_year: Mapping[int, Any]) -> IrmaaDue:
        """The IRMAA of `year` on `year_rules`' tiers (the premium year's, indexed), set by
        the MAGI of the lookback year: `magi_by_year` (the plan's own years), else
        plan.prior_magi for a return before the plan; none without either."""
        medicare = year_rules.medicare
        looked_at = year - (medicare.lookback_years if medicare is not None else 0)
        magi = magi_by_year.get(looked_at, self.plan.prior_magi.get(looked_at))
        if medicare is None or magi is None:
            return IrmaaDue(looked_at, 0, 0.0)
        people = medicare.on_medicare(self.plan.ages_in(year))
        if not people:
            return IrmaaDue(looked_at, 0, 0.0)
        result = medicare.irmaa(magi, self.plan.filing_status, people)
        return IrmaaDue(looked_at, result.tier, result.annual_surcharge)

    def irmaa_paid(self, due: IrmaaDue) -> Any:
        """What spending pays of `due`: all of it with options.irmaa, else nothing."""
        return due.premium if self.pays_irmaa else 0.0

    def bought(self, year: int) -> MarketplaceYear | None:
        """The year's marketplace coverage, None in a year without it."""
        return self.marketplace.get(year)

    def marketplace_net(self, year: int, year_rules: RuleSet, household_income: Any) -> Any:
        """The year's marketplace premium net of the premium tax credit at `household_income`
        (IRC §36B(d)(2)(B): taxopt.marketplace.household_income); 0 without coverage."""
        bought = self.bought(year)
        if bought is None or year_rules.aca is None:
            return 0.0
        return year_rules.aca.net_premium(
            household_income, bought.household_size, bought.benchmark_premium, bought.area
        )
