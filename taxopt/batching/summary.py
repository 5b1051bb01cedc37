"""The batch's summary: distributions of the headline figures, the households that gain most
from their plan, the change across rule sets, and the failures; as DataFrames and a workbook.

Figures are in today's dollars (each plan's start year); rates and shares are fractions.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Font

from taxopt.batching.run import FIGURES_COLUMNS
from taxopt.report.openpyxl_table import MONEY, PERCENT, TEXT, Col, save_workbook, write_table

NOT_DISTRIBUTED = {"lifetime_agi", "first_year", "first_year_contributions"}
DISTRIBUTED = [c for c in FIGURES_COLUMNS if c not in NOT_DISTRIBUTED]
QUANTILES = {"p5": 0.05, "p25": 0.25, "median": 0.5, "p75": 0.75, "p95": 0.95}
STATISTICS = ["households", "mean", "min", *QUANTILES, "max"]
PLACES = ("roth", "deferred", "taxable")
TOP = 20  # households listed per rule set in "Largest gains"


def is_fraction(figure: str) -> bool:
    return figure.endswith("_rate") or figure.startswith(("share_", "weight_"))


def distribution(table: pd.DataFrame, figures: list[str] | None = None) -> pd.DataFrame:
    """One row per rule set x figure: count, mean, min, percentiles, max of the ok rows."""
    ok = table[table["status"] == "ok"]
    figures = figures or [f for f in DISTRIBUTED if f in ok and ok[f].notna().any()]
    rows = []
    for rules in dict.fromkeys(table["rules"]):
        mine = ok[ok["rules"] == rules]
        for figure in figures:
            values = mine[figure].dropna().astype(float)
            if values.empty:
                continue
            row = {"rules": rules, "figure": figure, "households": len(values)}
            row.update(mean=values.mean(), min=values.min(), max=values.max())
            row.update({name: values.quantile(q) for name, q in QUANTILES.items()})
            rows.append(row)
    return pd.DataFrame(rows, columns=["rules", "figure", *STATISTICS])


def changes(table: pd.DataFrame) -> pd.DataFrame:
    """The distribution of each household's change against its first rule set."""
    first = table["rules"].iloc[0] if len(table) else None
    others = table[table["rules"] != first]
    columns = [c for c in table.columns if c.endswith("_vs_first") and table[c].notna().any()]
    return distribution(others, columns) if columns else distribution(others.iloc[:0], [])


def tier_location(table: pd.DataFrame, tier: str | None = None) -> pd.DataFrame:
    """Where each tier lives at retirement, by rule set: the mean and median share of the
    tier's dollars in Roth, tax-deferred and taxable accounts over the ok households."""
    ok = table[table["status"] == "ok"]
    tiers = sorted(
        {c.removeprefix("share_").rsplit("_in_", 1)[0] for c in ok if c.startswith("share_")}
    )
    rows = []
    for rules in dict.fromkeys(table["rules"]):
        mine = ok[ok["rules"] == rules]
        for name in [tier] if tier else tiers:
            for place in PLACES:
                values = mine.get(f"share_{name}_in_{place}", pd.Series(dtype=float)).dropna()
                if values.empty:
                    continue
                rows.append(
                    {
                        "rules": rules,
                        "tier": name,
                        "place": place,
                        "households": len(values),
                        "mean_share": values.mean(),
                        "median_share": values.median(),
                        "households_mostly_here": int((values > 0.5).sum()),
                    }
                )
    return pd.DataFrame(
        rows,
        columns=[
            "rules",
            "tier",
            "place",
            "households",
            "mean_share",
            "median_share",
            "households_mostly_here",
        ],
    )


def largest_gains(table: pd.DataFrame, top: int = TOP) -> pd.DataFrame:
    """Per rule set, the households whose plan saves the most lifetime tax against the
    guide's rule of thumb."""
    ok = table[(table["status"] == "ok") & table["tax_saved_vs_guide"].notna()]
    columns = [
        "rules",
        "household",
        "tax_saved_vs_guide",
        "gain_in_spending_vs_guide",
        "gain_in_estate_vs_guide",
        "sustainable_spending",
        "lifetime_tax",
    ]
    parts = [
        ok[ok["rules"] == rules].nlargest(top, "tax_saved_vs_guide")[columns]
        for rules in dict.fromkeys(table["rules"])
    ]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)


def write_summary(table: pd.DataFrame, path: str | Path) -> Path:
    """The summary workbook: Summary, Distributions, Largest gains, Changes, Where tiers
    live, Failures."""
    workbook = Workbook()
    _overview(workbook.active, table)
    _statistics_sheet(workbook.create_sheet("Distributions"), distribution(table))
    _frame_sheet(workbook.create_sheet("Largest gains"), largest_gains(table))
    if table["rules"].nunique() > 1:
        _statistics_sheet(workbook.create_sheet("Changes"), changes(table))
    _frame_sheet(workbook.create_sheet("Where tiers live"), tier_location(table))
    failures = table[table["status"] != "ok"][["household", "rules", "status", "error"]]
    _frame_sheet(workbook.create_sheet("Failures"), failures.reset_index(drop=True))
    return save_workbook(workbook, path)


def _overview(ws, table: pd.DataFrame) -> None:
    ws.title = "Summary"
    ws.cell(1, 1, "Batch summary").font = Font(bold=True, size=14)
    ws.cell(2, 1, "Today's dollars (each plan's start year); rates and shares as fractions.")
    headers = ["Rule set", "Households", "Ok", "Failed", "Crashed"]
    for j, header in enumerate(headers, start=1):
        ws.cell(4, j, header).font = Font(bold=True)
    for i, rules in enumerate(dict.fromkeys(table["rules"]), start=5):
        mine = table[table["rules"] == rules]
        counts = [int((mine["status"] == s).sum()) for s in ("ok", "failed", "crashed")]
        for j, value in enumerate([rules, len(mine), *counts], start=1):
            ws.cell(i, j, value)
    notes = [
        "Distributions: each headline figure over the households that ran, by rule set.",
        "Largest gains: the plans that save most lifetime tax against the guide's placement.",
        "Changes: each household's figure minus the same household under the first rule set.",
        "Where tiers live: the share of each tier's dollars in Roth, tax-deferred and taxable "
        "accounts at retirement.",
    ]
    for k, note in enumerate(notes):
        ws.cell(7 + table["rules"].nunique() + k, 1, note).font = Font(italic=True)
    ws.column_dimensions["A"].width = 28


def _statistics_sheet(ws, stats: pd.DataFrame) -> None:
    cols = [
        Col("rules", "Rule set", TEXT, list(stats["rules"]), width=26),
        Col("figure", "Figure", TEXT, list(stats["figure"]), width=30),
        Col("households", "Households", "0", list(stats["households"]), width=11),
        *(Col(s, s.capitalize(), MONEY, list(stats[s]), width=13) for s in STATISTICS[1:]),
    ]
    layout = write_table(ws, cols, len(stats), freeze_col=3)
    for i, figure in enumerate(stats["figure"]):
        if is_fraction(figure.removesuffix("_vs_first")):
            for s in STATISTICS[1:]:
                ws[f"{layout.letters[s]}{layout.first_row + i}"].number_format = PERCENT


def _frame_sheet(ws, frame: pd.DataFrame) -> None:
    cols = []
    for column in frame.columns:
        numeric = pd.api.types.is_numeric_dtype(frame[column])
        fmt = (PERCENT if column.endswith("share") else MONEY) if numeric else TEXT
        if column in ("households", "households_mostly_here"):
            fmt = "0"
        width = 60 if column == "error" else 16
        cols.append(
            Col(
                column, column.replace("_", " ").capitalize(), fmt, list(frame[column]), width=width
            )
        )
    write_table(ws, cols, len(frame), freeze_col=2)
