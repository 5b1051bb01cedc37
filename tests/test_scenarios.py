"""Scenario optimization (taxopt.scenarios): the tree, the CVaR objective, and the plan
it gives against the deterministic one. Every model here is solved by HiGHS."""

from __future__ import annotations

import numpy as np
import pytest
from test_optimize import EXAMPLES, small_plan

import taxopt
from taxopt.errors import InputError
from taxopt.model import build_model
from taxopt.optimize import _with_implied_accounts, optimize
from taxopt.plan import plan_from_dict
from taxopt.scenarios import (
    DEFAULT_CANDIDATES,
    MAX_CANDIDATES,
    SCENARIO_STREAM,
    ScenarioTree,
    candidate_seed,
    first_year_decisions,
    make_tree,
    sample_tree,
    solve_scenarios,
)
from taxopt.solve import solve


@pytest.fixture(scope="module")
def us2026():
    return taxopt.load_rules("us-federal-2026")


ROTH = {"name": "roth", "kind": "roth_ira", "owner": "Ann"}
WITH_IRA = [
    {**ROTH, "balances": {"safe": 50000, "risky": 50000}},
    {"name": "ira", "kind": "traditional_ira", "owner": "Ann", "balances": {"safe": 60000}},
]


def two_period_plan(**overrides):
    """Ann, 65, retired, a $100,000 Roth IRA held 50/50 in a safe tier (0%) and a risky
    one; 2026 and 2027 only (horizon age 66), no income, no inflation: no tax at all."""
    plan = small_plan(
        name="two periods",
        horizon_age=66,
        tiers=[
            {"name": "safe", "expected_return": 0.0, "volatility": 0.0},
            {"name": "risky", "expected_return": 0.05, "volatility": 0.2},
        ],
        profile={"weights": {"safe": 0.5, "risky": 0.5}, "tolerance": 0.0},
        accounts=[{**ROTH, "balances": {"safe": 50000, "risky": 50000}}],
        objective={"kind": "max_spending", "bequest_floor": 0.0},
        options={"roth_conversions": False, "mode": "fast"},
    )
    plan.pop("withdrawal")
    plan.update(overrides)
    return plan_from_dict(plan)


# Risky returns by scenario and year (the safe tier earns 0% on every path).
UP = {2026: 0.50, 2027: 0.10}
DOWN = {2026: -0.30, 2027: 0.00}


def _returns(*paths) -> np.ndarray:
    """(scenarios, years, tiers [safe, risky]) from {year: risky return} per scenario."""
    return np.array([[[0.0, path[y]] for y in (2026, 2027)] for path in paths])


def test_two_period_tree_by_hand(us2026):
    """Two scenarios branching in 2026 (a fan), target P = 0.5 so beta N = 1: the CVaR is
    the worse scenario's sustained spending. Enumerated by hand (today's dollars):

    2026 (shared by both scenarios: decided before any return): spend S1, hold
    h = 100,000 - S1, half in each tier (tolerance 0).
    - scenario UP:   2026 risky +50%: 2027 opening 1.25 h; 2027 risky +10%.
    - scenario DOWN: 2026 risky -30%: 2027 opening 0.85 h; 2027 risky +0%.
    Each scenario sustains m_s = min(S1, S2_s) with S2_s <= its 2027 opening. The
    objective max ell - sum_s max(0, ell - m_s) is m_DOWN at best (m_UP <= S1 too), and
    m_DOWN = min(S1, 0.85 (100,000 - S1)) is largest at S1 = 85,000 / 1.85 = 45,945.95.
    UP then spends 45,945.95 in 2027 (the estate tie-break keeps the rest) and leaves
    (1.25 x 54,054.05 - 45,945.95) x (0.5 x 1.00 + 0.5 x 1.10) = 22,702.70; DOWN spends
    its whole 45,945.95 and leaves nothing.

    Without the tree (each path deciding 2026 knowing its own returns) UP alone would spend
    125,000 / 2.25 = 55,555.56 in 2026: the shared first year is what the tree pins.
    """
    plan = two_period_plan()
    tree = make_tree(plan, 2)
    assert tree.branch_years == (2026,) and tree.branching == (2,)
    solved = solve_scenarios(plan, us2026, tree, _returns(UP, DOWN), target=0.5)
    s1 = 85000 / 1.85
    assert solved.cvar == pytest.approx(s1, abs=0.01)
    assert solved.sustained == pytest.approx([s1, s1], abs=0.01)
    assert solved.estate == pytest.approx([(1.25 * (100000 - s1) - s1) * 1.05, 0.0], abs=0.01)
    assert solved.lifetime_tax == pytest.approx([0.0, 0.0], abs=0.01)
    first = solved.first_year
    assert first["withdraw", (2026, "roth")] == pytest.approx(s1, abs=0.01)
    assert first["hold", (2026, "roth", "safe")] == pytest.approx((100000 - s1) / 2, abs=0.01)
    # One scenario is the deterministic model on that path: it spends what UP alone can.
    alone = solve_scenarios(plan, us2026, make_tree(plan, 1), _returns(UP), target=0.5)
    assert alone.cvar == pytest.approx(125000 / 2.25, abs=0.01)


def test_cvar_weighs_the_worst_share(us2026):
    """Four scenarios, P = 0.5: the CVaR is the mean of the worst two sustained levels.
    Scenarios UP, UP, DOWN, DOWN: the worst two are both DOWN, so the plan is the same as
    with two scenarios (S1 = 45,945.95); with P = 0.25 the worst three (two DOWN, one UP)
    average (2 m_DOWN + m_UP) / 3 with m_UP = m_DOWN = S1 <= min(...): each m_s is capped
    by the shared S1, so raising S1 past 45,945.95 lowers m_DOWN by 0.85 per dollar
    (0.85 (100,000 - S1)) and raises m_UP by at most 1: (2 x -0.85 + 1) / 3 < 0, so S1
    stays."""
    plan = two_period_plan()
    returns = _returns(UP, UP, DOWN, DOWN)
    s1 = 85000 / 1.85
    for target in (0.5, 0.25):
        solved = solve_scenarios(plan, us2026, make_tree(plan, 4), returns, target=target)
        assert solved.cvar == pytest.approx(s1, abs=0.01)
        assert solved.first_year["withdraw", (2026, "roth")] == pytest.approx(s1, abs=0.01)


def test_tree_nodes_share_decisions_until_returns_differ():
    """A 2 x 2 tree branching in 2026 and 2028 over 2026-2030: 2026's decisions are the
    root's; 2027 and 2028's belong to the 2026 child (scenarios 0-1 and 2-3); from 2029
    each scenario has its own. Sampled returns agree exactly where nodes are shared."""
    plan = two_period_plan(horizon_age=69)
    tree = ScenarioTree(tuple(plan.years), (2026, 2028), (2, 2))
    assert [tree.representative(s, 2026) for s in range(4)] == [0, 0, 0, 0]
    assert [tree.representative(s, 2027) for s in range(4)] == [0, 0, 2, 2]
    assert [tree.representative(s, 2028) for s in range(4)] == [0, 0, 2, 2]
    assert [tree.representative(s, 2029) for s in range(4)] == [0, 1, 2, 3]
    returns = sample_tree(plan, tree, seed=3)
    risky = returns[:, :, 1]
    assert risky[0, 0] == risky[1, 0] and risky[0, 1] == risky[1, 1]
    assert risky[0, 0] != risky[2, 0]
    assert risky[0, 2] != risky[1, 2]
    assert (returns[:, :, 0] == 0.0).all()  # the safe tier has no volatility
    assert make_tree(plan, 4, branch_every=2).branching == (2, 2)


def _zero_volatility(plan):
    tiers = [t.model_copy(update={"volatility": 0.0}) for t in plan.tiers]
    return plan.model_copy(update={"tiers": tiers})


def test_zero_volatility_scenarios_equal_the_deterministic_plan(us2026):
    """With no volatility every scenario is the plan's own path: the scenario model's
    level and first-year decisions equal the deterministic fast LP's within $1, and
    optimize(scenarios=3) reports the deterministic fast plan's figures within $1."""
    plan = _zero_volatility(taxopt.load_plan(EXAMPLES / "couple-near-retirement.toml"))
    implied, _notes = _with_implied_accounts(plan, us2026)
    deterministic = build_model(implied, us2026, "fast")
    assert solve(deterministic).status == "optimal"
    level = deterministic.variables["spending_level"][()].varValue
    expected = first_year_decisions(deterministic)
    tree = make_tree(implied, 3)
    solved = solve_scenarios(implied, us2026, tree, sample_tree(implied, tree, 0), 0.9)
    assert solved.cvar == pytest.approx(level, abs=1.0)
    assert solved.sustained == pytest.approx([level] * 3, abs=1.0)
    assert solved.first_year.keys() == expected.keys()
    # Two Roth IRAs are interchangeable to the plan (alternative optima of equal value):
    # compare this year's decisions by place (Roth, tax-deferred, taxable) and tier.
    mine, theirs = (
        _by_place(implied, us2026, solved.first_year),
        _by_place(implied, us2026, expected),
    )
    assert mine.keys() == theirs.keys()
    for key, value in theirs.items():
        assert mine[key] == pytest.approx(value, abs=1.0), key
    kw = dict(paths=0, with_baselines=False, mode="fast")
    alone = optimize(plan, us2026, **kw)
    # validation_paths=0: the scenario plan itself (validation would keep the
    # deterministic plan on a tie, which would make this comparison hold trivially).
    chosen = optimize(plan, us2026, scenarios=3, validation_paths=0, **kw)
    assert chosen.scenarios is not None and chosen.scenarios.tree.scenarios == 3
    # With candidates and validation: every candidate's tree is the plan's own path, so
    # each candidate is a plan of the deterministic plan's value; replayed by the
    # simulator, alternative optima (the two Roth IRAs above) differ by a few dollars in
    # 150,000, well inside the margin, and the result is the deterministic plan's within $1.
    several = optimize(plan, us2026, scenarios=3, candidates=2, validation_paths=200, **kw)
    validation = several.scenarios.validation
    assert list(validation) == ["candidate 1", "candidate 2", "deterministic"]
    for name in ("candidate 1", "candidate 2"):
        assert validation[name] == pytest.approx(validation["deterministic"], rel=1e-3)
    for result in (chosen, several):
        for name in ("sustainable_spending", "after_tax_estate", "lifetime_tax"):
            assert getattr(result.figures, name) == pytest.approx(
                getattr(alone.figures, name), abs=1.0
            ), name


def _by_place(plan, rules, decisions: dict) -> dict:
    """First-year decisions summed by (family, account growth, tier where it has one)."""
    growth = {a.name: rules.account_kinds[a.kind].growth.value for a in plan.accounts}
    out: dict = {}
    for (family, key), value in decisions.items():
        if family == "sell":  # lots are taxable-account sales; by tier of the lot key
            place = (family, "taxed")
        else:
            place = (family, growth[key[1]], *key[2:])
            if family == "convert":
                place = (family, growth[key[1]], growth[key[2]])
        out[place] = out.get(place, 0.0) + value
    return out


def test_bad_scenario_options_are_one_line(us2026):
    plan = two_period_plan()
    with pytest.raises(InputError, match="scenarios: 0"):
        make_tree(plan, 0)
    with pytest.raises(InputError, match="branch_every"):
        make_tree(plan, 4, branch_every=0)
    with pytest.raises(InputError, match="need scenarios"):
        optimize(plan, us2026, branch_every=2, paths=0)
    gross = two_period_plan(
        objective={"kind": "max_estate"},
        withdrawal={"policy": "fixed_amount", "amount": 1000.0, "basis": "gross"},
    )
    with pytest.raises(InputError, match="net basis only"):
        optimize(gross, us2026, scenarios=2, paths=0)


def test_cli_scenarios_json_and_workbook(tmp_path, capsys):
    """`taxopt optimize PLAN --scenarios 4`: the summary's spread, the JSON's `scenarios`
    (tree, CVaR, distribution) and the workbook's first page and This year sheet say so.
    The two-period plan with a traditional IRA beside the Roth (a plan owing no tax at all
    trips the workbook's tax chart, which has no series then)."""
    import json

    import openpyxl

    from taxopt.cli import main

    plan = two_period_plan(accounts=WITH_IRA)
    source = tmp_path / "two.json"
    source.write_text(json.dumps(plan.model_dump(mode="json", by_alias=True, exclude_none=True)))
    out, book = tmp_path / "r.json", tmp_path / "r.xlsx"
    code = main(
        ["optimize", str(source), "--scenarios", "4", "--candidates", "2", "--paths", "0",
         "--json", str(out), "-o", str(book)]
    )  # fmt: skip
    assert code == 0
    printed = capsys.readouterr().out
    assert "scenarios: 4 scenarios branching in 2026" in printed
    data = json.loads(out.read_text())
    solved = data["scenarios"]
    assert solved["scenarios"] == 4 and solved["branching"] == [4]
    assert len(solved["distribution"]) == 8
    assert solved["cvar"] > 0
    assert data["mode"] == "fast"  # the plan's own mode, used by the re-plan
    assert list(solved["validation"]) == ["candidate 1", "candidate 2", "deterministic"]
    assert solved["candidates"] == 2 and solved["seed_stream"][:2] == [0, SCENARIO_STREAM]
    assert "candidate 1 $" in printed and f"kept: {solved['chosen']}" in printed
    wb = openpyxl.load_workbook(book)
    first = " ".join(str(c.value) for row in wb["Plan"].iter_rows() for c in row if c.value)
    kept = "one-path plan's" if solved["chosen"] == "deterministic" else "possible market paths"
    assert kept in first and "Spending on the worst paths" in first
    assert "best of 2 sets of 4 paths" in first or "2 sets of 4 paths" in first
    this_year = " ".join(
        str(c.value) for row in wb["This year"].iter_rows() for c in row if c.value
    )
    assert "Across the 4 scenarios" in this_year


def test_cli_constants_are_the_library_s():
    """The CLI repeats taxopt.scenarios' constants (not imported: start-up time)."""
    from taxopt.cli import optimize_cmd

    assert optimize_cmd.CANDIDATES == DEFAULT_CANDIDATES
    assert optimize_cmd.MAX_CANDIDATES == MAX_CANDIDATES


def test_first_year_is_pinned_and_replayed_by_the_ledger(us2026):
    """optimize(scenarios=N): the result's first-year decisions are the scenario model's
    (within the pin's cent), and the ledger replays them with exact taxes (its year-one
    tax beside the fast model's in the reconciliation)."""
    plan = two_period_plan(accounts=WITH_IRA)
    result = optimize(plan, us2026, scenarios=4, paths=0, with_baselines=False, validation_paths=0)
    first = result.scenarios.first_year
    for account in ("roth", "ira"):
        assert result.decisions.withdrawal(account, 2026) == pytest.approx(
            first["withdraw", (2026, account)], abs=0.02
        )
    row = result.reconciliation.iloc[0]
    assert row["year"] == 2026
    assert any("chosen against 4 scenarios" in note for note in result.notes)


def test_validation_keeps_the_plan_with_the_higher_safe_spending(us2026):
    """optimize(scenarios=N, candidates=K, validation_paths=V): the K candidates and the
    deterministic plan are replayed on the same V validation paths; the result is the
    best candidate only if its safe spending leads by more than VALIDATION_MARGIN, and
    result.scenarios is the best candidate either way. Second witness: the kept result's
    safe spending, recomputed by the simulator on the same paths, is the recorded best
    figure, and its first year is that plan's own (candidate 1 alone: candidates=1 draws
    the same first tree)."""
    from taxopt.scenarios import VALIDATION_MARGIN, safe_spending, validation_returns

    plan = two_period_plan(accounts=WITH_IRA)
    kw = dict(paths=0, with_baselines=False, scenarios=4, seed=5)
    result = optimize(plan, us2026, validation_paths=400, candidates=3, **kw)
    solved = result.scenarios
    names = ["candidate 1", "candidate 2", "candidate 3"]
    assert list(solved.validation) == [*names, "deterministic"]
    assert solved.validation_paths == 400 and solved.candidates == 3
    best = max(names, key=solved.validation.__getitem__)
    assert solved.name == best
    lead = solved.validation[best] / solved.validation["deterministic"] - 1.0
    assert solved.chosen == (best if lead > VALIDATION_MARGIN else "deterministic")
    assert solved.kept == (solved.chosen == best)
    returns = validation_returns(result, 400, 5)
    assert returns.shape[0] == 400
    kept_figure = solved.validation[solved.chosen]
    assert safe_spending(result, returns, 0.9) == pytest.approx(kept_figure, abs=0.01)
    assert kept_figure == max(solved.validation.values()) or solved.chosen == "deterministic"
    first = optimize(plan, us2026, validation_paths=0, **kw)  # candidate 1's tree only
    assert first.scenarios.candidates == 1 and first.scenarios.name == "candidate 1"
    assert first.scenarios.validation == {}
    alone = {
        "deterministic": optimize(plan, us2026, paths=0, with_baselines=False),
        "candidate 1": first,
    }.get(solved.chosen)
    if alone is not None:
        for account in ("roth", "ira"):
            assert result.decisions.withdrawal(account, 2026) == pytest.approx(
                alone.decisions.withdrawal(account, 2026), abs=0.02
            )
    # The kept candidate's first year is what the result does this year.
    if solved.kept:
        for account in ("roth", "ira"):
            assert result.decisions.withdrawal(account, 2026) == pytest.approx(
                solved.first_year["withdraw", (2026, account)], abs=0.02
            )
    assert any("validation paths" in note for note in result.notes)
    assert all(name in result.notes[-1] for name in names)
    # The validation stream is not the scenario model's: its first path differs.
    tree = make_tree(result.plan, 4)
    assert not np.allclose(returns[0, :2], sample_tree(result.plan, tree, candidate_seed(5, 0))[0])


def test_candidates_are_deterministic_given_the_seed(us2026):
    """Candidate k's tree is drawn from SeedSequence((seed, SCENARIO_STREAM, k)): the same
    seed gives the same trees, plans and validation figures; the candidates' trees differ
    from each other, and candidate k's does not depend on how many are drawn."""
    plan = two_period_plan(accounts=WITH_IRA)
    tree = make_tree(plan, 4)
    draws = [sample_tree(plan, tree, candidate_seed(5, k)) for k in range(3)]
    assert np.array_equal(draws[0], sample_tree(plan, tree, candidate_seed(5, 0)))
    assert not np.allclose(draws[0], draws[1]) and not np.allclose(draws[1], draws[2])
    assert not np.allclose(draws[0], sample_tree(plan, tree, candidate_seed(6, 0)))
    kw = dict(paths=0, with_baselines=False, scenarios=4, seed=5, validation_paths=300)
    once, twice = (optimize(plan, us2026, candidates=2, **kw) for _ in range(2))
    assert once.scenarios.validation == twice.scenarios.validation
    assert once.scenarios.chosen == twice.scenarios.chosen
    assert once.scenarios.first_year == twice.scenarios.first_year
    assert once.figures == twice.figures
    with pytest.raises(InputError, match="candidates: 0"):
        optimize(plan, us2026, candidates=0, **kw)


def test_scenario_headline_is_the_level_every_year_keeps(us2026):
    """A scenario result's headline spending is the lowest real spending of its retirement
    years in the ledger (not the first year's, which is pinned to the scenario moves),
    and with spread=True the stress test gives what each path sustains: its 10th
    percentile is the safe spending at 90% (two algorithms, the same paths; within the
    search tolerance of each)."""
    from taxopt.returns import Lognormal
    from taxopt.simulate import meets_level, policy_from_result, sample_returns
    from taxopt.stress import TOLERANCE, sustained_by_path

    plan = two_period_plan(accounts=WITH_IRA)
    result = optimize(
        plan, us2026, scenarios=4, seed=5, paths=1000, with_baselines=False, candidates=2
    )
    yearly = result.ledger.yearly
    lowest = yearly.loc[yearly.year >= result.plan.retirement_year, "spending_real"].min()
    first = yearly["spending_real"].iloc[0]
    assert result.figures.sustainable_spending == pytest.approx(lowest, abs=0.01)
    assert result.figures.first_year_spending == (
        None if first <= lowest + 0.5 else pytest.approx(first)
    )
    stress = result.stress
    assert list(stress.spread) == [5, 10, 25, 50, 75, 90, 95]
    policy = policy_from_result(result)
    returns = sample_returns(policy, Lognormal(), 1000, 5)  # the stress paths (seed 5)
    levels = sustained_by_path(policy, returns, lowest, TOLERANCE)
    assert stress.spread[10] == pytest.approx(np.percentile(levels, 10))
    # The safe level at 90% is met by 900 of the 1,000 paths: the 101st lowest level.
    assert np.sort(levels)[100] == pytest.approx(stress.safe_spending, abs=2 * TOLERANCE)
    met = meets_level(policy, returns, levels)  # each path meets its own level ...
    assert met.all()
    assert not meets_level(policy, returns, levels + TOLERANCE).any()  # ... and no more


def test_fan_tail_subset_equals_the_whole_lp(us2026, monkeypatch):
    """The fan's max_spending solve holds only its likely tail (tail_start) and checks the
    other paths one by one; its CVaR equals the whole LP's (every path in one LP), and
    every left-out path sustains at least the tail's level ell. 12 two-period paths drawn
    from the model, P = 0.75: beta N = 3, so the first LP holds 6 of the 12."""
    import taxopt.scenarios as scenarios

    plan = two_period_plan(accounts=WITH_IRA)
    tree = make_tree(plan, 12)
    returns = sample_tree(plan, tree, seed=7)
    assert len(scenarios.tail_start(plan, returns, 0.75)) == 6
    tail = solve_scenarios(plan, us2026, tree, returns, target=0.75)
    monkeypatch.setattr(scenarios, "tail_start", lambda plan, r, target: list(range(12)))
    whole = solve_scenarios(plan, us2026, tree, returns, target=0.75)
    assert whole.tail_scenarios == 12 and 6 <= tail.tail_scenarios < 12
    assert tail.cvar == pytest.approx(whole.cvar, abs=0.01)
    assert (tail.sustained >= tail.level - 1.0).sum() >= 12 - tail.tail_scenarios
    # The CVaR re-derived from the per-path sustained levels (the mean of the worst 3).
    assert np.sort(tail.sustained)[:3].mean() == pytest.approx(tail.cvar, abs=0.01)


def test_a_path_that_cannot_fund_the_fixed_spending_is_named(us2026):
    """max_estate spends a fixed $50,000 a year: 2026 leaves $50,000, half in the risky
    tier (tolerance 0). On UP 2027 opens at 25,000 + 1.5 x 25,000 = 62,500, enough; on
    DOWN at 25,000 + 0.7 x 25,000 = 42,500, short of 50,000 on any plan. The error says
    how many paths fail, which, and the fix, instead of the LP's bare 'infeasible'."""
    from taxopt.errors import SolverError

    plan = two_period_plan(
        objective={"kind": "max_estate"},
        withdrawal={"policy": "fixed_amount", "amount": 50_000.0, "basis": "net"},
    )
    tree = make_tree(plan, 2)
    with pytest.raises(SolverError) as failed:
        solve_scenarios(plan, us2026, tree, _returns(UP, DOWN), target=0.5)
    message = str(failed.value)
    assert "1 of the 2 scenario paths cannot meet the withdrawal policy's spending" in message
    assert "(scenario 1)" in message and "max_spending" in message
    # Both paths fund $40,000: the same plan solves.
    feasible = two_period_plan(
        objective={"kind": "max_estate"},
        withdrawal={"policy": "fixed_amount", "amount": 40_000.0, "basis": "net"},
    )
    solved = solve_scenarios(feasible, us2026, make_tree(feasible, 2), _returns(UP, DOWN), 0.5)
    assert solved.status == "optimal"
