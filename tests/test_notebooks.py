"""Every notebook in the table of contents runs top to bottom under papermill.

The papermill run uses a seed other than the notebooks' default (0) and quick mode, in a fresh
kernel with the notebook's own folder as working directory.  nbval runs the same notebooks with
seed 2 and the quick build with seed 3 (the Makefile's NBVAL_SEED and BUILD_SEED, injected after
the parameters cell as papermill does), so CI exercises three seeds besides the default 0.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from rlvae_tutorial.results import results_dir
from tests.notebook_utils import ROOT, book_notebooks, toc_files, toc_notebooks
from tests.test_claims_keys import recorded_keys

PAPERMILL_SEED = 1


def test_every_notebook_is_in_the_toc() -> None:
    listed = set(toc_notebooks())
    missing = [str(p.relative_to(ROOT)) for p in book_notebooks() if p not in listed]
    assert not missing, f"notebooks missing from _toc.yml: {missing}"
    for f in toc_files():
        assert (ROOT / f"{f}.ipynb").exists() or (ROOT / f"{f}.md").exists(), f"_toc.yml lists {f}, which does not exist"


@pytest.mark.parametrize("path", book_notebooks(), ids=lambda p: p.stem)
def test_notebook_is_committed_clean(path: Path) -> None:
    nb = json.loads(path.read_text())
    assert nb["metadata"]["kernelspec"]["name"] == "python3", "use kernel name python3"
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    dirty = [i for i, c in enumerate(code) if c.get("outputs") or c.get("execution_count")]
    assert not dirty, f"{path.name}: code cells {dirty} carry outputs; run scripts/nbtools.py strip"
    for i, cell in enumerate(nb["cells"]):
        bad = sorted({repr(ch) for ch in "".join(cell["source"]) if ord(ch) < 32 and ch != "\n"})
        assert not bad, (f"{path.name} cell {i} has control characters {bad}: a backslash lost in a "
                         "Python string (\\b, \\t in LaTeX); write it as a raw string")
    first = nb["cells"][0]
    assert first["cell_type"] == "markdown" and "".join(first["source"]).lstrip().startswith("# "), (
        f"{path.name} must start with a '# Title' Markdown cell"
    )
    params = [c for c in code if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(params) == 1, f"{path.name} needs exactly one cell tagged 'parameters'"
    src = "".join(params[0]["source"])
    for name in ("seed", "quick", "device"):
        assert f"{name} =" in src, f"{path.name}: the parameters cell must set {name}"


def _finite(value: Any) -> bool:
    if isinstance(value, dict):
        return all(_finite(v) for v in value.values())
    if isinstance(value, list):
        return all(_finite(v) for v in value)
    return not isinstance(value, float) or math.isfinite(value)


def check_executed(path: Path, executed: Path, started: datetime) -> None:
    """What a papermill run of ``path`` (written to ``executed``) must have left behind: every
    code cell ran with the injected seed, and every result the chapter records (statically: its
    ``record_result`` calls) was written during this run, with that seed, in quick mode, finite."""
    nb = json.loads(executed.read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    injected = [c for c in code if "injected-parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(injected) == 1 and f"seed = {PAPERMILL_SEED}" in "".join(injected[0]["source"])
    assert all(c.get("execution_count") for c in code), f"{path.name}: code cells that did not run"
    assert not [o for c in code for o in c.get("outputs", []) if o.get("output_type") == "error"]
    keys = recorded_keys(path.stem)
    if not keys:
        return
    folder = results_dir()
    assert folder is not None, "run the tests inside the book checkout or set RLVAE_RESULTS_DIR"
    results_file = folder / "quick" / f"{path.stem}.json"
    assert results_file.exists(), f"{path.name} ran but wrote no {results_file}"
    records = json.loads(results_file.read_text())
    for key in sorted(keys):
        assert key in records, f"{path.name} did not record {key!r} in {results_file}"
        record = records[key]
        assert record["seed"] == PAPERMILL_SEED and record["quick"] is True, (key, record)
        assert datetime.fromisoformat(record["recorded_at"]) >= started, f"{key!r} is stale: {record}"
        assert _finite(record["value"]), f"{path.name} recorded a non-finite {key!r}: {record['value']}"


@pytest.mark.slow
@pytest.mark.parametrize("path", toc_notebooks(), ids=lambda p: p.stem)
def test_notebook_runs_under_papermill(path: Path, tmp_path: Path) -> None:
    papermill = pytest.importorskip("papermill")
    started = datetime.now(UTC).replace(microsecond=0)  # records carry whole seconds
    papermill.execute_notebook(
        str(path),
        str(tmp_path / path.name),
        parameters={"seed": PAPERMILL_SEED, "quick": True},
        kernel_name="python3",
        cwd=str(path.parent),
        progress_bar=False,
    )
    check_executed(path, tmp_path / path.name, started)
