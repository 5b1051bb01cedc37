"""The calculator's two shapes: a household (floats) and many paths (arrays).

The hand-worked cases run in both shapes in tests/test_tax.py. Here: the code is one, but
its element-wise functions come from numpy for arrays and from Python for floats, so on
any income the array elements must equal the float results (the tolerance only allows
for a different rounding of the last bit, which has not been seen); and the array entry
broadcasts and refuses what the float entry refuses.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from taxopt.rules import available_rule_sets, load_rules
from taxopt.tax import TaxInput, compute_tax, compute_tax_arrays

RULE_SETS = {name: load_rules(name) for name in available_rule_sets()}
FIELDS = (
    "taxable_social_security",
    "included_gains",
    "agi",
    "magi",
    "total_deductions",
    "taxable_income",
    "ordinary_taxable_income",
    "preferential_taxable_income",
    "ordinary_tax",
    "capital_gains_tax",
    "credits",
    "niit",
    "early_withdrawal_penalty",
    "total_tax",
)
PATHS = 6  # elements per array: households that share status, ages and year


def _money(high: float) -> st.SearchStrategy[float]:
    return st.one_of(
        st.integers(0, int(high)).map(float),
        st.floats(0, high, allow_nan=False, allow_infinity=False),
    )


def _column(draw: st.DrawFn, high: float) -> list[float]:
    return draw(st.lists(_money(high), min_size=PATHS, max_size=PATHS))


@settings(max_examples=80, deadline=None)
@given(data=st.data())
def test_array_elements_equal_the_float_results(data: st.DataObject) -> None:
    draw = data.draw
    base = RULE_SETS[draw(st.sampled_from(sorted(RULE_SETS)))]
    year = base.year + draw(st.integers(0, 6))
    rules = base.for_year(year, draw(st.sampled_from([0.0, 0.025])))
    status = draw(st.sampled_from(base.meta.filing_statuses))
    ages = tuple(draw(st.integers(18, 100)) for _ in range(base.people_covered(status)))
    ordinary = np.array(_column(draw, 900_000))
    columns = {
        "ordinary_income": ordinary,
        "investment_ordinary_income": ordinary * draw(st.floats(0, 1)),
        "qualified_dividends": np.array(_column(draw, 300_000)),
        "ltcg": np.array(_column(draw, 900_000)),
        "social_security": np.array(_column(draw, 120_000)),
        "early_distributions": ordinary * draw(st.sampled_from([0.0, 0.5])),
    }
    vector = compute_tax_arrays(rules, status, ages, year=year, **columns)
    for i in range(PATHS):
        scalar = compute_tax(
            rules,
            TaxInput(status, ages, year=year, **{k: float(v[i]) for k, v in columns.items()}),
        )
        for name in FIELDS:
            assert getattr(vector, name)[i] == pytest.approx(
                getattr(scalar, name), rel=1e-12, abs=1e-9
            ), name
        for table in ("deductions", "surtaxes"):
            for key, value in getattr(scalar, table).items():
                assert getattr(vector, table)[key][i] == pytest.approx(value, rel=1e-12, abs=1e-9)


def test_scalar_incomes_broadcast() -> None:
    rules = RULE_SETS["us-federal-2026"]
    out = compute_tax_arrays(
        rules, "mfj", (66, 64), ordinary_income=np.array([0.0, 50_000.0]), social_security=40_000
    )
    expected = [
        compute_tax(rules, TaxInput("mfj", (66, 64), ordinary_income=o, social_security=40_000))
        for o in (0.0, 50_000.0)
    ]
    assert out.total_tax.tolist() == [e.total_tax for e in expected]
    # Every result has the incomes' shape, also the parts no income reaches.
    assert out.credits.shape == out.early_withdrawal_penalty.shape == (2,)


def test_unknown_status_is_refused() -> None:
    with pytest.raises(ValueError, match="filing status 'hoh'"):
        compute_tax_arrays(RULE_SETS["us-federal-2026"], "hoh", (40,), ordinary_income=np.ones(2))
