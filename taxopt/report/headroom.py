"""Room left in a year's tax position, found with the tax calculator (never with numbers
written here): extra ordinary income before the next bracket, extra long-term gains that
add no tax (the 0% band), MAGI below each surtax threshold (NIIT).

Each "room" is an amount of extra income of one kind, found by bisection on
`compute_tax`, so every interaction the calculator knows (taxable Social Security,
phase-outs, stacking of gains on ordinary income) is included.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from taxopt.rules import RuleSet
from taxopt.tax import TaxInput, compute_tax

PRECISION = 0.5  # dollars: bisection stops when the bracket is this narrow
ADDS_NO_TAX = 1e-6  # extra tax per dollar of gain that still counts as none (float noise)


@dataclass(frozen=True)
class Headroom:
    """Amounts in nominal dollars of the year; rates are fractions. None: does not apply."""

    bracket_rate: float  # rate of the ordinary bracket the last dollar falls in
    next_bracket_rate: float | None
    ordinary_room: float | None  # extra ordinary income before the next bracket
    zero_rate_gains_room: float | None  # extra long-term gains that add no tax
    surtax_room: dict[str, float]  # surtax name -> MAGI below its threshold (0 when above)
    irmaa_tier: int | None = None  # Medicare IRMAA tier this year's MAGI sets (0: none)
    irmaa_room: float | None = None  # extra MAGI before the next tier; None at the top


def with_irmaa_room(room: Headroom, premium_rules: RuleSet, income: TaxInput) -> Headroom:
    """`room` with the IRMAA tier and room this year's MAGI sets for the premiums of the
    year it is looked back on from; `premium_rules` indexed to that premium year (their
    tiers, not this year's, decide). Unchanged without a [medicare] table."""
    medicare = premium_rules.medicare
    if medicare is None:
        return room
    magi = compute_tax(premium_rules, income).magi  # MAGI depends on income only
    irmaa = medicare.irmaa(magi, income.filing_status, 1)
    return replace(room, irmaa_tier=int(irmaa.tier), irmaa_room=irmaa.room)


def headroom(rules: RuleSet, income: TaxInput) -> Headroom:
    """`rules` already indexed to the year (RuleSet.for_year)."""
    base = compute_tax(rules, income)
    schedule = rules.ordinary.brackets[income.filing_status]
    taxed = base.ordinary_taxable_income
    index = max(i for i, t in enumerate(schedule.thresholds) if taxed >= t)
    rate = schedule.rates[index]
    next_rate = room = None
    if index + 1 < len(schedule.thresholds):
        top = schedule.thresholds[index + 1]
        next_rate = schedule.rates[index + 1]
        ceiling = top + base.total_deductions + 1.0
        room = _largest(
            lambda extra: (
                compute_tax(rules, _more(income, "ordinary_income", extra)).ordinary_taxable_income
                <= top
            ),
            ceiling,
        )
    return Headroom(
        bracket_rate=rate,
        next_bracket_rate=next_rate,
        ordinary_room=room,
        zero_rate_gains_room=_zero_rate_gains_room(rules, income, base.total_tax),
        surtax_room={
            s.name: max(0.0, s.threshold[income.filing_status] - base.magi) for s in rules.surtaxes
        },
    )


def _zero_rate_gains_room(rules: RuleSet, income: TaxInput, tax: float) -> float | None:
    """Extra long-term gains that add no tax; None when no gains schedule starts at 0%."""
    schedules = [p for p in rules.preferential if "ltcg" in p.applies_to]
    if not schedules or schedules[0].brackets[income.filing_status].rates[0] > 0:
        return None
    bands = schedules[0].brackets[income.filing_status].thresholds
    deductions = compute_tax(rules, income).total_deductions
    ceiling = (bands[1] if len(bands) > 1 else 0.0) + deductions + 1.0
    return _largest(
        lambda extra: (
            compute_tax(rules, _more(income, "ltcg", extra)).total_tax
            <= tax + ADDS_NO_TAX * (1.0 + extra)
        ),
        ceiling,
    )


def _more(income: TaxInput, kind: str, extra: float) -> TaxInput:
    return replace(income, **{kind: getattr(income, kind) + extra})


def _largest(holds, ceiling: float) -> float:
    """Largest x in [0, ceiling] with holds(x), for a condition that holds up to a point."""
    if not holds(0.0):
        return 0.0
    if holds(ceiling):
        return ceiling
    low, high = 0.0, ceiling
    while high - low > PRECISION:
        mid = (low + high) / 2
        if holds(mid):
            low = mid
        else:
            high = mid
    return low
