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

from taxopt.model.context import ModelContext
from taxopt.model.taxes import ordinary_segments
from taxopt.solve import holds_plain_solve, solve

OBJECTIVE_TERMS = {"max_estate": "estate", "max_spending": "spending", "min_tax": "tax"}
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
FULL = 0.01  # dollars: a variable this close to a bound sits at it
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
    cash_flow = ctx.rows["cash_flow"]
    out += [
        Room("spending", y, "household", cash_flow[y], "rhs", ctx.inflation[y])
        for y in ctx.years
        if y in cash_flow
    ]
    return out


def _contribution_rooms(ctx: ModelContext) -> list[Room]:
    out = []
    for year in ctx.contribution_years:
        for person in ctx.plan.people:
            for limit in ctx.rules_by_year[year].contribution_limits:
                key = (year, person.name, limit.name)
                if key not in ctx.rows["limit"]:
                    continue
                name = ctx.rows["limit"][key]
                accounts = [
                    a.name
                    for a in ctx.accounts
                    if a.owner == person.name and a.kind in limit.account_kinds
                ]
                out.append(
                    Room(
                        "contribution_limit",
                        year,
                        f"{person.name}'s {limit.display_name} limit",
                        name,
                        "rhs",
                        ctx.inflation[year],
                        detail=", ".join(accounts),
                    )
                )
    return out


def _bracket_room(ctx: ModelContext, year: int) -> Room | None:
    """The room in the bracket where ordinary taxable income tops out: the width of the
    last segment used, or, when none is used (deductions cover ordinary income), one more
    dollar of deduction (the 0% band, the `ordinary_fill_{year}` row)."""
    segments = ordinary_segments(ctx, year)
    if not segments:
        return None
    step = ctx.inflation[year]
    used = [i for i, (_s, _e, var) in enumerate(segments) if (var.varValue or 0.0) > FULL]
    if not used:
        # sum(segments) = ordinary taxable income = ... - deduction: a dollar more of
        # deduction lowers the row's right-hand side by a dollar.
        first = _segment_rate(ctx, year, segments[0][0])
        detail = "no ordinary taxable income: the room is the deductions (0% band)"
        row = ctx.rows["ordinary_fill"][year]
        return Room("bracket", year, "household", row, "rhs", -step, 0.0, first, detail)
    start, end, var = segments[used[-1]]
    if end is None:
        return None  # the top bracket has no width to widen
    rate, next_rate = _segment_rate(ctx, year, start), _segment_rate(ctx, year, end)
    full = (var.varValue or 0.0) >= (end - start) - FULL
    detail = f"ordinary income {'fills' if full else 'ends inside'} the {rate:.0%} bracket"
    return Room("bracket", year, "household", var.name, "upper", step, rate, next_rate, detail)


def _segment_rate(ctx: ModelContext, year: int, income: float) -> float:
    schedule = ctx.rules_by_year[year].ordinary.brackets[ctx.plan.filing_status]
    return schedule.rate_at(income)


def _conversion_rooms(ctx: ModelContext, brackets: dict) -> list[Room]:
    out = []
    by_year: dict[int, list] = {}
    for (year, source, target), var in ctx.variables["convert"].items.items():
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
                    bracket.moved,
                    bracket.step,
                    bracket.rate,
                    bracket.next_rate,
                    f"converted ${converted / ctx.inflation[year]:,.0f}; its room is the "
                    f"bracket's ({bracket.detail})",
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


def _dual(ctx: ModelContext, room: Room, variables: dict) -> float:
    """The minimisation-form derivative of the objective with respect to the room's
    right-hand side or bound (nominal dollars); `variables` by name."""
    if room.moved == "rhs":
        return float(ctx.prob.constraints[room.row].pi or 0.0)
    var = variables[room.row]
    bound = var.upBound if room.moved == "upper" else var.lowBound
    # A reduced cost belongs to the bound the variable sits at; the other one is slack.
    if bound is None or abs((var.varValue or 0.0) - bound) > FULL:
        return 0.0
    return float(var.dj or 0.0)


# -- the figures ----------------------------------------------------------------------


def objective_term(ctx: ModelContext) -> str:
    """What the marginal values are measured in: estate, spending or tax."""
    return OBJECTIVE_TERMS[ctx.plan.objective.kind]


def solve_for_duals(ctx: ModelContext, solver: str = "highs") -> bool:
    """Solve the final LP afresh for vertex duals (interior point with crossover: the
    default HIGHS_OPTIONS, not the rough start's). False when there are none: a MILP's
    answer, another solver, or no optimum."""
    if ctx.binaries or solver != "highs":
        return False
    if holds_plain_solve(ctx):
        return True  # the final LP's own solve was this one: its duals are in place
    return solve(ctx, solver).status == "optimal"


def shadow_prices(ctx: ModelContext) -> pd.DataFrame:
    """The marginal value of each room (module doc) from the duals of ctx's last solve."""
    term = objective_term(ctx)
    rows = []
    variables = ctx.prob.variablesDict()
    for room in rooms(ctx):
        value = -_dual(ctx, room, variables) * room.step
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


# -- in words -------------------------------------------------------------------------

TOP = 5  # lines `taxopt optimize --explain` prints
# The smallest value per $1,000 worth a line: what rounds to nothing in its words.
SHOWN_PER_1000 = {"spending": 0.005, "estate": 0.5, "tax": 0.5}


def explain_lines(
    table: pd.DataFrame, spending_year: int | None = None, top: int = TOP
) -> list[str]:
    """The few largest marginal values in plain words (today's dollars): rooms worth the
    most, then what a dollar more spent in `spending_year` (default: the first) costs."""
    if table.empty:
        return []
    spending = table[table["kind"] == "spending"]
    shown = SHOWN_PER_1000.get(str(table["objective"].iloc[0]), 0.5)
    rooms_worth = table[(table["kind"] != "spending") & (table["value_per_1000"] >= shown)]
    # A converting year's room is its bracket's: say it once, as the conversion.
    converting = rooms_worth[(rooms_worth["kind"] == "conversion")]
    duplicate = (rooms_worth["kind"] == "bracket") & rooms_worth["year"].isin(converting["year"])
    ranked = rooms_worth[~duplicate].sort_values("value_per_dollar", ascending=False)
    # The best of each kind first, then the next best of any kind.
    best = ranked.drop_duplicates("kind")
    chosen = pd.concat([best, ranked.drop(best.index)]).head(top - 1)
    lines = [_room_line(row, spending) for row in chosen.to_dict("records")]
    if not spending.empty:
        year = spending_year if spending_year in set(spending["year"]) else spending["year"].min()
        row = spending[spending["year"] == year].iloc[0]
        lines.append(
            f"each extra $1,000 spent in {year} costs {_amount(-row['value_per_1000'], row)}"
        )
    return lines


def _room_line(row: dict, spending: pd.DataFrame) -> str:
    year, worth = row["year"], _amount(row["value_per_1000"], row)
    if row["kind"] == "contribution_limit":
        return (
            f"each extra $1,000 of room under {row['who']} in {year} "
            f"({row['detail']}) is worth {worth}"
        )
    rate, next_rate = row["rate"], row["next_rate"]
    if row["kind"] == "conversion":
        text = f"each extra $1,000 converted in {year} is worth {worth}"
        if rate is not None and next_rate is not None:
            where = (
                "where the deductions run out"
                if rate == 0
                else f"at the top of the {rate:.0%} bracket"
            )
            text += (
                f"; conversions stop {where} because the next dollar would be taxed at "
                f"{next_rate:.0%} now"
            )
            later = _rate_later(row, spending)
            if later is not None:
                text += f" against ~{later:.0%} later"
        return text
    if row["kind"] == "bracket" and rate == 0:
        return (
            f"each extra $1,000 of deductions in {year} is worth {worth} "
            f"(taxed at 0% instead of {next_rate:.0%})"
        )
    if row["kind"] == "bracket":
        return (
            f"each extra $1,000 of room in the {rate:.0%} bracket in {year} is worth {worth} "
            f"(taxed at {rate:.0%} instead of {next_rate:.0%})"
        )
    return f"each extra $1,000 of {row['kind']} room in {year} is worth {worth}"


def _rate_later(row: dict, spending: pd.DataFrame) -> float | None:
    """The tax rate a converted dollar would otherwise bear later, implied by the duals: a
    dollar converted at the bracket's rate gains (later - rate) dollars of this year's tax,
    and a dollar of this year's tax is worth what a dollar spent this year costs."""
    same = spending[spending["year"] == row["year"]]
    if same.empty or same.iloc[0]["value_per_dollar"] >= 0:
        return None
    return row["rate"] + row["value_per_dollar"] / -same.iloc[0]["value_per_dollar"]


def _amount(value: float, row: dict) -> str:
    """A value per $1,000 in the objective's words."""
    term = row["objective"]
    if term == "spending":
        return f"${value:,.2f} a year of sustainable spending"
    if term == "tax":
        return f"${value:,.0f} of lifetime tax"
    return f"${value:,.0f} of after-tax estate"
