"""`taxopt rules list|show|validate|diff`: the rule sets as a person reads them.

Rule sets are given by name (`us-federal-2026`, looked up in rules/) or by path.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from taxopt.errors import TaxoptError
from taxopt.rules import RULES_DIR, RuleSet, load_rules
from taxopt.rules_report import (
    diff_as_json,
    diff_rules,
    render_diff,
    render_rules,
    rule_tables,
    rules_as_json,
)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.description = "Tax rule sets: each value with its legal source."
    actions = parser.add_subparsers(dest="rules_action", required=True, metavar="ACTION")

    listing = actions.add_parser("list", help="the rule sets in rules/ (name, title, year)")
    listing.add_argument("--rules-dir", type=Path, default=RULES_DIR, help=argparse.SUPPRESS)
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(handler=list_command)

    show = actions.add_parser("show", help="every table of a rule set with its source")
    show.add_argument("rules", metavar="NAME", help="rule-set name or path of a .toml file")
    show.add_argument("--json", action="store_true", help="print JSON")
    show.set_defaults(handler=show_command)

    validate = actions.add_parser("validate", help="check rule files; exit 2 if any is wrong")
    validate.add_argument("paths", metavar="PATH", nargs="+", help="rule files or names")
    validate.set_defaults(handler=validate_command)

    diff = actions.add_parser("diff", help="every value that differs between two rule sets")
    diff.add_argument("a", metavar="A", help="rule-set name or path")
    diff.add_argument("b", metavar="B", help="rule-set name or path")
    diff.add_argument("--json", action="store_true", help="print JSON")
    diff.set_defaults(handler=diff_command)


def list_command(args: argparse.Namespace) -> int:
    rows = [_list_row(path) for path in sorted(Path(args.rules_dir).glob("*.toml"))]
    if args.json:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return 0
    if not rows:
        print(f"no rule sets in {args.rules_dir}")
        return 0
    headers = {"name": "NAME", "year": "YEAR", "extends": "EXTENDS", "title": "TITLE"}
    table = [headers, *({k: str(r[k] or "-") for k in headers} for r in rows)]
    widths = {k: max(len(row[k]) for row in table) for k in ("name", "year", "extends")}
    for row in table:
        print(
            f"{row['name']:<{widths['name']}}  {row['year']:<{widths['year']}}  "
            f"{row['extends']:<{widths['extends']}}  {row['title']}"
        )
    return 0


def _list_row(path: Path) -> dict:
    try:
        rules = load_rules(path)
    except TaxoptError as exc:
        first = str(exc).splitlines()[0]
        return {"name": path.stem, "title": f"INVALID: {first}", "year": None, "extends": None}
    return {
        "name": rules.name,
        "title": rules.meta.title,
        "year": rules.year,
        "extends": rules.extends,
    }


def show_command(args: argparse.Namespace) -> int:
    rules = load_rules(args.rules)
    print(rules_as_json(rules) if args.json else render_rules(rules))
    return 0


def validate_command(args: argparse.Namespace) -> int:
    failures = 0
    for given in args.paths:
        try:
            rules = load_rules(given)
        except TaxoptError as exc:
            failures += 1
            print(f"taxopt: {exc}", file=sys.stderr)
            continue
        print(f"ok: {given} ({_summary(rules)})")
        problems = rules.optimizer_support_problems()
        if problems:
            print(
                f"  note: the optimizer cannot model this rule set (`taxopt tax` can): "
                f"{'; '.join(problems)}"
            )
    return 2 if failures else 0


def _summary(rules: RuleSet) -> str:
    tables = len([t for t in rule_tables(rules) if t.path not in {"meta", "extends"}])
    extends = f", extends {rules.extends}" if rules.extends else ""
    return f"{rules.name}, year {rules.year}, {tables} tables{extends}"


def diff_command(args: argparse.Namespace) -> int:
    a, b = load_rules(args.a), load_rules(args.b)
    differences = diff_rules(a, b)
    print(diff_as_json(a, b, differences) if args.json else render_diff(a, b, differences))
    return 0
