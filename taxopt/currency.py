"""How amounts are shown in a rule set's currency (`RuleSet.meta.currency`, ISO 4217).

The texts of taxopt are written in dollars ("$1,000", "today's dollars"); an output for a
rule set in another currency shows its own symbol and unit word. Amounts are never
converted: a UK plan is in pounds from its plan file to its workbook.
"""

from __future__ import annotations

import re

SYMBOLS = {"USD": "$", "GBP": "£", "CAD": "C$", "EUR": "€", "AUD": "A$"}
UNIT_WORDS = {"USD": "dollars", "GBP": "pounds", "CAD": "dollars", "EUR": "euros", "AUD": "dollars"}
_DOLLAR_WORDS = re.compile(r"\bdollars\b")
_BARE_DOLLAR = re.compile(r"(?<![A-Z])\$")


def symbol(currency: str) -> str:
    """'£' for GBP; an unknown code shows itself ('CHF ')."""
    code = currency.upper()
    return SYMBOLS.get(code, f"{code} ")


def money(amount: float, currency: str = "USD", cents: bool = False) -> str:
    """'£1,234' / '-£1,234' / '£1,234.50': the sign before the symbol."""
    digits = f"{abs(amount):,.2f}" if cents else f"{abs(round(amount)):,.0f}"
    sign = "-" if amount < 0 and float(digits.replace(",", "")) != 0 else ""
    return f"{sign}{symbol(currency)}{digits}"


def localize(text: str, currency: str) -> str:
    """A text written in dollars, in `currency`: '$' becomes its symbol and the word
    'dollars' its unit word (US and Canadian texts are unchanged but for 'C$')."""
    code = currency.upper()
    if code == "USD":
        return text
    # A '$' already in a symbol ('C$', 'A$': a part written by money()) stays as it is.
    text = _BARE_DOLLAR.sub(symbol(code), text)
    return _DOLLAR_WORDS.sub(UNIT_WORDS.get(code, code), text)


def number_format(kind_format: str, currency: str, dollar_sign: bool = False) -> str:
    """An Excel money format ('#,##0;-#,##0;0') with the currency symbol on its amounts;
    US workbooks keep their symbol-less format (their labels say '$') unless `dollar_sign`
    (a sheet whose columns are in several currencies)."""
    code = currency.upper()
    if code == "USD" and not dollar_sign:
        return kind_format
    quoted = f'"{symbol(code)}"'
    positive, negative, zero = kind_format.split(";")
    return f"{quoted}{positive};-{quoted}{negative.lstrip('-')};{zero}"
