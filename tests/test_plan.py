"""Plan files: the bundled examples load, and every user mistake gets one line that names
the file, the field and the fix (no traceback through the CLI)."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from taxopt import InputError, load_plan, load_rules
from taxopt.cli import main
from taxopt.plan import plan_json_schema, tier_presets

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
COUPLE = EXAMPLES / "couple-near-retirement.toml"


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "plan.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    "name", ["couple-near-retirement", "young-accumulator", "retiree-drawing-2.5-percent"]
)
def test_examples_load_and_match_the_rules(name):
    plan = load_plan(EXAMPLES / f"{name}.toml")
    plan.check_against(load_rules("us-federal-2026"), source=name)
    assert plan.end_year > plan.retirement_year >= plan.start_year


def test_sober_preset_is_the_default_and_guide_figures_are_a_named_alternative():
    plan = load_plan(COUPLE)
    assert plan.tier_preset == "sober"
    presets = tier_presets()
    sober = {t["name"]: t["expected_return"] for t in presets["sober"]["tiers"]}
    guide = {t["name"]: t["expected_return"] for t in presets["guide_optimistic"]["tiers"]}
    assert set(sober) == set(guide) == {"conservative", "balanced", "aggressive", "reserve"}
    assert all(guide[name] > sober[name] for name in sober)
    assert max(sober.values()) <= 0.12  # the default does not believe the marketing


def test_median_basis_is_the_default_and_its_growth_is_worked_by_hand():
    """1 + r lognormal with mean 1 + m and sd s has median (1 + m) / sqrt(1 + (s/(1+m))^2).
    Sober preset by hand: aggressive (0.10, 0.80): (0.8/1.1)^2 = 0.528926, sqrt(1.528926)
    = 1.236497, 1.1 / 1.236497 = 0.889610 -> -11.039%; balanced (0.08, 0.55): 1.08 /
    sqrt(1.259345) = 1.08 / 1.122206 = 0.962390 -> -3.761%; conservative (0.06, 0.35):
    1.06 / sqrt(1.109024) = 1.06 / 1.053102 = 1.006550 -> +0.655%; reserve (0.035, 0.01):
    1.035 / 1.0000467 -> +3.495%."""
    plan = load_plan(COUPLE)
    assert plan.return_basis == "median"
    expected = {
        "aggressive": -0.110390,
        "balanced": -0.037609,
        "conservative": 0.006550,
        "reserve": 0.034952,
    }
    assert plan.tier_returns == pytest.approx(expected, abs=2e-6)
    mean = plan.model_copy(update={"return_basis": "mean"})
    assert mean.tier_returns == {t.name: t.expected_return for t in plan.tiers}
    steady = plan.tiers[0].model_copy(update={"volatility": 0.0})
    assert steady.deterministic_return("median") == steady.expected_return


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "weights = { conservative = 0.5, balanced = 0.3, aggressive = 0.2 }",
            "weights = { conservative = 0.5, balanced = 0.3, aggressive = 0.3 }",
            ["profile.weights", "sum to 1.1000", "0.5, 0.3, 0.2"],
        ),
        (
            "balances = { aggressive = 150000 }",
            "balances = { aggressive = -5 }",
            ["accounts[2].balances.aggressive", "cannot be negative"],
        ),
        (
            "basis = { conservative = 80000,",
            "basis = { conservative = 180000,",
            ["accounts[4].basis.conservative", "more than the balance", "lower the basis"],
        ),
        (
            "birth_year = 1965",
            "birth_year = 1865",
            ["people[0].birth_year", "greater than or equal"],
        ),
        ("birth_year = 1967", "birth_year = 2030", ["people[1].birth_year", "would be -4"]),
        (
            'reserve_tier = "reserve"',
            'reserve_tier = "cash"',
            ["profile: names tier 'cash'", "use one of"],
        ),
        ("retirement_year = 2031", "retirement_year = 2020", ["retirement_year: 2020 is before"]),
        (
            'filing_status = "mfj"',
            'filing_status = "mfj"\nstate = "zz"',
            ["state: 'zz' is not a state with rules", "use one of", "ca,", "ny-nyc"],
        ),
    ],
)
def test_plan_errors_name_file_field_and_fix(tmp_path, old, new, expected):
    text = COUPLE.read_text()
    assert old in text
    path = _write(tmp_path, text.replace(old, new, 1))
    with pytest.raises(InputError) as caught:
        load_plan(path)
    message = str(caught.value)
    assert message.startswith(str(path))
    for fragment in expected:
        assert fragment in message


def test_unknown_account_kind_is_reported_against_the_rule_set(tmp_path):
    path = _write(tmp_path, COUPLE.read_text().replace('kind = "roth_ira"', 'kind = "roth"', 1))
    plan = load_plan(path)
    with pytest.raises(InputError) as caught:
        plan.check_against(load_rules("us-federal-2026"), source=str(path))
    message = str(caught.value)
    assert "accounts[2].kind" in message and "'roth'" in message and "roth_ira" in message


def test_a_plan_names_its_state_and_the_cli_flag_overrides_it(tmp_path):
    path = _write(tmp_path, COUPLE.read_text().replace(
        'filing_status = "mfj"', 'filing_status = "mfj"\nstate = "CA"', 1))  # fmt: skip
    plan = load_plan(path)
    assert plan.state == "ca"
    assert load_plan(COUPLE).state is None
    assert plan.with_state("pa").state == "pa"
    assert plan.with_state(None).state is None
    with pytest.raises(InputError, match=r"^--state: 'zz' is not a state with rules; use one of"):
        plan.with_state("zz")
    # New York's first rule file is for 2026: a 2025 plan cannot use it.
    early = plan.model_copy(update={"state": "ny", "start_year": 2025})
    with pytest.raises(InputError, match=r"plan.toml: state: 'ny' has no state rules for tax year"):
        early.check_against(load_rules("us-federal-2026"), source=str(path))


def test_invalid_toml_and_missing_file(tmp_path):
    with pytest.raises(InputError, match="not valid TOML"):
        load_plan(_write(tmp_path, "name = "))
    with pytest.raises(InputError, match="no such plan file"):
        load_plan(tmp_path / "missing.toml")


def test_json_plan_files_are_accepted(tmp_path):
    data = tomllib.loads(COUPLE.read_text())
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(data))
    assert load_plan(path).name == load_plan(COUPLE).name


def test_schema_and_validate_commands(tmp_path, capsys):
    assert main(["plan", "schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema == json.loads(json.dumps(plan_json_schema()))
    assert {"accounts", "profile", "withdrawal"} <= set(schema["properties"])
    assert main(["plan", "validate", str(COUPLE)]) == 0
    assert "ok:" in capsys.readouterr().out
    bad = _write(tmp_path, COUPLE.read_text().replace("tolerance = 0.02", "tolerance = 2"))
    assert main(["plan", "validate", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "profile.tolerance" in err and "Traceback" not in err
