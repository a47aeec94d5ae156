"""The reference loophole, closed: a student's function may not be, wrap or call the reference.

Every check compares the student's function with the package's reference implementation, so a
function that *is* the reference (``my_returns = discounted_returns``, a ``functools.partial`` of
it, a copy of its code) or calls it (a ``lambda`` or ``def`` wrapper, through any name or module)
would pass every check while the student wrote nothing.  :func:`exercise` wraps a check so that

1. a function whose innermost callable is the reference (through partials, ``__wrapped__``,
   bound methods; or a function with the reference's code object) fails at once, and
2. while the check runs, every place the reference can be reached from is trapped: each loaded
   module's attribute bound to it (the package module, every module that re-exports it, the
   notebook's ``__main__``), and the student's function's globals, closure cells and defaults
   (recursively through the functions and partials it holds).  The trap delegates to the
   reference when the *check* calls it, and fails when it is called while the student's function
   runs (``common.call`` marks that span), wherever the call comes from.

Everything is restored when the check returns.  A right answer prints one line of confirmation.
"""

from __future__ import annotations

import functools
import importlib
import sys
import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

LOOPHOLE = "write it yourself; the reference is what you are checked against"
_STUDENT = [0]  # > 0 while the student's function runs (common.call)


class ReferenceUsed(BaseException):  # noqa: N818 - not an error of the student's code: a verdict
    """Raised by a trap; a BaseException so that ``except Exception`` in student code cannot hide it."""


@contextmanager
def student_running() -> Iterator[None]:
    """Mark the span in which the student's function runs (the traps fire only inside it)."""
    _STUDENT[0] += 1
    try:
        yield
    finally:
        _STUDENT[0] -= 1


def resolve(path: str) -> Callable[..., Any]:
    """``"package.module:name"`` -> the object."""
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


def _layers(fn: Any) -> list[Any]:
    """``fn`` and every callable under it: partials, ``__wrapped__`` chains, bound methods."""
    out = [fn]
    for _ in range(50):
        if isinstance(fn, functools.partial):
            fn = fn.func
        elif isinstance(fn, types.MethodType):
            fn = fn.__func__
        elif getattr(fn, "__wrapped__", None) is not None:
            fn = fn.__wrapped__
        else:
            break
        out.append(fn)
    return out


def _innermost(fn: Any) -> Any:
    """Unwrap partials, ``__wrapped__`` chains and bound methods down to the function itself."""
    return _layers(fn)[-1]


def _same(obj: Any, ref: Any) -> bool:
    """``obj`` is ``ref``, or a function built from the same code (a copy under another name)."""
    if obj is ref:
        return True
    code = getattr(ref, "__code__", None)
    return isinstance(obj, types.FunctionType) and code is not None and obj.__code__ == code


def is_reference(fn: Any, references: list[Any]) -> Any:
    """The reference ``fn`` is (at any layer of wrapping, on either side), or None."""
    for ref in references:
        if any(_same(layer, r) for layer in _layers(fn) for r in _layers(ref)):
            return ref
    return None


def _reachable(fn: Any, limit: int = 200) -> list[Any]:
    """The student's function and the functions, partials and objects it holds (closure, defaults,
    globals it names), breadth first."""
    seen: dict[int, Any] = {}
    todo = [fn]
    while todo and len(seen) < limit:
        obj = todo.pop()
        if id(obj) in seen or isinstance(obj, type | types.ModuleType):
            continue
        seen[id(obj)] = obj
        if isinstance(obj, functools.partial):
            todo += [obj.func, *obj.args, *obj.keywords.values()]
        elif isinstance(obj, types.MethodType):
            todo += [obj.__func__]
        elif isinstance(obj, types.FunctionType):
            todo += [c.cell_contents for c in obj.__closure__ or () if _filled(c)]
            todo += list(obj.__defaults__ or ()) + list((obj.__kwdefaults__ or {}).values())
            todo += [obj.__globals__[n] for n in _names(obj.__code__) if callable(obj.__globals__.get(n))]
            if getattr(obj, "__wrapped__", None) is not None:
                todo.append(obj.__wrapped__)
        elif callable(obj) and not isinstance(obj, types.BuiltinFunctionType):
            method = vars(type(obj)).get("__call__")  # a callable object: its class's __call__
            if isinstance(method, types.FunctionType):
                todo.append(method)
    return list(seen.values())


def _filled(cell: types.CellType) -> bool:
    try:
        cell.cell_contents  # noqa: B018 - an empty cell raises ValueError
    except ValueError:
        return False
    return True


def _names(code: types.CodeType) -> set[str]:
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _names(const)
    return names


@contextmanager
def trapped(references: list[Any], fn: Any) -> Iterator[list[str]]:
    """Replace every reachable binding of each reference by a trap; yield the list of trapped calls."""
    used: list[str] = []

    def make_trap(ref: Any) -> Callable[..., Any]:
        @functools.wraps(ref)
        def trap(*args: Any, **kwargs: Any) -> Any:
            if _STUDENT[0] > 0:
                used.append(f"{ref.__module__}.{ref.__qualname__}")
                raise ReferenceUsed(used[-1])
            return ref(*args, **kwargs)

        del trap.__wrapped__  # so that unwrapping a trap does not lead back to the reference
        return trap

    traps = [(ref, make_trap(ref)) for ref in references]

    def trap_for(value: Any) -> Any:
        return next((t for ref, t in traps if _same(value, ref)), None)

    undo: list[Callable[[], None]] = []

    def patch_dict(namespace: dict) -> None:
        for key, value in list(namespace.items()):
            if callable(value) and (t := trap_for(value)) is not None:
                namespace[key] = t
                undo.append(functools.partial(namespace.__setitem__, key, value))

    namespaces = {id(m.__dict__): m.__dict__ for m in list(sys.modules.values())
                  if isinstance(m, types.ModuleType)}
    for obj in _reachable(fn):
        if isinstance(obj, types.FunctionType):
            namespaces.setdefault(id(obj.__globals__), obj.__globals__)
            for cell in obj.__closure__ or ():
                if _filled(cell) and (t := trap_for(cell.cell_contents)) is not None:
                    old, cell.cell_contents = cell.cell_contents, t
                    undo.append(functools.partial(setattr, cell, "cell_contents", old))
            if obj.__defaults__ and any(trap_for(d) for d in obj.__defaults__):
                old_defaults = obj.__defaults__
                obj.__defaults__ = tuple(trap_for(d) or d for d in old_defaults)
                undo.append(functools.partial(setattr, obj, "__defaults__", old_defaults))
            if obj.__kwdefaults__:
                patch_dict(obj.__kwdefaults__)
    for namespace in namespaces.values():
        patch_dict(namespace)
    try:
        yield used
    finally:
        for restore in reversed(undo):
            restore()


def exercise(name: str, *references: str) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Decorate ``check_<x>(fn)``: reject the reference (as itself or called), confirm a right answer.

    ``references``: ``"module:function"`` paths of everything that solves the exercise.
    """

    def decorate(check: Callable[..., None]) -> Callable[..., None]:
        @functools.wraps(check)
        def guarded(fn: Any, *args: Any, quiet: bool = False, **kwargs: Any) -> None:
            refs = [resolve(path) for path in references]
            found = is_reference(fn, refs)
            if found is not None:
                raise AssertionError(f"{name} is the package's own {found.__qualname__}: {LOOPHOLE}")
            with trapped(refs, fn) as used:
                try:
                    check(fn, *args, **kwargs)
                except ReferenceUsed:
                    pass
                except AssertionError:
                    if not used:
                        raise
            if used:
                raise AssertionError(f"{name} calls the package's own {used[0]}: {LOOPHOLE}") from None
            if not quiet:
                print(f"{name}: right, it passes every visible check.")

        guarded.references = references  # type: ignore[attr-defined]
        guarded.exercise = name  # type: ignore[attr-defined]
        return guarded

    return decorate
