"""Relaxed and straight-through Bernoulli samples (binary Concrete / Gumbel-softmax).

A Bernoulli(sigmoid(l)) sample is z = 1[l + L > 0] with logistic noise L = log u - log(1 - u),
u ~ U(0, 1) (the two-class Gumbel-max trick).  Replacing the step by a sigmoid at temperature tau,
y = sigmoid((l + L) / tau), gives a differentiable "relaxed" sample (Maddison et al., 2017; Jang et
al., 2017); ``torch.distributions.RelaxedBernoulli`` draws the same y from the same uniforms.
The *straight-through* estimator (Bengio et al., 2013, with the identity as backward pass; the
straight-through Gumbel-softmax of Jang et al., 2017) uses the hard z in the forward pass and y's
gradient in the backward pass: biased, but low-variance, and the model only ever sees discrete
latents.
"""

from __future__ import annotations

import torch
from torch import Tensor

from rlvae_tutorial.dtypes import as_float, as_floats


def logistic_noise(
    shape: tuple[int, ...] | torch.Size,
    *,
    generator: torch.Generator | None = None,
    device: torch.device | str | None = None,
    dtype: torch.dtype = torch.float32,
) -> Tensor:
    """L = log u - log(1 - u), u ~ U(0, 1) clamped away from 0 and 1: a tensor of ``shape``."""
    gen_device = generator.device if generator is not None else device
    u = torch.rand(shape, generator=generator, device=gen_device, dtype=dtype)
    eps = torch.finfo(dtype).eps
    u = u.clamp(eps, 1.0 - eps).to(device if device is not None else u.device)
    return torch.log(u) - torch.log1p(-u)


def relaxed_bernoulli(logits: Tensor, temperature: float, noise: Tensor) -> Tensor:
    """y = sigmoid((logits + noise) / temperature), in (0, 1), differentiable in the logits.

    logits: ``(..., D)``; noise: logistic noise broadcastable to it, e.g. ``(K, B, D)`` for K
    samples of a ``(B, D)`` batch.  Returns the broadcast shape.  As the temperature goes to 0, y
    tends to the hard sample 1[logits + noise > 0], a Bernoulli(sigmoid(logits)) draw.
    """
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    logits, noise = as_floats(logits, noise)
    return torch.sigmoid((logits + noise) / temperature)


def straight_through_bernoulli(logits: Tensor, temperature: float, noise: Tensor) -> Tensor:
    """Hard z = 1[logits + noise > 0] in the forward pass, d y / d logits in the backward pass.

    The value is an exact Bernoulli(sigmoid(logits)) sample in {0, 1}; the gradient is that of the
    relaxed sample y = :func:`relaxed_bernoulli` (``z = hard + (y - y.detach())``), a biased estimate
    of the true gradient.  Shapes as in :func:`relaxed_bernoulli`.
    """
    soft = relaxed_bernoulli(logits, temperature, noise)
    hard = (as_float(logits).detach() + noise > 0).to(soft.dtype)
    return hard + (soft - soft.detach())  # exactly hard in value: (soft - soft.detach()) == 0
