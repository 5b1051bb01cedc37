"""taxopt.batching: many households under one or more rule sets, locally or on a Dask cluster.

    table = taxopt.batch("clients.csv", rules=["us-federal-2026"], template="template.toml",
                         out="results/")

One row per household x rule set (taxopt.batching.work lists the columns); a household that
cannot run is a failed row with its message; a re-run with the same `out` skips what is done.
Modules: paths (column paths into the template), households (reading the inputs), work (the
unit of work), engines (process pool, Dask), store (keys, journal, tables), progress,
summary (the summary workbook), run (the orchestration).
"""

from taxopt.batching.households import Household, read_households
from taxopt.batching.run import batch, results_table

__all__ = ["Household", "batch", "read_households", "results_table"]
