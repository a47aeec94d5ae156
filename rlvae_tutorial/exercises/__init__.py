"""Check functions for the book's exercises, one module per chapter.

Each ``check_<name>(fn)`` calls the reader's function on random and edge-case inputs, compares it
with the package's reference implementation, and raises an ``AssertionError`` whose message says
*what* is wrong (wrong shape, wrong sign, forgot to reset at an episode end, ...), not only that
something is.  When the function is right it prints one line saying so and returns ``None``, so that
nbgrader's autograder and a student's notebook treat it the same way.

Every check is wrapped by :func:`rlvae_tutorial.exercises.guard.exercise`: a function that is,
wraps or calls the package's reference for that exercise fails ("write it yourself; the
reference is what you are checked against").  Wrong answers are matched against the catalogue of
known mistakes by one helper, :func:`rlvae_tutorial.exercises.common.diagnose`.
"""
