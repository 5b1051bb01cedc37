"""The advisor's workbook: a Result as sheets a client can read and an auditor can check.

Sheets, in order (with a prefix such as "R2 " when several plans share one workbook, see
taxopt.compare):

- Plan: the plan in plain words, the headline figures and one chart, on one printed page.
- This year: per account what to contribute, withdraw and convert, the RMD due, tier
  trades, taxable lots to sell, the expected tax and the room left in the bracket.
- Why this plan (when the result has marginal values, optimize(explain=True)): what one
  more $1,000 of each room would be worth, in words and by year (taxopt.report.why_sheet).
- Year by year: the instructions, one row per year, in tables of at most 16 columns.
- Inputs, Location: what the plan assumes and where each tier lives.
- Taxes, Charts, Glossary, Rules (every value with its source).
- Reconciliation (the optimizer against the ledger, solver details), Ledger (every
  figure, the appendix for auditors), Chart data, Plan file (the plan as read).

Every figure is stored as a value from the ledger; the only formulas are totals of visible
columns, each stored with its result (see taxopt.report.book).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from taxopt.report.book import ROW_PT, Book, Sheet, sheet_title
from taxopt.report.charts import HEIGHT_PX, WIDTH_PX, Series, make_chart
from taxopt.report.first_sheet import income_chart, write_first_sheet
from taxopt.report.inputs import write_inputs, write_location, write_plan_file
from taxopt.report.reference import write_glossary, write_reconciliation, write_rules
from taxopt.report.tables import Column, Table, write_table, write_tables
from taxopt.report.this_year import write_this_year
from taxopt.report.vocabulary import Vocabulary
from taxopt.report.why_sheet import SHEET as WHY_SHEET
from taxopt.report.why_sheet import write_why
from taxopt.report.yearly import chart_series, instruction_tables, ledger_table, tax_tables

SHEETS = (
    "Plan",
    "This year",
    "Year by year",
    "Inputs",
    "Location",
    "Taxes",
    "Charts",
    "Glossary",
    "Rules",
    "Reconciliation",
    "Ledger",
    "Chart data",
    "Plan file",
)
# Sheets written for the client: no identifiers, solver words or snake_case names. The
# others quote the law's item names, the solver and the plan file as they are.
REFERENCE_SHEETS = ("Rules", "Reconciliation", "Plan file")
CLIENT_SHEETS = tuple(s for s in SHEETS if s not in REFERENCE_SHEETS)


@dataclass
class PlanSheets:
    """One result's sheets in a workbook, by base title."""

    prefix: str
    sheets: dict[str, Sheet] = field(default_factory=dict)

    def title(self, base: str) -> str:
        return self.sheets[base].title


def build_plan_workbook(result, client: str | None = None) -> Book:
    """The advisor's workbook for one Result, not yet saved (`Book.save(path)`)."""
    book = Book(
        client or result.plan.name,
        currency=result.rules.meta.currency,
        vocabulary=Vocabulary.of(result.rules, result.plan),
    )
    add_plan_sheets(book, result)
    return book


def write_plan_workbook(
    result, path: str | Path, extend: Callable[[Book], None] | None = None
) -> Path:
    """Build the workbook, let `extend(book)` add sheets, then save it atomically."""
    book = build_plan_workbook(result)
    if extend is not None:
        extend(book)
    return book.save(path)


def add_plan_sheets(book: Book, result, prefix: str = "") -> PlanSheets:
    """Add one result's sheets to `book`, each title starting with `prefix`, in the words
    and currency of its rule set (a comparison's book holds several)."""
    with book.speaking(result.rules.meta.currency, Vocabulary.of(result.rules, result.plan)):
        return _add_plan_sheets(book, result, prefix)


def _add_plan_sheets(book: Book, result, prefix: str) -> PlanSheets:
    client = result.plan.name
    group = PlanSheets(prefix)
    for base in sheets_of(result):
        group.sheets[base] = book.add_sheet(sheet_title(prefix, base), client=client)
    s = group.sheets
    data = write_chart_data(s["Chart data"], result)
    write_first_sheet(s["Plan"], result, data, client)
    write_this_year(s["This year"], result)
    if WHY_SHEET in s:
        write_why(s[WHY_SHEET], result)
    _tables_sheet(
        s["Year by year"],
        "Year by year",
        "One row per year. Nominal $: dollars of that year; today's $: divided by inflation "
        f"since {result.plan.start_year}.",
        instruction_tables(result),
    )
    write_inputs(s["Inputs"], result)
    write_location(s["Location"], result)
    _tables_sheet(
        s["Taxes"], "Taxes", "Each year's tax from the tax calculator.", tax_tables(result)
    )
    write_charts(s["Charts"], result, data)
    write_glossary(s["Glossary"], result.rules)
    write_rules(s["Rules"], result.rules)
    write_reconciliation(s["Reconciliation"], result)
    _tables_sheet(
        s["Ledger"],
        "Appendix: the ledger",
        "Every figure of the year-by-year replay, for auditors; the other sheets are drawn "
        "from it.",
        [ledger_table(result)],
    )
    write_plan_file(s["Plan file"], result)
    return group


def sheets_of(result) -> list[str]:
    """The sheets of one result, in order: SHEETS, with "Why this plan" after "This year"
    when the result carries marginal values."""
    sheets = list(SHEETS)
    if not result.shadow_prices.empty:
        sheets.insert(sheets.index("This year") + 1, WHY_SHEET)
    return sheets


def _tables_sheet(sheet: Sheet, title: str, note: str, tables: list[Table]) -> None:
    from taxopt.report.tables import split, widths_for

    parts = [p for t in tables for p in split(t)]
    sheet.set_widths(widths_for(parts))
    sheet.text_row(title, "title", 24.0)
    sheet.text_row(note, "note")
    sheet.skip()
    write_tables(sheet, tables)


def write_chart_data(sheet: Sheet, result) -> dict[str, Series]:
    """The today's-dollar series the charts draw, one column each; returns them by name."""
    series = chart_series(result)
    years = [int(v) for v in result.yearly["year"]]
    columns = [Column("Year", years, "year", width=6)]
    columns += [Column(f"{name} (today's $)", values) for name, values in series.items()]
    sheet.set_widths([6, *([12] * len(series))])
    sheet.text_row("Chart data (today's dollars)", "title", 24.0)
    sheet.text_row("The figures the charts draw, from the ledger.", "note")
    sheet.fit_page = True  # one plain table; its header repeats on every printed page
    place = write_table(sheet, Table("Series", columns))
    header = place.data_rows[0] - 1
    sheet.ws.repeat_rows(header)
    sheet.ws.repeat_columns(0)  # legible pages across, each with its years
    sheet.fixed_scale = 80
    first, last = place.data_rows[0], place.data_rows[-1]
    out = {"Year": Series("Year", sheet.title, 0, first, last, years)}
    for i, (name, values) in enumerate(series.items(), start=1):
        out[name] = Series(name, sheet.title, i, first, last, values)
    sheet.fit_page = False
    return out


def write_charts(sheet: Sheet, result, data: dict[str, Series]) -> None:
    """One chart a page: income and spending, tax by kind, conversions against the
    bracket tops, balances by kind of account; all in today's dollars."""
    sheet.set_widths([10.0] * (WIDTH_PX // 95 + 1))
    sheet.text_row("Charts (today's dollars)", "title", 24.0)
    book = sheet.book
    taxes = [
        s
        for name, s in data.items()
        if (
            name.startswith("Tax on")
            or name in ("Net investment income tax", "Early-withdrawal penalty")
        )
        and any(abs(v) > 0.5 for v in s.values)
    ]
    tops = [s for name, s in data.items() if name.startswith("Top of the")]
    balances = [s for name, s in data.items() if name.startswith("Balance in")]
    charts = [
        (
            "Income sources (bars) against spending after tax (line).",
            income_chart(sheet, result, data),
        ),
        (
            "Income tax by kind, each year.",
            make_chart(
                book,
                "column",
                "Income tax by kind",
                "Today's dollars a year",
                data["Year"],
                taxes,
                subtype="stacked",
            )
            if taxes
            else None,  # a plan that owes no tax in any year has nothing to chart
        ),
        None
        if not book.vocabulary.has_conversions
        else (
            "Ordinary taxable income with Roth conversions on top (bars), against the tops of "
            "the tax brackets (lines): conversions fill a bracket up to its top.",
            make_chart(
                book,
                "column",
                "Roth conversions against the bracket tops",
                "Today's dollars a year",
                data["Year"],
                [
                    data["Ordinary taxable income before conversions"],
                    data["Roth conversions (taxable part)"],
                ],
                subtype="stacked",
                lines=tops,
            ),
        ),
        (
            "Balances at year end by kind of account.",
            make_chart(
                book,
                "area",
                "Balances by kind of account",
                "Today's dollars",
                data["Year"],
                balances,
                subtype="stacked",
            ),
        ),
    ]
    charts = [c for c in charts if c is not None and c[1] is not None]
    for n, (caption, chart) in enumerate(charts):
        if n:
            sheet.page_break()
        sheet.text_row(caption, "note")
        room_px = int((sheet.page_pt - sheet.used_pt - ROW_PT) / 0.75)
        sheet.insert_chart(chart, 0, WIDTH_PX, min(HEIGHT_PX, room_px))
