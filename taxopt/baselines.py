"""The value of the plan: simple rules of thumb, walked by taxopt.policy, replayed by the ledger.

Three baselines, each with conventional contributions and withdrawals (see taxopt.policy)
and no Roth conversions; they differ in where money lives:

- guide_rule_of_thumb: the investing guide's placement. The whole portfolio holds the
  optimized plan's own mix each year (so the comparison measures location and withdrawals,
  not the tilt the profile's tolerance allows the optimizer); within it the
  aggressive tier (highest expected return) goes to exempt accounts, the conservative tier
  (lowest expected return of the profile's index tiers) to tax-deferred accounts, and the
  rest to taxable. Taxable accounts are buy-and-hold, so new money there buys "the rest";
  sheltered accounts fill what the taxable holdings leave of each tier's target, exempt
  accounts preferring higher returns, deferred accounts lower ones.
- same_mix_everywhere: every sheltered account holds that same mix; taxable purchases
  move the taxable account toward it (no sales to rebalance).
- conventional_withdrawals: the optimized plan's location as a preference (its tier order
  in each sheltered account, its taxable purchase mix) holding the optimized mix, with
  conventional withdrawals.

Spending: for max_spending plans the highest constant real level (a secant search, see
policy._highest_level); otherwise the plan's withdrawal policy. Figures are the ledger's,
computed by `plan_figures`. When a rule of thumb does better than the optimized plan,
`optimize.hold_against_baselines` searches again from its decisions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd

from taxopt.decisions import Decisions
from taxopt.ledger import Ledger, replay
from taxopt.plan import Plan
from taxopt.policy import Dollars, PolicyEngine, PolicyRun
from taxopt.result import PlanFigures, plan_figures
from taxopt.rules import Growth, RuleSet

if TYPE_CHECKING:
    from taxopt.result import Result

EMPTY_PORTFOLIO = 1.0  # dollars
BASELINE_NAMES = ("guide_rule_of_thumb", "same_mix_everywhere", "conventional_withdrawals")


def target_mix(plan: Plan, year: int) -> dict[str, float]:
    """Whole-portfolio weight of every tier in `year` (sums to 1).

    Index tiers follow the profile and its glide path (Plan.index_weights)
    scaled to leave the reserve at the middle of its band; tiers the profile does not name
    get no weight.
    """
    profile = plan.profile
    reserve = 0.0
    if profile.reserve_tier is not None:
        reserve = 0.5 * (profile.reserve_min + profile.reserve_max)
    weights = plan.index_weights(year)
    mix = dict.fromkeys(plan.tier_names, 0.0)
    for tier, weight in weights.items():
        mix[tier] = weight * (1.0 - reserve)
    if profile.reserve_tier is not None:
        mix[profile.reserve_tier] = reserve
    return mix


MixPath = Callable[[int], dict[str, float]]


def optimized_mix(plan: Plan, rules: RuleSet, ledger: Ledger) -> MixPath:
    """The optimized plan's own whole-portfolio mix each year (post-trade, measured as the
    profile says), so baselines differ from it only in location and withdrawals: their gap
    is then tax, not the tilt the profile's tolerance allows. Years with no money fall back
    to the profile's target."""
    shares = _portfolio_shares(plan, rules, ledger)

    def mix(year: int) -> dict[str, float]:
        return shares.get(year) or target_mix(plan, year)

    return mix


def _portfolio_shares(plan: Plan, rules: RuleSet, ledger: Ledger) -> dict[int, dict[str, float]]:
    profile = plan.profile
    deferred = {
        a.name for a in plan.accounts if rules.account_kinds[a.kind].growth == Growth.DEFERRED
    }
    holdings = ledger.holdings.copy()
    if profile.mix_measure == "tax_adjusted":
        scale = holdings["account"].map(
            lambda a: 1.0 - profile.assumed_tax_rate if a in deferred else 1.0
        )
        holdings["post_trade"] = holdings["post_trade"] * scale
    by_tier = holdings.pivot_table(index="year", columns="tier", values="post_trade", aggfunc="sum")
    out = {}
    for year, row in by_tier.iterrows():
        total = row.sum()
        if total > EMPTY_PORTFOLIO:
            out[int(year)] = {t: row.get(t, 0.0) / total for t in plan.tier_names}
    return out


def _spread(cash: float, wanted: dict[str, float]) -> dict[str, float]:
    """Split `cash` across tiers pro rata to `wanted` (nothing if nothing is wanted)."""
    total = sum(w for w in wanted.values() if w > 0)
    if cash <= 0 or total <= 0:
        return {}
    return {t: cash * w / total for t, w in wanted.items() if w > 0}


def _fill(cash: float, need: dict[str, float], order: list[str]) -> dict[str, float]:
    """Fill tiers' remaining `need` in `order` with up to `cash`; `need` is reduced."""
    out: dict[str, float] = {}
    for tier in order:
        if cash <= 0:
            break
        take = min(cash, max(0.0, need.get(tier, 0.0)))
        if take > 0:
            out[tier] = out.get(tier, 0.0) + take
            need[tier] -= take
            cash -= take
    return out


def _pour(cash: float, need: dict[str, float], tiers: list[str]) -> tuple[dict, float]:
    """Cover `tiers`' needs pro rata with up to `cash`: (purchases, cash left); `need` shrinks."""
    total = sum(max(0.0, need[t]) for t in tiers)
    if cash <= 0 or total <= 0:
        return {}, cash
    fraction = min(1.0, cash / total)
    out = {t: need[t] * fraction for t in tiers if need[t] > 0}
    for t, v in out.items():
        need[t] -= v
    return out, max(0.0, cash - total)


def _buy_toward(mix: dict[str, float], held: dict[str, float], cash: float) -> dict[str, float]:
    """Purchases that move a taxable account toward `mix` without selling."""
    total = sum(held.values()) + cash
    need = {t: max(0.0, total * mix[t] - held.get(t, 0.0)) for t in mix}
    return _spread(cash, need) or _spread(cash, mix)


class SameMixPlacement:
    """Every account holds the profile mix (taxable: by its purchases)."""

    def __init__(self, plan: Plan, mix: MixPath | None = None):
        self.plan = plan
        self.mix = mix or (lambda year: target_mix(plan, year))

    def place(
        self,
        year: int,
        sheltered: dict[str, float],
        taxable_held: Dollars,
        taxable_cash: dict[str, float],
    ) -> tuple[Dollars, Dollars]:
        mix = self.mix(year)
        allocation = {a: {t: total * w for t, w in mix.items()} for a, total in sheltered.items()}
        buys = {
            a: _buy_toward(mix, taxable_held[a], cash)
            for a, cash in taxable_cash.items()
            if cash > 0
        }
        return allocation, buys


class GuidePlacement:
    """The guide's rule of thumb, as far as the whole-portfolio mix allows (module doc)."""

    def __init__(self, plan: Plan, rules: RuleSet, mix: MixPath | None = None):
        self.plan = plan
        self.mix = mix or (lambda year: target_mix(plan, year))
        kinds = {a.name: rules.account_kinds[a.kind].growth for a in plan.accounts}
        self.exempt = [a for a, g in kinds.items() if g == Growth.EXEMPT]
        self.deferred = [a for a, g in kinds.items() if g == Growth.DEFERRED]
        profile = plan.profile
        tier_return = {t.name: t.expected_return for t in plan.tiers}
        index = sorted(profile.weights, key=lambda t: tier_return[t])
        self.conservative, self.aggressive = index[0], index[-1]
        by_return = sorted(plan.tier_names, key=lambda t: tier_return[t])
        self.exempt_order = [self.aggressive] + [
            t for t in reversed(by_return) if t != self.aggressive
        ]
        self.deferred_order = [self.conservative] + [t for t in by_return if t != self.conservative]
        self.rest = [t for t in plan.tier_names if t not in (self.aggressive, self.conservative)]
        # tax_adjusted mix: a deferred dollar counts as (1 - assumed rate) of a dollar.
        adjusted = profile.mix_measure == "tax_adjusted"
        self.scale = {
            a: 1.0 - profile.assumed_tax_rate if adjusted and a in self.deferred else 1.0
            for a in kinds
        }

    def place(
        self,
        year: int,
        sheltered: dict[str, float],
        taxable_held: Dollars,
        taxable_cash: dict[str, float],
    ) -> tuple[Dollars, Dollars]:
        mix = self.mix(year)
        held = {t: sum(h.get(t, 0.0) for h in taxable_held.values()) for t in mix}
        exempt_room = sum(sheltered[a] for a in self.exempt)
        deferred_room = sum(sheltered[a] * self.scale[a] for a in self.deferred)
        portfolio = exempt_room + deferred_room + sum(held.values()) + sum(taxable_cash.values())
        need = {t: max(0.0, portfolio * mix[t] - held[t]) for t in mix}
        exempt_fill = _fill(exempt_room, need, [self.aggressive])
        deferred_fill = _fill(deferred_room, need, [self.conservative])
        buys: Dollars = {}
        for a, cash in taxable_cash.items():
            if cash <= 0:
                continue
            first, left = _pour(cash, need, self.rest)
            then, left = _pour(left, need, list(mix))
            last = _spread(left, mix)
            buy = {t: first.get(t, 0.0) + then.get(t, 0.0) + last.get(t, 0.0) for t in mix}
            buys[a] = {t: v for t, v in buy.items() if v > 0}
        for fill, room, order in (
            (exempt_fill, exempt_room, self.exempt_order),
            (deferred_fill, deferred_room, self.deferred_order),
        ):
            for t, v in _fill(room - sum(fill.values()), need, order).items():
                fill[t] = fill.get(t, 0.0) + v
        allocation = {}
        for group, fill in ((self.exempt, exempt_fill), (self.deferred, deferred_fill)):
            shares = _shares(fill) or mix
            for a in group:
                allocation[a] = {t: sheltered[a] * shares.get(t, 0.0) for t in mix}
        return allocation, buys


class FollowPlacement:
    """The optimized plan's location: its sheltered shares and taxable purchase mix."""

    def __init__(self, plan: Plan, decisions: Decisions, ledger: Ledger):
        self.plan = plan
        self.shares: dict[tuple[str, int], dict[str, float]] = {}
        totals: dict[tuple[str, int], dict[str, float]] = {}
        for (a, t, year), dollars in decisions.allocation.items():
            totals.setdefault((a, year), {})[t] = dollars
        for key, split in totals.items():
            if shares := _shares(split):
                self.shares[key] = shares
        self.buy_shares: dict[tuple[str, int], dict[str, float]] = {}
        bought: dict[tuple[str, int], dict[str, float]] = {}
        for (a, t, year), dollars in decisions.buys.items():
            bought.setdefault((a, year), {})[t] = dollars
        held: dict[tuple[str, int], dict[str, float]] = {}
        for row in ledger.holdings.itertuples():
            held.setdefault((row.account, row.year), {})[row.tier] = row.post_trade
        for key in set(bought) | set(held):
            if shares := _shares(bought.get(key, {})) or _shares(held.get(key, {})):
                self.buy_shares[key] = shares

    def _nearest(self, table: dict, account: str, year: int) -> dict[str, float]:
        """Shares of the nearest year the optimized account held money; else the mix."""
        years = sorted((y for (a, y) in table if a == account), key=lambda y: (abs(y - year), y))
        return table[account, years[0]] if years else target_mix(self.plan, year)

    def place(
        self,
        year: int,
        sheltered: dict[str, float],
        taxable_held: Dollars,
        taxable_cash: dict[str, float],
    ) -> tuple[Dollars, Dollars]:
        allocation = {}
        for a, total in sheltered.items():
            shares = self.shares.get((a, year)) or self._nearest(self.shares, a, year)
            allocation[a] = {t: total * s for t, s in shares.items()}
        buys = {}
        for a, cash in taxable_cash.items():
            if cash > 0:
                shares = self.buy_shares.get((a, year)) or self._nearest(self.buy_shares, a, year)
                buys[a] = {t: cash * s for t, s in shares.items() if s > 0}
        return allocation, buys


class FollowMixPlacement(FollowPlacement):
    """The optimized plan's location as a preference, holding the optimized mix.

    Taxable purchases follow the optimized purchase mix; each sheltered account (exempt ones
    first) fills what the whole-portfolio mix still needs, tiers in the order of the
    optimized plan's shares in that account that year. So the baseline keeps the plan's mix
    and differs in its withdrawals (and in location only where its balances force it).
    """

    def __init__(
        self, plan: Plan, rules: RuleSet, decisions: Decisions, ledger: Ledger, mix: MixPath
    ):
        super().__init__(plan, decisions, ledger)
        self.mix = mix
        growth = {a.name: rules.account_kinds[a.kind].growth for a in plan.accounts}
        adjusted = plan.profile.mix_measure == "tax_adjusted"
        self.scale = {
            a: 1.0 - plan.profile.assumed_tax_rate if adjusted and g == Growth.DEFERRED else 1.0
            for a, g in growth.items()
        }
        self.order = {a: (g != Growth.EXEMPT) for a, g in growth.items()}

    def place(
        self,
        year: int,
        sheltered: dict[str, float],
        taxable_held: Dollars,
        taxable_cash: dict[str, float],
    ) -> tuple[Dollars, Dollars]:
        _, buys = super().place(year, sheltered, taxable_held, taxable_cash)
        mix = self.mix(year)
        held = {t: sum(h.get(t, 0.0) for h in taxable_held.values()) for t in mix}
        for bought in buys.values():
            for t, v in bought.items():
                held[t] = held.get(t, 0.0) + v
        rooms = {a: total * self.scale[a] for a, total in sheltered.items()}
        portfolio = sum(rooms.values()) + sum(held.values())
        need = {t: max(0.0, portfolio * w - held.get(t, 0.0)) for t, w in mix.items()}
        allocation = {}
        for a in sorted(sheltered, key=lambda name: self.order[name]):
            prefer = self.shares.get((a, year)) or self._nearest(self.shares, a, year)
            order = sorted(mix, key=lambda t: -prefer.get(t, 0.0))
            fill = _fill(rooms[a], need, order)
            left = rooms[a] - sum(fill.values())
            for t, v in _spread(left, mix).items():
                fill[t] = fill.get(t, 0.0) + v
            shares = _shares(fill) or mix
            allocation[a] = {t: sheltered[a] * shares.get(t, 0.0) for t in mix}
        return allocation, buys


def _shares(dollars: dict[str, float]) -> dict[str, float]:
    """Each tier's share of the total (empty if the total is not positive)."""
    positive = {t: v for t, v in dollars.items() if v > 0}
    total = sum(positive.values())
    return {t: v / total for t, v in positive.items()} if total > 0 else {}


@dataclass
class BaselineRun:
    """One baseline: the engine's walk, the ledger's replay and the ledger's figures."""

    name: str
    run: PolicyRun
    decisions: Decisions
    ledger: Ledger
    figures: PlanFigures


def baseline_engines(plan: Plan, rules: RuleSet, result: Result) -> dict[str, PolicyEngine]:
    mix = optimized_mix(plan, rules, result.ledger)
    return {
        "guide_rule_of_thumb": PolicyEngine(plan, rules, GuidePlacement(plan, rules, mix)),
        "same_mix_everywhere": PolicyEngine(plan, rules, SameMixPlacement(plan, mix)),
        "conventional_withdrawals": PolicyEngine(
            plan, rules, FollowMixPlacement(plan, rules, result.decisions, result.ledger, mix)
        ),
    }


def run_baselines(plan: Plan, rules: RuleSet, result: Result) -> dict[str, BaselineRun]:
    """Walk each baseline with the engine, then replay its decisions in the ledger."""
    out = {}
    for name, engine in baseline_engines(plan, rules, result).items():
        run = engine.run()
        decisions = run.decisions(name)
        ledger = replay(plan, rules, decisions)
        out[name] = BaselineRun(name, run, decisions, ledger, plan_figures(plan, ledger))
    return out


def evaluate_baselines(plan: Plan, rules: RuleSet, result: Result) -> dict[str, PlanFigures]:
    """Figures (today's dollars, from the ledger) of each baseline, by name."""
    return {name: b.figures for name, b in run_baselines(plan, rules, result).items()}


def mix_deviation(
    plan: Plan, rules: RuleSet, ledger: Ledger, mix: MixPath | None = None
) -> pd.Series:
    """Largest gap, each year, between a tier's share of the portfolio and `mix` (default:
    the profile's target).

    Shares are post-trade, measured as the profile says (tax-adjusted: deferred balances at
    1 - assumed rate); a fraction of the portfolio, comparable with profile.tolerance.
    A portfolio under EMPTY_PORTFOLIO dollars (a plan spent down to nothing) has no mix.
    """
    mix = mix or (lambda year: target_mix(plan, year))
    shares = _portfolio_shares(plan, rules, ledger)
    years = sorted(set(ledger.holdings["year"]))
    return pd.Series(
        {
            int(y): max(abs(shares[y].get(t, 0.0) - w) for t, w in mix(int(y)).items())
            if y in shares
            else 0.0
            for y in years
        },
        name="mix_deviation",
    )
