"""The score-function (REINFORCE) estimator as a surrogate objective, and baselines as pure functions.

For J(phi) = E_{z ~ q_phi}[r(z)] the score-function identity gives

    grad J = E[ r(z) grad log q_phi(z) ] = E[ (r(z) - b) grad log q_phi(z) ]

for any baseline b that does not depend on the sampled z (because E[grad log q_phi(z)] = 0).
Autograd computes it from a *surrogate* whose value is meaningless but whose gradient is the
estimator: log q_phi(z) * (r - b), with r and b detached (Williams, 1992; Pyro's ``TraceGraph_ELBO``).
"""

from __future__ import annotations

import torch
from torch import Tensor

from rlvae_tutorial.dtypes import as_float, as_floats


def score_function_surrogate(log_prob: Tensor, reward: Tensor, baseline: Tensor | float | None = None) -> Tensor:
    """Surrogate objective s = log_prob * (reward - baseline), reward and baseline detached.

    grad s = (r - b) * grad log q(z) is one draw of the score-function estimator of grad E_q[r]:
    *maximise* the mean of s (or minimise ``-s.mean()``).  Detaching matters: without it, autograd
    would also differentiate r and b, which adds terms that are not part of the estimator.

    log_prob: ``(...)``, log q_phi(z) of the sampled z (differentiable in phi, z itself detached);
    reward: broadcastable to log_prob's shape, e.g. ``(K, B)`` for K samples of B inputs;
    baseline: ``None`` (none), a float, or a tensor broadcastable to the same shape.
    Returns ``(...)``, the broadcast shape, one surrogate per sample.
    """
    if not isinstance(log_prob, Tensor) or not isinstance(reward, Tensor):
        raise TypeError("log_prob and reward must be tensors (log q(z) of the sampled z, and r(z))")
    log_prob, reward = as_floats(log_prob, reward)
    if isinstance(baseline, Tensor):
        baseline = as_float(baseline, reward.dtype)
    advantage = reward.detach()
    if baseline is not None:
        advantage = advantage - (baseline.detach() if isinstance(baseline, Tensor) else baseline)
    try:
        shape = torch.broadcast_shapes(log_prob.shape, advantage.shape)
    except RuntimeError:
        raise ValueError(
            f"log_prob {tuple(log_prob.shape)} and reward - baseline {tuple(advantage.shape)} do not "
            "broadcast; give one reward per sampled z (e.g. both (K, B))"
        ) from None
    if shape != log_prob.shape:
        raise ValueError(
            f"reward - baseline of shape {tuple(advantage.shape)} would broadcast log_prob "
            f"{tuple(log_prob.shape)} to {tuple(shape)}: give one reward per sampled z"
        )
    return log_prob * advantage


def leave_one_out_baseline(rewards: Tensor) -> Tensor:
    """b_k = mean of the other K - 1 rewards of the same input: ``(K, B) -> (K, B)``.

    b_k = (sum_j r_j - r_k) / (K - 1).  It does not depend on z_k, so the estimator stays unbiased,
    and averaging (r_k - b_k) grad log q(z_k) over k is the "Buy 4 REINFORCE samples, get a
    baseline for free!" estimator of Kool et al. (2019), called RLOO in language-model fine-tuning
    (Ahmadian et al., 2024); GRPO (Shao et al., 2024) instead subtracts the mean of all K and
    divides by their standard deviation.  (VIMCO, Mnih & Rezende 2016, uses leave-one-out baselines
    for the multi-sample bound, not the ELBO.)  Any trailing dimensions are treated like B.
    Returns a detached tensor.
    """
    if rewards.dim() < 1 or rewards.shape[0] < 2:
        raise ValueError(
            f"the leave-one-out baseline needs K >= 2 samples per input along dim 0, got shape "
            f"{tuple(rewards.shape)}; draw several z per x (rewards of shape (K, B))"
        )
    r = as_float(rewards).detach()
    k = r.shape[0]
    return (r.sum(dim=0, keepdim=True) - r) / (k - 1)


def group_normalized_advantages(rewards: Tensor, eps: float = 1e-8) -> Tensor:
    """GRPO's advantages: each reward centred and scaled by its own group's mean and spread.

    A_k = (r_k - mean_j r_j) / (std_j r_j + eps) over the K samples of the same input (dim 0):
    ``(K, B) -> (K, B)``, detached; std is the sample standard deviation (divisor K - 1).
    Group Relative Policy Optimization (Shao et al., 2024, "DeepSeekMath", eq. for the outcome
    advantage) with one reward per completion: the group is the K completions of one prompt, here
    the K codes z of one image x.  The centring alone is the leave-one-out advantage times
    (K - 1) / K (r_k - mean = (K - 1)/K * (r_k - b_k^LOO)), so it keeps the estimator unbiased up
    to that constant.  The division changes the estimator: it divides by the sample std of the same
    K rewards, a random number that depends on every z_k of the group (z_k itself included), so even
    for one input the mean is no longer proportional to that input's gradient, and across inputs it
    roughly weights each by 1 / sigma(x): inputs whose rewards vary little get the largest steps
    (with pass/fail rewards, prompts almost always solved or almost always failed: the difficulty
    bias of Liu et al., 2025, "Understanding R1-Zero-like training", which Dr. GRPO removes).  The
    step's scale no longer depends on the reward's units.
    """
    if rewards.dim() < 1 or rewards.shape[0] < 2:
        raise ValueError(
            f"group normalisation needs K >= 2 samples per input along dim 0, got shape "
            f"{tuple(rewards.shape)}; draw several z per x (rewards of shape (K, B))"
        )
    r = as_float(rewards).detach()
    centred = r - r.mean(dim=0, keepdim=True)
    return centred / (r.std(dim=0, keepdim=True) + eps)


def normalize_advantages(advantage: Tensor, eps: float = 1e-8) -> Tensor:
    """(a - mean(a)) / (std(a) + eps) over all elements, detached: any shape -> same shape.

    Rescaling by the batch's spread keeps the step size steady as rewards change scale (NVIL's
    variance normalisation, Mnih & Gregor, 2014).  Subtracting the batch mean is a baseline that
    uses the current sample, so it adds a bias of order 1/N; dividing changes the effective step size.
    """
    a = as_float(advantage).detach()
    if a.numel() < 2:
        raise ValueError(f"normalising needs at least two advantages, got shape {tuple(a.shape)}")
    return (a - a.mean()) / (a.std() + eps)


def with_value(surrogate: Tensor, value: Tensor) -> Tensor:
    """One scalar whose gradient is ``surrogate``'s and whose value is ``value`` (detached).

    For a training loop that takes a single tensor: it backpropagates the surrogate (whose value
    means nothing) and records the loss (which has no useful gradient).  Compute the two apart, as
    Pyro's ``TraceGraph_ELBO`` does, and join them only here.  Scalars -> scalar.
    """
    surrogate, value = as_floats(surrogate, value)
    return value.detach() + (surrogate - surrogate.detach())
