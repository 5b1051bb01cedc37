"""The `taxopt` command: a thin layer over the Python API.

Each subcommand lives in its own module with a `configure(parser)` function that adds its
arguments and sets `handler`; COMMANDS names the module and the one-line help. Only the
module of the command being run is imported (the others appear in `taxopt --help` by
their help line), and each module imports the solver, pandas or the Excel library only
inside the handler that needs them: `taxopt --help` and `taxopt tax` start in a fraction
of a second. (A module with the older `register(subparsers)`, which adds its own parser,
still works.)

A user's mistake (TaxoptError) prints one clear message and exits with status 2; nothing
else is caught.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import sys

from taxopt.cli.args import Parser
from taxopt.errors import InfeasiblePlanError, TaxoptError

# command -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "rules": ("taxopt.cli.rules_cmd", "list, show, validate and compare tax rule sets"),
    "tax": (
        "taxopt.cli.tax_cmd",
        "compute one year's tax for a household, or for a CSV of households",
    ),
    "project": (
        "taxopt.cli.project_cmd",
        "future value of an initial sum plus monthly contributions",
    ),
    "plan": ("taxopt.cli.plan_cmd", "plan files: JSON Schema and validation"),
    "optimize": (
        "taxopt.cli.optimize_cmd",
        "optimize asset location, contributions and withdrawals for a plan",
    ),
    "compare": (
        "taxopt.cli.compare_cmd",
        "optimize plans under several rule sets and show the figures side by side",
    ),
    "simulate": (
        "taxopt.cli.simulate_cmd",
        "stress-test the optimized plan on many return paths and withdrawal rules",
    ),
    "batch": (
        "taxopt.cli.batch_cmd",
        "optimize many households (plan files or a table) under one or more rule sets",
    ),
}


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


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The parser, with the arguments of the command `argv` names (all commands if None)."""
    parser = Parser(
        prog="taxopt",
        description="Tax-aware asset location, contributions and withdrawals for index portfolios.",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    chosen = _command_named(argv) if argv is not None else None
    for name, (module_name, help_text) in COMMANDS.items():
        if argv is not None and name != chosen:
            subparsers.add_parser(name, help=help_text, description=help_text)
            continue
        module = importlib.import_module(module_name)
        if hasattr(module, "configure"):
            module.configure(subparsers.add_parser(name, help=help_text, description=help_text))
        else:  # a module with the older `register(subparsers)`, which adds its own parser
            module.register(subparsers)
    return parser


def _command_named(argv: list[str]) -> str | None:
    """The subcommand in `argv`: its first argument that is not an option."""
    for arg in argv:
        if not arg.startswith("-"):
            return arg if arg in COMMANDS else None
    return None


# Allocations between young-generation garbage collections for a command run from the shell
# (Python's default is 700): a run builds PuLP models of a few hundred thousand objects, and
# collecting every 700 of them took about 6% of `taxopt optimize`; at 50,000 about 2%, with
# the same peak memory (measured on the couple example). Figures do not depend on it.
COMMAND_GC_THRESHOLD = 50_000


def main(argv: list[str] | None = None) -> int:
    if argv is None:  # the `taxopt` command itself, not a caller's process (tests, scripts)
        gc.set_threshold(COMMAND_GC_THRESHOLD, *gc.get_threshold()[1:])
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(argv)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, or a usage error already printed on one line
        return exc.code if isinstance(exc.code, int) else 2
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
