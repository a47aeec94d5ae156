"""The benchmark scripts run (tiny sizes), so that they do not rot between releases."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.notebook_utils import ROOT


def test_train_loop_overhead_runs_and_both_loops_agree() -> None:
    out = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "train_loop_overhead.py"), "--epochs", "1", "--repeats", "1"],
        capture_output=True, text=True, check=True, timeout=300,
    ).stdout
    assert "identical final weights: True" in out
    assert "ratio package / bare: wall" in out



@pytest.mark.slow
def test_cartpole_benchmark_runs_ppo_and_sb3(tmp_path) -> None:  # noqa: ANN001
    """Tiny budget (600 steps: no evaluation yet, so both count as failures); without
    stable-baselines3 (an import that fails) the sb3-ppo row is skipped with a message."""
    import importlib.util
    import os

    has_sb3 = importlib.util.find_spec("stable_baselines3") is not None
    cmd = [sys.executable, str(ROOT / "benchmarks" / "cartpole_time_to_solve.py"), "--algos", "ppo", "sb3-ppo",
           "--seeds", "1", "--budget", "600"]
    run = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=300)
    assert "| ppo | 0/1 | never |" in run.stdout
    assert ("| sb3-ppo | 0/1 | never |" in run.stdout) == has_sb3
    (tmp_path / "stable_baselines3").mkdir()
    (tmp_path / "stable_baselines3" / "__init__.py").write_text("raise ImportError('not installed')\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path), str(ROOT)]))
    blocked = subprocess.run(cmd, capture_output=True, text=True,
                             check=True, timeout=300, env=env)
    assert "stable-baselines3 is not installed: skipping the sb3-ppo row" in blocked.stderr
    assert "| ppo | 0/1 | never |" in blocked.stdout and "sb3-ppo |" not in blocked.stdout
