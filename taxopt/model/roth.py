"""Roth withdrawals stay within what the law lets out free of tax (IRC §408A(d)).

The ordering rules (§408A(d)(4), Treas. Reg. §1.408A-6 Q&A-8, IRS Pub. 590-B "Ordering
Rules for Distributions") take a non-qualified distribution from regular contributions
first, then conversions first in first out, then earnings; a conversion taken before
59 1/2 within its 5-taxable-year period bears the §72(t) additional tax (§408A(d)(3)(F)),
earnings are income (and bear that tax before 59 1/2). The model forbids what would cost
tax, so it needs no tax terms: a plan's Roth withdrawals are free of tax in the model
and, replayed by the ledger's ordering (taxopt.roth), in law.

For each owner o of Roth accounts (one pool, §408A(d)(4)(A)) and each year t that is not
qualified for o (`RuleSet.roth_withdrawal_phase`), with D[o,t] = cumulative withdrawals
from o's Roth accounts through t, B0[o] the regular-contribution basis at the start,
C[o,s] the regular contributions of year s and V[o,c] the conversions of year c (before
the plan: the plan's `roth_conversions`; in it: the `convert` variables):

    early years (before 59 1/2):   D[o,t] <= B0[o] + sum_{s<=t} C[o,s] + sum_{c: c+5<=t} V[o,c]
    unqualified years (59 1/2+):   D[o,t] <= B0[o] + sum_{s<=t} C[o,s] + sum_{c<=t} V[o,c]

Exact, not a relaxation: if every earlier year's draw was free, every dollar drawn so far
came from contributions or (seasoned) conversions, and the oldest conversions go first,
so the basis the ordering leaves free this year is the right-hand side minus D[o,t-1];
conversions seasoned before t stay seasoned, so the induction holds. Qualified years
follow all others (age and the clock only advance) and take anything. Conversions the
optimizer makes start their own 5-year period. The model does not take the taxed route
(earnings before qualification, a conversion in its period before 59 1/2): a plan that
would need it is infeasible rather than penalised.

The owner's clock (§408A(d)(2)(B): the 5-taxable-year period begins with the first year
a contribution or conversion is made to any Roth IRA of the owner) is the first-contribution
year from the plan (see taxopt.roth.opening_layers). For an owner with no Roth money and no
stated year it is the first year the plan itself puts money in, which an LP cannot know:
"earnings qualify in year t if anything went in by t - 5" is not convex. The model takes a
conservative form of it that the law always allows: in each year t (59 1/2 or older) the
earnings drawn may reach CLOCK_LEVERAGE times the contributions and conversions made in
years whose 5-year period has ended by t:

    D[o,t] <= sum_{s<=t} C[o,s] + sum_{c<=t} V[o,c]
              + CLOCK_LEVERAGE * (sum_{s: s+5<=t} C[o,s] + sum_{c: c+5<=t} V[o,c])

With nothing put in five years before, that is the unqualified row above (the law's
limit); with something put in, the law frees every dollar and the row frees
CLOCK_LEVERAGE dollars of earnings per dollar, so the model never draws Roth money the law
would tax (the ledger, which starts the clock when the money actually goes in, agrees to
the cent). A plan that wants more earnings than that puts in a dollar per CLOCK_LEVERAGE
earlier, which starts the clock in law too.
"""

from __future__ import annotations

from taxopt.model.context import ModelContext, lin
from taxopt.roth import opening_layers, roth_accounts
from taxopt.rules import RothPhase

# Dollars of Roth earnings a dollar put in five or more years earlier frees, for an owner
# whose clock the plan starts (see the module doc). Any amount starts the clock in law; a
# finite ratio keeps the row linear. 100: a plan drawing $50,000 of earnings needs $500 in.
CLOCK_LEVERAGE = 100.0


def add_roth_rules(ctx: ModelContext) -> None:
    """roth_ordering_{year}_{owner}: cumulative Roth withdrawals within the free basis."""
    rules = ctx.base_rules
    rule = rules.roth_distributions
    if rule is None:
        return
    accounts = roth_accounts(ctx.plan, rules)
    for owner, layers in opening_layers(ctx.plan, rules).items():
        names = set(accounts[owner])
        clock = layers.clock_start  # None: the plan's own first inflow starts it
        birth = ctx.plan.person(owner).birth_year
        withdrawn: dict = {}
        inflows: list[tuple[int, object]] = []  # (year, variable) of every contribution
        converted: list[tuple[int, object]] = []
        for year in ctx.years:
            for name in names:
                withdrawn[ctx.x["withdraw"][name, year]] = 1.0
                if (name, year) in ctx.x["contribute"]:
                    inflows.append((year, ctx.x["contribute"][name, year]))
            converted += [
                (year, var)
                for (_source, target, y), var in ctx.x["convert"].items()
                if y == year and target in names
            ]
            age = year - birth
            phase = rules.roth_withdrawal_phase(age, year, clock)
            if phase == RothPhase.QUALIFIED:
                continue

            def free(conversion_year: int, year=year, phase=phase) -> bool:
                return phase != RothPhase.EARLY or rule.conversion_seasoned(conversion_year, year)

            basis = {var: 1.0 for _y, var in inflows}
            basis.update({var: 1.0 for c, var in converted if free(c)})
            if clock is None:  # money put in by a year whose period has ended frees earnings
                for y, var in inflows + converted:
                    if rules.roth_withdrawal_phase(age, year, y) == RothPhase.QUALIFIED:
                        basis[var] = basis.get(var, 0.0) + CLOCK_LEVERAGE
            opening_basis = layers.regular + sum(
                c.taxable + c.nontaxable for c in layers.conversions if free(c.year)
            )
            terms = dict(withdrawn)
            for var, coef in basis.items():
                terms[var] = terms.get(var, 0.0) - coef
            ctx.constrain(f"roth_ordering_{year}_{owner}", lin(terms) <= opening_basis)
