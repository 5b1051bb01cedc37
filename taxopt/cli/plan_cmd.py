"""`taxopt plan schema | validate`: the plan file's JSON Schema, and checking a plan file."""

from __future__ import annotations

import argparse
import json
import sys


def configure(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="plan_command", required=True, metavar="ACTION")
    schema = actions.add_parser("schema", help="print the plan file's JSON Schema")
    schema.set_defaults(handler=_schema)
    validate = actions.add_parser("validate", help="check plan files against a rule set")
    validate.add_argument("paths", nargs="+", help="plan files (.toml or .json)")
    validate.add_argument("--rules", default="us-federal-2026", help="rule set name or file")
    validate.set_defaults(handler=_validate)


def _schema(args: argparse.Namespace) -> int:
    from taxopt.plan import plan_json_schema

    print(json.dumps(plan_json_schema(), indent=2))
    return 0


def _validate(args: argparse.Namespace) -> int:
    from taxopt.plan import load_plan
    from taxopt.rules import load_rules
    from taxopt.validation import plan_warnings

    rules = load_rules(args.rules)
    for path in args.paths:
        plan = load_plan(path)
        plan.check_against(rules, source=path)
        for warning in plan_warnings(plan, rules):
            print(f"taxopt: warning: {path}: {warning}", file=sys.stderr)
        print(
            f"ok: {path}: {plan.name}, {len(plan.people)} people, {len(plan.accounts)} accounts, "
            f"{plan.start_year}-{plan.end_year}, retirement {plan.retirement_year}"
        )
    return 0
