"""The "Stress test" sheet: a Simulation's percentile fans (today's dollars), the success
rate of every withdrawal rule on the same return paths, and the worst paths.

`add_stress_sheet(book, simulation)` adds the sheet to a taxopt.report.book.Book (the plan
workbook via `write_plan_workbook(result, path, extend=...)`); `write_stress_workbook`
writes a workbook with only this sheet. Figures are today's dollars (the plan's start
year), spending after tax, wealth after the heirs' tax on deferred accounts. Printed as a
few landscape pages: the facts and the rules, the two fans, the percentile table, the
worst paths.
"""

from __future__ import annotations

from pathlib import Path

from taxopt.report.book import Book, Sheet
from taxopt.report.charts import Series, make_chart
from taxopt.report.tables import Column, Table, split, widths_for, write_table
from taxopt.simulate import PERCENTILES, Simulation

SHEET = "Stress test"
FAN_PX = (440, 520)
FAN_COLORS = ["#9DC3E6", "#2E75B6", "#1F3864", "#2E75B6", "#9DC3E6"]  # a fan: outer paths light
RULE_NAMES = {
    "fixed": "The plan's own spending",
    "bengen": "4% of the starting portfolio, raised with inflation",
    "constant": "Constant percentage of the portfolio",
    "guardrails": "Guardrails (Guyton-Klinger)",
    "vanguard": "Dynamic spending (Vanguard style)",
    "vpw": "Variable percentage withdrawal",
    "rmd": "Required-distribution based",
}


def _q(q: int) -> str:
    return "median" if q == 50 else f"{q}th percentile"


def add_stress_sheet(book: Book, simulation: Simulation, title: str = SHEET) -> Sheet:
    """Add the stress-test sheet to `book` and return it."""
    sheet = book.add_sheet(title)
    sim = simulation
    table = _percentile_table(sim)
    widths = widths_for(split(table), [30])
    sheet.set_widths(widths)
    sheet.print_cols = len(widths)
    data_col = len(widths) + 8  # right of the fans, outside the printed area
    sheet.text_row(f"Stress test: {sim.policy.plan.name}", "title", 24.0)
    sheet.wrapped(
        "Today's dollars; spending after tax; wealth after the heirs' tax on traditional "
        "accounts. The plan's placement, contributions, conversions and withdrawal order are "
        "replayed on each simulated market path.",
        len(widths) - 1,
        lines=2,
        style="wrapnote",
    )
    sheet.skip()
    _facts(sheet, sim)
    sheet.skip()
    _rules_table(sheet, sim)
    sheet.page_break()
    _fans(sheet, sim, data_col)
    sheet.page_break()
    write_table(sheet, table)
    sheet.page_break()
    _worst_paths(sheet, sim)
    return sheet


def write_stress_workbook(simulation: Simulation, path: str | Path) -> Path:
    """A workbook with only the stress-test sheet, written atomically."""
    book = Book(simulation.policy.plan.name)
    add_stress_sheet(book, simulation)
    return book.save(path)


def _facts(sheet: Sheet, sim: Simulation) -> None:
    seq = sim.sequence_risk
    facts = [
        ("Success rate (spending met every year)", sim.success_rate, "percent"),
        ("Withdrawal rule", sim.rule.describe(), "text"),
        ("Simulated market paths", f"{sim.paths:,} (seed {sim.seed})", "text"),
        ("Return model", sim.returns_model, "text"),
        ("Tax law", sim.policy.rules.meta.title, "text"),
        (
            "Spread explained by the first decade's returns (R squared)",
            seq["r2_first_decade"],
            "factor",
        ),
        ("Spread explained by the whole retirement's returns", seq["r2_full_horizon"], "factor"),
    ]
    for label, value, kind in facts:
        row = sheet.advance()
        sheet.ws.merge_range(row, 0, row, 2, label, sheet.book.format("body"))
        sheet.ws.merge_range(row, 3, row, 10, "", sheet.book.format("bold"))
        sheet.write(row, 3, value, kind, "boldleft")


def _percentile_table(sim: Simulation) -> Table:
    pct = sim.percentiles
    cols = [Column("Year", [int(y) for y in pct.index], "year", width=6)]
    cols += [
        Column(f"Spending, {_q(q)} (today's $)", list(pct[f"spending_real_p{q}"]))
        for q in PERCENTILES
    ]
    cols += [
        Column(f"Wealth, {_q(q)} (today's $)", list(pct[f"wealth_real_p{q}"])) for q in PERCENTILES
    ]
    return Table("Percentiles across the paths, each year", cols)


def _fan_data(sheet: Sheet, sim: Simulation, col: int) -> dict[str, Series]:
    """The fans' data at columns from `col`, right of the printed area, rows from the top."""
    pct = sim.percentiles
    years = [int(y) for y in pct.index]
    sheet.write(0, col, "Data of the fan charts (today's $)", style="bold")
    labels = ["Year"] + [f"{what}, {_q(q)}" for what in ("Spending", "Wealth") for q in PERCENTILES]
    keys = [f"{k}_p{q}" for k in ("spending_real", "wealth_real") for q in PERCENTILES]
    for j, label in enumerate(labels):
        sheet.write(1, col + j, label, style="header")
    first, last = 2, 1 + len(years)
    out = {"Year": Series("Year", sheet.title, col, first, last, years)}
    for i, year in enumerate(years):
        sheet.write(first + i, col, year, "year")
    for j, key in enumerate(keys, start=1):
        values = list(pct[key])
        for i, value in enumerate(values):
            sheet.write(first + i, col + j, value, "money")
        q = int(key.rsplit("_p", 1)[1])
        out[key] = Series(_q(q).capitalize(), sheet.title, col + j, first, last, values)
    return out


def _fans(sheet: Sheet, sim: Simulation, data_col: int) -> None:
    """The two fans side by side on one page."""
    data = _fan_data(sheet, sim, data_col)
    sheet.text_row("The spread of outcomes across the paths (today's dollars)", "section", 20.0)
    for n, (what, title) in enumerate(
        (("spending_real", "Spending a year after tax"), ("wealth_real", "Wealth after tax"))
    ):
        chart = make_chart(
            sheet.book,
            "line",
            title,
            "Today's dollars",
            data["Year"],
            [data[f"{what}_p{q}"] for q in PERCENTILES],
            colors=FAN_COLORS,
        )
        if n == 0:
            top = sheet.row
            sheet.insert_chart(chart, 0, *FAN_PX)
        else:
            bottom = sheet.row
            sheet.row = top
            col = _column_after(sheet, FAN_PX[0])
            chart.set_size({"width": FAN_PX[0], "height": FAN_PX[1]})
            sheet.ws.insert_chart(top, col, chart, {"object_position": 3})
            sheet.note_chart(col, FAN_PX[0])
            sheet.row = bottom


def _column_after(sheet: Sheet, width_px: int) -> int:
    """The first column right of a chart `width_px` wide that starts in column 0.

    A chart's cells are fixed at Excel's 7 pixels a width unit; LibreOffice stretches it
    over the same cells, so the next chart starts one column beyond them.
    """
    x = 0.0
    for i, w in enumerate(sheet.widths):
        if x >= width_px:
            return i + 1
        x += w * 7 + 5
    return len(sheet.widths)


def _rules_table(sheet: Sheet, sim: Simulation) -> None:
    compared = sim.compare_rules()
    names = [RULE_NAMES.get(str(n), str(n)) for n in compared.index]
    table = Table(
        "Withdrawal rules on the same paths (retirement years)",
        [
            Column("Rule", names, "text"),
            Column("Success rate", list(compared["success_rate"]), "percent"),
            Column("Median spending (today's $)", list(compared["median_spending_real"])),
            Column(
                "Lowest spending, 5th percentile (today's $)",
                list(compared["p5_lowest_spending_real"]),
            ),
            Column("Median final wealth (today's $)", list(compared["median_final_wealth_real"])),
            Column(
                "Final wealth, 5th percentile (today's $)", list(compared["p5_final_wealth_real"])
            ),
        ],
    )
    place = write_table(sheet, table)
    categories = Series("Rule", sheet.title, 0, place.data_rows[0], place.data_rows[-1], names)
    rates = Series(
        "Success rate",
        sheet.title,
        1,
        place.data_rows[0],
        place.data_rows[-1],
        list(compared["success_rate"]),
    )
    chart = make_chart(
        sheet.book,
        "bar",
        "Success rate by withdrawal rule",
        "Share of paths",
        categories,
        [rates],
        y_format="0%",
        x_title="",
        y_bounds=(0.0, 1.0),
    )
    chart.set_legend({"none": True})
    sheet.insert_chart(chart, 0, 620, 220)


def _worst_paths(sheet: Sheet, sim: Simulation) -> None:
    worst = sim.worst_paths
    if worst.empty:
        return
    write_table(
        sheet,
        Table(
            f"The worst paths ({RULE_NAMES.get(sim.rule.name, sim.rule.name).lower()})",
            [
                Column("Path", list(worst["path"]), "integer", width=8),
                Column(
                    "First year short",
                    [str(int(v)) if v == v and v else "never" for v in worst["shortfall_year"]],
                    "text",
                ),
                Column("Lowest spending (today's $)", list(worst["min_spending_real"])),
                Column("Final wealth (today's $)", list(worst["final_wealth_real"])),
                Column(
                    "Return a year, first decade", list(worst["first_decade_return"]), "percent"
                ),
                Column(
                    "Return a year, whole retirement", list(worst["full_horizon_return"]), "percent"
                ),
            ],
        ),
    )
