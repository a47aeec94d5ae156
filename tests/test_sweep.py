"""The seed-sweep harness (scripts/sweep.py): its file format, failure capture and summary."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

from scripts import sweep
from sphinxext.robustness import FORMAT, number_stats, sweep_fingerprint


def _fixture_notebook(path: Path) -> Path:
    """A chapter in miniature: parameters, a recorded number, and a claim that odd seeds fail."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    params = nbformat.v4.new_code_cell("seed = 0\nquick = None\ndevice = None")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Fixture"),
        params,
        nbformat.v4.new_code_cell("from rlvae_tutorial.results import record_result\n\n"
                                  "record_result('fixture', 'x', seed * 1.5, seed=seed, quick=quick)\n"
                                  "record_result('fixture', 'curve', [seed, 2], seed=seed, quick=quick)"),
        nbformat.v4.new_markdown_cell("The claim:"),
        nbformat.v4.new_code_cell("assert seed % 2 == 0, f'seed {seed} is odd'"),
    ]
    nbformat.write(nb, path)
    return path


def test_parse_seeds() -> None:
    assert sweep.parse_seeds("0-3") == [0, 1, 2, 3]
    assert sweep.parse_seeds("5, 0-1 42") == [0, 1, 5, 42]
    for bad in ("", "a-b", "3-x"):
        with pytest.raises(ValueError, match="0-29"):
            sweep.parse_seeds(bad)


def test_sweep_file_records_passes_failures_and_numbers(tmp_path: Path) -> None:
    nb = _fixture_notebook(tmp_path / "fixture.ipynb")
    out = tmp_path / "sweeps" / "quick-fixture.json"
    data = sweep.run_sweep([nb], [0, 1], "quick", jobs=2, out=out, timeout=120, progress=False)

    assert json.loads(out.read_text()) == data
    assert data["format"] == FORMAT and data["mode"] == "quick" and data["seeds"] == [0, 1]
    assert data["complete"] and data["finished_at"] and len(data["commit"]) == 40
    assert data["machine"]["cpu_count"] >= 1
    (name, entry), = data["notebooks"].items()
    assert name.endswith("fixture") and entry["fingerprint"] == sweep_fingerprint(nb)
    ok, bad = entry["runs"]
    assert (ok["seed"], ok["passed"], ok["failure"]) == (0, True, None)
    assert ok["results"] == {"fixture/curve": [0, 2], "fixture/x": 0.0}
    assert (bad["seed"], bad["passed"]) == (1, False)
    assert bad["results"]["fixture/x"] == 1.5  # recorded before the failing cell
    assert bad["failure"] == {"cell_index": 4, "cell_id": nbformat.read(nb, 4).cells[4].id,
                              "first_line": "assert seed % 2 == 0, f'seed {seed} is odd'",
                              "exception": "AssertionError", "message": "seed 1 is odd"}
    assert ok["runtime_s"] > 0 and bad["runtime_s"] > 0

    text = sweep.summary(data)
    assert "quick mode, seeds 0-1" in text and "1/2 passed (50%)" in text
    assert "FAILED seed 1: cell 4 (`assert seed % 2 == 0" in text and "AssertionError: seed 1 is odd" in text
    assert "fixture/x: mean 0.75, sd 1.06, min 0, max 1.5 (n=2)" in text
    assert "fixture/curve" not in text  # lists are stored, not summarised


def test_summary_command_prints_the_file(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    run = {"seed": 3, "passed": True, "runtime_s": 1.0, "failure": None, "results": {"c/k": 2}}
    data = {"format": FORMAT, "mode": "full", "seeds": [3, 4], "jobs": 1, "started_at": "t",
            "complete": False, "commit": "abc", "machine": {"cpu_count": 2},
            "notebooks": {"book/x": {"path": "book/x.ipynb", "fingerprint": "f", "runs": [run]}}}
    path = tmp_path / "s.json"
    path.write_text(json.dumps(data))
    assert sweep.main(["summary", str(path)]) == 0
    text = capsys.readouterr().out
    assert "full mode, seeds 3-4" in text and "INCOMPLETE" in text
    assert "book/x: 1/1 passed (100%)" in text and "c/k: mean 2, sd 0, min 2, max 2 (n=1)" in text


def test_number_stats() -> None:
    runs = [{"results": {"a": 1.0, "b": True, "c": "s"}}, {"results": {"a": 3}}, {"results": {}}]
    assert number_stats(runs) == {"a": {"n": 2, "mean": 2.0, "sd": 2 ** 0.5, "min": 1.0, "max": 3.0}}


def test_a_run_past_its_time_is_stopped_and_recorded(tmp_path: Path) -> None:
    nb = _fixture_notebook(tmp_path / "slow.ipynb")
    run = sweep.run_one(nb, 0, True, tmp_path / "results", timeout=0.5)
    assert not run["passed"] and run["failure"]["exception"] == "Timeout"
    assert "longer than 0.5 s" in run["failure"]["message"]


def test_missing_notebook_is_named(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="nope.ipynb"):
        sweep.run_sweep([tmp_path / "nope.ipynb"], [0], "quick", 1, tmp_path / "o.json", progress=False)
