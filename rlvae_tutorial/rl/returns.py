"""Returns and advantages: the discounted return and generalised advantage estimation (GAE).

Both are pure functions of tensors laid out as ``(T,)`` (one stream of steps) or ``(B, T)``
(``B`` streams side by side, e.g. one per vectorised environment), with time on the LAST axis.
``terminated[..., t]`` is ``True`` when the episode ended *at* step ``t`` (after reward
``r_t``): nothing after it belongs to the same episode, so the recursions reset there.

Truncation (a time limit, not a real end) is not termination: the episode would have gone on.
The book's training loops handle it by adding ``gamma * V(final observation)`` to the last
reward and then marking the step as terminated (the standard bootstrap, as Stable-Baselines3
does); these functions only ever see ``terminated``.

The recursions run backwards over time in float64 NumPy on the CPU: for the small tensors of
this book a Python loop over NumPy rows is ~100x faster than over torch elements.  Rewards,
values and flags are data, so no gradient flows through the result.  Integer or bool rewards
and values are fine (the package's dtype policy, :mod:`rlvae_tutorial.dtypes`): the result is
floating, ``[0, 0, 1]`` gives ``[0.81, 0.9, 1.0]`` for gamma = 0.9.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from rlvae_tutorial.dtypes import float_dtype


def _as_numpy(x: Tensor | np.ndarray | float) -> np.ndarray:
    if isinstance(x, Tensor):
        x = x.detach().cpu().numpy()
    return np.asarray(x, dtype=np.float64)


def _check_layout(rewards: Tensor, name: str = "rewards") -> None:
    if not isinstance(rewards, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of shape (T,) or (B, T), got {type(rewards).__name__}")
    if rewards.ndim not in (1, 2) or rewards.shape[-1] == 0:
        raise ValueError(
            f"{name} must have shape (T,) or (B, T) with T >= 1 (time on the last axis), "
            f"got {tuple(rewards.shape)}"
        )
    if not torch.isfinite(rewards).all():
        raise ValueError(f"{name} contains NaN or inf")


def _check_gamma(gamma: float, name: str = "gamma") -> None:
    if not 0.0 <= float(gamma) <= 1.0:
        raise ValueError(f"{name} must be in [0, 1], got {gamma}")


def _flags(terminated: Tensor | None, like: Tensor) -> np.ndarray:
    if terminated is None:
        return np.zeros(like.shape, dtype=np.float64)
    if tuple(terminated.shape) != tuple(like.shape):
        raise ValueError(
            f"terminated has shape {tuple(terminated.shape)} but rewards have {tuple(like.shape)}; "
            "pass one flag per reward"
        )
    return _as_numpy(terminated.bool())


def _next_values(next_value: Tensor | float | None, like: Tensor) -> np.ndarray:
    batch = like.shape[:-1]  # () or (B,)
    if next_value is None:
        return np.zeros(batch, dtype=np.float64)
    value = _as_numpy(next_value)  # a float is kept in float64, not rounded through float32
    if value.shape not in {(), batch}:
        raise ValueError(
            f"next_value must be a scalar or have shape {tuple(batch)} (one per row of rewards), "
            f"got {tuple(value.shape)}"
        )
    return np.broadcast_to(value, batch)


def discounted_returns(
    rewards: Tensor,
    gamma: float,
    terminated: Tensor | None = None,
    *,
    next_value: Tensor | float | None = None,
) -> Tensor:
    r"""The discounted return :math:`G_t = \sum_{k \ge 0} \gamma^k r_{t+k}` within each episode.

    Computed by the backward recursion :math:`G_t = r_t + \gamma (1 - d_t) G_{t+1}`, where
    :math:`d_t` is ``terminated[..., t]`` and :math:`G_T` is ``next_value`` (default 0: the
    stream ends with the episode; pass :math:`V(s_T)` to bootstrap an unfinished one).

    rewards: ``(T,)`` or ``(B, T)``; terminated: same shape, bool (or ``None``: one episode per
    row); next_value: scalar or ``(B,)``  ->  returns of the same shape as ``rewards``, floating
    (``rewards``' dtype, or torch's default dtype for integer rewards).
    """
    _check_layout(rewards)
    _check_gamma(gamma)
    r = _as_numpy(rewards)
    not_done = 1.0 - _flags(terminated, rewards)
    out = np.empty_like(r)
    acc = np.array(_next_values(next_value, rewards), dtype=np.float64)
    for t in range(r.shape[-1] - 1, -1, -1):
        acc = r[..., t] + gamma * not_done[..., t] * acc
        out[..., t] = acc
    return torch.as_tensor(out, dtype=float_dtype(rewards), device=rewards.device)


def gae(
    rewards: Tensor,
    values: Tensor,
    next_value: Tensor | float,
    terminated: Tensor | None,
    gamma: float,
    gae_lambda: float,
) -> Tensor:
    r"""Generalised advantage estimation :cite:`schulman2016high`.

    TD errors :math:`\delta_t = r_t + \gamma (1 - d_t) V(s_{t+1}) - V(s_t)` are summed with
    weights :math:`(\gamma\lambda)^k` inside each episode:
    :math:`A_t = \delta_t + \gamma \lambda (1 - d_t) A_{t+1}`.  :math:`V(s_{t+1})` is
    ``values[..., t+1]``, and ``next_value`` for the last step; :math:`\lambda` is ``gae_lambda``.
    ``gae_lambda=1`` gives
    :math:`G_t - V(s_t)` (Monte-Carlo), ``gae_lambda=0`` the one-step TD error.  The value targets are
    ``advantages + values``.

    rewards, values: ``(T,)`` or ``(B, T)``; next_value: scalar or ``(B,)``; terminated: same
    shape as rewards, bool, or ``None``  ->  advantages, same shape as ``rewards``, in the
    floating dtype of rewards and values together (float32 for integer rewards and values).
    """
    _check_layout(rewards)
    _check_gamma(gamma)
    _check_gamma(gae_lambda, "gae_lambda")
    if not isinstance(values, Tensor) or tuple(values.shape) != tuple(rewards.shape):
        shape = tuple(values.shape) if isinstance(values, Tensor) else type(values).__name__
        raise ValueError(
            f"values must be a tensor shaped like rewards {tuple(rewards.shape)} (V(s_t) for every "
            f"step), got {shape}"
        )
    r = _as_numpy(rewards)
    v = _as_numpy(values)
    not_done = 1.0 - _flags(terminated, rewards)
    v_next = np.concatenate([v[..., 1:], _next_values(next_value, rewards)[..., None]], axis=-1)
    delta = r + gamma * not_done * v_next - v
    out = np.empty_like(r)
    acc = np.zeros(r.shape[:-1], dtype=np.float64)
    for t in range(r.shape[-1] - 1, -1, -1):
        acc = delta[..., t] + gamma * gae_lambda * not_done[..., t] * acc
        out[..., t] = acc
    return torch.as_tensor(out, dtype=float_dtype(rewards, values), device=rewards.device)
