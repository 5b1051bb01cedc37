"""`taxopt optimize PLAN --rules NAME [--json FILE] [-o plan.xlsx]`."""

from __future__ import annotations

import argparse

from taxopt.cli.args import inputs_of, integer, number, output
from taxopt.currency import localize
from taxopt.stress import DEFAULT_PATHS, DEFAULT_SEED, DEFAULT_TARGET

MAX_SCENARIOS = 1024  # taxopt.scenarios.MAX_SCENARIOS (not imported: startup time)
VALIDATION_PATHS = 2000  # taxopt.scenarios.VALIDATION_PATHS (likewise)
CANDIDATES = 3  # taxopt.scenarios.DEFAULT_CANDIDATES (likewise)
MAX_CANDIDATES = 64  # taxopt.scenarios.MAX_CANDIDATES (likewise)

MAX_SECONDS = 7 * 24 * 3600.0  # a week: more is a typo, not a plan
MAX_STRESS_PATHS = 10_000_000  # the memory budget (taxopt.validation) usually binds first
MAX_SEED = 2**32 - 1


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("plan", help="plan file (.toml or .json)")
    parser.add_argument("--rules", default="us-federal-2026", help="rule set name or file")
    parser.add_argument(
        "--state",
        help="US state for state income tax (ca, ny, pa, ...): overrides the plan's `state`",
    )
    parser.add_argument("--mode", choices=["exact", "fast"], help="default: the plan's option")
    parser.add_argument(
        "--mip-seconds",
        type=number(0, MAX_SECONDS, "seconds"),
        default=None,
        help="exact mode: also run the full MILP from the regime solution for this long",
    )
    parser.add_argument(
        "--thorough",
        action="store_true",
        help="exact mode: search from two starting plans and keep the better (about 2x time)",
    )
    add_run_options(parser)
    parser.add_argument("--solver", choices=["highs", "cbc"], help="default: the plan's option")
    parser.add_argument("--json", metavar="FILE", help="write the result as JSON (.json)")
    parser.add_argument("-o", "--output", metavar="XLSX", help="write the advisor's workbook")
    parser.add_argument("--lp", metavar="FILE", help="write the model as a readable LP file")
    parser.add_argument("--no-baselines", action="store_true", help="skip the rules of thumb")
    parser.add_argument(
        "--success",
        type=number(0.01, 1),
        default=DEFAULT_TARGET,
        metavar="P",
        help=f"share of stress paths the safe spending must meet (default {DEFAULT_TARGET})",
    )
    parser.add_argument(
        "--paths",
        type=integer(0, MAX_STRESS_PATHS),
        default=DEFAULT_PATHS,
        metavar="N",
        help=f"lognormal return paths of the stress test (default {DEFAULT_PATHS}; 0 skips it)",
    )
    parser.add_argument(
        "--seed",
        type=integer(0, MAX_SEED),
        default=DEFAULT_SEED,
        help="stress paths' random seed (default 0)",
    )
    parser.add_argument(
        "--scenarios",
        type=integer(0, MAX_SCENARIOS),
        default=0,
        metavar="N",
        help="choose this year's decisions against N return paths on a scenario tree "
        "(seeded by --seed; CVaR of the spending met on --success of them); 0: one path",
    )
    parser.add_argument(
        "--branch-every",
        type=integer(1, 100),
        default=None,
        metavar="K",
        help="with --scenarios: the tree also branches every K years (default: only in "
        "the first year)",
    )
    parser.add_argument(
        "--validation-paths",
        type=integer(0, 100_000),
        default=VALIDATION_PATHS,
        metavar="V",
        help="with --scenarios (max_spending): replay the scenario plan and the "
        "deterministic plan on V validation paths; the scenario plan is kept only if its "
        "safe spending at --success is higher by more than 0.5%% "
        f"(default {VALIDATION_PATHS}; 0: keep the scenario plan)",
    )
    parser.add_argument(
        "--candidates",
        type=integer(1, MAX_CANDIDATES),
        default=CANDIDATES,
        metavar="K",
        help="with --scenarios and validation: solve K scenario trees (each from its own "
        "seed stream of --seed), replay all on the validation paths and keep the best "
        f"(default {CANDIDATES}; each costs about one scenario solve and one re-plan)",
    )
    parser.add_argument(
        "--explain",
        action="store_true",
        help="say why: the marginal values of the plan's rooms, from the final LP's duals "
        "(the workbook's 'Why this plan' sheet is written with -o either way)",
    )
    parser.set_defaults(handler=_run)


def add_run_options(parser: argparse.ArgumentParser) -> None:
    """--time-limit and progress switches, shared by the commands that optimize."""
    parser.add_argument(
        "--time-limit",
        type=number(1, MAX_SECONDS, "seconds"),
        default=None,
        metavar="SECONDS",
        help="start no search step after this many seconds; the best plan found so far is "
        "reported, with a warning",
    )
    shown = parser.add_mutually_exclusive_group()
    shown.add_argument(
        "--progress",
        dest="progress",
        action="store_const",
        const=True,
        default=None,
        help="a line on stderr per search step (default: when stderr is a terminal)",
    )
    shown.add_argument(
        "--quiet", dest="progress", action="store_const", const=False, help="no progress lines"
    )


def _run(args: argparse.Namespace) -> int:
    from taxopt import progress
    from taxopt.io import check_outputs, outputs_together
    from taxopt.optimize import optimize
    from taxopt.plan import load_plan
    from taxopt.rules import load_rules

    outputs = [
        output(args.json, "json", "--json"),
        output(args.output, "xlsx", "-o"),
        output(args.lp, "lp", "--lp"),
    ]
    check_outputs(outputs, inputs=inputs_of(args.plan, args.rules))
    plan = load_plan(args.plan)
    if args.state is not None:
        plan = plan.with_state(args.state)
    rules = load_rules(args.rules)
    plan.check_against(rules, source=args.plan)
    with progress.watch(args.time_limit, args.progress):
        result = optimize(
            plan,
            rules,
            mode=args.mode,
            mip_seconds=args.mip_seconds,
            solver=args.solver,
            with_baselines=not args.no_baselines,
            lp_path=args.lp,
            thorough=args.thorough,
            paths=args.paths,
            success=args.success,
            seed=args.seed,
            explain=args.explain or bool(args.output),
            scenarios=args.scenarios,
            branch_every=args.branch_every,
            validation_paths=args.validation_paths,
            candidates=args.candidates,
        )
    with outputs_together():
        if args.json:
            result.to_json(args.json)
        if args.output:
            result.to_excel(args.output)
    print(summary_text(result))
    if args.explain:
        print(explain_text(result))
    for written in (args.json, args.output, args.lp):
        if written:
            print(f"wrote {written}")
    return 0


def _premium_kinds(result) -> str:
    """What the lifetime premiums hold: Medicare IRMAA, marketplace net of the credit."""
    ledger = result.ledger
    kinds = []
    if ledger.lifetime_irmaa_real > 0:
        paid = "" if result.plan.options.irmaa else ", not paid in spending: options.irmaa"
        kinds.append(f"Medicare IRMAA ${ledger.lifetime_irmaa_real:,.0f}{paid}")
    if ledger.lifetime_marketplace_real > 0:
        kinds.append(
            f"marketplace net of the premium tax credit ${ledger.lifetime_marketplace_real:,.0f}"
        )
    return "; ".join(kinds)


def summary_text(result) -> str:
    f = result.figures
    growth = ", ".join(f"{tier} {r:+.2%}" for tier, r in result.tier_returns.items())
    lines = [
        f"{result.plan.name} under {result.rules.name} ({result.mode} mode, {result.method}, "
        f"{result.status})",
        f"  built on {result.return_basis} returns a year: {growth}",
        f"  spending rule: {result.spending_rule}",
        _spending_line(result),
        *_stress_lines(result.stress),
        *_scenario_lines(result.scenarios),
        f"  after-tax estate at {result.plan.end_year}: ${f.after_tax_estate:,.0f} "
        "(today's dollars)",
        *([f"    {result.rules.meta.estate_note}"] if result.rules.meta.estate_note else []),
        f"  lifetime tax: ${f.lifetime_tax_pv:,.0f} present value at {f.discount_rate:.2%} a year "
        f"(the {result.plan.safe_tier.name} tier's return); ${f.lifetime_tax:,.0f} as a sum in "
        "today's dollars",
        *(
            [
                f"  lifetime cost: ${f.lifetime_cost:,.0f} (today's dollars): the tax and "
                f"${f.lifetime_premiums:,.0f} of premiums ({_premium_kinds(result)})"
            ]
            if f.lifetime_premiums > 0
            else []
        ),
        f"  model vs ledger: largest yearly difference ${result.reconciliation_max_abs_error:,.2f}"
        + _bound_note(result),
        f"  build {result.build_seconds:.2f} s, solve {result.solve_seconds:.2f} s"
        + (f", stress {result.stress.seconds:.2f} s" if result.stress else ""),
    ]
    if result.baselines:
        table = result.baselines_table
        lines.append(
            "  value of the plan against simple rules (today's dollars; tax saved at present "
            "value):"
        )
        for name in result.baselines:
            row = table.loc[name]
            lines.append(
                f"    vs {name}: spending {_signed(row['gain_in_sustainable_spending'])}/yr, "
                f"estate {_signed(row['gain_in_after_tax_estate'])}, "
                f"{_tax_difference(row['tax_saved_pv'])}"
            )
    for note in result.notes:
        lines.append(f"  note: {note}")
    for warning in result.warnings:
        lines.append(f"  warning: {warning}")
    return localize("\n".join(lines), result.rules.meta.currency)


def explain_text(result) -> str:
    """The --explain block: the largest marginal values in words (taxopt.explain)."""
    from taxopt.explain import explain_lines

    lines = explain_lines(result.shadow_prices, result.plan.retirement_year)
    if not lines:
        return "  why: no marginal values (see the notes)"
    term = result.shadow_prices["objective"].iloc[0]
    head = (
        f"  why this plan (marginal values from the final LP's duals, today's dollars of {term}; "
        "all of them: result.shadow_prices, JSON shadow_prices):"
    )
    text = "\n".join([head, *(f"    {line}" for line in lines)])
    return localize(text, result.rules.meta.currency)


def _bound_note(result) -> str:
    """How far the plan may be from the best possible: the LP relaxation's bound."""
    bound, objective = result.objective_bound, result.objective
    if bound is None or objective is None:
        return ""
    side = "below" if result.plan.objective.kind == "min_tax" else "above"
    return f"; objective {objective:,.2f}, no plan {side} {bound:,.2f} (LP relaxation)"


def _spending_line(result) -> str:
    """The headline: a scenario plan's is the level every retirement year keeps."""
    f = result.figures
    if result.scenarios is None:
        return (
            f"  sustainable spending, first retirement year: ${f.sustainable_spending:,.0f} "
            "(today's dollars, after tax)"
        )
    first = (
        f"; the first year spends ${f.first_year_spending:,.0f}"
        if f.first_year_spending is not None
        else ""
    )
    return (
        f"  sustained spending, every retirement year: ${f.sustainable_spending:,.0f} "
        f"(today's dollars, after tax; the level the re-plan keeps on the median path{first})"
    )


def _stress_lines(stress) -> list[str]:
    if stress is None:
        return []
    lines = [
        f"  on {stress.paths:,} random return paths (seed {stress.seed}): the headline is met "
        f"every year on {stress.success_rate:.1%} of them; safe spending "
        f"${stress.safe_spending:,.0f}/yr is met on {stress.target:.0%} "
        f"(to ${stress.tolerance:,.0f})"
    ]
    if stress.spread:
        lines.append(
            "    the constant spending each path sustains, by percentile of the paths: "
            + ", ".join(f"{p}th ${v:,.0f}" for p, v in stress.spread.items())
        )
    return lines


def _scenario_lines(solved) -> list[str]:
    """The scenario model's spread: percentiles across its scenarios (today's dollars)."""
    if solved is None:
        return []
    table = solved.table().set_index("percentile")
    lines = [
        f"  scenarios: {solved.tree.describe()}; {solved.rows:,} rows x {solved.columns:,} "
        f"columns, build {solved.build_seconds:.1f} s, solve {solved.solve_seconds:.1f} s",
        *(
            [
                f"  validation ({solved.validation_paths:,} paths, safe spending at "
                f"{solved.target:.0%}): "
                + ", ".join(f"{k} ${v:,.0f}" for k, v in solved.validation.items())
                + f"; kept: {solved.chosen}"
            ]
            if solved.validation
            else []
        ),
        "    percentile   lowest spending/yr   after-tax estate   lifetime tax",
    ]
    for p, row in table.iterrows():
        label = f"{p}th" if p != "mean" else "mean"
        lines.append(
            f"    {label:>10}   ${row['sustained_spending']:>17,.0f}   "
            f"${row['after_tax_estate']:>15,.0f}   ${row['lifetime_tax']:>11,.0f}"
        )
    return lines


def _signed(dollars: float) -> str:
    """Whole dollars with a sign; a difference that rounds to nothing is "+0", not "-0"."""
    return f"{round(dollars) + 0:+,}"


def _tax_difference(saved: float) -> str:
    """ "$20,000 less tax" / "$3,678 more tax" / "the same tax": no sign to misread."""
    dollars = round(saved) + 0
    if dollars == 0:
        return "the same tax"
    return f"${abs(dollars):,} {'less' if dollars > 0 else 'more'} tax"
