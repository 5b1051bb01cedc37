"""taxopt.tax_batch: the household checks and the CSV batch, called as a library."""

from __future__ import annotations

import pytest

from taxopt.errors import InputError
from taxopt.rules import load_rules
from taxopt.tax_batch import (
    RESULT_COLUMNS,
    FieldProblem,
    build_household,
    households_csv,
    tax_households,
)

US = load_rules("us-federal-2026")
HEADER = (
    "case_id,filing_status,age,spouse_age,ordinary_income,qualified_dividends,ltcg,social_security"
)


def test_a_csv_of_households_is_taxed_by_the_library(tmp_path):
    path = tmp_path / "h.csv"
    path.write_text(f"{HEADER}\na,single,40,,66500,0,0,0\nb,mfj,45,44,32200,0,0,0\n")
    header, rows = tax_households(path, US, 0.025, US.year)
    # Rev. Proc. 2025-32 Table 3 (single) and the 2026 standard deduction of $16,100
    # (IRC §63(c)(7) as amended by P.L. 119-21): taxable 66,500 - 16,100 = 50,400,
    # tax 1,240 + 12% x (50,400 - 12,400) = 5,800.00. The couple's $32,200 is all deducted.
    assert [r["total_tax"] for r in rows] == ["5800.00", "0.00"]
    assert [r["taxable_income"] for r in rows] == ["50400.00", "0.00"]
    text = households_csv([*header, *RESULT_COLUMNS], rows)
    assert text.splitlines()[0] == ",".join([*header, *RESULT_COLUMNS])


def test_every_bad_row_is_reported_at_once_with_line_and_field(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text(f"{HEADER}\nx,single,40,39,1,0,0,0\ny,mfj,45,,1,0,0,0\nx,single,40,,1,0,0,0\n")
    with pytest.raises(InputError) as error:
        tax_households(path, US, 0.025, US.year)
    lines = str(error.value).splitlines()
    assert lines == [
        f"{path}: line 2 (case_id=x): spouse_age is 39 but filing status 'single' covers one "
        "person; leave it blank or use mfj",
        f"{path}: line 3 (case_id=y): spouse_age is blank; give the age at the end of the tax "
        "year, e.g. 67",
        f"{path}: line 4 (case_id=x): case_id 'x' repeats line 2; give each household its own id",
    ]


def test_filing_status_coverage_comes_from_the_rule_set():
    # The UK rule set taxes individuals: no status covers two people, so a spouse is refused
    # without suggesting a joint status.
    uk = load_rules("uk-2025-26")
    with pytest.raises(FieldProblem) as problem:
        build_household(
            {"filing_status": "single", "age": "50", "spouse_age": "48"}, uk, 0.0, uk.year
        )
    assert problem.value.field == "spouse_age"
    assert str(problem.value).endswith("covers one person; leave it blank")
