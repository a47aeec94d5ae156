"""Device selection, thread set-up and seeding: the one place the code names a device.

Every notebook and training function asks :func:`get_device` for its device and
:func:`seed_everything` for its randomness, so that the same seed gives the same numbers
and the same code runs on CUDA, Apple's MPS or the CPU.
"""

from __future__ import annotations

import os
import random

import numpy as np
import torch

DEVICE_ENV = "RLVAE_DEVICE"
THREADS_ENV = "RLVAE_NUM_THREADS"
ALLOWED_DEVICES = ("auto", "cpu", "cuda", "cuda:<index>", "mps")


def _mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def configure_cpu_threads(num_threads: int | None = None) -> int:
    """Set the number of torch CPU threads and return it.

    Small models run fastest on one thread: on a busy 2-core machine two threads made a small
    MLP step 10-30x slower.  The default is one thread, overridable by the argument or by the
    ``RLVAE_NUM_THREADS`` environment variable.
    """
    if num_threads is None:
        raw = os.environ.get(THREADS_ENV, "1")
        try:
            num_threads = int(raw)
        except ValueError:
            raise ValueError(
                f"{THREADS_ENV}={raw!r} is not an integer; set it to a positive number of threads"
            ) from None
    if num_threads < 1:
        raise ValueError(f"num_threads must be >= 1, got {num_threads}")
    torch.set_num_threads(num_threads)
    return num_threads


def get_device(prefer: str | torch.device | None = None) -> torch.device:
    """Return the device to run on: ``cuda`` > ``mps`` > ``cpu``.

    ``prefer`` may be ``None`` or ``"auto"`` (pick the best available, unless the
    ``RLVAE_DEVICE`` environment variable names one), or an explicit ``"cpu"``, ``"cuda"``,
    ``"cuda:<index>"`` or ``"mps"``.  Asking for a device that is not available raises a
    ``RuntimeError`` saying what is; an unknown name raises a ``ValueError`` listing the
    allowed ones.  On the CPU the torch thread count is set by :func:`configure_cpu_threads`.
    """
    if isinstance(prefer, torch.device):
        prefer = str(prefer)
    if prefer is None or prefer == "auto":
        prefer = os.environ.get(DEVICE_ENV) or "auto"
    if not isinstance(prefer, str):
        raise TypeError(f"device must be a string such as 'cpu' or 'cuda', got {type(prefer)}")
    name = prefer.strip().lower()
    if name == "auto":
        if torch.cuda.is_available():
            name = "cuda"
        elif _mps_available():
            name = "mps"
        else:
            name = "cpu"
    kind, _, index = name.partition(":")
    if kind not in {"cpu", "cuda", "mps"} or (index and (kind != "cuda" or not index.isdigit())):
        raise ValueError(f"unknown device {prefer!r}; allowed: {', '.join(ALLOWED_DEVICES)}")
    if kind == "cuda":
        if not torch.cuda.is_available():
            raise RuntimeError(
                f"device {prefer!r} was requested but CUDA is not available "
                "(no NVIDIA GPU or a CPU-only torch build); use device='cpu' or 'auto', "
                f"or unset {DEVICE_ENV}"
            )
        if index and int(index) >= torch.cuda.device_count():
            raise RuntimeError(
                f"device {prefer!r} was requested but only {torch.cuda.device_count()} "
                "CUDA device(s) exist"
            )
    if kind == "mps" and not _mps_available():
        raise RuntimeError(
            f"device {prefer!r} was requested but MPS is not available; use 'cpu' or 'auto'"
        )
    if kind == "cpu":
        configure_cpu_threads()
    return torch.device(name)


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python's ``random``, NumPy and torch (all devices) and return a CPU generator.

    The returned ``torch.Generator`` is seeded with ``seed`` too; pass it (or a seed) to the
    package functions that draw random numbers, so that the same seed gives the same numbers.
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be a non-negative integer, got {seed!r} ({type(seed).__name__})")
    seed = int(seed)
    if not 0 <= seed < 2**32:
        raise ValueError(f"seed must be in [0, 2**32), got {seed}")
    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002 - seeds legacy global-state users (e.g. old sklearn code)
    torch.manual_seed(seed)  # also seeds every CUDA device
    generator = torch.Generator()
    generator.manual_seed(seed)
    return generator
