"""Visible checks, one rule (book/intro.md): a cell that asserts a claim is shown on the page with
its input collapsed (tag ``hide-input``), never removed (``remove-cell``, ``remove-input``).

Hidden cells may only do bookkeeping (e.g. ``record_result``) and must assert nothing, so a reader
of the built book sees every check that the run passed.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest
from IPython.core.inputtransformer2 import TransformerManager

from tests.notebook_utils import book_notebooks

HIDING_TAGS = {"remove-cell", "remove-input"}


def asserts(source: str) -> bool:
    """True when the cell's code (IPython magics turned into Python first) has an assert statement."""
    code = TransformerManager().transform_cell(source)
    try:
        tree = ast.parse(code)
    except SyntaxError:  # not Python: cannot tell, treat it as asserting, the safe side
        return "assert" in source
    return any(isinstance(node, ast.Assert) for node in ast.walk(tree))


def hidden_checks(path: Path) -> list[str]:
    """The ids of code cells that assert something but are tagged to disappear from the page."""
    cells = json.loads(path.read_text())["cells"]
    return [
        cell.get("id", str(i)) for i, cell in enumerate(cells)
        if cell["cell_type"] == "code" and HIDING_TAGS & set(cell.get("metadata", {}).get("tags", []))
        and asserts("".join(cell["source"]))
    ]


@pytest.mark.parametrize("path", book_notebooks(), ids=lambda p: p.stem)
def test_claim_checks_are_shown_not_removed(path: Path) -> None:
    bad = hidden_checks(path)
    assert not bad, (f"{path.name}: cells {bad} assert a claim but are tagged remove-cell/remove-input; "
                     "tag them 'hide-input' instead (checks are shown, collapsed; see CONTRIBUTING.md)")


def test_the_rule_catches_a_removed_check(tmp_path: Path) -> None:
    cell = {"cell_type": "code", "id": "c1", "metadata": {"tags": ["remove-cell"]},
            "source": ["x = 1\n", "assert x == 1, 'claim'\n"], "outputs": [], "execution_count": None}
    shown = {**cell, "id": "c2", "metadata": {"tags": ["hide-input"]}}
    bookkeeping = {**cell, "id": "c3", "source": ["record_result('ch', 'k', 1)\n"]}
    nb = tmp_path / "nb.ipynb"
    nb.write_text(json.dumps({"cells": [cell, shown, bookkeeping], "metadata": {}}))
    assert hidden_checks(nb) == ["c1"]
    assert asserts("%time x = 1\nassert x")
    assert not asserts("# assert nothing here\nx = 'assert'")
