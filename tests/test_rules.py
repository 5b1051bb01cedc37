"""Rule sets: loading, `extends`, schema errors, indexing, and hand-worked taxes.

Expected values are worked by hand from the published tables cited beside them.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from taxopt.errors import InputError
from taxopt.rules import (
    RULES_DIR,
    available_rule_sets,
    indexed_amount,
    load_raw,
    load_rules,
    merge_override,
)
from taxopt.rules_report import diff_rules, rule_tables, rule_values
from taxopt.tax import TaxInput, compute_tax

ALL_RULE_SETS = [
    "uk-2025-26",
    "uk-2026-27",
    "uk-scotland-2025-26",
    "us-federal-2025",
    "us-federal-2026",
    "us-federal-2026-pre-tcja",
]


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / f"{name}.toml"
    path.write_text(text, encoding="utf-8")
    return path


def error_of(path: Path) -> str:
    with pytest.raises(InputError) as info:
        load_rules(path)
    return str(info.value)


# ---------------------------------------------------------------------------------------
# Loading and the registry


def test_every_shipped_rule_set_loads_and_every_table_has_a_source():
    assert set(ALL_RULE_SETS) <= set(available_rule_sets())
    for name in ALL_RULE_SETS:
        rules = load_rules(name)
        assert rules.name == name
        for table in rule_tables(rules):
            if table.path not in {"meta", "extends"}:
                assert len(table.source) >= 3, (name, table.path)


def test_names_and_paths_load_the_same_rule_set():
    by_name = load_rules("us-federal-2026")
    by_path = load_rules(RULES_DIR / "us-federal-2026.toml")
    assert by_name == by_path


def test_unknown_name_lists_the_known_ones():
    with pytest.raises(InputError, match="known rule sets: .*us-federal-2025"):
        load_rules("us-federal-1999")


def test_2026_inherits_unindexed_statute_from_2025():
    r2025, r2026 = load_rules("us-federal-2025"), load_rules("us-federal-2026")
    # IRC §1411 thresholds and §86 bases are statutory and carry over unchanged.
    assert r2026.surtaxes == r2025.surtaxes
    assert r2026.benefit_taxation == r2025.benefit_taxation
    assert r2026.rmd == r2025.rmd
    # Rev. Proc. 2025-32 §4.14: $16,100 / $32,200.
    standard = next(d for d in r2026.deductions if d.name == "standard")
    assert standard.amount == {"single": 16100, "mfj": 32200}


# ---------------------------------------------------------------------------------------
# extends: merge by name, remove, errors


def test_reform_changing_only_the_niit_rate_keeps_everything_else(tmp_path):
    reform = write(
        tmp_path,
        "niit5",
        'extends = "us-federal-2026"\n[[surtaxes]]\nname = "niit"\nrate = 0.05\n'
        'source = "A test reform of IRC §1411"\n',
    )
    base, changed = load_rules("us-federal-2026"), load_rules(reform)
    differences = diff_rules(base, changed)
    assert [(d.path, d.a_value, d.b_value) for d in differences] == [
        ("surtaxes[niit].rate", 0.038, 0.05)
    ]
    assert changed.surtaxes[0].threshold == base.surtaxes[0].threshold


def test_remove_true_drops_a_named_entry_and_new_names_append(tmp_path):
    reform = write(
        tmp_path,
        "nosenior",
        'extends = "us-federal-2026"\n'
        '[[deductions]]\nname = "senior"\nremove = true\n'
        '[[deductions]]\nname = "extra"\nsource = "test source"\n'
        "amount = { single = 1, mfj = 2 }\nremove = false\n",
    )
    names = [d.name for d in load_rules(reform).deductions]
    assert names == ["standard", "additional_age_65", "extra"]


def test_merge_override_by_name_and_plain_replacement():
    base = {"x": [{"name": "a", "v": 1}, {"name": "b", "v": 2}], "y": [1, 2], "t": {"k": 1}}
    over = {"x": [{"name": "b", "v": 3}, {"name": "a", "remove": True}], "y": [5], "t": {"j": 2}}
    assert merge_override(base, over) == {
        "x": [{"name": "b", "v": 3}],
        "y": [5],
        "t": {"k": 1, "j": 2},
    }
    # A named list added where the base has an empty list still merges (remove stripped).
    assert merge_override({"x": []}, {"x": [{"name": "a", "remove": False}]}) == {
        "x": [{"name": "a"}]
    }


def test_circular_extends_is_an_error_naming_the_chain(tmp_path):
    write(tmp_path, "a", 'extends = "b"\n')
    write(tmp_path, "b", 'extends = "a"\n')
    message = error_of(tmp_path / "a.toml")
    assert "circular chain a.toml -> b.toml -> a.toml" in message


def test_extends_of_an_unknown_name_names_the_file(tmp_path):
    path = write(tmp_path, "reform", 'extends = "us-federal-2099"\n')
    message = error_of(path)
    assert message.startswith(f"{path}: extends: no rule set named 'us-federal-2099'")
    assert "us-federal-2026" in message  # lists what is known


def test_extends_finds_the_registry_from_another_folder(tmp_path):
    path = write(tmp_path, "mine", 'extends = "us-federal-2025"\n[meta]\nname = "mine"\n')
    assert load_raw(path)["meta"]["year"] == 2025


# ---------------------------------------------------------------------------------------
# Sources: cite the law without its figures; a reform restates what it changes

# A figure in a citation: a currency amount, a percent, a number with thousands
# separators, an "x1.315" factor or a "59 1/2" fraction. Section numbers ("§1(f)(7)",
# "Reg. §1.401(a)(9)-9"), years ("2025-26"), "Rev. Proc. 2025-32" and "SI 1998/1870" are
# references, not figures.
FIGURE = re.compile(r"[$£€]\s?\d|\d\s?%|\bper\s?cent\b|\d{1,3}(?:,\d{3})+|\bx\s?\d|\d\s+\d+/\d+")


def test_the_figure_pattern_tells_figures_from_references():
    for figure in ["($16,100 single)", "3.8% of", "£12,570", "indexed x1.315", "age 59 1/2"]:
        assert FIGURE.search(figure), figure
    for reference in [
        "Rev. Proc. 2025-32 §4.01, Tables 1 (mfj) and 3 (single)",
        "Treas. Reg. §1.401(a)(9)-9(c)",
        "IRC §401(a)(9)(C)(v) as amended by SECURE 2.0 (P.L. 117-328) §107",
        "Individual Savings Account Regulations 1998 (SI 1998/1870)",
        "gov.uk 'Income Tax rates and Personal Allowances', 2025-26",
    ]:
        assert not FIGURE.search(reference), reference


@pytest.mark.parametrize("name", ALL_RULE_SETS)
def test_no_source_restates_a_figure_and_every_table_links_its_law(name):
    # A source that restated figures would, once a reform changed a value, cite a number
    # the rule set no longer holds; the values are checked against the linked texts.
    for table in rule_tables(load_rules(name)):
        if table.path in {"meta", "extends"}:
            continue
        assert not FIGURE.findall(table.source), (table.path, table.source)
        assert table.urls, table.path
        assert all(url.startswith("https://") for url in table.urls), table.urls


def test_no_state_rule_source_restates_a_figure():
    # The state files (rules/states/, their own schema) follow the same citation rule.
    def sources(node):
        if isinstance(node, dict):
            for key, value in node.items():
                yield from [value] if key == "source" else sources(value)
        elif isinstance(node, list):
            for item in node:
                yield from sources(item)

    files = sorted((RULES_DIR / "states").glob("*.toml"))
    assert files
    for path in files:
        with path.open("rb") as handle:
            for source in sources(tomllib.load(handle)):
                assert not FIGURE.findall(source), (path.name, source)


def test_a_reform_that_changes_a_value_must_restate_the_source(tmp_path):
    path = write(
        tmp_path, "niit5", 'extends = "us-federal-2026"\n[[surtaxes]]\nname = "niit"\nrate = 0.05\n'
    )
    assert error_of(path) == (
        f"{path}: surtaxes[niit]: changes rate of us-federal-2026 but not its source; add "
        'source = "..." citing the law of the new values (the inherited source cites the '
        "law they replace)"
    )
    # One line per table, each naming the file and the table.
    path = write(
        tmp_path,
        "two",
        'extends = "us-federal-2026"\n[ordinary]\nindexed = false\n'
        '[account_kinds.roth_ira]\ncontribution_limit = "401k"\n',
    )
    lines = error_of(path).splitlines()
    assert [line.split(": ")[1] for line in lines] == ["ordinary", "account_kinds.roth_ira"]
    assert all(line.startswith(f"{path}: ") for line in lines)


def test_a_reform_may_relink_relabel_remove_or_repeat_without_a_new_source(tmp_path):
    path = write(
        tmp_path,
        "light",
        'extends = "us-federal-2026"\n'
        '[benefit_taxation]\nurl = ["https://www.ssa.gov/benefits/retirement/"]\n'
        '[account_kinds.roth_ira]\nlabel = "Roth IRA (test)"\n'
        '[[deductions]]\nname = "senior"\nremove = true\n'
        '[[surtaxes]]\nname = "niit"\nrate = 0.038\n',  # the same rate as the base
    )
    rules = load_rules(path)
    assert rules.benefit_taxation.url == ["https://www.ssa.gov/benefits/retirement/"]
    assert "senior" not in [d.name for d in rules.deductions]


def test_a_restated_source_does_not_inherit_the_old_links(tmp_path):
    path = write(
        tmp_path,
        "niit5",
        'extends = "us-federal-2026"\n[[surtaxes]]\nname = "niit"\nrate = 0.05\n'
        'source = "A test reform of IRC §1411"\n',
    )
    assert load_rules(path).surtaxes[0].url == []
    assert load_rules("us-federal-2026").surtaxes[0].url  # the base links its law


# ---------------------------------------------------------------------------------------
# Broken files: file + field + reason


BROKEN = {
    "percent_rates": (
        '[[surtaxes]]\nname = "niit"\nsource = "test reform"\nrate = 3.8\n',
        "surtaxes[0].rate: Input should be less than or equal to 1",
    ),
    "typo_status": (
        '[[deductions]]\nname = "standard"\nsource = "test reform"\n'
        "amount = { single = 1, mjf = 2 }\n",
        "deductions[standard].amount: filing status ['mjf'] is not in meta.filing_statuses",
    ),
    "missing_status": (
        '[[deductions]]\nname = "x"\nsource = "test src"\namount = { single = 1 }\n',
        "deductions[x].amount: lacks filing status ['mfj']",
    ),
    "limit_unknown_kind": (
        '[[contribution_limits]]\nname = "hsa"\nsource = "IRC §223"\n'
        'account_kinds = ["hsa"]\nannual = 4400\n',
        "contribution_limits[hsa].account_kinds: names 'hsa', which account_kinds does not",
    ),
    "blank_source": (
        '[ordinary]\nsource = "   "\n',
        "ordinary.source: String should have at least 3 characters",
    ),
    "extra_field": (
        '[capital_gains]\nsource = "test reform"\ninclusion = 0.5\n',
        "capital_gains.inclusion: Extra inputs are not permitted",
    ),
    "unequal_schedule": (
        '[ordinary]\nsource = "test reform"\n[ordinary.brackets.single]\nthresholds = [0, 1000]\n',
        "ordinary.brackets.single: thresholds has 2 entries but rates has 7",
    ),
    "income_kind_twice": (
        '[[preferential]]\nname = "more"\nsource = "test src"\napplies_to = ["ltcg"]\n'
        "[preferential.brackets.single]\nthresholds = [0]\nrates = [0.1]\n"
        "[preferential.brackets.mfj]\nthresholds = [0]\nrates = [0.1]\n",
        "preferential[more].applies_to: 'ltcg' is already taxed by "
        "preferential[qualified_dividends_and_ltcg]",
    ),
    "url_not_a_link": (
        '[benefit_taxation]\nurl = ["www.law.cornell.edu/uscode/text/26/86"]\n',
        "benefit_taxation.url: 'www.law.cornell.edu/uscode/text/26/86' is not a link; give "
        "the full address, starting https://",
    ),
    "rounding_lacks_a_status": (
        '[[surtaxes]]\nname = "niit"\nsource = "test reform"\nround_down_to = { single = 25 }\n',
        "surtaxes[niit].round_down_to: lacks filing status ['mfj']",
    ),
    "rounding_not_positive": (
        '[[deductions]]\nname = "standard"\nsource = "test reform"\nround_down_to = 0\n',
        "deductions[0].round_down_to: 0 is not a rounding unit; give a positive amount (50) "
        "or one per filing status ({ single = 25, mfj = 50 })",
    ),
    "rmd_overlap": (
        '[rmd]\nsource = "test reform"\n'
        "start_ages = [{ born_through = 1955, age = 72 }, { born_from = 1950, age = 75 }]\n",
        "rmd.start_ages[1]: birth years overlap start_ages[0]",
    ),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_reform_gives_file_field_and_reason(tmp_path, case):
    body, expected = BROKEN[case]
    path = write(tmp_path, case, f'extends = "us-federal-2026"\n{body}')
    message = error_of(path)
    assert f"{path}: {expected}" in message, message
    assert "(top level)" not in message


def test_a_name_used_twice_in_one_file_is_an_error(tmp_path):
    text = (RULES_DIR / "us-federal-2025.toml").read_text(encoding="utf-8")
    extra = (
        '[[surtaxes]]\nname = "niit"\nsource = "copy"\nrate = 0.01\n'
        'base = "net_investment_income"\nmeasure = "magi"\n'
        "threshold = { single = 1, mfj = 1 }\n"
    )
    path = write(tmp_path, "twice", text + extra)
    assert f"{path}: surtaxes: name ['niit'] is used twice" in error_of(path)


def test_invalid_toml_names_the_file(tmp_path):
    path = write(tmp_path, "bad", "[meta\nname = 1\n")
    assert error_of(path).startswith(f"{path}: not valid TOML")


@pytest.mark.parametrize("figure", ["benefit_fraction", "rate1", "rate2", "max_fraction"])
def test_benefit_taxation_states_every_figure_of_the_law(tmp_path, figure):
    # IRC §86's fractions are law, not schema defaults: a file that leaves one out is
    # refused instead of silently inheriting US law.
    text = (RULES_DIR / "us-federal-2025.toml").read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if not line.startswith(f"{figure} =")]
    assert len(lines) == len(text.splitlines()) - 1
    path = write(tmp_path, "no-" + figure, "\n".join(lines))
    assert f"{path}: benefit_taxation.{figure}: Field required" in error_of(path)


@pytest.mark.parametrize(
    ("line", "field"),
    [
        ('currency = "USD"', "meta.currency"),
        ('base = "net_investment_income"', "surtaxes[0].base"),
        ('measure = "magi"', "surtaxes[0].measure"),
    ],
)
def test_a_rule_file_names_its_currency_and_what_a_surtax_measures(tmp_path, line, field):
    # No country's choice is a schema default: a UK file without a currency is not dollars.
    text = (RULES_DIR / "us-federal-2025.toml").read_text(encoding="utf-8")
    lines = text.splitlines()
    del lines[max(i for i, x in enumerate(lines) if x.startswith(line))]  # the [[surtaxes]] one
    path = write(tmp_path, "no-" + field, "\n".join(lines))
    assert f"{path}: {field}: Field required" in error_of(path)


def test_a_phaseout_states_what_it_measures(tmp_path):
    # MAGI is a US measure (UK: adjusted net income), so it is not the schema's default.
    text = (RULES_DIR / "uk-2025-26.toml").read_text(encoding="utf-8")
    path = write(tmp_path, "uk", text.replace('measure = "total_income"', ""))
    assert f"{path}: deductions[0].phaseout.measure: Field required" in error_of(path)


def test_people_per_status_is_read_from_the_rule_set(tmp_path):
    us, uk = load_rules("us-federal-2026"), load_rules("uk-2025-26")
    assert (us.people_covered("single"), us.people_covered("mfj")) == (1, 2)
    assert uk.people_covered("single") == 1
    for body, expected in [
        ("{ single = 1, mfj = 3 }", "meta.people_per_status.mfj: 3 people"),
        ("{ single = 1, mfs = 1 }", "meta.people_per_status: filing status 'mfs' is not in"),
    ]:
        body = f'extends = "us-federal-2026"\n[meta]\npeople_per_status = {body}\n'
        path = write(tmp_path, "p", body)
        assert f"{path}: {expected}" in error_of(path)


@pytest.mark.parametrize(
    ("rules", "kind", "age", "born", "divisor"),
    [
        # SECURE 2.0 §107: born 1951-1959 start at 73; Treas. Reg. §1.401(a)(9)-9(c).
        ("us-federal-2026", "traditional_ira", 72, 1954, None),
        ("us-federal-2026", "traditional_ira", 73, 1953, 26.5),
        ("us-federal-2026", "traditional_401k", 75, 1951, 24.6),
        # born 1960 or later: 75
        ("us-federal-2026", "traditional_ira", 74, 1960, None),
        ("us-federal-2026", "traditional_ira", 75, 1960, 24.6),
        # IRC §408A(c)(5): no lifetime RMD from a Roth IRA; the UK has no RMD table.
        ("us-federal-2026", "roth_ira", 80, 1946, None),
        ("uk-2025-26", "sipp", 80, 1946, None),
    ],
)
def test_rmd_divisor_by_kind_age_and_birth_year(rules, kind, age, born, divisor):
    assert load_rules(rules).rmd_divisor(kind, age, born) == divisor


@pytest.mark.parametrize(
    ("rules", "kind", "age", "early"),
    [
        # IRC §72(t)(2)(A)(i), 59 1/2, read as "safe from the year one turns 60".
        ("us-federal-2026", "traditional_ira", 59, True),
        ("us-federal-2026", "traditional_ira", 60, False),
        ("us-federal-2026", "roth_ira", 40, False),  # the kind bears no penalty
        # FA 2004 s.279 normal minimum pension age: without a year, the later age 57.
        ("uk-2025-26", "sipp", 57, True),
        ("uk-2025-26", "sipp", 58, False),
        ("uk-2025-26", "isa", 30, False),
    ],
)
def test_early_withdrawal_by_kind_and_age(rules, kind, age, early):
    assert load_rules(rules).withdrawal_is_early(kind, age) is early


@pytest.mark.parametrize(
    ("kind", "born", "year", "balance", "required"),
    [
        # Worked from the law: the start age by birth year (IRC §401(a)(9)(C)(v) as amended
        # by SECURE 2.0 §107: born 1951-1959 at 73, 1960 on at 75), the age attained in the
        # year (year - birth year) and the Uniform Lifetime Table of Treas. Reg.
        # §1.401(a)(9)-9(c) (72: 27.4, 73: 26.5, 74: 25.5, 75: 24.6, 100: 6.4, 120+: 2.0);
        # the amount is the prior year-end balance over the divisor (§1.401(a)(9)-5(b)).
        ("traditional_ira", 1952, 2026, 500_000, 19_607.84),  # 74: 500,000 / 25.5
        ("traditional_ira", 1953, 2025, 265_000, 0.0),  # 72, born 1953: not yet due
        ("traditional_ira", 1953, 2026, 265_000, 10_000.00),  # 73: 265,000 / 26.5
        ("traditional_401k", 1950, 2022, 274_000, 10_000.00),  # 72 (born <= 1950): / 27.4
        ("traditional_ira", 1959, 2031, 265_000, 0.0),  # 72, start age 73
        ("traditional_ira", 1960, 2034, 265_000, 0.0),  # 74, start age 75
        ("traditional_ira", 1960, 2035, 246_000, 10_000.00),  # 75: 246,000 / 24.6
        ("traditional_ira", 1930, 2030, 64_000, 10_000.00),  # 100: 64,000 / 6.4
        ("traditional_ira", 1905, 2030, 20_000, 10_000.00),  # 125: the "120 and older" row
        # IRC §408A(c)(5): no RMD from a Roth IRA while the owner lives.
        ("roth_ira", 1940, 2030, 500_000, 0.0),
        ("taxable", 1940, 2030, 500_000, 0.0),
    ],
)
def test_rmd_amount_worked_from_the_law(kind, born, year, balance, required):
    rules = load_rules("us-federal-2026")
    amount = rules.rmd_amount(kind, year - born, born, balance)
    assert amount == pytest.approx(required, abs=0.005)


def test_no_rmd_without_a_distribution_table():
    # The UK has no lifetime required distributions: its rule set has no [rmd] table.
    uk = load_rules("uk-2025-26")
    assert uk.rmd is None
    assert all(uk.rmd_amount(kind, 90, 1940, 1e6) == 0.0 for kind in uk.account_kinds)


@pytest.mark.parametrize(
    ("kind", "age", "early"),
    [
        # IRC §72(t)(2)(A)(i): free once the owner "has attained age 59 1/2". Ages are
        # known only at the end of the year, so the year one turns 59 is early (the birthday
        # may fall after the withdrawal) and the year one turns 60 is not.
        ("traditional_401k", 55, True),
        ("traditional_401k", 59, True),
        ("traditional_401k", 60, False),
        ("traditional_ira", 80, False),
        # Roth accounts follow §408A(d) ordering instead (roth_withdrawal_phase); a taxable
        # account bears no additional tax at any age.
        ("roth_401k", 45, False),
        ("taxable", 30, False),
    ],
)
def test_withdrawal_is_early_worked_from_the_law(kind, age, early):
    assert load_rules("us-federal-2026").withdrawal_is_early(kind, age) is early


@pytest.mark.parametrize(
    ("status", "benefits", "other", "taxable"),
    [
        # IRC §86 (Pub. 915 Worksheet 1): provisional = other + 1/2 benefits.
        # mfj: 30,000 + 12,000 = 42,000; 50% of (42,000 - 32,000) = 5,000 < 50% of benefits.
        ("mfj", 24_000, 30_000, 5_000),
        # single: 40,000 + 10,000 = 50,000; 50% of the 9,000 between 25,000 and 34,000 =
        # 4,500, plus 85% of 16,000 above 34,000 = 13,600; capped at 85% of 20,000 = 17,000.
        ("single", 20_000, 40_000, 17_000),
        ("single", 20_000, 10_000, 0),  # provisional 20,000: below the first base
        # 32,000 + 2,000 = 34,000 (= the second base): 50% of 9,000 is 4,500, more than
        # half the benefits, so the first tier is 2,000 (Worksheet 1: the smaller of the two).
        ("single", 4_000, 32_000, 2_000),
    ],
)
def test_benefit_taxation_on_the_rule_object(status, benefits, other, taxable):
    table = load_rules("us-federal-2026").benefit_taxation
    assert table.taxable_part(status, benefits, other, np) == pytest.approx(taxable)
    many = table.taxable_part(status, np.full(3, float(benefits)), np.full(3, float(other)), np)
    assert many == pytest.approx([taxable] * 3)


def test_a_phaseout_on_the_rule_object():
    # IRC §151(f) (P.L. 119-21 §70103): $6,000 per senior, less 6% of MAGI over $75,000
    # (single): at 100,000, 6,000 - 1,500 = 4,500; gone from 175,000.
    senior = next(d for d in load_rules("us-federal-2026").deductions if d.name == "senior")
    cut = senior.phaseout
    assert [cut.remaining(6_000, "single", m, np) for m in (75_000, 100_000, 175_000)] == [
        6_000,
        4_500,
        0,
    ]


def test_early_withdrawal_penalty_falls_only_on_withdrawals_that_are_income(tmp_path):
    # §72(t)(1) adds 10% of the part of a distribution included in gross income: a kind whose
    # withdrawals are not income cannot bear it (Roth-style accounts use §408A(d) ordering).
    body = (
        'extends = "us-federal-2026"\n[account_kinds.taxable]\n'
        'source = "test"\nearly_withdrawal_penalty = true\n'
    )
    path = write(tmp_path, "penalised-taxable", body)
    assert (
        f"{path}: account_kinds.taxable.early_withdrawal_penalty: the additional tax falls on "
        "withdrawals that are income (IRC §72(t)(1)), but withdrawals is 'basis_and_gains'"
    ) in error_of(path)


def test_early_withdrawal_penalty_rate():
    assert load_rules("us-federal-2026").early_withdrawal_penalty_rate() == 0.10
    assert load_rules("uk-2025-26").early_withdrawal_penalty_rate() == 0.40


def test_optimizer_support_is_a_property_of_the_rule_set():
    for name in [*ALL_RULE_SETS, "ca-federal-2026", "ca-on-2026"]:
        assert load_rules(name).optimizer_support_problems() == []


# ---------------------------------------------------------------------------------------
# Indexing, RMDs, limits


def test_for_year_grows_indexed_tables_only():
    rules = load_rules("us-federal-2026")
    later = rules.for_year(2030, 0.03)
    # factor 1.03^4 = 1.1255088; each increase rounded down to the table's unit.
    standard = {d.name: d for d in later.deductions}
    assert standard["standard"].amount["single"] == 18_100  # 16,100 + 2,020.69 -> + 2,000
    assert later.ordinary.brackets["mfj"].thresholds[1] == 27_900  # 24,800 + 3,112.62 -> 3,100
    # 401(k) 24,500 + 3,074.97 -> + 3,000; catch-up 8,000 + 1,004.07 -> + 1,000 ($500 units)
    assert later.contribution_limits[1].for_age(50) == 27_500 + 9_000
    # Not indexed by statute: senior deduction (§151(d)(5)(C)), NIIT (§1411), §86 bases.
    assert standard["senior"].amount["single"] == 6000
    assert standard["senior"].phaseout.start["single"] == 75000
    assert later.surtaxes[0].threshold["single"] == 200000
    assert later.benefit_taxation.base1["mfj"] == 32000
    # A rule set states the law from its year on: earlier years are not deflated.
    assert rules.for_year(2020, 0.03) is rules


def test_for_year_reuses_its_indexed_copy_and_a_changed_copy_indexes_its_own_law():
    rules = load_rules("us-federal-2026")
    assert rules.for_year(2030, 0.03) is rules.for_year(2030, 0.03)
    assert rules.for_year(2030, 0.02) is not rules.for_year(2030, 0.03)
    flat = rules.model_copy(
        update={"ordinary": rules.ordinary.model_copy(update={"indexed": False})}
    )
    assert flat.for_year(2030, 0.03).ordinary is flat.ordinary  # not the cached copy's
    assert rules.for_year(2030, 0.03).ordinary != rules.ordinary


def test_limits_by_name_follow_for_year():
    # The map is read from the indexed copy, not from the base year's rules.
    later = load_rules("us-federal-2026").for_year(2027, 0.0)
    assert later.limits_by_name["ira"] is later.contribution_limits[0]


def test_indexing_rounds_each_increase_down_as_the_statute_does():
    # The 2026 figures (Rev. Proc. 2025-32, Notice 2025-67) indexed to 2027 by a stated
    # inflation of 2.5%; each increase rounded down to the unit its statute names.
    later = load_rules("us-federal-2026").for_year(2027, 0.025)
    standard = next(d for d in later.deductions if d.name == "standard")
    # IRC §63(c)(4), §1(f)(7)(A), $50: 16,100 + 402.50 -> 16,500; 32,200 + 805 -> 33,000.
    assert standard.amount == {"single": 16_500, "mfj": 33_000}
    # §1(j)(3)(B)(ii), $25 for single: 12,400 + 310 -> 12,700; 201,775 + 5,044.38 -> 206,800.
    # §1(f)(7)(A), $50 for joint: 24,800 + 620 -> 25,400.
    assert later.ordinary.brackets["single"].thresholds[1] == 12_700
    assert later.ordinary.brackets["single"].thresholds[4] == 206_800
    assert later.ordinary.brackets["mfj"].thresholds[1] == 25_400
    # §1(j)(5)(C), $50: joint 0% ceiling 98,900 + 2,472.50 -> 101,350; single half: 50,675.
    assert later.preferential[0].brackets["mfj"].thresholds[1] == 101_350
    assert later.preferential[0].brackets["single"].thresholds[1] == 50_675
    limits = later.limits_by_name
    # §219(b)(5)(C): IRA 7,500 + 187.50 -> + 0 ($500); catch-up 1,100 + 27.50 -> + 0 ($100).
    assert limits["ira"].for_age(50) == 7_500 + 1_100
    # §402(g)(4): 24,500 + 612.50 -> 25,000; §414(v)(2)(C): 8,000 + 200 -> + 0 ($500).
    assert limits["401k"].for_age(50) == 25_000 + 8_000
    # A single filer aged 40 with 60,000 of wages: 60,000 - 16,500 = 43,500 taxable;
    # 10% x 12,700 + 12% x 30,800 = 1,270 + 3,696 = 4,966 (continuous growth: 4,965.50).
    income = TaxInput(filing_status="single", ages=(40,), ordinary_income=60_000, year=2027)
    assert compute_tax(later, income).total_tax == pytest.approx(4_966.0, abs=0.005)


def test_indexed_amount_rounds_the_increase_not_the_amount():
    # A single threshold that is a multiple of 25 but not of 50 keeps its odd 25.
    assert indexed_amount(201_775, 1.025, 50) == 201_775 + 5_000
    assert indexed_amount(201_775, 1.025, None) == pytest.approx(206_819.375)
    assert indexed_amount(32_200, 1.025, 50) == 33_000  # 805 is 804.999... in floats


def test_uk_frozen_thresholds_stay_put_including_the_cgt_exempt_amount():
    uk = load_rules("uk-2025-26")
    later = uk.for_year(2035, 0.025)
    assert later.ordinary == uk.ordinary
    assert later.deductions == uk.deductions
    assert later.capital_gains.annual_exemption == {"single": 3000}
    assert later.contribution_limits == uk.contribution_limits


@pytest.mark.parametrize(
    ("born", "age"),
    [(1949, 72), (1950, 72), (1951, 73), (1955, 73), (1959, 73), (1960, 75), (1975, 75)],
)
def test_rmd_start_age_by_birth_year(born, age):
    # IRC §401(a)(9)(C)(v) as amended by SECURE 2.0 §107.
    assert load_rules("us-federal-2026").rmd.start_age(born) == age


def test_rmd_divisors_from_the_uniform_lifetime_table():
    # Treas. Reg. §1.401(a)(9)-9(c): 72 -> 27.4, 75 -> 24.6, 100 -> 6.4, 120+ -> 2.0.
    rmd = load_rules("us-federal-2025").rmd
    assert [rmd.divisor(a) for a in (72, 75, 100, 120, 130)] == [27.4, 24.6, 6.4, 2.0, 2.0]


@pytest.mark.parametrize(
    ("age", "k401", "ira"),
    # Notice 2025-67: $24,500 + $8,000 at 50+, $11,250 instead at 60-63; IRA $7,500 + $1,100.
    [
        (49, 24500, 7500),
        (50, 32500, 8600),
        (59, 32500, 8600),
        (60, 35750, 8600),
        (63, 35750, 8600),
        (64, 32500, 8600),
    ],
)
def test_2026_limits_with_catch_up(age, k401, ira):
    limits = load_rules("us-federal-2026").limits_by_name
    assert limits["401k"].for_age(age) == k401
    assert limits["ira"].for_age(age) == ira


# ---------------------------------------------------------------------------------------
# UK 2025-26, worked by hand from gov.uk "Income Tax rates and Personal Allowances"
# (PA £12,570 tapered £1 per £2 over £100,000; 20% to £37,700 taxable, 40% to £125,140,
# 45% above), "Tax on dividends" (£500 allowance; 8.75/33.75/39.35%) and "Capital Gains
# Tax rates" (18%/24% from 30 October 2024; £3,000 exempt).


def uk_tax(ordinary: float = 0.0, dividends: float = 0.0, gains: float = 0.0) -> float:
    uk = load_rules("uk-2025-26")
    income = TaxInput(
        filing_status="single",
        ages=(45,),
        ordinary_income=ordinary,
        qualified_dividends=dividends,
        ltcg=gains,
    )
    return compute_tax(uk, income).total_tax


UK_CASES = [
    # 50,000: taxable 50,000 - 12,570 = 37,430 at 20% = 7,486.
    (50_000, 0, 0, 7_486.0),
    # 110,000: PA 12,570 - (110,000 - 100,000) / 2 = 7,570; taxable 102,430;
    # 37,700 x 20% = 7,540 + 64,730 x 40% = 25,892 -> 33,432.
    (110_000, 0, 0, 33_432.0),
    # 150,000: PA 0; 7,540 + (125,140 - 37,700) x 40% = 34,976 + 24,860 x 45% = 11,187
    # -> 53,703.
    (150_000, 0, 0, 53_703.0),
    # 40,000 wages + 15,000 dividends: wages taxable 27,430 x 20% = 5,486. Dividends sit
    # at 27,430..42,430: 500 at 0% (still uses band), 27,930..37,700 = 9,770 x 8.75%
    # = 854.875, 37,700..42,430 = 4,730 x 33.75% = 1,596.375 -> 7,937.25.
    (40_000, 15_000, 0, 7_937.25),
    # 30,000 + gains 20,000: 17,430 x 20% = 3,486; gains 20,000 - 3,000 = 17,000 all in
    # the basic band (17,430..34,430) at 18% = 3,060 -> 6,546.
    (30_000, 0, 20_000, 6_546.0),
    # 45,000 + gains 20,000: 32,430 x 20% = 6,486; gains 17,000 at 32,430..49,430:
    # 5,270 x 18% = 948.60 + 11,730 x 24% = 2,815.20 -> 10,249.80.
    (45_000, 0, 20_000, 10_249.8),
    # State pension is ordinary income (no benefit table): 11,973 + 10,000 = 21,973;
    # taxable 9,403 x 20% = 1,880.60.
    (21_973, 0, 0, 1_880.6),
]


@pytest.mark.parametrize(("ordinary", "dividends", "gains", "expected"), UK_CASES)
def test_uk_hand_worked_cases(ordinary, dividends, gains, expected):
    assert uk_tax(ordinary, dividends, gains) == pytest.approx(expected, abs=0.01)


def test_uk_gains_do_not_taper_the_personal_allowance():
    # The taper measures adjusted net income, which excludes capital gains (ITA 2007 s.58).
    # 95,000 wages + 23,000 gains: ANI 95,000 < 100,000 so PA stays 12,570; taxable
    # 82,430: 7,540 + 44,730 x 40% = 17,892 -> 25,432; gains 20,000 above the basic band at
    # 24% = 4,800 -> 30,232.
    assert uk_tax(95_000, 0, 23_000) == pytest.approx(30_232.0, abs=0.01)


# ---------------------------------------------------------------------------------------
# The pre-TCJA reform, by hand from its own tables (2017 amounts x1.315, see the file)


def test_pre_tcja_reform_joint_couple():
    reform = load_rules("us-federal-2026-pre-tcja")
    income = TaxInput(filing_status="mfj", ages=(40, 40), ordinary_income=100_000)
    result = compute_tax(reform, income)
    # Deductions 16,700 + 2 x 5,300 = 27,300; taxable 72,700;
    # 24,500 x 10% = 2,450 + 48,200 x 15% = 7,230 -> 9,680.
    assert result.total_deductions == 27_300
    assert result.total_tax == pytest.approx(9_680.0)
    # Current law 2026: 100,000 - 32,200 = 67,800; 2,480 + 43,000 x 12% = 5,160 -> 7,640.
    current = compute_tax(load_rules("us-federal-2026"), income)
    assert current.total_tax == pytest.approx(7_640.0)


def test_pre_tcja_personal_exemption_phase_out():
    reform = load_rules("us-federal-2026-pre-tcja")
    income = TaxInput(filing_status="single", ages=(70,), ordinary_income=400_000)
    result = compute_tax(reform, income)
    # AGI 400,000 is 56,150 over 343,850: 5,300 - 0.0424 x 56,150 = 2,919.24 (the statute
    # steps by $2,500, giving 5,300 x (1 - 23 x 2%) = 2,862; the file documents this).
    assert result.deductions["personal_exemption"] == pytest.approx(2_919.24)
    assert "senior" not in result.deductions  # removed by the reform
    assert result.deductions["additional_age_65"] == 2_050  # §63(f), untouched by TCJA


# ---------------------------------------------------------------------------------------
# Properties


@settings(max_examples=60, deadline=None)
@given(st.floats(0, 400_000), st.floats(0, 20_000), st.floats(0, 50_000))
def test_uk_tax_never_falls_when_wages_rise(ordinary, dividends, gains):
    # Upper bound: the 1,000 itself at <= 45%, up to 500 of allowance lost to the taper at
    # <= 45%, and up to 1,500 of dividends and gains pushed up a band (+25 and +6 points).
    low = uk_tax(ordinary, dividends, gains)
    high = uk_tax(ordinary + 1_000, dividends, gains)
    bound = 1_000 * 0.45 + 500 * 0.45 + 1_500 * (0.25 + 0.06)
    assert low - 1e-6 <= high <= low + bound + 1e-6


@settings(max_examples=30, deadline=None)
@given(st.sampled_from(ALL_RULE_SETS), st.sampled_from(ALL_RULE_SETS))
def test_diff_is_empty_on_itself_and_symmetric(a_name, b_name):
    a, b = load_rules(a_name), load_rules(b_name)
    assert diff_rules(a, a) == []
    forward, backward = diff_rules(a, b), diff_rules(b, a)
    assert sorted(d.path for d in forward) == sorted(d.path for d in backward)
    for d in forward:
        mirror = next(x for x in backward if x.path == d.path)
        assert (mirror.a_value, mirror.b_value) == (d.b_value, d.a_value)


@settings(max_examples=40, deadline=None)
@given(st.integers(2026, 2060), st.floats(0.0, 0.08))
def test_for_year_grows_every_threshold_by_one_factor_rounded_down(year, inflation):
    rules = load_rules("us-federal-2026")
    later = rules.for_year(year, inflation)
    factor = (1 + inflation) ** (year - 2026)
    before = {v.path: v.value for v in rule_values(rules)}
    units = rules.ordinary.round_down_to
    for item in rule_values(later):
        if item.path.startswith("ordinary.brackets") and item.path.endswith("thresholds"):
            unit = units[item.path.split(".")[2]]
            for old, new in zip(before[item.path], item.value, strict=True):
                # At most one unit below continuous growth, and grown by whole units.
                assert old * factor - unit - 1e-6 <= new <= old * factor + 1e-6
                assert (new - old) / unit == pytest.approx(round((new - old) / unit))


def test_uk_personal_allowance_is_not_set_against_gains():
    # 5,000 wages use 5,000 of the 12,570 allowance; the rest is lost, not set against gains.
    # Gains 20,000 - 3,000 annual exempt amount = 17,000, all in the basic band at 18%:
    # 3,060 (HMRC 'Capital Gains Tax: what you pay it on, rates and allowances', 2025-26).
    assert uk_tax(5_000, 0, 20_000) == pytest.approx(3_060.0, abs=0.01)


def test_uk_minimum_pension_age_is_55_then_57_from_2028_29():
    """FA 2004 s.279 as amended by Finance Act 2022: 55, and 57 from 6 April 2028 (the
    2028-29 tax year, `year = 2028`); an age counts from the year after it is reached."""
    uk = load_rules("uk-2025-26")
    assert uk.withdrawal_is_early("sipp", 55, 2027)
    assert not uk.withdrawal_is_early("sipp", 56, 2027)
    assert uk.withdrawal_is_early("sipp", 56, 2028)
    assert uk.withdrawal_is_early("sipp", 57, 2040)
    assert not uk.withdrawal_is_early("sipp", 58, 2028)
    assert not uk.withdrawal_is_early("isa", 30, 2028)
