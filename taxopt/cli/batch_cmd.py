"""`taxopt batch INPUT --rules A [--rules B] -o DIR [--template PLAN] [--dask ADDRESS]`.

Every household under every rule set; the results table goes to DIR (results.csv, and
results.parquet with pyarrow), with a journal that lets a re-run resume. Failed households are
listed on stderr and make the exit status 2; the others are still run and written.
"""

from __future__ import annotations

import argparse
import sys

from taxopt.cli import add_rule_sets_and_mode
from taxopt.cli.args import integer

SHOWN_ERRORS = 10
MAX_WORKERS = 1024


def configure(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Optimize every household under every rule set, in parallel processes "
        "or on a Dask cluster, into one results table. INPUT is plan files, a folder of them, "
        "or a household table (CSV, Excel, Parquet) with --template: each column sets one "
        "field of the template by its path, e.g. people.0.birth_year or "
        "accounts.joint_taxable.balances.conservative. Re-running with the same -o skips "
        "the households already done."
    )
    parser.add_argument("inputs", metavar="INPUT", nargs="+", help="plan file, folder or table")
    add_rule_sets_and_mode(parser)
    parser.add_argument("--template", metavar="PLAN", help="the plan a household table fills in")
    parser.add_argument(
        "-o", "--out", required=True, metavar="DIR", help="folder for the results (resumable)"
    )
    parser.add_argument(
        "--no-baselines",
        action="store_true",
        help="skip the rules of thumb (faster; no gain columns)",
    )
    engine = parser.add_mutually_exclusive_group()
    engine.add_argument(
        "--workers",
        type=integer(1, MAX_WORKERS),
        metavar="N",
        help="local worker processes (default: all cores)",
    )
    engine.add_argument(
        "--dask",
        metavar="ADDRESS",
        help="run on a dask.distributed scheduler (tcp://host:8786), or local:N for N local "
        "worker processes",
    )
    parser.add_argument(
        "--json", action="store_true", help="also write DIR/households/<household>__<rules>.json"
    )
    parser.add_argument(
        "--workbooks", action="store_true", help="also write each household's workbook (.xlsx)"
    )
    parser.add_argument("--summary", action="store_true", help="write DIR/summary.xlsx")
    progress = parser.add_mutually_exclusive_group()
    progress.add_argument("--progress", action="store_true", default=None, help="always show it")
    progress.add_argument("--quiet", dest="progress", action="store_false", help="no progress line")
    parser.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from taxopt.batching import batch
    from taxopt.batching.store import has_parquet

    inputs = args.inputs[0] if len(args.inputs) == 1 else args.inputs
    try:
        table = _batch(batch, inputs, args)
    except KeyboardInterrupt:
        print(
            f"taxopt: interrupted; the households done so far are kept in {args.out} "
            "(results.csv); run the same command again to finish the rest",
            file=sys.stderr,
        )
        return 130
    print(render_counts(table))
    failed = table[table["status"] != "ok"]
    for row in failed.head(SHOWN_ERRORS).itertuples():
        print(f"taxopt: {row.household} under {row.rules}: {row.error}", file=sys.stderr)
    if len(failed) > SHOWN_ERRORS:
        print(f"taxopt: ... and {len(failed) - SHOWN_ERRORS} more in the results", file=sys.stderr)
    written = ["results.csv", *(["results.parquet"] if has_parquet() else [])]
    written += ["summary.xlsx"] if args.summary else []
    print(f"wrote {', '.join(written)} in {args.out}")
    if not has_parquet():
        print("taxopt: results.parquet needs pyarrow: pip install 'taxopt[batch]'", file=sys.stderr)
    return 2 if len(failed) else 0


def _batch(batch, inputs, args: argparse.Namespace):
    """taxopt.batch with the command's options."""
    return batch(
        inputs,
        args.rules,
        template=args.template,
        out=args.out,
        mode=args.mode,
        baselines=not args.no_baselines,
        workers=args.workers,
        dask=args.dask,
        json=args.json,
        workbooks=args.workbooks,
        summary=args.summary,
        progress=args.progress,
    )


def render_counts(table) -> str:
    """One line per rule set: households run, failed, median spending and lifetime tax."""
    lines = [
        f"{_count(table['household'].nunique(), 'household')} x "
        f"{_count(table['rules'].nunique(), 'rule set')}: "
        f"{table.attrs.get('computed', 0)} run now, {table.attrs.get('reused', 0)} already done"
    ]
    for rules in dict.fromkeys(table["rules"]):
        mine = table[table["rules"] == rules]
        ok = mine[mine["status"] == "ok"]
        lines.append(
            f"  {rules}: {len(ok)} ok, {len(mine) - len(ok)} failed; median spending "
            f"{_money(ok['sustainable_spending'].median())}/yr, median lifetime tax "
            f"{_money(ok['lifetime_tax'].median())} (today's dollars)"
        )
    return "\n".join(lines)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _money(value: float) -> str:
    return "-" if value != value else f"{value:,.0f}"
