"""Why a plan is infeasible, in words: which requirement fails and the closest feasible value.

Relaxes one requirement at a time and re-solves the fast LP: the bequest floor, then the
fixed contributions, then the withdrawal policy's spending, then the portfolio mix. The
closest feasible value is found by bisection to within a dollar (a rate: a dollar of the
first year's policy amount) and reported rounded down to the dollar, so it is feasible.
Feasibility is the fast LP's: its tax approximations (see model.taxes) can move the limit
by a little where Social Security, NIIT or a phase-out binds.
"""

from __future__ import annotations

import math

from taxopt.model import build_model
from taxopt.plan import Plan, policy_applies
from taxopt.rules import RuleSet
from taxopt.solve import solve
from taxopt.spending import fixed_policy_amounts, gross_policy_tax

RESOLUTION = 1.0  # dollars: the closest feasible value is resolved to this
MAX_BISECTIONS = 40


def _feasible(plan: Plan, rules: RuleSet) -> tuple[bool, float | None, object]:
    policy_tax = None
    if policy_applies(plan) and plan.withdrawal.basis == "gross":
        amounts = fixed_policy_amounts(plan, rules)
        policy_tax = gross_policy_tax(plan, rules, amounts) if amounts is not None else None
    ctx = build_model(plan, rules, "fast", gross_policy_tax=policy_tax)
    report = solve(ctx)
    ok = report.status in ("optimal", "feasible")
    return ok, report.objective, ctx


def _with(plan: Plan, **changes) -> Plan:
    data = plan.model_dump(by_alias=True)
    for path, value in changes.items():
        target = data
        *parents, leaf = path.split("__")
        for key in parents:
            target = target[int(key)] if isinstance(target, list) else target[key]
        target[leaf] = value
    return Plan.model_validate(data)


def _highest(feasible, low: float, high: float, step: float) -> float:
    """Bisect for the highest feasible value in [low, high] (low feasible, high not) until
    the bracket is narrower than `step`; returns the feasible end."""
    for _ in range(MAX_BISECTIONS):
        if high - low <= step:
            break
        mid = (low + high) / 2
        low, high = (mid, high) if feasible(mid) else (low, mid)
    return low


def _highest_dollars(feasible, low: float, high: float) -> int:
    """The highest feasible whole-dollar value in [low, high) (low feasible, high not)."""
    low, high = math.floor(low), math.ceil(high)
    for _ in range(MAX_BISECTIONS):
        if high - low <= 1:
            break
        mid = (low + high) // 2
        low, high = (mid, high) if feasible(mid) else (low, mid)
    return low


ROTH_RULES_BIND = (
    " The Roth rules bind (IRC §408A(d), Pub. 590-B): before 59 1/2 only contributions and "
    "conversions five years old come out free, earnings only five years after the first Roth "
    "contribution, and taxopt plans no taxed Roth withdrawal; if more of the Roth money is "
    "contributions or older, state roth_contributions, roth_conversions or "
    "roth_first_contribution_year."
)
ROTH_PROBE = 1e-3  # relative step beyond the closest feasible value
# closest-feasible key -> (plan field path for _with, absolute step beyond the value)
_CLOSEST_FIELDS = {
    "bequest_floor": ("objective__bequest_floor", 1.0),
    "withdrawal_amount": ("withdrawal__amount", 1.0),
    "withdrawal_rate": ("withdrawal__rate", 1e-5),
}


def explain_infeasibility(plan: Plan, rules: RuleSet) -> tuple[str, dict]:
    """(message, closest feasible values) for a plan whose model is infeasible; says so
    when the Roth rules are what makes the plan's requirement unreachable."""
    message, closest = _explain_requirement(plan, rules)
    if rules.roth_distributions is not None:
        # Just beyond the closest feasible value, would a taxed Roth withdrawal help?
        beyond = {
            path: value * (1 + ROTH_PROBE) + step
            for key, value in closest.items()
            for path, step in [_CLOSEST_FIELDS.get(key, (None, 0.0))]
            if path is not None
        }
        without = rules.model_copy(update={"roth_distributions": None})
        if _feasible(_with(plan, **beyond), without)[0]:
            message += ROTH_RULES_BIND
    return message, closest


def _explain_requirement(plan: Plan, rules: RuleSet) -> tuple[str, dict]:
    """The first requirement whose relaxation makes the plan feasible, and how far."""
    for diagnosis in (_bequest_diagnosis, _contribution_diagnosis, _policy_diagnosis):
        found = diagnosis(plan, rules)
        if found is not None:
            return found
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


def _bequest_diagnosis(plan: Plan, rules: RuleSet) -> tuple[str, dict] | None:
    """The floor binds when the plan is feasible without it: the most it can leave."""
    floor = plan.objective.bequest_floor
    if floor <= 0:
        return None
    relaxed = _with(plan, objective__bequest_floor=0.0)
    if not _feasible(relaxed, rules)[0]:
        return None
    best = relaxed
    if plan.objective.kind == "max_spending":
        # The highest estate when retirement spends nothing beyond what it must.
        best = _with(
            relaxed,
            objective__kind="max_estate",
            withdrawal__policy="fixed_amount",
            withdrawal__amount=0.0,
            withdrawal__basis="net",
        )
    elif plan.objective.kind == "min_tax":
        best = _with(relaxed, objective__kind="max_estate")
    ok, estate, _ = _feasible(best, rules)
    if not ok or estate is None:
        return None
    most = math.floor(estate)
    return (
        f"objective.bequest_floor: an after-tax estate of ${floor:,.0f} (today's dollars) "
        f"cannot be left; the most this plan can leave is ${most:,}. Lower the floor or save "
        "more.",
        {"bequest_floor": float(most)},
    )


def _contribution_diagnosis(plan: Plan, rules: RuleSet) -> tuple[str, dict] | None:
    """A fixed contribution binds when the plan is feasible without it: the most it can be."""
    fixed = plan.contributions.fixed
    if not fixed:
        return None
    zeroed = {f"contributions__fixed__{i}__annual": 0.0 for i in range(len(fixed))}
    if not _feasible(_with(plan, **zeroed), rules)[0]:
        return None
    for i, item in enumerate(fixed):
        others = {k: v for k, v in zeroed.items() if k != f"contributions__fixed__{i}__annual"}
        if _feasible(_with(plan, **others), rules)[0]:
            continue  # this one alone is fine

        def feasible(value: float, i: int = i) -> bool:
            changes = {**zeroed, f"contributions__fixed__{i}__annual": value}
            return _feasible(_with(plan, **changes), rules)[0]

        most = _highest_dollars(feasible, 0.0, item.annual)
        return (
            f"contributions.fixed[{i}].annual: ${item.annual:,.0f} a year (today's dollars) "
            f"into {item.account} cannot be contributed every year (its limit, or the "
            f"owner's wages); the most is ${most:,} a year.",
            {f"contributions_fixed_{i}_annual": float(most)},
        )
    return None


def _policy_diagnosis(plan: Plan, rules: RuleSet) -> tuple[str, dict] | None:
    """The policy's spending binds when a lower amount or rate is feasible: the highest."""
    if not policy_applies(plan):
        return None
    policy = plan.withdrawal
    field = "amount" if policy.policy == "fixed_amount" else "rate"
    asked = policy.amount if field == "amount" else policy.rate

    def feasible(value: float) -> bool:
        return _feasible(_with(plan, **{f"withdrawal__{field}": max(value, 1e-9)}), rules)[0]

    low = next((asked * f for f in (0.5, 0.25, 0.1, 0.0) if feasible(asked * f)), None)
    if low is None:
        return None
    # A rate is resolved to a dollar of the first year's amount on today's portfolio.
    scale = 1.0 if field == "amount" else max(1.0, sum(a.total for a in plan.accounts))
    if field == "amount":
        low = float(_highest_dollars(feasible, low, asked))
    else:
        low = _highest(feasible, low, asked, RESOLUTION / scale)

    def show(value: float) -> str:
        if field == "rate":
            return f"{value:.4%} (${math.floor(value * scale):,} a year on today's portfolio)"
        return f"${value:,.0f} a year"

    what = "after-tax spending" if policy.basis == "net" else "gross withdrawal"
    return (
        f"withdrawal.{field}: a {policy.policy} {what} of {show(asked)} cannot be sustained "
        f"to {plan.end_year} with taxes paid"
        f"{' and the bequest floor met' if plan.objective.bequest_floor else ''}; "
        f"the highest sustainable is {show(low)}.",
        {f"withdrawal_{field}": low},
    )
