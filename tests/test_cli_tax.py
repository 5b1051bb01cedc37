"""`taxopt tax` through the real CLI entry point (`taxopt.cli.main`)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from taxopt.cli import main

EXAMPLE = [
    "--filing-status", "mfj", "--age", "67", "--spouse-age", "64",
    "--ordinary-income", "85000", "--qualified-dividends", "4000", "--ltcg", "20000",
    "--social-security", "32000",
]  # fmt: skip
HEADER = (
    "case_id,filing_status,age,spouse_age,ordinary_income,qualified_dividends,ltcg,social_security"
)
EXAMPLES_CSV = Path(__file__).resolve().parent.parent / "examples" / "households.csv"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["tax", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_single_case_json_2025(capsys: pytest.CaptureFixture[str]) -> None:
    # Worked in tests/test_tax.py::test_example_household_2025_and_2026 (Rev. Proc. 2024-40,
    # P.L. 119-21, IRC §86): 97,100 taxable; 8,295 + 60 = 8,355.
    code, out, err = run(capsys, "--rules", "us-federal-2025", *EXAMPLE, "--json")
    assert (code, err) == (0, "")
    data = json.loads(out)
    assert data["rules"] == "us-federal-2025" and data["year"] == 2025
    assert data["ages"] == [67, 64]
    assert data["taxable_social_security"] == 27_200
    assert data["taxable_income"] == 97_100
    assert data["ordinary_tax"] == 8_295
    assert data["capital_gains_tax"] == 60
    assert data["niit"] == 0
    assert data["total_tax"] == 8_355
    assert data["deductions"] == {"standard": 31_500, "additional_age_65": 1_600, "senior": 6_000}
    assert data["effective_rate"] == pytest.approx(8_355 / 136_200, abs=1e-6)
    # 12% on the dollar plus 15% on the gain dollar it pushes out of the 0% band
    assert data["marginal_rates"] == pytest.approx(
        {"ordinary_income": 0.27, "qualified_dividends": 0.15, "ltcg": 0.15}
    )
    for field in ("agi", "magi", "total_deductions", "credits", "early_withdrawal_penalty"):
        assert field in data


def test_single_case_json_2026(capsys: pytest.CaptureFixture[str]) -> None:
    # Rev. Proc. 2025-32: 136,200 - 39,850 = 96,350; 2,480 + 12% x 47,550 = 8,186; gains 0%.
    code, out, _ = run(capsys, "--rules", "us-federal-2026", *EXAMPLE, "--json")
    data = json.loads(out)
    assert code == 0
    assert (data["taxable_income"], data["total_tax"]) == (96_350, 8_186)
    assert data["marginal_rates"]["ordinary_income"] == pytest.approx(0.12)


def test_single_case_table(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--rules", "us-federal-2025", *EXAMPLE)
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "us-federal-2025, tax year 2025, mfj, ages 67/64"
    total = next(line for line in lines if line.startswith("Total tax"))
    assert total.split()[-1] == "8,355.00"
    # values are right-aligned in one column
    body = [line for line in lines[2:] if line]
    assert len({len(line) for line in body}) == 1


def test_later_year_is_indexed(capsys: pytest.CaptureFixture[str]) -> None:
    # 2025 rules indexed to 2027 at 2.5% (factor 1.050625, increases rounded down by the
    # statute's unit): single 40 with 40,000 wages, standard deduction 16,500; taxable
    # 23,500; tax 2,569.50 (tests/test_tax.py).
    code, out, _ = run(
        capsys, "--rules", "us-federal-2025", "--year", "2027", "--filing-status", "single",
        "--age", "40", "--ordinary-income", "40000", "--json",
    )  # fmt: skip
    data = json.loads(out)
    assert code == 0 and data["year"] == 2027
    assert data["taxable_income"] == pytest.approx(23_500)
    assert data["total_tax"] == pytest.approx(2_569.50)


def test_early_distributions_and_investment_income(capsys: pytest.CaptureFixture[str]) -> None:
    # IRC §72(t): 10% x 10,000 = 1,000 on top of 2,671.50 (tests/data/tax_cases.csv).
    code, out, _ = run(
        capsys, "--rules", "us-federal-2025", "--filing-status", "single", "--age", "50",
        "--ordinary-income", "40000", "--early-distributions", "10000", "--json",
    )  # fmt: skip
    assert code == 0 and json.loads(out)["total_tax"] == 3_671.50
    # IRC §1411: joint MAGI 270,000, interest 30,000: 3.8% x 20,000 = 760
    code, out, _ = run(
        capsys, "--rules", "us-federal-2025", "--filing-status", "mfj", "--age", "45",
        "--spouse-age", "45", "--ordinary-income", "270000", "--investment-income", "30000",
        "--json",
    )  # fmt: skip
    assert code == 0 and json.loads(out)["niit"] == 760


def test_batch_writes_input_columns_plus_results(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    households = tmp_path / "households.csv"
    households.write_text(
        HEADER + ",investment_income,early_distributions,year\n"
        "ex,mfj,67,64,85000,4000,20000,32000,,,\n"
        "edge,single,40,,27675,0,0,0,,,\n"
        "early,single,50,,40000,0,0,0,0,10000,\n"
        "later,single,40,,40000,0,0,0,,,2027\n"
    )
    out_path = tmp_path / "out" / "taxed.csv"
    out_path.parent.mkdir()  # outputs go into folders that exist (taxopt.io)
    code, out, _ = run(
        capsys, "--rules", "us-federal-2025", "--input", str(households), "--output", str(out_path)
    )
    assert code == 0 and "4 households" in out
    with out_path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        rows = {row["case_id"]: row for row in reader}
        columns = reader.fieldnames
    assert columns[:11] == households.read_text().splitlines()[0].split(",")
    for column in (
        "taxable_income", "ordinary_tax", "capital_gains_tax", "niit", "total_tax",
        "effective_rate", "marginal_ordinary_rate", "taxable_social_security",
        "total_deductions",
    ):  # fmt: skip
        assert column in columns
    assert rows["ex"]["spouse_age"] == "64"  # input passes through unchanged
    assert float(rows["ex"]["total_tax"]) == 8_355
    assert float(rows["ex"]["marginal_ordinary_rate"]) == pytest.approx(0.27)
    assert float(rows["edge"]["total_tax"]) == 1_192.50  # Rev. Proc. 2024-40 Table 3
    assert float(rows["early"]["total_tax"]) == 3_671.50  # IRC §72(t)
    assert float(rows["later"]["total_tax"]) == pytest.approx(2_569.50)  # indexed to 2027
    assert list(out_path.parent.iterdir()) == [out_path]  # no temporary file left


def test_batch_to_stdout_and_2026_example_file(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--rules", "us-federal-2026", "--input", str(EXAMPLES_CSV))
    assert code == 0
    rows = list(csv.DictReader(out.splitlines()))
    assert len(rows) == 8
    by_id = {row["case_id"]: row for row in rows}
    assert float(by_id["early_retirees"]["total_tax"]) == 8_186  # the 2026 example household
    assert all(float(row["total_tax"]) >= 0 for row in rows)


def test_bad_row_names_file_line_case_and_column(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    households = tmp_path / "households.csv"
    households.write_text(
        HEADER + "\n"
        "c1,single,40,,50000,0,0,0\n"
        "c2,mfj,67,64,1,2,3,4\n"
        "c3,married,70,,1,2,3,4\n"
        "c4,single,70,,lots,0,0,0\n"
    )
    out_path = tmp_path / "taxed.csv"
    code, out, err = run(
        capsys, "--rules", "us-federal-2025", "--input", str(households), "--output", str(out_path)
    )
    assert code == 2 and out == ""
    lines = err.strip().splitlines()
    assert lines[0] == (
        f"taxopt: {households}: line 4 (case_id=c3): filing_status 'married' is not one of "
        "single, mfj"
    )
    assert lines[1].startswith(f"{households}: line 5 (case_id=c4): ordinary_income 'lots'")
    assert "Traceback" not in err
    assert not out_path.exists()  # nothing written when any row is bad


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        ("c1,mfj,67,,1,0,0,0", "spouse_age is blank"),
        ("c1,single,67,64,1,0,0,0", "spouse_age is 64 but filing status 'single'"),
        ("c1,single,67.5,,1,0,0,0", "age '67.5' is not a whole age"),
        ("c1,single,67,,-5,0,0,0", "ordinary_income is -5; amounts must not be negative"),
    ],
)
def test_bad_field_messages(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], row: str, expected: str
) -> None:
    households = tmp_path / "h.csv"
    households.write_text(HEADER + "\n" + row + "\n")
    code, _, err = run(capsys, "--rules", "us-federal-2025", "--input", str(households))
    assert code == 2
    assert f"{households}: line 2 (case_id=c1): {expected}" in err


def test_missing_column_and_missing_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    households = tmp_path / "h.csv"
    households.write_text("case_id,filing_status,age\nc1,single,40\n")
    code, _, err = run(capsys, "--rules", "us-federal-2025", "--input", str(households))
    assert code == 2 and "line 1: missing column(s) spouse_age, ordinary_income" in err
    code, _, err = run(capsys, "--rules", "us-federal-2025", "--input", str(tmp_path / "no.csv"))
    assert code == 2 and "no.csv: no such CSV file" in err


def test_single_case_errors(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(
        capsys, "--rules", "us-federal-2025", "--filing-status", "married", "--age", "40"
    )
    assert code == 2
    assert err == "taxopt: --filing-status: 'married' is not one of single, mfj\n"
    code, _, err = run(
        capsys, "--rules", "us-federal-2025", "--filing-status", "single", "--age", "40",
        "--ordinary-income", "1000", "--investment-income", "2000",
    )  # fmt: skip
    assert code == 2 and "--investment-income: 2000 is more than ordinary_income 1000" in err
    code, _, err = run(
        capsys, "--rules", "us-federal-2025", "--year", "2024", "--filing-status", "single",
        "--age", "40",
    )  # fmt: skip
    assert code == 2 and "2024 is before rule set us-federal-2025's year 2025" in err
    code, _, err = run(
        capsys, "--rules", "us-federal-2025", "--inflation", "2.5", "--filing-status", "single",
        "--age", "40",
    )  # fmt: skip
    assert code == 2 and "give a fraction (0.025 for 2.5%)" in err


def test_unknown_rule_set_lists_known_ones(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "--rules", "us-federal-1999", *EXAMPLE)
    assert code == 2 and out == ""
    assert "no rule set named 'us-federal-1999'" in err
    assert "us-federal-2025" in err and "us-federal-2026" in err
    assert "Traceback" not in err


def test_the_preferential_tax_line_names_the_rule_sets_schedules(capsys) -> None:
    # UK 2025-26 (gov.uk rates): 80,000 of other income is higher rate; dividends 3,000 less
    # the 500 allowance at 33.75% = 843.75; gains 10,000 less the 3,000 exempt amount at 24%
    # = 1,680. Together 2,523.75, which is not all "capital gains tax".
    args = ["--filing-status", "single", "--age", "50", "--ordinary-income", "80000"]
    gains = ["--ltcg", "10000", "--qualified-dividends", "3000"]
    code, out, _ = run(capsys, "--rules", "uk-2025-26", *args, *gains)
    assert code == 0
    assert "Tax on savings, dividends and capital gains   2,523.75" in out
    code, out, _ = run(capsys, "--rules", "us-federal-2026", *args, *gains)
    assert code == 0 and "Tax on qualified dividends and long-term gains" in out
    assert "Capital gains tax" not in out
