"""Classify how the taxopt on the path handles the bad-input corpus of tests/test_bad_inputs.py.

    python benchmarks/bad_inputs_report.py            # this checkout
    PYTHONPATH=/path/to/other/checkout python benchmarks/bad_inputs_report.py

Each case runs in its own process (with a time limit) in a fresh temporary folder, as in
the test. Outcomes:
  refused     exit 2 or 3, no traceback, no file changed or added ("refused+msg": with the
              message fragment the test expects)
  accepted    exit 0 (the nonsense went through)
  traceback   an exception other than a clean exit
  clobbered   an earlier output changed or a file appeared, whatever the exit
  hung        still running after the time limit
Prints one line per case that is not "refused+msg", then the totals.

Careful with old code: a case aimed at a device or /proc is only safe because the corpus
reaches devices through symlinks (an old taxopt replaced /dev/null itself when run as root).
"""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TIME_LIMIT = 180  # seconds per case
sys.path.insert(0, str(ROOT / "tests"))


def run_case(case_id: str) -> str:
    """Run one case in this process; return its outcome."""
    import test_bad_inputs as corpus

    from taxopt.cli import main

    case = next(c for c in corpus.CASES if c.id == case_id)
    with tempfile.TemporaryDirectory() as folder:
        workspace = corpus.make_workspace(Path(folder))
        if case.not_root and os.geteuid() == 0:
            return "skipped"
        os.chdir(workspace)
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
        if code is None or "Traceback" in err.getvalue():
            return "traceback"
        if code == 0:
            return "accepted"
        return "refused+msg" if case.expect in err.getvalue() else "refused"


def report() -> None:
    import test_bad_inputs as corpus

    import taxopt

    print(f"taxopt from {Path(taxopt.__file__).parent}", flush=True)
    totals: Counter[str] = Counter()
    for case in corpus.CASES:
        try:
            done = subprocess.run(
                [sys.executable, __file__, "--case", case.id],
                capture_output=True,
                text=True,
                timeout=TIME_LIMIT,
            )
            lines = done.stdout.strip().splitlines()
            outcome = lines[-1] if lines else "traceback"
        except subprocess.TimeoutExpired:
            outcome = "hung"
        totals[outcome] += 1
        if outcome != "refused+msg":
            print(f"  {outcome:<11} {case.id}", flush=True)
    clean = totals["refused"] + totals["refused+msg"]
    others = ", ".join(
        f"{totals[k]} {k}" for k in ("accepted", "traceback", "clobbered", "hung", "skipped")
    )
    print(
        f"{len(corpus.CASES)} cases: {clean} refused cleanly ({totals['refused+msg']} with "
        f"the expected message), {others}"
    )


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--case":
        print(run_case(sys.argv[2]))
    else:
        report()
