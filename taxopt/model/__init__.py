"""The optimization model, assembled from one component per concern.

plan + rules -> ModelContext -> components declare their variable families (phase 1), then
add their constraint rows (phase 2) -> PuLP problem. Every row can so refer to any family;
the families and rows are named in taxopt.model.families. Phase 2 keeps the components'
order, so the rows reach the solver in the same order.
"""

from __future__ import annotations

import time

from taxopt.model.context import ModelContext
from taxopt.model.contributions import add_contributions
from taxopt.model.holdings import add_holdings, declare_holdings
from taxopt.model.marketplace import add_marketplace, declare_marketplace
from taxopt.model.medicare import add_medicare, declare_medicare
from taxopt.model.mix import add_mix
from taxopt.model.objective import add_objective
from taxopt.model.roth import add_roth_rules
from taxopt.model.state_taxes import add_state_taxes, declare_state_taxes
from taxopt.model.tax_free import add_tax_free, declare_tax_free
from taxopt.model.taxes import add_taxes, declare_taxes
from taxopt.model.withdrawals import add_withdrawals, declare_withdrawals
from taxopt.plan import Plan
from taxopt.rules import RuleSet

# Phase 1: every variable family (holdings first: the lots decide which sales exist).
VARIABLES = (
    declare_holdings,
    declare_withdrawals,
    declare_tax_free,
    declare_taxes,
    declare_state_taxes,
    declare_medicare,
    declare_marketplace,
)
# Phase 2: every constraint row, then the objective.
CONSTRAINTS = (
    add_holdings,
    add_contributions,
    add_withdrawals,
    add_roth_rules,
    add_tax_free,
    add_taxes,
    add_state_taxes,
    add_medicare,
    add_marketplace,
    add_mix,
    add_objective,
)


def build_model(
    plan: Plan,
    rules: RuleSet,
    mode: str | None = None,
    fixed_regime=None,
    gross_policy_tax: dict[int, float] | None = None,
    path_growth: dict[str, dict[int, float]] | None = None,
) -> ModelContext:
    """Build the whole model; `ctx.build_seconds` records how long it took.

    With `fixed_regime(name, year, rule) -> 0 | 1` the exact model's binaries are constants
    (see ModelContext.binary). `gross_policy_tax` {year: nominal dollars}: the gross
    basis's tax on the policy withdrawal itself (see model.withdrawals). `path_growth`
    {tier: {year: growth factor}}: one return path instead of the plan's deterministic
    returns (taxopt.scenarios builds one model per scenario).
    """
    started = time.perf_counter()
    ctx = ModelContext(plan, rules, mode, fixed_regime, gross_policy_tax, path_growth)
    for component in (*VARIABLES, *CONSTRAINTS):
        component(ctx)
    ctx.build_seconds = time.perf_counter() - started
    return ctx


__all__ = ["ModelContext", "build_model"]
