"""Invariants over generated plans, each solved by the real solver and replayed by the ledger.

- exact mode: the model's tax, spending, gains and balances equal the ledger's within $1;
- RMDs are met; no holding is negative; money is conserved each year.
"""

from __future__ import annotations

import pytest
from circles_witness import independent_circles
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from taxopt import InfeasiblePlanError, load_rules, optimize
from taxopt.plan import plan_from_dict

RULES = load_rules("us-federal-2026")

amounts = st.integers(min_value=0, max_value=600_000).map(float)


@st.composite
def plans(draw):
    start = 2026
    n_people = draw(st.integers(1, 2))
    ages = [draw(st.integers(47, 80)) for _ in range(n_people)]
    people = [{"name": f"P{i}", "birth_year": start - age} for i, age in enumerate(ages)]
    retire_in = draw(st.integers(0, 4))
    horizon_years = draw(st.integers(4, 10))
    youngest = max(p["birth_year"] for p in people)
    tiers = [
        {
            "name": "stocks",
            "expected_return": draw(st.floats(0.02, 0.10)),
            "yield": 0.02,
            "yield_character": "qualified_dividends",
        },
        {
            "name": "staking",
            "expected_return": draw(st.floats(0.02, 0.12)),
            "yield": draw(st.floats(0.0, 0.05)),
            "yield_character": "ordinary",
        },
        {"name": "cash", "expected_return": 0.03, "yield": 0.03, "yield_character": "ordinary"},
    ]
    w = draw(st.floats(0.2, 0.8))
    accounts = []
    owner = people[0]["name"]
    for kind in ("traditional_ira", "roth_ira", "taxable"):
        if draw(st.booleans()) or kind == "taxable":
            balances = {"stocks": draw(amounts), "staking": draw(amounts), "cash": draw(amounts)}
            account = {"name": kind.split("_")[0], "kind": kind, "balances": balances}
            if kind == "taxable":
                fraction = draw(st.floats(0.1, 1.0))
                account["basis"] = {t: v * fraction for t, v in balances.items()}
            else:
                account["owner"] = owner
            accounts.append(account)
    assume(sum(sum(a["balances"].values()) for a in accounts) > 50_000)
    objective = draw(st.sampled_from(["max_spending", "max_estate", "min_tax"]))
    return {
        "name": "generated",
        "filing_status": "mfj" if n_people == 2 else "single",
        "start_year": start,
        "retirement_year": start + retire_in,
        "horizon_age": start + horizon_years - youngest,
        "inflation": draw(st.floats(0.0, 0.04)),
        "people": people,
        "tiers": tiers,
        "profile": {
            "weights": {"stocks": w, "staking": 1 - w},
            "reserve_tier": "cash",
            "reserve_min": 0.05,
            "reserve_max": 0.2,
            "tolerance": 0.05,
        },
        "accounts": accounts,
        "contributions": {"annual": draw(st.integers(0, 20_000))},
        "earnings": [{"person": owner, "annual": draw(st.integers(30_000, 250_000))}],
        "income": [
            {
                "name": "ss",
                "kind": "social_security",
                "owner": owner,
                "start_age": 67,
                "annual": draw(st.integers(0, 45_000)),
            }
        ],
        "withdrawal": {
            "policy": draw(st.sampled_from(["fixed_real", "constant_percentage"])),
            "rate": draw(st.floats(0.02, 0.05)),
            "basis": draw(st.sampled_from(["net", "gross"])),
            "rmd_surplus": draw(st.sampled_from(["reinvest", "spend"])),
        },
        "objective": {"kind": objective},
        "options": {"roth_conversions": draw(st.booleans())},
    }


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plans())
def test_generated_plans_keep_every_invariant(data):
    plan = plan_from_dict(data)
    try:
        result = optimize(plan, RULES, mode="exact", with_baselines=False)
    except InfeasiblePlanError:
        assume(False)
    errors = result.reconciliation.filter(like="_error").abs().max()
    assert errors.max() < 1.0, errors
    plan = result.plan  # with any account taxopt opened (RMD surplus, a Roth to convert into)

    holdings = result.ledger.holdings
    assert (holdings.post_trade >= -0.01).all()
    growth = {t.name: t.expected_return for t in plan.tiers}
    for row in result.yearly.itertuples():
        for account in plan.accounts:
            owner, opening = plan.owner(account.name), getattr(row, f"opening_{account.name}")
            required = (
                RULES.rmd_amount(account.kind, owner.age_in(row.year), owner.birth_year, opening)
                if owner is not None
                else 0.0
            )
            assert getattr(row, f"withdrawal_{account.name}") >= required - 0.01
        at = holdings[holdings.year == row.year]
        opening = sum(getattr(row, f"opening_{a.name}") for a in plan.accounts)
        assert at.post_trade.sum() == pytest.approx(
            opening + row.contributions - row.withdrawals, abs=0.01
        )
        grown = sum(h.post_trade * (1 + growth[h.tier]) for h in at.itertuples())
        assert grown == pytest.approx(row.portfolio_closing, abs=0.01)
    assert not result.warnings
    # Spending never below what the plan's rule sets (from the ledger's balances).
    assert (result.spending_check.margin.dropna() >= -1.0).all()
    # Every circle of money is reported, and kept only with a reason.
    kept = {
        (c.year, c.kind, c.account, c.tier if isinstance(c.tier, str) else None)
        for c in result.circles.itertuples()
    }
    assert independent_circles(plan, RULES, result) == kept
    assert all(c.why for c in result.circles.itertuples())
