"""Checks that need the plan and the rule set together, and limits on the work a run asks.

- `check_plan_against_rules`: the filing status covers as many people as the plan has;
  every year's savings can be invested within the accounts the plan routes them to (the
  contribution limits and the earned-income cap), so no saving is silently spent (a fixed
  contribution too large for its account is left to taxopt.diagnose, which names the
  amount that fits).
- `plan_warnings`: what is allowed but worth saying (a plan that starts before its rule
  set's year is taxed under the later law); `uninvested_savings` says when the tax that
  deductible contributions save could not be invested either and was spent.
- `check_simulation_size`: a stress test keeps every path's yearly figures in memory;
  refuse a run that would need more than MEMORY_BUDGET_BYTES, naming the largest that fits.

Amounts are nominal dollars of their year unless a name says `_real`.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from taxopt.errors import InputError

if TYPE_CHECKING:
    from taxopt.plan import Plan
    from taxopt.rules import RuleSet

MONEY_SLACK = 1.0  # dollars: savings this close to the accounts' room fit
# How much one dollar may grow over the plan (the fastest tier, or inflation) before the
# solver's arithmetic fails: the young accumulator with the guide's 60% a year solves at
# 1.7e11 (55 years) and is reported infeasible at 1.9e13 (65 years).
MAX_GROWTH = 1e12
MEMORY_BUDGET_BYTES = 4 * 1024**3  # what a stress test may hold in memory (4 GiB)


def check_plan_against_rules(plan: Plan, rules: RuleSet, source: str = "plan") -> None:
    """InputError (file, field, fix) for a plan the rule set cannot carry out as written."""
    _check_scale(plan, source)
    _check_people(plan, rules, source)
    _check_savings_can_be_invested(plan, rules, source)


def _check_scale(plan: Plan, source: str) -> None:
    """Refuse a plan whose money grows beyond what the solver can hold next to single
    dollars (it would report the plan infeasible or unbounded instead)."""
    years = len(plan.years)
    fastest = max(plan.tiers, key=lambda t: t.expected_return)
    rate, field = fastest.expected_return, f"tiers[{plan.tiers.index(fastest)}].expected_return"
    if plan.inflation > rate:
        rate, field = plan.inflation, "inflation"
    growth = (1.0 + rate) ** years
    if growth > MAX_GROWTH:
        most = math.floor(math.log(MAX_GROWTH) / math.log1p(rate))
        raise InputError(
            f"{source}: {field}: {rate:.0%} a year for {years} years grows a dollar "
            f"{growth:.1e}-fold, beyond what the solver can compute next to single dollars "
            f"(at most {MAX_GROWTH:.0e}); shorten the plan to {most} years (horizon_age) or "
            "use lower expected returns (tier_preset sober)"
        )


def _check_people(plan: Plan, rules: RuleSet, source: str) -> None:
    covered = rules.people_covered(plan.filing_status)
    if covered == len(plan.people):
        return
    people = len(plan.people)
    if covered == 2:
        fix = f"add the spouse to people, or use {_statuses_for(rules, 1)}"
    else:
        fix = f"use {_statuses_for(rules, 2)}, or list one person"
    raise InputError(
        f"{source}: filing_status: '{plan.filing_status}' covers {covered} "
        f"{'person' if covered == 1 else 'people'} under rule set {rules.name} but the plan "
        f"lists {people}; {fix}"
    )


def _statuses_for(rules: RuleSet, people: int) -> str:
    names = [s for s in rules.meta.filing_statuses if rules.people_covered(s) == people]
    return " or ".join(f"'{s}'" for s in names) or "another rule set"


def _check_savings_can_be_invested(plan: Plan, rules: RuleSet, source: str) -> None:
    """Every contribution year's savings fit the routable accounts' room (else they would
    be spent): an account outside every contribution limit (a taxable account) takes
    any amount; limited accounts take up to each owner's limit and wages."""
    from taxopt.cashflows import plan_flows

    accounts = _limited_routable(plan, rules)
    if accounts is None or _fixed_too_large(plan, rules):
        return  # a fixed contribution that cannot be made: the solver's diagnosis names it
    flows = plan_flows(plan, rules)
    for year in flows.contribution_years:
        savings = flows.savings[year]
        room = _room(plan, rules, accounts, year, flows.earnings)
        if savings > room + MONEY_SLACK:
            where = ", ".join(a.name for a in accounts) or "(none)"
            infl = plan.inflation_factor(year)
            raise InputError(
                f"{source}: contributions: {year}'s savings of ${savings / infl:,.0f} "
                f"(today's dollars) cannot all be invested: the accounts they may go to "
                f"({where}) take at most ${room / infl:,.0f} that year (contribution limits, "
                "and no more than the owner's wages); add a taxable account to the plan or "
                "to contributions.accounts, or lower the savings"
            )


def _limited_routable(plan: Plan, rules: RuleSet) -> list | None:
    """The accounts savings may go to, if every one is under a contribution limit; None when
    one is not (a taxable account takes any amount)."""
    c = plan.contributions
    routable = set(c.accounts or [a.name for a in plan.accounts]) | {f.account for f in c.fixed}
    accounts = [a for a in plan.accounts if a.name in routable]
    limited_kinds = {kind for lim in rules.contribution_limits for kind in lim.account_kinds}
    return None if any(a.kind not in limited_kinds for a in accounts) else accounts


def uninvested_savings(plan: Plan, rules: RuleSet, yearly) -> list[str]:
    """Working years whose savings (with the tax deductible contributions save) the limited
    accounts could not take, so the ledger counts the rest as spending: one warning."""
    if _limited_routable(plan, rules) is None:
        return []
    working = yearly[yearly["year"] < plan.retirement_year]
    spent = working[working["spending_real"] > MONEY_SLACK]
    if spent.empty:
        return []
    return [
        f"in {len(spent)} working year(s) from {int(spent['year'].iloc[0])}, "
        f"${spent['spending_real'].sum():,.0f} (today's dollars) of savings and the tax "
        "deductible contributions saved could not be invested within the accounts' limits "
        "and is counted as spending; add a taxable account to contributions.accounts to "
        "invest it"
    ]


def lifetime_limit_notes(plan: Plan, rules: RuleSet, yearly) -> list[str]:
    """Where a plan passes a limit the model does not enforce (one line each): contributions
    above a limit's `after_withdrawal` amount from the year the person first withdrew from
    its kinds (UK money purchase annual allowance: the excess is charged). The lump sum
    allowance (`tax_free_lifetime_limit`) is enforced by the model and the ledger
    (taxopt.model.tax_free)."""
    notes = []
    for person in plan.people:
        owned = [a for a in plan.accounts if a.owner == person.name]
        for limit in rules.contribution_limits:
            limited = [a.name for a in owned if a.kind in limit.account_kinds]
            if limit.after_withdrawal is not None and limited:
                notes += _after_withdrawal_note(person.name, limit, yearly, limited)
    return notes


def _after_withdrawal_note(person: str, limit, yearly, accounts: list[str]) -> list[str]:
    drawn = sum(yearly[f"withdrawal_{name}"] for name in accounts)
    paid = sum(yearly[f"contribution_{name}"] for name in accounts)
    accessed = (drawn > MONEY_SLACK).cummax()
    over = yearly["year"][accessed & (paid > limit.after_withdrawal + MONEY_SLACK)]
    if over.empty:
        return []
    return [
        f"{person} contributes more than ${limit.after_withdrawal:,.0f} a year to "
        f"{limit.display_name} accounts in {', '.join(str(int(y)) for y in over)}, after "
        f"first withdrawing from them (contribution_limits[{limit.name}].after_withdrawal); "
        "the plan leaves out the charge on the excess"
    ]


def _room(plan: Plan, rules: RuleSet, accounts: list, year: int, earnings: dict) -> float:
    """Most that `accounts` (all under contribution limits) can take in `year`
    (`earnings`: PlanFlows.earnings, wages by year and person)."""
    from taxopt.cashflows import earned_income_before

    wages = earnings[year]
    year_rules = rules.for_year(year, plan.inflation)
    total = 0.0
    for person in plan.people:
        own = {a.kind for a in accounts if a.owner == person.name}
        age = year - person.birth_year
        earned = earned_income_before(earnings, year, person.name)
        limit = sum(
            lim.for_earned_income(age, earned)
            for lim in year_rules.contribution_limits
            if own & set(lim.account_kinds)
        )
        total += min(limit, wages.get(person.name, 0.0))
    return total


def _fixed_too_large(plan: Plan, rules: RuleSet) -> bool:
    """Whether a fixed contribution exceeds its account's limit or its owner's wages in
    some year (taxopt.diagnose then reports it with the closest amount that works)."""
    from taxopt.cashflows import earned_income_before, plan_flows

    by_name = {a.name: a for a in plan.accounts}
    flows = None
    for fixed in plan.contributions.fixed:
        account = by_name[fixed.account]
        limited = any(account.kind in lim.account_kinds for lim in rules.contribution_limits)
        if not limited or account.owner is None:
            continue
        flows = flows or plan_flows(plan, rules)
        for year in flows.contribution_years:
            if fixed.until_year is not None and year > fixed.until_year:
                continue
            year_rules = rules.for_year(year, plan.inflation)
            age = year - plan.person(account.owner).birth_year
            earned = earned_income_before(flows.earnings, year, account.owner)
            limit = min(
                lim.for_earned_income(age, earned)
                for lim in year_rules.contribution_limits
                if account.kind in lim.account_kinds
            )
            cap = min(limit, flows.earnings[year].get(account.owner, 0.0))
            if fixed.annual * plan.inflation_factor(year) > cap + MONEY_SLACK:
                return True
    return False


def plan_warnings(plan: Plan, rules: RuleSet) -> list[str]:
    """Allowed but worth saying, one sentence each with the fix."""
    out = []
    if plan.start_year < rules.year:
        out.append(
            f"the plan starts in {plan.start_year}, before rule set {rules.name}'s year "
            f"{rules.year}; the years before {rules.year} are taxed under {rules.year}'s law "
            f"(amounts not deflated). Use a rule set for {plan.start_year}, or start the plan "
            f"in {rules.year}"
        )
    out.extend(_missing_prior_magi(plan, rules))
    return out


def _missing_prior_magi(plan: Plan, rules: RuleSet) -> list[str]:
    """Premium years whose IRMAA the returns before the plan set, when the plan does not
    give those returns' MAGI (plan.prior_magi)."""
    medicare = rules.medicare
    if medicare is None:
        return []
    missing = {
        year - medicare.lookback_years: year
        for year in plan.years
        if year - medicare.lookback_years < plan.start_year
        and year - medicare.lookback_years not in plan.prior_magi
        and medicare.on_medicare(plan.ages_in(year))
    }
    if not missing:
        return []
    returns = ", ".join(str(y) for y in sorted(missing))
    premiums = ", ".join(str(y) for y in sorted(missing.values()))
    example = ", ".join(f"{y} = ..." for y in sorted(missing))
    return [
        f"{plan.source}: prior_magi: Medicare IRMAA premiums of {premiums} are set by the MAGI "
        f"of the {returns} return(s), which the plan does not give, so they are left out; add "
        f"prior_magi = {{{example}}} to include them"
    ]


def simulation_bytes(paths: int, years: int, tiers: int, accounts: int, compare: bool) -> int:
    """Memory a stress test holds at its peak, estimated from what it keeps per path and
    year: the returns of each tier, six figures, withdrawals and balances per account, and
    their working copies (measured: about 250 bytes per path-year for the couple plan, 515
    with every withdrawal rule compared; the estimate rounds up)."""
    per_path_year = 8 * (3 * tiers + 8 + 4 * accounts)
    if compare:
        per_path_year *= 2
    return paths * years * per_path_year


def check_simulation_size(
    paths: int, years: int, tiers: int, accounts: int, compare: bool, label: str = "paths"
) -> None:
    """InputError when a stress test would exceed MEMORY_BUDGET_BYTES, naming the most
    paths that fit."""
    need = simulation_bytes(paths, years, tiers, accounts, compare)
    if need <= MEMORY_BUDGET_BYTES:
        return
    one = simulation_bytes(1, years, tiers, accounts, compare)
    fits = max(1, math.floor(MEMORY_BUDGET_BYTES / one))
    raise InputError(
        f"{label}: {paths:,} paths x {years} years would need about {need / 1024**3:,.1f} GB "
        f"(every path's yearly figures are kept), above the {MEMORY_BUDGET_BYTES / 1024**3:g} "
        f"GB budget; use at most {fits:,} paths (percentiles settle long before that)"
    )
