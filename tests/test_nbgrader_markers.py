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
        "    return y\ncheck(f)\nassert f(1) == 2\n"
    )


def test_source_without_markers_is_returned_unchanged() -> None:
    source = "x = 1\n#### BEGIN SOLUTION (four hashes: not a marker)\n"
    assert markers.strip_markers(source) is source
