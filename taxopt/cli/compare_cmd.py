"""`taxopt compare PLAN [PLAN|FOLDER ...] --rules A --rules B [-o XLSX] [--json FILE]`.

Prints one row per (plan, rule set) in today's dollars. A pair the optimizer cannot run is
reported on stderr and makes the exit status 2; the other pairs are still shown and written.
"""

from __future__ import annotations

import argparse
import sys


def configure(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Optimize each plan under each rule set (in parallel) and compare "
        "spending, estate, lifetime tax, effective rate and asset location. The first "
        "--rules is the reference for the differences."
    )
    parser.add_argument(
        "plans", metavar="PLAN", nargs="+", help="plan file, or a folder of plan files"
    )
    parser.add_argument(
        "--rules",
        action="append",
        required=True,
        metavar="NAME",
        help="rule-set name or file; repeat for each rule set (the first is the reference)",
    )
    parser.add_argument("--mode", choices=["fast", "exact"], help="default: each plan's option")
    parser.add_argument(
        "--processes", type=int, metavar="N", help="worker processes (default: all cores)"
    )
    parser.add_argument("-o", "--output", metavar="XLSX", help="write the comparison workbook")
    parser.add_argument("--json", metavar="FILE", help="write the comparison as JSON")
    parser.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from taxopt.compare import compare, render_table

    comparison = compare(args.plans, args.rules, mode=args.mode, processes=args.processes)
    print(render_table(comparison))
    for (plan, rules), message in comparison.errors.items():
        print(f"taxopt: {plan} under {rules}: {message}", file=sys.stderr)
    if args.json:
        comparison.to_json(args.json)
        print(f"wrote {args.json}")
    if args.output:
        comparison.to_excel(args.output)
        print(f"wrote {args.output}")
    return 2 if comparison.errors else 0
