"""UK households planned from rule data alone (rules/uk-2025-26.toml), against hand arguments.

The optimizer reads the UK through the same rule objects as the US: stacked dividend and
gain schedules (taxopt.model.stacking), the dividend nil rate, the personal allowance taper
measured on income without gains, and the SIPP's tax-free quarter. Every plan here is
replayed by the ledger with the calculator and must agree with the model within £1 a year.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import replace
from pathlib import Path

import openpyxl
import pytest

import taxopt
from taxopt.ledger import replay
from taxopt.optimize import optimize
from taxopt.plan import Plan

BASIC_BAND = 37_700  # ITA 2007 s.10, 2025-26 (frozen: rules/uk-2025-26.toml)
PENNY = 0.5  # £ a year: solver noise around a band edge

SAVER = """
name = "UK higher-rate saver, small"
filing_status = "single"
start_year = 2025
retirement_year = 2033
horizon_age = 80
inflation = 0.02
[[tiers]]
name = "bonds"
expected_return = 0.045
yield = 0.04
yield_character = "ordinary"
volatility = 0.07
[[tiers]]
name = "global_equity"
expected_return = 0.07
yield = 0.02
yield_character = "qualified_dividends"
volatility = 0.16
[[tiers]]
name = "small_cap"
expected_return = 0.085
yield = 0.01
yield_character = "qualified_dividends"
volatility = 0.22
[[tiers]]
name = "cash"
expected_return = 0.035
yield = 0.035
yield_character = "ordinary"
volatility = 0.01
[[people]]
name = "Sam"
birth_year = 1975
[profile]
weights = { bonds = 0.3, global_equity = 0.4, small_cap = 0.3 }
reserve_tier = "cash"
reserve_min = 0.05
reserve_max = 0.15
tolerance = 0.03
[[accounts]]
name = "sam_sipp"
kind = "sipp"
owner = "Sam"
balances = { bonds = 60000, global_equity = 60000 }
[[accounts]]
name = "sam_isa"
kind = "isa"
owner = "Sam"
balances = { global_equity = 30000 }
[[accounts]]
name = "sam_gia"
kind = "gia"
balances = { global_equity = 10000, cash = 10000 }
basis = { global_equity = 8000, cash = 10000 }
[contributions]
annual = 12000
[[earnings]]
person = "Sam"
annual = 72000
[[income]]
name = "Sam State Pension"
kind = "state_pension"
owner = "Sam"
start_age = 67
annual = 11973
[objective]
kind = "max_spending"
[options]
mode = "exact"
taxable_buys = "contribution_years"
"""


@pytest.fixture(scope="module")
def saver():
    plan = Plan.model_validate(tomllib.loads(SAVER))
    rules = taxopt.load_rules("uk-2025-26")
    return optimize(plan, rules, paths=0, with_baselines=False)


def test_model_tax_equals_the_calculators_every_year(saver):
    assert saver.status == "optimal"
    assert saver.reconciliation_max_abs_error < 1.0


def test_higher_rate_saver_fills_the_sipp_first(saver):
    """A pound into the SIPP while it removes higher-rate income saves 40p now and costs at
    most 20p x 75% = 15p when drawn in the basic band later (a quarter is tax free); a pound
    into the ISA saves nothing now and nothing later. So every working year the SIPP takes
    contributions until taxable income is down to the basic band, before any ISA money."""
    working = saver.yearly[saver.yearly.wages > 0]
    assert (working.contribution_sam_sipp > 0).all()
    assert (working.ordinary_taxable_income <= BASIC_BAND + PENNY).all()
    # Without the SIPP, wages alone would be taxed in the higher band every year.
    assert (working.wages - 12_570 > BASIC_BAND).all()


def test_sipp_is_drawn_within_the_allowance_and_basic_band(saver):
    """Drawn within the personal allowance a SIPP pound costs no tax, within the basic band
    15p (20% of the taxable 75%), in the higher band 30p. Spread over the retirement years
    the pot fits within the basic band, so the SIPP is drawn every year it may be (after
    the minimum pension age) and taxable income never leaves the basic band."""
    retired = saver.yearly[saver.yearly.retired & (saver.yearly.age_Sam > 57)]
    assert (retired.withdrawal_sam_sipp > 0).all()
    assert (retired.ordinary_taxable_income <= BASIC_BAND + PENNY).all()
    assert (retired.taxable_income <= BASIC_BAND + PENNY).all()
    assert (retired.early_withdrawal_penalty == 0).all()


def test_isa_holds_the_highest_growth_tier(saver):
    """Growth in the ISA is never taxed, growth in the SIPP is taxed at 15% effective when
    drawn, growth in the GIA bears dividend tax and CGT: the tier that grows most is worth
    most where growth is free. At retirement the ISA's largest holding is small_cap."""
    location = saver.location
    isa = location[(location.snapshot == "retirement") & (location.account == "sam_isa")]
    top = isa.sort_values("dollars").iloc[-1]
    assert top.tier == "small_cap"
    assert top.share_of_account > 0.5


# ---------------------------------------------------------------------------------------
# One household under two jurisdictions: a plan names each account's kind per jurisdiction.

EXAMPLES = Path(__file__).parent.parent / "examples"


def _young_accumulator(**kinds: dict[str, str]) -> Plan:
    data = tomllib.loads((EXAMPLES / "young-accumulator.toml").read_text())
    for account in data["accounts"]:
        if account["name"] in kinds:
            account["kinds"] = kinds[account["name"]]
    return Plan.model_validate(data)


def test_a_us_plan_maps_its_accounts_to_uk_kinds():
    plan = _young_accumulator(sam_roth={"UK": "isa"}, sam_taxable={"UK": "gia"})
    uk = taxopt.load_rules("uk-2025-26")
    mapped = plan.under(uk)
    assert [a.kind for a in mapped.accounts] == ["isa", "gia"]
    assert plan.under(taxopt.load_rules("us-federal-2026")) is plan  # US reads `kind`
    result = optimize(plan, uk, mode="fast", paths=0, with_baselines=False)
    assert result.status == "optimal"
    assert [a.kind for a in result.plan.accounts] == ["isa", "gia"]


def test_an_unmapped_account_is_refused_in_one_line_naming_the_fix():
    plan = _young_accumulator(sam_taxable={"UK": "gia"})  # the Roth has no UK kind
    with pytest.raises(taxopt.InputError) as info:
        plan.check_against(taxopt.load_rules("uk-2025-26"))
    message = str(info.value)
    assert "\n" not in message
    assert "accounts[0].kind: 'roth_ira' is not an account kind of rule set uk-2025-26" in message
    assert 'kinds = { UK = "isa" }' in message


# ---------------------------------------------------------------------------------------
# The lump sum allowance (enforced: taxopt.model.tax_free) and the money purchase annual
# allowance (checked on the result: taxopt.validation).


LUMP_SUM_ALLOWANCE = 268_275  # ITEPA 2003 s.637Q (FA 2024 Sch.9), a person, not indexed


@pytest.fixture(scope="module")
def big_sipp():
    """£1.6m in a SIPP drawn over the plan: a quarter of it is over £400,000, above the
    lump sum allowance."""
    text = SAVER.replace(
        "balances = { bonds = 60000, global_equity = 60000 }",
        "balances = { bonds = 800000, global_equity = 800000 }",
    )
    plan = Plan.model_validate(tomllib.loads(text))
    return optimize(plan, taxopt.load_rules("uk-2025-26"), paths=0, with_baselines=False)


def test_a_large_sipp_takes_no_more_tax_free_than_the_lump_sum_allowance(big_sipp):
    """The model caps the tax-free part at a quarter of each withdrawal and the allowance
    over life; the ledger replays it and the tax agrees every year."""
    y = big_sipp.yearly
    assert 0.25 * y["withdrawal_sam_sipp"].sum() > LUMP_SUM_ALLOWANCE + 100_000
    assert y["tax_free_sam_sipp"].sum() == pytest.approx(LUMP_SUM_ALLOWANCE, abs=1.0)
    assert (y["tax_free_sam_sipp"] <= 0.25 * y["withdrawal_sam_sipp"] + 0.01).all()
    assert big_sipp.reconciliation_max_abs_error < 1.0
    assert not [n for n in big_sipp.notes if "tax_free_lifetime_limit" in n]


def test_without_chosen_amounts_the_ledger_takes_a_quarter_until_the_allowance_is_used(
    big_sipp,
):
    """A rule of thumb chooses no tax-free amounts: each withdrawal is an UFPLS, a quarter
    tax free (FA 2004 Sch.29 para.4A) until the allowance is used, then all of it is
    pension income. Worked year by year from the withdrawals; the income the calculator
    sees moves by exactly the tax-free amounts that differ from the optimized replay."""
    greedy = replay(big_sipp.plan, big_sipp.rules, replace(big_sipp.decisions, tax_free={}))
    y = greedy.yearly
    left = float(LUMP_SUM_ALLOWANCE)
    crossed = False
    for drawn, free in zip(y["withdrawal_sam_sipp"], y["tax_free_sam_sipp"], strict=True):
        expected = min(0.25 * drawn, left)
        crossed |= 0 < left < 0.25 * drawn
        assert free == pytest.approx(expected, abs=0.01)
        left -= expected
    assert crossed and left == pytest.approx(0.0, abs=0.01)
    chosen = big_sipp.ledger
    for i in range(len(y)):
        moved = greedy.inputs[i].ordinary_income - chosen.inputs[i].ordinary_income
        gap = chosen.yearly["tax_free_sam_sipp"][i] - y["tax_free_sam_sipp"][i]
        assert moved == pytest.approx(gap, abs=0.01)


def test_contributions_after_first_drawing_the_sipp_are_checked_against_the_mpaa():
    """Working to 60 with access from 58: drawing the SIPP (a quarter tax free) while
    paying into it at 40% relief is worth doing, but from the first withdrawal the money
    purchase annual allowance is £10,000 (FA 2004 s.227ZA): a plan above it is flagged."""
    plan = Plan.model_validate(
        tomllib.loads(SAVER.replace("retirement_year = 2033", "retirement_year = 2036"))
    )
    result = optimize(plan, taxopt.load_rules("uk-2025-26"), paths=0, with_baselines=False)
    y = result.yearly
    both = y[(y.withdrawal_sam_sipp > 1) & (y.contribution_sam_sipp > 10_001)]
    notes = [n for n in result.notes if "after_withdrawal" in n]
    assert not both.empty  # the plan does draw and pay in together
    years = ", ".join(str(int(v)) for v in both.year)
    assert len(notes) == 1
    assert f"to pension annual allowance accounts in {years}," in notes[0]


def test_the_uk_example_names_its_us_kinds_by_country_code():
    """`kinds = { US = ... }` reaches the US-federal jurisdiction: `compare` can run the UK
    example under US rules (amounts stay as entered)."""
    plan = taxopt.load_plan(EXAMPLES / "uk-higher-rate-saver.toml")
    us = taxopt.load_rules("us-federal-2026")
    assert us.meta.jurisdiction == "US-federal"
    assert [a.kind for a in plan.under(us).accounts] == ["traditional_ira", "roth_ira", "taxable"]
    plan.under(us).check_against(us)


def test_an_earner_in_the_taper_keeps_the_whole_personal_allowance():
    """Between £100,000 and £125,140 of adjusted net income each pound costs 60p (40% plus
    half a pound of allowance at 40%, ITA 2007 s.58); a SIPP contribution reduces adjusted
    net income (s.58(3)) and comes back taxed at most 15p. So a £118,000 earner pays in at
    least down to £100,000 every working year and keeps the full £12,570 allowance."""
    text = SAVER.replace("annual = 72000", "annual = 118000")
    plan = Plan.model_validate(tomllib.loads(text))
    result = optimize(plan, taxopt.load_rules("uk-2025-26"), paths=0, with_baselines=False)
    assert result.reconciliation_max_abs_error < 1.0
    working = result.yearly[result.yearly.wages > 0]
    assert (working.wages > 100_000 + 12_570).all()  # the taper would bite without the SIPP
    assert ((working.total_deductions - 12_570).abs() <= PENNY).all()
    assert (working.agi - working.realized_gains <= 100_000 + PENNY).all()


GIA_TODAY = (
    "balances = { global_equity = 10000, cash = 10000 }\n"
    "basis = { global_equity = 8000, cash = 10000 }"
)
VARIANTS = {
    # Interest near the personal savings allowance's cliff at the basic rate limit.
    "cash_saver": SAVER.replace("annual = 72000", "annual = 47000").replace(
        GIA_TODAY,
        "balances = { cash = 150000, bonds = 100000, global_equity = 50000 }\n"
        "basis = { cash = 150000, bonds = 100000, global_equity = 40000 }",
    ),
    # A retiree living on a GIA: the starting rate for savings, dividends, gains over the
    # exempt amount, the allowance left over set against savings then dividends.
    "gia_retiree": SAVER.replace("birth_year = 1975", "birth_year = 1958")
    .replace("retirement_year = 2033", "retirement_year = 2025")
    .replace("[contributions]\nannual = 12000\n", "")
    .replace('[[earnings]]\nperson = "Sam"\nannual = 72000\n', "")
    .replace(
        GIA_TODAY,
        "balances = { bonds = 100000, global_equity = 300000, small_cap = 100000, cash = 30000 }"
        "\nbasis = { bonds = 100000, global_equity = 150000, small_cap = 50000, cash = 30000 }",
    ),
}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
@pytest.mark.parametrize("rule_set", ["uk-2025-26", "uk-2026-27", "uk-scotland-2025-26"])
def test_every_uk_mechanism_reconciles_in_exact_mode(variant, rule_set):
    """Savings, dividends and gains stacked with their allowances, cliffs and the taper:
    the model's tax equals the calculator's every year."""
    plan = Plan.model_validate(tomllib.loads(VARIANTS[variant]))
    result = optimize(plan, taxopt.load_rules(rule_set), paths=0, with_baselines=False)
    assert result.status == "optimal"
    assert result.reconciliation_max_abs_error < 1.0
    y = result.yearly
    assert (y.taxable_ordinary_yield > 0).any()  # savings income reaches the GIA's tax
    assert (y.qualified_dividends > 0).any()


# ---------------------------------------------------------------------------------------
# The shipped example, end to end, in pounds.


@pytest.fixture(scope="module")
def example():
    plan = taxopt.load_plan(EXAMPLES / "uk-higher-rate-saver.toml")
    return optimize(plan, taxopt.load_rules("uk-2025-26"), paths=0)


def test_the_uk_example_reconciles_and_beats_the_rules_of_thumb(example):
    assert example.mode == "exact" and example.status == "optimal"
    assert example.reconciliation_max_abs_error < 1.0
    table = example.baselines_table
    assert set(example.baselines) == {
        "guide_rule_of_thumb",
        "same_mix_everywhere",
        "conventional_withdrawals",
    }
    assert (table.loc[list(example.baselines), "gain_in_sustainable_spending"] >= -1).all()


def test_the_uk_example_is_shown_in_pounds(example, tmp_path):
    from taxopt.cli.optimize_cmd import summary_text

    data = json.loads(example.to_json(tmp_path / "uk.json").read_text())
    assert data["currency"] == "GBP" and data["currency_symbol"] == "£"
    assert data["units"].startswith("today's pounds")
    text = summary_text(example)
    assert "$" not in text and "£" in text and "today's pounds" in text
    book = openpyxl.load_workbook(example.to_excel(tmp_path / "uk.xlsx"))
    formats = {c.number_format for ws in book for row in ws.iter_rows() for c in row}
    assert '"£"#,##0;-"£"#,##0;0' in formats
    assert not any("#,##0;-#,##0;0" == f for f in formats)  # no money cell without £


def test_the_uk_workbook_has_no_us_words_or_dollars(example, tmp_path):
    """Every text of the real file (cells of every sheet, chart titles, axes and series,
    number formats) is in the UK's words: no '$', 'Roth', 'RMD' or 'IRA' (the plan file
    sheet quotes the plan verbatim, whose field names are lower-case identifiers)."""
    import re
    import zipfile

    path = example.to_excel(tmp_path / "uk.xlsx")
    with zipfile.ZipFile(path) as parts:
        xml = {n: parts.read(n).decode("utf-8") for n in parts.namelist() if n.endswith(".xml")}
    # Chart ranges ('Chart data'!$A$5:$A$50) are cell references, not text a reader sees.
    xml = {n: re.sub(r"<c:f>.*?</c:f>", "", text) for n, text in xml.items()}
    charts = [n for n in xml if n.startswith("xl/charts/")]
    assert charts and "xl/sharedStrings.xml" in xml
    for name in [*charts, "xl/sharedStrings.xml", "xl/styles.xml"]:
        # UK pensions have no conversions: no sheet, chart or sentence speaks of them.
        us_words = (r"\$", r"\bRoth\b", r"\bRMDs?\b", r"\bIRA\b", r"\bdollars?\b", r"\b[Cc]onver")
        for word in us_words:
            found = re.search(word, xml[name])
            context = xml[name][max(0, found.start() - 80) : found.end() + 40] if found else ""
            assert found is None, f"{name}: {context}"
    book = openpyxl.load_workbook(path)
    assert "Glossary" in book.sheetnames
    terms = [c.value for c in book["Glossary"]["A"] if c.value]
    assert {"ISA", "SIPP", "GIA"} <= set(terms)
    this_year = book["This year"]
    headers = [c.value for row in this_year.iter_rows(max_row=12) for c in row if c.value]
    assert not any("Convert" in str(h) or "minimum withdrawal" in str(h) for h in headers)
    longest = len("Sam's Self-invested personal pension (SIPP)")  # 43 characters
    for sheet in ("This year", "Inputs"):  # was fixed at 28 and 30 units
        assert book[sheet].column_dimensions["A"].width >= 0.8 * longest + 2


def test_stress_paths_replay_the_tax_free_amounts_the_plan_chose(example):
    """Paths that earn exactly the plan's returns reproduce the ledger's tax every year,
    with the plan's tax-free amounts (here half of what the optimizer chose: a legal
    schedule that is not a quarter of each withdrawal) or with none chosen (a quarter of
    each withdrawal until the allowance is used, as the ledger takes it)."""
    import numpy as np

    from taxopt.simulate import simulate

    plan = example.plan
    median = [
        (1 + t.expected_return) / np.sqrt(1 + (t.volatility / (1 + t.expected_return)) ** 2) - 1
        for t in plan.tiers
    ]
    returns = np.tile(median, (len(plan.years), 1))
    sim = simulate(example, paths=2, returns=returns)
    assert np.abs(sim.tax - example.yearly["total_tax"].to_numpy()).max() < 0.01
    halved = {k: v / 2 for k, v in example.decisions.tax_free.items()}
    greedy = {}
    taxes = {}
    for name, chosen in (("halved", halved), ("greedy", greedy)):
        decisions = replace(example.decisions, tax_free=chosen)
        ledger = replay(plan, example.rules, decisions)
        variant = replace(example, decisions=decisions, ledger=ledger)  # its own spending
        taxes[name] = ledger.yearly["total_tax"].to_numpy()
        sim = simulate(variant, paths=2, returns=returns)
        assert np.abs(sim.tax - taxes[name]).max() < 0.01, name
    assert np.abs(taxes["halved"] - taxes["greedy"]).max() > 100  # two schedules


def test_simulate_compares_the_rules_that_apply_in_pounds(capsys):
    """`simulate --compare` under a rule set without an [rmd] table leaves the RMD rule out
    (it was an error naming a rule the user never chose) and speaks in pounds."""
    from taxopt.cli import main

    plan = EXAMPLES / "uk-higher-rate-saver.toml"
    code = main(["simulate", str(plan), "--rules", "uk-2025-26", "--paths", "200", "--compare"])
    out = capsys.readouterr().out
    assert code == 0
    rules = [line.split()[0] for line in out.splitlines() if "success" in line and "median" in line]
    assert "fixed" in rules and "vpw" in rules and "rmd" not in rules
    assert "£" in out and "$" not in out and "dollars" not in out


@pytest.mark.parametrize(
    ("us_kind", "uk_kind"), [("taxable", "gia"), ("traditional_ira", "sipp"), ("roth_ira", "isa")]
)
def test_the_suggested_mapping_is_the_kind_taxed_alike(us_kind, uk_kind):
    """An unmapped account's suggested kind is read from the two rule sets' treatments
    (growth, contributions), not the rule set's first kind."""
    from taxopt.plan import nearest_kind

    assert nearest_kind(us_kind, taxopt.load_rules("uk-2025-26")) == uk_kind
