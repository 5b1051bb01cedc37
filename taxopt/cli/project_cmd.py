"""`taxopt project`: grow an initial sum plus monthly contributions at a constant return."""

from __future__ import annotations

import argparse
import sys

from taxopt.io import json_text
from taxopt.project import (
    COMPOUNDINGS,
    RATE_KINDS,
    TIMINGS,
    Projection,
    project,
    validate_inputs,
)

# Option names used in error messages, so a user sees the flag to fix.
OPTION_LABELS = {
    "initial": "--initial",
    "monthly": "--monthly",
    "annual_return": "--annual-return",
    "years": "--years",
    "contribution_growth": "--contribution-growth",
    "rate_kind": "--rate-kind",
    "timing": "--timing",
    "compounding": "--compounding",
}

# Above this an "annual return" is almost surely a percentage typed as a number (50 for 50%).
SUSPICIOUS_RETURN = 3.0


def configure(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Future value of an initial sum plus monthly contributions at a constant annual "
        "return, under a stated compounding convention. Amounts in currency units; rates "
        "are fractions (0.07 = 7%)."
    )
    parser.add_argument("--initial", type=float, default=0.0, help="starting balance (>= 0)")
    parser.add_argument("--monthly", type=float, default=0.0, help="monthly contribution (>= 0)")
    parser.add_argument(
        "--annual-return",
        type=float,
        required=True,
        help="constant annual return as a fraction, above -1 (0.07 = 7%%)",
    )
    parser.add_argument("--years", type=float, required=True, help="whole years (>= 0)")
    parser.add_argument(
        "--rate-kind",
        choices=RATE_KINDS,
        default="effective",
        help=(
            "effective (default): a full year earns exactly the annual return, monthly rate "
            "(1+r)^(1/12)-1; nominal: monthly rate r/12"
        ),
    )
    parser.add_argument(
        "--timing",
        choices=TIMINGS,
        default="end",
        help="contributions at the end (default) or the start of each month",
    )
    parser.add_argument(
        "--compounding",
        choices=COMPOUNDINGS,
        default="monthly",
        help="monthly (default), or annual: 12 x the monthly amount paid once a year",
    )
    parser.add_argument(
        "--contribution-growth",
        type=float,
        default=0.0,
        help="yearly rise of the monthly contribution as a fraction (0.03 = 3%% a year)",
    )
    parser.add_argument(
        "--withdraw-gains",
        action="store_true",
        help="pay gains out at each year end instead of reinvesting them (simple interest)",
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    years = validate_inputs(
        args.initial,
        args.monthly,
        args.annual_return,
        args.years,
        args.rate_kind,
        args.timing,
        args.contribution_growth,
        args.compounding,
        labels=OPTION_LABELS,
    )
    if args.annual_return > SUSPICIOUS_RETURN:
        print(
            f"taxopt: note: --annual-return {args.annual_return:g} means "
            f"{args.annual_return * 100:g}% a year; rates are fractions (0.5 = 50%).",
            file=sys.stderr,
        )
    result = project(
        args.initial,
        args.monthly,
        args.annual_return,
        years,
        rate_kind=args.rate_kind,
        timing=args.timing,
        contribution_growth=args.contribution_growth,
        withdraw_gains=args.withdraw_gains,
        compounding=args.compounding,
    )
    if args.json:
        print(json_text(result.to_dict()), end="")
    else:
        print(format_table(result))
    return 0


def format_table(result: Projection) -> str:
    """A readable yearly table with totals, amounts rounded to whole currency units."""
    show_withdrawn = result.withdraw_gains
    headers = ["year", "start", "contributions", "growth"]
    headers += ["withdrawn"] if show_withdrawn else []
    headers += ["end"]
    rows = []
    for row in result.yearly:
        cells = [str(row["year"])]
        cells += [f"{row[k]:,.0f}" for k in ("start_value", "contributions", "growth")]
        cells += [f"{row['withdrawn']:,.0f}"] if show_withdrawn else []
        cells += [f"{row['end_value']:,.0f}"]
        rows.append(cells)
    widths = [
        max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)
    ]
    lines = [result.convention, ""]
    lines.append("  ".join(h.rjust(w) for h, w in zip(headers, widths, strict=True)))
    lines += ["  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    lines.append("")
    lines.append(f"initial            {result.initial:>16,.2f}")
    lines.append(f"total contributed  {result.total_contributed:>16,.2f}")
    lines.append(f"growth             {result.growth:>16,.2f}")
    if show_withdrawn:
        lines.append(f"gains withdrawn    {result.total_withdrawn:>16,.2f}")
    lines.append(f"final value        {result.final_value:>16,.2f}")
    return "\n".join(lines)
