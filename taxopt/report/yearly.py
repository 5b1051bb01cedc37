"""Year-by-year tables from the ledger: the instructions a client follows, how each year's
tax is computed, the full ledger as an appendix, and the today's-dollar series the charts
draw. Every header says nominal or today's dollars.
"""

from __future__ import annotations

from taxopt.report.labels import account_labels, humanize, place_of
from taxopt.report.tables import Column, Table
from taxopt.report.vocabulary import Vocabulary

NOMINAL = "(nominal $)"
REAL = "(today's $)"


def key_columns(result) -> list[Column]:
    y = result.yearly
    cols = [Column("Year", list(y["year"]), "year", width=5)]
    cols += [
        Column(f"Age {p.name}", list(y[f"age_{p.name}"]), "integer", width=5.5)
        for p in result.plan.people
    ]
    return cols


def _real(result, key: str) -> list[float]:
    y = result.yearly
    return list(y[key] / y["inflation_factor"])


def instruction_tables(result) -> list[Table]:
    """What to do each year, balances, and income and tax: one row per year."""
    plan, rules, y = result.plan, result.rules, result.yearly
    labels = account_labels(plan, rules)
    keys = key_columns(result)
    n = len(keys)
    net = [
        Column(
            f"{labels[a.name]}: in + / out - {NOMINAL}",
            list(y[f"contribution_{a.name}"] - y[f"withdrawal_{a.name}"]),
            total=True,
        )
        for a in plan.accounts
    ]
    convert = [
        Column(
            f"Convert to Roth from {labels[a.name]} {NOMINAL}",
            list(y[f"conversion_out_{a.name}"]),
            total=True,
        )
        for a in plan.accounts
        if rules.account_kinds[a.kind].convertible_to
    ]
    has_rmd = any(rules.account_kinds[a.kind].rmd for a in plan.accounts)
    rmd = (
        [Column(f"RMD due, all accounts {NOMINAL}", list(y["rmd_required"]), total=True)]
        if has_rmd
        else []
    )
    actions = Table(
        "What to do each year",
        [
            *keys,
            *net,
            *convert,
            *rmd,
            Column(f"Income tax, total {NOMINAL}", list(y["total_tax"]), total=True),
            Column(f"Spending after tax {NOMINAL}", list(y["spending"]), total=True),
            Column(f"Spending after tax {REAL}", list(y["spending_real"]), total=True),
        ],
        keys=n,
        note="In (+): contributions and purchases; out (-): withdrawals and sales."
        + (
            " An RMD is met by the money taken out of and converted from that account."
            if has_rmd
            else ""
        ),
    )
    balances = Table(
        "Balances at year end",
        [
            *keys,
            *(
                Column(f"{labels[a.name]} {NOMINAL}", list(y[f"closing_{a.name}"]))
                for a in plan.accounts
            ),
            Column(f"All accounts {NOMINAL}", list(y["portfolio_closing"])),
            Column(f"All accounts {REAL}", list(y["portfolio_closing_real"])),
            Column(f"Estate after tax {REAL}", list(y["after_tax_estate_real"])),
        ],
        keys=n,
        note="Today's dollars at year end divide by the next year's inflation factor.",
    )
    income = Table(
        "Income and tax",
        [
            *keys,
            Column(f"Wages {NOMINAL}", list(y["wages"]), total=True),
            Column(f"Social Security {NOMINAL}", list(y["social_security"]), total=True),
            Column(f"Pensions and other income {NOMINAL}", list(y["other_income"]), total=True),
            Column(f"Taken from the accounts {NOMINAL}", list(y["withdrawals"]), total=True),
            *(
                [Column(f"Converted to Roth {NOMINAL}", list(y["roth_conversions"]), total=True)]
                if Vocabulary.converts(rules)
                else []
            ),
            Column(f"Gains realized {NOMINAL}", list(y["realized_gains"]), total=True),
            Column(f"Adjusted gross income {NOMINAL}", list(y["agi"]), total=True),
            Column(f"Taxable income {NOMINAL}", list(y["taxable_income"]), total=True),
            Column(f"Income tax {NOMINAL}", list(y["total_tax"]), total=True),
            Column(f"Income tax {REAL}", _real(result, "total_tax"), total=True),
            Column(
                ("Tax" if result.plan.state is None else "Federal tax")
                + " on the next $ of ordinary income",
                list(y["marginal_ordinary_rate"]),
                "percent",
            ),
        ],
        keys=n,
    )
    return [actions, balances, income]


def _ratio(a, b) -> list[float]:
    return [x / z if z > 0 else 0.0 for x, z in zip(a, b, strict=True)]


def tax_tables(result) -> list[Table]:
    """How each year's tax is computed, and ordinary income by bracket."""
    y = result.yearly
    credits = [t.credits for t in result.ledger.taxes]
    year = Column("Year", list(y["year"]), "year", width=6)
    # The calculator's marginal rates are federal; say so beside a state's tax.
    marginal = "Marginal rate" if result.plan.state is None else "Federal marginal rate"
    computation = Table(
        "How each year's tax is computed",
        [
            year,
            Column(f"Adjusted gross income {NOMINAL}", list(y["agi"]), total=True),
            Column(f"Taxable Social Security {NOMINAL}", list(y["taxable_social_security"])),
            Column(f"Deductions {NOMINAL}", list(y["total_deductions"]), total=True),
            Column(f"Taxable income {NOMINAL}", list(y["taxable_income"]), total=True),
            Column(f"Of which ordinary {NOMINAL}", list(y["ordinary_taxable_income"])),
            Column(
                f"Of which dividends and gains {NOMINAL}", list(y["preferential_taxable_income"])
            ),
            *(
                Column(f"{label} {NOMINAL}", list(y[key]), total=True)
                for key, (label, _kind) in _ROTH_ORDERING.items()
                if key in y.columns
            ),
            Column(f"Tax on ordinary income {NOMINAL}", list(y["ordinary_tax"]), total=True),
            Column(
                f"Tax on dividends and gains {NOMINAL}", list(y["capital_gains_tax"]), total=True
            ),
            Column(f"Credits {NOMINAL}", credits, total=True),
            Column(f"Net investment income tax {NOMINAL}", list(y["niit"]), total=True),
            Column(
                f"Early-withdrawal penalty {NOMINAL}",
                list(y["early_withdrawal_penalty"]),
                total=True,
            ),
            *(
                [
                    Column(f"Federal tax {NOMINAL}", list(y["federal_tax"]), total=True),
                    Column(
                        f"State tax ({result.plan.state.upper()}) {NOMINAL}",
                        list(y["state_tax"]),
                        total=True,
                    ),
                ]
                if result.plan.state is not None
                else []
            ),
            Column(f"Total tax {NOMINAL}", list(y["total_tax"]), total=True),
            Column("Average rate (tax / AGI)", _ratio(y["total_tax"], y["agi"]), "percent"),
            Column(
                f"{marginal}, ordinary income",
                list(y["marginal_ordinary_rate"]),
                "percent",
            ),
            Column(
                f"{marginal}, long-term gains",
                list(y["marginal_ltcg_rate"]),
                "percent",
            ),
        ],
    )
    rates = result.rules.ordinary.brackets[result.plan.filing_status].rates
    filled = [
        Column(f"Taxed at {rate:.0%} {NOMINAL}", list(y[f"bracket_{i}_filled"]), total=True)
        for i, rate in enumerate(rates)
    ]
    brackets = Table(
        "Ordinary taxable income in each bracket",
        [
            year,
            *filled,
            Column(f"Room left in the bracket reached {NOMINAL}", bracket_room(result)),
        ],
        note="Brackets grow with the assumed inflation after the rule set's year.",
    )
    return [computation, brackets]


def bracket_tops(result, year: int) -> list[float]:
    """Tops of the ordinary brackets in `year` (nominal $), from the rule objects."""
    plan = result.plan
    schedule = result.rules.for_year(year, plan.inflation).ordinary.brackets[plan.filing_status]
    return list(schedule.thresholds[1:])


def bracket_room(result) -> list[float | None]:
    """Ordinary taxable income left before the next bracket each year (None in the top one)."""
    out = []
    for year, taxed in zip(
        result.yearly["year"], result.yearly["ordinary_taxable_income"], strict=True
    ):
        above = [t for t in bracket_tops(result, int(year)) if t > taxed]
        out.append(above[0] - taxed if above else None)
    return out


# ---------------------------------------------------------------------------------------
# The ledger, every column, as an appendix

_LABELS = {
    "year": ("Year", "year"),
    "inflation_factor": ("Inflation factor (nominal $ per today's $)", "factor"),
    "retired": ("Retired", "text"),
    "marginal_ordinary_rate": ("Marginal rate, ordinary income", "percent"),
    "marginal_ltcg_rate": ("Marginal rate, long-term gains", "percent"),
    "savings_budget": ("Savings from wages", "money"),
    "ordinary_withdrawals": ("Withdrawals taxed as ordinary income", "money"),
    "taxable_ordinary_yield": ("Taxable interest and other ordinary yield", "money"),
    "preferential_taxable_income": ("Taxable dividends and gains", "money"),
    "niit": ("Net investment income tax", "money"),
    "agi": ("Adjusted gross income", "money"),
    "rmd_required": ("RMDs due", "money"),
    "portfolio_closing": ("All accounts at year end", "money"),
    "portfolio_closing_real": ("All accounts at year end", "real"),
    "after_tax_estate_real": ("Estate after tax at year end", "real"),
    "spending_real": ("Spending after tax", "real"),
    "spending": ("Spending after tax", "money"),
    "total_tax": ("Total tax", "money"),
    "aca_magi": ("Household income for the premium tax credit (MAGI)", "money"),
    "aca_benchmark": ("Marketplace benchmark premium", "money"),
    "aca_credit": ("Premium tax credit", "money"),
    "aca_premium": ("Marketplace premium after the credit", "money"),
}
# Roth withdrawals the ordering rules tax or penalise (IRC §408A(d)), when the ledger has them.
_ROTH_ORDERING = {
    "roth_taxable_earnings": ("Roth earnings taxed (ordering rules)", "money"),
    "roth_early_distributions": ("Roth money bearing the early-withdrawal tax", "money"),
}
_LABELS.update(_ROTH_ORDERING)
_PER_ACCOUNT = {
    "opening": "Opening balance",
    "contribution": "Contribution to",
    "withdrawal": "Withdrawal from",
    "conversion_out": "Converted to Roth from",
    "tax_free": "Taken tax free from",
    "rmd": "RMD due from",
    "closing": "Closing balance",
}
_BALANCES = ("opening_", "closing_", "portfolio_", "after_tax_", "inflation", "age_", "year")


def ledger_table(result) -> Table:
    """Every column of result.yearly with a readable header and its unit."""
    plan = result.plan
    labels = account_labels(plan, result.rules)
    rates = result.rules.ordinary.brackets[plan.filing_status].rates
    y = result.yearly
    columns = []
    for key in y.columns:
        if _not_in_rules(key, result):
            continue
        label, kind = _ledger_label(key, labels, rates)
        values = list(y[key])
        if key == "retired":
            values = ["yes" if v else "no" for v in values]
        unit = {"money": f" {NOMINAL}", "real": f" {REAL}"}.get(kind, "")
        total = kind in ("money", "real") and not key.startswith(_BALANCES)
        columns.append(
            Column(
                label + unit,
                values,
                "money" if kind == "real" else kind,
                total=total,
                width=6 if kind == "year" else 12,
                style="center" if key == "retired" else "body",
            )
        )
    return Table("The ledger: every figure of every year", columns, keys=1)


# Columns of US mechanisms (conversions, RMDs, Roth ordering, Social Security, IRMAA):
# left out of the ledger of a rule set without them when they are zero every year.
_US_ONLY = ("conversion", "rmd", "roth_", "irmaa", "social_security", "taxable_ss")


def _not_in_rules(key: str, result) -> bool:
    """A ledger column of a US mechanism the rule set lacks (always zero, or IRMAA's
    lookback year without [medicare]), or the federal tax of a non-US plan without a
    state (it is the total)."""
    rules, yearly = result.rules, result.yearly
    if Vocabulary.of(rules).is_us:
        return False
    if key == "federal_tax" and result.plan.state is None:
        return True
    if key.startswith("irmaa") and rules.medicare is None:
        return True
    if not any(part in key for part in _US_ONLY):
        return False
    values = yearly[key]
    return values.dtype.kind in "fiu" and bool((values.abs() < 0.005).all())


def _ledger_label(key: str, labels: dict[str, str], rates) -> tuple[str, str]:
    if key in _LABELS:
        return _LABELS[key]
    if key.startswith("age_"):
        return f"Age {key.removeprefix('age_')}", "integer"
    for prefix, words in _PER_ACCOUNT.items():
        name = key.removeprefix(prefix + "_")
        if key.startswith(prefix + "_") and name in labels:
            return f"{words} {labels[name]}", "money"
    if key.startswith("bracket_") and key.endswith("_filled"):
        i = int(key.split("_")[1])
        return f"Ordinary income taxed at {rates[i]:.0%}", "money"
    return humanize(key), "money"


# ---------------------------------------------------------------------------------------
# Series the charts draw (today's dollars)


def chart_series(result) -> dict[str, list[float]]:
    """Name -> one value a year, today's dollars: income sources, spending, tax by kind,
    conversions against bracket tops, balances by place."""
    plan, rules, y = result.plan, result.rules, result.yearly
    factor = list(y["inflation_factor"])

    def real(values) -> list[float]:
        return [v / f for v, f in zip(values, factor, strict=True)]

    out: dict[str, list[float]] = {}
    places: dict[str, list[str]] = {}
    for a in plan.accounts:
        places.setdefault(place_of(rules, a), []).append(a.name)
    for place, names in places.items():
        out[f"Withdrawals from {place} accounts"] = real(
            sum(y[f"withdrawal_{n}"] for n in names).clip(lower=0)
        )
    out["Social Security and pensions"] = real(y["social_security"] + y["other_income"])
    out["Wages"] = real(y["wages"])
    out["Spending after tax"] = list(y["spending_real"])
    credits = [t.credits for t in result.ledger.taxes]
    out["Tax on ordinary income (net of credits)"] = real(y["ordinary_tax"] - credits)
    out["Tax on dividends and gains"] = real(y["capital_gains_tax"])
    out["Net investment income tax"] = real(y["niit"])
    out["Early-withdrawal penalty"] = real(y["early_withdrawal_penalty"])
    conversions = y["roth_conversions"]
    taxed = y["ordinary_taxable_income"]
    converted = [min(c, t) for c, t in zip(conversions, taxed, strict=True)]
    out["Ordinary taxable income before conversions"] = real(
        [t - c for t, c in zip(taxed, converted, strict=True)]
    )
    out["Roth conversions (taxable part)"] = real(converted)
    if not Vocabulary.converts(rules):  # no conversions chart (taxopt.report.excel)
        del out["Ordinary taxable income before conversions"]
        del out["Roth conversions (taxable part)"]
        return _with_balances(out, result, real, places)
    tops = [bracket_tops(result, int(year)) for year in y["year"]]
    rates = rules.ordinary.brackets[plan.filing_status].rates
    reached = max(
        (
            a + b
            for a, b in zip(
                out["Ordinary taxable income before conversions"],
                out["Roth conversions (taxable part)"],
                strict=True,
            )
        ),
        default=0.0,
    )
    top_real = [
        [t[i] / f for t, f in zip(tops, factor, strict=True)] for i in range(len(rates) - 1)
    ]
    ceiling = next((i for i, t in enumerate(top_real) if min(t) > reached), len(top_real) - 1)
    for i in range(max(0, ceiling - 2), ceiling + 1):
        out[f"Top of the {rates[i]:.0%} bracket"] = top_real[i]
    return _with_balances(out, result, real, places)


def _with_balances(out: dict, result, real, places: dict[str, list[str]]) -> dict:
    """`out` with each place's year-end balance (today's dollars) added."""
    y = result.yearly
    for place, names in places.items():
        out[f"Balance in {place} accounts"] = real(
            sum(y[f"closing_{n}"] for n in names) / (1 + result.plan.inflation)
        )
    return out
