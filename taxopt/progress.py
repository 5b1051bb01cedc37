"""Progress lines and a time limit for long runs (optimize, its rules of thumb, compare).

The CLI opens `watch(time_limit, show)` around a run; the search calls `step(message)`
after each stage (a line on stderr when shown, by default when stderr is a terminal) and
asks `seconds_left()` / `out_of_time()` before starting another. Outside `watch` these do
nothing: the Python API runs silently and without a limit unless asked.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass


@dataclass
class _Watch:
    started: float
    deadline: float | None  # time.perf_counter() value; None: no limit
    show: bool
    timed_out: bool = False


_current: ContextVar[_Watch | None] = ContextVar("taxopt_watch", default=None)


@contextmanager
def watch(time_limit: float | None = None, show: bool | None = None) -> Iterator[None]:
    """Report steps (default: when stderr is a terminal) and stop starting new search
    steps after `time_limit` seconds."""
    now = time.perf_counter()
    shown = sys.stderr.isatty() if show is None else show
    token = _current.set(_Watch(now, None if time_limit is None else now + time_limit, shown))
    try:
        yield
    finally:
        _current.reset(token)


def step(message: str) -> None:
    """One line on stderr, with the seconds since the run began, when progress is shown."""
    current = _current.get()
    if current is not None and current.show:
        elapsed = time.perf_counter() - current.started
        print(f"taxopt: [{elapsed:6.1f} s] {message}", file=sys.stderr, flush=True)


def seconds_left() -> float | None:
    """Seconds until the time limit (at least a small positive figure), None without one."""
    current = _current.get()
    if current is None or current.deadline is None:
        return None
    return max(0.01, current.deadline - time.perf_counter())


def out_of_time() -> bool:
    """Whether the time limit has passed (and remember it, for the result's warning)."""
    current = _current.get()
    if current is None or current.deadline is None:
        return False
    if time.perf_counter() >= current.deadline:
        current.timed_out = True
    return current.timed_out
