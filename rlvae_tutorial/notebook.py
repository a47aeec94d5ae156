"""The set-up every chapter runs first: parameters resolved, device chosen, seeds set."""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch

from rlvae_tutorial.device import get_device, seed_everything

QUICK_ENV = "RLVAE_QUICK"
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def resolve_quick(quick: bool | None = None) -> bool:
    """Return the quick-mode switch shared by nbval, papermill and the book build.

    ``quick=None`` (the notebooks' default) reads the ``RLVAE_QUICK`` environment variable
    (``1``/``true`` or ``0``/``false``; unset means full mode).  An explicit bool wins.
    Quick mode shrinks the work (fewer epochs, seeds, samples); it never skips a claim.
    """
    if quick is not None:
        if not isinstance(quick, bool):
            raise TypeError(f"quick must be True, False or None, got {quick!r}")
        return quick
    raw = os.environ.get(QUICK_ENV, "").strip().lower()
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise ValueError(f"{QUICK_ENV}={raw!r} is not understood; use 1/true or 0/false")


@dataclass(frozen=True)
class Setup:
    """What a chapter needs after its parameters cell."""

    seed: int
    quick: bool
    device: torch.device
    generator: torch.Generator

    def pick(self, quick_value, full_value):  # noqa: ANN001, ANN201 - any type
        """``quick_value`` in quick mode, else ``full_value`` (e.g. epochs, seeds)."""
        return quick_value if self.quick else full_value


def setup(seed: int = 0, quick: bool | None = None, device: str | None = None) -> Setup:
    """Resolve a notebook's ``seed``, ``quick`` and ``device`` parameters in one call, and apply
    the book's figure style (``rlvae_tutorial.style``)."""
    from rlvae_tutorial.style import use_book_style

    use_book_style()
    generator = seed_everything(seed)
    return Setup(seed=int(seed), quick=resolve_quick(quick), device=get_device(device),
                 generator=generator)
