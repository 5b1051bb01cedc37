"""`taxopt compare PLAN [PLAN|FOLDER ...] --rules A --rules B [-o XLSX] [--json FILE]`.

Prints one row per (plan, rule set) in today's dollars. `--time-limit` covers the whole
comparison (each pair stops starting search steps at the deadline and reports its best
plan so far, with a warning); `--progress` (default on a terminal) prints a line as each
pair is done. A pair the optimizer cannot run is a row with its message (and a warning on
stderr); the other pairs are still shown and written. When no pair can run, nothing is
written and the exit status is 2.
"""

from __future__ import annotations

import argparse

from taxopt.cli import add_rule_sets_and_mode
from taxopt.cli.args import inputs_of, integer, output, warn
from taxopt.cli.optimize_cmd import add_run_options

MAX_PROCESSES = 256


def configure(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Optimize each plan under each rule set (in parallel) and compare "
        "spending, estate, lifetime tax, effective rate and asset location. The first "
        "--rules is the reference for the differences."
    )
    parser.add_argument(
        "plans", metavar="PLAN", nargs="+", help="plan file, or a folder of plan files"
    )
    add_rule_sets_and_mode(parser)
    parser.add_argument(
        "--processes",
        type=integer(1, MAX_PROCESSES),
        metavar="N",
        help="worker processes (default: all cores)",
    )
    parser.add_argument(
        "--state",
        action="append",
        metavar="CODE",
        help="US state for state income tax (ca, pa, ...); repeat to compare states: each "
        "plan runs once per state, labelled with it (default: each plan's own state)",
    )
    parser.add_argument("-o", "--output", metavar="XLSX", help="write the comparison workbook")
    parser.add_argument("--json", metavar="FILE", help="write the comparison as JSON")
    add_run_options(parser)
    parser.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from taxopt import progress
    from taxopt.compare import compare, render_table
    from taxopt.errors import TaxoptError
    from taxopt.io import check_outputs, outputs_together

    outputs = [output(args.json, "json", "--json"), output(args.output, "xlsx", "-o")]
    check_outputs(outputs, inputs=inputs_of(*args.plans, *args.rules))
    with progress.watch(args.time_limit, args.progress):
        comparison = compare(
            args.plans, args.rules, mode=args.mode, processes=args.processes, states=args.state
        )
    if not comparison.results:
        reasons = "; ".join(
            f"{plan} under {rules}: {message}"
            for (plan, rules), message in comparison.errors.items()
        )
        written = " (nothing written)" if any(outputs) else ""
        raise TaxoptError(f"no plan could be optimized{written}: {reasons}")
    print(render_table(comparison))
    for (plan, rules), message in comparison.errors.items():
        warn(f"{plan} under {rules}: {message} (shown as an error row)")
    for plan, rules in comparison.time_limited:
        warn(
            f"{plan} under {rules}: the time limit cut the search short; the row is the best "
            "plan found by then (a longer --time-limit may find a better one)"
        )
    with outputs_together():
        if args.json:
            comparison.to_json(args.json)
        if args.output:
            comparison.to_excel(args.output)
    for written in (args.json, args.output):
        if written:
            print(f"wrote {written}")
    return 0
