"""Every check of the latents chapter passes the reference and names each typical mistake."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rlvae_tutorial.envs.wrappers import frames_to_latents, frames_to_vectors
from rlvae_tutorial.exercises import latents as ex
from rlvae_tutorial.latents.metrics import steps_to_threshold
from rlvae_tutorial.rl.dqn import dqn_targets


def _fails(check, fn, match: str) -> None:  # noqa: ANN001
    with pytest.raises(AssertionError, match=match):
        check(fn)


def test_references_pass() -> None:
    ex.check_latent_observation.__wrapped__(frames_to_latents)
    ex.check_dqn_targets.__wrapped__(dqn_targets)
    ex.check_steps_to_threshold.__wrapped__(steps_to_threshold)


def test_stubs_say_not_implemented() -> None:
    def todo(*args):  # noqa: ANN002, ANN202
        raise NotImplementedError

    for check in (ex.check_latent_observation, ex.check_dqn_targets, ex.check_steps_to_threshold):
        _fails(check, todo, "not implemented yet")


def test_latent_observation_mistakes() -> None:
    c = ex.check_latent_observation.__wrapped__

    def unscaled(enc, frames):  # noqa: ANN001, ANN202
        return enc(torch.as_tensor(frames.reshape(len(frames), -1), dtype=torch.float32)).mean

    def channels_first(enc, frames):  # noqa: ANN001, ANN202
        x = torch.as_tensor(frames.transpose(0, 3, 1, 2).reshape(len(frames), -1) / 255.0, dtype=torch.float32)
        return enc(x).mean

    def sample(enc, frames):  # noqa: ANN001, ANN202
        return enc(torch.as_tensor(frames_to_vectors(frames))).sample()

    def logvar(enc, frames):  # noqa: ANN001, ANN202
        return enc.params(torch.as_tensor(frames_to_vectors(frames)))[1]

    _fails(c, unscaled, "divide the uint8 values by 255")
    _fails(c, channels_first, "do not move the colour channels first")
    _fails(c, sample, "SAMPLE of q")
    _fails(c, logvar, "log-variance")
    _fails(c, lambda enc, frames: frames_to_latents(enc, frames)[:, :2], r"shape \(7, 2\), expected \(7, 3\)")
    _fails(c, lambda enc, frames: frames_to_latents(enc, frames) + 1.0, "wrong on random frames")
    _fails(c, lambda enc, frames: frames_to_latents(enc, frames).tolist(), "NumPy array or a torch.Tensor")


def test_dqn_targets_mistakes() -> None:
    c = ex.check_dqn_targets.__wrapped__
    _fails(c, lambda r, q, d, g: r + g * q.max(-1).values, "TERMINATED transition has no next state")
    _fails(c, lambda r, q, d, g: r + g * d * q.max(-1).values, "inverted")
    _fails(c, lambda r, q, d, g: r + (~d) * q.max(-1).values, "discount the next state's value by gamma")
    _fails(c, lambda r, q, d, g: r + g * (~d) * q.mean(-1), "BEST next action")
    _fails(c, lambda r, q, d, g: r + g * (~d) * q.argmax(-1), "max VALUE")
    _fails(c, lambda r, q, d, g: g * (~d) * q.max(-1).values, "add the reward")
    _fails(c, lambda r, q, d, g: (r + g * (~d) * q.max(-1).values)[:-1], r"shape \(5,\), expected \(6,\)")
    _fails(c, lambda r, q, d, g: r + 0.5 * g * (~d) * q.max(-1).values, "wrong on a random batch")


def _first_index(steps, returns, thr, budget):  # noqa: ANN001, ANN202
    hit = np.flatnonzero(np.asarray(returns) >= thr)
    return float(hit[0]) if len(hit) else float(budget)


def _strict(steps, returns, thr, budget):  # noqa: ANN001, ANN202
    hit = np.flatnonzero(np.asarray(returns) > thr)
    return float(steps[hit[0]]) if len(hit) else float(budget)


def _last(steps, returns, thr, budget):  # noqa: ANN001, ANN202
    hit = np.flatnonzero(np.asarray(returns) >= thr)
    return float(steps[hit[-1]]) if len(hit) else float(budget)


def _nan_if_never(steps, returns, thr, budget):  # noqa: ANN001, ANN202
    hit = np.flatnonzero(np.asarray(returns) >= thr)
    return float(steps[hit[0]]) if len(hit) else float("nan")


def _skips_first(steps, returns, thr, budget):  # noqa: ANN001, ANN202
    return steps_to_threshold(steps[1:], returns[1:], thr, budget)


def test_steps_to_threshold_mistakes() -> None:
    c = ex.check_steps_to_threshold.__wrapped__
    _fails(c, _first_index, r"env STEPS of that evaluation")
    _fails(c, _strict, ">= threshold")
    _fails(c, _last, "FIRST evaluation")
    _fails(c, _nan_if_never, "whole budget")
    _fails(c, _skips_first, "first evaluation .index 0. counts too")
    _fails(c, lambda s, r, t, b: "fast", "should return a number")
