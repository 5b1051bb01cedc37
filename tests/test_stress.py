"""The stress pass beside the headline (taxopt.stress) against independent witnesses.

- fresh return paths: the safe spending found on one seed's paths holds on another seed's;
- the search's own paths: $100 more than the safe spending fails the target on them;
- the simulator's own rule: the success rate equals that of replaying the plan's spending;
- the CLI and JSON carry the return basis, each tier's growth, success and safe spending.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from taxopt import load_plan, load_rules, optimize
from taxopt.cli import main
from taxopt.returns import Lognormal
from taxopt.simulate import meets_level, policy_from_result, sample_returns, simulate
from taxopt.stress import DEFAULT_PATHS, stress_test

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
US = load_rules("us-federal-2026")
FRESH_PATHS = 20_000


@pytest.fixture(scope="module")
def couple():
    plan = load_plan(EXAMPLES / "couple-near-retirement.toml")
    return optimize(plan, US, with_baselines=False, paths=DEFAULT_PATHS, seed=0)


def test_safe_spending_holds_on_fresh_paths_and_100_dollars_more_does_not(couple):
    """At P = 0.9 on 2,000 paths (seed 0): the safe level is met on at least 90% of 20,000
    fresh paths (seed 1) up to sampling error, and $100 more on fewer than 90% of the
    search's own paths.

    Margin: the level is the 10% quantile of 2,000 paths, so its true success rate has a
    standard error of sqrt(0.9 x 0.1 / 2,000) = 0.67 points; the fresh estimate adds
    sqrt(0.09 / 20,000) = 0.21; three standard errors of the difference are 2.1 points. A
    search aiming at the wrong share (say 80%) or $2,000 too high fails the check.
    """
    stress = couple.stress
    assert stress.target == 0.9 and stress.paths == 2000 and stress.seed == 0
    assert 0 < stress.safe_spending < couple.figures.sustainable_spending
    policy = policy_from_result(couple)
    fresh = sample_returns(policy, Lognormal(), FRESH_PATHS, seed=1)
    rate = meets_level(policy, fresh, stress.safe_spending).mean()
    margin = 3 * math.sqrt(0.9 * 0.1 * (1 / stress.paths + 1 / FRESH_PATHS))
    assert rate >= 0.9 - margin, (rate, margin)
    own = sample_returns(policy, Lognormal(), stress.paths, seed=stress.seed)
    assert meets_level(policy, own, stress.safe_spending).mean() >= 0.9
    assert meets_level(policy, own, stress.safe_spending + 100).mean() < 0.9
    assert meets_level(policy, own, stress.safe_spending + stress.tolerance).mean() < 0.9


def test_success_rate_is_the_plans_own_spending_replayed(couple):
    """The couple's plan spends its level every retirement year, so replaying the plan's
    own spending (the simulator's `fixed` rule) on the same seed's paths succeeds on
    exactly the paths that meet the headline level."""
    yearly = couple.yearly
    retired = yearly[yearly.year >= couple.plan.retirement_year]
    headline = couple.figures.sustainable_spending
    assert retired.spending_real.to_numpy() == pytest.approx(headline, abs=0.01)
    sim = simulate(couple, paths=couple.stress.paths, seed=couple.stress.seed, withdrawal="fixed")
    assert couple.stress.success_rate == pytest.approx(sim.success_rate, abs=1 / sim.paths)
    assert 0.0 < couple.stress.success_rate < 1.0


def test_same_seed_same_figures_and_paths_zero_skips(couple):
    again = stress_test(couple, paths=2000, seed=0)
    assert again.safe_spending == couple.stress.safe_spending
    assert again.success_rate == couple.stress.success_rate
    other = stress_test(couple, paths=500, seed=5, target=0.5)
    assert other.safe_spending > couple.stress.safe_spending  # the median path spends more
    plan = load_plan(EXAMPLES / "retiree-drawing-2.5-percent.toml")
    assert optimize(plan, US, mode="fast", with_baselines=False, paths=0).stress is None


def test_cli_summary_and_json_carry_basis_growth_success_and_safe_spending(tmp_path, capsys):
    out = tmp_path / "plan.json"
    code = main(
        [
            "optimize",
            str(EXAMPLES / "retiree-drawing-2.5-percent.toml"),
            "--mode",
            "fast",
            "--no-baselines",
            "--paths",
            "300",
            "--seed",
            "4",
            "--success",
            "0.8",
            "--json",
            str(out),
        ]
    )
    assert code == 0
    text = capsys.readouterr().out
    assert "built on median returns a year: conservative +0.65%, balanced -3.76%" in text
    assert "on 300 random return paths (seed 4)" in text
    data = json.loads(out.read_text())
    assert data["return_basis"] == "median"
    assert data["tier_returns"]["aggressive"] == pytest.approx(-0.110390, abs=1e-6)
    stress = data["stress"]
    assert (stress["paths"], stress["seed"], stress["target"]) == (300, 4, 0.8)
    assert f"safe spending ${stress['safe_spending']:,.0f}/yr is met on 80%" in text
    assert f"{stress['success_rate']:.1%} of them" in text
    assert data["discount_rate"] == pytest.approx(0.034952, abs=1e-6)
    assert data["lifetime_tax_pv"] > 0


@pytest.mark.parametrize(
    ("args", "message"),
    [(["--success", "1.5"], "--success: 1.5"), (["--paths", "-3"], "--paths: -3")],
)
def test_cli_refuses_bad_stress_options_in_one_line(args, message, capsys):
    code = main(["optimize", str(EXAMPLES / "retiree-drawing-2.5-percent.toml"), *args])
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("taxopt: ") and message in err and "\n" not in err
    assert "outside the range" in err


def test_identical_paths_give_one_safe_level_at_any_target():
    """No volatility: every path is the same, so a level is met on all paths or on none;
    the safe spending is the same at 50% and at 99%, met by all paths and $10 more by none."""
    plan = load_plan(EXAMPLES / "retiree-drawing-2.5-percent.toml")
    steady = [t.model_copy(update={"volatility": 0.0}) for t in plan.tiers]
    plan = plan.model_copy(update={"tiers": steady})
    result = optimize(plan, US, mode="fast", with_baselines=False, paths=0)
    half = stress_test(result, paths=40, target=0.5)
    most = stress_test(result, paths=40, target=0.99)
    assert half.success_rate in (0.0, 1.0)
    assert half.safe_spending == pytest.approx(most.safe_spending, abs=half.tolerance)
    policy = policy_from_result(result)
    returns = sample_returns(policy, Lognormal(), 40, seed=0)
    assert meets_level(policy, returns, most.safe_spending).all()
    assert not meets_level(policy, returns, most.safe_spending + most.tolerance).any()
