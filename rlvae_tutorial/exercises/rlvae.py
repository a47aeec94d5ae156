"""Checks for the RL-meets-VAEs chapters' exercises.

The encoder as a policy: the reward's sign, the surrogate, leave-one-out.  Beyond
reparameterisation: the straight-through sample, the Bernoulli KL, the EMA baseline's update.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from rlvae_tutorial.estimators.relaxed import logistic_noise, relaxed_bernoulli
from rlvae_tutorial.estimators.score_function import (
    leave_one_out_baseline,
    score_function_surrogate,
)
from rlvae_tutorial.exercises.common import call, close, diagnose, expect_tensor
from rlvae_tutorial.exercises.guard import exercise
from rlvae_tutorial.rlvae.objective import elbo_reward


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@exercise("elbo_reward", "rlvae_tutorial.rlvae.objective:elbo_reward")
def check_elbo_reward(fn: Callable[[Tensor, Tensor, Tensor, float], Tensor]) -> None:
    """``fn(log_px_z, log_qz, log_pz, beta)`` must return r = log p(x|z) - beta (log q - log p)."""
    g = _gen()
    log_px = -30 * torch.rand(4, 6, generator=g)
    log_q = torch.randn(4, 6, generator=g) - 5
    log_p = torch.randn(4, 6, generator=g) - 8
    for beta in (1.0, 0.5, 4.0):
        out = expect_tensor(call(fn, log_px, log_q, log_p, beta), (4, 6), "your reward")
        ref = elbo_reward(log_px, log_q, log_p, beta)
        kl_sign = ("the KL term has the wrong sign: the single-sample KL is log q(z|x) - log p(z), and the reward "
                   "subtracts beta times it")
        diagnose("elbo_reward", out, ref, [
            (-ref, "wrong sign: you returned the beta-VAE *loss* -log p(x|z) + beta (log q - log p); the reward is "
             "its negative, because a reward is maximised and a loss minimised"),
            (None if beta == 1.0 else log_px - (log_q - log_p),
             f"beta is missing: with beta={beta} the KL term must be multiplied by beta"),
            (None if beta == 1.0 else beta * log_px - (log_q - log_p),
             "beta multiplies the KL term log q - log p, not the reconstruction log p(x|z)"),
            (log_px - beta * (log_p - log_q), kl_sign),
            (log_px - beta * log_q, "log p(z) is missing: the single-sample KL is log q(z|x) - log p(z)"),
            (log_px - beta * (log_q - log_p).mean(0, keepdim=True), "the KL term was averaged over the K samples: "
             "each sample z_k gets its own reward, elementwise"),
            (log_px - beta * (log_q - log_p).sum(-1, keepdim=True), "the KL term was summed over the batch and "
             "broadcast: keep it elementwise, one reward per (sample, input)"),
        ], f"with beta={beta} on a (K, B) = (4, 6) block (it should be log p(x|z) - beta (log q(z|x) - log p(z)))")


@exercise("score_function_surrogate", "rlvae_tutorial.estimators.score_function:score_function_surrogate")
def check_score_function_surrogate(fn: Callable[[Tensor, Tensor, Tensor | None], Tensor]) -> None:
    """``fn(log_prob, reward, baseline)`` must return log_prob * (reward - baseline), r and b detached."""
    g = _gen(1)
    mu = torch.randn(3, 5, generator=g, requires_grad=True)
    z = mu.detach() + torch.randn(3, 5, generator=g)
    log_prob = torch.distributions.Normal(mu, 1.0).log_prob(z)  # (3, 5)
    reward = (z**2).requires_grad_(True)
    baseline = torch.full((3, 5), 0.7, requires_grad=True)
    out = expect_tensor(call(fn, log_prob, reward, baseline), (3, 5), "your surrogate")
    ref = score_function_surrogate(log_prob, reward, baseline)
    diagnose("score_function_surrogate", out, ref, [
        (-ref, "wrong sign: the surrogate is an objective to *maximise*: log_prob * (reward - baseline)"),
        (log_prob * (reward + baseline), "subtract the baseline from the reward: (reward - baseline), not (reward + baseline)"),
        (log_prob * reward, "the baseline is missing: multiply log_prob by (reward - baseline)"),
        (log_prob.exp() * (reward - baseline), "use the LOG-probability: the score function is grad log q(z)"),
        (log_prob * (reward - baseline).mean(), "the advantage was averaged over the batch: keep it elementwise"),
    ], "on (3, 5) inputs (it should be log_prob * (reward - baseline), elementwise)")
    if not out.requires_grad:
        raise AssertionError("the surrogate must stay differentiable in log_prob: do not detach log_prob")
    grad_mu, grad_r, grad_b = torch.autograd.grad(out.sum(), (mu, reward, baseline), allow_unused=True)
    if (grad_r is not None and grad_r.abs().sum() > 0) or (grad_b is not None and grad_b.abs().sum() > 0):
        raise AssertionError(
            "detach the reward and the baseline (.detach()): the estimator multiplies grad log q by a "
            "constant; letting gradients flow into r and b adds terms that are not the score function"
        )
    expected_mu = (reward - baseline).detach() * (z - mu.detach())  # d log N(z; mu, 1) / d mu = z - mu
    if grad_mu is None or not close(grad_mu, expected_mu):
        raise AssertionError("its gradient in the policy's parameters should be (r - b) * grad log q(z)")
    out_none = expect_tensor(call(fn, log_prob, reward.detach(), None), (3, 5), "your surrogate with baseline=None")
    if not close(out_none, log_prob * reward):
        raise AssertionError("with baseline=None the surrogate is log_prob * reward (no baseline)")


@exercise("leave_one_out_baseline", "rlvae_tutorial.estimators.score_function:leave_one_out_baseline")
def check_leave_one_out_baseline(fn: Callable[[Tensor], Tensor]) -> None:
    """``fn(rewards)`` ``(K, B) -> (K, B)``: b_k = mean of the other K - 1 rewards of the same input."""
    r = torch.tensor([[1.0, 10.0], [2.0, 20.0], [6.0, 60.0]])  # K = 3, B = 2
    out = expect_tensor(call(fn, r), (3, 2), "your leave-one-out baseline on (K=3, B=2) rewards")
    ref = leave_one_out_baseline(r)  # [[4, 40], [3.5, 35], [1.5, 15]]
    diagnose("leave_one_out_baseline", out, ref, [
        (r.mean(0, keepdim=True).expand(3, 2), "b_k includes r_k itself: leave it out (mean of the OTHER K - 1 "
         "rewards), or the baseline depends on z_k and the estimator is biased"),
        ((r.sum(0, keepdim=True) - r) / 3, "divide the sum of the other rewards by K - 1 (their number), not by K"),
        ((r.sum(1, keepdim=True) - r) / 1, "average over the K samples of the same input (dim 0), not over the batch (dim 1)"),
        (r - (r.sum(0, keepdim=True) - r) / 2, "that is the advantage r_k - b_k; return the baseline b_k itself"),
    ], f"for rewards {r.tolist()} (K = 3, B = 2)")
    g = _gen(2)
    rand = torch.randn(4, 7, generator=g) * 5 - 20
    out = expect_tensor(call(fn, rand), (4, 7), "your leave-one-out baseline on (K=4, B=7) rewards")
    if not close(out, leave_one_out_baseline(rand)):
        raise AssertionError("wrong values for K = 4 (random rewards); b_k = (sum_j r_j - r_k) / (K - 1)")
    two = torch.tensor([[3.0], [5.0]])
    out = expect_tensor(call(fn, two), (2, 1), "your leave-one-out baseline for K = 2")
    if not close(out, torch.tensor([[5.0], [3.0]])):
        raise AssertionError("with K = 2 each sample's baseline is the other sample's reward")


@exercise("straight_through_bernoulli", "rlvae_tutorial.estimators.relaxed:straight_through_bernoulli")
def check_straight_through_bernoulli(fn: Callable[[Tensor, float, Tensor], Tensor]) -> None:
    """``fn(logits, temperature, noise)``: hard 1[l + L > 0] forward, sigmoid((l + L) / tau) gradient."""
    g = _gen(3)
    logits = torch.randn(5, 6, generator=g).requires_grad_(True)
    noise = logistic_noise((4, 5, 6), generator=g)
    out = expect_tensor(call(fn, logits, 0.5, noise), (4, 5, 6), "your straight-through sample")
    hard = (logits.detach() + noise > 0).float()
    soft = relaxed_bernoulli(logits.detach(), 0.5, noise)
    if close(out, soft):
        raise AssertionError("the forward value must be the hard sample 1[logits + noise > 0], not the relaxed one")
    if close(out, 1 - hard):
        raise AssertionError("the sample is 1 where logits + noise > 0 (you have it flipped)")
    if not close(out, hard):
        raise AssertionError("the forward value must be exactly the hard sample 1[logits + noise > 0] in {0, 1}")
    if not out.requires_grad:
        raise AssertionError(
            "no gradient reaches the logits: add the relaxed sample's gradient, hard + (soft - soft.detach())"
        )
    (grad,) = torch.autograd.grad(out.sum(), logits)
    (expected,) = torch.autograd.grad(relaxed_bernoulli(logits, 0.5, noise).sum(), logits)
    (at_one,) = torch.autograd.grad(relaxed_bernoulli(logits, 1.0, noise).sum(), logits)
    if close(grad, at_one) and not close(grad, expected):
        raise AssertionError("the temperature is missing: the relaxed sample is sigmoid((logits + noise) / temperature)")
    if not close(grad, expected):
        raise AssertionError("the backward pass must be the gradient of sigmoid((logits + noise) / temperature)")


@exercise("bernoulli_kl")
def check_bernoulli_kl(fn: Callable[[Tensor], Tensor]) -> None:
    """``fn(logits)`` ``(B, D) -> (B,)``: KL(prod_d Bernoulli(sigmoid(l_d)) || Bernoulli(1/2)^D)."""
    logits = torch.randn(7, 16, generator=_gen(4)) * 2
    q = torch.distributions.Bernoulli(logits=logits)
    p = torch.distributions.Bernoulli(probs=torch.full_like(logits, 0.5))
    ref_dims = torch.distributions.kl_divergence(q, p)  # (7, 16)
    out = call(fn, logits)
    if isinstance(out, Tensor) and out.shape == (7, 16) and close(out, ref_dims):
        raise AssertionError("sum the KL over the D latent dimensions: return shape (B,)")
    out = expect_tensor(out, (7,), "your Bernoulli KL")
    qs, lp = torch.sigmoid(logits), logits.clamp(1e-3, 1 - 1e-3)  # lp: logits taken for probabilities
    diagnose("bernoulli_kl", out, ref_dims.sum(-1), [
        (torch.distributions.kl_divergence(p, q).sum(-1), "that is KL(p || q); the ELBO needs KL(q(z|x) || p(z)) = "
         "E_q[log q - log p]"),
        (ref_dims.sum(-1) - 32 * torch.log(torch.tensor(2.0)), "log p(z) = -D log 2 under Bernoulli(1/2)^D: "
         "KL = E_q[log q] + D log 2, you subtracted it"),
        (ref_dims.sum(-1) - 16 * torch.log(torch.tensor(2.0)), "log p(z) = -D log 2 under Bernoulli(1/2)^D: "
         "KL = E_q[log q] + D log 2"),
        (ref_dims.mean(-1), "sum the KL over the D latent dimensions; you averaged over them"),
        (-ref_dims.sum(-1), "wrong sign: a KL divergence is never negative"),
        ((lp * torch.log(2 * lp) + (1 - lp) * torch.log(2 * (1 - lp))).sum(-1),
         "the logits are not probabilities: q = sigmoid(logits)"),
        ((qs * torch.log(2 * qs)).sum(-1), "the KL of a Bernoulli has two terms: q log(2q) + (1 - q) log(2(1 - q))"),
    ], "on (7, 16) logits (KL per dimension is q log(2q) + (1 - q) log(2(1 - q)), q = sigmoid(logits))", atol=1e-4)


@exercise("ema_update", "rlvae_tutorial.estimators.baselines:ema_update")
def check_ema_update(fn: Callable[[Tensor, Tensor, float], Tensor]) -> None:
    """``fn(value, rewards, decay)``: decay * value + (1 - decay) * mean(rewards), a 0-dim tensor."""
    value, rewards = torch.tensor(-30.0), torch.tensor([-10.0, -20.0, -12.0])
    out = call(fn, value, rewards, 0.9)
    if isinstance(out, Tensor) and out.shape == (3,):
        raise AssertionError("average the batch's rewards first: the EMA is one number, shape ()")
    out = expect_tensor(out, (), "your EMA update")
    diagnose("ema_update", out, torch.tensor(0.9 * -30.0 + 0.1 * -14.0), [
        (torch.tensor(0.1 * -30.0 + 0.9 * -14.0), "decay weighs the OLD value: decay * value + (1 - decay) * new mean"),
        (torch.tensor(0.9 * -30.0 + 0.1 * -42.0), "average the batch's rewards (their mean), do not sum them"),
        (torch.tensor(0.9 * -30.0 - 14.0), "the new mean is weighted by (1 - decay)"),
    ], "for value -30, rewards mean -14 and decay 0.9", atol=1e-4)
