"""Every notebook in the table of contents runs top to bottom under papermill.

The papermill run uses a seed other than the notebooks' default (0) and quick mode, in a fresh
kernel with the notebook's own folder as working directory.  nbval runs the same notebooks with
seed 2 and the quick build with seed 3 (the Makefile's NBVAL_SEED and BUILD_SEED, injected after
the parameters cell as papermill does), so CI exercises three seeds besides the default 0.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.notebook_utils import ROOT, book_notebooks, toc_files, toc_notebooks

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


@pytest.mark.slow
@pytest.mark.parametrize("path", toc_notebooks(), ids=lambda p: p.stem)
def test_notebook_runs_under_papermill(path: Path, tmp_path: Path) -> None:
    papermill = pytest.importorskip("papermill")
    papermill.execute_notebook(
        str(path),
        str(tmp_path / path.name),
        parameters={"seed": PAPERMILL_SEED, "quick": True},
        kernel_name="python3",
        cwd=str(path.parent),
        progress_bar=False,
    )
