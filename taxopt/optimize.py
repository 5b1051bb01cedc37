"""optimize(plan, rules) -> Result: build, solve, read the decisions, replay them in the ledger.

Exact mode finds its solution in steps, each one solved by HiGHS:
1. a starting plan: the exact model's LP relaxation (binaries between 0 and 1), solved to a
   looser tolerance since only its kinks' sides matter; its objective bounds every plan;
2. the ledger's true taxes of that plan say, for each kink, which side each year is on
   (the "regime"); the exact model with its binaries fixed to that regime is an LP whose
   taxes are exact (with `thorough`, repeated from each new plan while it improves);
3. unless that plan is within 0.02% of the bound, the search goes on as with `thorough`:
   more regime rounds, then the same from a second start, the fast LP's plan (convex
   approximations of the kinks), keeping the better plan;
3b. cliffs a regime search never leaves once crossed: each crossed IRMAA tier is stepped
   back one rung (`step_back_cliffs`); with the premium tax credit's bands and cliff (many
   regions a year), one MILP with every binary of their years free and the other kinks
   fixed to that plan's regime, polished by the regime search (`_free_kinks`);
4. with `mip_seconds`, the full MILP started from that solution may improve it; its answer
   is re-solved as a regime LP so its taxes are exact too.
If no regime LP is feasible, the MILP is the fallback.
5. the rules of thumb (taxopt.baselines) are replayed against the plan; if one of them
   does better on the plan's objective, the regime search restarts from that rule's own
   decisions and the better plan is kept (`hold_against_baselines`).
The result's `method` says which step produced the final plan. Inside
`taxopt.progress.watch` each step prints a line and, once the time limit has passed, no
step starts but the one that gives the first plan (no netting re-solve, no stress test:
a note says so). A solve cut by the limit is a plan only if HiGHS holds a feasible point
(a MILP's incumbent); an LP stopped midway is not one, and with no plan the run stops
with an error asking for a longer limit.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from taxopt import progress
from taxopt.circles import (
    Circle,
    circles_table,
    explain,
    find_circles,
    materiality,
    objective_units,
)
from taxopt.claiming import claims_to_choose, optimize_claims
from taxopt.decisions import Decisions
from taxopt.errors import InfeasiblePlanError, InputError, SolverError
from taxopt.io import write_atomically
from taxopt.ledger import Ledger, replay
from taxopt.model import build_model
from taxopt.model.context import ModelContext
from taxopt.model.layered import fast_mode_layered_notes
from taxopt.model.state_taxes import StateRegimeRule, fast_mode_notes
from taxopt.plan import (
    IMPLIED_TAXABLE,
    Plan,
    policy_applies,
    policy_notes,
    with_implied_roths,
    with_implied_taxable,
)
from taxopt.result import PlanFigures, Result, reconcile, sustained_headline
from taxopt.returns import Lognormal
from taxopt.roth import roth_clock_notes
from taxopt.rules import Growth, RuleSet
from taxopt.scenarios import (
    DEFAULT_CANDIDATES,
    MAX_CANDIDATES,
    VALIDATION_MARGIN,
    VALIDATION_PATHS,
    ScenarioSolution,
    best_candidate,
    candidate_seed,
    choose_by_validation,
    make_tree,
    pin_first_year,
    sample_tree,
    solve_scenarios,
)
from taxopt.solve import (
    START_TOLERANCE,
    SolveReport,
    basis,
    columns,
    resolve,
    restore_basis,
    solve,
    values,
)
from taxopt.spending import (
    fixed_policy_amounts,
    gross_policy_tax,
    policy_amounts,
    spent_surplus,
)
from taxopt.state_rules import find_state_rules
from taxopt.stopwatch import Stopwatch
from taxopt.stress import (
    DEFAULT_PATHS,
    DEFAULT_SEED,
    DEFAULT_TARGET,
    check_stress_options,
    stress_test,
)
from taxopt.validation import (
    check_simulation_size,
    lifetime_limit_notes,
    plan_warnings,
    uninvested_savings,
)

DEFAULT_MIP_SECONDS = 0.0
FALLBACK_MIP_SECONDS = 30.0  # when no regime LP is feasible, the MILP gets this long
REGIME_ROUNDS = 4  # regime rounds from each start with --thorough or far from the bound
REGIME_REPAIRS = 4  # extra regime LPs when a plan's taxes differ from its fixed regime's
RECONCILE_TOLERANCE = 0.5  # dollars a year: model and ledger taxes agree within this
CLIFF_TRIES = 6  # regime LPs that step back one ladder of cliffs alone, per round
CLIFF_ROUNDS = 3  # rounds of stepping back while a round improves the plan
REGIME_TOLERANCE = 1e-4  # relative objective gain below which another regime round stops
BOUND_TOLERANCE = 2e-4  # a plan this close (relative) to the relaxation's bound is kept
DUST = 1e-7  # dollars: solver noise below this is zero
CIRCLE_TOLERANCE = 1.0  # objective units ($, or $/yr of spending): netting costing less is free
UNTANGLE_ROUNDS = 20  # rounds of re-solves (netting a circle can open one in the next year)
BASELINE_TOLERANCE = 1.0  # today's dollars: a rule of thumb ahead by less is a tie
TIME_LIMIT_NOTE = (
    "the time limit was reached during the search; this is the best plan found by then "
    "(a longer --time-limit may find a better one)"
)


def optimize(
    plan: Plan,
    rules: RuleSet,
    mode: str | None = None,
    mip_seconds: float | None = None,
    solver: str | None = None,
    with_baselines: bool = True,
    lp_path: str | None = None,
    thorough: bool = False,
    paths: int = DEFAULT_PATHS,
    success: float = DEFAULT_TARGET,
    seed: int | None = DEFAULT_SEED,
    explain: bool = False,
    scenarios: int = 0,
    branch_every: int | None = None,
    validation_paths: int = VALIDATION_PATHS,
    candidates: int = DEFAULT_CANDIDATES,
) -> Result:
    """Optimize a plan under a rule set; the Result holds the ledger's tables.

    `scenarios` N > 0 chooses this year's decisions against N return paths drawn from the
    plan's return model with `seed` on a scenario tree (taxopt.scenarios: branching in
    the first year, and every `branch_every` years if given), CVaR of the spending met
    with probability `success` for max_spending; then the deterministic model (the
    plan's mode), those decisions pinned, re-plans the later years and the ledger
    replays it (exact taxes).
    `result.scenarios` has the tree, the sizes and times and the spread of spending,
    estate and tax across the scenarios. With `validation_paths` V > 0 (max_spending) the
    scenario plan and the deterministic plan are both replayed by the simulator on V
    validation paths (seeded apart from `seed`'s scenarios and stress paths) and the
    scenario plan is kept only if its safe spending at `success` is higher by more than
    taxopt.scenarios.VALIDATION_MARGIN (else the deterministic plan, this year included).
    `candidates` K scenario trees are drawn (candidate k from SeedSequence((seed,
    SCENARIO_STREAM, k)): deterministic given `seed`), each solved and re-planned, and all
    K replayed on the same validation paths; the best of them is the one held against the
    deterministic plan. `result.scenarios` is the kept candidate (the best one when the
    deterministic plan is kept); its `validation` has every candidate's figure and the
    deterministic plan's, and `chosen` names the plan kept. Without validation (V = 0, or
    an objective other than max_spending) only the first candidate is solved.

    `explain` fills `result.shadow_prices` (taxopt.explain): the final LP solved once more
    for vertex duals, so the default run pays nothing for it.

    `paths` return paths (0: none) stress the optimized plan (taxopt.stress): the result's
    `stress` gives the success rate of its headline spending and the safe spending met on
    `success` of the paths (seeded by `seed`).

    Exact mode searches from the exact model's LP relaxation; unless the plan found is
    within 0.02% of the relaxation's bound it goes on as `thorough` always does: more
    regime rounds (up to REGIME_ROUNDS, while the plan improves), and the fast LP's plan as
    a second start, keeping the better plan.
    `lp_path` writes the final model as an LP file whose variable and constraint names
    (withdraw_2031_alex_roth, rmd_2040_blake_ira, ...) a person can read.

    Before the search: a plan that reinvests RMD surplus but has no taxable account gets
    one (plan.with_implied_taxable; `result.plan` is that plan). A gross-basis policy's
    withdrawal pays only its own tax (taxopt.spending.gross_policy_tax); when the withdrawal
    depends on the portfolio, a first search without that rule gives the amounts it is
    taxed on. After the search: circles of money that remain are re-solved away unless the
    plan is strictly better with them (taxopt.circles).
    """
    plan = plan.under(rules)  # account kinds as the rule set's jurisdiction names them
    _check_options(plan, rules, paths, success)
    if branch_every is not None and not scenarios:
        raise InputError("branch_every: the tree's branch years need scenarios (--scenarios N)")
    if claims_to_choose(plan):
        if scenarios:
            raise InputError(
                f'{plan.source}: income: claim_age "optimize" and --scenarios cannot be '
                "combined (each claiming age would need its own scenario model); pin claim_age "
                "or leave out --scenarios"
            )
        return _optimize_claims(
            plan,
            rules,
            mode or plan.options.mode,
            dict(
                mip_seconds=mip_seconds,
                solver=solver,
                with_baselines=with_baselines,
                thorough=thorough,
                explain=explain,
            ),
            lp_path,
            (paths, success, seed),
        )
    clock = Stopwatch()
    with clock.timing("total"):
        plan, notes = _with_implied_accounts(plan, rules)
        scenario_plan = None

        def new_search() -> _Search:
            search = _Search(
                plan,
                rules,
                mode or plan.options.mode,
                solver or plan.options.solver,
                DEFAULT_MIP_SECONDS if mip_seconds is None else mip_seconds,
                thorough,
                clock,
            )
            search.explain = explain
            return search

        if scenarios:
            tree = (scenarios, branch_every, candidates, validation_paths)
            search, (run, circles, netted), result, scenario_plan = _scenario_run(
                plan, rules, new_search, tree, success, seed, solver, clock
            )
        else:
            search = new_search()
            run, circles, netted = _search_and_untangle(search)
            result = _result_of(search, run, circles, netted)
        if lp_path:
            write_atomically(lp_path, lambda tmp: run.ctx.prob.writeLP(str(tmp)), kind="lp")
        result.notes = [
            *notes,
            *search.notes,
            *result.notes,
            *circle_notes(circles, netted),
            *uninvested_savings(plan, rules, result.yearly),
            *lifetime_limit_notes(result.plan, rules, result.yearly),
            *spent_surplus(plan, rules, result.yearly, result.policy_tax),
            *(
                fast_mode_notes(plan.state, plan.start_year, plan.filing_status)
                if search.mode == "fast"
                else []
            ),
            *_unseen_premiums(result),
            *(fast_mode_layered_notes(rules) if search.mode == "fast" else []),
        ]
        if scenario_plan is not None:
            result.scenarios = scenario_plan
            result.figures = sustained_headline(result.plan, result.ledger, result.figures)
            result.notes.append(scenario_note(scenario_plan))
            if with_baselines:  # the rules of thumb for comparison; no restart from them
                from taxopt.baselines import run_baselines

                runs = run_baselines(plan, rules, result)
                result.baselines = {name: r.figures for name, r in runs.items()}
        elif with_baselines:
            result = hold_against_baselines(
                plan, rules, result, search.solver, REGIME_ROUNDS, explain, clock
            )
        if paths > 0 and progress.out_of_time():
            result.notes.append(
                "no stress test: the time limit had passed (a longer --time-limit, or "
                "`taxopt simulate`, gives it)"
            )
        elif paths > 0:
            progress.step(f"stress test: {paths:,} return paths")
            spread = scenario_plan is not None  # what each path sustains, beside the level
            result.stress = stress_test(result, paths, success, seed, spread=spread)
    return _timed(result, clock)


def _scenario_run(plan, rules, new_search, tree: tuple, success, seed, solver, clock):
    """optimize's scenario branch: `tree` (N, branch_every, candidates, validation paths);
    the candidates solved (one without validation), then _best_scenario_plan."""
    scenarios, branch_every, candidates, validation_paths = tree
    if not 1 <= candidates <= MAX_CANDIDATES:
        raise InputError(
            f"candidates: {candidates}; give between 1 and {MAX_CANDIDATES} scenario trees"
        )
    validates = bool(validation_paths) and plan.objective.kind == "max_spending"
    solutions = [
        _scenario_decisions(plan, rules, scenarios, branch_every, success, seed, solver, clock, k)
        for k in range(candidates if validates else 1)
    ]
    for solved in solutions:
        solved.candidates = len(solutions)
    paths = validation_paths if validates else 0
    return _best_scenario_plan(new_search, solutions, paths, success, seed, clock)


def _scenario_decisions(
    plan: Plan,
    rules: RuleSet,
    scenarios: int,
    branch_every: int | None,
    success: float,
    seed: int | None,
    solver: str | None,
    clock: Stopwatch,
    candidate: int = 0,
) -> ScenarioSolution:
    """This year's decisions from the scenario model (taxopt.scenarios) on candidate
    `candidate`'s tree (0-based; its own seed stream)."""
    if policy_applies(plan) and plan.withdrawal.basis == "gross":
        raise InputError(
            f"{plan.source}: withdrawal.basis: --scenarios supports the net basis only (the "
            'gross basis taxes the policy\'s withdrawal on one path); use basis = "net" or '
            "leave out --scenarios"
        )
    tree = make_tree(plan, scenarios, branch_every)
    model = Lognormal()
    returns = sample_tree(plan, tree, candidate_seed(seed, candidate), model)
    progress.step(f"scenario model, candidate {candidate + 1}: {tree.describe()}")
    with clock.timing("scenarios"):
        solved = solve_scenarios(
            plan,
            rules,
            tree,
            returns,
            success,
            solver or plan.options.solver,
            seed=seed,
            returns_text=model.describe(),
        )
    solved.candidate = candidate
    progress.step(
        f"scenario model solved ({solved.rows:,} rows, {solved.columns:,} columns, "
        f"{solved.build_seconds:.1f} s build, {solved.solve_seconds:.1f} s solve)"
    )
    return solved


def _best_scenario_plan(
    new_search, solutions: list[ScenarioSolution], paths: int, success: float, seed, clock
):
    """(search, (run, circles, netted), result, kept solution): each candidate's first
    year pinned and the later years re-planned; with `paths` validation paths, every
    candidate and the deterministic plan replayed on the same paths and the best kept
    (taxopt.scenarios.choose_by_validation), else the only candidate's re-plan."""
    plans = {}
    for solved in solutions:
        search = new_search()
        search.pinned = solved.first_year
        run = _replan(search)
        plans[solved.name] = (search, run, _result_of(search, *run))
    if not paths:
        return (*plans[solutions[0].name], solutions[0])
    other = new_search()
    other_run = _search_and_untangle(other)
    plans["deterministic"] = (other, other_run, _result_of(other, *other_run))
    progress.step(f"validation: {len(plans)} plans on {paths:,} return paths")
    with clock.timing("validation"):
        results = {name: result for name, (_, _, result) in plans.items()}
        chosen = choose_by_validation(solutions[0], results, paths, success, seed)
    best = best_candidate(solutions)
    return (*plans[chosen], best)


def _replan(search: _Search) -> tuple[_Run, list[Circle], list[Circle]]:
    """The plan's own search with this year's decisions pinned; in exact mode, when no
    exact plan keeps them (the fast taxes they were chosen with differ at a kink), the
    fast model's re-plan, with a note."""
    if search.mode != "exact":
        return _search_and_untangle(search)
    try:
        return _search_and_untangle(search)
    except (InfeasiblePlanError, SolverError) as exc:
        search.mode = "fast"
        search.notes.append(
            f"no exact-mode plan keeps this year's scenario decisions ({exc}); the later "
            "years are the fast model's re-plan"
        )
        return _search_and_untangle(search)


def scenario_note(solved: ScenarioSolution) -> str:
    """One line: where this year's decisions come from, what the later years are, and
    every candidate's validation figure."""
    trees = (
        f"{solved.candidates} scenario trees ({solved.tree.describe()} each, {solved.returns}, "
        f"seed {solved.seed}, one seed stream per tree)"
        if solved.candidates > 1
        else f"{solved.tree.describe()} ({solved.returns}, seed {solved.seed})"
    )
    if not solved.kept:
        text = (
            f"the scenario model on {trees} proposed this year's decisions "
            f"({solved.objective_rule()}); none kept more safe spending on the validation "
            "paths than the deterministic plan by more than "
            f"{VALIDATION_MARGIN:.1%}, so the deterministic plan is kept, this year included"
        )
    else:
        which = f"{solved.name} of " if solved.candidates > 1 else ""
        text = (
            f"this year's decisions were chosen against {which}{trees}; {solved.objective_rule()}"
        )
        if solved.cvar is not None:
            text += (
                f"; in sample, the worst {1 - solved.target:.0%} of its scenarios sustain "
                f"${solved.cvar:,.0f} a year on average (today's dollars)"
            )
        text += (
            ". The later years shown re-plan from those decisions on the plan's own "
            "return path; the ledger re-checks every year with exact taxes"
        )
    if solved.validation:
        figures = ", ".join(f"{name} ${value:,.0f}" for name, value in solved.validation.items())
        text += (
            f". Replayed on {solved.validation_paths:,} validation paths, safe spending at "
            f"{solved.target:.0%}: {figures} (today's dollars); kept: {solved.chosen}"
        )
    return text


def _optimize_claims(
    plan: Plan, rules: RuleSet, mode: str, options: dict, lp_path: str | None, stress: tuple
) -> Result:
    """optimize() for a plan that leaves Social Security claiming ages to the optimizer
    (taxopt.claiming): each candidate plan's ages are pinned and searched as any plan is;
    the winner alone is stress-tested (and written as an LP file, re-solved for it)."""
    paths, success, seed = stress

    def run(pinned: Plan) -> Result:
        return optimize(pinned, rules, mode, paths=0, **options)

    def finish(result: Result) -> Result:
        if lp_path:
            result = optimize(result.plan, rules, mode, lp_path=lp_path, paths=0, **options)
        if paths > 0:
            progress.step(f"stress test: {paths:,} return paths")
            result.stress = stress_test(result, paths, success, seed)
        return result

    solver = options["solver"] or plan.options.solver
    return optimize_claims(plan, rules, mode, solver, run, finish)


def _unseen_premiums(result: Result) -> list[str]:
    """Fast mode's model sees neither IRMAA premiums nor marketplace premiums (IRMAA's tiers
    and the premium tax credit's cliff are not convex): say what the ledger charged it."""
    if result.mode == "exact":
        return []
    notes = []
    premiums = result.ledger.lifetime_irmaa_real
    if result.plan.options.irmaa and premiums >= 0.5:
        notes.append(
            f"fast mode does not see Medicare IRMAA premiums: the plan pays ${premiums:,.0f} of "
            "them over its years (today's dollars), charged by the ledger; exact mode plans "
            "income around the tiers"
        )
    marketplace = result.ledger.lifetime_marketplace_real
    if marketplace >= 0.5:
        notes.append(
            "fast mode does not see the marketplace premiums or the premium tax credit: the "
            f"plan pays ${marketplace:,.0f} of premiums net of the credit over its years "
            "(today's dollars), charged by the ledger; exact mode plans income around the "
            "credit's bands and its 400% cliff"
        )
    return notes


# The jurisdiction (RuleSet.meta.jurisdiction, before any "-") whose states rules/states/ holds.
US_JURISDICTION = "US"


def _check_options(plan: Plan, rules: RuleSet, paths: int, success: float) -> None:
    """Refuse, before any work, a plan the rules or the optimizer cannot handle and stress
    options out of range."""
    plan.check_against(rules)
    rules.check_optimizer_support()
    if plan.state is not None:
        if rules.meta.jurisdiction.split("-", 1)[0] != US_JURISDICTION:
            raise InputError(
                f"{plan.source}: state: '{plan.state}' is a US state, but rule set {rules.name} "
                f"is for {rules.meta.jurisdiction}; US state tax goes with US federal rules "
                "only: remove `state` from the plan (or --state); a province is its own rule set"
            )
        find_state_rules(plan.state, plan.start_year).check_optimizer_support()
    check_stress_options(paths, success)
    check_simulation_size(paths, len(plan.years), len(plan.tiers), len(plan.accounts), False)


def _with_implied_accounts(plan: Plan, rules: RuleSet) -> tuple[Plan, list[str]]:
    """The plan with the accounts it implies (a taxable account for RMD surplus, each
    converting person's own Roth) and the notes saying so, after the plan's own notes."""
    notes = [*policy_notes(plan), *plan_warnings(plan, rules)]
    opened = with_implied_taxable(plan, rules)
    if opened is not plan:
        notes.append(
            f"{plan.source}: accounts: no taxable account to reinvest RMDs above spending; "
            f"taxopt opened '{IMPLIED_TAXABLE}' (zero balance and basis) for that surplus. "
            'Set withdrawal.rmd_surplus = "spend" to spend it instead.'
        )
        plan = opened
    plan, roths = with_implied_roths(plan, rules)
    for name in roths:
        notes.append(
            f"{plan.source}: accounts: a conversion goes only to its owner's own Roth; taxopt "
            f"opened '{name}' (zero balance) for the conversions it may plan."
        )
    return plan, notes


def _search_and_untangle(search: _Search) -> tuple[_Run, list[Circle], list[Circle]]:
    """The search's plan with its circles netted (module doc, steps 1-4). A gross-basis
    policy's tax is set first; when the withdrawal depends on the portfolio, a first
    search gives the amounts it is taxed on."""
    plan, rules = search.plan, search.rules
    if policy_applies(plan) and plan.withdrawal.basis == "gross":
        amounts = fixed_policy_amounts(plan, rules)
        if amounts is None:
            amounts = policy_amounts(plan, rules, search.run().ledger.yearly)
        search.policy_tax = gross_policy_tax(plan, rules, amounts)
    return search.untangle(search.run())


def _timed(result: Result, clock: Stopwatch) -> Result:
    """The result with the run's build, solve and total seconds."""
    result.build_seconds = clock.seconds("build")
    result.solve_seconds = clock.seconds("solve")
    result.total_seconds = clock.seconds("total")
    return result


@dataclass
class _Run:
    """One search's answer: the solve, the model, the decisions and their ledger."""

    report: SolveReport
    ctx: ModelContext
    decisions: Decisions
    ledger: Ledger
    method: str
    bound: float | None = None  # exact mode: the LP relaxation's objective (see _bound)


@dataclass
class _Solved:
    """Regimes whose LP was built already, and the model's kinks once known."""

    regimes: list = field(default_factory=list)  # regime_values of each LP built
    kinks: list = field(default_factory=list)  # (name, year, rule) of every binary


class _Search:
    """The exact-mode search for one plan (see the module doc), timing every build and solve."""

    def __init__(
        self,
        plan: Plan,
        rules: RuleSet,
        mode: str,
        solver: str,
        mip_seconds: float,
        thorough: bool,
        clock: Stopwatch,
    ):
        self.plan, self.rules, self.mode, self.solver = plan, rules, mode, solver
        self.mip_seconds, self.thorough, self.clock = mip_seconds, thorough, clock
        self.policy_tax: dict[int, float] | None = None  # gross basis (see optimize)
        self.notes: list[str] = []  # what the search could not do (the time limit)
        self.explain = False  # read the final LP's duals (taxopt.explain)
        # Net circles worth less than their materiality. Off when netting would leave the
        # plan behind a rule of thumb (hold_against_baselines): then only free nettings.
        self.net_small_circles = True
        # {(family, key): nominal $}: first-year decisions every model keeps (scenarios).
        self.pinned: dict | None = None

    def build(self, plan: Plan, mode: str, regime=None) -> ModelContext:
        with self.clock.timing("build"):
            ctx = build_model(plan, self.rules, mode, regime, self.policy_tax)
            if self.pinned:
                pin_first_year(ctx, self.pinned)
            return ctx

    def solve(self, ctx: ModelContext, **options) -> SolveReport:
        """Solve within the time limit left (taxopt.progress), if there is one."""
        left = progress.seconds_left()
        if left is not None:
            options["time_limit"] = min(options.get("time_limit") or left, left)
        with self.clock.timing("solve"):
            return solve(ctx, self.solver, **options)

    def run(self) -> _Run:
        """The search of the module doc; a note when the time limit cut it short."""
        run = self._run()
        if progress.out_of_time() and run.method != "lp":
            self.notes.append(TIME_LIMIT_NOTE)
        return run

    def _run(self) -> _Run:
        if self.mode != "exact":
            return self._fast_lp()
        relaxed, bound = self._relaxation()  # step 1
        best = self._regime_lp(relaxed, bound)  # steps 2-3
        best = self.step_back_cliffs(best)
        best = _best_of(self.plan, best, self._free_kinks(best))  # step 3b
        run = None
        if best is not None:
            _restore(best.ctx, best.values)
            run = _Run(best.report, best.ctx, best.decisions, best.ledger, "regime-lp", bound)
        if self.mip_seconds <= 0 and run is not None:
            return run
        return self._milp(relaxed, bound, best, run)  # step 4, or the fallback

    def _fast_lp(self) -> _Run:
        """Fast mode: the fast LP's plan (convex approximations of the kinks)."""
        plan, rules = self.plan, self.rules
        fast = self.build(plan, "fast")
        report = self.solve(fast)
        _raise_if_unsolved(plan, rules, fast, report)
        progress.step(f"fast LP solved ({len(plan.years)} years, {report.seconds:.1f} s)")
        decisions = read_decisions(fast)
        return _Run(report, fast, decisions, replay(plan, rules, decisions), "lp")

    def _relaxation(self) -> tuple[ModelContext, float]:
        """Step 1: the exact model solved as its LP relaxation, and the bound it gives."""
        plan = self.plan
        relaxed = self.build(plan, "exact")
        report = self.solve_start(relaxed, relax=True)
        _raise_if_unsolved(plan, self.rules, relaxed, report)  # no relaxation, no plan
        progress.step(
            f"exact model's LP relaxation solved ({len(plan.years)} years, {report.seconds:.1f} s)"
        )
        return relaxed, _bound(plan, report.objective)

    def _regime_lp(self, relaxed: ModelContext, bound: float) -> _Candidate | None:
        """Steps 2-3: regime LPs from the relaxation's plan; unless that is near the bound
        (or with --thorough), more rounds and the fast LP's plan as a second start."""
        plan, rules, thorough = self.plan, self.rules, self.thorough
        solved = _Solved()  # regimes already solved, shared by both starts
        ledger = replay(plan, rules, read_decisions(relaxed))
        best = self.regime_search(plan, ledger, REGIME_ROUNDS if thorough else 1, solved)
        if (not thorough and _near(best, bound)) or progress.out_of_time():
            return best
        if not thorough and best is not None:
            # The same chain goes on (its first round already solved): a round that does
            # not improve on `best` ends it, as inside one search of REGIME_ROUNDS rounds.
            more = self.regime_search(plan, best.ledger, REGIME_ROUNDS - 1, solved, best)
            best = _best_of(plan, best, more)
        fast = self.build(plan, "fast")
        if not progress.out_of_time() and self.solve_start(fast).status == "optimal":
            progress.step("fast LP solved (second start)")
            ledger = replay(plan, rules, read_decisions(fast))
            best = _best_of(plan, best, self.regime_search(plan, ledger, REGIME_ROUNDS, solved))
        return best

    def _free_kinks(self, best: _Candidate | None) -> _Candidate | None:
        """Step 3b: a fixed regime holds income inside one region of a cliff-shaped cost
        (the premium tax credit's bands and its 400% cliff), so the regime search cannot
        tell whether a year does better on the cliff's other side. One MILP with every
        binary of those years free (ModelContext.free_kinks names the cliff's) and every
        other kink fixed to the best plan's regime decides it year by year; its plan is then
        made exact by the regime search. None without such binaries or when the MILP finds
        nothing."""
        if best is None or not best.ctx.free_kinks or progress.out_of_time():
            return None
        plan = self.plan
        # Every kink of those years goes free with them: a fixed tax kink (a bracket's
        # stacking side, say) can hold the year's income on one side of the cliff too.
        years = {year for name, year, _rule in best.ctx.regimes if name in best.ctx.free_kinks}
        free = {name for name, year, _rule in best.ctx.regimes if year in years}
        base = regime_from(best.ledger, plan.years)
        ctx = self.build(
            plan, "exact", lambda name, year, rule: None if name in free else base(name, year, rule)
        )
        start = {**best.values, **best.ctx.regime_values}
        report = self.solve(ctx, time_limit=FALLBACK_MIP_SECONDS, gap=1e-6, start=start)
        progress.step(f"MILP over the cliff binaries: {report.status} ({report.seconds:.1f} s)")
        if report.status not in ("optimal", "feasible"):
            return None
        # The MILP's plan meets its binaries only to the solver's tolerance: a year held at
        # the cliff can sit cents above it, where the ledger reads the credit lost. So its
        # own binaries (rounded) fix the regime LP first; the search goes on from that plan.
        chosen = {
            var.name: round(var.varValue or 0.0) for var in ctx.prob.variables() if var.name in free
        }
        held = self._fixed(
            lambda name, year, rule: chosen.get(name, base(name, year, rule)), "MILP's cliff sides"
        )
        if held is None:
            ledger = replay(plan, self.rules, read_decisions(ctx))
            return self.regime_search(plan, ledger, REGIME_ROUNDS)
        more = self.regime_search(plan, held.ledger, REGIME_ROUNDS, chain=held)
        return _best_of(plan, held, more)

    def _milp(
        self, relaxed: ModelContext, bound: float, best: _Candidate | None, run: _Run | None
    ) -> _Run:
        """Step 4: the full MILP (the relaxation's model, binaries integer this time), from
        the best plan when there is one; an improvement is re-solved as a regime LP."""
        plan, rules = self.plan, self.rules
        start = {**best.values, **best.ctx.regime_values} if best is not None else None
        limit = self.mip_seconds or FALLBACK_MIP_SECONDS
        mip = self.solve(relaxed, time_limit=limit, gap=1e-4, start=start)
        progress.step(f"full MILP stopped: {mip.status} ({mip.seconds:.1f} s)")
        improved = mip.objective is not None and (
            best is None or _better(plan, mip.objective, best.report.objective)
        )
        if mip.status not in ("optimal", "feasible") or not improved:
            if run is None:
                _raise_if_unsolved(plan, rules, relaxed, mip)
            return run
        incumbent = run
        decisions = read_decisions(relaxed)
        run = _Run(mip, relaxed, decisions, replay(plan, rules, decisions), "milp", bound)
        # A MIP solution honours its binaries only to the solver's tolerance, which big-M
        # rows turn into dollars; re-solve it as a regime LP to make it exact.
        rounds = REGIME_ROUNDS if self.thorough else 1
        polished = self.regime_search(plan, run.ledger, rounds)
        if polished is None:
            return run
        if best is not None and not _better(plan, polished.report.objective, best.report.objective):
            # Made exact, the MILP's plan can fall back below the plan it started from.
            _restore(best.ctx, best.values)
            return incumbent
        return _Run(
            polished.report,
            polished.ctx,
            polished.decisions,
            polished.ledger,
            "milp+regime-lp",
            bound,
        )

    def solve_start(self, ctx: ModelContext, relax: bool = False) -> SolveReport:
        """Solve a starting model roughly (solve.START_OPTIONS); fully if that did not settle."""
        report = self.solve(ctx, relax=relax, rough=True)
        if report.status not in ("optimal", "infeasible"):
            report = self.solve(ctx, relax=relax)
        return report

    def regime_search(
        self,
        plan: Plan,
        ledger: Ledger,
        rounds: int,
        solved: _Solved | None = None,
        chain: _Candidate | None = None,
    ):
        """Build the exact model with its binaries fixed to the regime the ledger's true taxes
        imply (an LP without big-M rows), solve it, and repeat from the new plan's regime
        while the objective improves: a plan often sits on a kink, where the neighbouring
        regime can be better. A regime in `solved` is not solved again. `chain`: the last
        round of a search this one continues (`ledger` is its plan's): the first round
        must improve on it by REGIME_TOLERANCE to go on. Returns the best candidate or None."""
        best, previous, unfaithful = chain, None, None
        solved = solved or _Solved()
        done = repairs = 0
        while done < rounds:
            if best is not None and progress.out_of_time():
                break  # past the time limit: keep the plan found
            if solved.kinks and _regime_values(solved.kinks, ledger, plan.years) in solved.regimes:
                break  # the new plan sits in a regime already solved: no need to build it
            ctx = self.build(plan, "exact", regime_from(ledger, plan.years))
            solved.kinks = ctx.regimes
            if ctx.regime_values in solved.regimes or ctx.regime_conflicts:
                break
            solved.regimes.append(ctx.regime_values)
            report = self.solve(ctx)
            progress.step(
                f"regime LP {len(solved.regimes)}: {report.status} ({report.seconds:.1f} s)"
            )
            if report.status not in ("optimal", "feasible"):
                break
            candidate = self._candidate(report, ctx)
            ledger = candidate.ledger
            if not _taxes_agree(ctx, ledger):
                # The LP met a kink's fixed side on paper only (e.g. the §1(h)(1) cap row
                # satisfied by filling brackets out of order), so its taxes are not the
                # plan's: solve again from the plan's own regime, without using up a round.
                if unfaithful is None:
                    unfaithful = candidate
                repairs += 1
                if repairs > REGIME_REPAIRS:
                    break
                continue
            done += 1
            improves = best is None or _better(plan, report.objective, best.report.objective)
            if improves:
                previous, best = best, candidate
            # Stop when a round no longer improves by a meaningful amount.
            if not improves or (
                previous is not None
                and abs(report.objective - previous.report.objective)
                <= REGIME_TOLERANCE * max(1.0, abs(previous.report.objective))
            ):
                break
        best = best or unfaithful  # the ledger's figures stand; reconciliation shows the gap
        if best is not None:
            _restore(best.ctx, best.values)
        return best

    def step_back_cliffs(self, best: _Candidate | None) -> _Candidate | None:
        """A regime search only moves a kink to the side the plan's taxes are on, so a
        cliff once crossed (an IRMAA tier, an allowance lost whole above an income limit)
        is never left, though staying below can be worth more than the lump sum it costs.
        Try the plan with every crossed ladder stepped back one rung at once (the rung's
        floor becomes a ceiling), then each ladder alone (up to CLIFF_TRIES); keep what
        improves, and go again from it (up to CLIFF_ROUNDS)."""
        for _ in range(CLIFF_ROUNDS):
            moves = _cliff_moves(best.ctx) if best is not None else []
            if not moves or progress.out_of_time():
                break
            tries = [dict(kv for move in moves for kv in move.items())] if len(moves) > 1 else []
            improved = None
            for stepped in [*tries, *moves[:CLIFF_TRIES]]:
                candidate = self._stepped_back(best, stepped)
                if candidate is not None and _better(
                    self.plan, candidate.report.objective, best.report.objective
                ):
                    improved = candidate
                    break
            if improved is None:
                break
            best = improved
        if best is not None:
            _restore(best.ctx, best.values)
        return best

    def _stepped_back(self, best: _Candidate, stepped: dict[str, int]) -> _Candidate | None:
        """The regime LP of `best`'s plan with the binaries in `stepped` set below their
        cliffs; None unless it solves with taxes the ledger confirms."""
        own = regime_from(best.ledger, self.plan.years)

        def regime(name: str, year: int, rule) -> int:
            return stepped[name] if name in stepped else own(name, year, rule)

        return self._fixed(regime, "cliff step-back")

    def _fixed(self, regime, what: str) -> _Candidate | None:
        """The regime LP with binaries fixed by `regime` (name, year, rule -> 0 | 1); None
        unless it solves with taxes the ledger confirms."""
        ctx = self.build(self.plan, "exact", regime)
        if ctx.regime_conflicts:
            return None
        report = self.solve(ctx)
        progress.step(f"{what} LP: {report.status} ({report.seconds:.1f} s)")
        if report.status not in ("optimal", "feasible"):
            return None
        candidate = self._candidate(report, ctx)
        return candidate if _taxes_agree(ctx, candidate.ledger) else None

    def _candidate(self, report: SolveReport, ctx: ModelContext) -> _Candidate:
        """A solved model's plan, its solution kept and its decisions replayed by the ledger."""
        decisions = read_decisions(ctx)
        ledger = replay(self.plan, self.rules, decisions)
        return _Candidate(report, ctx, values(ctx), decisions, ledger)

    def untangle(self, run: _Run) -> tuple[_Run, list[Circle], list[Circle]]:
        """Re-solve the final model (same regime) with the circles the plan still has
        netted (each one's smaller leg forbidden); take that plan when netting costs no more
        than the circles' materiality together (taxopt.circles.materiality: an instruction
        worth less is not worth giving). All circles at once first; a group the plan
        refuses splits by kind, then circle by circle; a single circle refused is kept and
        says why and what netting it costs. Circles a re-solve opens go the same way, up to
        UNTANGLE_ROUNDS times. Returns the run, the circles kept and those netted (each
        with what netting cost)."""
        plan, rules = self.plan, self.rules
        forbidden: list = []
        kept: dict[tuple, Circle] = {}
        netted: list[Circle] = []
        for _round in range(UNTANGLE_ROUNDS):
            if run.ctx.binaries or progress.out_of_time():  # a MILP's answer; no time left
                break
            groups = [[c for c in find_circles(plan, rules, run.decisions) if c.key not in kept]]
            while groups and groups[0] and not progress.out_of_time():
                group = groups.pop(0)
                now = {c.key: c for c in find_circles(plan, rules, run.decisions)}
                pending = [now[c.key] for c in group if c.key in now and c.key not in kept]
                if not pending:
                    continue
                allowance = (
                    sum(materiality(plan, c) for c in pending) if self.net_small_circles else 0.0
                )
                done, legs, cost = self._net(run, pending, forbidden, allowance)
                if done is not None:
                    together = f" (with {len(pending) - 1} other circle(s))" * (len(pending) > 1)
                    for c in pending:
                        c.why = f"netted at a cost of {cost}{together}"
                    netted += pending
                    run, forbidden = done, forbidden + legs
                elif len(pending) > 1:
                    groups[:0] = _split(pending)
                else:
                    circle = pending[0]
                    circle.why = (
                        f"{explain(plan, rules, run.ledger.yearly, circle)}; netting it {cost}"
                    )
                    if cost.startswith("costs") and not self.net_small_circles:
                        circle.why += (
                            "; kept because netting the plan's small circles left it behind "
                            "a rule of thumb"
                        )
                    elif cost.startswith("costs"):
                        circle.why += (
                            f", above its threshold of "
                            f"{_threshold_text(plan, materiality(plan, circle))} "
                            "(options.circle_min_gain, circle_min_gain_share)"
                        )
                    kept[circle.key] = circle
        left = find_circles(plan, rules, run.decisions)
        for c in left:
            if c.key not in kept:  # not re-solved (a MILP's answer, or opened by a re-solve)
                c.why = explain(plan, rules, run.ledger.yearly, c)
        return run, [kept.get(c.key, c) for c in left], netted

    def _net(self, run: _Run, circles: list[Circle], forbidden: list, allowance: float):
        """Re-solve `run`'s model with `circles` netted on top of `forbidden` legs; take it
        when it costs at most `allowance` (today's dollars over the plan). Returns (the new
        run or None, the legs forbidden, what netting costs); a refused re-solve leaves the
        model and its solution as they were."""
        ctx, plan = run.ctx, self.plan
        solution, start = values(ctx), basis(ctx)
        original = run.report.objective
        legs = circle_variables(ctx, circles)
        for var in legs:
            var.upBound = 0.0
        with self.clock.timing("solve"):
            report = resolve(ctx, self.solver)  # only bounds changed: warm from the last basis
        solved = report.status in ("optimal", "feasible") and report.objective is not None
        margin = max(CIRCLE_TOLERANCE, objective_units(plan, allowance))
        if solved and not _better(plan, original, report.objective, margin):
            decisions = read_decisions(ctx)
            ledger = replay(plan, self.rules, decisions)
            if _taxes_agree(ctx, ledger):
                cost = _objective_gap(plan, original, report)
                return _Run(report, ctx, decisions, ledger, run.method, run.bound), legs, cost
            # The netted plan crossed a kink of the fixed regime: its taxes are not the
            # model's, so what netting costs is unknown here and the circle stays.
            why = "would move the plan across a tax kink this re-solve cannot price"
        elif solved:
            why = f"costs {_objective_gap(plan, original, report)}"
        else:
            why = "is not possible: the plan cannot do without it"
        keep = {var.name for var in forbidden}
        for var in legs:
            if var.name not in keep:
                var.upBound = None
        _restore(ctx, solution)
        restore_basis(ctx, start)
        return None, legs, why


def _split(circles: list[Circle]) -> list[list[Circle]]:
    """A refused group of circles, smaller: by kind when it has several, else one by one."""
    kinds = sorted({c.kind for c in circles})
    if len(kinds) > 1:
        return [[c for c in circles if c.kind == k] for k in kinds]
    return [[c] for c in circles]


def circle_variables(ctx: ModelContext, circles: list[Circle]) -> list:
    """The model variables of each circle's smaller leg, to forbid: without it the larger
    leg can still carry the net amount, so the re-solve nets the circle (a contribution
    the plan requires keeps its leg: the withdrawal goes)."""
    v, out = ctx.variables, []
    required = {f.account for f in ctx.plan.contributions.fixed}
    for c in circles:
        inflow = c.money_in <= c.money_out and c.account not in required
        if c.kind == "purchase_and_sale":
            if inflow:
                out.append(v["buy"][c.year, c.account, c.tier])
            else:
                out += [
                    v["sell"][c.year, lot.key]
                    for lot in ctx.lots
                    if (lot.account, lot.tier) == (c.account, c.tier)
                    and (c.year, lot.key) in v["sell"]
                ]
        elif c.kind == "conversion_and_withdrawal" and inflow:
            out += [v["convert"][c.year, s, c.account] for s in c.sources]
        elif c.kind == "exempt_to_taxable" and inflow:
            out += [v["contribute"][c.year, a] for a in c.sources]
        elif c.kind == "contribution_and_withdrawal" and inflow:
            out.append(v["contribute"][c.year, c.account])
        else:
            out.append(v["withdraw"][c.year, c.account])
    return out


def _threshold_text(plan: Plan, dollars: float) -> str:
    if plan.objective.kind == "max_spending":
        yearly = objective_units(plan, dollars)
        return f"${yearly:,.0f}/yr of spending (${dollars:,.0f} over the plan)"
    return f"${dollars:,.0f}"


def _objective_gap(plan: Plan, objective: float, other: SolveReport) -> str:
    gap = abs(objective - other.objective)
    unit = "/yr of spending" if plan.objective.kind == "max_spending" else ""
    return f"${gap:,.0f}{unit} (today's dollars, re-solved)"


def plan_score(plan: Plan, rules: RuleSet, figures: PlanFigures, ledger: Ledger) -> float:
    """The plan's objective read from the ledger (today's dollars; higher is better), the
    same measure for the optimized plan and for a rule of thumb."""
    kind = plan.objective.kind
    if kind == "max_spending":
        return figures.sustainable_spending
    if kind == "max_estate":
        return figures.after_tax_estate - figures.lifetime_tax
    # min_tax: lifetime tax plus the heirs' tax on deferred balances, as the model counts it
    last = ledger.yearly.iloc[-1]
    heirs = sum(
        last[f"closing_{a.name}"] * plan.objective.heir_tax_rate
        for a in plan.accounts
        if rules.account_kinds[a.kind].growth == Growth.DEFERRED
    ) / plan.inflation_factor(plan.end_year + 1)
    return -(figures.lifetime_tax + heirs)


def hold_against_baselines(
    plan: Plan,
    rules: RuleSet,
    result: Result,
    solver: str,
    rounds: int,
    explain: bool = False,
    clock: Stopwatch | None = None,
) -> Result:
    """Replay the rules of thumb; if one beats the optimized plan on the plan's objective,
    restart the regime search from that rule's own decisions (its ledger's regime: the LP
    over that regime contains the rule's own plan, so it can only do better) and keep the
    better plan, then replay the rules against it. Rules are tried best first, until one
    restart beats them all. If a rule still wins, the result's notes say so, with the gap
    in the plan's own terms. The restarts' builds and solves are timed on `clock` (the
    run's, inside optimize): a restarted result's build and solve seconds are the clock's."""
    from taxopt.baselines import run_baselines

    clock = clock or Stopwatch()

    searched = False
    for attempt in range(2):
        progress.step("rules of thumb: replaying the three baselines")
        runs = run_baselines(plan, rules, result)
        result.baselines = {name: run.figures for name, run in runs.items()}
        mine = _score_of(plan, rules, result)
        scores = {n: plan_score(plan, rules, r.figures, r.ledger) for n, r in runs.items()}
        ahead = sorted((s, n) for n, s in scores.items() if s > mine + BASELINE_TOLERANCE)[::-1]
        if not ahead:
            return result
        if attempt == 1 or progress.out_of_time():
            break
        search = _Search(plan, rules, "exact", solver, 0.0, False, clock)
        search.explain = explain
        search.policy_tax = result.policy_tax or None
        improved, best = None, mine
        for _score, name in ahead:
            if best >= ahead[0][0] - BASELINE_TOLERANCE or progress.out_of_time():
                break
            progress.step(f"{name} does better; searching again from its decisions")
            restarted = _restart(
                search, runs[name].ledger, result, f"regime-lp from {name}", rounds
            )
            searched = True
            if restarted is not None and _score_of(plan, rules, restarted) > best:
                improved, best = restarted, _score_of(plan, rules, restarted)
        if best < ahead[0][0] - BASELINE_TOLERANCE and not progress.out_of_time():
            latest = improved or result
            if len(latest.netted_circles):
                # Netting small circles may cost up to their materiality, which can be the
                # rule of thumb's margin: keep them rather than lose to it.
                progress.step("keeping small circles rather than fall behind a rule of thumb")
                search.net_small_circles = False
                kept = _restart(search, latest.ledger, latest, latest.method, rounds)
                if kept is not None and _score_of(plan, rules, kept) > best:
                    improved = kept
        if improved is None:
            break
        result = improved
    best_score, best_name = ahead[0]
    why = (
        "a search restarted from its decisions did not close the gap"
        if searched
        else "the time limit left no time to search again from its decisions"
    )
    result.notes.append(
        f"the rule of thumb {best_name} does better than the optimized plan by "
        f"{score_text(plan, best_score - mine)} (today's dollars); {why}. Try --thorough, "
        "--mip-seconds 60 or a longer --time-limit"
    )
    return result


def _restart(
    search: _Search, ledger: Ledger, previous: Result, method: str, rounds: int
) -> Result | None:
    """The regime search started from `ledger`'s regime, untangled as optimize does; None
    when it finds no plan. Scored after untangling: netting circles can cost the plan."""
    candidate = search.regime_search(search.plan, ledger, rounds)
    return None if candidate is None else _restarted_result(search, candidate, previous, method)


def _score_of(plan: Plan, rules: RuleSet, result: Result) -> float:
    return plan_score(plan, rules, result.figures, result.ledger)


def score_text(plan: Plan, gap: float) -> str:
    """A difference of plan scores (taxopt.optimize.plan_score) in the plan's own terms."""
    kind = plan.objective.kind
    if kind == "max_spending":
        return f"${gap:,.0f} a year of spending"
    if kind == "max_estate":
        return f"${gap:,.0f} of estate net of lifetime tax"
    return f"${gap:,.0f} of lifetime tax"


def _restarted_result(
    search: _Search, candidate: _Candidate, previous: Result, method: str
) -> Result:
    """A Result for a regime-search candidate (circles untangled as optimize does), with
    the run's times and notes."""
    run, circles, netted = search.untangle(
        _Run(
            candidate.report,
            candidate.ctx,
            candidate.decisions,
            candidate.ledger,
            method,
            previous.objective_bound,
        )
    )
    result = _result_of(search, run, circles, netted)
    # The previous plan's notes on its own flows (circles, Roth clocks) do not carry over.
    stale = set(roth_clock_notes(previous.plan, search.rules, previous.decisions))
    carried = [
        n for n in previous.notes if n not in stale and not n.startswith(("kept: ", "netted: "))
    ]
    result.notes = carried + result.notes + circle_notes(circles, netted)
    return result


def circle_notes(kept: list[Circle], netted: list[Circle]) -> list[str]:
    """One line per circle kept (why, and what netting it would cost), one for all netted."""
    notes = [f"kept: {c.describe()}: {c.why}" for c in kept]
    if netted:
        notes.append(
            f"netted: {len(netted)} circle(s) of money worth less than their threshold "
            "(options.circle_min_gain, circle_min_gain_share) were re-solved away; the "
            "figures are the re-solved plan's (result.netted_circles)"
        )
    return notes


def _result_of(
    search: _Search,
    run: _Run,
    circles: list[Circle],
    netted: list[Circle],
) -> Result:
    """The Result of a search's run: the ledger's tables, the reconciliation, the circles,
    the build and solve seconds so far."""
    result = Result.from_run(
        plan=search.plan,
        rules=search.rules,
        ctx=run.ctx,
        decisions=run.decisions,
        ledger=run.ledger,
        report=run.report,
        build_seconds=search.clock.seconds("build"),
        solve_seconds=search.clock.seconds("solve"),
        method=run.method,
        reconciliation=reconcile(run.ctx, run.ledger),
    )
    result.objective_bound = run.bound
    result.policy_tax = search.policy_tax or {}
    result.circles = circles_table(circles)
    result.netted_circles = circles_table(netted)
    if search.explain:
        result.shadow_prices = _shadow_prices(search, run.ctx)
    return result


def _shadow_prices(search: _Search, ctx: ModelContext):
    """The final LP's marginal values (taxopt.explain), or an empty table with a note."""
    from taxopt.explain import empty_table, shadow_prices, solve_for_duals

    with search.clock.timing("solve"):
        solved = solve_for_duals(ctx, search.solver)
    if solved:
        return shadow_prices(ctx)
    search.notes.append(
        "no marginal values: the final model is not an LP solved by HiGHS "
        "(a MILP's answer or another solver)"
    )
    return empty_table()


@dataclass
class _Candidate:
    report: SolveReport
    ctx: ModelContext
    values: dict[str, float]
    decisions: Decisions
    ledger: Ledger


def _cliff_moves(ctx: ModelContext) -> list[dict[str, int]]:
    """One move per ladder of crossed cliffs in a regime LP: {binary: value below} for
    its highest crossed rung."""
    top: dict[str, tuple[int, str, int]] = {}
    for name, (ladder, rung, escape) in ctx.cliffs.items():
        if ctx.regime_values.get(name, escape) != escape and rung >= top.get(ladder, (-1,))[0]:
            top[ladder] = (rung, name, escape)
    return [{name: escape} for _rung, name, escape in top.values()]


def _taxes_agree(ctx: ModelContext, ledger: Ledger) -> bool:
    """Whether the solved model's tax and spending equal the ledger's every year."""
    errors = reconcile(ctx, ledger).filter(like="_error").abs()
    return bool((errors.max() < RECONCILE_TOLERANCE).all())


def regime_from(ledger: Ledger, years: list[int]):
    """fixed_regime for build_model: each binary set by the ledger's true taxes."""
    index = {year: i for i, year in enumerate(years)}

    def value(_name: str, year: int, rule) -> int:
        i = index[year]
        if isinstance(rule, StateRegimeRule):  # a kink of the state's tax
            return rule.read(ledger.taxes[i], ledger.state_results[i])
        return rule(ledger.inputs[i], ledger.taxes[i])

    return value


def _regime_values(kinks: list, ledger: Ledger, years: list[int]) -> dict[str, int]:
    value = regime_from(ledger, years)
    return {name: int(value(name, year, rule)) for name, year, rule in kinks}


def _bound(plan: Plan, relaxed_objective: float) -> float:
    """The relaxation's objective widened by its solve's tolerance: no plan beats it."""
    margin = 10 * START_TOLERANCE * max(1.0, abs(relaxed_objective))
    if plan.objective.kind == "min_tax":
        return relaxed_objective - margin
    return relaxed_objective + margin


def _near(candidate: _Candidate | None, bound: float | None) -> bool:
    """Whether a plan's objective is within BOUND_TOLERANCE of the relaxation's bound."""
    if candidate is None or candidate.report.objective is None or bound is None:
        return False
    gap = abs(bound - candidate.report.objective)
    return gap <= BOUND_TOLERANCE * max(1.0, abs(bound))


def _best_of(plan: Plan, a: _Candidate | None, b: _Candidate | None) -> _Candidate | None:
    if a is None or (b is not None and _better(plan, b.report.objective, a.report.objective)):
        return b
    return a


def _restore(ctx: ModelContext, solution: dict[str, float]) -> None:
    """Put a stored solution back into the model's variables (for reconciliation)."""
    for var in columns(ctx):
        var.varValue = solution.get(var.name, 0.0)


def _better(plan: Plan, candidate: float, incumbent: float | None, margin: float = 1e-6) -> bool:
    """Whether `candidate` beats `incumbent` by more than `margin` (objective units)."""
    if incumbent is None:
        return True
    if plan.objective.kind == "min_tax":
        return candidate < incumbent - margin
    return candidate > incumbent + margin


def read_decisions(ctx: ModelContext) -> Decisions:
    """The solved model's decisions as plain data (nominal dollars), read in one pass."""
    solution = ctx.solution()

    def values(family: str) -> dict:
        """{key: value} of a variable family, dust (|value| <= DUST) set to zero."""
        read = ctx.variables[family].read(solution)
        return {k: (x if abs(x) > DUST else 0.0) for k, x in read.items()}

    sheltered = set(ctx.sheltered)
    decisions = Decisions(
        contributions={(a, y): x for (y, a), x in values("contribute").items()},
        withdrawals={(a, y): x for (y, a), x in values("withdraw").items()},
        conversions={(s, t, y): x for (y, s, t), x in values("convert").items()},
        allocation={(a, t, y): x for (y, a, t), x in values("hold").items() if a in sheltered},
        buys={(a, t, y): x for (y, a, t), x in values("buy").items()},
        tax_free={(a, y): x for (y, a), x in values("tax_free").items()},
    )
    sales = values("sell")
    for lot in ctx.lots:
        for year in ctx.years:
            q = sales.get((year, lot.key), 0.0)
            if q > 0:
                decisions.lot_sales[lot.account, lot.tier, lot.year, lot.opening, year] = q
    return decisions


def _raise_if_unsolved(plan: Plan, rules: RuleSet, ctx: ModelContext, report: SolveReport) -> None:
    if report.status in ("optimal", "feasible"):
        return
    if report.status == "infeasible":
        from taxopt.diagnose import explain_infeasibility

        raise InfeasiblePlanError(*explain_infeasibility(plan, rules))
    if progress.out_of_time():
        raise SolverError(
            f"the time limit ran out after {report.seconds:.1f} s of solving, before any "
            "plan was found; raise --time-limit or use --mode fast"
        )
    raise SolverError(
        f"the solver ({report.solver}) stopped with status '{report.status}' after "
        f"{report.seconds:.1f} s; try --solver cbc or --mode fast"
    )
