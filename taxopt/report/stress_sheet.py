"""The "Stress test" sheet: a Simulation's percentile fan, success rate per withdrawal rule
(every rule run once on the same return paths) and the worst paths, with native charts.

`add_stress_sheet(workbook, simulation)` adds the sheet to any openpyxl workbook (the plan
workbook via `write_plan_workbook(result, path, extend=...)`); `write_stress_workbook`
writes a workbook with only this sheet. Figures are today's dollars (the plan's start year),
spending after tax, wealth after the heirs' tax on deferred accounts.
"""

from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook
from openpyxl.chart import BarChart, LineChart, Reference
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from taxopt.io import write_atomically
from taxopt.simulate import PERCENTILES, Simulation

SHEET = "Stress test"
MONEY = "#,##0;[Red]-#,##0"
PERCENT = "0.0%"
RATIO = "0.00"

_TITLE = Font(bold=True, size=14)
_SECTION = Font(bold=True, size=12, color="1F4E78")
_BOLD = Font(bold=True)
_HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")


def add_stress_sheet(workbook: Workbook, simulation: Simulation, title: str = SHEET) -> Worksheet:
    """Add the stress-test sheet to `workbook` and return it."""
    ws = workbook.create_sheet(title)
    row = _facts(ws, simulation)
    row = _percentile_table(ws, simulation, row + 1)
    row = _rules_table(ws, simulation, row + 1)
    _worst_paths(ws, simulation, row + 1)
    ws.column_dimensions["A"].width = 16
    for col in range(2, 14):
        ws.column_dimensions[get_column_letter(col)].width = 15
    ws.freeze_panes = "B2"
    return ws


def write_stress_workbook(simulation: Simulation, path: str | Path) -> Path:
    """A workbook with only the stress-test sheet, written atomically."""
    workbook = Workbook()
    default = workbook.active
    add_stress_sheet(workbook, simulation)
    if default is not None:
        workbook.remove(default)
    return write_atomically(path, workbook.save, kind="xlsx")


def _section(ws: Worksheet, row: int, text: str) -> int:
    ws.cell(row, 1, text).font = _SECTION
    return row + 1


def _header(ws: Worksheet, row: int, labels: list[str]) -> None:
    for col, label in enumerate(labels, start=1):
        cell = ws.cell(row, col, label)
        cell.font, cell.fill = _BOLD, _HEADER_FILL


def _facts(ws: Worksheet, sim: Simulation) -> int:
    ws.cell(1, 1, f"Stress test: {sim.policy.plan.name}").font = _TITLE
    seq = sim.sequence_risk
    facts = [
        ("Rule set", sim.policy.rules.name, None),
        ("Return paths", sim.paths, "#,##0"),
        ("Seed", sim.seed, None),
        ("Return model", sim.returns_model, None),
        ("Withdrawal rule", sim.rule.describe(), None),
        ("Success rate (spending met every year)", sim.success_rate, PERCENT),
        (
            "R^2 of log outcome on first retirement decade's return",
            seq["r2_first_decade"],
            RATIO,
        ),
        ("R^2 of log outcome on whole retirement's return", seq["r2_full_horizon"], RATIO),
        (
            "Outcome",
            "real spending over retirement + real after-tax wealth at the horizon",
            None,
        ),
        (
            "Units",
            "today's dollars; spending after tax; wealth after heirs' tax on deferred accounts",
            None,
        ),
        (
            "Policy",
            "the optimized plan's locations, contributions, conversions and draw order, "
            "replayed on each path (taxopt.simulate); taxable basis at average cost",
            None,
        ),
    ]
    row = 3
    for label, value, fmt in facts:
        ws.cell(row, 1, label).font = _BOLD
        cell = ws.cell(row, 3, value)
        if fmt:
            cell.number_format = fmt
        row += 1
    return row


def _percentile_table(ws: Worksheet, sim: Simulation, row: int) -> int:
    row = _section(ws, row, "Percentiles across paths by year (today's dollars)")
    table = sim.percentiles
    labels = ["Year"]
    labels += [f"Spending p{q}" for q in PERCENTILES]
    labels += [f"Wealth p{q}" for q in PERCENTILES]
    header = row
    _header(ws, header, labels)
    for offset, (year, values) in enumerate(table.iterrows(), start=1):
        ws.cell(header + offset, 1, int(year))
        for col, value in enumerate(values.tolist(), start=2):
            ws.cell(header + offset, col, float(value)).number_format = MONEY
    last = header + len(table)
    n = len(PERCENTILES)
    anchor_col = get_column_letter(2 * n + 3)
    _fan_chart(
        ws, "Real after-tax wealth, percentiles", header, last, 2 + n, f"{anchor_col}{header}"
    )
    _fan_chart(ws, "Real spending, percentiles", header, last, 2, f"{anchor_col}{header + 18}")
    return max(last, header + 36) + 1


def _fan_chart(ws: Worksheet, title: str, header: int, last: int, first_col: int, anchor: str):
    chart = LineChart()
    chart.title = title
    chart.y_axis.title = "today's dollars"
    chart.x_axis.title = "year"
    chart.y_axis.number_format = "#,##0"
    chart.height, chart.width = 8.5, 17
    data = Reference(
        ws,
        min_col=first_col,
        max_col=first_col + len(PERCENTILES) - 1,
        min_row=header,
        max_row=last,
    )
    chart.add_data(data, titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=1, min_row=header + 1, max_row=last))
    ws.add_chart(chart, anchor)


def _rules_table(ws: Worksheet, sim: Simulation, row: int) -> int:
    row = _section(ws, row, "Withdrawal rules on the same paths (retirement years)")
    table = sim.compare_rules()
    labels = [
        "Rule",
        "Success rate",
        "Median spending",
        "5th pct of lowest spending",
        "Median final wealth",
        "5th pct final wealth",
        "Description",
    ]
    header = row
    _header(ws, header, labels)
    formats = [PERCENT, MONEY, MONEY, MONEY, MONEY]
    keys = [
        "success_rate",
        "median_spending_real",
        "p5_lowest_spending_real",
        "median_final_wealth_real",
        "p5_final_wealth_real",
    ]
    for offset, (name, values) in enumerate(table.iterrows(), start=1):
        r = header + offset
        ws.cell(r, 1, str(name))
        for col, (key, fmt) in enumerate(zip(keys, formats, strict=True), start=2):
            ws.cell(r, col, float(values[key])).number_format = fmt
        ws.cell(r, 7, str(values["description"]))
    last = header + len(table)
    chart = BarChart()
    chart.title = "Success rate by withdrawal rule"
    chart.y_axis.number_format = "0%"
    chart.y_axis.scaling.min, chart.y_axis.scaling.max = 0, 1
    chart.height, chart.width = 7.5, 15
    chart.legend = None
    chart.add_data(Reference(ws, min_col=2, min_row=header, max_row=last), titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=1, min_row=header + 1, max_row=last))
    ws.add_chart(chart, f"{get_column_letter(2 * len(PERCENTILES) + 3)}{header}")
    return max(last, header + 16) + 1


def _worst_paths(ws: Worksheet, sim: Simulation, row: int) -> int:
    row = _section(ws, row, f"Worst paths ({sim.rule.name})")
    table = sim.worst_paths
    labels = [
        "Path",
        "Shortfall year",
        "Lowest spending",
        "Final wealth",
        "First-decade return",
        "Whole-retirement return",
    ]
    _header(ws, row, labels)
    formats = ["0", "0", MONEY, MONEY, PERCENT, PERCENT]
    for offset, values in enumerate(table.itertuples(index=False), start=1):
        for col, (value, fmt) in enumerate(zip(values, formats, strict=True), start=1):
            cell = ws.cell(row + offset, col, value if value is None else float(value))
            cell.number_format = fmt
    return row + len(table) + 1
