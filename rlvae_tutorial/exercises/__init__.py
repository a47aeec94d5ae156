"""Check functions for the book's exercises, one module per chapter.

Each ``check_<name>(fn)`` calls the reader's function on random and edge-case inputs, compares it
with the package's reference implementation, and raises an ``AssertionError`` whose message says
*what* is wrong (wrong shape, wrong sign, forgot to reset at an episode end, ...), not only that
something is.  It returns ``None`` (and prints nothing) when the function is right, so that
nbgrader's autograder and a student's notebook treat it the same way.
"""
