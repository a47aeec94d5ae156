"""The chapter template (templates/chapter.py, see CONTRIBUTING.md) composes into a notebook that
keeps the notebook contract the book's tests enforce, so a chapter started from it passes them.

It lives outside book/ and _toc.yml: the book build, nbval and papermill never run it."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat

from scripts import nbtools
from tests.notebook_utils import ROOT, toc_files
from tests.test_notebook_contract import COLAB_GUARD, _run_install_cell
from tests.test_visible_checks import hidden_checks

TEMPLATE = ROOT / "templates" / "chapter.py"


def _compose(tmp_path: Path) -> tuple[Path, dict]:
    out = tmp_path / "chapter.ipynb"
    nbformat.write(nbtools.compose(TEMPLATE.read_text()), out)
    return out, json.loads(out.read_text())


def test_template_is_outside_the_book() -> None:
    assert not any("template" in f for f in toc_files()), "the template must not be in _toc.yml"
    assert not list((ROOT / "book").glob("*template*")), "keep the template out of book/ (tests run every notebook there)"


def test_template_keeps_the_notebook_contract(tmp_path: Path) -> None:
    path, nb = _compose(tmp_path)
    cells = nb["cells"]
    assert cells[0]["cell_type"] == "markdown" and "".join(cells[0]["source"]).startswith("# ")
    code = [c for c in cells if c["cell_type"] == "code"]
    install = code[0]
    assert "remove-cell" in install["metadata"].get("tags", [])
    assert COLAB_GUARD in "".join(install["source"])
    assert _run_install_cell("".join(install["source"]), on_colab=False) == []
    params = [c for c in code if "parameters" in c["metadata"].get("tags", [])]
    assert len(params) == 1 and all(f"{n} =" in "".join(params[0]["source"]) for n in ("seed", "quick", "device"))
    budget = nb["metadata"].get("rlvae", {})
    assert 0 < budget["budget_quick_s"] <= budget["budget_full_s"]
    assert hidden_checks(path) == [], "the template's checks must be shown (hide-input), not removed"
    shown = [c for c in code if "hide-input" in c["metadata"].get("tags", []) and "assert" in "".join(c["source"])]
    assert shown, "the template should show how a claim check is tagged"
    ids = [c["metadata"].get("nbgrader", {}).get("grade_id") for c in code]
    assert {"template-mean_image-solution", "template-mean_image-test"} <= set(ids)
