"""Checks for the applications chapters' exercises.

Images: the KL-penalised reward, a diversity metric, the token-level REINFORCE loss.  Text: the
validity checker, the sequence KL to the reference, the penalised leave-one-out advantage."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from rlvae_tutorial.estimators.score_function import leave_one_out_baseline
from rlvae_tutorial.exercises.common import call, close, diagnose, expect_tensor
from rlvae_tutorial.exercises.guard import exercise
from rlvae_tutorial.guidance.diversity import mean_pairwise_distance
from rlvae_tutorial.guidance.reward import kl_penalized_reward, token_reinforce_loss


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@exercise("kl_penalized_reward", "rlvae_tutorial.guidance.reward:kl_penalized_reward")
def check_kl_penalized_reward(fn: Callable[[Tensor, Tensor, Tensor, float], Tensor]) -> None:
    """``fn(reward, log_pi, log_prior, lam)`` must return reward - lam * (log_pi - log_prior)."""
    g = _gen()
    r = torch.randn(16, generator=g)
    log_pi = torch.randn(16, generator=g) - 3
    log_p = torch.randn(16, generator=g) - 6
    for lam in (0.5, 2.0, 0.0):
        out = expect_tensor(call(fn, r, log_pi, log_p, lam), (16,), "your penalised reward")
        diagnose("kl_penalized_reward", out, kl_penalized_reward(r, log_pi, log_p, lam), [
            (r + lam * (log_pi - log_p), "the penalty has the wrong sign: KL(pi || p) is estimated by log pi(z) - "
             "log p(z), and the reward *subtracts* lam times it (a policy far from the prior pays)"),
            (r - (log_pi - log_p), f"lam is missing: with lam={lam} the KL term must be multiplied by lam"),
            (lam * r - (log_pi - log_p), "lam multiplies the KL term log pi - log p, not the reward"),
            (r - lam * log_pi, "the prior is missing: the one-sample KL is log pi(z) - log p(z), not log pi(z)"),
            (r - lam * (log_pi - log_p).mean(), "the KL term was averaged over the batch: keep one penalty per sample"),
        ], f"with lam={lam} (it should be reward - lam * (log_pi - log_prior))")


@exercise("mean_pairwise_distance", "rlvae_tutorial.guidance.diversity:mean_pairwise_distance")
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
        n = inp.shape[0]
        sq = torch.cdist(inp, inp).pow(2)
        summed = "you summed the distances: divide by the number of pairs to get a mean"
        diagnose("mean_pairwise_distance", out, ref, [
            (ref * (n - 1) / n, "you averaged over all N^2 pairs including i == j (distance 0): divide by "
             "N (N - 1), so that the diagonal does not dilute the mean"),
            (sq.sum() / (n * (n - 1)), "you averaged *squared* distances: take the Euclidean distance ||x_i - x_j||"),
            (sq.sum() / n**2, "you averaged *squared* distances: take the Euclidean distance ||x_i - x_j||"),
            (ref * n * (n - 1) / 2, summed),
            (ref * n * (n - 1), summed),
            (torch.cdist(inp, inp, p=1).sum() / (n * (n - 1)), "that is the L1 (Manhattan) distance: use the "
             "Euclidean distance ||x_i - x_j||_2"),
        ], f"on {n} points in {inp.shape[1]} dimensions", atol=1e-4)
    if not close(torch.as_tensor(call(fn, torch.ones(5, 3)), dtype=torch.float32), torch.tensor(0.0), atol=1e-4):
        raise AssertionError("identical samples (a collapsed generator) must have mean pairwise distance 0")


@exercise("token_reinforce_loss", "rlvae_tutorial.guidance.reward:token_reinforce_loss")
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
    averaged = "sum the tokens' log-probs over t (log pi(sequence) = sum_t log pi(a_t | a_<t)); do not average them"
    diagnose("token_reinforce_loss", out, ref, [
        (-ref, "wrong sign: the loss to *minimise* is minus the surrogate, -mean(A * log pi(sequence))"),
        (-(a * lp.sum(-1)).mean(), "the padding is counted: multiply each token's log-prob by the mask before summing"),
        (-(a * (lp * mask).sum(-1) / mask.sum(-1)).mean(), averaged),
        (-(a[:, None] * lp * mask).mean(), averaged),
        (-(a * (lp * mask).sum(-1)).sum(), "average over the B sequences of the batch; you summed over them"),
    ], "on a padded batch of 4 sequences (it should be -mean_b(A_b * sum_t mask_bt * log_prob_bt))")
    if not out.requires_grad:
        raise AssertionError("the loss must stay differentiable in the token log-probs: do not detach them")
    grad_adv, grad_logits = torch.autograd.grad(out, (adv, logits), allow_unused=True)
    if grad_adv is not None and grad_adv.abs().sum() > 0:
        raise AssertionError("detach the advantage: the estimator multiplies grad log pi by a constant")
    if grad_logits is None or grad_logits.abs().sum() == 0:
        raise AssertionError("the loss must stay differentiable in the token log-probs: do not detach them")


# ---- the text chapter ---------------------------------------------------------------------------


@exercise("is_valid", "rlvae_tutorial.guidance.toy_language:is_valid")
def check_is_valid(fn: Callable[[str], bool]) -> None:
    """``fn(s)`` must say whether ``s`` is a non-empty balanced, correctly nested ``()[]`` string."""
    from rlvae_tutorial.guidance.toy_language import is_valid

    cases = {
        "()": "a single pair", "([])": "nesting", "()[]": "concatenation", "[(())]()": "deep nesting",
        "": "the empty string (the book counts it as invalid: nothing was generated)",
        "(": "an unclosed bracket", ")(": "a bracket closed before it is opened",
        "([)]": "crossed brackets: ']' must close the most recent open '[', but '(' is open",
        "(]": "a bracket closed by the wrong type", "(()": "an unclosed bracket", "())": "an extra closer",
        "(a)": "a character outside ()[]",
    }
    for s, what in cases.items():
        out = call(fn, s)
        if not isinstance(out, bool):
            raise AssertionError(f"your function should return a bool, got {type(out).__name__} for {s!r}")
        if out != is_valid(s):
            verdict = "valid" if out else "invalid"
            raise AssertionError(f"you call {s!r} {verdict}, but it is not: {what}")


@exercise("sequence_kl")
def check_sequence_kl(fn: Callable[[Tensor, Tensor, Tensor], Tensor]) -> None:
    """``fn(log_pi, log_ref, mask)`` (each ``(B, T)``) must return sum_t mask * (log_pi - log_ref): ``(B,)``."""
    g = _gen(3)
    log_pi = -torch.rand(5, 7, generator=g) * 3
    log_ref = -torch.rand(5, 7, generator=g) * 3
    mask = (torch.arange(7) < torch.tensor([7, 3, 5, 1, 6]).unsqueeze(1)).float()
    out = expect_tensor(call(fn, log_pi, log_ref, mask), (5,), "your sequence KL")
    ref = (mask * (log_pi - log_ref)).sum(-1)
    diagnose("sequence_kl", out, ref, [
        (-ref, "wrong direction: KL(pi || ref) is estimated by log pi - log ref on pi's samples"),
        ((log_pi - log_ref).sum(-1), "the padding is counted: multiply by the mask before summing over t"),
        (ref / mask.sum(-1), "sum over the tokens (the KL of a sequence is the sum of its per-token terms); do not average"),
        ((mask * (log_pi - log_ref)).mean(-1), "sum over the tokens (the KL of a sequence is the sum of its "
         "per-token terms); do not average"),
    ], "on 5 padded sequences (it should be sum_t mask_t * (log_pi_t - log_ref_t))")


@exercise("penalized_advantage")
def check_penalized_advantage(fn: Callable[[Tensor, Tensor, float], Tensor]) -> None:
    """``fn(reward, kl, beta)`` (``(K,)`` each) must return r' - mean of the other K-1 r', r' = r - beta kl."""
    g = _gen(4)
    reward = (torch.rand(8, generator=g) > 0.5).float()
    kl = torch.rand(8, generator=g) * 2
    beta = 0.3
    out = expect_tensor(call(fn, reward, kl, beta), (8,), "your advantage")
    pen = reward - beta * kl
    ref = pen - leave_one_out_baseline(pen.unsqueeze(1)).squeeze(1)
    loo_raw = reward - leave_one_out_baseline(reward.unsqueeze(1)).squeeze(1)
    before = "apply the KL penalty before the baseline: the baseline averages the penalised rewards r - beta kl"
    plus = reward + beta * kl
    diagnose("penalized_advantage", out, ref, [
        (pen - pen.mean(), "the baseline includes the sample itself: leave it out, b_k = mean of the OTHER K - 1 values"),
        (loo_raw, before),
        (loo_raw - beta * kl, before),
        (plus - leave_one_out_baseline(plus.unsqueeze(1)).squeeze(1), "the KL penalty has the wrong sign: subtract "
         "beta * kl from the reward"),
        (pen - (pen.sum() - pen) / 8, "divide the sum of the other K - 1 values by K - 1 (their number), not by K"),
    ], "on K = 8 samples (it should be r' - (sum of the other r') / (K - 1) with r' = r - beta * kl)")
