"""Checks for the applications chapter's exercises: the KL-penalised reward, a diversity metric,
and the token-level REINFORCE loss."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from rlvae_tutorial.exercises.common import call, close, expect_tensor
from rlvae_tutorial.guidance.diversity import mean_pairwise_distance
from rlvae_tutorial.guidance.reward import kl_penalized_reward, token_reinforce_loss


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def check_kl_penalized_reward(fn: Callable[[Tensor, Tensor, Tensor, float], Tensor]) -> None:
    """``fn(reward, log_pi, log_prior, lam)`` must return reward - lam * (log_pi - log_prior)."""
    g = _gen()
    r = torch.randn(16, generator=g)
    log_pi = torch.randn(16, generator=g) - 3
    log_p = torch.randn(16, generator=g) - 6
    for lam in (0.5, 2.0, 0.0):
        out = expect_tensor(call(fn, r, log_pi, log_p, lam), (16,), "your penalised reward")
        ref = kl_penalized_reward(r, log_pi, log_p, lam)
        if close(out, ref):
            continue
        if close(out, r + lam * (log_pi - log_p)):
            raise AssertionError(
                "the penalty has the wrong sign: KL(pi || p) is estimated by log pi(z) - log p(z), and the "
                "reward *subtracts* lam times it (a policy far from the prior pays)"
            )
        if close(out, r - (log_pi - log_p)):
            raise AssertionError(f"lam is missing: with lam={lam} the KL term must be multiplied by lam")
        if close(out, lam * r - (log_pi - log_p)):
            raise AssertionError("lam multiplies the KL term log pi - log p, not the reward")
        if close(out, r - lam * log_pi):
            raise AssertionError("the prior is missing: the one-sample KL is log pi(z) - log p(z), not log pi(z)")
        raise AssertionError(f"with lam={lam} your value differs from reward - lam * (log_pi - log_prior)")


def check_mean_pairwise_distance(fn: Callable[[Tensor], Tensor]) -> None:
    """``fn(x)`` with x ``(N, D)`` must return the mean Euclidean distance over pairs i != j, a 0-dim tensor."""
    x = torch.tensor([[0.0, 0.0], [3.0, 4.0], [0.0, 0.0]])
    x_big = torch.rand(20, 64, generator=_gen(1))
    for inp in (x, x_big):
        out = call(fn, inp)
        if isinstance(out, Tensor) and out.dim() == 2:
            raise AssertionError("you returned the (N, N) matrix of distances: average it over pairs i != j")
        out = expect_tensor(torch.as_tensor(out, dtype=torch.float32), (), "your mean pairwise distance")
        ref = mean_pairwise_distance(inp)
        if close(out, ref, atol=1e-4):
            continue
        n = inp.shape[0]
        if close(out, ref * (n - 1) / n, atol=1e-4):
            raise AssertionError(
                "you averaged over all N^2 pairs including i == j (distance 0): divide by N (N - 1), "
                "so that the diagonal does not dilute the mean"
            )
        sq = torch.cdist(inp, inp).pow(2)
        if close(out, sq.sum() / (n * (n - 1)), atol=1e-4) or close(out, sq.sum() / n**2, atol=1e-4):
            raise AssertionError("you averaged *squared* distances: take the Euclidean distance ||x_i - x_j||")
        if close(out, ref * n * (n - 1) / 2, atol=1e-3) or close(out, ref * n * (n - 1), atol=1e-3):
            raise AssertionError("you summed the distances: divide by the number of pairs to get a mean")
        raise AssertionError(f"your value {float(out):.4f} differs from the mean pairwise distance {float(ref):.4f}")
    if not close(torch.as_tensor(call(fn, torch.ones(5, 3)), dtype=torch.float32), torch.tensor(0.0), atol=1e-4):
        raise AssertionError("identical samples (a collapsed generator) must have mean pairwise distance 0")


def check_token_reinforce_loss(fn: Callable[[Tensor, Tensor, Tensor], Tensor]) -> None:
    """``fn(token_log_probs (B, T), mask (B, T), advantage (B,))`` must return
    -mean_b(advantage_b * sum_t mask_bt log_prob_bt), advantage detached."""
    g = _gen(2)
    logits = torch.randn(4, 5, 3, generator=g, requires_grad=True)
    tokens = torch.randint(0, 3, (4, 5), generator=g)
    lp = torch.log_softmax(logits, -1).gather(-1, tokens.unsqueeze(-1)).squeeze(-1)  # (4, 5)
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0], [1, 0, 0, 0, 0], [1, 1, 1, 1, 0]])
    adv = torch.randn(4, generator=g).requires_grad_(True)
    out = expect_tensor(call(fn, lp, mask, adv), (), "your token-level REINFORCE loss")
    ref = token_reinforce_loss(lp, mask, adv)
    a = adv.detach()
    if close(out, -ref):
        raise AssertionError(
            "wrong sign: the loss to *minimise* is minus the surrogate, -mean(A * log pi(sequence))"
        )
    if close(out, -(a * lp.sum(-1)).mean()):
        raise AssertionError("the padding is counted: multiply each token's log-prob by the mask before summing")
    if close(out, -(a * (lp * mask).sum(-1) / mask.sum(-1)).mean()) or close(out, -(a[:, None] * lp * mask).mean()):
        raise AssertionError(
            "sum the tokens' log-probs over t (log pi(sequence) = sum_t log pi(a_t | a_<t)); do not average them"
        )
    if not close(out, ref):
        raise AssertionError("your value differs from -mean_b(A_b * sum_t mask_bt * log_prob_bt)")
    if not out.requires_grad:
        raise AssertionError("the loss must stay differentiable in the token log-probs: do not detach them")
    grad_adv, grad_logits = torch.autograd.grad(out, (adv, logits), allow_unused=True)
    if grad_adv is not None and grad_adv.abs().sum() > 0:
        raise AssertionError("detach the advantage: the estimator multiplies grad log pi by a constant")
    if grad_logits is None or grad_logits.abs().sum() == 0:
        raise AssertionError("the loss must stay differentiable in the token log-probs: do not detach them")
