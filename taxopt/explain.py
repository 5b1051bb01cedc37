"""Why the plan is what it is: marginal values read from the duals of the final LP.

Each "room" is one right-hand side or one variable bound of the final model, moved by one
today's dollar (`inflation[year]` nominal dollars in its year). Its marginal value is the
change in the plan's objective that move buys, in the objective's own today's dollars and
signed so that positive is better for the plan:
- estate (max_estate): dollars of after-tax estate (on the gross basis: estate net of
  lifetime tax, the model's objective);
- spending (max_spending): dollars a year of sustainable spending;
- tax (min_tax): dollars of lifetime tax (with the heirs' tax) saved.

The rooms, and exactly what is moved:
- contribution_limit: the year's per-person limit row (`limit_{year}_{person}_{limit}`),
  shared by every account kind the limit covers (traditional and Roth alike); its
  right-hand side is raised.
- bracket: the width (upper bound) of the ordinary-income segment in which the year's
  ordinary taxable income tops out (`ordinary_{year}_{i}`; segments split the brackets at
  the preferential thresholds too): one more dollar taxed at that segment's rate instead
  of the next one's.
- conversion: a year whose plan converts has no conversion limit; what stops it is the
  bracket, so its room is that same bracket width. A year without conversions: the
  conversion variable's lower bound is raised (the cost of forcing a dollar converted).
- spending: one more dollar spent in the year beyond the plan, an outflow the year's cash
  flow row (`cash_flow_{year}`) must fund: its right-hand side is raised.

HiGHS reports a row's dual and a column's reduced cost as the derivative of the
minimisation form's objective; for either sense the gain in the plan's own terms is
minus the dual times the move. A dual is a one-sided figure at a kink: between the left
and the right finite differences (tests check each kind against a re-solve).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import pulp

from taxopt.model.context import ModelContext
from taxopt.solve import solve

OBJECTIVE_TERMS = {"max_estate": "estate", "max_spending": "spending", "min_tax": "tax"}
KINDS = ("conversion", "contribution_limit", "bracket", "spending")
COLUMNS = [
    "year",
    "kind",
    "who",
    "objective",
    "value_per_dollar",
    "value_per_1000",
    "row",
    "moved",
    "rate",
    "next_rate",
    "detail",
]
FULL = 0.01  # dollars: a segment this close to its width is full
USED = 0.5  # dollars: a conversion below this is none


@dataclass(frozen=True)
class Room:
    """One thing whose marginal value is reported: a row's right-hand side or a variable's
    bound, moved by `step` nominal dollars per today's dollar of room."""

    kind: str
    year: int
    who: str
    row: str  # the constraint's or variable's name in the LP file
    moved: str  # "rhs" | "upper" | "lower"
    step: float  # nominal dollars per today's dollar
    rate: float | None = None  # bracket: the segment's rate
    next_rate: float | None = None  # bracket: the rate above it
    detail: str = ""


# -- the adapter: the only code that knows the model's names ------------------------------


def rooms(ctx: ModelContext) -> list[Room]:
    """Every room of the model (see the module doc), from its named rows and variables."""
    out: list[Room] = []
    out += _contribution_rooms(ctx)
    brackets = {y: _bracket_room(ctx, y) for y in ctx.years}
    out += [r for r in brackets.values() if r is not None]
    out += _conversion_rooms(ctx, brackets)
    out += [
        Room("spending", y, "household", f"cash_flow_{y}", "rhs", ctx.inflation[y])
        for y in ctx.years
        if f"cash_flow_{y}" in ctx.prob.constraints
    ]
    return out


def _contribution_rooms(ctx: ModelContext) -> list[Room]:
    out = []
    for year in ctx.contribution_years:
        for person in ctx.plan.people:
            for limit in ctx.rules_by_year[year].contribution_limits:
                name = f"limit_{year}_{person.name}_{limit.name}"
                if name not in ctx.prob.constraints:
                    continue
                accounts = [
                    a.name
                    for a in ctx.accounts
                    if a.owner == person.name and a.kind in limit.account_kinds
                ]
                out.append(
                    Room(
                        "contribution_limit",
                        year,
                        f"{person.name} {limit.name}",
                        name,
                        "rhs",
                        ctx.inflation[year],
                        detail=", ".join(accounts),
                    )
                )
    return out


def _bracket_room(ctx: ModelContext, year: int) -> Room | None:
    """The width of the segment where ordinary taxable income tops out (the last one used,
    or the first one when none is)."""
    segments = ctx.x["ordinary_segments"].get(year)
    if not segments:
        return None
    used = [i for i, (_s, _e, var) in enumerate(segments) if (var.varValue or 0.0) > FULL]
    top = used[-1] if used else 0
    start, end, var = segments[top]
    if end is None:
        return None  # the top bracket has no width to widen
    rate = _segment_rate(ctx, year, start)
    next_rate = _segment_rate(ctx, year, end)
    full = (var.varValue or 0.0) >= (end - start) - FULL
    detail = f"ordinary income {'fills' if full else 'ends inside'} the {rate:.0%} bracket"
    return Room(
        "bracket",
        year,
        "household",
        var.name,
        "upper",
        ctx.inflation[year],
        rate,
        next_rate,
        detail,
    )


def _segment_rate(ctx: ModelContext, year: int, income: float) -> float:
    schedule = ctx.rules_by_year[year].ordinary.brackets[ctx.plan.filing_status]
    rate = schedule.rates[0]
    for threshold, r in zip(schedule.thresholds, schedule.rates, strict=True):
        if income >= threshold:
            rate = r
    return rate


def _conversion_rooms(ctx: ModelContext, brackets: dict) -> list[Room]:
    out = []
    by_year: dict[int, list] = {}
    for (source, target, year), var in ctx.x["convert"].items():
        by_year.setdefault(year, []).append((source, target, var))
    for year, legs in sorted(by_year.items()):
        converted = sum(var.varValue or 0.0 for _s, _t, var in legs)
        bracket = brackets.get(year)
        if converted > USED and bracket is not None:
            who = ", ".join(f"{s}->{t}" for s, t, v in legs if (v.varValue or 0.0) > USED)
            out.append(
                Room(
                    "conversion",
                    year,
                    who,
                    bracket.row,
                    "upper",
                    bracket.step,
                    bracket.rate,
                    bracket.next_rate,
                    f"converted ${converted / ctx.inflation[year]:,.0f}; room = the bracket",
                )
            )
            continue
        for source, target, var in legs:
            out.append(
                Room(
                    "conversion",
                    year,
                    f"{source}->{target}",
                    var.name,
                    "lower",
                    ctx.inflation[year],
                    detail="none converted; cost of forcing a dollar",
                )
            )
    return out


def _dual(ctx: ModelContext, room: Room) -> float:
    """The minimisation-form derivative of the objective with respect to the room's
    right-hand side or bound (nominal dollars)."""
    if room.moved == "rhs":
        return float(ctx.prob.constraints[room.row].pi or 0.0)
    return float(ctx.prob.variablesDict()[room.row].dj or 0.0)


def move(ctx: ModelContext, room: Room, dollars_real: float) -> None:
    """Move the room by `dollars_real` today's dollars (negative: take room away)."""
    nominal = dollars_real * room.step
    if room.moved == "rhs":
        # PuLP keeps `expr + constant <sense> 0`: the right-hand side is -constant.
        ctx.prob.constraints[room.row].constant -= nominal
        return
    var = ctx.prob.variablesDict()[room.row]
    if room.moved == "upper":
        var.upBound = (var.upBound or 0.0) + nominal
    else:
        var.lowBound = (var.lowBound or 0.0) + nominal


# -- the figures ----------------------------------------------------------------------


def objective_term(ctx: ModelContext) -> str:
    """What the marginal values are measured in: estate, spending or tax."""
    return OBJECTIVE_TERMS[ctx.plan.objective.kind]


def gain(ctx: ModelContext, objective_change: float) -> float:
    """An objective change as a gain in the plan's terms (tax: a saving is positive)."""
    return -objective_change if ctx.prob.sense == pulp.LpMinimize else objective_change


def solve_for_duals(ctx: ModelContext, solver: str = "highs") -> bool:
    """Solve the final LP afresh for vertex duals (interior point with crossover: the
    default HIGHS_OPTIONS, not the rough start's). False when there are none: a MILP's
    answer, another solver, or no optimum."""
    if ctx.binaries or solver != "highs":
        return False
    return solve(ctx, solver).status == "optimal"


def shadow_prices(ctx: ModelContext) -> pd.DataFrame:
    """The marginal value of each room (module doc) from the duals of ctx's last solve."""
    term = objective_term(ctx)
    rows = []
    for room in rooms(ctx):
        value = -_dual(ctx, room) * room.step
        value = 0.0 if abs(value) < 1e-9 else value
        rows.append(
            {
                "year": room.year,
                "kind": room.kind,
                "who": room.who,
                "objective": term,
                "value_per_dollar": value,
                "value_per_1000": 1000.0 * value,
                "row": room.row,
                "moved": room.moved,
                "rate": room.rate,
                "next_rate": room.next_rate,
                "detail": room.detail,
            }
        )
    return pd.DataFrame(rows, columns=COLUMNS)


def empty_table() -> pd.DataFrame:
    return pd.DataFrame(columns=COLUMNS)
