"""Hidden tests (nbgrader's ``### BEGIN/END HIDDEN TESTS`` in the graded cells), for every exercise.

Read from the chapter notebooks (the instructor versions): each graded cell has a hidden block; the
instructor's solution passes the whole cell (visible check, which prints its confirmation, then the
hidden inputs); and a submission *tuned to the visible tests* -- right on exactly the inputs the
visible check uses, wrong elsewhere -- passes the visible check but fails the hidden block, so it
loses the cell's points.  The release has none of it (tests/test_course.py).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import math
import re

import numpy as np
import pytest
import torch

from scripts import coursekit

BEGIN, END = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
CELLS = []  # (assignment, grade_id, solution source, test source)
for _aid, _path in coursekit.assignments().items():
    _nb = __import__("json").loads(_path.read_text())
    _solutions = {c["metadata"]["nbgrader"]["grade_id"]: "".join(c["source"])
                  for c in coursekit.nbgrader_cells(_nb) if c["metadata"]["nbgrader"].get("solution")}
    for _cell in coursekit.nbgrader_cells(_nb):
        _meta = _cell["metadata"]["nbgrader"]
        if _meta.get("grade"):
            _sol = _solutions[_meta["grade_id"].removesuffix("-test") + "-solution"]
            CELLS.append((_aid, _meta["grade_id"], coursekit.solution_body(_sol), "".join(_cell["source"])))


def _split(test: str) -> tuple[str, str]:
    visible, _, rest = test.partition(BEGIN)
    hidden, _, after = rest.partition(END)
    assert not after.strip(), "nothing after the hidden block"
    return visible, hidden


def _student(solution: str) -> tuple[dict, str]:
    """The namespace after the solution cell ran, and the name of the function it defines."""
    ns: dict = {"torch": torch, "np": np, "math": math, "__name__": "__student__"}
    exec(solution, ns)  # noqa: S102 - the notebook's solution cell
    (name,) = re.findall(r"^def (\w+)\(", solution, flags=re.M)
    return ns, name


def _fingerprint(args: tuple, kwargs: dict) -> str:
    h = hashlib.sha256()
    for a in (*args, *sorted(kwargs.items())):
        if isinstance(a, torch.Tensor):
            a = a.detach().cpu().numpy()
        if isinstance(a, np.ndarray):
            h.update(repr((a.shape, str(a.dtype))).encode() + np.ascontiguousarray(a).tobytes())
        elif isinstance(a, torch.nn.Module):
            h.update(b"module" + repr(sorted((k, v.sum().item()) for k, v in a.state_dict().items())).encode())
        else:
            h.update(repr(a).encode())
    return h.hexdigest()


def _wrong(out: object) -> object:
    """An answer that is wrong everywhere: the right one shifted (or negated, for booleans)."""
    if isinstance(out, torch.Tensor):
        return ~out if out.dtype == torch.bool else out + 1.0
    if isinstance(out, np.ndarray):
        return out + 1.0
    if isinstance(out, bool):
        return not out
    return out + 1.0


def _tuned(right, seen: set[str]):  # noqa: ANN001, ANN202
    """Right on the inputs the visible check used (fingerprints in ``seen``), wrong on any other."""
    def tuned(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        key = _fingerprint(args, kwargs)
        out = right(*args, **kwargs)
        return out if key in seen else _wrong(out)

    return tuned


def test_every_graded_cell_has_hidden_tests() -> None:
    assert len(CELLS) == 37
    for aid, gid, _, test in CELLS:
        _, hidden = _split(test)
        assert hidden.count("agrees(") >= 1, f"{aid} {gid}: no hidden test"


@pytest.mark.parametrize(("aid", "gid", "solution", "test"), CELLS, ids=[c[1] for c in CELLS])
def test_solution_passes_and_visible_tuning_fails(aid: str, gid: str, solution: str, test: str) -> None:
    visible, hidden = _split(test)
    ns, name = _student(solution)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(visible + hidden, ns)  # noqa: S102 - the right answer passes the whole cell
    assert "right, it passes every visible check" in printed.getvalue(), f"{gid}: no confirmation"

    right, seen = ns[name], set()

    def recorder(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        seen.add(_fingerprint(args, kwargs))
        return right(*args, **kwargs)

    ns[name] = recorder
    with contextlib.redirect_stdout(io.StringIO()):
        exec(visible, ns)  # noqa: S102
    ns[name] = _tuned(right, seen)
    with contextlib.redirect_stdout(io.StringIO()):
        exec(visible, ns)  # noqa: S102 - tuned to the visible tests: passes them
        with pytest.raises(AssertionError, match="on an input the visible test does not show"):
            exec(hidden, ns)  # noqa: S102 - and loses the cell's points on the hidden ones
