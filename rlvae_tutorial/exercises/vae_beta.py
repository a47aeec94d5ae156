"""Check functions for the exercises of the chapter *β-VAE and posterior collapse* (book/vae_beta.ipynb)."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor

from rlvae_tutorial.exercises.common import call, close, diagnose, expect_tensor
from rlvae_tutorial.exercises.guard import exercise
from rlvae_tutorial.vae.diagnostics import active_units
from rlvae_tutorial.vae.losses import free_bits_kl, kl_warmup


@exercise("free_bits", "rlvae_tutorial.vae.losses:free_bits_kl")
def check_free_bits(fn: Callable[[Tensor, float], Tensor]) -> None:
    """``fn(kl_dims, free_bits)``: (B, D) per-example, per-dimension KLs -> scalar penalty."""
    kl = torch.tensor([[0.0, 0.2, 3.0, 0.1], [0.0, 1.0, 1.0, 0.1], [0.0, 0.3, 2.0, 0.1]])
    out = call(fn, kl, 0.5, name="free_bits")
    if isinstance(out, Tensor) and tuple(out.shape) == (4,):
        raise AssertionError("free_bits returned one value per dimension (shape (4,)): sum the clamped KLs over the dimensions")
    out = expect_tensor(out, (), "free_bits")
    ref = free_bits_kl(kl, 0.5)
    hints = [
        (kl.clamp(min=0.5).mean(0).sum(), "you clamped each example's KL; free bits clamps the batch-mean KL of each dimension: mean over dim 0 first"),
        (kl.mean(0).clamp(max=0.5).sum(), "clamp from below (clamp(min=free_bits)): a dimension costs at least free_bits"),
        (kl.mean(0).clamp(min=0.5).mean(), "average over the batch, but sum over the latent dimensions"),
        (kl.sum(0).clamp(min=0.5).sum(), "average the KL over the batch (dim 0) before clamping, do not sum it"),
        (kl.mean(0).sum().clamp(min=0.5), "the floor applies to each dimension separately, not to the total KL"),
        (kl.mean(1).clamp(min=0.5).sum(), "average over the batch (dim 0), one KL per latent dimension; you "
         "averaged over the dimensions (dim 1)"),
        (kl.mean(0).clamp(min=0.5).sum() * 3, "average over the batch (dim 0); you summed over it"),
    ]
    diagnose("free_bits", out, ref, hints, "on a (3, 4) block of per-dimension KLs with free_bits = 0.5")
    if not close(expect_tensor(call(fn, kl, 0.0, name="free_bits"), (), "free_bits"), kl.mean(0).sum()):
        raise AssertionError("with free_bits = 0 the penalty should be the plain KL, mean over the batch and summed over dimensions")


@exercise("active_units", "rlvae_tutorial.vae.diagnostics:active_units")
def check_active_units(fn: Callable[[Tensor, float], Tensor]) -> None:
    """``fn(mu, threshold)``: (N, D) posterior means -> (D,) bool, Var over inputs > threshold."""
    g = torch.Generator().manual_seed(0)
    scales = torch.tensor([1.0, 0.05, 0.3, 0.0, 0.12])
    mu = 5.0 + torch.randn(400, 5, generator=g) * scales  # the means are not centred
    out = call(fn, mu, 0.01, name="active_units")
    if isinstance(out, Tensor) and tuple(out.shape) == (400,):
        raise AssertionError("active_units returned one value per input: take the variance over the inputs (dim 0), one value per latent dimension")
    if isinstance(out, (int, float)) or (isinstance(out, Tensor) and out.dim() == 0):
        raise AssertionError("active_units should return a (D,) boolean mask, not a count (the count is mask.sum())")
    if not isinstance(out, Tensor) or tuple(out.shape) != (5,):
        raise AssertionError(f"active_units should return a (5,) boolean tensor, got {getattr(out, 'shape', type(out).__name__)}")
    ref = active_units(mu, 0.01)
    if out.dtype != torch.bool:
        raise AssertionError(f"return a boolean mask (dtype torch.bool), got {out.dtype}: compare with > threshold")
    diagnose("active_units", out, ref, [
        (mu.std(0) > 0.01, "you compared the standard deviation with the threshold; the criterion uses the variance"),
        (mu.abs().mean(0) > 0.01, "a unit is active when its mean varies across inputs (variance over dim 0), not when the mean is large"),
        (mu.var(0) < 0.01, "the comparison is inverted: a unit is ACTIVE when its variance exceeds the threshold"),
        (mu.var(0) >= 0.05, "compare with the threshold argument, not a constant of your own"),
    ], f"on 400 posterior means of 5 units (variances {[round(v, 4) for v in mu.var(0).tolist()]})")


@exercise("kl_warmup", "rlvae_tutorial.vae.losses:kl_warmup")
def check_kl_warmup(fn: Callable[[int, int, float], float]) -> None:
    """``fn(step, warmup_steps, beta)``: beta * min(1, step / warmup_steps) (beta when warmup_steps = 0)."""
    cases = [(0, 100, 1.0), (25, 100, 1.0), (50, 100, 4.0), (100, 100, 2.0), (300, 100, 2.0), (7, 0, 3.0)]
    for step, warmup, beta in cases:
        out = call(fn, step, warmup, beta, name="kl_warmup")
        try:
            value = float(out)
        except (TypeError, ValueError):
            raise AssertionError(f"kl_warmup should return a number, got {type(out).__name__}") from None
        ref = kl_warmup(step, warmup, beta)
        if math.isclose(value, ref, abs_tol=1e-9):
            continue
        where = f"kl_warmup({step}, {warmup}, {beta}) = {value}, expected {ref}"
        if warmup and step > warmup and math.isclose(value, beta * step / warmup):
            raise AssertionError(f"{where}: the weight must stop at beta after the warm-up (use min(1, step / warmup_steps))")
        if warmup and 0 < step < warmup and value == 0.0:
            raise AssertionError(f"{where}: the weight stays 0 during the warm-up; integer division (//)?")
        if warmup and math.isclose(value, step / warmup) and beta != 1.0:
            raise AssertionError(f"{where}: multiply by beta: the warm-up ends at beta, not at 1")
        if warmup == 0:
            raise AssertionError(f"{where}: warmup_steps = 0 means no warm-up (weight beta); avoid dividing by zero")
        raise AssertionError(where)
