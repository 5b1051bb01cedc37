"""Social Security claiming ages as a decision: a search over whole ages, outside the LP.

A benefit given by `pia_annual` with `claim_age = "optimize"` has its claiming age chosen
here. Every solve sees the benefit as a fixed flow (pia_annual x the rule set's factor for
the age, from the year the owner reaches it), so the model's taxation of benefits, the
ledger's replay and every report read the same numbers: model and ledger agree exactly for
the chosen claim as for any pinned one. Binaries inside the MILP would make the benefit a
variable, and its taxable part (IRC §86: a share of provisional income that itself holds
half the benefit) a product of variables; a search over at most nine ages a person keeps
the model as it is.

The search (optimize_claims):
1. screen: the fast LP (convex approximations of the kinks) solved for each claiming age
   of one person with the others' fixed, each plan scored by its ledger on the plan's own
   objective (taxopt.optimize.plan_score); for a couple, person by person, again while an
   age changes (coordinate-wise);
2. confirm: from the screen's best, the full search in the plan's mode (exact: the regime
   search, rules of thumb and all) climbs: each person's age one year either side is
   re-solved, the best becomes the centre, until none beats it (at most CONFIRM full
   searches; the fast screen's ledger scores are rough, the full search's are the plan's).
   Fast mode takes the screen's best.
The result's `claiming` table lists each assignment tried with its objective (screen and,
when confirmed, exact); its notes say why the age chosen beat the next best.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import pandas as pd

from taxopt import progress
from taxopt.cashflows import claim_of
from taxopt.errors import InfeasiblePlanError
from taxopt.plan import Plan, with_implied_roths, with_implied_taxable
from taxopt.rules import RuleSet

CONFIRM = 6  # full searches (exact mode) at most, climbing from the screen's best
ROUNDS = 3  # coordinate-wise passes over a couple's ages, at most

TABLE_FIGURES = ("objective_screen", "objective_confirmed", "chosen")
Assignment = tuple[int, ...]  # a claiming age per stream to choose, in plan order


def claims_to_choose(plan: Plan) -> list[int]:
    """Indexes in plan.income of the benefits whose claiming age the optimizer chooses."""
    return [i for i, s in enumerate(plan.income) if s.claim_to_choose]


def candidate_ages(plan: Plan, rules: RuleSet, index: int) -> list[int]:
    """The whole claiming ages worth trying for stream `index`: the rule set's ages from
    the owner's age today (a claim cannot start in the past) to the last one the plan's
    years can pay; the rule set's last age when the owner is past it (claimed now)."""
    stream = plan.income[index]
    born = plan.person(stream.owner).birth_year
    ages = list(rules.social_security.claim_ages())
    future = [a for a in ages if plan.start_year <= born + a <= plan.end_year]
    if future:
        return future
    return [ages[-1]] if born + ages[-1] < plan.start_year else [ages[0]]


def with_claims(plan: Plan, indexes: list[int], ages: Assignment) -> Plan:
    """The plan with each chosen stream's claiming age pinned to `ages`."""
    income = list(plan.income)
    for i, age in zip(indexes, ages, strict=True):
        income[i] = income[i].model_copy(update={"claim_age": age})
    return plan.model_copy(update={"income": income})


def optimize_claims(
    plan: Plan,
    rules: RuleSet,
    mode: str,
    solver: str,
    run: Callable[[Plan], object],
    finish: Callable[[object], object],
):
    """The Result of the best claiming ages (module doc). `run(plan)` is the full search
    of a plan whose ages are pinned (optimize without the stress test); `finish(result)`
    adds what only the final plan needs (the stress test)."""
    started = time.perf_counter()
    indexes = claims_to_choose(plan)
    owners = [plan.income[i].owner for i in indexes]
    screened = _screen(plan, rules, solver, indexes)
    ranked = sorted(
        (a for a, s in screened.items() if s is not None),
        key=lambda a: screened[a],
        reverse=True,
    )
    start = (ranked or list(screened))[0]
    candidates = [candidate_ages(plan, rules, i) for i in indexes]
    exact: dict[Assignment, float] = {}
    best, best_result, error = None, None, None
    pending = [start]
    while pending and len(exact) < (CONFIRM if mode == "exact" else 1):
        ages = pending.pop(0)
        if best_result is not None and progress.out_of_time():
            break
        progress.step(f"claiming: confirming {_label(owners, ages)} ({mode} search)")
        try:
            result = run(with_claims(plan, indexes, ages))
        except InfeasiblePlanError as exc:
            error = error or exc
            exact[ages] = float("-inf")
            if best_result is None:  # no plan yet: the screen's next best
                pending = [a for a in ranked if a not in exact][:1]
            continue
        exact[ages] = score = result_score(result)
        if best_result is None or score > exact[best]:
            best, best_result = ages, result
            pending = [a for a in _neighbours(best, candidates) if a not in exact]
    if best_result is None:
        raise error
    chosen_seconds = best_result.total_seconds
    result = finish(best_result)
    result.claiming = _table(plan, owners, screened, exact, best)
    result.notes += [
        f"claiming: {owner} claims Social Security at {age}, {why}"
        for (owner, why), age in zip(
            claim_reasons(plan, result.claiming).items(), best, strict=True
        )
    ]
    result.claiming_seconds = time.perf_counter() - started - chosen_seconds
    result.total_seconds = time.perf_counter() - started
    return result


def _neighbours(ages: Assignment, candidates: list[list[int]]) -> list[Assignment]:
    """Assignments one year away for one person, within each person's candidate ages."""
    out = []
    for k, age in enumerate(ages):
        for step in (-1, 1):
            if age + step in candidates[k]:
                out.append((*ages[:k], age + step, *ages[k + 1 :]))
    return out


def result_score(result) -> float:
    from taxopt.optimize import plan_score

    return plan_score(result.plan, result.rules, result.figures, result.ledger)


def _screen(
    plan: Plan, rules: RuleSet, solver: str, indexes: list[int]
) -> dict[Assignment, float | None]:
    """Step 1: the fast LP's score of each assignment tried, coordinate-wise from each
    person's full retirement age (None: no plan meets the plan's requirements)."""
    candidates = [candidate_ages(plan, rules, i) for i in indexes]
    current = tuple(
        min(c, key=lambda a, i=i: abs(a - claim_of(plan, plan.income[i], rules).claim_age))
        for c, i in zip(candidates, indexes, strict=True)
    )
    scores: dict[Assignment, float | None] = {}
    prepared = _prepared(plan, rules)
    for _round in range(ROUNDS):
        before = current
        for k, ages in enumerate(candidates):
            for age in ages:
                trial = (*current[:k], age, *current[k + 1 :])
                if trial not in scores and not (scores and progress.out_of_time()):
                    scores[trial] = _fast_score(
                        with_claims(prepared, indexes, trial), rules, solver
                    )
            tried = [(*current[:k], a, *current[k + 1 :]) for a in ages]
            feasible = [t for t in tried if scores.get(t) is not None]
            if feasible:
                current = max(feasible, key=lambda t: scores[t])  # the first of equals
        if current == before or len(indexes) == 1:
            break
    return scores


def _prepared(plan: Plan, rules: RuleSet) -> Plan:
    """The plan with the accounts optimize opens for it (so the screen solves its model)."""
    plan = with_implied_taxable(plan, rules)
    return with_implied_roths(plan, rules)[0]


def _fast_score(plan: Plan, rules: RuleSet, solver: str) -> float | None:
    """The fast LP's plan scored by its ledger on the plan's objective; None if infeasible."""
    from taxopt.ledger import replay
    from taxopt.model import build_model
    from taxopt.optimize import plan_score, read_decisions
    from taxopt.result import plan_figures
    from taxopt.solve import solve
    from taxopt.spending import fixed_policy_amounts, gross_policy_tax

    policy_tax = None
    if plan.objective.kind != "max_spending" and plan.withdrawal.basis == "gross":
        amounts = fixed_policy_amounts(plan, rules)
        policy_tax = gross_policy_tax(plan, rules, amounts) if amounts is not None else None
    ctx = build_model(plan, rules, "fast", None, policy_tax)
    report = solve(ctx, solver)
    if report.status not in ("optimal", "feasible"):
        return None
    ledger = replay(plan, rules, read_decisions(ctx))
    return plan_score(plan, rules, plan_figures(plan, ledger), ledger)


def _label(owners: list[str], ages: Assignment) -> str:
    return ", ".join(f"{o} at {a}" for o, a in zip(owners, ages, strict=True))


def _objective(plan: Plan, score: float | None) -> float | None:
    """A score (higher is better) in the plan's own terms: lifetime tax for min_tax."""
    if score is None:
        return None
    return -score if plan.objective.kind == "min_tax" else score


def _table(
    plan: Plan,
    owners: list[str],
    screened: dict[Assignment, float | None],
    exact: dict[Assignment, float],
    chosen: Assignment,
) -> pd.DataFrame:
    """One row per assignment tried: each owner's claiming age, the objective the fast
    LP's plan reaches (screen) and the full search's (exact, when confirmed), which won."""
    rows = []
    for ages in sorted(set(screened) | set(exact)):
        row = dict(zip(owners, ages, strict=True))
        row["objective_screen"] = _objective(plan, screened.get(ages))
        confirmed = exact.get(ages)
        row["objective_confirmed"] = _objective(plan, confirmed if confirmed != -math.inf else None)
        row["chosen"] = ages == chosen
        rows.append(row)
    return pd.DataFrame(rows)


def claim_reasons(plan: Plan, table: pd.DataFrame) -> dict[str, str]:
    """{person: why the claiming age chosen} from a `claiming` table: the ages tried with
    the others' ages as chosen, and what the age gains over the next best (the full
    search's figures when both were confirmed, else the fast LP screen's)."""
    from taxopt.optimize import score_text

    if table is None or table.empty:
        return {}
    owners = [c for c in table.columns if c not in TABLE_FIGURES]
    sign = -1.0 if plan.objective.kind == "min_tax" else 1.0
    chosen = table[table["chosen"]].iloc[0]
    reasons = {}
    for owner in owners:
        others = [o for o in owners if o != owner]
        rows = table[(table[others] == chosen[others]).all(axis=1)] if others else table
        ages = sorted(rows[owner])
        text = f"the best of ages {ages[0]}-{ages[-1]}" if len(ages) > 1 else "the only age"
        others_ages = rows[rows[owner] != chosen[owner]]
        rivals = others_ages[others_ages["objective_confirmed"].notna()]
        column, how = "objective_confirmed", "confirmed by the full search"
        if rivals.empty or chosen[column] != chosen[column]:
            rivals = others_ages[others_ages["objective_screen"].notna()]
            column, how = "objective_screen", "fast LP screen"
        if len(rivals):
            scores = sign * rivals[column]
            runner = rivals.loc[scores.idxmax()]
            gain = sign * (chosen[column] - runner[column])
            text += (
                f": it beats {int(runner[owner])}, the next best, by "
                f"{score_text(plan, gain)} ({how})"
            )
        reasons[owner] = text
    return reasons
