"""Plain words for what the code calls by identifiers: objectives, policies, baselines,
accounts, tiers, places; and the glossary a client reads."""

from __future__ import annotations

import re

from taxopt.rules import Growth

SNAKE_CASE = re.compile(r"\b[a-z][a-z0-9]*_[a-z0-9_]+\b")  # an identifier, not a word

OBJECTIVES = {
    "max_spending": "Highest steady spending (after tax, today's dollars)",
    "max_estate": "Largest estate plus spending (after tax)",
    "min_tax": "Least lifetime tax",
}

BASELINES = {
    "optimized": "This plan",
    "guide_rule_of_thumb": "Rule of thumb: growth in Roth, bonds in traditional",
    "same_mix_everywhere": "Same mix in every account",
    "conventional_withdrawals": "This placement, conventional withdrawal order, no conversions",
}
RULE_OF_THUMB = "guide_rule_of_thumb"

PLACES = {Growth.EXEMPT: "Roth", Growth.DEFERRED: "traditional", Growth.TAXED: "taxable"}

STREAM_KINDS = {
    "social_security": "Social Security",
    "state_pension": "State Pension",
    "pension": "Pension",
    "other_taxable": "Other taxable income",
}

YIELD_CHARACTER = {
    "qualified_dividends": "qualified dividends",
    "ordinary": "ordinary income",
    "none": "none",
}

RETURN_BASIS = {
    "median": "median path (each tier grows at its typical, lognormal median rate)",
    "mean": "average return (each tier grows at its expected arithmetic mean)",
}

SURTAXES = {"niit": "net investment income tax"}

RMD_SURPLUS = {
    "reinvest": "reinvested in the taxable account after its tax",
    "spend": "spent after its tax",
}

SPENDING_BASIS = {"net": "after tax", "gross": "before tax"}


def humanize(identifier: str) -> str:
    """'joint_taxable' -> 'Joint taxable'; text that is already words is kept."""
    text = str(identifier).replace("_", " ").strip()
    return text[:1].upper() + text[1:] if text else text


def baseline_label(name: str) -> str:
    return BASELINES.get(name, humanize(name))


def objective_label(kind: str) -> str:
    return OBJECTIVES.get(kind, humanize(kind))


def policy_label(withdrawal) -> str:
    """The withdrawal policy in words, with its basis (after or before tax) when known."""
    basis = getattr(withdrawal, "basis", None)
    kind = SPENDING_BASIS.get(basis, "before tax")
    portfolio = "the after-tax portfolio" if basis == "net" else "the portfolio"
    if withdrawal.policy == "fixed_real":
        text = (
            f"{withdrawal.rate:.2%} of {portfolio} at retirement ({kind}), "
            "then the same amount raised with inflation"
        )
    elif withdrawal.policy == "constant_percentage":
        text = f"{withdrawal.rate:.2%} of {portfolio} each year ({kind})"
    else:
        text = (
            f"{withdrawal.amount or 0:,.0f} today's dollars a year ({kind}), raised with inflation"
        )
    return text


def surtax_label(name: str) -> str:
    return SURTAXES.get(name, humanize(name).lower())


def place_of(rules, account) -> str:
    return PLACES[rules.account_kinds[account.kind].growth]


def account_labels(plan, rules) -> dict[str, str]:
    """Account name -> how the client knows it: "Alex's Traditional 401(k)"."""
    labels = {}
    for account in plan.accounts:
        kind = rules.account_kinds[account.kind].label
        label = f"{account.owner}'s {kind}" if account.owner else kind
        if getattr(account, "implied", False):  # an account the plan has the household open
            label += f" ({implied_purpose(rules, account)})"
        labels[account.name] = label
    seen: dict[str, int] = {}
    for label in labels.values():
        seen[label] = seen.get(label, 0) + 1
    return {
        name: f"{label} ({humanize(name)})" if seen[label] > 1 else label
        for name, label in labels.items()
    }


def implied_purpose(rules, account) -> str:
    """Why taxopt opens an account the plan file lacks: taxable ones take surplus RMDs,
    sheltered ones receive conversions."""
    if rules.account_kinds[account.kind].growth == Growth.TAXED:
        return "to open for surplus RMDs"
    return "to open for Roth conversions"


US_TERMS = {
    "Roth account",
    "Traditional account",
    "Taxable account",
    "RMD",
    "Roth conversion",
    "0% gains band",
    "NIIT",
    "AGI / MAGI",
}


def glossary(rules=None) -> list[tuple[str, str]]:
    """The glossary for a rule set: the US terms for a US rule set (or none given); for
    another, its account kinds described from their treatment, then the common terms."""
    kinds = rules.account_kinds if rules is not None else {}
    if rules is None or not any(k.short_label for k in kinds.values()):
        return GLOSSARY
    own = [(kind.short_label or kind.label, _kind_meaning(kind)) for kind in kinds.values()]
    return own + [(term, text) for term, text in GLOSSARY if term not in US_TERMS]


def _kind_meaning(kind) -> str:
    """One account kind's treatment in words, from its rule data."""
    paid = (
        "funded before tax (contributions get tax relief)"
        if kind.contributions == "deductible"
        else "funded with taxed money"
    )
    growth = {
        Growth.EXEMPT: "income and gains inside are not taxed",
        Growth.DEFERRED: "income and gains inside are not taxed until withdrawn",
        Growth.TAXED: "income is taxed each year and gains when investments are sold",
    }[kind.growth]
    text = f"{kind.label}: {paid}; {growth}"
    if kind.withdrawals == "ordinary":
        free = kind.tax_free_withdrawal_fraction
        text += "; withdrawals are taxed as income"
        if free:
            text += f", except {free:.0%} of each, tax free"
            if kind.tax_free_lifetime_limit:
                text += f" up to ${kind.tax_free_lifetime_limit:,.0f} over a lifetime"
    elif kind.withdrawals == "exempt":
        text += "; withdrawals are tax free"
    return text + "."


def tier_label(name: str) -> str:
    return humanize(name)


GLOSSARY = [
    (
        "Roth account",
        "A retirement account funded with taxed money; growth and qualified withdrawals are "
        "tax free and no withdrawals are required during the owner's life.",
    ),
    (
        "Traditional account",
        "A retirement account (IRA, 401(k)) funded before tax; every withdrawal is taxed as "
        "ordinary income, and withdrawals before about age 59 1/2 may carry a penalty.",
    ),
    (
        "Taxable account",
        "An ordinary brokerage account: dividends are taxed each year, and gains when an "
        "investment is sold.",
    ),
    ("Basis", "What was paid for an investment; a sale is taxed only on the gain above it."),
    (
        "RMD",
        "Required minimum distribution: the least that must be withdrawn from a traditional "
        "account each year from the age the law sets.",
    ),
    (
        "Roth conversion",
        "Moving money from a traditional to a Roth account; the amount is taxed as income in "
        "the year of the move, and later growth is tax free.",
    ),
    (
        "Tax bracket",
        "A band of taxable income taxed at one rate; the next dollar of income is taxed at "
        "the rate of the band it falls in.",
    ),
    (
        "0% gains band",
        "Long-term gains and qualified dividends are taxed at 0% while taxable income stays "
        "below a threshold.",
    ),
    (
        "NIIT",
        "Net investment income tax: 3.8% on investment income above a threshold of modified "
        "adjusted gross income.",
    ),
    (
        "AGI / MAGI",
        "Adjusted gross income: income before deductions. MAGI is AGI with a few additions "
        "(the same here).",
    ),
    (
        "Tier",
        "One index investment of the portfolio (for example conservative, balanced, "
        "aggressive or a cash reserve), with its own expected return and risk.",
    ),
    (
        "Today's dollars",
        "Amounts divided by the assumed inflation since the plan's first year, so that they "
        "buy what a dollar buys today. Nominal dollars are the amounts of each year.",
    ),
    (
        "After-tax estate",
        "What is left at the end of the plan: traditional balances net of the heirs' income "
        "tax, taxable and Roth accounts at market value.",
    ),
    (
        "Success rate",
        "The share of simulated market paths on which the planned spending is met every year "
        "to the end of the plan.",
    ),
    (
        "Safe spending",
        "The highest steady spending (after tax, today's dollars) met on the stated share of "
        "simulated market paths.",
    ),
    (
        "Rule of thumb",
        "The usual placement this plan is compared with: growth investments in Roth, bonds "
        "in traditional accounts, the rest taxable, drawn in the conventional order.",
    ),
    (
        "Present value",
        "Future amounts discounted to today at the stated rate, so that tax paid later "
        "counts for less than tax paid now.",
    ),
]
