"""`taxopt tax --state` and the `state` column, through the real CLI entry point."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from taxopt.cli import main

COUPLE = [
    "--filing-status", "mfj", "--age", "67", "--spouse-age", "64",
    "--ordinary-income", "85000", "--ira-distributions", "60000",
    "--qualified-dividends", "4000", "--ltcg", "20000", "--social-security", "32000",
]  # fmt: skip
HEADER = (
    "case_id,filing_status,age,spouse_age,ordinary_income,qualified_dividends,ltcg,"
    "social_security,ira_distributions,state"
)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["tax", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_json_reports_federal_and_state_separately(capsys: pytest.CaptureFixture[str]) -> None:
    # Federal figures as without --state (tests/test_cli_tax.py: 8,355 under 2025 rules).
    # California 2025: AGI 136,200 - 27,200 taxable SS = 109,000; taxable 97,588;
    # 2,925.06 - 3 x 153 credits = 2,466.06 (tests/test_state_tax.py, end to end).
    code, out, err = run(capsys, "--rules", "us-federal-2025", "--state", "ca", *COUPLE, "--json")
    assert (code, err) == (0, "")
    data = json.loads(out)
    assert data["total_tax"] == 8_355
    state = data["state"]
    assert state["rules"] == "us-ca-2025" and state["states"] == ["CA"]
    assert state["subtractions"] == {"social_security": 27_200}
    assert state["taxable_income"] == 97_588
    assert state["total_tax"] == pytest.approx(2_466.06)
    assert state["marginal_rates"]["ira_distributions"] == pytest.approx(0.06)
    assert state["not_modelled"]
    assert data["federal_and_state_tax"] == pytest.approx(8_355 + 2_466.06)


def test_table_prints_a_state_section_after_the_federal_one(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run(capsys, "--rules", "us-federal-2026", "--state", "NY", *COUPLE)
    assert code == 0
    federal, state = out.split("\n\nus-ny-2026: ", 1)
    assert "Total tax" in federal and "State tax" not in federal
    assert "Subtraction: pension_and_annuity_exclusion" in state
    assert "Federal and state tax:" in state.splitlines()[-1]


def test_later_tax_year_indexes_the_latest_state_file(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Massachusetts' newest file is 2025; tax year 2026 grows its indexed surtax threshold
    # by --inflation. Single 40, wages 1,200,000: taxable 1,195,600; threshold
    # 1,083,150 x 1.02 = 1,104,813; surtax 4% x 90,787.
    code, out, _ = run(
        capsys, "--rules", "us-federal-2026", "--state", "ma", "--inflation", "0.02",
        "--filing-status", "single", "--age", "40", "--ordinary-income", "1200000", "--json",
    )  # fmt: skip
    state = json.loads(out)["state"]
    assert code == 0 and state["rules_year"] == 2025
    assert state["surtaxes"]["fair_share_surtax"] == pytest.approx(0.04 * 90_787)


def test_unknown_state_is_one_line_listing_the_available(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = run(capsys, "--rules", "us-federal-2026", "--state", "zz", *COUPLE)
    assert code == 2 and out == ""
    line = err.strip()
    assert "\n" not in line and "Traceback" not in line
    assert line.startswith("taxopt: --state: 'zz' has no state rules for tax year 2026")
    assert "ca, co, fl, ga, il, ma" in line


def test_parts_larger_than_ordinary_income_are_refused(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, _, err = run(
        capsys, "--rules", "us-federal-2026", "--state", "pa", "--filing-status", "single",
        "--age", "70", "--ordinary-income", "10000", "--ira-distributions", "8000",
        "--pension-income", "5000",
    )  # fmt: skip
    assert code == 2
    assert "--ordinary-income: 10000 is less than its parts" in err
    code, _, err = run(
        capsys, "--rules", "us-federal-2026", "--filing-status", "single", "--age", "40",
        "--ordinary-income", "10000", "--short-term-gains", "500",
    )  # fmt: skip
    assert code == 2 and "--short-term-gains: 500 is more than investment_income" in err


def test_batch_state_column_and_default_state(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    households = tmp_path / "households.csv"
    households.write_text(
        HEADER + "\n"
        "il,single,66,,50000,0,0,20000,30000,il\n"
        "default,single,66,,50000,0,0,20000,30000,\n"
        "texas,single,66,,50000,0,0,20000,30000,TX\n"
    )
    out_path = tmp_path / "taxed.csv"
    code, _, _ = run(
        capsys, "--rules", "us-federal-2026", "--input", str(households), "--output",
        str(out_path), "--state", "pa",
    )  # fmt: skip
    assert code == 0
    with out_path.open(newline="") as handle:
        rows = {row["case_id"]: row for row in csv.DictReader(handle)}
    # Illinois 2025 indexed to 2026 at 2.5%: federal AGI 67,000 (17,000 taxable SS)
    # - 17,000 - 30,000 IRA = 20,000; exemptions 2,850 x 1.025 + 1,000 = 3,921.25.
    assert rows["il"]["state_rules"] == "us-il-2025"
    assert float(rows["il"]["state_tax"]) == pytest.approx(0.0495 * 16_078.75, abs=0.01)
    # Pennsylvania (the --state default): only the 20,000 of wages, 3.07%.
    assert rows["default"]["state_rules"] == "us-pa-2026"
    assert float(rows["default"]["state_tax"]) == pytest.approx(614)
    assert float(rows["texas"]["state_tax"]) == 0
    federal = float(rows["texas"]["total_tax"])
    assert float(rows["texas"]["federal_and_state_tax"]) == pytest.approx(federal)
    assert float(rows["default"]["state_marginal_ordinary_rate"]) == pytest.approx(0.0307)


def test_batch_bad_state_names_the_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    households = tmp_path / "households.csv"
    households.write_text(HEADER + "\nx,single,66,,50000,0,0,0,0,qq\n")
    code, _, err = run(capsys, "--rules", "us-federal-2026", "--input", str(households))
    assert code == 2
    assert f"{households}: line 2 (case_id=x): state 'qq' has no state rules" in err


def test_batch_without_state_keeps_the_federal_columns(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    households = tmp_path / "households.csv"
    households.write_text(
        "case_id,filing_status,age,spouse_age,ordinary_income,qualified_dividends,ltcg,"
        "social_security\nx,single,40,,50000,0,0,0\n"
    )
    code, out, _ = run(capsys, "--rules", "us-federal-2026", "--input", str(households))
    assert code == 0 and "state_tax" not in out.splitlines()[0]


def test_state_with_a_non_us_rule_set_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(
        capsys, "--rules", "uk-2025-26", "--state", "ca", "--filing-status", "single",
        "--age", "40",
    )  # fmt: skip
    assert code == 2 and "Traceback" not in err
    assert "--state: 'ca': a US state's tax needs a US federal rule set" in err


def test_example_households_with_states(capsys: pytest.CaptureFixture[str]) -> None:
    example = Path(__file__).resolve().parent.parent / "examples" / "households-states.csv"
    code, out, _ = run(capsys, "--rules", "us-federal-2026", "--input", str(example))
    assert code == 0
    rows = {row["case_id"]: row for row in csv.DictReader(out.splitlines())}
    assert rows["retirees_tx"]["state_tax"] == "0.00"
    # New Jersey: one dollar more of total income loses the last quarter of the pension
    # exclusion (N.J.S.A. 54A:6-10): 25,000 more taxable income.
    below, above = rows["retirees_nj_below_cliff"], rows["retirees_nj_above_cliff"]
    taxable_jump = float(above["state_taxable_income"]) - float(below["state_taxable_income"])
    assert taxable_jump == pytest.approx(25_001)
    assert float(below["state_marginal_ordinary_rate"]) > 1  # the cliff, per dollar
