"""Checks for the exercises of the chapter *VAE latents for RL*.

Each check runs the reader's function on fixed random and edge-case inputs, compares it with the
package's reference, and, when they differ, tries the typical mistakes one by one so that the
message can say which one was made.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import Tensor

from rlvae_tutorial.envs.wrappers import frames_to_latents, frames_to_vectors
from rlvae_tutorial.exercises.common import call, close, diagnose, expect_tensor
from rlvae_tutorial.exercises.guard import exercise
from rlvae_tutorial.latents.metrics import steps_to_threshold
from rlvae_tutorial.rl.dqn import dqn_targets
from rlvae_tutorial.vae import VAE, VAEConfig


def _as_tensor(out: Any, what: str) -> Tensor:
    if isinstance(out, np.ndarray):
        return torch.as_tensor(out)
    if isinstance(out, Tensor):
        return out.detach().cpu()
    raise AssertionError(f"{what} should return a NumPy array or a torch.Tensor, got {type(out).__name__}")


def _frames(n: int, seed: int) -> np.ndarray:
    rs = np.random.default_rng(seed)
    return rs.integers(0, 256, size=(n, 4, 5, 3), dtype=np.uint8)  # (N, H, W, C)


@exercise("frames_to_latents", "rlvae_tutorial.envs.wrappers:frames_to_latents")
def check_latent_observation(fn: Callable[..., Any]) -> None:
    """``fn(encoder, frames) -> latents``: uint8 frames ``(N, H, W, C)`` -> posterior means ``(N, z_dim)``."""
    torch.manual_seed(0)
    encoder = VAE(VAEConfig(x_dim=60, hidden=(16,), z_dim=3)).encoder
    frames = _frames(7, 0)
    expected = torch.as_tensor(frames_to_latents(encoder, frames))
    out = _as_tensor(call(fn, encoder, frames, name="frames_to_latents"), "frames_to_latents")
    out = expect_tensor(out.float(), (7, 3), "frames_to_latents on 7 frames of 4x5x3 pixels (z_dim = 3)")
    again = _as_tensor(call(fn, encoder, frames, name="frames_to_latents"), "frames_to_latents")
    if again.shape != out.shape or not close(again.float(), out):
        raise AssertionError("frames_to_latents: the same frames gave different latents, as a SAMPLE of q(z|x) "
                             "does; return its mean (a sample adds noise the agent cannot learn from)")
    x = torch.as_tensor(frames.reshape(7, -1), dtype=torch.float32)
    with torch.no_grad():
        mistakes = [
            (encoder.params(x)[0], "scale the pixels to [0, 1] (divide the uint8 values by 255) before encoding: "
             "the VAE was trained on scaled frames"),
            (encoder.params(torch.as_tensor(frames.transpose(0, 3, 1, 2).reshape(7, -1) / 255.0,
                                            dtype=torch.float32))[0],
             "flatten each frame in its own (H, W, C) order (frame.reshape(N, -1)); do not move the colour "
             "channels first"),
            (encoder.params(torch.as_tensor(frames_to_vectors(frames)))[1],
             "that is the log-variance; the latent observation is the posterior MEAN"),
        ]
    diagnose("frames_to_latents", out, expected, mistakes, "on random frames", atol=1e-4)


@exercise("dqn_targets", "rlvae_tutorial.rl.dqn:dqn_targets")
def check_dqn_targets(fn: Callable[..., Tensor]) -> None:
    """``fn(rewards (B,), next_q_target (B, A), terminated (B,), gamma) -> targets (B,)``."""
    g = torch.Generator().manual_seed(1)
    r = torch.randn(6, generator=g)
    nq = torch.randn(6, 4, generator=g) * 2
    term = torch.tensor([False, True, False, False, True, False])
    out = expect_tensor(_as_tensor(call(fn, r, nq, term, 0.9, name="dqn_targets"), "dqn_targets").double(), (6,),
                        "dqn_targets on a batch of 6 transitions with 4 actions")
    expected = dqn_targets(r.double(), nq.double(), term, 0.9)
    best = nq.double().max(-1).values
    alive = (~term).double()
    mistakes = [
        (r + 0.9 * best, "a TERMINATED transition has no next state: its target is r alone (multiply the "
         "bootstrap by 1 - terminated)"),
        (r + 0.9 * term.double() * best, "the terminal mask is inverted: bootstrap where terminated is False"),
        (r + alive * best, "discount the next state's value by gamma"),
        (r + 0.9 * alive * nq.double().mean(-1), "Q-learning bootstraps from the BEST next action, "
         "max over a' of Q_target(s', a'), not the average"),
        (r + 0.9 * alive * nq.double().argmax(-1), "use the max VALUE, .max(-1).values, not the argmax index"),
        (0.9 * alive * best, "add the reward r to the discounted next value"),
        (r + 0.9 * alive * best - nq.double().mean(-1), "the target is r + gamma * max Q_target(s', .); "
         "Q(s, a) is subtracted only in the loss, not in the target"),
    ]
    diagnose("dqn_targets", out, expected, mistakes, "on a random batch")


@exercise("steps_to_threshold", "rlvae_tutorial.latents.metrics:steps_to_threshold")
def check_steps_to_threshold(fn: Callable[..., float]) -> None:
    """``fn(steps, returns, threshold, budget) -> float``: steps of the first evaluation at or above
    the threshold; ``budget`` if none is."""
    steps = np.array([0, 1000, 2000, 3000, 4000, 5000])
    returns = np.array([0.0, 0.5, 0.9, 0.7, 0.95, 1.0])
    cases = [
        (steps, returns, 0.9, 5000, 2000.0, "a curve that reaches 0.9 exactly at 2,000 steps"),
        (steps, returns, 0.8, 5000, 2000.0, "a curve that first passes 0.8 at 2,000 steps and dips below later"),
        (steps, returns, 1.5, 5000, 5000.0, "a curve that never reaches the threshold (budget 5,000)"),
        (steps, returns, -1.0, 5000, 0.0, "a curve above the threshold from the first evaluation on"),
    ]
    for s, ret, thr, budget, expected, what in cases:
        out = call(fn, s, ret, thr, budget, name="steps_to_threshold")
        try:
            value = float(out)
        except (TypeError, ValueError):
            raise AssertionError(f"steps_to_threshold should return a number, got {type(out).__name__}") from None
        assert expected == steps_to_threshold(s, ret, thr, budget)
        if math.isclose(value, expected):
            continue
        hint = {
            (2000.0, 2.0): "return the env STEPS of that evaluation (steps[i]), not its index i",
            (2000.0, 4000.0): "the threshold is reached when the return is >= threshold (0.9 counts)",
            (2000.0, 3000.0): "take the FIRST evaluation that reaches the threshold, not the next one",
            (2000.0, 5000.0): "take the FIRST evaluation that reaches the threshold, not the last one",
        }.get((expected, value))
        if expected == 5000.0 and (math.isnan(value) or value in (-1.0, 0.0) or math.isinf(value)):
            hint = ("a run that never reaches the threshold must count as needing the whole budget (return "
                    "budget), or a failed run would look fast or break the average over seeds")
        if expected == 0.0 and value == 1000.0:
            hint = "the first evaluation (index 0) counts too"
        if hint is None and value == 2.0 and expected == 2000.0:
            hint = "return the env STEPS of that evaluation (steps[i]), not its index i"
        raise AssertionError(f"steps_to_threshold on {what}: expected {expected:g}, got {value:g}"
                             + (f"; {hint}" if hint else ""))
