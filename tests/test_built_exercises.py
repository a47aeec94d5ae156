"""Exercises in the built book: solutions folded away, nbgrader's markers invisible to readers.

`make test` builds the book first and points RLVAE_BUILT_HTML at it (as for test_built_site.py).
"""

from __future__ import annotations

import html
import json
import os
import re
from pathlib import Path

import pytest

from tests.notebook_utils import ROOT, toc_notebooks

BUILT = os.environ.get("RLVAE_BUILT_HTML")
pytestmark = pytest.mark.skipif(not BUILT, reason="set RLVAE_BUILT_HTML to a built book (make test does)")
MARKER = re.compile(r"###\s*(?:BEGIN|END)\s+(?:SOLUTION|HIDDEN\s+TESTS)")
# A folded cell: myst-nb's <details> for a hide-input cell, labelled by _ext/nbgrader_markers.py.
FOLD = re.compile(
    r'<div class="cell tag_hide-input[^"]*">\s*<details class="[^"]*hide above-input">\s*<summary[^>]*>\s*'
    r'<p class="collapsed admonition-title">Show solution</p>(?P<body>.*?)</details>',
    re.S,
)


def _page(notebook: Path) -> str:
    page = ROOT / BUILT / notebook.relative_to(ROOT).with_suffix(".html")
    assert page.exists(), f"{page} missing: run make build-quick"
    return page.read_text()


def _plain(html_text: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", html_text))


def _solution_cells(notebook: Path) -> list[str]:
    cells = json.loads(notebook.read_text())["cells"]
    return ["".join(c["source"]) for c in cells if c.get("metadata", {}).get("nbgrader", {}).get("solution")]


@pytest.mark.parametrize("notebook", toc_notebooks(), ids=lambda p: p.stem)
def test_readers_never_see_nbgrader_markers(notebook: Path) -> None:
    text = _plain(_page(notebook))
    assert not MARKER.search(text), f"{notebook.name}: a nbgrader marker shows on the page"


@pytest.mark.parametrize(
    "notebook", [nb for nb in toc_notebooks() if _solution_cells(nb)], ids=lambda p: p.stem
)
def test_every_solution_is_folded_away(notebook: Path) -> None:
    folds = [_plain(m.group("body")) for m in FOLD.finditer(_page(notebook))]
    for source in _solution_cells(notebook):
        body = source.split("### BEGIN SOLUTION")[1].split("### END SOLUTION")[0].strip()
        first = body.splitlines()[0].strip()
        assert any(first in fold for fold in folds), (
            f"{notebook.name}: the solution line {first!r} is not inside a folded 'Show solution' "
            "cell; tag the solution cell hide-input"
        )


def test_getting_started_folds_three_solutions_and_guide_quotes_markers() -> None:
    page = _page(ROOT / "book" / "getting_started.ipynb")
    assert len(FOLD.findall(page)) == 3
    assert "return raw / 16" in _plain(page), "the folded solution is still on the page"
    guide = _plain((ROOT / BUILT / "book" / "instructor_guide.html").read_text())
    assert "### BEGIN SOLUTION" in guide, "Markdown code blocks keep their markers (only notebook cells lose them)"
