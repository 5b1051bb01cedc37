"""`taxopt simulate PLAN --rules NAME --paths N --seed S --returns MODEL --withdrawal RULE`."""

from __future__ import annotations

import argparse

from taxopt.errors import InputError
from taxopt.io import write_json
from taxopt.optimize import optimize
from taxopt.plan import load_plan
from taxopt.returns import RETURN_MODELS, SCENARIOS
from taxopt.rules import load_rules
from taxopt.simulate import WITHDRAWAL_RULES, Simulation, simulate


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("plan", help="plan file (.toml or .json)")
    parser.add_argument("--rules", default="us-federal-2026", help="rule set name or file")
    parser.add_argument("--paths", type=int, default=1000, help="return paths (default 1000)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
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
        "--block-years", type=int, default=1, help="bootstrap: years per resampled block"
    )
    parser.add_argument(
        "--correlation",
        type=float,
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
    parser.add_argument("--progress", action="store_true", help="progress bar on stderr")
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
    if args.paths < 1:
        raise InputError(f"--paths {args.paths}: simulate at least 1 path")
    options = _return_options(args)
    plan = load_plan(args.plan)
    rules = load_rules(args.rules)
    plan.check_against(rules, source=args.plan)
    result = optimize(plan, rules, mode=args.mode, with_baselines=not args.no_baselines)
    sim = simulate(
        result,
        paths=args.paths,
        seed=args.seed,
        returns=args.returns,
        withdrawal=args.withdrawal,
        progress=True if args.progress else None,
        **options,
    )
    print(sim.summary())
    if args.compare or args.output:
        print(comparison_text(sim))
    if args.json:
        write_json(args.json, figures(sim, compare=bool(args.compare or args.output)))
        print(f"wrote {args.json}")
    if args.output:
        from taxopt.report.excel import write_plan_workbook
        from taxopt.report.stress_sheet import add_stress_sheet

        write_plan_workbook(result, args.output, extend=lambda wb: add_stress_sheet(wb, sim))
        print(f"wrote {args.output}")
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
