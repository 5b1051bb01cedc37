"""Canadian households planned from rule data alone (rules/ca-federal-2026.toml and
rules/ca-on-2026.toml), against hand arguments.

The optimizer reads Canada through the same rule objects as the calculator
(taxopt.model.layered): the basic personal, age and pension income amounts (the age amount
and the OAS recovery tax as ramps whose regime the exact search fixes), the eligible
dividend gross-up and dividend tax credit, half of gains included, and Ontario as a
further level with its credits, surtax and health premium. Every plan here is replayed by
the ledger with the calculator and must agree with the model within C$1 a year.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

import taxopt
from taxopt.baselines import run_baselines
from taxopt.optimize import optimize
from taxopt.plan import Plan

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.fixture(scope="module")
def rules():
    return taxopt.load_rules("ca-on-2026")


@pytest.fixture(scope="module")
def example(rules):
    plan = taxopt.load_plan(EXAMPLES / "ontario-retiree.toml")
    return optimize(plan, rules, paths=0)


def _clawbacks(ledger) -> list[float]:
    return [sum(tax.clawbacks.values()) for tax in ledger.taxes]


def test_the_ontario_example_reconciles_every_year(example):
    assert example.mode == "exact" and example.status == "optimal"
    assert example.reconciliation_max_abs_error < 1.0
    ledger = example.ledger
    # The figures the model matched are Canada's: Ontario's tax and the eligible pension
    # income credit are in every year's tax; the plan pays no tax on nothing.
    assert all(tax.levels["ontario"]["total"] > 0 for tax in ledger.taxes)
    assert all(inp.pension_income > 0 for inp in ledger.inputs)  # RRIF payments from 65
    assert all(tax.credit_details["pension_income_amount"] > 0 for tax in ledger.taxes)


def test_the_ontario_example_beats_every_rule_of_thumb(example):
    """The rules of thumb spend the non-registered account first and leave the RRSP to its
    RRIF minimums, so its withdrawals later stack on CPP and OAS at higher rates; the plan
    fills the low brackets from 65 instead: more spending and less tax than each of them."""
    others = example.baselines_table.drop(index="optimized")
    assert len(others) == 3
    assert (others["gain_in_sustainable_spending"] > 500).all()
    assert (others["tax_saved_pv"] > 10_000).all()


def test_the_ontario_example_is_shown_in_canadian_dollars(example, tmp_path):
    from taxopt.cli.optimize_cmd import summary_text

    data = json.loads(example.to_json(tmp_path / "ca.json").read_text())
    assert data["currency"] == "CAD" and data["currency_symbol"] == "C$"
    text = summary_text(example)
    assert "C$" in text
    assert "$" not in text.replace("C$", "")  # every amount shown in C$
    assert "CC$" not in text  # a part already in C$ (the bequest floor) is not localized twice


def test_localizing_twice_changes_nothing():
    from taxopt.currency import localize

    once = localize("floor $0, spending $72,069 in today's dollars", "CAD")
    assert once == "floor C$0, spending C$72,069 in today's dollars"
    assert localize(once, "CAD") == once
    assert localize("A$5 and $5", "AUD") == "A$5 and A$5"


def test_the_ontario_example_runs_from_the_cli(tmp_path, capsys):
    from taxopt.cli import main

    plan = EXAMPLES / "ontario-retiree.toml"
    code = main(
        [
            "optimize",
            str(plan),
            "--rules",
            "ca-on-2026",
            "--paths",
            "0",
            "--no-baselines",
            "--json",
            str(tmp_path / "out.json"),
        ]
    )
    assert code in (0, None)
    out = capsys.readouterr().out
    assert "under ca-on-2026 (exact mode" in out and "C$" in out
    assert json.loads((tmp_path / "out.json").read_text())["reconciliation_max_abs_error"] < 1


# ---------------------------------------------------------------------------------------
# The RRSP meltdown: draw the RRSP before 71 when RRIF minimums and OAS would otherwise
# meet the recovery tax.

MELTDOWN = """
name = "Ontario retiree with a large RRSP"
filing_status = "single"
start_year = 2026
retirement_year = 2026
horizon_age = 92
inflation = 0.02
[[tiers]]
name = "bonds"
expected_return = 0.045
yield = 0.035
yield_character = "ordinary"
volatility = 0.06
[[tiers]]
name = "equity"
expected_return = 0.065
yield = 0.02
yield_character = "ordinary"
volatility = 0.15
[[tiers]]
name = "cash"
expected_return = 0.03
yield = 0.03
yield_character = "ordinary"
volatility = 0.01
[[people]]
name = "Kim"
birth_year = 1961
[profile]
weights = { bonds = 0.5, equity = 0.5 }
reserve_tier = "cash"
reserve_min = 0.02
reserve_max = 0.10
tolerance = 0.05
[[accounts]]
name = "kim_rrsp"
kind = "rrsp"
owner = "Kim"
balances = { bonds = 700000, equity = 700000 }
[[accounts]]
name = "kim_tfsa"
kind = "tfsa"
owner = "Kim"
balances = { equity = 100000 }
[[accounts]]
name = "kim_open"
kind = "non_registered"
balances = { bonds = 300000, equity = 300000, cash = 50000 }
basis = { bonds = 300000, equity = 300000, cash = 50000 }
[[income]]
name = "Kim CPP"
kind = "other_taxable"
owner = "Kim"
start_age = 65
annual = 12000
[[income]]
name = "Kim OAS"
kind = "state_pension"
owner = "Kim"
start_age = 65
annual = 8900
[objective]
kind = "max_spending"
[options]
mode = "exact"
"""


def test_a_large_rrsp_is_melted_down_before_71_when_oas_clawback_would_bind(rules):
    """Hand argument. Kim is 65 in 2026 with a C$1.4M RRSP growing about 5% a year: about
    C$1.97M on January 1, 2033, the year after she turns 71. From then the RRIF must pay
    at least the prescribed factor of that value each year (ITR 7308(4): 5.40% at 72,
    rising to 6.82% at 80 and 20% from 95), about C$106,000 at 72; with CPP (C$12,000
    indexed, about C$13,800) and OAS (about C$10,200) her net income is about C$130,000,
    over the OAS recovery threshold (C$95,323 for 2026, ITA s.180.2, indexed: about
    C$109,500 in 2033), so 15% of the excess is clawed back on top of the 29.65% federal
    and Ontario rate there (20.5% + 9.15%; the age amount is already gone). Waiting
    therefore taxes the RRSP at the top of that income every year from 72; drawing it
    from 65, when her only other income is CPP and OAS, fills the lower brackets
    (federal 14% to C$58,523, Ontario 5.05% to C$53,891) that waiting leaves empty and
    shrinks the minimums below the clawback. So the optimized plan withdraws from the
    RRSP before 71, and it pays less tax and recovery tax over its life than the plan
    that waits (the conventional order: non-registered first, the RRSP only as its
    minimums, then the TFSA) while spending at least as much."""
    plan = Plan.model_validate(tomllib.loads(MELTDOWN))
    result = optimize(plan, rules, paths=0, with_baselines=False)
    assert result.status == "optimal" and result.reconciliation_max_abs_error < 1.0
    yearly = result.ledger.yearly
    before_71 = yearly[yearly["age_Kim"] <= 71]
    assert before_71["withdrawal_kim_rrsp"].sum() > 100_000

    waits = run_baselines(plan, rules, result)["conventional_withdrawals"]
    waiting = waits.ledger.yearly
    # The plan that waits: nothing from the RRSP before the RRIF minimums start at 72.
    assert waiting.loc[waiting["age_Kim"] <= 71, "withdrawal_kim_rrsp"].sum() < 1.0
    # ... meets the recovery tax once the minimums start, which the meltdown avoids.
    assert sum(_clawbacks(waits.ledger)) > sum(_clawbacks(result.ledger)) + 1_000
    assert waits.ledger.lifetime_tax_real > result.ledger.lifetime_tax_real + 5_000
    assert waits.figures.sustainable_spending <= result.figures.sustainable_spending + 1.0


def test_fast_mode_over_states_tax_and_says_what_it_approximates(rules):
    """Fast mode has no binaries: the Ontario Health Premium is charged at its cap (ON428
    Part C chart: C$900 at most, not indexed) and the ramps run past their ends, so its
    model tax is never below the calculator's, and above it by at most the premium's cap
    where the ramps have not ended (this plan stays under the recovery threshold's end)."""
    plan = taxopt.load_plan(EXAMPLES / "ontario-retiree.toml")
    result = optimize(plan, rules, mode="fast", paths=0, with_baselines=False)
    assert result.status == "optimal"
    errors = result.reconciliation["tax_error"]
    cap = sum(step.cap for step in rules.levels[0].premiums[0].steps)
    assert cap == 900
    assert (errors >= -1.0).all() and (errors <= cap + 1.0).all()
    assert any("ontario_health_premium at its full amount" in n for n in result.notes)
    assert any("oas_recovery_tax" in n and "run past their ends" in n for n in result.notes)


SMALL_RRSP = [
    (
        "balances = { bonds = 700000, equity = 700000 }",
        "balances = { bonds = 60000, equity = 40000 }",
    ),
    (
        "balances = { bonds = 300000, equity = 300000, cash = 50000 }",
        "balances = { equity = 20000, cash = 10000 }",
    ),
    (
        "basis = { bonds = 300000, equity = 300000, cash = 50000 }",
        "basis = { equity = 12000, cash = 10000 }",
    ),
]
VARIANTS = {
    # Far past the end of the OAS recovery tax, the Ontario surtax's second threshold and
    # the start of the enhanced basic personal amount's phase-out.
    "rich": [
        (
            "balances = { bonds = 700000, equity = 700000 }",
            "balances = { bonds = 2000000, equity = 2000000 }",
        )
    ],
    # OAS and a small RRIF only: the credits exceed the tax (nonrefundable: tax 0).
    "credits_exceed_tax": [*SMALL_RRSP, ("annual = 12000", "annual = 0")],
    # 60 at the start (no age or pension amount, no OAS before 65), eligible dividends
    # grossed up with the dividend tax credit, gains half included.
    "younger_with_dividends": [
        ("birth_year = 1961", "birth_year = 1966"),
        (
            'yield = 0.02\nyield_character = "ordinary"',
            'yield = 0.03\nyield_character = "qualified_dividends"',
        ),
        (
            "basis = { bonds = 300000, equity = 300000, cash = 50000 }",
            "basis = { bonds = 250000, equity = 100000, cash = 50000 }",
        ),
    ],
}


@pytest.mark.parametrize("rule_set", ["ca-on-2026", "ca-federal-2026"])
@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_every_canadian_mechanism_reconciles_in_exact_mode(variant, rule_set):
    text = MELTDOWN
    for old, new in VARIANTS[variant]:
        assert old in text
        text = text.replace(old, new)
    plan = Plan.model_validate(tomllib.loads(text))
    result = optimize(plan, taxopt.load_rules(rule_set), paths=0, with_baselines=False)
    assert result.status == "optimal"
    assert result.reconciliation_max_abs_error < 1.0
    taxes = result.ledger.taxes
    if variant == "rich":  # the whole OAS recovered in some year, and the surtax paid
        oas = result.ledger.yearly["social_security"]
        recovered = [t.clawbacks["oas_recovery_tax"] for t in taxes]
        assert any(abs(r - b) < 0.01 for r, b in zip(recovered, oas, strict=True))
        if rule_set == "ca-on-2026":
            assert any(t.levels["ontario"]["surtax"] > 0 for t in taxes)
    if variant == "credits_exceed_tax":
        assert sum(t.total_tax < 0.01 for t in taxes) > len(taxes) // 2
    if variant == "younger_with_dividends":
        assert any(t.gross_up > 0 for t in taxes) and any(t.included_gains > 0 for t in taxes)


def test_rrsp_contributions_stay_within_18_percent_of_last_years_earnings(rules):
    """The RRSP deduction limit is 18% of the previous year's earned income, at most the
    RRSP dollar limit (ITA s.146(1); C$33,810 for 2026, CRA 'MP, DB, RRSP, DPSP, ALDA,
    TFSA limits'). Earning C$80,000 (then indexed), a saver may put 18% of it, C$14,400 in
    2026, in the RRSP, not the dollar limit: the rest of C$30,000 of savings goes to the
    TFSA (C$7,000 a year) and the non-registered account."""
    text = MELTDOWN.replace("birth_year = 1961", "birth_year = 1981").replace(
        "retirement_year = 2026", "retirement_year = 2031"
    )
    text = text.replace("[objective]", "[contributions]\nannual = 30000\n\n[objective]")
    text = text.replace(
        "[[income]]", '[[earnings]]\nperson = "Kim"\nannual = 80000\n\n[[income]]', 1
    )
    plan = Plan.model_validate(tomllib.loads(text))
    result = optimize(plan, rules, paths=0, with_baselines=False)
    assert result.status == "optimal" and result.reconciliation_max_abs_error < 1.0
    yearly = result.ledger.yearly.set_index("year")
    working = [y for y in yearly.index if y < 2031]
    for year in working:
        earned_before = 80_000 * plan.inflation_factor(max(year - 1, 2026))
        assert yearly.at[year, "contribution_kim_rrsp"] <= 0.18 * earned_before + 0.01
    # The limit binds: a saver in the 29.65% bracket who will draw at lower rates fills it.
    assert yearly.at[2026, "contribution_kim_rrsp"] == pytest.approx(14_400, abs=1)


# ---------------------------------------------------------------------------------------
# One household under Canadian and US rules (taxopt compare).


def test_compare_runs_the_ontario_household_under_us_rules_when_its_accounts_map(tmp_path):
    from taxopt.compare import compare

    result = compare(
        [EXAMPLES / "ontario-retiree.toml"],
        ["ca-on-2026", "us-federal-2026"],
        mode="fast",
        processes=1,
        with_baselines=False,
    )
    statuses = dict(zip(result.table["rules"], result.table["status"], strict=True))
    assert statuses == {"ca-on-2026": "optimal", "us-federal-2026": "optimal"}


def test_an_unmapped_canadian_account_is_refused_under_us_rules_in_one_line(tmp_path):
    from taxopt.compare import compare

    text = (EXAMPLES / "ontario-retiree.toml").read_text()
    unmapped = tmp_path / "unmapped.toml"
    unmapped.write_text(text.replace('kinds = { US = "traditional_ira" }\n', ""))
    result = compare([unmapped], ["ca-on-2026", "us-federal-2026"], mode="fast", processes=1)
    message = result.errors["Ontario retiree", "us-federal-2026"]
    assert "\n" not in message
    assert str(unmapped) in message
    assert "accounts[0].kind: 'rrsp' is not an account kind of rule set us-federal-2026" in message
    # The suggestion is the US kind taxed like an RRSP (deductible in, deferred growth).
    assert 'kinds = { US = "traditional_ira" }' in message


def test_a_us_state_with_canadian_rules_is_refused_in_one_line(capsys):
    from taxopt.cli import main

    plan = EXAMPLES / "ontario-retiree.toml"
    code = main(["optimize", str(plan), "--rules", "ca-on-2026", "--state", "ny", "--paths", "0"])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "state: 'ny' is a US state, but rule set ca-on-2026 is for CA-ON" in err
    assert "remove `state` from the plan (or --state)" in err


def test_the_ontario_workbook_speaks_canadian(example, tmp_path):
    """The workbook in the rule set's words: C$ money cells, RRSP/TFSA/non-registered for
    the places, OAS for the public pension, the estate note on the deemed disposition."""
    import re

    import openpyxl

    from taxopt.cli.optimize_cmd import summary_text

    book = openpyxl.load_workbook(example.to_excel(tmp_path / "ca.xlsx"))
    cells = [c for ws in book for row in ws.iter_rows() for c in row]
    texts = [c.value for c in cells if isinstance(c.value, str)]
    formats = {c.number_format for c in cells}
    assert '"C$"#,##0;-"C$"#,##0;0' in formats
    words = " ".join(texts)
    assert "OAS" in words and "RRSP" in words and "TFSA" in words
    us_terms = r"(?<!C)\$|\bRoth\b|\bIRA\b|Social Security|State Pension|\bRMDs?\b"
    assert not re.search(us_terms, words)
    assert not re.search(r"\ban minimum\b|^minimum|\bconversion", words, re.M)
    assert "deemed disposition at death" in summary_text(example)
