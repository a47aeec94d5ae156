"""Hidden tests: the student's function against the reference on inputs the visible check never shows.

The chapters' graded test cells call ``check_<name>(fn)`` (visible to the student) and then, between
nbgrader's ``### BEGIN HIDDEN TESTS`` / ``### END HIDDEN TESTS`` lines, :func:`agrees` on other
shapes and edge cases (a length-1 episode, an all-terminal batch, beta = 0, ...).  The student
version of a notebook drops those lines; ``nbgrader autograde`` restores them.  The inputs live in
the notebook cell, not here, so that reading the package does not reveal them.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import numpy as np

from rlvae_tutorial.exercises.common import call, diagnose
from rlvae_tutorial.exercises.guard import LOOPHOLE, ReferenceUsed, is_reference, resolve, trapped


def agrees(check: Callable[..., None], fn: Callable[..., Any], *args: Any, what: str,
           expected: Any = None, atol: float = 1e-5) -> None:
    """Assert ``fn(*args)`` equals the reference of ``check`` on these (hidden) inputs.

    ``expected`` replaces the reference's output where the exercise has no package function of the
    same signature.  A first argument that is a NumPy array and that the reference changes in place
    (the Q-table of Q-learning) is compared too.  The loophole guard of ``check`` applies.
    """
    name = check.exercise
    refs = [resolve(path) for path in check.references]
    if is_reference(fn, refs) is not None:
        raise AssertionError(f"{name} is the package's own reference: {LOOPHOLE}")
    ref_args = copy.deepcopy(args)
    with trapped(refs, fn) as used:
        try:
            out = call(fn, *args, name=name)
        except ReferenceUsed:
            out = None
    if used:
        raise AssertionError(f"{name} calls the package's own {used[0]}: {LOOPHOLE}")
    if expected is None:
        expected = refs[0](*ref_args)
    where = f"on an input the visible test does not show ({what})"
    if out is None:
        raise AssertionError(f"{name} returned None {where}")
    diagnose(name, out, expected, [], where, atol=atol)
    if args and isinstance(args[0], np.ndarray) and not np.array_equal(args[0], ref_args[0]):
        diagnose(f"{name}'s in-place update", args[0], ref_args[0], [], where, atol=atol)
