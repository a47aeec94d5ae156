"""Small helpers the chapters' check functions share."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import Tensor

from rlvae_tutorial.exercises.guard import student_running


def call(fn: Callable[..., Any], *args: Any, name: str | None = None, **kwargs: Any) -> Any:
    """Call the reader's function, turning a crash into a message that names the inputs."""
    label = name or getattr(fn, "__name__", "your function")
    try:
        with student_running():  # the reference's traps fire only in here (exercises.guard)
            return fn(*args, **kwargs)
    except NotImplementedError:
        raise AssertionError(f"{label} is not implemented yet: replace the `raise NotImplementedError`") from None
    except Exception as exc:  # noqa: BLE001 - any crash becomes feedback
        shapes = [tuple(a.shape) if isinstance(a, Tensor) else type(a).__name__ for a in args]
        raise AssertionError(f"{label} raised {type(exc).__name__}: {exc} (inputs: {shapes})") from exc


def expect_tensor(out: Any, shape: tuple[int, ...], what: str) -> Tensor:
    """Assert ``out`` is a tensor of ``shape``; the message gives the expected and actual shape."""
    if not isinstance(out, Tensor):
        raise AssertionError(f"{what} should return a torch.Tensor, got {type(out).__name__}")
    if tuple(out.shape) != tuple(shape):
        raise AssertionError(f"{what} returned shape {tuple(out.shape)}, expected {tuple(shape)}")
    if not torch.isfinite(out).all():
        raise AssertionError(f"{what} returned NaN or inf values")
    return out


def close(actual: Tensor, expected: Tensor, *, atol: float = 1e-5, rtol: float = 1e-4) -> bool:
    """True where ``actual`` matches ``expected`` everywhere (shapes already checked)."""
    return bool(torch.allclose(actual.detach().double(), expected.detach().double(), atol=atol, rtol=rtol))


def first_mismatch(actual: Tensor, expected: Tensor, *, atol: float = 1e-5, rtol: float = 1e-4) -> str:
    """Describe where ``actual`` first differs from ``expected`` (same shape): index and both values."""
    a, e = actual.detach().double().cpu(), expected.detach().double().cpu()
    bad = ~torch.isclose(a, e, atol=atol, rtol=rtol)
    if not bad.any():
        return "no element differs"
    index = tuple(int(i) for i in bad.nonzero()[0])
    return (f"{int(bad.sum())} of {bad.numel()} values differ; the first at index {index}: "
            f"expected {e[index].item():.6g}, got {a[index].item():.6g}")


Mistakes = list[tuple[Any, str]]


def as_double(x: Any) -> Tensor:
    """A tensor, NumPy array or number as a float64 CPU tensor (detached), for comparisons."""
    if isinstance(x, Tensor):
        return x.detach().double().cpu()
    return torch.as_tensor(np.asarray(x, dtype=np.float64))


def diagnose(what: str, out: Any, expected: Any, mistakes: Mistakes, where: str = "", *,
             atol: float = 1e-5, rtol: float = 1e-4) -> None:
    """The one diagnosis of every check: pass if ``out`` matches ``expected``, else name the mistake.

    ``mistakes`` lists ``(wrong, message)`` pairs, in order: ``wrong`` is what a typical mistake
    returns on the same inputs (a tensor, array or number, or a callable computing it lazily).
    The first one ``out`` matches (same shape, close values) raises ``AssertionError(f"{what}:
    {message}")``; if none matches, the message gives the first differing element.
    """
    got, want = as_double(out), as_double(expected)
    if got.shape == want.shape and close(got, want, atol=atol, rtol=rtol):
        return
    for wrong, message in mistakes:
        if wrong is None:  # a mistake that cannot be told apart on these inputs
            continue
        value = as_double(wrong() if callable(wrong) else wrong)
        if value.shape == got.shape and close(got, value, atol=atol, rtol=rtol):
            raise AssertionError(f"{what}: {message}")
    if got.shape != want.shape:
        raise AssertionError(f"{what} returned shape {tuple(got.shape)}, expected {tuple(want.shape)} {where}".rstrip())
    raise AssertionError(f"{what} is wrong {where}: {first_mismatch(got, want, atol=atol, rtol=rtol)}".replace("  ", " "))
