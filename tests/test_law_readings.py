"""Code health: each reading of the law is written once.

A function whose name says it answers a question of law (is an RMD due, is a withdrawal
early, how many people a filing status covers, which Roth phase a year is in, how much of
a benefit is taxable, how a phase-out cuts) either is the one answer or asks the rule set
for it. Two modules that each work the answer out from the tables are two readings of the
law that can drift apart; this scan finds them.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import taxopt

PACKAGE = Path(taxopt.__file__).resolve().parent

# concept -> (words in a function name that claim it, the rule set's answers to call).
# A function named for a concept that calls one of the answers delegates; one that does not
# (the answers themselves included) reads the law itself, and only one module may do that
# per concept.
CONCEPTS: dict[str, tuple[set[str], set[str]]] = {
    "required minimum distributions": (
        {"rmd", "rmds", "divisor", "required_minimum", "minimum_distribution"},
        {"rmd_amount", "rmd_divisor"},
    ),
    "early withdrawals": ({"early", "penalty", "penalised", "penalized"}, {"withdrawal_is_early"}),
    "people per filing status": ({"covered", "covers", "coverage"}, {"people_covered"}),
    "Roth distribution phase": (
        {"phase", "seasoned", "seasoning"},
        {"roth_withdrawal_phase", "conversion_seasoned"},
    ),
    "benefit taxation": ({"benefit", "benefits"}, {"taxable_part"}),
    "phase-outs": ({"phaseout", "phaseouts"}, {"remaining"}),
}

# A US state's law has its own rule objects and calculator (state_rules.py, state_tax.py):
# its readings are counted apart from the federal / national rule sets'.
STATE_MODULES = re.compile(r"^taxopt/state_")

# The optimization model states some of the law as LP rows (IRC §86 as a piecewise-linear
# function of provisional income): an encoding, not a second calculator, and the ledger's
# reconciliation holds it to the calculator to the dollar (tests/test_optimize.py).
LP_ENCODINGS = {("benefit taxation", "taxopt/model/taxes.py")}

def _allowed(readings: set[tuple[str, str, str]]) -> set[tuple[str, str, str]]:
    return {r for r in readings if (r[0], r[1]) not in LP_ENCODINGS}


def _name_words(name: str) -> set[str]:
    words = [w for w in name.lower().split("_") if w]
    pairs = {f"{a}_{b}" for a, b in zip(words, words[1:], strict=False)}
    return set(words) | pairs


def _called_names(function: ast.AST) -> set[str]:
    names = set()
    for node in ast.walk(function):
        if isinstance(node, ast.Call):
            target = node.func
            if isinstance(target, ast.Attribute):
                names.add(target.attr)
            elif isinstance(target, ast.Name):
                names.add(target.id)
    return names


def law_readings(modules: dict[str, str]) -> set[tuple[str, str, str]]:
    """(concept, module, function) for each function, in the given {module path: source},
    that is named for a concept of law and does not ask the rule set's answer for it."""
    found = set()
    for module, source in modules.items():
        for node in ast.walk(ast.parse(source)):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            words, calls = _name_words(node.name), _called_names(node)
            for concept, (claims, answers) in CONCEPTS.items():
                # Calling an answer, or a helper named after one (the model's
                # account_rmd_divisor), delegates.
                delegates = any(answer in call for answer in answers for call in calls)
                if words & claims and not delegates:
                    found.add((concept, module, node.name))
    return found


def readings_in_more_than_one_module(
    readings: set[tuple[str, str, str]],
) -> dict[str, dict[str, list[str]]]:
    """{concept (with its law): {module: functions}} where a concept is read in 2+ modules."""
    by_concept: dict[str, dict[str, list[str]]] = {}
    for concept, module, function in sorted(readings):
        law = "state law" if STATE_MODULES.match(module) else "federal/national law"
        by_concept.setdefault(f"{concept} ({law})", {}).setdefault(module, []).append(function)
    return {c: modules for c, modules in by_concept.items() if len(modules) > 1}


def package_sources(root: Path = PACKAGE) -> dict[str, str]:
    return {
        f"taxopt/{path.relative_to(root).as_posix()}": path.read_text(encoding="utf-8")
        for path in sorted(root.rglob("*.py"))
    }


def test_no_reading_of_the_law_is_written_in_two_modules():
    readings = _allowed(law_readings(package_sources()))
    assert readings_in_more_than_one_module(readings) == {}


def test_a_duplicated_helper_is_found(tmp_path):
    # The ledger's old copy of the §72(t) age test, put back in a module of its own.
    copy = tmp_path / "ledger_copy.py"
    copy.write_text(
        "def penalty_applies(rules, age):\n"
        "    rule = rules.early_withdrawal\n"
        "    return rule is not None and rule.applies(age)\n",
        encoding="utf-8",
    )
    sources = {**package_sources(), "taxopt/ledger_copy.py": copy.read_text(encoding="utf-8")}
    found = readings_in_more_than_one_module(_allowed(law_readings(sources)))
    assert found == {
        "early withdrawals (federal/national law)": {
            "taxopt/ledger_copy.py": ["penalty_applies"],
            "taxopt/rules.py": ["early_withdrawal_penalty_rate", "withdrawal_is_early"],
        }
    }


def test_a_helper_that_asks_the_rule_set_is_not_a_copy():
    delegate = (
        "def penalty_applies(rules, kind, age):\n"
        "    return rules.withdrawal_is_early(kind, age)\n"
        "def rmd_due(rules, kind, age, born, balance):\n"
        "    return rules.rmd_amount(kind, age, born, balance)\n"
        "def _add_rmds(ctx):\n"
        "    return ctx.account_rmd_divisor('ira', 2040)\n"
    )
    assert law_readings({"taxopt/elsewhere.py": delegate}) == set()
