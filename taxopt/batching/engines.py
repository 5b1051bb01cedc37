"""Engines that run units of work: in this process, a local process pool, or a Dask cluster.

Every engine calls the same `run_unit` on the same plain units, so the rows are the same
whichever ran them. The rule sets go to each worker once (a pool initializer; a Dask
broadcast), the units one by one. Rows come back as they finish, in any order.

Dask: `dask_target` is a scheduler address (`tcp://host:8786`) or `local:N` for a
LocalCluster of N single-threaded worker processes on this machine. Workers of a remote
cluster need taxopt installed (the same version) and, since the model is single-threaded,
one thread each (`dask worker ADDRESS --nthreads 1 --nworkers N`).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager

from taxopt.batching.work import run_unit
from taxopt.errors import InputError
from taxopt.rules import RuleSet

DASK_HINT = "pip install 'taxopt[dask]'"

_WORKER_RULES: dict[str, RuleSet] = {}


def run_units(
    units: list[dict],
    rule_sets: dict[str, RuleSet],
    workers: int | None = None,
    dask_target: str | None = None,
) -> Iterator[dict]:
    """Each unit's outcome ({'row', 'artifacts'}) as it finishes."""
    if not units:
        return iter(())
    if dask_target:
        return _run_dask(units, rule_sets, dask_target)
    count = min(workers or os.cpu_count() or 1, len(units))
    if count == 1:
        return (run_unit(unit, rule_sets) for unit in units)
    return _run_pool(units, rule_sets, count)


def worker_count(workers: int | None, dask_target: str | None) -> str:
    """How the run is spread, for the progress line."""
    if dask_target:
        return f"dask {dask_target}"
    return f"{workers or os.cpu_count() or 1} processes"


# ---------------------------------------------------------------------------------------
# Local process pool


def _init_worker(rule_sets: dict[str, RuleSet]) -> None:
    _WORKER_RULES.clear()
    _WORKER_RULES.update(rule_sets)


def _run_in_worker(unit: dict) -> dict:
    return run_unit(unit, _WORKER_RULES)


def _run_pool(units: list[dict], rule_sets: dict[str, RuleSet], count: int) -> Iterator[dict]:
    pool = ProcessPoolExecutor(max_workers=count, initializer=_init_worker, initargs=(rule_sets,))
    pending = {pool.submit(_run_in_worker, unit): unit for unit in units}
    try:
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                unit = pending.pop(future)
                try:
                    yield future.result()
                except BrokenProcessPool:
                    yield crashed(unit, "a worker process died (out of memory?); run again")
    finally:
        # Interrupted (Ctrl-C, or the caller stopped reading): drop the queue, keep nothing
        # waiting; rows already yielded are in the journal.
        pool.shutdown(wait=not pending, cancel_futures=True)


def crashed(unit: dict, reason: str) -> dict:
    """The row of a unit whose worker was lost: redone on the next run."""
    row = {
        "household": unit["household"],
        "rules": unit["rules"],
        "key": unit["key"],
        "status": "crashed",
        "solve_status": "",
        "error": f"{unit['source']}: {reason}",
        "seconds": float("nan"),
    }
    return {"row": row, "artifacts": {}}


# ---------------------------------------------------------------------------------------
# Dask


_ONE_AT_A_TIME = threading.Lock()


def _run_dask_unit(unit: dict, rule_sets: dict[str, RuleSet]) -> dict:
    # A worker started with several threads still solves one household at a time: model
    # building holds the GIL anyway, and PuLP makes no promise about threads.
    with _ONE_AT_A_TIME:
        return run_unit(unit, rule_sets)


@contextmanager
def dask_client(target: str):
    """A dask.distributed Client for an address or `local:N` (a LocalCluster it closes)."""
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        raise InputError(f"--dask needs dask.distributed; {DASK_HINT}") from None
    if target.startswith("local:"):
        count = target.removeprefix("local:")
        if not count.isdigit() or int(count) < 1:
            raise InputError(f"--dask {target}: give local:N with N workers, e.g. local:4")
        cluster = LocalCluster(
            n_workers=int(count),
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
        )
        try:
            with Client(cluster) as client:
                yield client
        finally:
            cluster.close()
        return
    try:
        client = Client(target, timeout="20s")
    except (OSError, TimeoutError, ValueError) as exc:
        raise InputError(
            f"--dask {target}: cannot reach the scheduler ({exc}); give its address "
            "(tcp://host:8786) or local:N"
        ) from None
    with client:
        yield client


def _run_dask(units: list[dict], rule_sets: dict[str, RuleSet], target: str) -> Iterator[dict]:
    with dask_client(target) as client:  # first: it says how to install dask if missing
        from dask.distributed import as_completed

        [shared_rules] = client.scatter([rule_sets], broadcast=True)
        futures = {
            client.submit(
                _run_dask_unit, unit, shared_rules, key=f"taxopt-{unit['key']}", pure=False
            ): unit
            for unit in units
        }
        try:
            for future in as_completed(futures):
                unit = futures[future]
                try:
                    yield future.result()
                except Exception as exc:  # a lost worker (KilledWorker) or a broken cluster
                    yield crashed(
                        unit, f"the Dask worker was lost ({type(exc).__name__}); run again"
                    )
                future.release()
        finally:
            client.cancel(list(futures))


__all__ = ["crashed", "dask_client", "run_units", "worker_count"]
