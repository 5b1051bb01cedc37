"""taxopt: where each risk tier should live, how to contribute, how to withdraw with least tax.

plan = taxopt.load_plan("examples/couple-near-retirement.toml")
result = taxopt.optimize(plan, taxopt.load_rules("us-federal-2026"))
result.location, result.yearly, result.baselines_table, result.stress

Names load on first use (PEP 562), so `import taxopt` stays quick and pulls in the solver
(PuLP), pandas or the Excel library (openpyxl) only when a name that needs them is used.
"""

from __future__ import annotations

import importlib
import sys
import types

# public name -> module that defines it
_EXPORTS = {
    "batch": "taxopt.batching",
    "Comparison": "taxopt.compare",
    "compare": "taxopt.compare",
    "InfeasiblePlanError": "taxopt.errors",
    "InputError": "taxopt.errors",
    "SolverError": "taxopt.errors",
    "TaxoptError": "taxopt.errors",
    "optimize": "taxopt.optimize",
    "Plan": "taxopt.plan",
    "load_plan": "taxopt.plan",
    "Projection": "taxopt.project",
    "future_value": "taxopt.project",
    "project": "taxopt.project",
    "Result": "taxopt.result",
    "RuleSet": "taxopt.rules",
    "available_rule_sets": "taxopt.rules",
    "load_rules": "taxopt.rules",
    "Simulation": "taxopt.simulate",
    "simulate": "taxopt.simulate",
    "StressFigures": "taxopt.stress",
    "stress_test": "taxopt.stress",
    "TaxInput": "taxopt.tax",
    "TaxResult": "taxopt.tax",
    "compute_tax": "taxopt.tax",
}

__all__ = sorted(_EXPORTS)
__version__ = "0.1.0"


def __getattr__(name: str) -> object:
    module_name = _EXPORTS.get(name)
    if module_name is None:
        raise AttributeError(f"module 'taxopt' has no attribute '{name}'")
    value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})


class _Package(types.ModuleType):
    """Keeps `taxopt.optimize` (and compare, project, simulate) the function.

    Importing the submodule `taxopt.optimize` makes Python set the package attribute of the
    same name to the module; the eager imports this file used to do rebound it to the
    function afterwards. Here the rebinding happens as the attribute is set.
    """

    def __setattr__(self, name: str, value: object) -> None:
        if isinstance(value, types.ModuleType) and _EXPORTS.get(name) == value.__name__:
            value = getattr(value, name)
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
