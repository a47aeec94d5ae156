"""CPU/CUDA parity harness: the registry of package training entry points that must agree across
devices (tests/test_gpu_parity.py runs them).

To add a chapter's entry point, append a function to the registry at the end of this file::

    @parity_case("vae-elbo-training", rtol=1e-3, atol=1e-4)
    def _vae_training(device: torch.device, seed: int) -> dict[str, torch.Tensor]:
        history = train_vae(VAEConfig(epochs=2), device=device, seed=seed, progress=False)
        return {"loss": torch.tensor([h["loss"] for h in history])}

A case runs a few steps (well under a second on a CPU) with everything random drawn from
``seed`` on the CPU, so that both devices see the same numbers, and returns named tensors or
floats (losses, parameters).  Build models on the CPU, then move them to ``device``: initial
weights are then identical on both devices.  Tolerances are relative and absolute, as in
``torch.testing.assert_close``; floating-point sums differ in order on a GPU, so 1e-3 relative
after a few optimiser steps is typical.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from rlvae_tutorial.data import load_digits
from rlvae_tutorial.device import seed_everything

Output = dict[str, torch.Tensor | float]


@dataclass(frozen=True)
class ParityCase:
    name: str
    run: Callable[[torch.device, int], Output]
    rtol: float
    atol: float


PARITY_CASES: dict[str, ParityCase] = {}


def parity_case(name: str, *, rtol: float = 1e-3, atol: float = 1e-4) -> Callable:
    """Register ``fn(device, seed) -> {name: tensor or float}`` as a parity case."""
    def register(fn: Callable[[torch.device, int], Output]) -> Callable[[torch.device, int], Output]:
        if name in PARITY_CASES:
            raise ValueError(f"parity case {name!r} is registered twice")
        PARITY_CASES[name] = ParityCase(name, fn, rtol, atol)
        return fn
    return register


def run_case(case: ParityCase, device: torch.device, seed: int = 0) -> dict[str, torch.Tensor]:
    """Run a case and return its outputs as float64 CPU tensors."""
    out = case.run(device, seed)
    if not isinstance(out, dict) or not out:
        raise TypeError(f"parity case {case.name!r} must return a non-empty dict of tensors or floats")
    return {k: torch.as_tensor(v).detach().to("cpu", torch.float64) for k, v in out.items()}


def mismatches(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor], rtol: float,
               atol: float) -> list[str]:
    """What differs between two runs' outputs, one line per output (empty when they agree)."""
    problems = [f"{k}: only in one run" for k in sorted(set(a) ^ set(b))]
    for key in sorted(set(a) & set(b)):
        x, y = a[key], b[key]
        if x.shape != y.shape:
            problems.append(f"{key}: shapes {tuple(x.shape)} vs {tuple(y.shape)}")
        elif not (torch.isfinite(x).all() and torch.isfinite(y).all()):
            problems.append(f"{key}: not finite")
        elif not torch.allclose(x, y, rtol=rtol, atol=atol):
            err = (x - y).abs().max().item()
            problems.append(f"{key}: max abs difference {err:.3g} > atol {atol:g} + rtol {rtol:g}")
    return problems


# --- Registered entry points: append yours below ------------------------------------------------


@parity_case("digits-mlp-classifier", rtol=1e-3, atol=1e-4)
def _digits_mlp(device: torch.device, seed: int) -> Output:
    """Twenty Adam steps of a small MLP classifier on the book's digits."""
    generator = seed_everything(seed)
    x, y = load_digits("train")
    model = nn.Sequential(nn.Linear(64, 128), nn.Tanh(), nn.Linear(128, 10)).to(device)
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(20):
        idx = torch.randint(len(x), (128,), generator=generator)  # drawn on the CPU
        loss = nn.functional.cross_entropy(model(x[idx].to(device)), y[idx].to(device))
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        losses.append(loss.detach())
    weights = torch.cat([p.detach().flatten() for p in model.parameters()])
    return {"losses": torch.stack(losses), "weights": weights}
