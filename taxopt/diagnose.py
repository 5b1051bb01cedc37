"""Why a plan is infeasible, in words: which requirement fails and the closest feasible value.

Relaxes one requirement at a time and re-solves the fast LP: the bequest floor, then the
withdrawal policy (bisection on its rate or amount), then fixed contributions, then the
portfolio mix.
"""

from __future__ import annotations

from taxopt.model import build_model
from taxopt.plan import Plan
from taxopt.rules import RuleSet
from taxopt.solve import solve

BISECTION_STEPS = 14


def _feasible(plan: Plan, rules: RuleSet) -> tuple[bool, float | None, object]:
    ctx = build_model(plan, rules, "fast")
    report = solve(ctx)
    ok = report.status in ("optimal", "feasible")
    return ok, report.objective, ctx


def _with(plan: Plan, **changes) -> Plan:
    data = plan.model_dump(by_alias=True)
    for path, value in changes.items():
        target = data
        *parents, leaf = path.split("__")
        for key in parents:
            target = target[key]
        target[leaf] = value
    return Plan.model_validate(data)


def explain_infeasibility(plan: Plan, rules: RuleSet) -> tuple[str, dict]:
    """(message, closest feasible values) for a plan whose model is infeasible."""
    floor = plan.objective.bequest_floor
    if floor > 0:
        relaxed = _with(plan, objective__bequest_floor=0.0)
        ok, _objective, ctx = _feasible(relaxed, rules)
        if ok:
            best = (
                _with(relaxed, objective__kind="max_estate")
                if plan.objective.kind == "max_spending"
                else relaxed
            )
            if plan.objective.kind == "max_spending":
                # Highest estate when spending is only what retirement requires of nothing more.
                best = _with(best, withdrawal__policy="fixed_amount", withdrawal__amount=0.0)
            ok_best, estate, _ = _feasible(best, rules)
            if ok_best and estate is not None:
                return (
                    f"objective.bequest_floor: an after-tax estate of ${floor:,.0f} (today's "
                    f"dollars) cannot be left; the most this plan can leave is ${estate:,.0f}. "
                    f"Lower the floor or save more.",
                    {"bequest_floor": estate},
                )
    if plan.objective.kind != "max_spending":
        found = _policy_diagnosis(plan, rules)
        if found is not None:
            return found
    if plan.contributions.fixed:
        ok, _, _ = _feasible(_with(plan, contributions__fixed=[]), rules)
        if ok:
            return (
                "contributions.fixed: the fixed contributions cannot all be made in some year "
                "(with the year's savings, the accounts' limits and the owners' wages); "
                "lower them or end them earlier with until_year.",
                {},
            )
    loose = _with(
        plan,
        profile__tolerance=1.0,
        profile__reserve_min=0.0,
        profile__reserve_max=1.0 if plan.profile.reserve_tier else 0.0,
    )
    ok, _, _ = _feasible(loose, rules)
    if ok:
        return (
            "profile: the portfolio mix (weights within the tolerance and the reserve band) "
            "cannot be held every year; widen profile.tolerance or the reserve band.",
            {},
        )
    return (
        "the plan's requirements cannot all be met together (contributions, RMDs, "
        "spending and mix); check the plan's amounts and years.",
        {},
    )


def _policy_diagnosis(plan: Plan, rules: RuleSet) -> tuple[str, dict] | None:
    """Find a feasible withdrawal below the plan's and bisect up to the highest one."""
    policy = plan.withdrawal
    field = "amount" if policy.policy == "fixed_amount" else "rate"
    asked = policy.amount if field == "amount" else policy.rate

    def feasible(value: float) -> bool:
        return _feasible(_with(plan, **{f"withdrawal__{field}": max(value, 1e-9)}), rules)[0]

    low = next((asked * f for f in (0.5, 0.25, 0.1, 0.0) if feasible(asked * f)), None)
    if low is None:
        return None
    high = asked
    for _ in range(BISECTION_STEPS):
        mid = (low + high) / 2
        low, high = (mid, high) if feasible(mid) else (low, mid)

    def show(value: float) -> str:
        return f"{value:.2%}" if field == "rate" else f"${value:,.0f} a year"

    return (
        f"withdrawal.{field}: a {policy.policy} withdrawal of {show(asked)} cannot be sustained "
        f"to {plan.end_year} with taxes paid"
        f"{' and the bequest floor met' if plan.objective.bequest_floor else ''}; "
        f"the highest sustainable is {show(low)}.",
        {f"withdrawal_{field}": low},
    )
