"""The benchmark scripts run (tiny sizes), so that they do not rot between releases."""

from __future__ import annotations

import subprocess
import sys

from tests.notebook_utils import ROOT


def test_train_loop_overhead_runs_and_both_loops_agree() -> None:
    out = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "train_loop_overhead.py"), "--epochs", "1", "--repeats", "1"],
        capture_output=True, text=True, check=True, timeout=300,
    ).stdout
    assert "identical final weights: True" in out
    assert "ratio package / bare: wall" in out
