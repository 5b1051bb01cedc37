"""taxopt.compare: plans under several rule sets, side by side.

Each (plan, rule set) pair is optimized on its own (taxopt.optimize), in parallel worker
processes. The table has one row per pair, in today's dollars (the plan's start year):

- sustainable_spending, after_tax_estate, lifetime_tax, first_year_withdrawal_rate: the
  Result's headline figures.
- lifetime_conversions: the plan's Roth conversions over its years, each deflated to
  today (how much the plan converts, as rules or states change).
- lifetime_agi: the sum of each year's AGI deflated to today; AGI includes withdrawals from
  tax-deferred accounts, Roth conversions, realized gains, dividends and the taxable part of
  Social Security, before deductions.
- effective_rate = lifetime_tax / lifetime_agi: the share of the income the tax is levied on
  that goes in tax over the whole plan (a fraction).
- <figure>_vs_first: this row minus the same plan under the first rule set (with
  `states`, the same plan in the first state under the first rule set: `versus` names it).
- share_<tier>_in_<place>: at retirement, the fraction of the tier's dollars held in Roth
  (accounts whose growth is tax exempt), deferred (tax-deferred) or taxable accounts.
- weight_<tier>: the tier's fraction of the whole portfolio at retirement.
- largest_shift, largest_shift_points: the (tier, place) whose holding moves most against the
  first rule set (with `states`, the first state), measured as a fraction of the
  portfolio (share x weight), so that a tiny tier swinging wholly from one account to
  another does not hide a large move. Points are a signed fraction of the portfolio (0.03
  is 3 percentage points).

A pair that the optimizer cannot run (a rule set the model does not support, an infeasible
plan) becomes a row with status "error" and its message; the other pairs still run.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import pandas as pd
from xlsxwriter.utility import xl_rowcol_to_cell

from taxopt import progress
from taxopt.currency import localize, symbol
from taxopt.errors import InputError, TaxoptError
from taxopt.io import write_json
from taxopt.optimize import TIME_LIMIT_NOTE, optimize
from taxopt.plan import Plan, load_plan
from taxopt.report.book import Book
from taxopt.report.charts import Series, make_chart
from taxopt.report.excel import add_plan_sheets
from taxopt.report.labels import tier_label
from taxopt.report.tables import Column, Table, write_tables
from taxopt.report.vocabulary import Vocabulary
from taxopt.result import Result
from taxopt.rules import Growth, RuleSet, load_rules

PLACES = {Growth.EXEMPT: "roth", Growth.DEFERRED: "deferred", Growth.TAXED: "taxable"}
FIGURES = ["sustainable_spending", "after_tax_estate", "lifetime_tax", "effective_rate"]
PLAN_SUFFIXES = (".toml", ".json")
NEGLIGIBLE_SHIFT = 0.0005  # fraction of the portfolio: below this a shift reads "none"
EFFECTIVE_RATE = "lifetime tax / lifetime AGI, both in today's dollars"
EFFECTIVE_RATE_ANY_LAW = (
    "lifetime tax / lifetime gross income (AGI under US rules; total income under UK and "
    "Canadian rules), both in today's money"
)

PlanInput = Plan | str | Path
RulesInput = RuleSet | str | Path


@dataclass
class Comparison:
    """Results of every (plan, rule set) pair; `table` has one row per pair."""

    plans: list[str]  # plan labels, in the order given
    rule_sets: list[str]  # rule-set labels, in the order given (the first is the reference)
    results: dict[tuple[str, str], Result] = field(default_factory=dict)
    errors: dict[tuple[str, str], str] = field(default_factory=dict)
    mode: str | None = None
    # plan label -> the plan label its differences are measured against (default: itself;
    # with `states`, the same plan in the first state)
    versus: dict[str, str] = field(default_factory=dict)

    @property
    def time_limited(self) -> list[tuple[str, str]]:
        """Pairs whose search the time limit cut short (each reports its best plan so far,
        with a note saying so)."""
        return [key for key, result in self.results.items() if TIME_LIMIT_NOTE in result.notes]

    @property
    def pairs(self) -> list[tuple[str, str]]:
        return [(p, r) for p in self.plans for r in self.rule_sets]

    @cached_property
    def table(self) -> pd.DataFrame:
        return comparison_table(self)

    def sheet_prefix(self, plan: str, rules: str) -> str:
        """Prefix of the pair's sheets in the workbook: 'R2 ' (one plan) or 'P1R2 '."""
        j = self.rule_sets.index(rules) + 1
        if len(self.plans) == 1:
            return f"R{j} "
        return f"P{self.plans.index(plan) + 1}R{j} "

    def to_dict(self) -> dict:
        rows = [
            {k: _json_value(v) for k, v in record.items()}
            for record in self.table.to_dict(orient="records")
        ]
        return {
            "plans": self.plans,
            "rule_sets": self.rule_sets,
            "mode": self.mode,
            "units": "today's dollars (each plan's start year); rates and shares as fractions",
            "effective_rate": EFFECTIVE_RATE,
            "rows": rows,
            "errors": [
                {"plan": p, "rules": r, "error": message} for (p, r), message in self.errors.items()
            ],
            "time_limited": [{"plan": p, "rules": r} for p, r in self.time_limited],
        }

    def to_json(self, path: str | Path) -> Path:
        return write_json(path, self.to_dict())

    def to_excel(self, path: str | Path) -> Path:
        """A Comparison sheet with a chart, then each pair's plan sheets (prefixed)."""
        return comparison_workbook(self).save(path)


def compare(
    plan_or_plans: PlanInput | Iterable[PlanInput],
    rules: RulesInput | Sequence[RulesInput],
    mode: str | None = None,
    processes: int | None = None,
    with_baselines: bool = False,
    states: Sequence[str] | None = None,
) -> Comparison:
    """Optimize each plan under each rule set and put the figures side by side.

    Plans are Plan objects or paths (a folder means every .toml/.json plan in it); rule sets
    are RuleSet objects, names in rules/ or paths. `processes`: worker processes (default:
    all cores, at most one per pair; 1 runs inline). `mode`: fast or exact (default: each
    plan's option). `states`: run each plan once per US state code, the plan named with
    the state ("Couple (CA)"); default: each plan's own `state`.

    Inside `taxopt.progress.watch` (as `taxopt compare` runs it) the time limit covers the
    whole comparison: each pair's search stops starting steps at the common deadline (a
    pair started late still gets its first plan, noted as cut short: `time_limited`), and a
    progress line says when each pair is done.
    """
    if mode not in (None, "fast", "exact"):
        raise InputError(f"compare: mode '{mode}' is unknown; use fast or exact")
    if processes is not None and processes < 1:
        raise InputError(f"compare: processes is {processes}; give 1 or more")
    plans = _label(_in_states(_load_plans(plan_or_plans), states), lambda item: item[1].name)
    rule_sets = _label(_load_rule_sets(rules), lambda item: item[1].name)
    labels = [p for p, _ in plans]
    per_plan = len(states) if states else 1  # _in_states: each plan's states in a row
    versus = {label: labels[i - i % per_plan] for i, label in enumerate(labels)}
    comparison = Comparison(labels, [r for r, _ in rule_sets], mode=mode, versus=versus)
    jobs = []
    for plan_label, (source, plan) in plans:
        for rules_label, (_given, rule_set) in rule_sets:
            try:  # the user's mismatch (filing status, account kind) named by file
                plan.check_against(rule_set, source=source)
            except TaxoptError as exc:
                comparison.errors[plan_label, rules_label] = str(exc)
                continue
            jobs.append(((plan_label, rules_label), plan, rule_set))
    outcomes = _run_all(jobs, mode, processes, with_baselines)
    for (key, _plan, _rules), outcome in zip(jobs, outcomes, strict=True):
        if isinstance(outcome, Result):
            comparison.results[key] = outcome
        else:
            comparison.errors[key] = outcome
    return comparison


# ---------------------------------------------------------------------------------------
# Inputs


def _load_plans(given: PlanInput | Iterable[PlanInput]) -> list[tuple[str, Plan]]:
    """(source for messages, plan) for each plan, a folder expanding to its plan files."""
    items = [given] if isinstance(given, Plan | str | Path) else list(given)
    if not items:
        raise InputError("compare: no plans given; pass a plan file, a folder or a Plan")
    out: list[tuple[str, Plan]] = []
    for item in items:
        if isinstance(item, Plan):
            out.append(("plan", item))
            continue
        path = Path(item)
        if path.is_dir():
            files = sorted(p for p in path.iterdir() if p.suffix in PLAN_SUFFIXES)
            if not files:
                raise InputError(f"{path}: the folder has no plan files (.toml or .json)")
            out += [(str(f), load_plan(f)) for f in files]
        else:
            out.append((str(path), load_plan(path)))
    return out


def _in_states(
    plans: list[tuple[str, Plan]], states: Sequence[str] | None
) -> list[tuple[str, Plan]]:
    """Each plan once per state, named with it (the plans as given without states)."""
    if not states:
        return plans
    out = []
    for source, plan in plans:
        for state in states:
            placed = plan.with_state(state)
            out.append(
                (source, placed.model_copy(update={"name": f"{plan.name} ({state.upper()})"}))
            )
    return out


def _load_rule_sets(given: RulesInput | Sequence[RulesInput]) -> list[tuple[str, RuleSet]]:
    items = [given] if isinstance(given, RuleSet | str | Path) else list(given)
    if not items:
        raise InputError("compare: no rule sets given; pass at least one, e.g. us-federal-2026")
    return [(str(item), item if isinstance(item, RuleSet) else load_rules(item)) for item in items]


def _label(items: list, name_of) -> list[tuple[str, object]]:
    """Distinct labels by name: a name already used becomes 'name (2)', 'name (3)', ..."""
    out: list[tuple[str, object]] = []
    used: set[str] = set()
    for item in items:
        name = label = name_of(item)
        n = 1
        while label in used:
            n += 1
            label = f"{name} ({n})"
        used.add(label)
        out.append((label, item))
    return out


# ---------------------------------------------------------------------------------------
# Running the pairs


def _run_pair(
    plan: Plan, rules: RuleSet, mode: str | None, with_baselines: bool, deadline: float | None
) -> Result | str:
    """One optimization; a TaxoptError comes back as its message (other errors are bugs).
    `deadline` (time.time() seconds, shared by every worker process): the time limit of
    the whole comparison, the search's own within it."""
    try:
        if deadline is None:
            return optimize(plan, rules, mode=mode, with_baselines=with_baselines)
        left = max(deadline - time.time(), 1e-9)
        with progress.watch(left, show=False):  # workers' own steps would interleave
            return optimize(plan, rules, mode=mode, with_baselines=with_baselines)
    except TaxoptError as exc:
        return str(exc)


def _run_all(jobs: list, mode, processes: int | None, with_baselines: bool) -> list:
    """Each job's Result or message, in the order given; a progress line as each is done."""
    if not jobs:
        return []
    workers = min(processes or os.cpu_count() or 1, len(jobs))
    left = progress.seconds_left()
    deadline = None if left is None else time.time() + left
    args = [(plan, rules, mode, with_baselines, deadline) for _key, plan, rules in jobs]
    outcomes: list = [None] * len(jobs)
    if workers == 1:
        for i, a in enumerate(args):
            outcomes[i] = _run_pair(*a)
            _pair_done(jobs[i][0], outcomes[i], i + 1, len(jobs))
        return outcomes
    # Plans and rule sets are pydantic models: they pickle to the workers, Results back.
    with ProcessPoolExecutor(max_workers=workers) as pool:
        index = {pool.submit(_run_pair, *a): i for i, a in enumerate(args)}
        for done, future in enumerate(as_completed(index), start=1):
            i = index[future]
            outcomes[i] = future.result()
            _pair_done(jobs[i][0], outcomes[i], done, len(jobs))
    return outcomes


def _pair_done(key: tuple[str, str], outcome: Result | str, done: int, total: int) -> None:
    plan, rules = key
    if isinstance(outcome, Result):
        cut = " (cut short by the time limit)" if TIME_LIMIT_NOTE in outcome.notes else ""
        how = f"{outcome.status}{cut}"
    else:
        how = "error"
    progress.step(f"pair {done}/{total} done: {plan} under {rules}: {how}")


# ---------------------------------------------------------------------------------------
# The table


def comparison_table(comparison: Comparison) -> pd.DataFrame:
    rows = []
    for plan, rules in comparison.pairs:
        row: dict = {"plan": plan, "rules": rules}
        result = comparison.results.get((plan, rules))
        if result is None:
            row.update(status="error", error=comparison.errors.get((plan, rules), ""))
        else:
            row.update(status=result.status, error="", **pair_figures(result))
            row["lifetime_conversions"] = lifetime_conversions(result)
        rows.append(row)
    table = pd.DataFrame(rows)
    for figure in [*FIGURES, "lifetime_agi", "lifetime_conversions", "first_year_withdrawal_rate"]:
        if figure not in table:
            table[figure] = math.nan
    shares = sorted(c for c in table.columns if c.startswith("share_"))
    weights = [c for c in table.columns if c.startswith("weight_")]
    _add_differences(table, comparison, shares)
    ordered = [
        "plan",
        "rules",
        "status",
        "sustainable_spending",
        "after_tax_estate",
        "lifetime_tax",
        "lifetime_agi",
        "effective_rate",
        "first_year_withdrawal_rate",
        "lifetime_conversions",
        *(f"{f}_vs_first" for f in FIGURES),
        "largest_shift",
        "largest_shift_points",
        "versus",
        *shares,
        *weights,
        "error",
    ]
    return table[ordered]


def lifetime_conversions(result: Result) -> float:
    """The plan's Roth conversions over its years, each deflated to today (dollars)."""
    yearly = result.yearly
    return float((yearly["roth_conversions"] / yearly["inflation_factor"]).sum())


def pair_figures(result: Result) -> dict:
    """Headline figures, lifetime AGI and effective rate, location shares at retirement."""
    yearly = result.yearly
    lifetime_agi = float((yearly["agi"] / yearly["inflation_factor"]).sum())
    f = result.figures
    figures = {
        "sustainable_spending": f.sustainable_spending,
        "after_tax_estate": f.after_tax_estate,
        "lifetime_tax": f.lifetime_tax,
        "lifetime_agi": lifetime_agi,
        "effective_rate": f.lifetime_tax / lifetime_agi if lifetime_agi > 0 else math.nan,
        "first_year_withdrawal_rate": (
            math.nan if f.first_year_withdrawal_rate is None else f.first_year_withdrawal_rate
        ),
    }
    return {**figures, **location_shares(result)}


def location_shares(result: Result, snapshot: str = "retirement") -> dict[str, float]:
    """share_<tier>_in_<place>: fraction of each tier's dollars in each kind of account;
    weight_<tier>: the tier's fraction of the portfolio."""
    at = result.location[result.location["snapshot"] == snapshot]
    place_of = {
        a.name: PLACES[result.rules.account_kinds[a.kind].growth] for a in result.plan.accounts
    }
    # Plain sums over the snapshot's few rows: pandas filtering per cell costs more than
    # the arithmetic (this runs once per household in a batch).
    held: dict[tuple[str, str], float] = {}
    for account, tier, amount in zip(at["account"], at["tier"], at["dollars"], strict=True):
        key = (tier, place_of[account])
        held[key] = held.get(key, 0.0) + float(amount)
    portfolio = sum(held.values())
    out = {}
    for tier in result.plan.tier_names:
        total = sum(held.get((tier, place), 0.0) for place in PLACES.values())
        out[f"weight_{tier}"] = total / portfolio if portfolio > 0 else math.nan
        for place in PLACES.values():
            dollars = held.get((tier, place), 0.0)
            out[f"share_{tier}_in_{place}"] = dollars / total if total > 0 else math.nan
    return out


def _add_differences(table: pd.DataFrame, comparison: Comparison, shares: list[str]) -> None:
    first = comparison.rule_sets[0]
    for figure in FIGURES:
        table[f"{figure}_vs_first"] = math.nan
    table["largest_shift"] = ""
    table["largest_shift_points"] = math.nan
    table["versus"] = ""
    for plan in comparison.plans:
        mine = table["plan"] == plan
        reference = comparison.versus.get(plan, plan)
        base = table[(table["plan"] == reference) & (table["rules"] == first)].iloc[0]
        table.loc[mine, "versus"] = f"{reference} / {first}"
        if base["status"] == "error":
            continue
        base_currency = _currency(comparison, reference, first)
        for index in table[mine & (table["status"] != "error")].index:
            # Amounts are never converted: a £ less a $ means nothing (shares still compare).
            if _currency(comparison, plan, table.at[index, "rules"]) == base_currency:
                for figure in FIGURES:
                    table.at[index, f"{figure}_vs_first"] = table.at[index, figure] - base[figure]
            label, points = _largest_shift(table.loc[index], base, shares)
            table.at[index, "largest_shift"] = label
            table.at[index, "largest_shift_points"] = points


def _currency(comparison: Comparison, plan: str, rules: str) -> str | None:
    """ISO code of a solved pair's amounts; None for a pair that could not be planned."""
    result = comparison.results.get((plan, rules))
    return None if result is None else result.rules.meta.currency


def _largest_shift(row: pd.Series, base: pd.Series, shares: list[str]) -> tuple[str, float]:
    """The holding that moved most against the first rule set, in points of the portfolio."""
    best, best_points = None, 0.0
    for column in shares:
        tier = column.removeprefix("share_").rsplit("_in_", 1)[0]
        a = _of_portfolio(base, column, tier)
        b = _of_portfolio(row, column, tier)
        if abs(b - a) > abs(best_points) + 1e-9:
            best, best_points = column, b - a
    if best is None:
        return "none", 0.0
    if abs(best_points) < NEGLIGIBLE_SHIFT:
        return "none", best_points
    tier, place = best.removeprefix("share_").rsplit("_in_", 1)
    return (
        f"{tier} in {place}: {_pct(base[best])} -> {_pct(row[best])} of the tier "
        f"({best_points:+.1%} of the portfolio)",
        best_points,
    )


def _of_portfolio(row: pd.Series, share: str, tier: str) -> float:
    """Fraction of the portfolio that a (tier, place) holds; 0 for a tier with no dollars."""
    value = row.get(share, math.nan) * row.get(f"weight_{tier}", math.nan)
    return 0.0 if math.isnan(value) else float(value)


def _pct(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.1%}"


def _json_value(value):
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


# ---------------------------------------------------------------------------------------
# The workbook

_FIGURE_ROWS = [  # key, label, number kind
    ("sustainable_spending", "Spending a year after tax (today's $)", "money"),
    ("after_tax_estate", "Estate after tax (today's $)", "money"),
    ("lifetime_tax", "Lifetime tax (today's $)", "money"),
    ("lifetime_agi", "Lifetime adjusted gross income (today's $)", "money"),
    ("effective_rate", "Effective rate (lifetime tax / lifetime AGI)", "rate"),
    ("first_year_withdrawal_rate", "First-year withdrawal rate", "rate"),
    ("lifetime_conversions", "Roth conversions, lifetime (today's $)", "money"),
]
_ANY_LAW_LABELS = {  # the rows' words when the columns are under several laws
    "lifetime_agi": "Lifetime gross income (today's money)",
    "effective_rate": "Effective rate (lifetime tax / gross income)",
    "lifetime_conversions": "Conversions, lifetime (today's money)",
}
_DIFFERENCE_LABELS = {
    "sustainable_spending": "Spending vs {first} (today's $)",
    "after_tax_estate": "Estate vs {first} (today's $)",
    "lifetime_tax": "Lifetime tax vs {first} (today's $)",
    "effective_rate": "Effective rate vs {first} (points)",
}
COMPARISON_SHEET = "Comparison"
LOCATION_SHEET = "Location compared"


def comparison_workbook(comparison: Comparison, client: str | None = None) -> Book:
    """The Comparison sheet (one printed page), location shares, then each pair's sheets."""
    book = Book(client or " / ".join(comparison.plans))
    ws = book.add_sheet(COMPARISON_SHEET)
    location = book.add_sheet(LOCATION_SHEET)
    _comparison_sheet(ws, comparison)
    _location_sheet(location, comparison)
    for plan, rules in comparison.pairs:
        result = comparison.results.get((plan, rules))
        if result is not None:
            add_plan_sheets(book, result, prefix=comparison.sheet_prefix(plan, rules))
    return book


def _pair_label(comparison: Comparison, plan: str, rules: str) -> str:
    return f"{plan}: {rules}" if len(comparison.plans) > 1 else rules


def _column_words(comparison: Comparison, records: list[dict]) -> list[Vocabulary | None]:
    """Each column's words and currency (None: a pair that could not be planned)."""
    out = []
    for record in records:
        result = comparison.results.get((record["plan"], record["rules"]))
        out.append(None if result is None else Vocabulary.of(result.rules, result.plan))
    return out


def _mixed(words: list[Vocabulary | None]) -> bool:
    """Whether the columns speak of more than US places in dollars."""
    known = [w for w in words if w is not None]
    return any(not w.is_us for w in known) or len({w.currency for w in known}) > 1


def _comparison_sheet(ws, comparison: Comparison) -> None:
    table = comparison.table
    records = table.to_dict(orient="records")
    n = len(records)
    words = _column_words(comparison, records)
    mixed = _mixed(words)
    ws.book.dollar_sign = mixed
    ws.set_widths([46, *([20] * n)])
    ws.fit_one_page()
    ws.text_row(f"Tax law compared: {', '.join(comparison.plans)}", "title", 24.0)
    if mixed:
        note = (
            "Today's money (each plan's start year), each column in its rule set's currency, "
            f"never converted. Differences are against {_reference_words(comparison)}, only "
            f"between columns in the same currency. Effective rate = {EFFECTIVE_RATE_ANY_LAW}."
        )
    else:
        note = (
            f"Today's dollars (each plan's start year). Differences are against "
            f"{_reference_words(comparison)}. Effective rate = {EFFECTIVE_RATE}."
        )
    ws.wrapped(note, n, lines=2, style="wrapnote")
    ws.skip()
    header = ws.advance(30.0)
    ws.write(header, 0, "", style="header")
    for j, record in enumerate(records, start=1):
        ws.write(
            header, j, _pair_label(comparison, record["plan"], record["rules"]), style="header"
        )
    rows = _figure_rows(ws, records, words, mixed)
    _difference_rows(ws, comparison, records, words, rows, mixed)
    shifts = [
        _shift_words(str(r["largest_shift"] or ""), said)
        for r, said in zip(records, words, strict=True)
    ]
    shift = ws.advance(13.0 * max(1, *(len(s) // 20 + 1 for s in shifts)) + 4)
    ws.write(shift, 0, "Largest change in where a tier lives (at retirement)", style="wrap")
    for j, text in enumerate(shifts, start=1):
        ws.ws.write_string(shift, j, text, ws.book.format("wrap"))
    sheets = ws.advance()
    ws.write(sheets, 0, "This plan's sheets start with")
    for j, record in enumerate(records, start=1):
        ok = record["status"] != "error"
        prefix = comparison.sheet_prefix(record["plan"], record["rules"]).strip()
        ws.write(sheets, j, prefix if ok else "")
    if any(r["status"] == "error" for r in records):
        longest = max(len(str(r["error"] or "")) for r in records)
        errors = ws.advance(13.0 * (longest // 20 + 2))
        ws.write(errors, 0, "Could not be planned")
        for j, record in enumerate(records, start=1):
            ws.ws.write_string(errors, j, str(record["error"] or ""), ws.book.format("wrap"))
    ws.skip()
    _comparison_chart(ws, comparison, records, header, rows, mixed)
    ws.book.dollar_sign = False


def _figure_rows(ws, records: list[dict], words: list, mixed: bool) -> dict[str, int]:
    """One row per figure, each column in its own currency; returns the rows by figure."""
    rows: dict[str, int] = {}
    for key, label, kind in _FIGURE_ROWS:
        row = rows[key] = ws.advance()
        ws.write(row, 0, _ANY_LAW_LABELS.get(key, label.replace("$", "money")) if mixed else label)
        for j, (record, said) in enumerate(zip(records, words, strict=True), start=1):
            if said is None:
                ws.write(row, j, None, kind)
            elif key == "lifetime_conversions" and not said.has_conversions:
                ws.write(row, j, "none in this law", style="rightnote")
            else:
                with ws.book.speaking(said.currency, said):
                    ws.write(row, j, record[key], kind)
    return rows


def _difference_rows(ws, comparison, records: list[dict], words: list, rows: dict, mixed: bool):
    """Each figure less its reference column's, as a formula; blank across currencies."""
    first = comparison.rule_sets[0]
    base_col = {
        plan: 1
        + next(
            i
            for i, r in enumerate(records)
            if r["plan"] == comparison.versus.get(plan, plan) and r["rules"] == first
        )
        for plan in comparison.plans
    }
    states = any(comparison.versus.get(p, p) != p for p in comparison.plans)
    for key, template in _DIFFERENCE_LABELS.items():
        kind = "rate" if key == "effective_rate" else "money"
        row = ws.advance()
        label = template.format(first="the first state" if states else first)
        ws.write(row, 0, label.replace("$", "money") if mixed else label)
        for j, (record, said) in enumerate(zip(records, words, strict=True), start=1):
            value = record[f"{key}_vs_first"]
            b = base_col[record["plan"]]
            base_words = words[b - 1]
            if said is None:
                ws.write(row, j, None, kind)
            elif value is None or math.isnan(value):
                other = base_words is not None and base_words.currency != said.currency
                ws.write(row, j, "other currency" if other else None, style="rightnote")
            else:
                formula = f"={xl_rowcol_to_cell(rows[key], j)}-{xl_rowcol_to_cell(rows[key], b)}"
                with ws.book.speaking(said.currency, said):
                    ws.formula(row, j, formula, value, kind)


def _comparison_chart(
    ws, comparison, records, header: int, rows: dict[str, int], mixed: bool = False
) -> None:
    n = len(records)
    values = {
        key: [0.0 if r["status"] == "error" else float(r[key]) for r in records]
        for key in ("sustainable_spending", "lifetime_tax", "after_tax_estate")
    }
    categories = Series("Rule set", ws.title, 1, header, header, last_col=n)
    series = [
        Series(label.split(" (")[0], ws.title, 1, rows[key], rows[key], values[key], last_col=n)
        for key, label, _kind in _FIGURE_ROWS
        if key in ("sustainable_spending", "lifetime_tax")
    ]
    chart = make_chart(
        ws.book,
        "column",
        "Spending a year and lifetime tax",
        "Today's money, each in its own currency" if mixed else "Today's dollars",
        categories,
        series,
        x_title="",
    )
    ws.insert_chart(chart, 0, 620, 300)


def _location_sheet(ws, comparison: Comparison) -> None:
    table = comparison.table
    records = table.to_dict(orient="records")
    shares = sorted(c for c in table.columns if c.startswith("share_"))
    weights = [c for c in table.columns if c.startswith("weight_")]
    places = _place_words(_column_words(comparison, records))
    ws.set_widths([40, *([20] * len(records))])
    ws.text_row("Where each tier lives at retirement, by tax law", "title", 24.0)
    ws.wrapped(
        f"Share of each tier's money held in {places['roth']} (tax-free), "
        f"{places['deferred']} (tax-deferred) or {places['taxable']} accounts; the last rows "
        "give each tier's share of the whole portfolio.",
        len(records),
        lines=2,
        style="wrapnote",
    )
    ws.skip()
    tables = []
    for plan in comparison.plans:
        mine = [r for r in records if r["plan"] == plan]
        # Only the plan's own tiers: another plan's tiers would be empty rows here.
        keys = [c for c in [*shares, *weights] if any(_is_number(r.get(c)) for r in mine)]
        columns = [Column("", [_share_label(c, places) for c in keys], "text", width=40)]
        columns += [
            Column(
                _pair_label(comparison, r["plan"], r["rules"]),
                [r.get(c) for c in keys],
                "percent",
                width=20,
            )
            for r in mine
        ]
        several = len(comparison.plans) > 1
        tables.append(
            Table(f"Shares at retirement: {plan}" if several else "Shares at retirement", columns)
        )
    write_tables(ws, tables, new_page_each=False)


def _share_label(column: str, places: dict[str, str]) -> str:
    if column.startswith("weight_"):
        return f"{tier_label(column.removeprefix('weight_'))}: share of the portfolio"
    tier, place = column.removeprefix("share_").rsplit("_in_", 1)
    return f"{tier_label(tier)} in {places[place]}"


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not math.isnan(value)


_PLACE_WORDS = {"roth": "Roth", "deferred": "traditional", "taxable": "taxable"}


def _place_words(words: list[Vocabulary | None]) -> dict[str, str]:
    """Each place in every column's words: 'Roth/ISA/TFSA' when the laws differ."""
    said = [w for w in words if w is not None] or [Vocabulary()]
    return {
        place: "/".join(dict.fromkeys(w.places[growth] for w in said))
        for growth, place in PLACES.items()
    }


def _shift_words(text: str, said: Vocabulary | None = None) -> str:
    """'aggressive in roth: 62% -> 55% ...' as the client reads it: 'Aggressive in Roth: ...',
    in the column's own words (UK: 'in ISA')."""
    head, sep, tail = text.partition(": ")
    tier, _in, place = head.rpartition(" in ")
    if not sep or not _in or place not in _PLACE_WORDS:
        return "None" if text == "none" else text
    words = _place_words([said])
    return f"{tier_label(tier)} in {words[place]}: {tail}"


# ---------------------------------------------------------------------------------------
# Text for the CLI


def render_table(comparison: Comparison) -> str:
    """The comparison as a text table (today's dollars)."""
    table = comparison.table
    several = len(comparison.plans) > 1
    headers = [
        *(["PLAN"] if several else []),
        "RULES",
        "SPENDING/YR",
        "ESTATE",
        "LIFETIME TAX",
        "EFF. RATE",
        "CONVERSIONS",
        "d SPENDING",
        "d ESTATE",
        "d TAX",
        "LARGEST LOCATION SHIFT",
    ]
    lines = [headers]
    for row in table.to_dict(orient="records"):
        cells = [row["plan"]] if several else []
        cells.append(row["rules"])
        if row["status"] == "error":
            cells += ["error: see below", "", "", "", "", "", "", "", ""]
        else:
            cells += [
                _money(row["sustainable_spending"]),
                _money(row["after_tax_estate"]),
                _money(row["lifetime_tax"]),
                _rate(row["effective_rate"]),
                _money(row["lifetime_conversions"]),
                _money(row["sustainable_spending_vs_first"], signed=True),
                _money(row["after_tax_estate_vs_first"], signed=True),
                _money(row["lifetime_tax_vs_first"], signed=True),
                row["largest_shift"],
            ]
        lines.append(cells)
    widths = [max(len(str(line[i])) for line in lines) for i in range(len(headers))]
    text_columns = {0, 1} if several else {0}
    out = [
        "  ".join(
            str(c).ljust(w) if i in text_columns or i == len(headers) - 1 else str(c).rjust(w)
            for i, (c, w) in enumerate(zip(line, widths, strict=True))
        ).rstrip()
        for line in lines
    ]
    records = table.to_dict(orient="records")
    mixed = _mixed(_column_words(comparison, records))
    rate_words = EFFECTIVE_RATE_ANY_LAW if mixed else EFFECTIVE_RATE
    out.append(
        f"{_units_words(comparison)}; d = difference from {_reference_words(comparison)}; "
        f"effective rate = {rate_words}; location at retirement"
    )
    return "\n".join(out)


def _units_words(comparison: Comparison) -> str:
    """'today's dollars', or for rule sets in several currencies each one's unit: amounts
    are never converted, so a difference across currencies is in mixed units."""
    currencies = {r.rules.name: r.rules.meta.currency for r in comparison.results.values()}
    if len(set(currencies.values())) <= 1:
        code = next(iter(currencies.values()), "USD")
        return localize("today's dollars", code)
    each = ", ".join(f"{name} in {symbol(code).strip()}" for name, code in currencies.items())
    return f"today's money, not converted ({each}; no difference across currencies)"


def _reference_words(comparison: Comparison) -> str:
    """What the differences are measured against: the first rule set, and with states
    the same plan in the first state."""
    first = comparison.rule_sets[0]
    if any(comparison.versus.get(p, p) != p for p in comparison.plans):
        return f"the same plan in the first state under {first}"
    return f"the same plan under {first}"


def _money(value: float, signed: bool = False) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    value = round(value) or 0.0  # whole dollars; no "-0" for a difference that rounds away
    return f"{value:+,.0f}" if signed else f"{value:,.0f}"


def _rate(value: float) -> str:
    if value is None or math.isnan(value):
        return "-"
    return f"{value:.2%}"
