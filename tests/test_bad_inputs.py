"""A corpus of bad inputs: each is refused with one clear message, never a traceback, and
no earlier output changes.

Every case runs the `taxopt` command in-process in a fresh folder holding a valid plan, a
rule file, a households CSV, a returns CSV and earlier outputs (earlier.json, .xlsx, .csv).
It must exit with status 2 or 3, print the expected fragment on stderr (one line unless
the case lists several problems at once), and leave every file in the folder byte-identical
with no file added. Classes: output paths, plan files, rule files, CSVs, flags, and plans
that cannot be carried out. The hypothesis test at the end fuzzes plan dicts.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from taxopt.cli import main
from taxopt.errors import TaxoptError
from taxopt.plan import plan_from_dict

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
COUPLE = EXAMPLES / "couple-near-retirement.toml"
YOUNG = EXAMPLES / "young-accumulator.toml"
RULES_2025 = ROOT / "rules" / "us-federal-2025.toml"
EARLIER = {
    "earlier.json": b'{"earlier": true}\n',
    "earlier.xlsx": b"PK earlier workbook bytes",
    "earlier.csv": b"case_id\nearlier\n",
}
# Outputs every optimize case asks for, so a refusal must leave them as they were.
OUT = ["--json", "earlier.json", "-o", "earlier.xlsx"]
FAST = ["--mode", "fast", "--no-baselines"]

Setup = Callable[[Path], None]


@dataclass(frozen=True)
class Case:
    id: str
    argv: tuple[str, ...]
    expect: str  # a fragment of the message on stderr
    setup: Setup | None = None
    lines: int | None = 1  # stderr lines expected (None: one or more)
    root_only: bool = False  # needs a real non-writable folder that only root lacks
    not_root: bool = False  # relies on permission bits, which do not stop root


# ---------------------------------------------------------------------------------------
# Building bad files from good ones


def plan_edit(old: str, new: str, name: str = "bad.toml", base: str = "plan.toml") -> Setup:
    def setup(ws: Path) -> None:
        text = (ws / base).read_text(encoding="utf-8")
        assert old in text, old
        (ws / name).write_text(text.replace(old, new, 1), encoding="utf-8")

    return setup


def plan_dict(change: Callable[[dict], None], base: Path = COUPLE) -> Setup:
    def setup(ws: Path) -> None:
        data = tomllib.loads(base.read_text(encoding="utf-8"))
        change(data)
        (ws / "bad.json").write_text(json.dumps(data), encoding="utf-8")

    return setup


def rules_edit(old: str, new: str, name: str = "badrules.toml") -> Setup:
    return plan_edit(old, new, name=name, base="rules.toml")


def on(name: str, action: Callable[[Path], object]) -> Setup:
    """A setup that applies `action` to the workspace path `name`."""

    def setup(ws: Path) -> None:
        action(ws / name)

    return setup


def write_bytes(name: str, data: bytes) -> Setup:
    return on(name, lambda path: path.write_bytes(data))


def make_dir(name: str) -> Setup:
    return on(name, Path.mkdir)


def make_fifo(name: str) -> Setup:
    return on(name, os.mkfifo)


def symlink(name: str, target: str) -> Setup:
    return on(name, lambda path: path.symlink_to(target))


def read_only_dir(name: str) -> Setup:
    return on(name, lambda path: (path.mkdir(), path.chmod(0o555)))


def both(*setups: Setup) -> Setup:
    def setup(ws: Path) -> None:
        for s in setups:
            s(ws)

    return setup


def households(text: str) -> Setup:
    return write_bytes("bad.csv", text.encode("utf-8"))


HEADER = (
    "case_id,filing_status,age,spouse_age,ordinary_income,qualified_dividends,ltcg,"
    "social_security\n"
)


def row(**fields: str) -> str:
    values = {"case_id": "c1", "filing_status": "single", "age": "40", "spouse_age": ""}
    values.update({k: "0" for k in ("ordinary_income", "qualified_dividends", "ltcg")})
    values["social_security"] = "0"
    values.update(fields)
    return HEADER + ",".join(values.values()) + "\n"


def optimize(plan: str = "bad.toml", *extra: str) -> tuple[str, ...]:
    return ("optimize", plan, *FAST, *OUT, *extra)


def tax_batch(rules: str = "badrules.toml", csv: str = "households.csv") -> tuple[str, ...]:
    return ("tax", "--rules", rules, "--input", csv, "--output", "earlier.csv")


def tax_one(*flags: str, rules: str = "us-federal-2025") -> tuple[str, ...]:
    return ("tax", "--rules", rules, "--filing-status", "single", "--age", "40", *flags)


SIM = ("simulate", "plan.toml", "--mode", "fast", "--no-baselines", "--json", "earlier.json")
PROJECT = ("project", "--initial", "1000", "--monthly", "250")

def _only_alex(data: dict) -> None:
    data["people"] = data["people"][:1]
    data["accounts"] = [a for a in data["accounts"] if a.get("owner") in (None, "Alex")]
    data["earnings"] = data["earnings"][:1]
    data["income"] = data["income"][:1]


def _savings_to_ira_only(data: dict) -> None:
    """$200k a year routed only to an IRA, with no wages: the money has nowhere to go."""
    data["contributions"] = {"annual": 200000, "accounts": ["blake_ira"]}
    data["earnings"] = []


def _utf16_plan(ws: Path) -> None:
    text = (ws / "plan.toml").read_text(encoding="utf-8")
    (ws / "bad.toml").write_bytes(text.encode("utf-16"))


def _latin1_plan(ws: Path) -> None:
    text = (ws / "plan.toml").read_text(encoding="utf-8")
    text = text.replace('name = "Couple near retirement"', 'name = "Cou\u00e9ple"')
    (ws / "bad.toml").write_bytes(text.encode("latin-1"))


def _empty_rmd(ws: Path) -> None:
    text = (ws / "rules.toml").read_text(encoding="utf-8")
    start = text.index("[rmd.uniform_lifetime_table]")
    end = text.index("\n\n", start) if "\n\n" in text[start:] else len(text)
    (ws / "badrules.toml").write_text(
        text[:start] + "[rmd.uniform_lifetime_table]\n" + text[end:], encoding="utf-8"
    )


# ---------------------------------------------------------------------------------------
# The corpus

OUTPUT_CASES = [
    # A link named for the output's kind that leads to another kind of file: writing through
    # it would replace a CSV, a plan or a JSON with this output.
    Case("json-link-to-a-csv", ("optimize", "plan.toml", *FAST, "--json", "link.json"),
         "which is not a .json file", setup=symlink("link.json", "households.csv")),
    Case("xlsx-link-to-a-json", ("optimize", "plan.toml", *FAST, "-o", "link.xlsx"),
         "which is not a .xlsx file", setup=symlink("link.xlsx", "earlier.json")),
    Case("csv-link-to-a-plan", ("tax", "--rules", "us-federal-2025", "--input",
         "households.csv", "--output", "link.csv"), "which is not a .csv file",
         setup=symlink("link.csv", "young.toml")),
    Case("compare-json-link-to-a-workbook", ("compare", "plan.toml", "--rules",
         "us-federal-2026", "--json", "link.json"), "which is not a .json file",
         setup=symlink("link.json", "earlier.xlsx")),
    Case("xlsx-over-input-plan", ("optimize", "plan.toml", *FAST, "-o", "plan.toml"), ".xlsx"),
    Case("json-over-input-plan", ("optimize", "plan.json", *FAST, "--json", "plan.json"),
         "is an input of this run"),
    Case("csv-over-input-csv", ("tax", "--rules", "us-federal-2025", "--input",
         "households.csv", "--output", "households.csv"), "is an input of this run"),
    Case("csv-over-rule-file", ("tax", "--rules", "rules.toml", "--input", "households.csv",
         "--output", "rules.csv"), "is an input of this run",
         setup=symlink("rules.csv", "rules.toml")),
    Case("xlsx-named-json", ("optimize", "plan.toml", *FAST, "-o", "out.json"),
         "name the file with the .xlsx extension"),
    Case("json-named-xlsx", ("optimize", "plan.toml", *FAST, "--json", "out.xlsx"),
         "name the file with the .json extension"),
    Case("json-named-nothing", ("optimize", "plan.toml", *FAST, "--json", "result"),
         "the .json extension"),
    Case("lp-named-txt", ("optimize", "plan.toml", *FAST, "--lp", "model.txt"),
         "the .lp extension"),
    Case("csv-named-xlsx", ("tax", "--rules", "us-federal-2025", "--input", "households.csv",
         "--output", "taxed.xlsx"), "the .csv extension"),
    Case("simulate-xlsx-named-json", ("simulate", "plan.toml", "--mode", "fast", "-o",
         "s.json"), "the .xlsx extension"),
    Case("compare-json-named-csv", ("compare", "plan.toml", "--rules", "us-federal-2026",
         "--json", "c.csv"), "the .json extension"),
    Case("json-is-a-folder", optimize("plan.toml", "--json", "dir.json"), "is a folder",
         setup=make_dir("dir.json")),
    Case("xlsx-is-a-folder", optimize("plan.toml", "-o", "dir.xlsx"), "is a folder",
         setup=make_dir("dir.xlsx")),
    Case("json-is-a-device", ("optimize", "plan.toml", *FAST, "--json", "null.json"),
         "is a device", setup=symlink("null.json", "/dev/null")),
    Case("json-is-a-pipe", ("optimize", "plan.toml", *FAST, "--json", "pipe.json"),
         "is a named pipe", setup=make_fifo("pipe.json")),
    Case("xlsx-is-a-pipe", ("optimize", "plan.toml", *FAST, "-o", "pipe.xlsx"),
         "is a named pipe", setup=make_fifo("pipe.xlsx")),
    Case("csv-is-a-pipe", ("tax", "--rules", "us-federal-2025", "--input", "households.csv",
         "--output", "pipe.csv"), "is a named pipe", setup=make_fifo("pipe.csv")),
    Case("json-in-missing-folder", optimize("plan.toml", "--json", "nowhere/r.json"),
         "does not exist; create it first"),
    Case("xlsx-in-missing-folder", ("optimize", "plan.toml", *FAST, "--json", "earlier.json",
         "-o", "nowhere/p.xlsx"), "does not exist"),
    Case("json-under-a-file", optimize("plan.toml", "--json", "earlier.csv/r.json"),
         "is not a folder"),
    Case("json-in-proc", ("optimize", "plan.toml", *FAST, "--json", "/proc/r.json"),
         "is not writable"),
    Case("xlsx-in-sys", ("optimize", "plan.toml", *FAST, "-o", "/sys/p.xlsx"),
         "is not writable"),
    Case("csv-in-proc", ("tax", "--rules", "us-federal-2025", "--input", "households.csv",
         "--output", "/proc/t.csv"), "is not writable"),
    Case("json-in-read-only-folder", optimize("plan.toml", "--json", "ro/r.json"),
         "is not writable", setup=read_only_dir("ro"), not_root=True),
    Case("symlink-loop", optimize("plan.toml", "--json", "loop.json"), "cannot be written",
         setup=symlink("loop.json", "loop.json")),
    Case("two-outputs-one-file", ("optimize", "plan.toml", *FAST, "--json", "earlier.json",
         "-o", "alias.xlsx"), "is also the target of",
         setup=symlink("alias.xlsx", "earlier.json")),
    Case("simulate-json-in-missing-folder", (*SIM[:-1], "no/s.json"), "does not exist"),
    Case("compare-xlsx-over-plan", ("compare", "plan.toml", "--rules", "us-federal-2026",
         "-o", "plan.xlsx"), "is an input of this run",
         setup=symlink("plan.xlsx", "plan.toml")),
    Case("compare-all-pairs-fail", ("compare", "young.toml", "--rules", "uk-2025-26",
         "--mode", "fast", "--processes", "1", "--json", "earlier.json", "-o",
         "earlier.xlsx"), "no plan could be optimized (nothing written)"),
]

PLAN_CASES = [
    Case("nan-balance", optimize(), "balances.conservative",
         plan_edit("conservative = 300000", "conservative = nan")),
    Case("inf-balance", optimize(), "balances.conservative",
         plan_edit("conservative = 300000", "conservative = inf")),
    Case("huge-balance", optimize(), "is above 1e+10",
         plan_edit("conservative = 300000", "conservative = 1e300")),
    Case("negative-balance", optimize(), "cannot be negative",
         plan_edit("conservative = 300000", "conservative = -5")),
    Case("nan-basis", optimize(), "basis.conservative",
         plan_edit("basis = { conservative = 80000", "basis = { conservative = nan")),
    Case("nan-income", optimize(), "income[0].annual",
         plan_edit("annual = 36000", "annual = nan")),
    Case("inf-wages", optimize(), "earnings[0].annual",
         plan_edit("annual = 140000", "annual = inf")),
    Case("huge-wages", optimize(), "earnings[0].annual",
         plan_edit("annual = 140000", "annual = 1e300")),
    Case("nan-savings", optimize(), "contributions.annual",
         plan_edit("annual = 30000", "annual = nan")),
    Case("nan-inflation", optimize(), "inflation", plan_edit("inflation = 0.025",
         "inflation = nan")),
    Case("percent-inflation", optimize(), "inflation",
         plan_edit("inflation = 0.025", "inflation = 2.5")),
    Case("nan-weight", optimize(), "weights",
         plan_edit("conservative = 0.5,", "conservative = nan,")),
    Case("weights-sum", optimize(), "sum to 1.1000, not 1",
         plan_edit("conservative = 0.5,", "conservative = 0.6,")),
    Case("nan-tolerance", optimize(), "profile.tolerance",
         plan_edit("tolerance = 0.02", "tolerance = nan")),
    Case("nan-rate", optimize("bad.json"), "withdrawal.rate",
         plan_dict(lambda d: d.update(withdrawal={"rate": float("nan")}))),
    Case("zero-rate", optimize("bad.json"), "withdrawal.rate",
         plan_dict(lambda d: d.update(withdrawal={"rate": 0}))),
    Case("nan-floor", optimize(), "objective.bequest_floor",
         plan_edit("bequest_floor = 250000", "bequest_floor = nan")),
    Case("heir-rate-over-1", optimize(), "objective.heir_tax_rate",
         plan_edit("heir_tax_rate = 0.22", "heir_tax_rate = 1.5")),
    Case("horizon-500", optimize(), "horizon_age", plan_edit("horizon_age = 95",
         "horizon_age = 500")),
    Case("birth-year-future", optimize(), "birth_year",
         plan_edit("birth_year = 1965", "birth_year = 2090")),
    Case("retire-before-start", optimize(), "retirement_year",
         plan_edit("retirement_year = 2031", "retirement_year = 2020")),
    Case("missing-field", optimize(), "filing_status: Field required; add it",
         plan_edit('filing_status = "mfj"\n', "")),
    Case("unknown-field", optimize(), "colour: Extra inputs are not permitted",
         plan_edit('filing_status = "mfj"', 'filing_status = "mfj"\ncolour = "blue"')),
    Case("unknown-status", optimize(), "'married' is not defined by rule set",
         plan_edit('filing_status = "mfj"', 'filing_status = "married"')),
    Case("mfj-one-person", optimize("bad.json"), "covers 2 people", plan_dict(_only_alex)),
    Case("single-two-people", optimize(), "covers 1 person",
         plan_edit('filing_status = "mfj"', 'filing_status = "single"')),
    Case("unknown-kind", optimize(), "accounts[1].kind: 'sep_ira'",
         plan_edit('kind = "traditional_ira"', 'kind = "sep_ira"')),
    Case("ira-without-owner", optimize(), "accounts[1].owner",
         plan_edit('owner = "Blake"\nbalances = { conservative = 150000', 'balances = { '
                   'conservative = 150000')),
    Case("unknown-owner", optimize(), "'Casey' is not one of the people",
         plan_edit('owner = "Blake"', 'owner = "Casey"')),
    Case("unknown-tier", optimize(), "tier 'gold'",
         plan_edit("aggressive = 150000 }", "gold = 150000 }")),
    Case("basis-over-balance", optimize(), "is more than the balance",
         plan_edit("basis = { conservative = 80000", "basis = { conservative = 800000")),
    Case("unknown-preset", optimize(), "tier_preset 'wild' is unknown",
         plan_edit('tier_preset = "sober"', 'tier_preset = "wild"')),
    Case("savings-only-ira-no-wages", optimize("bad.json"), "cannot all be invested",
         plan_dict(_savings_to_ira_only)),
    Case("fixed-over-limit", optimize("bad.json"), "contributions.fixed[0].annual",
         plan_dict(lambda d: d["contributions"].__setitem__(
             "fixed", [{"account": "blake_ira", "annual": 50000}]))),
    Case("contribution-account-unknown", optimize("bad.json"), "name account 'nope'",
         plan_dict(lambda d: d["contributions"].__setitem__("accounts", ["nope"]))),
    Case("yaml-plan", ("optimize", "plan.yaml", *FAST, *OUT), "not YAML",
         write_bytes("plan.yaml", b"name: plan\nfiling_status: single\n")),
    Case("yml-plan", ("plan", "validate", "plan.yml"), "TOML (.toml) or JSON (.json)",
         write_bytes("plan.yml", b"name: plan\n")),
    Case("latin1-plan", optimize(), "is not UTF-8 text", _latin1_plan),
    Case("utf16-plan", optimize(), "is not UTF-8 text", _utf16_plan),
    Case("folder-as-plan", ("optimize", "plans", *FAST, *OUT), "is a folder, not a plan file",
         make_dir("plans")),
    Case("missing-plan", ("optimize", "nope.toml", *FAST, *OUT), "no such plan file"),
    Case("empty-plan", optimize(), "Field required", write_bytes("bad.toml", b""), lines=None),
    Case("toml-syntax", optimize(), "not valid TOML", write_bytes("bad.toml", b"name = \n")),
    Case("json-syntax", optimize("bad.json"), "not valid JSON",
         write_bytes("bad.json", b"{\"name\": }")),
    Case("json-array", optimize("bad.json"), "must be a table of fields, not list",
         write_bytes("bad.json", b"[1, 2]")),
    Case("json-nan", optimize("bad.json"), "balances.conservative",
         plan_dict(lambda d: d["accounts"][0]["balances"].__setitem__("conservative",
                                                                     float("nan")))),
    Case("txt-plan-not-toml", optimize("bad.txt"), "plans are TOML, .toml, or JSON, .json",
         write_bytes("bad.txt", b"{\"name\": 1}")),
    Case("income-start-both", optimize("bad.json"), "give exactly one of start_year or",
         plan_dict(lambda d: d["income"][0].__setitem__("start_year", 2040))),
    Case("income-year-huge", optimize("bad.json"), "income[0].start_year",
         plan_dict(lambda d: (d["income"][0].pop("start_age"),
                              d["income"][0].__setitem__("start_year", 10**30)))),
    Case("glide-backwards", optimize("bad.json"), "end_age",
         plan_dict(lambda d: d["profile"]["glide_path"].__setitem__("end_age", 50))),
    Case("return-nan", optimize("bad.json"), "tiers[0].expected_return",
         plan_dict(lambda d: d.__setitem__("tiers", [{"name": "conservative",
                                                      "expected_return": float("nan")}]))),
    Case("fixed-amount-without-amount", optimize("bad.json"), "amount: policy fixed_amount needs",
         plan_dict(lambda d: d.update(withdrawal={"policy": "fixed_amount"}))),
    # Marketplace coverage (the plan's [aca] table) names the plan's people, a whole tax
    # family, premiums that are amounts, and a rule set with a premium tax credit.
    Case("aca-unknown-person", optimize("bad.json"), "aca.benchmark_premium: 'Kim' is not one",
         plan_dict(lambda d: d.update(aca={"benchmark_premium": {"Kim": 9000}}))),
    Case("aca-household-too-small", optimize("bad.json"), "aca.household_size: 1 is fewer",
         plan_dict(lambda d: d.update(aca={"benchmark_premium": {"Alex": 9000},
                                           "household_size": 1}))),
    Case("aca-negative-premium", optimize("bad.json"), "aca.benchmark_premium",
         plan_dict(lambda d: d.update(aca={"benchmark_premium": {"Alex": -5}}))),
    Case("aca-without-credit-rules", optimize("bad.json", "--rules", "us-federal-2025"),
         "aca: rule set us-federal-2025 has no [aca] table",
         plan_dict(lambda d: d.update(aca={"benchmark_premium": {"Alex": 9000}}))),
    Case("plan-validate-latin1", ("plan", "validate", "bad.toml"), "is not UTF-8 text",
         write_bytes("bad.toml", 'name = "Cou\u00e9"\n'.encode("latin-1"))),
]

RULE_CASES = [
    Case("nan-threshold", tax_batch(), "finite number",
         rules_edit("thresholds = [0, 11925,", "thresholds = [0, nan,")),
    Case("inf-threshold", tax_batch(), "finite number",
         rules_edit("thresholds = [0, 11925,", "thresholds = [0, inf,")),
    Case("huge-threshold", tax_batch(), "leave out any 'infinite' one",
         rules_edit("250525, 626350]", "250525, 1e300]")),
    Case("thresholds-descending", tax_batch(), "thresholds must strictly increase",
         rules_edit("thresholds = [0, 11925, 48475", "thresholds = [0, 48475, 11925")),
    Case("first-threshold-not-0", tax_batch(), "the first threshold must be 0",
         rules_edit("thresholds = [0, 11925,", "thresholds = [5, 11925,")),
    Case("rate-as-percent", tax_batch(), "rates are fractions",
         rules_edit("rates      = [0.10,", "rates      = [10,")),
    Case("negative-deduction", ("rules", "validate", "badrules.toml"), "is not an amount",
         rules_edit("amount = { single = 15750", "amount = { single = -15750")),
    Case("nan-deduction", tax_batch(), "finite number",
         rules_edit("amount = { single = 15750", "amount = { single = nan")),
    Case("ss-fraction-850", ("rules", "validate", "badrules.toml"),
         "benefit_taxation.max_fraction",
         rules_edit("max_fraction = 0.85", "max_fraction = 8.5")),
    Case("ss-rate-nan", tax_batch(), "finite number",
         rules_edit("rate2 = 0.85", "rate2 = nan")),
    Case("ss-bases-swapped", ("rules", "validate", "badrules.toml"), "is below base1",
         rules_edit("base2 = { single = 34000", "base2 = { single = 3000")),
    Case("rmd-divisor-zero", ("rules", "validate", "badrules.toml"),
         "divisor 0 must be positive", rules_edit("75 = 24.6", "75 = 0")),
    Case("rmd-divisor-negative", tax_batch(), "must be positive",
         rules_edit("75 = 24.6", "75 = -3")),
    Case("rmd-table-empty", ("rules", "validate", "badrules.toml"),
         "rmd.uniform_lifetime_table: is empty", _empty_rmd),
    Case("status-missing", ("rules", "validate", "badrules.toml"), "lacks filing status",
         rules_edit("amount = { single = 15750, mfj = 31500 }", "amount = { single = 15750 }")),
    Case("status-unknown", ("rules", "validate", "badrules.toml"),
         "filing status ['hoh'] is not in meta.filing_statuses",
         rules_edit("amount = { single = 15750, mfj = 31500 }",
                    "amount = { single = 15750, mfj = 31500, hoh = 1 }")),
    Case("joint-status-unknown", ("rules", "validate", "badrules.toml"),
         "meta.people_per_status", rules_edit("people_per_status = { single = 1, mfj = 2 }",
                                              "people_per_status = { single = 1, mfs = 2 }")),
    Case("extends-missing", ("rules", "validate", "badrules.toml"), "no rule set named",
         write_bytes("badrules.toml", b'extends = "us-federal-1999"\n')),
    Case("extends-circular", ("rules", "validate", "a.toml"), "circular chain",
         both(write_bytes("a.toml", b'extends = "b.toml"\n'),
              write_bytes("b.toml", b'extends = "a.toml"\n'))),
    Case("rules-latin1", tax_batch(), "is not UTF-8 text",
         write_bytes("badrules.toml", 'title = "Imp\u00f4t"\n'.encode("latin-1"))),
    Case("rules-folder", ("rules", "validate", "dir.toml"), "is a folder, not a rule file",
         make_dir("dir.toml")),
    Case("rules-syntax", tax_batch(), "not valid TOML", write_bytes("badrules.toml", b"[meta\n")),
    Case("phaseout-rate-0", tax_batch(), "rate", rules_edit("rate = 0.06", "rate = 0")),
    Case("early-age-500", ("rules", "validate", "badrules.toml"), "early_withdrawal.age",
         rules_edit("age = 59.5", "age = 500")),
    Case("limit-nan", tax_batch(), "finite number", rules_edit("annual = 23500", "annual = nan")),
    Case("inclusion-2", tax_batch(), "inclusion_rate",
         rules_edit("inclusion_rate = 1.0", "inclusion_rate = 2")),
    Case("meta-year-99999", tax_batch(), "meta.year", rules_edit("year = 2025", "year = 99999")),
    Case("rules-unknown-field", tax_batch(), "Extra inputs are not permitted",
         rules_edit("[meta]\n", "[meta]\ncolour = 1\n")),
    Case("convertible-to-unknown", ("rules", "validate", "badrules.toml"),
         "names unknown kind", rules_edit('convertible_to = "roth_ira"',
                                          'convertible_to = "gold_ira"')),
    Case("duplicate-deduction", ("rules", "validate", "badrules.toml"), "is used twice",
         rules_edit('name = "additional_age_65"', 'name = "standard"')),
    Case("rules-name-unknown", ("tax", "--rules", "us-federal-1999", "--filing-status",
         "single", "--age", "40"), "no rule set named 'us-federal-1999'"),
]

CSV_CASES = [
    Case("semicolon-csv", tax_batch("us-federal-2025", "bad.csv"),
         "separated by semicolons", households(row().replace(",", ";"))),
    Case("tab-csv", tax_batch("us-federal-2025", "bad.csv"), "separated by tabs",
         households(row().replace(",", "\t"))),
    Case("latin1-csv", tax_batch("us-federal-2025", "bad.csv"), "is not UTF-8 text",
         write_bytes("bad.csv", row(case_id="Jos\u00e9").encode("latin-1"))),
    Case("nan-income-csv", tax_batch("us-federal-2025", "bad.csv"), "is not a finite amount",
         households(row(ordinary_income="nan"))),
    Case("inf-income-csv", tax_batch("us-federal-2025", "bad.csv"), "is not a finite amount",
         households(row(ordinary_income="inf"))),
    Case("huge-income-csv", tax_batch("us-federal-2025", "bad.csv"), "give annual dollars up to",
         households(row(ordinary_income="1e300"))),
    Case("negative-income-csv", tax_batch("us-federal-2025", "bad.csv"), "must not be negative",
         households(row(ltcg="-5"))),
    Case("age-200-csv", tax_batch("us-federal-2025", "bad.csv"), "not a whole age",
         households(row(age="200"))),
    Case("age-nan-csv", tax_batch("us-federal-2025", "bad.csv"), "not a whole age",
         households(row(age="nan"))),
    Case("missing-column-csv", tax_batch("us-federal-2025", "bad.csv"), "missing column(s)",
         households("case_id,filing_status,age\nc1,single,40\n")),
    Case("unknown-column-csv", tax_batch("us-federal-2025", "bad.csv"), "unknown column(s) bonus",
         households(HEADER.strip() + ",bonus\n" + row().splitlines()[1] + ",1\n")),
    Case("duplicate-id-csv", tax_batch("us-federal-2025", "bad.csv"), "repeats line 2",
         households(row() + row().splitlines()[1] + "\n")),
    Case("empty-csv", tax_batch("us-federal-2025", "bad.csv"), "empty file", households("")),
    Case("folder-csv", tax_batch("us-federal-2025", "dir.csv"), "is a folder, not a CSV file",
         make_dir("dir.csv")),
    Case("year-99999-csv", tax_batch("us-federal-2025", "bad.csv"), "more than 100 years",
         households(HEADER.strip() + ",year\n" + row().splitlines()[1] + ",99999\n")),
    Case("spouse-for-single-csv", tax_batch("us-federal-2025", "bad.csv"), "covers one person",
         households(row(spouse_age="60"))),
    Case("mfj-no-spouse-csv", tax_batch("us-federal-2025", "bad.csv"), "spouse_age is blank",
         households(row(filing_status="mfj"))),
    Case("status-unknown-csv", tax_batch("us-federal-2025", "bad.csv"), "is not one of",
         households(row(filing_status="widow"))),
    Case("returns-semicolon", (*SIM, "--returns", "bootstrap", "--returns-csv", "r.csv"),
         "separated by semicolons", write_bytes("r.csv", b"year;conservative\n2000;0.1\n")),
    Case("returns-nan", (*SIM, "--returns", "bootstrap", "--returns-csv", "r.csv"),
         "data row 1: 'nan' is not a number",
         write_bytes("r.csv", b"year,conservative\n2000,nan\n")),
    Case("returns-folder", (*SIM, "--returns", "bootstrap", "--returns-csv", "rdir"),
         "is a folder", make_dir("rdir")),
    Case("returns-latin1", (*SIM, "--returns", "bootstrap", "--returns-csv", "r.csv"),
         "is not UTF-8", write_bytes("r.csv", "year,conservative\n2000,0.1 \u00e9\n".encode(
             "latin-1"))),
]

FLAG_CASES = [
    Case("mip-seconds-negative", ("optimize", "plan.toml", *OUT, "--mip-seconds", "-1"),
         "--mip-seconds: -1 is outside the range"),
    Case("mip-seconds-nan", ("optimize", "plan.toml", *OUT, "--mip-seconds", "nan"),
         "--mip-seconds: nan is outside the range"),
    Case("mip-seconds-inf", ("optimize", "plan.toml", *OUT, "--mip-seconds", "inf"),
         "outside the range"),
    Case("mip-seconds-text", ("optimize", "plan.toml", *OUT, "--mip-seconds", "soon"),
         "'soon' is not a number"),
    Case("time-limit-zero", ("optimize", "plan.toml", *OUT, "--time-limit", "0"),
         "--time-limit: 0 is outside the range"),
    Case("tax-year-99999", tax_one("--year", "99999"), "more than 100 years after"),
    Case("tax-year-3000", tax_one("--year", "3000"), "more than 100 years after"),
    Case("tax-year-before", tax_one("--year", "2010"), "before rule set"),
    Case("tax-year-text", tax_one("--year", "next"), "'next' is not a year"),
    Case("tax-inflation-nan", tax_one("--inflation", "nan"), "--inflation"),
    Case("tax-age-negative", tax_one("--age", "-1"), "not a whole age"),
    Case("tax-income-nan", tax_one("--ordinary-income", "nan"), "not a finite amount"),
    Case("tax-spouse-for-single", tax_one("--spouse-age", "60"), "covers one person"),
    Case("seed-negative", (*SIM, "--seed", "-1"), "--seed: -1 is outside the range"),
    Case("seed-huge", (*SIM, "--seed", str(2**40)), "--seed"),
    Case("paths-zero", (*SIM, "--paths", "0"), "--paths: 0 is outside the range"),
    Case("paths-text", (*SIM, "--paths", "many"), "'many' is not a whole number"),
    Case("paths-ten-million", (*SIM, "--paths", "10000000"), "GB budget; use at most"),
    Case("correlation-2", (*SIM, "--correlation", "2"), "--correlation: 2 is outside"),
    Case("block-years-0", (*SIM, "--returns", "bootstrap", "--returns-csv", "returns.csv",
         "--block-years", "0"), "--block-years: 0 is outside"),
    Case("project-years-1e9", (*PROJECT, "--annual-return", "0.5", "--years", "1e9"),
         "more than 1000 years"),
    Case("project-years-100000", (*PROJECT, "--annual-return", "0.5", "--years", "100000"),
         "more than 1000 years"),
    Case("project-overflow", (*PROJECT, "--annual-return", "2.5", "--years", "1000", "--json"),
         "grows beyond what a number can hold"),
    Case("project-return-nan", (*PROJECT, "--annual-return", "nan", "--years", "5"),
         "is not a finite number"),
    Case("project-initial-inf", ("project", "--initial", "inf", "--annual-return", "0.05",
         "--years", "5"), "is not a finite number"),
    Case("project-monthly-negative", ("project", "--monthly", "-5", "--annual-return",
         "0.05", "--years", "5"), "is negative"),
    Case("compare-processes-0", ("compare", "plan.toml", "--rules", "us-federal-2026",
         "--processes", "0"), "--processes: 0 is outside the range"),
    Case("optimize-mode-unknown", ("optimize", "plan.toml", "--mode", "slow", *OUT),
         "invalid choice"),
]

IMPOSSIBLE_CASES = [
    Case("growth-beyond-arithmetic", optimize("bad.toml"), "grows a dollar",
         plan_edit('tier_preset = "sober"', 'tier_preset = "guide_optimistic"',
                   base="young.toml")),
    Case("inflation-50pct-for-85-years", optimize("bad.json"), "inflation: 50% a year",
         plan_dict(lambda d: d.update(inflation=0.5, horizon_age=110), base=YOUNG)),
    Case("bequest-floor-too-high", optimize("bad.toml"), "objective.bequest_floor",
         plan_edit("bequest_floor = 250000", "bequest_floor = 90000000"), lines=1),
    Case("fixed-withdrawal-too-high", optimize("bad.json"), "withdrawal.amount",
         plan_dict(lambda d: d.update(objective={"kind": "max_estate"},
                                      withdrawal={"policy": "fixed_amount", "amount": 900000}))),
]


CASES = [*OUTPUT_CASES, *PLAN_CASES, *RULE_CASES, *CSV_CASES, *FLAG_CASES, *IMPOSSIBLE_CASES]


# ---------------------------------------------------------------------------------------
# Running a case


def _snapshot(folder: Path) -> dict[str, object]:
    """Every entry under `folder`: file bytes, symlink targets, kinds of special files."""
    out: dict[str, object] = {}
    for path in sorted(folder.rglob("*")):
        key = str(path.relative_to(folder))
        mode = path.lstat().st_mode
        if stat.S_ISLNK(mode):
            out[key] = ("link", os.readlink(path))
        elif stat.S_ISREG(mode):
            out[key] = path.read_bytes()
        else:
            out[key] = ("special", stat.S_IFMT(mode))
    return out


def make_workspace(tmp_path: Path) -> Path:
    """A folder with valid inputs and earlier outputs (see the module docstring)."""
    shutil.copy(COUPLE, tmp_path / "plan.toml")
    shutil.copy(YOUNG, tmp_path / "young.toml")
    couple = tomllib.loads(COUPLE.read_text(encoding="utf-8"))
    (tmp_path / "plan.json").write_text(json.dumps(couple), encoding="utf-8")
    shutil.copy(RULES_2025, tmp_path / "rules.toml")
    shutil.copy(EXAMPLES / "households.csv", tmp_path / "households.csv")
    shutil.copy(EXAMPLES / "historical-returns.csv", tmp_path / "returns.csv")
    for name, data in EARLIER.items():
        (tmp_path / name).write_bytes(data)
    return tmp_path


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    make_workspace(tmp_path)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_refused_plainly_and_writes_nothing(case: Case, workspace: Path, capsys):
    is_root = hasattr(os, "geteuid") and os.geteuid() == 0
    if case.not_root and is_root:
        pytest.skip("permission bits do not stop root; /proc and /sys cases cover it")
    if case.setup is not None:
        case.setup(workspace)
    before = _snapshot(workspace)
    code = main(list(case.argv))
    out, err = capsys.readouterr()
    assert code in (2, 3), f"exit {code}; stdout: {out[-500:]}; stderr: {err[-500:]}"
    assert "Traceback" not in err + out
    assert case.expect in err, err
    if case.lines is not None:
        assert err.count("\n") == case.lines, err
    assert _snapshot(workspace) == before, "an earlier output changed or a file was added"


def test_the_corpus_is_large_and_its_ids_unique():
    ids = [c.id for c in CASES]
    assert len(ids) >= 100 and len(set(ids)) == len(ids)


# ---------------------------------------------------------------------------------------
# What must still work: the corpus refuses nonsense, not unusual but valid input


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig"])
def test_plans_and_rule_files_with_or_without_a_byte_order_mark_are_read(
    encoding: str, workspace: Path, capsys
):
    text = (workspace / "plan.toml").read_text(encoding="utf-8")
    (workspace / "bom.toml").write_text(text, encoding=encoding)
    rules = (workspace / "rules.toml").read_text(encoding="utf-8")
    (workspace / "bomrules.toml").write_text(rules, encoding=encoding)
    assert main(["plan", "validate", "bom.toml", "--rules", "bomrules.toml"]) == 0
    assert main(["rules", "validate", "bomrules.toml"]) == 0
    capsys.readouterr()


def test_an_output_symlink_is_written_through_and_stays_a_link(workspace: Path, capsys):
    (workspace / "real.csv").write_text("old\n")
    (workspace / "link.csv").symlink_to("real.csv")
    code = main(["tax", "--rules", "us-federal-2025", "--input", "households.csv",
                 "--output", "link.csv"])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    assert (workspace / "link.csv").is_symlink()
    assert (workspace / "real.csv").read_text().startswith("case_id,")


def test_a_plan_before_its_rule_sets_year_is_warned_about_with_the_fix(workspace: Path):
    from taxopt import load_plan, load_rules
    from taxopt.validation import plan_warnings

    text = (workspace / "young.toml").read_text().replace("start_year = 2026", "start_year = 2025")
    (workspace / "early.toml").write_text(text)
    [warning] = plan_warnings(load_plan("early.toml"), load_rules("us-federal-2026"))
    assert "before rule set us-federal-2026's year 2026" in warning
    assert "Use a rule set for 2025, or start the plan in 2026" in warning


# ---------------------------------------------------------------------------------------
# Fuzzing plan dicts: any failure is an InputError-style message, never another exception

BASE_PLAN = tomllib.loads(COUPLE.read_text(encoding="utf-8"))
NUMBERS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**40), max_value=10**40),
    st.sampled_from([0, -1, 1e300, -1e300, 1e-300, 2**63, 0.5]),
)
LEAF_VALUES = st.one_of(NUMBERS, st.text(max_size=8), st.booleans(), st.none())
VALUES = st.deferred(
    lambda: st.one_of(
        LEAF_VALUES,
        st.lists(VALUES, max_size=3),
        st.dictionaries(st.text(max_size=6), VALUES, max_size=3),
    )
)


def _leaf_paths(value: object, path: tuple = ()) -> list[tuple]:
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _leaf_paths(v, (*path, k))] or [path]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _leaf_paths(v, (*path, i))] or [path]
    return [path]


LEAVES = _leaf_paths(BASE_PLAN)


def _set(data: dict, path: tuple, value: object) -> None:
    target = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    changes=st.lists(st.tuples(st.sampled_from(LEAVES), VALUES), min_size=1, max_size=3),
    drop=st.lists(st.sampled_from(sorted(BASE_PLAN)), max_size=2),
)
def test_fuzzed_plans_fail_only_with_input_errors(changes, drop):
    from taxopt import load_rules

    data = json.loads(json.dumps(BASE_PLAN))
    for path, value in changes:
        _set(data, path, value)
    for key in drop:
        data.pop(key, None)
    try:
        plan = plan_from_dict(data, source="fuzz.json")
        plan.check_against(load_rules("us-federal-2026"), source="fuzz.json")
    except TaxoptError as exc:
        message = str(exc)
        assert message.startswith("fuzz.json: ") and "Traceback" not in message
        assert all(line.startswith("fuzz.json: ") for line in message.splitlines())
