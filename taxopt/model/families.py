"""Named, typed families of model variables, expressions and constraint rows.

Every variable of the model belongs to one family declared once with its name and named
dimensions; the variable's LP name is the family's `name_format` filled with its key, so the
key's order is the name's order (`hold[2031, "ira", "stocks"]` is column
`hold_2031_ira_stocks`). Constraint rows are registered the same way (by family and key), so
a later step (dual values, --explain) finds "the Roth-ordering row of 2031 for Alex" by
name rather than by parsing LP names. Named expressions the components share (the opening
balances, MAGI, ...) are families too, so a reader can evaluate them from a solution.

The registry refuses a second family of the same name and names the known families when
asked for an unknown one (a misspelt family used to yield an empty dict). A family of one
dimension is keyed by the plain value (`tax[2031]`), a family of none by `()`.

Values come back in bulk: `ModelContext.solution()` reads every column once into a
{variable name: value} dict and `VariableFamily.series(solution)` labels a family's values
as a pandas Series indexed by its dimensions.

Variable families (dims in key order; declared in the module named):

| family                  | dims                 | meaning (nominal dollars)          | module |
|-------------------------|----------------------|------------------------------------|--------|
| hold                    | year, account, tier  | post-trade holding                 | holdings |
| contribute              | year, account        | contribution / surplus reinvested  | holdings |
| withdraw                | year, account        | withdrawal                         | holdings |
| convert                 | year, source, target | Roth conversion                    | holdings |
| buy                     | year, account, tier  | taxable purchase (opens a lot)     | holdings |
| sell                    | year, lot            | units of a lot sold                | holdings |
| tax_free                | year, account        | tax-free part of withdrawals (cap) | tax_free |
| spend                   | year                 | household spending                 | withdrawals|
| spending_level          | ()                   | max_spending level, today's $      | withdrawals|
| beyond_policy           | year                 | drawn or spent beyond the policy   | withdrawals|
| tax                     | year                 | total income tax                   | taxes |
| gain                    | year                 | realized long-term gains, >= 0     | taxes |
| included_gain           | year                 | gains above the annual exemption   | taxes |
| unused_deduction        | year                 | deduction left for preferential    | taxes |
| deduction_beyond_income | year                 | deduction beyond all income        | taxes |
| ordinary_segment        | year, segment        | ordinary taxable income by bracket | taxes |
| preferential_band       | year, band           | preferential income by band        | taxes |
| stack_segment           | year, level, segment | stack of taxable income by segment | stacking |
| nil_rate                | year, schedule       | preferential income at a nil rate  | stacking |
| deduction_offset        | year, schedule       | left-over deduction on a schedule  | stacking |
| regular_segment         | year, segment        | taxable income at ordinary rates   | taxes |
| income_tax              | year                 | lesser of stacked and regular tax  | taxes |
| credit                  | year                 | nonrefundable credits used         | taxes |
| provisional_piece       | year, piece          | provisional income by piece        | taxes |
| phaseout                | year, deduction      | deduction lost to its phase-out    | taxes |
| surtax_excess           | surtax, year         | MAGI above the surtax threshold    | taxes |
| surtax                  | surtax, year         | surtax owed (NIIT)                 | taxes |
| state_tax               | year                 | state income tax                 | state_taxes |
| state_segment           | year, segment        | state taxable income by bracket  | state_taxes |
| state_subtraction       | year, subtraction    | capped state subtraction         | state_taxes |
| state_surtax_excess     | year, surtax         | state taxable income over surtax | state_taxes |
| state_credit            | year                 | state credits used               | state_taxes |
| state_relief            | year, cap            | tax taken off by a tax cap       | state_taxes |
| state_local_segment     | year, segment        | local taxable income by bracket  | state_taxes |
| state_take              | year, subtraction, kind | a subtraction's part of a kind | state_taxes |
| state_recapture         | year                 | recaptured bracket benefit (NY)  | state_taxes |
| ramp                    | year, ramp           | lost to a clawback/phase-out/step  | layered |
| limited_credit          | year, credit         | credit amount limited to an income | layered |
| level_segment           | year, level, segment | a level's taxable income by bracket | layered |
| level_credit            | year, level          | a level's personal credits used    | layered |
| level_after_credits     | year, level          | a level's tax after its credits    | layered |
| level_surtax            | year, level, surtax  | a level's surtax over one threshold | layered |
| level_net               | year, level          | a level's tax after income credits | layered |
| premium                 | year                 | Medicare IRMAA premiums paid       | medicare |
| marketplace_premium     | year                 | marketplace premium net of credit | marketplace |
| aca_income              | year, region         | household income in one region    | marketplace |
| aca_region_premium      | year, region         | net premium of one region         | marketplace |

Constraint families (rows; each row's equation is in the docstring of the function that
adds it, and the module's docstring lists its families):

| family                                        | dims                | module        |
|-----------------------------------------------|---------------------|---------------|
| balance, cash                                 | year, account       | holdings      |
| holding                                       | year, account, tier | holdings      |
| lot_capacity                                  | lot                 | holdings      |
| limit                                         | year, person, limit | contributions |
| compensation                                  | year, person        | contributions |
| fixed_contribution                            | year, account       | contributions |
| rmd, rmd_surplus                              | year, account       | withdrawals   |
| cash_flow, spending_floor, policy,            | year                | withdrawals   |
| policy_spending                               |                     |               |
| roth_ordering                                 | year, owner         | roth          |
| tax_free_share                                | year, account       | tax_free      |
| tax_free_lifetime                             | year, owner, kind   | tax_free      |
| gain, gain_floor, gain_is_realized,           | year                | taxes         |
| gain_is_zero, included_gain                   |                     |               |
| provisional, ss_order0, ss_order1a,           | year                | taxes         |
| ss_order1b, ss_order1c, ss_order2a,           |                     |               |
| ss_order2b, ss_order2c, ss_chain              |                     |               |
| phaseout_a, phaseout_b, phaseout_c            | year, deduction     | taxes         |
| preferential_nonneg, unused_only_if_needed,   | year                | taxes         |
| unused_ordinary_zero, ordinary_fill,          |                     |               |
| preferential_fill, regular_fill,              |                     |               |
| income_tax_stacked, income_tax_regular,       |                     |               |
| ordinary_cap_a, ordinary_cap_b, credit_cap,   |                     |               |
| tax_total                                     |                     |               |
| stack, stack_order_a, stack_order_b           | year, threshold     | taxes         |
| stack_fill                                    | year, level         | stacking      |
| stack_layer                                   | year, level, segment| stacking      |
| stack_below, stack_above                      | year, level, threshold | stacking   |
| nil_rate_cap, nil_rate_step, nil_rate_start,  | year, schedule      | stacking      |
| offset_nonneg, offset_order_a, offset_order_b |                     |               |
| nil_rate_above, nil_rate_below                | year, schedule, step| stacking      |
| offset_split                                  | year                | stacking      |
| surtax_excess, surtax_on_excess,              | surtax, year        | taxes         |
| surtax_on_nii, surtax_nii_lesser_a,           |                     |               |
| surtax_nii_lesser_b                           |                     |               |
| ramp_a, ramp_b, ramp_c                        | year, ramp          | layered       |
| limited_amount, limited_income                | year, credit        | layered       |
| credit_value                                  | year                | layered       |
| level_fill, level_credit_value,               | year, level         | layered       |
| level_after_credits, level_net                |                     |               |
| level_surtax                                  | year, level, surtax | layered       |
| state_taxable, state_credit_cap,              | year                | state_taxes   |
| state_credit_allowed, state_tax_total,        |                     |               |
| state_local_taxable                           |                     |               |
| state_take_limit                              | year, kind          | state_taxes   |
| state_subtraction_tier,                       | year, name, tier    | state_taxes   |
| state_subtraction_tier_cap                    |                     |               |
| state_interval_below, state_interval_above    | year, name, piece   | state_taxes   |
| state_interval_one, state_subtraction_cliff   | year, name          | state_taxes   |
| state_recapture_piece, state_recapture_floor  | year, piece         | state_taxes   |
| state_subtraction_share, state_surtax,        | year, name          | state_taxes   |
| state_allowance_below, state_allowance_above, |                     |               |
| state_cap_low, state_cap_high,                |                     |               |
| state_cap_binds, state_cap_idle,              |                     |               |
| state_cap_order, state_cap_room               |                     |               |
| irmaa_premium                                 | year                | medicare      |
| irmaa_below, irmaa_above                      | year, tier          | medicare      |
| aca_order                                     | year, edge          | marketplace   |
| aca_split, aca_premium                        | year                | marketplace   |
| aca_income_low, aca_income_high, aca_full     | year, region        | marketplace   |
| aca_line                                      | year, region, chord | marketplace   |
| mix_upper, mix_lower                          | year, tier          | mix           |
| reserve_min, reserve_max                      | year                | mix           |
| bequest_floor                                 | ()                  | objective     |

Expression families: opening[year, account, tier] (holdings); other_income, magi,
taxable_ss, deduction, ordinary_taxable, ordinary_tax, preferential_tax, regular_tax,
niit, nii [year] (taxes); taxable_income [year] (state_taxes, set by taxes);
aca_magi [year] (marketplace); estate_real[()] (objective).

Where the duals work finds its rooms (`ctx.row(family, key)` gives the LP row):
traditional and Roth contribution room `limit[year, person, limit]` and
`compensation[year, person]`; Roth withdrawal room `roth_ordering[year, owner]`; Roth
conversion room has no row of its own (a `convert` column: its reduced cost); bracket room
the upper bounds of `ordinary_segment[year, segment]` (reduced costs) with
`ordinary_fill[year]` and `stack[year, threshold]`; spending `cash_flow[year]`,
`policy[year]` and `spending_floor[year]`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable, Iterator, Mapping
from typing import Any, Generic, TypeVar

import pandas as pd
import pulp

Key = Hashable
Item = TypeVar("Item")

_FIELD = re.compile(r"\{(\w+)\}")
_UNSAFE = re.compile(r"[^0-9A-Za-z_]")


def safe_name(name: str) -> str:
    """PuLP/LP-file safe names: letters, digits and underscores."""
    return _UNSAFE.sub("_", name)


class FamilyError(KeyError):
    """A family declared twice, an unknown family, or a key of the wrong shape."""

    def __str__(self) -> str:  # KeyError quotes its message; this one reads as a sentence
        return str(self.args[0])


class Family(Generic[Item]):
    """Items of one named family keyed by its dimensions (a plain value for one dimension).

    `name_format` names an item's LP column or row: `{dim}` fields in any order, each dim
    exactly once (default: the family name then the dims, joined by underscores).
    """

    kind = "family"

    def __init__(self, name: str, dims: tuple[str, ...], name_format: str | None = None):
        self.name = name
        self.dims = tuple(dims)
        fmt = name_format or "_".join([name, *(f"{{{d}}}" for d in self.dims)])
        fields = _FIELD.findall(fmt)
        if sorted(fields) != sorted(self.dims):
            raise ValueError(f"{self.kind} family {name}: name format {fmt!r} must use {dims}")
        # Positional fields by key order, so naming is one str.format call per item.
        self._format = _FIELD.sub(lambda m: "{" + str(self.dims.index(m.group(1))) + "}", fmt)
        self.items: dict[Key, Item] = {}

    def label(self, key: Key) -> str:
        """The LP name of the item at `key`."""
        parts = key if isinstance(key, tuple) else (key,)
        if len(parts) != len(self.dims):
            raise FamilyError(
                f"{self.kind} family {self.name}{list(self.dims)}: key {key!r} has "
                f"{len(parts)} parts, not {len(self.dims)}"
            )
        return safe_name(self._format.format(*parts))

    def _store(self, key: Key, item: Item) -> Item:
        if key in self.items:
            raise FamilyError(f"{self.kind} family {self.name}: {key!r} is defined twice")
        self.items[key] = item
        return item

    def __getitem__(self, key: Key) -> Item:
        try:
            return self.items[key]
        except KeyError:
            raise FamilyError(
                f"{self.kind} family {self.name}{list(self.dims)} has no item {key!r}"
            ) from None

    def get(self, key: Key, default: Any = None) -> Any:
        return self.items.get(key, default)

    def __contains__(self, key: Key) -> bool:
        return key in self.items

    def __iter__(self) -> Iterator[Key]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def keys(self):
        return self.items.keys()

    def values(self):
        return self.items.values()

    def at(self, **where: Hashable) -> dict[Key, Item]:
        """The items whose key has the given value in each named dimension.

        `withdraw.at(year=2031)` -> {(2031, "ira"): var, ...}."""
        positions = [(self.dims.index(d), v) for d, v in where.items()]
        if len(self.dims) == 1:
            return {k: i for k, i in self.items.items() if all(k == v for _, v in positions)}
        return {k: i for k, i in self.items.items() if all(k[p] == v for p, v in positions)}

    def index(self) -> pd.Index:
        """The family's keys as a pandas index named by its dimensions."""
        keys = list(self.items)
        if len(self.dims) == 1:
            return pd.Index(keys, name=self.dims[0])
        if not self.dims:
            return pd.Index(keys, name="key")
        return pd.MultiIndex.from_tuples(keys, names=list(self.dims))


class VariableFamily(Family[pulp.LpVariable]):
    """LP columns: `add(key, low, high)` creates one, `series(solution)` reads them all."""

    kind = "variable"

    def add(self, key: Key, low: float | None = 0.0, high: float | None = None):
        return self._store(key, pulp.LpVariable(self.label(key), lowBound=low, upBound=high))

    def read(self, solution: Mapping[str, float]) -> dict[Key, float]:
        """{key: value} from {variable name: value} (plain data for the ledger)."""
        return {key: solution.get(var.name, 0.0) for key, var in self.items.items()}

    def series(self, solution: Mapping[str, float]) -> pd.Series:
        """Values by key (a Series indexed by the dims) from {variable name: value}."""
        values = [solution.get(var.name, 0.0) for var in self.items.values()]
        return pd.Series(values, index=self.index(), name=self.name, dtype=float)


class ExpressionFamily(Family[pulp.LpAffineExpression]):
    """Named affine expressions components share (no LP column of their own)."""

    kind = "expression"

    def set(self, key: Key, expr: pulp.LpAffineExpression) -> pulp.LpAffineExpression:
        return self._store(key, expr)

    def series(self, solution: Mapping[str, float]) -> pd.Series:
        values = [
            expr.constant + sum(c * solution.get(v.name, 0.0) for v, c in expr.items())
            for expr in self.items.values()
        ]
        return pd.Series(values, index=self.index(), name=self.name, dtype=float)


class ConstraintFamily(Family[str]):
    """LP rows: each key maps to its row's name in the problem (`ModelContext.row` gives
    the row itself: its dual value, slack, ...)."""

    kind = "constraint"

    def add(self, key: Key) -> str:
        """Register the row at `key`; returns its LP name."""
        return self._store(key, self.label(key))


FamilyT = TypeVar("FamilyT", bound=Family)


class Registry(Generic[FamilyT]):
    """Families of one kind by name: declared once, looked up with a clear error."""

    def __init__(self, kind: str, make: Callable[..., FamilyT]):
        self.kind = kind
        self._make = make
        self._families: dict[str, FamilyT] = {}

    def declare(self, name: str, dims: tuple[str, ...] = (), name_format: str | None = None):
        if name in self._families:
            raise FamilyError(f"{self.kind} family {name} is declared twice")
        family = self._make(name, dims, name_format)
        self._families[name] = family
        return family

    def __getitem__(self, name: str) -> FamilyT:
        try:
            return self._families[name]
        except KeyError:
            known = ", ".join(sorted(self._families)) or "none"
            raise FamilyError(f"no {self.kind} family {name!r}; known: {known}") from None

    def __contains__(self, name: str) -> bool:
        return name in self._families

    def __iter__(self) -> Iterator[str]:
        return iter(self._families)

    def series(self, name: str, solution: Mapping[str, float]) -> pd.Series:
        return self[name].series(solution)
