"""The "Why this plan" sheet: what one more $1,000 of each room would be worth to the plan.

Figures are `Result.shadow_prices` (taxopt.explain): marginal values read from the final
plan's optimization, today's dollars of the plan's own objective (after-tax estate,
sustainable spending a year, or lifetime tax). The sheet opens with the few largest in
words, then one row per year. A client sheet: accounts by the names the client knows.
"""

from __future__ import annotations

import re

import pandas as pd

from taxopt.explain import explain_lines
from taxopt.report.book import Sheet
from taxopt.report.labels import account_labels
from taxopt.report.tables import Column, Table, split, widths_for, write_table

SHEET = "Why this plan"
UNITS = {
    "estate": "after-tax estate",
    "spending": "sustainable spending a year",
    "tax": "lifetime tax saved",
}
KINDS = {
    "conversion": "Roth conversion",
    "contribution_limit": "contribution limit",
    "bracket": "bracket",
    "spending": "spending",
}


def write_why(sheet: Sheet, result) -> None:
    """The sheet for one Result with marginal values (result.shadow_prices not empty)."""
    table = result.shadow_prices
    names = account_labels(result.plan, result.rules)
    unit = UNITS[str(table["objective"].iloc[0])]
    yearly = yearly_table(table, names, unit, sheet.book.vocabulary.has_conversions)
    widths = widths_for(split(yearly))
    sheet.set_widths(widths)
    last = len(widths) - 1  # paragraphs span the printed columns
    sheet.text_row("Why this plan", "title", 24.0)
    sheet.wrapped(
        "What one more $1,000 (today's dollars) of each room in the tax code would be worth to "
        f"this plan, measured in today's dollars of {unit}: the plan uses a room fully when "
        "more of it would be worth something. Positive: worth having; negative: a cost. Each "
        "figure holds for small changes, other things re-planned.",
        last,
        lines=3,
        style="wrapnote",
    )
    sheet.skip()
    sheet.text_row("In a few words", "section", 18.0)
    for line in explain_lines(table, result.plan.retirement_year):
        sheet.wrapped(_relabel(line[0].upper() + line[1:] + ".", names), last, lines=2)
    sheet.skip()
    converting = (
        " A year that converts has no conversion limit: the bracket is what stops it, so its "
        "room is that bracket's; a year without conversions shows what converting $1,000 "
        "would cost."
        if sheet.book.vocabulary.has_conversions
        else ""
    )
    sheet.wrapped(
        "Rooms: a bracket's room is one more dollar taxed at the rate where ordinary income "
        "tops out instead of the next rate (with no ordinary income taxed, one more dollar of "
        f"deductions).{converting} A contribution limit's room is shared by the traditional "
        "and Roth accounts it covers. Spending: $1,000 more spent that year, paid from the "
        "portfolio.",
        last,
        lines=4,
        style="wrapnote",
    )
    sheet.skip()
    sheet.text_row(f"Figures per $1,000 more, in today's dollars of {unit}.", "note")
    write_table(sheet, yearly)


def yearly_table(
    table: pd.DataFrame, names: dict[str, str], unit: str, conversions: bool = True
) -> Table:
    """One row per year: each room's value per $1,000 (the largest where there are several)."""
    years = sorted(int(y) for y in table["year"].unique())

    def best(kind: str) -> dict[int, dict]:
        rows = table[table["kind"] == kind].sort_values("value_per_dollar", ascending=False)
        return {int(r["year"]): r for r in rows.drop_duplicates("year").to_dict("records")}

    bracket, conversion = best("bracket"), best("conversion")
    limit, spending = best("contribution_limit"), best("spending")

    def value(rows: dict[int, dict], year: int) -> float | None:
        return rows[year]["value_per_1000"] if year in rows else None

    def bracket_text(year: int) -> str:
        row = bracket.get(year)
        if row is None or row["rate"] is None or pd.isna(row["rate"]):
            return ""
        if row["rate"] == 0:
            return f"deductions, next {row['next_rate']:.0%}"
        return f"{row['rate']:.0%}, next {row['next_rate']:.0%}"

    def converted(year: int) -> str:
        row = conversion.get(year)
        if row is None:
            return ""
        if row["moved"] == "lower":  # none converted: the cost of converting
            return "none (cost of converting)"
        sources = [leg.split("->")[0] for leg in row["who"].split(", ")]
        return "from " + _relabel(", ".join(sources), names)

    columns = [
        Column("Year", years, "year", width=6),
        Column(
            "Ordinary income tops out in",
            [bracket_text(y) for y in years],
            "text",
            width=18,
            style="indented",
        ),
        Column("Bracket room", [value(bracket, y) for y in years], "cents", width=11),
        *(
            [
                Column(
                    "Conversion", [converted(y) for y in years], "text", width=28, style="indented"
                ),
                Column("Converting more", [value(conversion, y) for y in years], "cents", width=11),
            ]
            if conversions
            else []
        ),
        Column(
            "Contribution limit",
            [_relabel(limit[y]["who"], names) if y in limit else "" for y in years],
            "text",
            width=18,
            style="indented",
        ),
        Column("Contribution room", [value(limit, y) for y in years], "cents", width=12),
        Column("Spending more", [value(spending, y) for y in years], "cents", width=11),
    ]
    return Table("Each year's rooms", columns)


def _relabel(text: str, names: dict[str, str]) -> str:
    """Account names as the client knows them; "a->b" as "a to b"."""
    text = text.replace("->", " to ")
    for name in sorted(names, key=len, reverse=True):
        text = re.sub(rf"\b{re.escape(name)}\b", names[name], text)
    return text
