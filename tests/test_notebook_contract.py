"""What every notebook promises beyond running: a Colab install cell that does nothing elsewhere,
and a stated run-time budget (checked against the build's measurement in test_built_site.py)."""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path

import pytest

from sphinxext.repository import repository_url
from tests.notebook_utils import ROOT, book_notebooks

COLAB_GUARD = '"google.colab" in sys.modules'


def _cells(path: Path) -> list[dict]:
    return json.loads(path.read_text())["cells"]


def _first_code_cell(path: Path) -> dict:
    return next(c for c in _cells(path) if c["cell_type"] == "code")


def _source(cell: dict) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def _run_install_cell(source: str, on_colab: bool) -> list[tuple[str, str]]:
    """Execute the cell as IPython would, with a fake IPython that records magics."""
    from IPython.core.inputtransformer2 import TransformerManager

    calls: list[tuple[str, str]] = []

    class FakeIPython:
        def run_line_magic(self, name: str, line: str) -> None:
            calls.append((name, line))

        def system(self, cmd: str) -> None:
            calls.append(("!", cmd))

    code = TransformerManager().transform_cell(source)
    saved = sys.modules.pop("google.colab", None)
    if on_colab:
        sys.modules["google.colab"] = types.ModuleType("google.colab")
    try:
        exec(compile(code, "<colab-cell>", "exec"), {"get_ipython": FakeIPython})  # noqa: S102
    finally:
        sys.modules.pop("google.colab", None)
        if saved is not None:
            sys.modules["google.colab"] = saved
    return calls


@pytest.mark.parametrize("path", book_notebooks(), ids=lambda p: p.stem)
def test_first_code_cell_installs_the_package_on_colab_only(path: Path) -> None:
    """Outside Colab the cell does nothing; on Colab it installs from repository.url when that is
    set, and only prints how to install while it is unset (tests/test_repository_setting.py)."""
    cell = _first_code_cell(path)
    source = _source(cell)
    assert "remove-cell" in cell.get("metadata", {}).get("tags", []), (
        f"{path.name}: tag the Colab install cell 'remove-cell' (readers of the book don't need it)")
    assert COLAB_GUARD in source, (
        f"{path.name}: the first code cell must be the Colab install cell, guarded by "
        f"`if {COLAB_GUARD}:`; run `python -m sphinxext.repository sync`")
    assert _run_install_cell(source, on_colab=False) == [], f"{path.name}: the cell acts outside Colab"
    calls = _run_install_cell(source, on_colab=True)
    url = repository_url(ROOT)
    if not url:
        assert calls == [], f"{path.name}: installs {calls} although repository.url is unset"
        return
    assert len(calls) == 1 and calls[0][0] in {"pip", "!"}, f"{path.name}: expected one pip install, got {calls}"
    assert f"git+{url}" in calls[0][1], (
        f"{path.name}: Colab should install the package from {url} (_config.yml)")


def test_the_install_check_catches_an_unguarded_cell() -> None:
    assert _run_install_cell('%pip install -q "rlvae-tutorial"', on_colab=False) == [
        ("pip", 'install -q "rlvae-tutorial"')]


@pytest.mark.parametrize("path", book_notebooks(), ids=lambda p: p.stem)
def test_notebook_states_its_runtime_budget(path: Path) -> None:
    meta = json.loads(path.read_text())["metadata"].get("rlvae", {})
    hint = ('add notebook metadata {"rlvae": {"budget_full_s": ..., "budget_quick_s": ...}} '
            "(seconds on a quiet 2-core machine; scripts/nbtools.py: `# notebook meta={...}`)")
    for key in ("budget_full_s", "budget_quick_s"):
        value = meta.get(key)
        assert isinstance(value, int | float) and value > 0, f"{path.name}: {key} missing; {hint}"
    assert meta["budget_quick_s"] <= meta["budget_full_s"], (
        f"{path.name}: quick mode's budget exceeds full mode's")
