"""The package's one dtype policy for numeric inputs.

**Every public numeric function accepts integer and bool tensors and computes in floating
point.**  A sparse reward written as ``torch.tensor([0, 0, 1])``, a 0/1 mask or integer logits
give the same numbers as their float versions, never a silently truncated integer result:

- a result has the floating dtype that PyTorch's promotion gives the numeric inputs together
  (float64 values with int64 rewards -> float64); when none of them is floating, torch's default
  dtype (``torch.get_default_dtype()``, float32 unless changed);
- flags (``terminated``, ``truncated``) may be bool or 0/1 of any dtype; masks come back bool;
- indices (actions, classes, contexts) stay integers: they index, they are not numbers to average;
- complex inputs are refused with an error;
- NumPy functions that update a caller's table *in place* (``q_learning_update``) cannot hand back
  a new array, so they refuse an integer table with an error naming the fix (``Q.astype(float)``).

``tests/test_dtype_policy.py`` checks this over every public pure function of the package.
"""

from __future__ import annotations

import functools

import torch
from torch import Tensor


def float_dtype(*tensors: Tensor) -> torch.dtype:
    """The floating dtype the policy computes in for these inputs (see the module docstring)."""
    for t in tensors:
        if t.is_complex():
            raise TypeError(f"complex tensors are not supported, got {t.dtype}; pass real values")
    dtype = functools.reduce(torch.promote_types, (t.dtype for t in tensors))
    return dtype if dtype.is_floating_point else torch.get_default_dtype()


def as_float(x: Tensor, dtype: torch.dtype | None = None) -> Tensor:
    """x unchanged if it is floating (and ``dtype`` is None or its dtype), else x cast to ``dtype``
    (default: :func:`float_dtype` of x, i.e. torch's default dtype for int and bool tensors)."""
    if not isinstance(x, Tensor):
        raise TypeError(f"expected a torch.Tensor, got {type(x).__name__}")
    target = dtype if dtype is not None else float_dtype(x)
    return x if x.dtype == target else x.to(target)


def as_floats(*tensors: Tensor) -> tuple[Tensor, ...]:
    """All of ``tensors`` cast to their common :func:`float_dtype`."""
    dtype = float_dtype(*tensors)
    return tuple(as_float(t, dtype) for t in tensors)
