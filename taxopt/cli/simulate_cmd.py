"""`taxopt simulate PLAN --rules NAME --paths N --seed S --returns MODEL --withdrawal RULE`."""

from __future__ import annotations

import argparse

from taxopt.cli.args import inputs_of, integer, number, output
from taxopt.cli.optimize_cmd import add_run_options
from taxopt.currency import localize
from taxopt.errors import InputError
from taxopt.returns import RETURN_MODELS, SCENARIOS
from taxopt.simulate import WITHDRAWAL_RULES, Simulation

MAX_PATHS = 100_000_000  # the memory budget (taxopt.validation) usually binds first
MAX_SEED = 2**32 - 1
MAX_BLOCK_YEARS = 100


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("plan", help="plan file (.toml or .json)")
    parser.add_argument("--rules", default="us-federal-2026", help="rule set name or file")
    parser.add_argument(
        "--paths",
        type=integer(1, MAX_PATHS),
        default=1000,
        help="return paths (default 1000; refused above what fits a 4 GB memory budget)",
    )
    parser.add_argument(
        "--seed", type=integer(0, MAX_SEED), default=0, help="random seed (default 0)"
    )
    parser.add_argument("--returns", choices=RETURN_MODELS, default="lognormal")
    parser.add_argument(
        "--scenario",
        choices=list(SCENARIOS),
        default="sober",
        help="regime magnitudes: sober (the plan's means and volatilities) or guide "
        "(the investing guide's +100..300%% bull / -50..-80%% bear years)",
    )
    parser.add_argument("--returns-csv", metavar="FILE", help="bootstrap: annual returns CSV")
    parser.add_argument(
        "--block-years",
        type=integer(1, MAX_BLOCK_YEARS),
        default=1,
        help="bootstrap: years per resampled block",
    )
    parser.add_argument(
        "--correlation",
        type=number(-1, 1),
        default=None,
        help="correlation of the risky tiers' log returns (default 0.8; reserve 0)",
    )
    parser.add_argument(
        "--withdrawal",
        choices=list(WITHDRAWAL_RULES),
        default="fixed",
        help="fixed: the optimized plan's own spending (default)",
    )
    parser.add_argument(
        "--compare",
        action="store_true",
        help="also run every withdrawal rule on the same paths (always done with -o)",
    )
    parser.add_argument("--mode", choices=["exact", "fast"], help="optimizer mode")
    parser.add_argument("--no-baselines", action="store_true", help="skip the rules of thumb")
    parser.add_argument("-o", "--output", metavar="XLSX", help="plan workbook + stress sheet")
    parser.add_argument("--json", metavar="FILE", help="write the figures as JSON")
    add_run_options(parser)
    parser.set_defaults(handler=_run)


def _return_options(args: argparse.Namespace) -> dict:
    options: dict = {}
    if args.correlation is not None:
        if args.returns == "bootstrap":
            raise InputError("--correlation does not apply to --returns bootstrap (the CSV's own)")
        options["correlation"] = args.correlation
    if args.returns == "regime":
        options["scenario"] = args.scenario
    if args.returns == "bootstrap":
        if not args.returns_csv:
            raise InputError("--returns bootstrap needs --returns-csv FILE (year,<tier>,...)")
        options.update(path=args.returns_csv, block_years=args.block_years)
    elif args.returns_csv:
        raise InputError("--returns-csv is for --returns bootstrap; add that or drop the file")
    return options


def _run(args: argparse.Namespace) -> int:
    from taxopt import progress
    from taxopt.io import check_outputs, outputs_together, write_json
    from taxopt.optimize import optimize
    from taxopt.plan import load_plan
    from taxopt.rules import load_rules
    from taxopt.simulate import simulate
    from taxopt.validation import check_simulation_size

    outputs = [output(args.json, "json", "--json"), output(args.output, "xlsx", "-o")]
    check_outputs(outputs, inputs=inputs_of(args.plan, args.rules, args.returns_csv))
    options = _return_options(args)
    plan = load_plan(args.plan)
    rules = load_rules(args.rules)
    plan.check_against(rules, source=args.plan)
    compare = bool(args.compare or args.output)
    check_simulation_size(
        args.paths, len(plan.years), len(plan.tiers), len(plan.accounts), compare, "--paths"
    )
    with progress.watch(args.time_limit, args.progress):
        # The stress test here is the command itself: no stress pass inside optimize.
        result = optimize(
            plan, rules, mode=args.mode, with_baselines=not args.no_baselines, paths=0
        )
        progress.step(f"simulating {args.paths:,} paths")
        sim = simulate(
            result,
            paths=args.paths,
            seed=args.seed,
            returns=args.returns,
            withdrawal=args.withdrawal,
            progress=args.progress,
            **options,
        )
    summary = [sim.summary()]
    if compare:
        summary.append(comparison_text(sim))
    with outputs_together():
        if args.json:
            write_json(args.json, figures(sim, compare=compare))
        if args.output:
            from taxopt.report.excel import write_plan_workbook
            from taxopt.report.stress_sheet import add_stress_sheet

            write_plan_workbook(result, args.output, extend=lambda wb: add_stress_sheet(wb, sim))
    print(localize("\n".join(summary), rules.meta.currency))
    for written in (args.json, args.output):
        if written:
            print(f"wrote {written}")
    return 0


def comparison_text(sim: Simulation) -> str:
    table = sim.compare_rules()
    lines = ["  withdrawal rules on the same paths (retirement years, today's dollars):"]
    for name, row in table.iterrows():
        lines.append(
            f"    {name:<11} success {row['success_rate']:6.1%}  median spending "
            f"${row['median_spending_real']:>11,.0f}  median final wealth "
            f"${row['median_final_wealth_real']:>13,.0f}"
        )
    return "\n".join(lines)


def figures(sim: Simulation, compare: bool) -> dict:
    """The simulation's figures as plain data (today's dollars)."""
    out = {
        "plan": sim.policy.plan.name,
        "rules": sim.policy.rules.name,
        "paths": sim.paths,
        "seed": sim.seed,
        "returns": sim.returns_model,
        "withdrawal": sim.rule.describe(),
        "success_rate": sim.success_rate,
        "sequence_risk": sim.sequence_risk,
        "percentiles": sim.percentiles.reset_index().to_dict(orient="records"),
        "worst_paths": sim.worst_paths.to_dict(orient="records"),
        "units": "today's dollars (plan start year); spending after tax",
        "seconds": sim.seconds,
    }
    if compare:
        out["rules_compared"] = sim.compare_rules().reset_index().to_dict(orient="records")
    return out
