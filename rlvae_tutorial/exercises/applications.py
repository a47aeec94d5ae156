"""Checks for the applications chapters' exercises.

Images: the KL-penalised reward, a diversity metric, the token-level REINFORCE loss.  Text: the
validity checker, the sequence KL to the reference, the penalised leave-one-out advantage."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from rlvae_tutorial.estimators.score_function import leave_one_out_baseline
from rlvae_tutorial.exercises.common import call, close, expect_tensor
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
    if close(out, ref):
        return
    if close(out, -ref):
        raise AssertionError("wrong direction: KL(pi || ref) is estimated by log pi - log ref on pi's samples")
    if close(out, (log_pi - log_ref).sum(-1)):
        raise AssertionError("the padding is counted: multiply by the mask before summing over t")
    if close(out, ref / mask.sum(-1)):
        raise AssertionError("sum over the tokens (the KL of a sequence is the sum of its per-token terms); do not average")
    raise AssertionError("your value differs from sum_t mask_t * (log_pi_t - log_ref_t)")


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
    if close(out, ref):
        return
    if close(out, pen - pen.mean()):
        raise AssertionError("the baseline includes the sample itself: leave it out, b_k = mean of the OTHER K - 1 values")
    loo_raw = reward - leave_one_out_baseline(reward.unsqueeze(1)).squeeze(1)
    if close(out, loo_raw) or close(out, loo_raw - beta * kl):
        raise AssertionError("apply the KL penalty before the baseline: the baseline averages the penalised rewards r - beta kl")
    if close(out, (reward + beta * kl) - leave_one_out_baseline((reward + beta * kl).unsqueeze(1)).squeeze(1)):
        raise AssertionError("the KL penalty has the wrong sign: subtract beta * kl from the reward")
    raise AssertionError("your value differs from r' - (sum of the other r') / (K - 1) with r' = r - beta * kl")
