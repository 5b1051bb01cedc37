"""The `taxopt` command: a thin layer over the Python API.

Each subcommand lives in its own module with a `register(subparsers)` function that adds
its parser and sets `handler`. A user's mistake (TaxoptError) prints one clear message and
exits with status 2; nothing else is caught.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from taxopt.errors import InfeasiblePlanError, TaxoptError

SUBCOMMAND_MODULES = [
    "taxopt.cli.rules_cmd",
    "taxopt.cli.tax_cmd",
    "taxopt.cli.project_cmd",
    "taxopt.cli.plan_cmd",
    "taxopt.cli.optimize_cmd",
    "taxopt.cli.compare_cmd",
    "taxopt.cli.simulate_cmd",
    "taxopt.cli.batch_cmd",
]


def add_rule_sets_and_mode(parser: argparse.ArgumentParser) -> None:
    """--rules (repeatable; the first is the reference) and --mode, for commands that run
    plans under several rule sets."""
    parser.add_argument(
        "--rules",
        action="append",
        required=True,
        metavar="NAME",
        help="rule-set name or file; repeat for each rule set (the first is the reference)",
    )
    parser.add_argument("--mode", choices=["fast", "exact"], help="default: each plan's option")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="taxopt",
        description="Tax-aware asset location, contributions and withdrawals for index portfolios.",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module_name in SUBCOMMAND_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:  # subcommand not built yet
                continue
            raise
        module.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except InfeasiblePlanError as exc:
        print(f"taxopt: infeasible plan: {exc}", file=sys.stderr)
        return 3
    except TaxoptError as exc:
        print(f"taxopt: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into `head` and the like
        return 0


if __name__ == "__main__":
    sys.exit(main())
