"""Projections: what an initial sum plus regular contributions grows to at a constant return.

Pure functions, no I/O. Every result states the compounding convention it used, because the
same "50% average annual return" gives figures that differ by tens of percent depending on it:

- `rate_kind="effective"`: the annual return is what a full year actually earns; the monthly
  rate is (1 + r)^(1/12) - 1. `"nominal"`: the monthly rate is r / 12, so a year earns
  (1 + r/12)^12 - 1 > r.
- `timing="end"` (ordinary annuity) or `"begin"` (annuity due) of each period.
- `compounding="monthly"` (12 periods a year, the monthly contribution each month) or
  `"annual"` (1 period a year at rate r, contributing 12 x the monthly amount at once;
  `rate_kind` then makes no difference).
- `contribution_growth`: the monthly contribution rises by this fraction each year
  (year k contributes monthly x (1 + g)^(k-1) each month).
- `withdraw_gains`: gains are paid out at each year end instead of reinvested (the guide's
  "with gains withdrawn", i.e. simple interest on the amount invested).

Definitions (all amounts in nominal currency units; rates are fractions, 0.07 = 7%):
- `total_contributed`: the sum of the regular contributions, *excluding* `initial`.
- `total_withdrawn`: gains paid out (zero unless `withdraw_gains`).
- `growth = final_value + total_withdrawn - initial - total_contributed`: investment gains.

The closed forms here are checked in tests against an independent month-by-month loop.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from taxopt.errors import InputError

RateKind = Literal["effective", "nominal"]
Timing = Literal["end", "begin"]
Compounding = Literal["monthly", "annual"]

RATE_KINDS: tuple[str, ...] = ("effective", "nominal")
TIMINGS: tuple[str, ...] = ("end", "begin")
COMPOUNDINGS: tuple[str, ...] = ("monthly", "annual")

YEARLY_COLUMNS = ("year", "start_value", "contributions", "growth", "withdrawn", "end_value")

# Stated ranges (a figure beyond them is a typo, and the table would not fit in memory or
# its numbers in a float): years, amounts in currency units, rates as fractions.
MAX_YEARS = 1000
MAX_AMOUNT = 1e15
MAX_RATE = 100.0  # +10,000% a year: above the CLI's percent-typo note, below nonsense


@dataclass(frozen=True)
class Projection:
    """The outcome of `project`; amounts in nominal currency units."""

    initial: float
    monthly: float  # the first year's monthly contribution
    annual_return: float
    years: int
    rate_kind: str
    timing: str
    compounding: str
    contribution_growth: float
    withdraw_gains: bool
    final_value: float  # balance after the last year (excludes gains already withdrawn)
    total_contributed: float  # regular contributions only, excluding `initial`
    total_withdrawn: float  # gains paid out; 0 unless withdraw_gains
    growth: float  # final_value + total_withdrawn - initial - total_contributed
    convention: str  # one sentence a reader can check the figures against
    yearly: list[dict[str, float]] = field(default_factory=list)

    @property
    def final_with_withdrawals(self) -> float:
        """Balance plus every gain paid out: what the guide's "$38,000" compares against."""
        return self.final_value + self.total_withdrawn

    def to_frame(self) -> Any:
        """The yearly table as a pandas DataFrame indexed by year (1 = first year)."""
        import pandas as pd  # imported here so the pure functions don't pay for pandas

        frame = pd.DataFrame(self.yearly, columns=list(YEARLY_COLUMNS))
        return frame.set_index("year")

    def to_dict(self, cents: bool = True) -> dict[str, Any]:
        """Plain data for JSON; amounts rounded to cents unless `cents=False`."""

        def money(value: float) -> float:
            return round(value, 2) if cents else value

        return {
            "final_value": money(self.final_value),
            "total_contributed": money(self.total_contributed),
            "total_withdrawn": money(self.total_withdrawn),
            "growth": money(self.growth),
            "convention": self.convention,
            "inputs": {
                "initial": self.initial,
                "monthly": self.monthly,
                "annual_return": self.annual_return,
                "years": self.years,
                "rate_kind": self.rate_kind,
                "timing": self.timing,
                "compounding": self.compounding,
                "contribution_growth": self.contribution_growth,
                "withdraw_gains": self.withdraw_gains,
            },
            "yearly": [
                {k: (v if k == "year" else money(v)) for k, v in row.items()} for row in self.yearly
            ],
        }


def period_rate(annual_return: float, rate_kind: str, compounding: str = "monthly") -> float:
    """The rate per compounding period (a fraction) for an annual return under a convention."""
    if compounding == "annual":
        return annual_return
    if rate_kind == "effective":
        # expm1/log1p keep full precision for small rates.
        return math.expm1(math.log1p(annual_return) / 12)
    return annual_return / 12


def _periods(compounding: str) -> int:
    return 12 if compounding == "monthly" else 1


def _growth_factor(rate: float, periods: int) -> float:
    """(1 + rate)^periods."""
    return math.exp(periods * math.log1p(rate))


def _annuity_factor(rate: float, periods: int, timing: str) -> float:
    """Value at the end of `periods` periods of 1 paid each period: ((1+i)^n - 1) / i."""
    if rate == 0:
        return float(periods)
    factor = math.expm1(periods * math.log1p(rate)) / rate
    return factor * (1 + rate) if timing == "begin" else factor


def validate_inputs(
    initial: float,
    monthly: float,
    annual_return: float,
    years: float,
    rate_kind: str = "effective",
    timing: str = "end",
    contribution_growth: float = 0.0,
    compounding: str = "monthly",
    labels: Mapping[str, str] | None = None,
) -> int:
    """Raise InputError naming the first bad input and its fix; return `years` as an int.

    `labels` renames fields in messages (the CLI passes its option names).
    """
    names = dict(labels or {})

    def name(key: str) -> str:
        return names.get(key, key)

    _check_numbers(
        name,
        (
            ("initial", initial),
            ("monthly", monthly),
            ("annual_return", annual_return),
            ("years", years),
            ("contribution_growth", contribution_growth),
        ),
    )
    _check_amounts(name, initial, monthly)
    _check_rates(name, annual_return, contribution_growth)
    if years < 0 or not float(years).is_integer():
        raise InputError(f"{name('years')}: {years:g} is not a whole number >= 0; give e.g. 10.")
    if years > MAX_YEARS:
        raise InputError(
            f"{name('years')}: {years:g} is more than {MAX_YEARS} years; give a horizon up to "
            f"{MAX_YEARS}."
        )
    for key, value, allowed in (
        ("rate_kind", rate_kind, RATE_KINDS),
        ("timing", timing, TIMINGS),
        ("compounding", compounding, COMPOUNDINGS),
    ):
        if value not in allowed:
            raise InputError(f"{name(key)}: {value!r} is not one of {', '.join(allowed)}.")
    return int(years)


def _check_numbers(name: Callable[[str], str], values: tuple[tuple[str, Any], ...]) -> None:
    for key, value in values:
        is_number = isinstance(value, int | float) and not isinstance(value, bool)
        if not is_number or not math.isfinite(value):
            raise InputError(f"{name(key)}: {value!r} is not a finite number; give a number.")


def _check_amounts(name: Callable[[str], str], initial: float, monthly: float) -> None:
    """Dollar amounts: not negative, not beyond MAX_AMOUNT."""
    if initial < 0:
        raise InputError(f"{name('initial')}: {initial:g} is negative; give an amount >= 0.")
    if monthly < 0:
        raise InputError(f"{name('monthly')}: {monthly:g} is negative; give an amount >= 0.")
    for key, value in (("initial", initial), ("monthly", monthly)):
        if value > MAX_AMOUNT:
            raise InputError(
                f"{name(key)}: {value:g} is above {MAX_AMOUNT:g}; give an amount up to that."
            )


def _check_rates(name: Callable[[str], str], annual_return: float, growth: float) -> None:
    """Yearly rates as fractions: above -1 (not losing everything), at most MAX_RATE."""
    for key, value in (("annual_return", annual_return), ("contribution_growth", growth)):
        if value > MAX_RATE:
            raise InputError(
                f"{name(key)}: {value:g} is above {MAX_RATE:g} (+{MAX_RATE:.0%} a year); rates "
                "are fractions (0.07 means 7%)."
            )
    if annual_return <= -1:
        raise InputError(
            f"{name('annual_return')}: {annual_return:g} would lose 100% or more; give a return "
            "above -1 as a fraction (0.07 means 7%)."
        )
    if growth <= -1:
        raise InputError(
            f"{name('contribution_growth')}: {growth:g} must be above -1 "
            "(a fraction: 0.03 means contributions rise 3% a year)."
        )


def describe_convention(
    annual_return: float,
    monthly: float,
    rate_kind: str,
    timing: str,
    compounding: str,
    contribution_growth: float,
    withdraw_gains: bool,
) -> str:
    """One plain sentence stating how the figures were computed."""
    pct = f"{annual_return * 100:g}%"
    when = "end" if timing == "end" else "start"
    if compounding == "annual":
        rate = f"Annual compounding at {pct} a year"
        paid = f"contributions of 12 x ${monthly:,.2f} = ${12 * monthly:,.2f} at the {when} of "
        paid += "each year"
    else:
        i = period_rate(annual_return, rate_kind)
        year_growth = _growth_factor(i, 12) - 1
        if rate_kind == "effective":
            rate = (
                f"Monthly compounding at an effective annual rate of {pct} "
                f"(monthly rate (1 + {annual_return:g})^(1/12) - 1 = {i * 100:.4f}%)"
            )
        else:
            rate = (
                f"Monthly compounding at a nominal annual rate of {pct} "
                f"(monthly rate {pct}/12 = {i * 100:.4f}%, so a full year earns "
                f"{year_growth * 100:.2f}%)"
            )
        paid = f"contributions of ${monthly:,.2f} at the {when} of each month"
    if monthly == 0:
        paid = "no regular contributions"
    elif contribution_growth:
        paid += f", rising {contribution_growth * 100:g}% each year"
    gains = (
        "gains are paid out at each year end and not reinvested (simple interest); the final "
        "value excludes them"
        if withdraw_gains
        else "gains are reinvested"
    )
    return (
        f"{rate}; {paid}; {gains}. growth = final value + gains withdrawn - initial - "
        "contributions."
    )


def _project_year(
    start: float, contribution: float, rate: float, periods: int, timing: str
) -> tuple[float, float]:
    """One year in closed form: (value before any payout, contributions paid this year)."""
    end = start * _growth_factor(rate, periods) + contribution * _annuity_factor(
        rate, periods, timing
    )
    return end, contribution * periods


def project(
    initial: float,
    monthly: float,
    annual_return: float,
    years: int,
    *,
    rate_kind: RateKind = "effective",
    timing: Timing = "end",
    contribution_growth: float = 0.0,
    withdraw_gains: bool = False,
    compounding: Compounding = "monthly",
) -> Projection:
    """Grow `initial` plus `monthly` contributions for `years` years at `annual_return`.

    Amounts in nominal currency units; rates are fractions. See the module docstring for the
    conventions and the definitions of the returned totals. Raises InputError on bad inputs.
    """
    n_years = validate_inputs(
        initial, monthly, annual_return, years, rate_kind, timing, contribution_growth, compounding
    )
    periods = _periods(compounding)
    rate = period_rate(annual_return, rate_kind, compounding)
    per_period = monthly * 12 / periods  # annual compounding pays the year's 12 months at once

    value = float(initial)
    yearly: list[dict[str, float]] = []
    total_contributed = total_withdrawn = 0.0
    for year in range(1, n_years + 1):
        contribution = per_period * (1 + contribution_growth) ** (year - 1)
        before_payout, paid_in = _project_year(value, contribution, rate, periods, timing)
        gain = before_payout - value - paid_in
        # A loss is never "withdrawn": the balance simply carries it.
        withdrawn = max(gain, 0.0) if withdraw_gains else 0.0
        end = before_payout - withdrawn
        yearly.append(
            {
                "year": year,
                "start_value": value,
                "contributions": paid_in,
                "growth": gain,
                "withdrawn": withdrawn,
                "end_value": end,
            }
        )
        total_contributed += paid_in
        total_withdrawn += withdrawn
        value = end
        if not math.isfinite(end + total_contributed + total_withdrawn):
            raise _overflow(year)

    return Projection(
        initial=float(initial),
        monthly=float(monthly),
        annual_return=float(annual_return),
        years=n_years,
        rate_kind=rate_kind,
        timing=timing,
        compounding=compounding,
        contribution_growth=float(contribution_growth),
        withdraw_gains=withdraw_gains,
        final_value=value,
        total_contributed=total_contributed,
        total_withdrawn=total_withdrawn,
        growth=value + total_withdrawn - initial - total_contributed,
        convention=describe_convention(
            annual_return,
            monthly,
            rate_kind,
            timing,
            compounding,
            contribution_growth,
            withdraw_gains,
        ),
        yearly=yearly,
    )


def _overflow(year: int) -> InputError:
    return InputError(
        f"years: the balance grows beyond what a number can hold in year {year}; shorten "
        "the horizon or lower the return"
    )


def future_value(
    initial: float,
    monthly: float,
    annual_return: float,
    years: int,
    *,
    rate_kind: RateKind = "effective",
    timing: Timing = "end",
    contribution_growth: float = 0.0,
    compounding: Compounding = "monthly",
) -> float:
    """The whole horizon in one closed form (gains reinvested); `project` gives the table.

    FV = P A^Y + c s sum_{k=1..Y} G^(k-1) A^(Y-k), with A the growth of one year, s the value
    at year end of 1 paid each period of that year, G = 1 + contribution_growth. The sum is
    geometric: (A^Y - G^Y) / (A - G), or Y A^(Y-1) when A = G.
    Raises InputError on bad inputs; `withdraw_gains` has no closed form here (use `project`).
    """
    n_years = validate_inputs(
        initial, monthly, annual_return, years, rate_kind, timing, contribution_growth, compounding
    )
    periods = _periods(compounding)
    rate = period_rate(annual_return, rate_kind, compounding)
    try:
        return _future_value(initial, monthly, n_years, rate, periods, timing, contribution_growth)
    except OverflowError:
        raise _overflow(n_years) from None


def _future_value(
    initial: float,
    monthly: float,
    n_years: int,
    rate: float,
    periods: int,
    timing: str,
    contribution_growth: float,
) -> float:
    log_a = periods * math.log1p(rate)
    # sum_k G^(k-1) A^(Y-k) = A^(Y-1) (q^Y - 1) / (q - 1) with q = G / A; expm1 keeps it
    # accurate when contributions grow at nearly the portfolio's rate (q near 1).
    log_q = math.log1p(contribution_growth) - log_a
    if n_years == 0:
        geometric = 0.0
    elif log_q == 0:
        geometric = n_years * math.exp((n_years - 1) * log_a)
    else:
        geometric = (
            math.exp((n_years - 1) * log_a) * math.expm1(n_years * log_q) / math.expm1(log_q)
        )
    contribution = monthly * 12 / periods
    growth_all = math.exp(n_years * log_a)
    value = initial * growth_all + contribution * _annuity_factor(rate, periods, timing) * geometric
    if not math.isfinite(value):
        raise OverflowError
    return value
