"""The advisor's workbook: a Result as Excel sheets with live formulas and native charts.

Sheets: Summary, Location, Yearly plan, Taxes, Charts, Rules, Reconciliation (with a
prefix such as "R2 " when several plans share one workbook, see taxopt.compare).

Every figure comes from the ledger (result.yearly, result.location, result.reconciliation).
Table sheets have two header rows, a label a person reads and the ledger's column key (so a
figure can be traced to result.yearly), then one row per year. Totals and derived columns
are formulas that agree with the ledger; Excel or LibreOffice computes them on opening.
Amounts are nominal dollars of each year unless a header says today's dollars.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.chart import AreaChart, BarChart, LineChart, Reference, Series
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter, quote_sheetname
from openpyxl.utils.cell import absolute_coordinate, column_index_from_string
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.worksheet import Worksheet

from taxopt.cashflows import plan_flows, stream_amount
from taxopt.io import write_atomically
from taxopt.rules_report import format_value, rule_values

MONEY = "#,##0;[Red]-#,##0"
CENTS = "#,##0.00;[Red]-#,##0.00"
PERCENT = "0.0%"
RATE = "0.00%"
FACTOR = "0.0000"
INTEGER = "0"
TEXT = "General"

MAX_SHEET_TITLE = 31  # Excel's limit
SHEETS = ("Summary", "Location", "Yearly plan", "Taxes", "Charts", "Rules", "Reconciliation")
LABEL_ROW, KEY_ROW = 1, 2  # header rows of a table sheet; data starts on row 3

_HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
_TOTAL_FILL = PatternFill("solid", fgColor="F2F2F2")
_KEY_FONT = Font(italic=True, color="808080", size=8)
_BOLD = Font(bold=True)
_TITLE = Font(bold=True, size=14)
_SECTION = Font(bold=True, size=12, color="1F4E78")
_WRAP = Alignment(wrap_text=True, vertical="top")


def sheet_title(prefix: str, base: str) -> str:
    """`prefix + base` cut to Excel's 31 characters."""
    return (prefix + base)[:MAX_SHEET_TITLE]


# ---------------------------------------------------------------------------------------
# Tables: columns of values or per-row formulas, two header rows, an optional total row

Formula = Callable[["RowRefs"], str]


@dataclass(frozen=True)
class Col:
    """One column of a table sheet: ledger values, or a formula built from the row's cells.

    `total`: "sum" adds a SUM in the total row, "maxabs" the largest absolute value.
    """

    key: str
    label: str
    fmt: str = MONEY
    values: Sequence[Any] | None = None
    formula: Formula | None = None
    total: str | None = None
    width: float = 13.0


class RowRefs:
    """Cell addresses of one row by column key; `sheet` refs for other sheets' formulas."""

    def __init__(self, letters: dict[str, str], row: int):
        self.letters, self.row = letters, row

    def __call__(self, key: str) -> str:
        return f"{self.letters[key]}{self.row}"

    def sum(self, keys: Sequence[str]) -> str:
        """SUM over the keys' cells: a range when the columns are adjacent."""
        index = sorted(column_index_from_string(self.letters[k]) for k in keys)
        if index == list(range(index[0], index[-1] + 1)):
            first, last = get_column_letter(index[0]), get_column_letter(index[-1])
            return f"SUM({first}{self.row}:{last}{self.row})"
        return "SUM(" + ",".join(self(k) for k in keys) + ")"


@dataclass
class TableLayout:
    """Where a table landed: column letter per key, data rows, total row (or None)."""

    sheet: Worksheet
    letters: dict[str, str]
    first_row: int
    last_row: int
    total_row: int | None

    def column(self, key: str) -> str:
        """Absolute reference of a column's data cells, with the sheet name."""
        letter = self.letters[key]
        sheet = quote_sheetname(self.sheet.title)
        return f"{sheet}!${letter}${self.first_row}:${letter}${self.last_row}"

    def cell(self, key: str, row: int) -> str:
        return f"{quote_sheetname(self.sheet.title)}!${self.letters[key]}${row}"

    @property
    def ref(self) -> str:
        last = get_column_letter(len(self.letters))
        return f"A{LABEL_ROW}:{last}{self.last_row}"


def write_table(ws: Worksheet, cols: Sequence[Col], rows: int, freeze_col: int = 2) -> TableLayout:
    """Write `cols` as a table from row 1: labels, keys, `rows` data rows, then totals."""
    letters = {c.key: get_column_letter(i) for i, c in enumerate(cols, start=1)}
    if len(letters) != len(cols):
        raise ValueError("table columns must have distinct keys")
    first = KEY_ROW + 1
    last = first + rows - 1
    for i, col in enumerate(cols, start=1):
        label = ws.cell(LABEL_ROW, i, col.label)
        label.font, label.fill, label.alignment = _BOLD, _HEADER_FILL, _WRAP
        ws.cell(KEY_ROW, i, col.key).font = _KEY_FONT
        ws.column_dimensions[letters[col.key]].width = col.width
        for r in range(rows):
            row = first + r
            if col.formula is not None:
                value = col.formula(RowRefs(letters, row))
            else:
                value = _cell_value(col.values[r]) if col.values is not None else None
            ws.cell(row, i, value).number_format = col.fmt
    total_row = last + 1 if any(c.total for c in cols) else None
    if total_row is not None:
        _write_totals(ws, cols, letters, first, last, total_row)
    ws.row_dimensions[LABEL_ROW].height = 45
    ws.freeze_panes = ws.cell(first, freeze_col)
    ws.print_title_rows = f"{LABEL_ROW}:{KEY_ROW}"
    return TableLayout(ws, letters, first, last, total_row)


def _write_totals(ws: Worksheet, cols, letters, first: int, last: int, row: int) -> None:
    kinds = {c.total for c in cols if c.total}
    ws.cell(row, 1, "Largest |x|" if kinds == {"maxabs"} else "Total").font = _BOLD
    for i, col in enumerate(cols, start=1):
        span = f"{letters[col.key]}{first}:{letters[col.key]}{last}"
        if col.total == "sum":
            formula = f"=SUM({span})"
        elif col.total == "maxabs":
            formula = f"=MAX(MAX({span}),-MIN({span}))"
        else:
            ws.cell(row, i).fill = _TOTAL_FILL
            continue
        cell = ws.cell(row, i, formula)
        cell.number_format, cell.font, cell.fill = col.fmt, _BOLD, _TOTAL_FILL


def _cell_value(value: Any) -> Any:
    """numpy scalars -> Python; NaN -> empty."""
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _values(frame, key: str) -> list:
    return list(frame[key])


def _group(
    frame, prefix: str, label: str, names: Sequence[str], total_key: str, total_label: str
) -> list[Col]:
    """Per-account columns `prefix_<name>` and their total as a live SUM."""
    cols = [
        Col(f"{prefix}_{n}", f"{label} {n}", values=_values(frame, f"{prefix}_{n}"), total="sum")
        for n in names
    ]
    keys = [c.key for c in cols]
    if not keys:
        return [Col(total_key, total_label, values=_values(frame, total_key), total="sum")]
    return [*cols, Col(total_key, total_label, formula=lambda r: "=" + r.sum(keys), total="sum")]


# ---------------------------------------------------------------------------------------
# The workbook


@dataclass
class PlanSheets:
    """Where one result's sheets are: titles, defined-name suffix and key cells."""

    prefix: str
    suffix: str
    titles: dict[str, str]
    cells: dict[str, str] = field(default_factory=dict)  # figure -> absolute address
    yearly: TableLayout | None = None
    taxes: TableLayout | None = None
    reconciliation: TableLayout | None = None


def build_plan_workbook(result) -> Workbook:
    """The advisor's workbook for one taxopt Result (not yet saved)."""
    workbook = Workbook()
    workbook.remove(workbook.active)
    add_plan_sheets(workbook, result)
    return workbook


def write_plan_workbook(
    result, path: str | Path, extend: Callable[[Workbook], None] | None = None
) -> Path:
    """Build the workbook, let `extend(workbook)` add sheets, then save it atomically."""
    workbook = build_plan_workbook(result)
    if extend is not None:
        extend(workbook)
    return save_workbook(workbook, path)


def save_workbook(workbook: Workbook, path: str | Path) -> Path:
    """Save via a temp file and rename: a failure leaves no partial file behind."""
    return write_atomically(path, workbook.save, kind="xlsx")


def add_plan_sheets(workbook: Workbook, result, prefix: str = "", suffix: str = "") -> PlanSheets:
    """Add one result's sheets to `workbook`; `prefix` goes before each sheet title and
    `suffix` after each defined name, so several results can share a workbook."""
    titles = {base: sheet_title(prefix, base) for base in SHEETS}
    sheets = {base: workbook.create_sheet(title) for base, title in titles.items()}
    group = PlanSheets(prefix, suffix, titles)
    summary = sheets["Summary"]
    _write_assumption_cells(summary, result, group)  # rows the other sheets' formulas use
    group.yearly = _yearly_sheet(sheets["Yearly plan"], result, group)
    group.taxes = _taxes_sheet(sheets["Taxes"], result)
    group.reconciliation = _reconciliation_sheet(sheets["Reconciliation"], result)
    _location_sheet(sheets["Location"], result, workbook, suffix)
    _rules_sheet(sheets["Rules"], result.rules)
    _summary_sheet(summary, result, group)
    _charts_sheet(sheets["Charts"], result, group)
    _define_names(workbook, group)
    for ws in sheets.values():
        _print_setup(ws)
    return group


def _define(workbook: Workbook, name: str, sheet: Worksheet, ref: str) -> None:
    address = f"{quote_sheetname(sheet.title)}!{absolute_coordinate(ref)}"
    workbook.defined_names[name] = DefinedName(name, attr_text=address)


def _define_names(workbook: Workbook, group: PlanSheets) -> None:
    for name, address in group.cells.items():
        workbook.defined_names[name + group.suffix] = DefinedName(
            name + group.suffix, attr_text=address
        )
    tables = {
        "YearlyPlan": group.yearly,
        "Taxes": group.taxes,
        "Reconciliation": group.reconciliation,
    }
    for name, layout in tables.items():
        _define(workbook, name + group.suffix, layout.sheet, layout.ref)


def _print_setup(ws: Worksheet) -> None:
    ws.page_setup.orientation = "landscape"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_options.gridLines = False


# ---------------------------------------------------------------------------------------
# Summary


# Rows of the Summary sheet's first block; formulas elsewhere point at these cells.
_ASSUMPTION_ROWS = {"Inflation": 4, "HeirTaxRate": 5}


def _write_assumption_cells(ws: Worksheet, result, group: PlanSheets) -> None:
    plan = result.plan
    ws.cell(1, 1, f"{plan.name}: tax-aware plan under {result.rules.name}").font = _TITLE
    ws.cell(
        2,
        1,
        "Amounts in today's dollars (the plan's start year) unless a cell says "
        "nominal; rates as percentages.",
    )
    ws.cell(3, 1, "Key assumptions").font = _SECTION
    rows = [
        ("Inflation", "Inflation (yearly)", plan.inflation, RATE),
        (
            "HeirTaxRate",
            "Heirs' tax rate on tax-deferred balances",
            plan.objective.heir_tax_rate,
            RATE,
        ),
    ]
    for name, label, value, fmt in rows:
        row = _ASSUMPTION_ROWS[name]
        ws.cell(row, 1, label)
        ws.cell(row, 2, value).number_format = fmt
        group.cells[name] = f"{quote_sheetname(ws.title)}!$B${row}"


def _summary_sheet(ws: Worksheet, result, group: PlanSheets) -> None:
    row = max(_ASSUMPTION_ROWS.values()) + 2
    row = _headline_block(ws, result, group, row) + 1
    if result.notes:
        row = _section(ws, row, "Notes")
        for note in result.notes:
            ws.cell(row, 1, note)
            row += 1
        row += 1
    row = _client_block(ws, result, row) + 1
    row = _assumptions_block(ws, result, row) + 1
    _baselines_block(ws, result, group, row)
    ws.column_dimensions["A"].width = 44
    ws.column_dimensions["B"].width = 18
    for letter in "CDEFGH":
        ws.column_dimensions[letter].width = 16


def _section(ws: Worksheet, row: int, title: str) -> int:
    ws.cell(row, 1, title).font = _SECTION
    return row + 1


def _pairs(ws: Worksheet, row: int, pairs: Sequence[tuple[str, Any, str]]) -> int:
    for label, value, fmt in pairs:
        ws.cell(row, 1, label)
        cell = ws.cell(row, 2, _cell_value(value))
        cell.number_format = fmt
        row += 1
    return row


def _headline_block(ws: Worksheet, result, group: PlanSheets, row: int) -> int:
    """Headline figures as formulas over the yearly table, so they follow its numbers."""
    plan, y, yl = result.plan, result.yearly, group.yearly
    retired = [i for i, year in enumerate(y["year"]) if year >= plan.retirement_year]
    first_retired = yl.first_row + (retired[0] if retired else len(y) - 1)
    openings = [f"opening_{a.name}" for a in plan.accounts]
    sheet = quote_sheetname(yl.sheet.title)
    opening_ref = _sum_on_sheet(sheet, yl, openings, first_retired)
    withdrawals = yl.cell("withdrawals", first_retired)
    contributions = yl.cell("contributions", first_retired)
    errors = [c for c in result.reconciliation.columns if c.endswith("_error")]
    recon = group.reconciliation
    max_error = (
        "=MAX(" + ",".join(f"MAX({recon.column(c)}),-MIN({recon.column(c)})" for c in errors) + ")"
        if errors
        else 0.0
    )
    figures = [
        (
            "SustainableSpending",
            "Sustainable spending, first retirement year (after tax)",
            f"={yl.cell('spending_real', first_retired)}",
            MONEY,
        ),
        (
            "AfterTaxEstate",
            f"After-tax estate at the end of {plan.end_year}",
            f"={yl.cell('after_tax_estate_real', yl.last_row)}",
            MONEY,
        ),
        (
            "LifetimeTax",
            "Lifetime tax (sum of each year's tax in today's dollars)",
            f"=SUM({yl.column('total_tax_real')})",
            MONEY,
        ),
        (
            "FirstYearWithdrawalRate",
            "First-year withdrawal rate (net of contributions)",
            f'=IF({opening_ref}>0,({withdrawals}-{contributions})/{opening_ref},"")',
            RATE,
        ),
        (
            "LifetimeAGI",
            "Lifetime AGI (today's dollars)",
            f"=SUM({group.taxes.column('agi_real')})",
            MONEY,
        ),
        (
            "EffectiveRate",
            "Effective rate: lifetime tax / lifetime AGI",
            f"=IF(LifetimeAGI{group.suffix}>0,LifetimeTax{group.suffix}/LifetimeAGI{group.suffix},0)",
            RATE,
        ),
        (
            "ReconciliationMaxError",
            "Model vs ledger: largest yearly difference (nominal $)",
            max_error,
            CENTS,
        ),
    ]
    row = _section(ws, row, "Headline figures (today's dollars)")
    for name, label, formula, fmt in figures:
        ws.cell(row, 1, label)
        ws.cell(row, 2, formula).number_format = fmt
        group.cells[name] = f"{quote_sheetname(ws.title)}!$B${row}"
        row += 1
    return row


def _sum_on_sheet(sheet: str, layout: TableLayout, keys: Sequence[str], row: int) -> str:
    """SUM of some cells of one row of another sheet's table."""
    local = RowRefs(layout.letters, row).sum(keys)  # SUM(C5:E5) or SUM(C5,F5)
    inner = local[len("SUM(") : -1]
    if ":" in inner:
        first, last = inner.split(":")
        return f"SUM({sheet}!{first}:{last})"
    return "SUM(" + ",".join(f"{sheet}!{cell}" for cell in inner.split(",")) + ")"


def _client_block(ws: Worksheet, result, row: int) -> int:
    plan = result.plan
    row = _section(ws, row, "Client")
    people = "; ".join(
        f"{p.name}, born {p.birth_year}, age {plan.start_year - p.birth_year} in {plan.start_year}"
        for p in plan.people
    )
    return _pairs(
        ws,
        row,
        [
            ("Plan", plan.name, TEXT),
            ("Description", plan.description, TEXT),
            ("People", people, TEXT),
            ("Filing status", plan.filing_status, TEXT),
            ("Start year (today's dollars are of this year)", plan.start_year, INTEGER),
            ("Retirement year", plan.retirement_year, INTEGER),
            ("Last year of the plan", plan.end_year, INTEGER),
        ],
    )


def _assumptions_block(ws: Worksheet, result, row: int) -> int:
    plan, rules = result.plan, result.rules
    profile, w, obj = plan.profile, plan.withdrawal, plan.objective
    row = _section(ws, row, "Assumptions")
    weights = ", ".join(f"{t} {v:.0%}" for t, v in profile.weights.items())
    reserve = (
        f"{profile.reserve_tier} {profile.reserve_min:.0%} to {profile.reserve_max:.0%}"
        if profile.reserve_tier
        else "none"
    )
    glide = (
        f"from age {profile.glide_path.start_age} to {profile.glide_path.end_age} towards "
        + ", ".join(f"{t} {v:.0%}" for t, v in profile.glide_path.to_weights.items())
        if profile.glide_path
        else "none"
    )
    row = _pairs(
        ws,
        row,
        [
            ("Rule set", f"{rules.name}: {rules.meta.title}", TEXT),
            ("Profile: index weights", weights, TEXT),
            ("Profile: reserve band", reserve, TEXT),
            ("Profile: tolerance per tier (share of portfolio)", profile.tolerance, PERCENT),
            ("Profile: mix measured", profile.mix_measure, TEXT),
            ("Profile: glide path", glide, TEXT),
            ("Spending rule", result.spending_rule, TEXT),
            ("RMD above the policy's withdrawal", w.rmd_surplus, TEXT),
            ("Objective", obj.kind, TEXT),
            ("Bequest floor (today's dollars, after tax)", obj.bequest_floor, MONEY),
            ("Roth conversions allowed", "yes" if plan.options.roth_conversions else "no", TEXT),
            ("Mode / method / status", f"{result.mode} / {result.method} / {result.status}", TEXT),
            ("Solve time (seconds)", round(result.solve_seconds, 3), "0.000"),
        ],
    )
    row += 1
    headers = ["Tier", "Expected return", "Yield", "Yield character", "Volatility", "Description"]
    for i, header in enumerate(headers, start=1):
        cell = ws.cell(row, i, header)
        cell.font, cell.fill = _BOLD, _HEADER_FILL
    for tier in plan.tiers:
        row += 1
        values = [
            tier.name,
            tier.expected_return,
            tier.yield_rate,
            tier.yield_character,
            tier.volatility,
            tier.description,
        ]
        fmts = [TEXT, RATE, RATE, TEXT, RATE, TEXT]
        for i, (value, fmt) in enumerate(zip(values, fmts, strict=True), start=1):
            ws.cell(row, i, value).number_format = fmt
    return row + 1


_BASELINE_COLUMNS = [
    ("sustainable_spending", "Sustainable spending", MONEY),
    ("after_tax_estate", "After-tax estate", MONEY),
    ("lifetime_tax", "Lifetime tax", MONEY),
    ("first_year_withdrawal_rate", "First-year withdrawal rate", RATE),
]


def _baselines_block(ws: Worksheet, result, group: PlanSheets, row: int) -> int:
    """The plan against each simple rule; the gains are formulas against the 'optimized' row."""
    row = _section(ws, row, "Value of the plan against simple alternatives (today's dollars)")
    table = result.baselines_table
    headers = [
        "Alternative",
        *(h for _k, h, _f in _BASELINE_COLUMNS),
        "Gain in spending",
        "Gain in estate",
        "Tax saved",
    ]
    for i, header in enumerate(headers, start=1):
        cell = ws.cell(row, i, header)
        cell.font, cell.fill, cell.alignment = _BOLD, _HEADER_FILL, _WRAP
    keys_row = row + 1
    keys = [
        "plan",
        *(k for k, _h, _f in _BASELINE_COLUMNS),
        "gain_in_sustainable_spending",
        "gain_in_after_tax_estate",
        "tax_saved",
    ]
    for i, key in enumerate(keys, start=1):
        ws.cell(keys_row, i, key).font = _KEY_FONT
    optimized_row = keys_row + 1
    for offset, (name, figures) in enumerate(table.iterrows()):
        r = optimized_row + offset
        ws.cell(r, 1, str(name))
        for i, (key, _h, fmt) in enumerate(_BASELINE_COLUMNS, start=2):
            ws.cell(r, i, _cell_value(figures[key])).number_format = fmt
        gains = [
            f"=$B${optimized_row}-B{r}",  # spending: optimized minus the alternative
            f"=$C${optimized_row}-C{r}",
            f"=D{r}-$D${optimized_row}",  # tax saved: the alternative's tax minus the plan's
        ]
        for i, formula in enumerate(gains, start=6):
            ws.cell(r, i, formula).number_format = MONEY
    row = optimized_row + len(table)
    group.cells["Baselines"] = f"{quote_sheetname(ws.title)}!$A${keys_row}:$H${row - 1}"
    if len(table) <= 1:
        ws.cell(
            row,
            1,
            "No simple alternatives were evaluated for this result "
            "(optimize(..., with_baselines=False)).",
        ).font = Font(italic=True)
        row += 1
    return row


# ---------------------------------------------------------------------------------------
# Yearly plan


def _yearly_columns(result, group: PlanSheets) -> list[Col]:
    plan, rules, y = result.plan, result.rules, result.yearly
    flows = plan_flows(plan, rules)
    years = list(y["year"])
    accounts = [a.name for a in plan.accounts]
    kinds = {a.name: rules.account_kinds[a.kind] for a in plan.accounts}
    convertible = [n for n in accounts if kinds[n].convertible_to]
    with_rmd = [n for n in accounts if kinds[n].rmd]
    inflation = group.cells["Inflation"]
    heir_rate = group.cells["HeirTaxRate"]

    cols = [
        Col("year", "Year", INTEGER, years, width=7),
        Col(
            "inflation_factor",
            "Inflation factor (nominal $ per today's $)",
            FACTOR,
            _values(y, "inflation_factor"),
            width=10,
        ),
        *(
            Col(f"age_{p.name}", f"Age {p.name}", INTEGER, _values(y, f"age_{p.name}"), width=7)
            for p in plan.people
        ),
        Col("retired", "Retired", TEXT, ["yes" if r else "no" for r in y["retired"]], width=8),
        *(
            Col(f"opening_{n}", f"Opening balance {n}", values=_values(y, f"opening_{n}"))
            for n in accounts
        ),
        *_group(
            y, "contribution", "Contribution to", accounts, "contributions", "Contributions, total"
        ),
        *_group(y, "withdrawal", "Withdrawal from", accounts, "withdrawals", "Withdrawals, total"),
        *_group(
            y,
            "conversion_out",
            "Roth conversion from",
            convertible,
            "roth_conversions",
            "Roth conversions, total",
        ),
        *_group(y, "rmd", "RMD due from", with_rmd, "rmd_required", "RMDs due, total"),
    ]
    cols += _income_columns(result, flows, years)
    cols += _tax_by_kind_columns(result)
    cols += [
        Col(
            "spending",
            "After-tax spending",
            total="sum",
            formula=lambda r: (
                f"={r('withdrawals')}+{r('social_security')}+{r('other_income')}"
                f"+{r('savings_budget')}+{r('wage_tax')}-{r('contributions')}-{r('total_tax')}"
            ),
        ),
        *(
            Col(f"closing_{n}", f"Closing balance {n}", values=_values(y, f"closing_{n}"))
            for n in accounts
        ),
        Col(
            "portfolio_closing",
            "Portfolio at year end",
            formula=lambda r: "=" + r.sum([f"closing_{n}" for n in accounts]),
        ),
        Col(
            "spending_real",
            "After-tax spending (today's $)",
            total="sum",
            formula=lambda r: f"={r('spending')}/{r('inflation_factor')}",
        ),
        Col(
            "total_tax_real",
            "Total tax (today's $)",
            total="sum",
            formula=lambda r: f"={r('total_tax')}/{r('inflation_factor')}",
        ),
        Col(
            "withdrawals_real",
            "Withdrawals, total (today's $)",
            total="sum",
            formula=lambda r: f"={r('withdrawals')}/{r('inflation_factor')}",
        ),
        # Year-end balances are deflated by the next year's factor (the ledger's convention).
        Col(
            "portfolio_closing_real",
            "Portfolio at year end (today's $)",
            formula=lambda r: (
                f"={r('portfolio_closing')}/({r('inflation_factor')}*(1+{inflation}))"
            ),
        ),
        Col(
            "after_tax_estate_real",
            "After-tax estate at year end (today's $)",
            formula=lambda r: _estate_formula(r, accounts, kinds, inflation, heir_rate),
        ),
    ]
    return cols


def _estate_formula(r: RowRefs, accounts, kinds, inflation: str, heir_rate: str) -> str:
    """Year-end balances, tax-deferred ones net of the heirs' tax, in today's dollars."""
    terms = [
        f"{r(f'closing_{n}')}*(1-{heir_rate})"
        if kinds[n].growth == "deferred"
        else r(f"closing_{n}")
        for n in accounts
    ]
    return f"=({'+'.join(terms)})/({r('inflation_factor')}*(1+{inflation}))"


def _income_columns(result, flows, years: list[int]) -> list[Col]:
    """Each income stream, Social Security and other income as sums of them, wages, savings."""
    plan, y = result.plan, result.yearly
    cols: list[Col] = []
    for kind, key, label in (
        ("social_security", "social_security", "Social Security, total"),
        (None, "other_income", "Pensions and other income, total"),
    ):
        streams = [
            s for s in plan.income if (s.kind == "social_security") == (kind == "social_security")
        ]
        stream_cols = [
            Col(
                f"income_{s.name}",
                s.name,
                values=[stream_amount(plan, s, yr) for yr in years],
                total="sum",
            )
            for s in streams
        ]
        cols += stream_cols
        if stream_cols:
            keys = [c.key for c in stream_cols]
            cols.append(
                Col(key, label, total="sum", formula=lambda r, keys=keys: "=" + r.sum(keys))
            )
        else:
            cols.append(Col(key, label, values=_values(y, key), total="sum"))
    cols += [
        Col("wages", "Wages", values=_values(y, "wages"), total="sum"),
        Col(
            "savings_budget", "Savings from wages", values=_values(y, "savings_budget"), total="sum"
        ),
        Col(
            "wage_tax",
            "Tax on wages alone (paid from wages)",
            values=[flows.wage_tax[yr] for yr in years],
            total="sum",
        ),
    ]
    return cols


def _yearly_sheet(ws: Worksheet, result, group: PlanSheets) -> TableLayout:
    return write_table(ws, _yearly_columns(result, group), len(result.yearly))


# ---------------------------------------------------------------------------------------
# Taxes


def _bracket_widths(result) -> list[list[float | None]]:
    """Width of each ordinary bracket each year (None for the top one), indexed as the ledger."""
    plan, rules = result.plan, result.rules
    widths = []
    for year in result.yearly["year"]:
        schedule = rules.for_year(int(year), plan.inflation).ordinary.brackets[plan.filing_status]
        bounds = schedule.thresholds
        widths.append([b - a for a, b in zip(bounds, bounds[1:], strict=False)] + [None])
    return widths


def _tax_by_kind_columns(result) -> list[Col]:
    """Tax by kind from the ledger, and their total as a live formula (both sheets)."""
    y = result.yearly

    def v(key: str, label: str) -> Col:
        return Col(key, label, values=_values(y, key), total="sum")

    return [
        v("ordinary_tax", "Ordinary income tax"),
        v("capital_gains_tax", "Tax on dividends and gains"),
        Col("credits", "Credits", values=[t.credits for t in result.ledger.taxes], total="sum"),
        v("niit", "Net investment income tax"),
        v("early_withdrawal_penalty", "Early-withdrawal penalty"),
        Col(
            "total_tax",
            "Total tax",
            total="sum",
            formula=lambda r: (
                f"={r('ordinary_tax')}+{r('capital_gains_tax')}-{r('credits')}+{r('niit')}"
                f"+{r('early_withdrawal_penalty')}"
            ),
        ),
    ]


def _taxes_columns(result) -> list[Col]:
    y = result.yearly
    rates = result.rules.ordinary.brackets[result.plan.filing_status].rates
    widths = _bracket_widths(result)

    def v(key: str, label: str, fmt: str = MONEY, total: str | None = None) -> Col:
        return Col(key, label, fmt, _values(y, key), total=total)

    cols = [
        v("year", "Year", INTEGER),
        v("inflation_factor", "Inflation factor", FACTOR),
        v("agi", "AGI", total="sum"),
        v("taxable_social_security", "Taxable Social Security", total="sum"),
        v("total_deductions", "Deductions", total="sum"),
        v("taxable_income", "Taxable income", total="sum"),
        v("ordinary_taxable_income", "Ordinary taxable income", total="sum"),
        v("preferential_taxable_income", "Taxable dividends and gains (preferential)", total="sum"),
        v("roth_taxable_earnings", "Roth earnings taxed (ordering rules)", total="sum"),
        v("roth_early_distributions", "Roth money bearing the early-withdrawal tax", total="sum"),
        *_tax_by_kind_columns(result),
        Col(
            "average_rate",
            "Average rate (tax / AGI)",
            RATE,
            formula=lambda r: f"=IF({r('agi')}>0,{r('total_tax')}/{r('agi')},0)",
        ),
        v("marginal_ordinary_rate", "Marginal rate, ordinary income", RATE),
        v("marginal_ltcg_rate", "Marginal rate, long-term gains", RATE),
        Col(
            "agi_real",
            "AGI (today's $)",
            total="sum",
            formula=lambda r: f"={r('agi')}/{r('inflation_factor')}",
        ),
    ]
    for i, rate in enumerate(rates):
        filled = f"bracket_{i}_filled"
        cols.append(v(filled, f"Bracket {i + 1} ({rate:.1%}) filled"))
        if widths[0][i] is None:
            continue
        width = f"bracket_{i}_width"
        cols += [
            Col(width, f"Bracket {i + 1} width", values=[w[i] for w in widths]),
            Col(
                f"bracket_{i}_share_filled",
                f"Bracket {i + 1} share filled",
                PERCENT,
                formula=lambda r, f=filled, w=width: f"=IF({r(w)}>0,{r(f)}/{r(w)},0)",
            ),
            Col(
                f"bracket_{i}_room",
                f"Bracket {i + 1} room left",
                formula=lambda r, f=filled, w=width: f"={r(w)}-{r(f)}",
            ),
        ]
    return cols


def _taxes_sheet(ws: Worksheet, result) -> TableLayout:
    return write_table(ws, _taxes_columns(result), len(result.yearly))


# ---------------------------------------------------------------------------------------
# Reconciliation


def _reconciliation_sheet(ws: Worksheet, result) -> TableLayout:
    frame = result.reconciliation
    cols = [Col("year", "Year", INTEGER, _values(frame, "year"), width=7)]
    for error in [c for c in frame.columns if c.endswith("_error")]:
        what = error.removesuffix("_error")
        model, ledger = f"model_{what}", f"ledger_{what}"
        label = what.replace("_", " ")
        cols += [
            Col(model, f"Model: {label}", CENTS, _values(frame, model)),
            Col(ledger, f"Ledger: {label}", CENTS, _values(frame, ledger)),
            Col(
                error,
                f"Model - ledger: {label}",
                CENTS,
                total="maxabs",
                formula=lambda r, m=model, g=ledger: f"={r(m)}-{r(g)}",
            ),
        ]
    cols = [Col(c.key, c.label, c.fmt, c.values, c.formula, c.total, 15.0) for c in cols]
    layout = write_table(ws, cols, len(frame))
    ws.cell(
        layout.last_row + 3,
        1,
        "The ledger replays the optimizer's decisions with the tax "
        "calculator; every other sheet shows the ledger's figures. Nominal dollars.",
    )
    return layout


# ---------------------------------------------------------------------------------------
# Location


def _location_sheet(ws: Worksheet, result, workbook: Workbook, suffix: str) -> None:
    """Per snapshot: dollars by account x tier, share of account, share of portfolio."""
    plan, location = result.plan, result.location
    tiers = plan.tier_names
    accounts = [(a.name, a.kind) for a in plan.accounts]
    row = 1
    ws.cell(
        row,
        1,
        "Where each tier lives (post-trade holdings, nominal dollars of the year; "
        "shares as percentages)",
    ).font = _SECTION
    row += 2
    for snapshot, frame in location.groupby("snapshot", sort=False):
        year = int(frame["year"].iloc[0])
        row = _location_block(ws, row, str(snapshot), year, frame, tiers, accounts, plan)
        _define(
            workbook,
            f"Location_{str(snapshot).replace(' ', '_')}{suffix}",
            ws,
            f"A{row - len(accounts) - 2}:{get_column_letter(len(tiers) + 4)}{row - 1}",
        )
        row += 1
    ws.column_dimensions["A"].width = 20
    ws.column_dimensions["B"].width = 16
    ws.freeze_panes = "B3"


def _location_block(ws, row, snapshot, year, frame, tiers, accounts, plan) -> int:
    dollars = {(r.account, r.tier): r.dollars for r in frame.itertuples()}
    n = len(tiers)
    total_col = 3 + n  # A account, B kind, tiers from C
    real_col = total_col + 1
    share_acct = real_col + 2  # first tier column of the share-of-account block
    share_port = share_acct + n + 1
    factor = plan.inflation_factor(year)
    ws.cell(row, 1, f"{snapshot.capitalize()}: {year}").font = _BOLD
    ws.cell(row, 2, "Inflation factor")
    ws.cell(row, 3, factor).number_format = FACTOR
    ws.cell(row, share_acct, "Share of account").font = _BOLD
    ws.cell(row, share_port, "Share of portfolio").font = _BOLD
    factor_ref = f"$C${row}"
    header = row + 1
    names = ["Account", "Kind", *tiers, "Total", "Total (today's $)"]
    for i, name in enumerate(names, start=1):
        _header(ws, header, i, name)
    for j, tier in enumerate(tiers):
        _header(ws, header, share_acct + j, tier)
        _header(ws, header, share_port + j, tier)
    _header(ws, header, share_port + n, "Total")
    first = header + 1
    last = first + len(accounts) - 1
    total_row = last + 1
    grand = f"${get_column_letter(total_col)}${total_row}"
    for k, (account, kind) in enumerate(accounts):
        r = first + k
        ws.cell(r, 1, account)
        ws.cell(r, 2, kind)
        for j, tier in enumerate(tiers):
            col = get_column_letter(3 + j)
            ws.cell(r, 3 + j, _cell_value(dollars.get((account, tier), 0.0))).number_format = MONEY
            row_total = f"${get_column_letter(total_col)}{r}"
            ws.cell(
                r, share_acct + j, f"=IF({row_total}>0,{col}{r}/{row_total},0)"
            ).number_format = PERCENT
            ws.cell(r, share_port + j, f"=IF({grand}>0,{col}{r}/{grand},0)").number_format = PERCENT
        _money_formulas(ws, r, total_col, real_col, factor_ref, n)
        ws.cell(
            r,
            share_port + n,
            f"=SUM({get_column_letter(share_port)}{r}:{get_column_letter(share_port + n - 1)}{r})",
        ).number_format = PERCENT
    ws.cell(total_row, 1, "Total").font = _BOLD
    for c in [*range(3, 3 + n), total_col]:
        letter = get_column_letter(c)
        cell = ws.cell(total_row, c, f"=SUM({letter}{first}:{letter}{last})")
        cell.number_format, cell.font = MONEY, _BOLD
    ws.cell(
        total_row, real_col, f"={get_column_letter(total_col)}{total_row}/{factor_ref}"
    ).number_format = MONEY
    for j in range(n + 1):
        letter = get_column_letter(share_port + j)
        ws.cell(
            total_row, share_port + j, f"=SUM({letter}{first}:{letter}{last})"
        ).number_format = PERCENT
    for c in range(3, share_port + n + 1):
        ws.column_dimensions[get_column_letter(c)].width = 12
    return total_row + 1


def _money_formulas(ws, r: int, total_col: int, real_col: int, factor_ref: str, n: int) -> None:
    first, last = get_column_letter(3), get_column_letter(2 + n)
    ws.cell(r, total_col, f"=SUM({first}{r}:{last}{r})").number_format = MONEY
    ws.cell(r, real_col, f"={get_column_letter(total_col)}{r}/{factor_ref}").number_format = MONEY


def _header(ws: Worksheet, row: int, col: int, text: str) -> None:
    cell = ws.cell(row, col, text)
    cell.font, cell.fill, cell.alignment = _BOLD, _HEADER_FILL, _WRAP


# ---------------------------------------------------------------------------------------
# Rules


def _rules_sheet(ws: Worksheet, rules) -> None:
    meta = rules.meta
    ws.cell(1, 1, f"Rule set {rules.name}: {meta.title}").font = _TITLE
    rows = [
        ("Jurisdiction", meta.jurisdiction),
        ("Year of the amounts", meta.year),
        ("Currency", meta.currency),
        ("Extends", rules.extends or "(none)"),
        ("Description", meta.description),
        (
            "Indexing",
            "Tables marked indexed grow with the plan's inflation after the rule "
            "set's year; the Taxes sheet shows each year's bracket widths.",
        ),
    ]
    for i, (label, value) in enumerate(rows, start=2):
        ws.cell(i, 1, label).font = _BOLD
        ws.cell(i, 2, value)
    header = len(rows) + 3
    for i, name in enumerate(
        ["Table", "Value", "Value (as read)", "As written", "Source"], start=1
    ):
        _header(ws, header, i, name)
    row = header
    for item in rule_values(rules):
        if item.table in {"meta", "extends"}:
            continue
        row += 1
        raw = item.value
        scalar = isinstance(raw, int | float | str | bool)
        ws.cell(row, 1, item.table)
        ws.cell(row, 2, item.path)
        ws.cell(row, 3, format_value(raw, item.path))
        ws.cell(row, 4, raw if scalar else str(raw))
        ws.cell(row, 5, item.source).alignment = Alignment(wrap_text=False)
    for letter, width in zip("ABCDE", (30, 52, 36, 16, 90), strict=True):
        ws.column_dimensions[letter].width = width
    ws.freeze_panes = ws.cell(header + 1, 1)


# ---------------------------------------------------------------------------------------
# Charts


def _charts_sheet(ws: Worksheet, result, group: PlanSheets) -> None:
    yl = group.yearly
    accounts = [a.name for a in result.plan.accounts]
    years = Reference(yl.sheet, min_col=_col(yl, "year"), min_row=yl.first_row, max_row=yl.last_row)

    balances = AreaChart()
    balances.grouping = "stacked"
    _fill_chart(
        balances,
        yl,
        [(f"closing_{a}", a) for a in accounts],
        years,
        "Balances by account at year end (nominal $)",
    )
    ws.add_chart(balances, "A1")

    withdrawals = BarChart()
    withdrawals.type, withdrawals.grouping, withdrawals.overlap = "col", "stacked", 100
    _fill_chart(
        withdrawals,
        yl,
        [(f"withdrawal_{a}", a) for a in accounts],
        years,
        "Withdrawals by account (nominal $)",
    )
    ws.add_chart(withdrawals, "A22")

    tax = LineChart()
    _fill_chart(
        tax,
        yl,
        [("total_tax", "Total tax (nominal $)"), ("total_tax_real", "Total tax (today's $)")],
        years,
        "Tax per year",
    )
    ws.add_chart(tax, "A43")


def _col(layout: TableLayout, key: str) -> int:
    return column_index_from_string(layout.letters[key])


def _fill_chart(
    chart, layout: TableLayout, series: list[tuple[str, str]], years, title: str
) -> None:
    for key, name in series:
        values = Reference(
            layout.sheet,
            min_col=_col(layout, key),
            min_row=layout.first_row,
            max_row=layout.last_row,
        )
        chart.series.append(Series(values, title=name))
    chart.set_categories(years)
    chart.title = title
    chart.y_axis.title = "dollars"
    chart.y_axis.number_format = "#,##0"
    chart.x_axis.title = "year"
    chart.width, chart.height = 26, 10
