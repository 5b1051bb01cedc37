"""Classify how the taxopt on the path handles the bad-input corpus of tests/test_bad_inputs.py.

    python benchmarks/bad_inputs_report.py            # this checkout
    PYTHONPATH=/path/to/other/checkout python benchmarks/bad_inputs_report.py

Each case runs in a fresh temporary folder, as in the test. Outcomes:
  refused   exit 2 or 3, no traceback, no file changed or added (the test also wants its
            own message fragment: "refused+msg" counts those)
  accepted  exit 0 (the nonsense went through)
  traceback an exception other than a clean exit
  clobbered refused or not, an earlier output changed or a file appeared
Prints one line per case that is not "refused+msg", then the totals.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

import test_bad_inputs as corpus  # noqa: E402

import taxopt  # noqa: E402
from taxopt.cli import main  # noqa: E402


def run_case(case: corpus.Case) -> str:
    with tempfile.TemporaryDirectory() as folder:
        workspace = corpus.make_workspace(Path(folder))
        os.chdir(workspace)
        if case.not_root and os.geteuid() == 0:
            return "skipped"
        if case.setup is not None:
            case.setup(workspace)
        before = corpus._snapshot(workspace)
        err = io.StringIO()
        try:
            with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
                try:
                    code = main(list(case.argv))
                except SystemExit as exc:
                    code = exc.code if isinstance(exc.code, int) else 2
        except Exception:  # noqa: BLE001 - the point is to count them
            code = None
        finally:
            os.chdir(ROOT)
        if corpus._snapshot(workspace) != before:
            return "clobbered"
        if code is None:
            return "traceback"
        if code == 0:
            return "accepted"
        if "Traceback" in err.getvalue():
            return "traceback"
        return "refused+msg" if case.expect in err.getvalue() else "refused"


def main_report() -> None:
    print(f"taxopt from {Path(taxopt.__file__).parent}")
    totals: Counter[str] = Counter()
    for case in corpus.CASES:
        outcome = run_case(case)
        totals[outcome] += 1
        if outcome != "refused+msg":
            print(f"  {outcome:<11} {case.id}")
    clean = totals["refused"] + totals["refused+msg"]
    others = ", ".join(
        f"{totals[k]} {k}" for k in ("accepted", "traceback", "clobbered", "skipped")
    )
    print(
        f"{len(corpus.CASES)} cases: {clean} refused cleanly ({totals['refused+msg']} with "
        f"the expected message), {others}"
    )


if __name__ == "__main__":
    main_report()
