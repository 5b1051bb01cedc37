"""Scenario optimization: this year's decisions chosen against many return paths.

A deterministic plan is chosen for one path (each tier at its deterministic return). Here
the plan is chosen against N paths drawn from the plan's return model (taxopt.returns'
`Lognormal`, the stress test's model: each tier's mean and volatility, risky tiers
correlated 0.8), arranged as a scenario tree so that no decision sees the future.

**The tree.** Returns branch at chosen years b_0 = first year < b_1 < ... (`ScenarioTree`):
at b_j every node has `branching[j]` children, and each child draws its own returns for
the years [b_j, b_{j+1}) from the model (independent years, so a child's draw is a draw of
the model). A scenario is a leaf: its path is its ancestors' segments end to end. The
decisions of year t (holdings, contributions, withdrawals, conversions, taxable trades,
spending, and the tax rows' own columns) are shared by every scenario whose returns agree
up to year t - 1: one set of columns per tree node, so non-anticipativity holds by
construction. The default tree branches once, at the first year (a fan: year one's
decisions are common to all N paths, each path then has its own recourse);
`branch_every=k` branches every k years as well (N split into near-equal factors). Between
branch points a node's path is one draw, known to its later decisions: the tree's
approximation, as in any scenario tree coarser than a year.

**The model.** The deterministic model's own builders (taxopt.model), one model per
scenario built on that scenario's path (`build_model(..., path_growth=...)`: the only
generalization they needed is a growth factor per tier and year instead of per tier, in
the holdings' openings, the taxable lots' value per unit and the estate). Fast-mode taxes
(the convex approximations; the lots keep exact basis). The scenarios' columns of a shared
node are then replaced by the node's first scenario's columns, and rows that become
identical (a shared year's rows, the same in every scenario of the node) are kept once.

**The objective** (max_spending): with m_s the constant real spending scenario s sustains
(its own `spending_level` column: spending S[s,t] >= i[t] m_s each retirement year),
beta = 1 - P (P the plan's target success, `--success`) and N equally likely scenarios,

    maximize  ell - 1 / (beta N) sum_s u_s  + 1/N sum_s tie_s,
    u_s >= ell - m_s,  u_s >= 0,

the lower-tail CVaR_beta of the sustained spending (Rockafellar and Uryasev's form, an LP):
at the optimum ell is the beta-quantile of the m_s (the in-sample spending met with
probability P) and the objective is the mean of the worst beta share of them. tie_s is the
deterministic objective's tie-break of scenario s (present value of estate less tax, flow
costs), averaged. With zero volatility every m_s is equal and the model is the
deterministic one. max_estate and min_tax take the mean of their objective over the
scenarios (risk-neutral; spending is the policy's in every scenario).

The scenario solution gives this year's decisions (`first_year`); taxopt.optimize pins
them in the deterministic model (the plan's own mode), which re-plans the later years on
the plan's own path, and the ledger replays that plan with exact taxes, year one included.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pulp

from taxopt.errors import InputError
from taxopt.model import build_model
from taxopt.model.context import ModelContext
from taxopt.plan import Plan
from taxopt.returns import Lognormal, ReturnModel
from taxopt.rules import RuleSet
from taxopt.solve import solve

# Families whose first-year columns are "what to do this year" (pinned in the re-plan).
DECISION_FAMILIES = ("hold", "contribute", "withdraw", "convert", "buy", "sell")
MAX_SCENARIOS = 1024
PERCENTILES = (5, 10, 25, 50, 75, 90, 95)
# HiGHS on the scenario model (benchmarks/results/scenarios_highs_log.txt): interior point
# (dual simplex, HiGHS' new `hipo` IPM and PDLP were slower), with crossover: about a fifth
# more than stopping at the interior point, but a vertex: without it this year's
# instructions carry dollars of dust (buy $6, keep $15 of a tier).
SCENARIO_OPTIONS: dict = {"solver": "ipm"}
# Validation (choose_by_validation): paths both candidate plans are replayed on, and the
# stream that seeds them (SeedSequence((seed, VALIDATION_STREAM)): apart from the scenario
# model's draws, default_rng(seed), and from the stress test's).
# A left-out scenario joins the fan's LP when its check sustains this many real dollars
# a year less than the tail's level ell (_below_the_tail): solver noise, not a plan.
TAIL_TOLERANCE = 1.0
VALIDATION_PATHS = 2000
VALIDATION_STREAM = 14
# Candidate k's scenario tree is drawn from SeedSequence((seed, SCENARIO_STREAM, k)):
# independent of each other, of the validation paths and of the stress paths.
SCENARIO_STREAM = 13
# Scenario trees solved and replayed on the validation paths (optimize's `candidates`):
# the CVaR optimum of one small sample is often not the best plan (benchmarks/results/
# oos_scenarios.md: the retiree's four candidates spanned 77,744-80,811 on validation,
# two of them behind the deterministic plan's 78,796), and each costs one scenario solve,
# one re-plan and one replay: three keep the run within about three times one candidate.
DEFAULT_CANDIDATES = 3
MAX_CANDIDATES = 64
# A scenario plan replaces the deterministic one only if its validation safe spending is
# higher by more than this fraction of the deterministic figure: the 90% quantile on 2,000
# paths moves by a few tenths of a percent between path sets (the couple's best scenario
# candidate: +0.19% on validation, -0.04% on 10,000 fresh paths; oos_scenarios.md), so a
# smaller lead is noise and the simpler plan stays.
VALIDATION_MARGIN = 0.005


@dataclass(frozen=True)
class ScenarioTree:
    """Where returns branch: at `branch_years[j]` each node has `branching[j]` children,
    each drawing the returns of the years up to the next branch year."""

    years: tuple[int, ...]
    branch_years: tuple[int, ...]
    branching: tuple[int, ...]

    @property
    def scenarios(self) -> int:
        return math.prod(self.branching)

    def leaves_below(self, depth: int) -> int:
        """Scenarios under one child created at branch point `depth`."""
        return math.prod(self.branching[depth + 1 :])

    def node(self, scenario: int, year: int) -> tuple[int, int]:
        """(depth, index) of the tree node whose decisions `scenario` follows in `year`:
        the node fixed by the returns up to year - 1 (the root before any return)."""
        known = [j for j, b in enumerate(self.branch_years) if b <= year - 1]
        if not known:
            return (0, 0)
        j = known[-1]
        return (j + 1, scenario // self.leaves_below(j))

    def representative(self, scenario: int, year: int) -> int:
        """The first scenario of the node `scenario` follows in `year`."""
        depth, index = self.node(scenario, year)
        return 0 if depth == 0 else index * self.leaves_below(depth - 1)

    def describe(self) -> str:
        if len(self.branching) == 1:
            return f"{self.scenarios} scenarios branching in {self.branch_years[0]}"
        pairs = zip(self.branch_years, self.branching, strict=True)
        points = ", ".join(f"{b} x{k}" for b, k in pairs)
        return f"{self.scenarios} scenarios, branching {points}"


def make_tree(plan: Plan, scenarios: int, branch_every: int | None = None) -> ScenarioTree:
    """A fan at the first year, or branch points every `branch_every` years with the
    scenarios split into near-equal factors (factor 1: no branching there)."""
    if not 1 <= scenarios <= MAX_SCENARIOS:
        raise InputError(f"scenarios: {scenarios}; give between 1 and {MAX_SCENARIOS} return paths")
    years = tuple(plan.years)
    if branch_every is None:
        return ScenarioTree(years, (years[0],), (scenarios,))
    if branch_every < 1:
        raise InputError(f"branch_every: {branch_every}; give a number of years of 1 or more")
    points = list(years[::branch_every])
    stages = max(1, min(len(points), int(math.log2(scenarios)) if scenarios > 1 else 1))
    factors = _split(scenarios, stages)
    pairs = [(b, f) for b, f in zip(points, factors, strict=False) if f > 1] or [(years[0], 1)]
    return ScenarioTree(years, tuple(b for b, _ in pairs), tuple(f for _, f in pairs))


def _split(n: int, parts: int) -> list[int]:
    """n as `parts` integer factors, each near the parts-th root of what is left."""
    factors = []
    for i in range(parts):
        left = parts - i
        target = n ** (1.0 / left)
        divisors = [d for d in range(1, n + 1) if n % d == 0]
        f = min(divisors, key=lambda d: (abs(d - target), d))
        factors.append(f)
        n //= f
    factors[-1] *= n
    return factors


def candidate_seed(seed: int | None, candidate: int) -> np.random.SeedSequence | None:
    """The seed of candidate `candidate`'s tree (0-based): SeedSequence((seed,
    SCENARIO_STREAM, candidate)); None (fresh entropy) when `seed` is None."""
    if seed is None:
        return None
    return np.random.SeedSequence((seed, SCENARIO_STREAM, candidate))


def sample_tree(
    plan: Plan,
    tree: ScenarioTree,
    seed: int | np.random.SeedSequence | None,
    model: ReturnModel | None = None,
) -> np.ndarray:
    """(N, years, tiers) annual returns on the tree: each node's children draw their own
    segment from `model` (default Lognormal) with `default_rng(seed)`, in a fixed order."""
    model = model or Lognormal()
    rng = np.random.default_rng(seed)
    years = list(tree.years)
    out = np.zeros((tree.scenarios, len(years), len(plan.tiers)))
    bounds = [*tree.branch_years[1:], years[-1] + 1]
    for j, (start, end) in enumerate(zip(tree.branch_years, bounds, strict=True)):
        span = [i for i, y in enumerate(years) if start <= y < end]
        children = math.prod(tree.branching[: j + 1])
        segment = model.sample(plan.tiers, plan.profile.reserve_tier, len(span), children, rng)
        below = tree.leaves_below(j)
        for s in range(tree.scenarios):
            out[s, span, :] = segment[s // below]
    if (out <= -1.0).any():
        raise InputError("scenarios: a path has a return of -100% or below")
    return out


@dataclass
class ScenarioSolution:
    """The scenario model's answer: this year's decisions and the scenarios' outcomes.

    Dollar figures are today's dollars; `first_year` holds nominal dollars of the first
    year by (family, key) of the deterministic model's decision columns."""

    tree: ScenarioTree
    objective_kind: str
    target: float
    status: str
    objective: float | None
    # max_spending: the CVaR, the mean sustained spending of the worst beta share of the
    # scenarios (the objective without its tie-breaks), and ell, a beta-quantile of them.
    cvar: float | None
    level: float | None
    sustained: np.ndarray  # (N,) lowest real retirement spending of each scenario
    estate: np.ndarray  # (N,) after-tax estate, today's dollars
    lifetime_tax: np.ndarray  # (N,) today's dollars
    first_year: dict = field(default_factory=dict)
    rows: int = 0
    columns: int = 0
    nonzeros: int = 0
    build_seconds: float = 0.0
    solve_seconds: float = 0.0
    # Scenarios in the final LP (tail_start); the others were checked one by one.
    tail_scenarios: int = 0
    seed: int | None = None
    returns: str = ""
    # Which of optimize's `candidates` trees this is (0-based; its paths were drawn from
    # candidate_seed(seed, candidate)) and how many were solved.
    candidate: int = 0
    candidates: int = 1
    # choose_by_validation: {candidate name: safe spending at `target` on the validation
    # paths, today's dollars} ("deterministic" among them), the paths and the name kept.
    validation: dict[str, float] = field(default_factory=dict)
    validation_paths: int = 0
    chosen: str = ""

    @property
    def name(self) -> str:
        """This candidate's name in `validation` and `chosen`."""
        return candidate_name(self.candidate)

    @property
    def kept(self) -> bool:
        """True when the result's plan is this candidate's (not the deterministic one)."""
        return self.chosen in ("", self.name)

    def table(self) -> pd.DataFrame:
        """Percentiles across scenarios of sustained spending, estate and lifetime tax."""
        rows = []
        for p in PERCENTILES:
            rows.append(
                {
                    "percentile": p,
                    "sustained_spending": float(np.percentile(self.sustained, p)),
                    "after_tax_estate": float(np.percentile(self.estate, p)),
                    "lifetime_tax": float(np.percentile(self.lifetime_tax, p)),
                }
            )
        rows.append(
            {
                "percentile": "mean",
                "sustained_spending": float(self.sustained.mean()),
                "after_tax_estate": float(self.estate.mean()),
                "lifetime_tax": float(self.lifetime_tax.mean()),
            }
        )
        return pd.DataFrame(rows)

    def as_dict(self) -> dict:
        return {
            "scenarios": self.tree.scenarios,
            "tree": self.tree.describe(),
            "branch_years": list(self.tree.branch_years),
            "branching": list(self.tree.branching),
            "objective": self.objective_rule(),
            "target": self.target,
            "status": self.status,
            "cvar": self.cvar,
            "level": self.level,
            "seed": self.seed,
            "returns": self.returns,
            "rows": self.rows,
            "columns": self.columns,
            "nonzeros": self.nonzeros,
            "build_seconds": self.build_seconds,
            "solve_seconds": self.solve_seconds,
            "tail_scenarios": self.tail_scenarios,
            "candidate": self.name,
            "candidates": self.candidates,
            "seed_stream": (
                None if self.seed is None else [self.seed, SCENARIO_STREAM, self.candidate]
            ),
            "validation": self.validation,
            "validation_paths": self.validation_paths,
            "chosen": self.chosen or self.name,
            "distribution": self.table().to_dict(orient="records"),
        }

    def objective_rule(self) -> str:
        if self.objective_kind == "max_spending":
            beta = 1.0 - self.target
            return (
                f"CVaR: the mean of the worst {beta:.0%} of the scenarios' sustained "
                "spending, ell - 1/(beta N) sum_s max(0, ell - m_s)"
            )
        return f"{self.objective_kind}: the mean over the scenarios"


@dataclass
class _Combined:
    """The scenario models merged into one LP (a stand-in for ModelContext in solve)."""

    prob: pulp.LpProblem
    binaries: int = 0


def solve_scenarios(
    plan: Plan,
    rules: RuleSet,
    tree: ScenarioTree,
    returns: np.ndarray,
    target: float,
    solver: str = "highs",
    policy_tax: dict[int, float] | None = None,
    seed: int | None = None,
    returns_text: str = "",
) -> ScenarioSolution:
    """Build the scenario model on `returns` (N, years, tiers), solve it, read it."""
    started = time.perf_counter()

    def scenario_model(s: int) -> ModelContext:
        return build_model(plan, rules, "fast", None, policy_tax, path_growth(plan, returns[s]))

    n = tree.scenarios
    fan = len(tree.branching) == 1
    subset = tail_start(plan, returns, target) if fan else list(range(n))
    if plan.objective.kind != "max_spending":
        subset = list(range(n))
    checks: dict[int, ModelContext] = {}
    build_seconds = solve_seconds = 0.0
    while True:
        contexts = [scenario_model(s) for s in subset]
        sub_tree = (
            tree
            if len(subset) == n
            else ScenarioTree(tree.years, tree.branch_years, (len(subset),))
        )
        shared = _shared_columns(sub_tree, contexts)
        combined, level, cvar = _combine(plan, contexts, shared, target, n)
        build_seconds += time.perf_counter() - started
        report = solve(combined, solver, options=SCENARIO_OPTIONS)
        solve_seconds += report.seconds
        started = time.perf_counter()
        if report.status not in ("optimal", "feasible"):
            _explain_unsolved(plan, tree, report.status, scenario_model, solver)
        for var, rep in shared.items():
            var.varValue = rep.varValue
        if len(subset) == n:
            break
        ell = float(level.varValue or 0.0)
        added = _below_the_tail(contexts[0], ell, n, subset, checks, scenario_model, solver)
        if not added:
            break
        subset = sorted(subset + added)
    by_scenario = dict(zip(subset, contexts, strict=True)) | {
        s: ctx for s, ctx in checks.items() if s not in subset
    }
    sustained, estate, tax = _outcomes(plan, [by_scenario[s] for s in range(n)])
    lp = combined.prob
    return ScenarioSolution(
        tree=tree,
        objective_kind=plan.objective.kind,
        target=target,
        status=report.status,
        objective=report.objective,
        cvar=None if cvar is None else float(pulp.value(cvar)),
        level=None if level is None else float(level.varValue or 0.0),
        sustained=sustained,
        estate=estate,
        lifetime_tax=tax,
        first_year=first_year_decisions(contexts[0]),
        rows=len(lp.constraints),
        columns=len(lp.variables()),
        nonzeros=sum(len(c) for c in lp.constraints.values()),
        build_seconds=build_seconds,
        solve_seconds=solve_seconds,
        tail_scenarios=len(subset),
        seed=seed,
        returns=returns_text,
    )


def _explain_unsolved(plan: Plan, tree: ScenarioTree, status: str, scenario_model, solver: str):
    """Raise the error of a scenario model that did not solve, naming what no plan can meet
    on which paths: each scenario's model is solved alone to count those that fail."""
    from taxopt.errors import SolverError

    failing = [
        s
        for s in range(tree.scenarios)
        if solve(scenario_model(s), solver, options=SCENARIO_OPTIONS).status
        not in ("optimal", "feasible")
    ]
    objective = plan.objective
    if objective.kind == "max_spending":
        needs = f"a bequest floor of ${objective.bequest_floor:,.0f}"
    else:
        rate = getattr(plan.withdrawal, "rate", None)
        policy = plan.withdrawal.policy + (f" at {rate:.2%}" if rate else "")
        needs = f"the withdrawal policy's spending ({policy})"
        if objective.bequest_floor:
            needs += f" and a bequest floor of ${objective.bequest_floor:,.0f}"
    if not failing:
        raise SolverError(
            f"the scenario model ({tree.describe()}) ended '{status}', though each "
            "scenario solves alone: try fewer scenarios or without --scenarios"
        )
    fix = (
        "lower the bequest floor"
        if objective.kind == "max_spending"
        else 'lower the withdrawal rate, or use objective kind = "max_spending" (it finds '
        "the spending the paths can sustain)"
    )
    raise SolverError(
        f"--scenarios: {len(failing)} of the {tree.scenarios} scenario paths cannot meet "
        f"{needs} and the plan's fixed contributions on any plan (scenario "
        f"{', '.join(str(s) for s in failing[:5])}{', ...' if len(failing) > 5 else ''}); "
        f"a scenario plan must meet them on every path: {fix}, or run without --scenarios"
    )


def path_growth(plan: Plan, path: np.ndarray) -> dict[str, dict[int, float]]:
    """{tier: {year: 1 + return}} of one path (years, tiers)."""
    return {
        tier.name: {year: 1.0 + float(path[i, k]) for i, year in enumerate(plan.years)}
        for k, tier in enumerate(plan.tiers)
    }


def _shared_columns(tree: ScenarioTree, contexts: list[ModelContext]) -> dict:
    """{column of scenario s: the same column of the node's first scenario} for every
    year-indexed column whose node s does not lead; the rest are renamed s<k>_..."""
    shared: dict = {}
    for s, ctx in enumerate(contexts):
        for name in ctx.variables:
            family = ctx.variables[name]
            position = family.dims.index("year") if "year" in family.dims else None
            for key, var in family.items.items():
                if position is not None:
                    year = key[position] if len(family.dims) > 1 else key
                    rep = tree.representative(s, year)
                    if rep != s:
                        shared[var] = contexts[rep].variables[name][key]
                        continue
                var.name = f"s{s}_{var.name}"
    return shared


def _combine(plan: Plan, contexts: list[ModelContext], shared: dict, target: float, total: int = 0):
    """One LP: every scenario's rows on shared columns (duplicates once) and the objective
    of the module doc; returns it, ell and the CVaR expression (max_spending; else None).
    `total` N when `contexts` are a subset of the scenarios (tail_start): the weights are
    the whole set's, the left-out scenarios' u_s being 0."""
    n = total or len(contexts)
    prob = pulp.LpProblem("scenarios", pulp.LpMaximize)
    seen: set = set()
    for s, ctx in enumerate(contexts):
        for name, con in ctx.prob.constraints.items():
            items = list(con.items())
            if any(v in shared for v, _ in items):
                items = [(shared.get(v, v), c) for v, c in items]
                signature = (con.sense, con.constant, frozenset((id(v), c) for v, c in items))
                if signature in seen:
                    continue
                seen.add(signature)
                con = pulp.LpConstraint(
                    pulp.LpAffineExpression(items, constant=con.constant), sense=con.sense
                )
            prob.addConstraint(con, f"s{s}_{name}")
    objective: dict = {}
    level = cvar = None
    # Every scenario's own objective, averaged, as a maximization (min_tax negated).
    sign = 1.0 if contexts[0].prob.sense == pulp.LpMaximize else -1.0
    for ctx in contexts:
        for var, coef in ctx.prob.objective.items():
            var = shared.get(var, var)
            objective[var] = objective.get(var, 0.0) + sign * coef / n
    if plan.objective.kind == "max_spending":
        level = pulp.LpVariable("cvar_level_real")
        beta = max(1.0 - target, 0.5 / n)  # below 1/N the CVaR is the worst scenario anyway
        objective[level] = 1.0
        cvar = pulp.LpAffineExpression([(level, 1.0)])
        for s, ctx in enumerate(contexts):
            m = ctx.variables["spending_level"][()]
            objective[m] = objective.get(m, 0.0) - 1.0 / n  # only through u_s (module doc)
            u = pulp.LpVariable(f"cvar_shortfall_s{s}", lowBound=0)
            objective[u] = -1.0 / (beta * n)
            cvar += -1.0 / (beta * n) * u
            prob.addConstraint(u - level + m >= 0, f"cvar_shortfall_s{s}")
    prob.setObjective(pulp.LpAffineExpression([(v, c) for v, c in objective.items() if c]))
    return _Combined(prob), level, cvar


def _outcomes(plan: Plan, contexts: list[ModelContext]):
    """(sustained real retirement spending, after-tax estate, lifetime tax) per scenario,
    today's dollars, from each scenario's solved columns."""
    sustained, estate, tax = [], [], []
    for ctx in contexts:
        solution = ctx.solution()
        spend = ctx.variables["spend"].read(solution)
        retired = [spend[y] / ctx.inflation[y] for y in ctx.years if ctx.is_retired(y)]
        sustained.append(min(retired) if retired else 0.0)
        estate.append(float(pulp.value(ctx.expressions["estate_real"][()])))
        taxes = ctx.variables["tax"].read(solution)
        tax.append(sum(taxes[y] / ctx.inflation[y] for y in ctx.years))
    return np.array(sustained), np.array(estate), np.array(tax)


def first_year_decisions(ctx: ModelContext) -> dict:
    """{(family, key): value} of the first year's decision columns (nominal dollars)."""
    solution = ctx.solution()
    out = {}
    for name in DECISION_FAMILIES:
        for key, value in ctx.variables[name].read(solution).items():
            if key[0] == ctx.first_year:
                out[name, key] = value
    return out


def pin_first_year(ctx: ModelContext, decisions: dict, slack: float = 0.01) -> None:
    """Bound each first-year decision column of a (deterministic) model to its scenario
    value within `slack` dollars: the re-plan keeps this year's decisions."""
    for (name, key), value in decisions.items():
        var = ctx.variables[name].get(key)
        if var is None:
            continue
        low = value - slack
        if var.lowBound is not None:
            low = max(low, var.lowBound)
        var.lowBound = low
        var.upBound = max(value + slack, low)


def validation_returns(result, paths: int, seed: int | None) -> np.ndarray:
    """(paths, years, tiers) lognormal returns for validation, seeded by the stream
    SeedSequence((seed, VALIDATION_STREAM)) (fresh entropy when seed is None)."""
    from taxopt.simulate import policy_from_result, sample_returns

    stream = None if seed is None else np.random.SeedSequence((seed, VALIDATION_STREAM))
    return sample_returns(policy_from_result(result), Lognormal(), paths, stream)


def safe_spending(result, returns: np.ndarray, target: float) -> float:
    """The plan's safe spending on `returns`: its decisions every year (the later years'
    as planned), the highest constant real spending met on `target` of the paths (today's
    dollars, within taxopt.stress.TOLERANCE)."""
    from taxopt.simulate import meets_level, policy_from_result
    from taxopt.stress import TOLERANCE, safe_level

    policy = policy_from_result(result)
    start = result.figures.sustainable_spending
    met = meets_level(policy, returns, start)
    return safe_level(policy, returns, target, start, met, TOLERANCE)


def candidate_name(candidate: int) -> str:
    """How candidate `candidate` (0-based) is named to the user: 'candidate 1', ..."""
    return f"candidate {candidate + 1}"


def choose_by_validation(
    solved: ScenarioSolution, candidates: dict, paths: int, target: float, seed: int | None
) -> str:
    """The candidate plan (optimize Results by name, "deterministic" among them) with the
    highest safe spending at `target` on `paths` validation paths, all replayed on the
    same paths; ties go to the deterministic plan, and so does any lead of
    VALIDATION_MARGIN or less. Records every figure in `solved`."""
    returns = validation_returns(candidates["deterministic"], paths, seed)
    solved.validation = {
        name: safe_spending(result, returns, target) for name, result in candidates.items()
    }
    solved.validation_paths = paths
    best = max(solved.validation, key=solved.validation.__getitem__)
    bar = solved.validation["deterministic"] * (1.0 + VALIDATION_MARGIN)
    solved.chosen = best if solved.validation[best] > bar else "deterministic"
    return solved.chosen


def best_candidate(solutions: list[ScenarioSolution]) -> ScenarioSolution:
    """The candidate with the highest validation figure (the first when none has one),
    given the validation record of solutions[0] (choose_by_validation), which it shares
    with every candidate."""
    record = solutions[0]
    for solved in solutions[1:]:
        solved.validation = record.validation
        solved.validation_paths = record.validation_paths
        solved.chosen = record.chosen
    if not record.validation:
        return record
    return max(solutions, key=lambda s: record.validation.get(s.name, -math.inf))


def tail_start(plan: Plan, returns: np.ndarray, target: float) -> list[int]:
    """The scenarios the fan's first LP holds: the ceil(2 beta N) (at least 2) whose
    profile-weighted growth over the horizon is lowest, the likely lower tail. Others
    join if their check falls below the tail (_below_the_tail), so the start only sets
    how many rounds that takes, not the answer."""
    n = returns.shape[0]
    beta = max(1.0 - target, 0.5 / n)
    size = min(n, max(2, math.ceil(2 * beta * n)))
    weights = plan.profile.weights
    w = np.array([weights.get(t.name, 0.0) for t in plan.tiers])
    growth = np.log1p(returns @ w).sum(axis=1)
    return sorted(np.argsort(growth, kind="stable")[:size].tolist())


def _below_the_tail(
    first: ModelContext, level: float, n: int, subset, checks: dict, scenario_model, solver
) -> list[int]:
    """Scenarios outside `subset` (of n) that, keeping `first`'s first-year columns,
    sustain less than the tail's level ell less TAIL_TOLERANCE (or cannot keep them at
    all). Each is its own fast LP (cached in `checks`, re-solved as ell and the first year
    move). When none is below, the subset LP's answer is the whole fan's: the left-out
    scenarios have u_s = max(0, ell - m_s) = 0, and leaving scenarios out only relaxes
    the LP (fewer rows, fewer u_s >= 0 penalties), so no plan of the fan does better."""
    fixed = {}
    for name in first.variables:
        family = first.variables[name]
        if "year" not in family.dims:
            continue
        position = family.dims.index("year")
        for key, var in family.items.items():
            year = key[position] if len(family.dims) > 1 else key
            if year == first.first_year:
                fixed[name, key] = var.varValue or 0.0
    below = []
    for s in range(n):
        if s in subset:
            continue
        ctx = checks.get(s) or scenario_model(s)
        checks[s] = ctx
        for (name, key), value in fixed.items():
            var = ctx.variables[name][key]
            var.lowBound = var.upBound = value
        report = solve(ctx, solver, options=SCENARIO_OPTIONS)
        sustained = ctx.variables["spending_level"][()].varValue
        if report.status != "optimal" or sustained is None or sustained < level - TAIL_TOLERANCE:
            below.append(s)
    return below
