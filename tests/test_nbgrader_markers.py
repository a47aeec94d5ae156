"""The Sphinx extension that hides nbgrader's solution markers from readers (sphinxext/nbgrader_markers.py).

The built pages are checked in test_built_site.py; here the line filter itself.
"""

from __future__ import annotations

import importlib.util

from tests.notebook_utils import ROOT

_spec = importlib.util.spec_from_file_location("nbgrader_markers", ROOT / "sphinxext" / "nbgrader_markers.py")
markers = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(markers)


def test_marker_lines_go_everything_else_stays() -> None:
    source = (
        "def f(x):\n"
        '    """Doc."""\n'
        "    ### BEGIN SOLUTION\n"
        "    y = x + 1  # ### BEGIN SOLUTION in a comment stays\n"
        "    return y\n"
        "    ### END SOLUTION\n"
        "check(f)\n"
        "### BEGIN HIDDEN TESTS\n"
        "assert f(1) == 2\n"
        "### END HIDDEN TESTS  \n"
    )
    assert markers.strip_markers(source) == (
        'def f(x):\n    """Doc."""\n    y = x + 1  # ### BEGIN SOLUTION in a comment stays\n'
        "    return y\ncheck(f)\n"
    )


def test_hidden_tests_leave_the_page_whole() -> None:
    """A student reads the book: the hidden inputs must not show there, only the visible check."""
    import json

    from scripts import coursekit

    for path in coursekit.assignments().values():
        for cell in coursekit.nbgrader_cells(json.loads(path.read_text())):
            text = "".join(cell["source"])
            if "### BEGIN HIDDEN TESTS" in text:
                shown = markers.strip_markers(text)
                assert "agrees(" not in shown and "HIDDEN" not in shown, path.name
                assert shown.strip() == text.split("### BEGIN HIDDEN TESTS")[0].strip()


def test_source_without_markers_is_returned_unchanged() -> None:
    source = "x = 1\n#### BEGIN SOLUTION (four hashes: not a marker)\n"
    assert markers.strip_markers(source) is source
