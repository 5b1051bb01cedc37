"""Roth basis by ordering layer: which part of a Roth distribution is income or penalised.

The law's bookkeeping for one person's Roth accounts taken together (IRC §408A(d)(4)(A):
all of a person's Roth IRAs are one for these rules): regular contributions, conversions by
year (taxable and nontaxable part), and earnings (whatever else the accounts hold). A
distribution that is not qualified comes out of them in the order of §408A(d)(4)(B) and
Treas. Reg. §1.408A-6 Q&A-8, as IRS Pub. 590-B ("Ordering Rules for Distributions") and
Form 8606 Part III lay it out:

1. regular contributions (free at any age);
2. conversions, first in first out, each year's taxable part before its nontaxable part
   (free, except that a taxable part taken before 59 1/2 within the 5-taxable-year period
   beginning with its conversion year bears the §72(t) additional tax, §408A(d)(3)(F));
3. earnings (income, §408A(d)(1) and §72; before 59 1/2 also the §72(t) additional tax).

All of one year's distributions count as one made at the end of the year, after that
year's contributions and conversions (Pub. 590-B, "Aggregation (grouping and adding)
rules"). Which phase a year is in (early / unqualified / qualified) is the rule set's call
(`RuleSet.roth_withdrawal_phase`). Amounts are nominal dollars.

The ledger and the rule-based engine replay distributions through `RothLayers`; the
optimization model states the same rules as cumulative limits (taxopt.model.roth).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from taxopt.decisions import Decisions
from taxopt.plan import Plan
from taxopt.rules import RothDistributions, RothPhase, RuleSet

MONEY_DUST = 0.01  # dollars: earnings below this are rounding, not a finding


@dataclass
class ConversionLayer:
    """What is left of one year's conversions (nominal dollars)."""

    year: int
    taxable: float  # the part that was income when converted
    nontaxable: float  # after-tax basis that was converted


@dataclass(frozen=True)
class RothDraw:
    """How one year's Roth distributions of one person split (nominal dollars)."""

    amount: float
    phase: RothPhase
    regular: float  # from regular contributions
    conversions: float  # from conversions (both parts)
    earnings: float  # beyond all contributions and conversions
    income: float  # includible in gross income: non-qualified earnings
    early: float  # subject to the early-withdrawal additional tax (§72(t))


@dataclass
class RothLayers:
    """One person's Roth basis by ordering layer, and the start of their 5-year clock."""

    owner: str
    regular: float = 0.0
    conversions: list[ConversionLayer] = field(default_factory=list)
    clock_start: int | None = None  # first year of a contribution or conversion

    @property
    def basis(self) -> float:
        """Contributions and conversions not yet distributed (never income)."""
        return self.regular + sum(c.taxable + c.nontaxable for c in self.conversions)

    def copy(self) -> RothLayers:
        return replace(self, conversions=[replace(c) for c in self.conversions])

    def add(
        self,
        year: int,
        regular: float = 0.0,
        converted_taxable: float = 0.0,
        converted_nontaxable: float = 0.0,
    ) -> None:
        """A year's regular contributions and conversions; the first one starts the clock."""
        converted = converted_taxable + converted_nontaxable
        if regular + converted <= 0:
            return
        if self.clock_start is None:
            self.clock_start = year
        self.regular += regular
        if converted > 0:
            last = self.conversions[-1] if self.conversions else None
            if last is not None and last.year == year:
                last.taxable += converted_taxable
                last.nontaxable += converted_nontaxable
            else:
                self.conversions.append(
                    ConversionLayer(year, converted_taxable, converted_nontaxable)
                )

    def distribute(
        self, year: int, amount: float, phase: RothPhase, rule: RothDistributions | None
    ) -> RothDraw:
        """Take `amount` out in the legal order; say what is income and what is early."""
        left = max(0.0, amount)
        regular = min(left, self.regular)
        self.regular -= regular
        left -= regular
        from_conversions = early = 0.0
        for layer in self.conversions:
            if left <= 0:
                break
            taxable = min(left, layer.taxable)
            layer.taxable -= taxable
            left -= taxable
            nontaxable = min(left, layer.nontaxable)
            layer.nontaxable -= nontaxable
            left -= nontaxable
            from_conversions += taxable + nontaxable
            if phase == RothPhase.EARLY and not _seasoned(rule, layer.year, year):
                early += taxable
        self.conversions = [c for c in self.conversions if c.taxable + c.nontaxable > 0]
        earnings = left
        income = earnings if phase != RothPhase.QUALIFIED else 0.0
        if phase == RothPhase.EARLY:
            early += earnings
        return RothDraw(amount, phase, regular, from_conversions, earnings, income, early)


def _seasoned(rule: RothDistributions | None, conversion_year: int, year: int) -> bool:
    return rule is None or rule.conversion_seasoned(conversion_year, year)


def roth_accounts(plan: Plan, rules: RuleSet) -> dict[str, list[str]]:
    """{owner: names of their accounts that follow the Roth rules}, in plan order."""
    out: dict[str, list[str]] = {}
    for account in plan.accounts:
        if rules.account_kinds[account.kind].roth_distribution_rules and account.owner:
            out.setdefault(account.owner, []).append(account.name)
    return out


def opening_layers(plan: Plan, rules: RuleSet, strict_clock: bool = False) -> dict[str, RothLayers]:
    """Each Roth owner's layers at the start of the plan, from the accounts' Roth fields.

    The clock starts at the earliest stated first-contribution or conversion year. When
    none is stated and the owner holds Roth money, the money is taken to be old enough
    that the 5-year period is met (`strict_clock`: it starts at the plan's start year,
    the latest it can); when the owner holds none, it starts with their first contribution.
    """
    rule = rules.roth_distributions
    seasoning = rule.seasoning_years if rule is not None else 0
    out: dict[str, RothLayers] = {}
    for owner, names in roth_accounts(plan, rules).items():
        accounts = [a for a in plan.accounts if a.name in names]
        layers = RothLayers(owner)
        layers.regular = sum(a.roth_contributions or 0.0 for a in accounts)
        converted: dict[int, float] = {}
        for a in accounts:
            for year, amount in a.roth_conversions.items():
                converted[year] = converted.get(year, 0.0) + amount
        layers.conversions = [
            ConversionLayer(year, amount, 0.0) for year, amount in sorted(converted.items())
        ]
        starts = [a.roth_first_contribution_year for a in accounts]
        starts = [y for y in starts if y is not None]
        starts += [c.year for c in layers.conversions if c.taxable > 0]
        if not starts and any(a.total > 0 or (a.roth_contributions or 0) > 0 for a in accounts):
            starts = [plan.start_year - (0 if strict_clock else seasoning)]
        layers.clock_start = min(starts, default=None)
        out[owner] = layers
    return out


def replay_decisions(
    plan: Plan, rules: RuleSet, decisions: Decisions, strict_clock: bool = False
) -> dict[int, dict[str, RothDraw]]:
    """{year: {owner: RothDraw}}: a plan's Roth flows through the ordering rules.

    Contributions to Roth accounts are regular contributions; a conversion's taxable part
    is what the source account's kind taxes of a withdrawal.
    """
    kinds = {a.name: rules.account_kinds[a.kind] for a in plan.accounts}
    layers = opening_layers(plan, rules, strict_clock)
    out = {}
    for year in plan.years:
        contributions = {a.name: decisions.contribution(a.name, year) for a in plan.accounts}
        withdrawals = {a.name: decisions.withdrawal(a.name, year) for a in plan.accounts}
        converted: dict[str, tuple[float, float]] = {}
        for (source, target, y), amount in decisions.conversions.items():
            if y != year or amount <= 0:
                continue
            free = kinds[source].tax_free_withdrawal_fraction
            taxable, nontaxable = converted.get(target, (0.0, 0.0))
            converted[target] = (taxable + amount * (1 - free), nontaxable + amount * free)
        out[year] = settle_year(plan, rules, layers, year, contributions, converted, withdrawals)
    return out


def roth_clock_notes(plan: Plan, rules: RuleSet, decisions: Decisions) -> list[str]:
    """What the plan's tax-free Roth earnings rest on, one note per owner: an assumed
    clock (money held, no first-contribution year stated: see assumed_clock_notes) or the
    plan's own first contribution or conversion, which starts the clock (a small one may be
    there only for that: taxopt.model.roth)."""
    return assumed_clock_notes(plan, rules, decisions) + started_clock_notes(plan, rules, decisions)


def assumed_clock_notes(plan: Plan, rules: RuleSet, decisions: Decisions) -> list[str]:
    """Where a plan relies on the default clock: Roth earnings it takes tax free only
    because an owner's Roth money is assumed to be five years old. One note per owner."""
    rule = rules.roth_distributions
    if rule is None:
        return []
    stated = {
        a.owner for a in plan.accounts if a.roth_first_contribution_year or a.roth_conversions
    }
    assumed = replay_decisions(plan, rules, decisions)
    strict = replay_decisions(plan, rules, decisions, strict_clock=True)
    notes = []
    for owner in opening_layers(plan, rules):
        if owner in stated:
            continue
        extra = {y: strict[y][owner].income - assumed[y][owner].income for y in plan.years}
        years = [y for y, amount in extra.items() if amount > MONEY_DUST]
        if years:
            notes.append(
                f"{owner}: the plan takes ${sum(extra[y] for y in years):,.0f} of Roth "
                f"earnings tax free in {_span(years)}, which holds only if {owner}'s "
                f"first Roth contribution was in {years[0] - rule.seasoning_years} or "
                f"earlier (IRC §408A(d)(2)(B)); if not, state roth_first_contribution_year"
            )
    return notes


def started_clock_notes(plan: Plan, rules: RuleSet, decisions: Decisions) -> list[str]:
    """For an owner with no Roth history whose plan draws Roth earnings tax free: the
    contribution or conversion that starts the 5-year clock, which the plan needs."""
    rule = rules.roth_distributions
    if rule is None:
        return []
    opening = opening_layers(plan, rules)
    unstarted = [owner for owner, layers in opening.items() if layers.clock_start is None]
    if not unstarted:
        return []
    draws = replay_decisions(plan, rules, decisions)
    accounts = roth_accounts(plan, rules)
    notes = []
    for owner in unstarted:
        qualified = {
            y: d[owner].earnings
            for y, d in draws.items()
            if d[owner].phase == RothPhase.QUALIFIED and d[owner].earnings > MONEY_DUST
        }
        if not qualified:
            continue
        names = set(accounts[owner])
        put_in = {
            y: sum(decisions.contribution(n, y) for n in names)
            + sum(v for (_s, t, yy), v in decisions.conversions.items() if t in names and yy == y)
            for y in plan.years
        }
        first = min(y for y, amount in put_in.items() if amount > 0)
        years = sorted(qualified)
        notes.append(
            f"{owner}: the ${put_in[first]:,.0f} put into {owner}'s Roth in {first} starts the "
            f"5-year clock (IRC §408A(d)(2)(B)), so the ${sum(qualified.values()):,.0f} of Roth "
            f"earnings drawn in {_span(years)} is tax free; make that {first} "
            "contribution or conversion even if it is small"
        )
    return notes


def _span(years: list[int]) -> str:
    """'2031' or '2031-2035' (first and last of sorted years)."""
    return str(years[0]) if years[0] == years[-1] else f"{years[0]}-{years[-1]}"


def settle_year(
    plan: Plan,
    rules: RuleSet,
    layers: dict[str, RothLayers],
    year: int,
    contributions: dict[str, float],
    conversions_in: dict[str, tuple[float, float]],
    withdrawals: dict[str, float],
) -> dict[str, RothDraw]:
    """Apply one year's Roth flows to every owner's layers: {owner: how their draw splits}.

    `contributions` and `withdrawals` are dollars per account, `conversions_in` (taxable,
    nontaxable) dollars converted into each account; accounts not following the Roth
    rules are ignored.
    """
    accounts = roth_accounts(plan, rules)
    draws = {}
    for owner, owner_layers in layers.items():
        names = accounts[owner]
        converted = [conversions_in.get(n, (0.0, 0.0)) for n in names]
        owner_layers.add(
            year,
            regular=sum(contributions.get(n, 0.0) for n in names),
            converted_taxable=sum(c[0] for c in converted),
            converted_nontaxable=sum(c[1] for c in converted),
        )
        age = year - plan.person(owner).birth_year
        phase = rules.roth_withdrawal_phase(age, year, owner_layers.clock_start)
        amount = sum(withdrawals.get(n, 0.0) for n in names)
        draws[owner] = owner_layers.distribute(year, amount, phase, rules.roth_distributions)
    return draws
