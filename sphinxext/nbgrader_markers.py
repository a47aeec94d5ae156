"""Sphinx extension: hide nbgrader's solution markers from the book's readers.

The chapter notebooks are also the instructor versions of the course assignments (see
book/instructor_guide.md), so their exercise solutions sit between ``### BEGIN SOLUTION`` and
``### END SOLUTION`` lines (and hidden tests between ``### BEGIN HIDDEN TESTS`` and
``### END HIDDEN TESTS``).  nbgrader needs those lines; a reader does not.  A hidden-test block is
removed whole, its inputs included: the students of a course read the book too.  After myst-nb has
parsed (and executed) a notebook, this extension deletes the marker lines from the displayed
source of its code cells.  Nothing else is touched: the notebook file, its execution, and code
shown in Markdown pages (such as the instructor guide, which quotes the markers) stay as they are.
Listed under ``sphinx.local_extensions`` in ``_config.yml`` (as ``sphinxext.nbgrader_markers``).
"""

from __future__ import annotations

import re
from typing import Any

from docutils import nodes

SHOW, HIDE = "Show solution", "Hide solution"
MARKER_LINE = re.compile(r"^[ \t]*### (?:BEGIN|END) (?:SOLUTION|HIDDEN TESTS)[ \t]*$")


HIDDEN_BEGIN = re.compile(r"^[ \t]*### BEGIN HIDDEN TESTS[ \t]*$")
HIDDEN_END = re.compile(r"^[ \t]*### END HIDDEN TESTS[ \t]*$")


def strip_markers(source: str) -> str:
    """Return ``source`` without its nbgrader marker lines and hidden-test blocks (other lines unchanged)."""
    lines = source.split("\n")
    kept, hidden = [], False
    for line in lines:
        if HIDDEN_BEGIN.match(line):
            hidden = True
        elif HIDDEN_END.match(line):
            hidden = False
        elif not hidden and not MARKER_LINE.match(line):
            kept.append(line)
    return source if len(kept) == len(lines) else "\n".join(kept)


def _is_notebook_cell_source(node: nodes.Element) -> bool:
    parent = node.parent
    return parent is not None and parent.get("nb_element") == "cell_code_source"


def remove_markers(app: Any, doctree: nodes.document) -> None:
    """``doctree-read`` handler: strip the marker lines from every notebook code cell's source.

    A cell that had solution markers is a solution: its fold (the cell is tagged ``hide-input``)
    is labelled "Show solution" / "Hide solution" instead of myst-nb's "Show code cell source".
    """
    for block in list(doctree.findall(nodes.literal_block)):
        if not _is_notebook_cell_source(block):
            continue
        text = block.astext()
        new = strip_markers(text)
        if new == text:
            continue
        cell = block.parent.parent
        if "SOLUTION" in text and cell is not None and cell.get("nb_element") == "cell_code":
            cell["prompt_show"], cell["prompt_hide"] = SHOW, HIDE
        # Keep rawsource equal to the text: Sphinx highlights a literal block only when they agree.
        replacement = nodes.literal_block(new, new, **block.attributes)
        block.replace_self(replacement)


def setup(app: Any) -> dict[str, Any]:
    app.connect("doctree-read", remove_markers)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
