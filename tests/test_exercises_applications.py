from __future__ import annotations

import pytest
import torch

from rlvae_tutorial.exercises.applications import (
    check_kl_penalized_reward,
    check_mean_pairwise_distance,
    check_token_reinforce_loss,
)
from rlvae_tutorial.guidance import (
    kl_penalized_reward,
    mean_pairwise_distance,
    token_reinforce_loss,
)


def _raise(*args: object) -> None:
    raise NotImplementedError


def test_kl_reward_check() -> None:
    check_kl_penalized_reward.__wrapped__(kl_penalized_reward)
    mistakes = {
        "wrong sign": lambda r, lq, lp, lam: r + lam * (lq - lp),
        "lam is missing": lambda r, lq, lp, lam: r - (lq - lp),
        "lam multiplies the KL term": lambda r, lq, lp, lam: lam * r - (lq - lp),
        "the prior is missing": lambda r, lq, lp, lam: r - lam * lq,
        "kl_penalized_reward is wrong with lam": lambda r, lq, lp, lam: r - lam * (lq - lp) ** 2,
        r"returned shape \(\), expected \(16,\)": lambda r, lq, lp, lam: (r - lam * (lq - lp)).mean(),
        "not implemented yet": _raise,
    }
    for msg, fn in mistakes.items():
        with pytest.raises(AssertionError, match=msg):
            check_kl_penalized_reward.__wrapped__(fn)


def test_pairwise_check() -> None:
    check_mean_pairwise_distance.__wrapped__(mean_pairwise_distance)

    def with_diag(x: torch.Tensor) -> torch.Tensor:
        return torch.cdist(x, x).mean()

    def squared(x: torch.Tensor) -> torch.Tensor:
        n = x.shape[0]
        return torch.cdist(x, x).pow(2).sum() / (n * (n - 1))

    def summed(x: torch.Tensor) -> torch.Tensor:
        return torch.cdist(x, x).sum()

    mistakes = {
        "including i == j": with_diag,
        "squared": squared,
        "you summed": summed,
        "the \\(N, N\\) matrix": lambda x: torch.cdist(x, x),
        "mean_pairwise_distance is wrong on 3 points": lambda x: torch.cdist(x, x).max(),
        "not implemented yet": _raise,
    }
    for msg, fn in mistakes.items():
        with pytest.raises(AssertionError, match=msg):
            check_mean_pairwise_distance.__wrapped__(fn)


def test_token_loss_check() -> None:
    check_token_reinforce_loss.__wrapped__(token_reinforce_loss)
    mistakes = {
        "wrong sign": lambda lp, m, a: -token_reinforce_loss(lp, m, a),
        "the padding is counted": lambda lp, m, a: -(a.detach() * lp.sum(-1)).mean(),
        "do not average them": lambda lp, m, a: -(a.detach() * (lp * m).sum(-1) / m.sum(-1)).mean(),
        "detach the advantage": lambda lp, m, a: -(a * (lp * m).sum(-1)).mean(),
        "do not detach them": lambda lp, m, a: token_reinforce_loss(lp.detach(), m, a),
        "you summed over them": lambda lp, m, a: -(a.detach() * (lp * m).sum(-1)).sum(),
        "returned shape": lambda lp, m, a: -(a.detach() * (lp * m).sum(-1)),
        "not implemented yet": _raise,
    }
    for msg, fn in mistakes.items():
        with pytest.raises(AssertionError, match=msg):
            check_token_reinforce_loss.__wrapped__(fn)


def test_is_valid_check() -> None:
    from rlvae_tutorial.exercises.applications import check_is_valid
    from rlvae_tutorial.guidance.toy_language import is_valid

    check_is_valid.__wrapped__(is_valid)

    def counts_only(s: str) -> bool:
        return bool(s) and s.count("(") == s.count(")") and s.count("[") == s.count("]") and set(s) <= set("()[]")

    def one_type(s: str) -> bool:
        d = 0
        for ch in s:
            if ch not in "()[]":
                return False
            d += 1 if ch in "([" else -1
            if d < 0:
                return False
        return bool(s) and d == 0

    mistakes = {
        "closed before it is opened": counts_only,
        "crossed brackets": one_type,
        "the empty string": lambda s: s == "" or is_valid(s),
        "should return a bool": lambda s: int(is_valid(s)),
        "not implemented yet": _raise,
    }
    for msg, fn in mistakes.items():
        with pytest.raises(AssertionError, match=msg):
            check_is_valid.__wrapped__(fn)


def test_sequence_kl_check() -> None:
    from rlvae_tutorial.exercises.applications import check_sequence_kl

    check_sequence_kl.__wrapped__(lambda a, b, m: (m * (a - b)).sum(-1))
    mistakes = {
        "wrong direction": lambda a, b, m: (m * (b - a)).sum(-1),
        "the padding is counted": lambda a, b, m: (a - b).sum(-1),
        "do not average": lambda a, b, m: (m * (a - b)).sum(-1) / m.sum(-1),
        "sequence_kl is wrong on 5 padded": lambda a, b, m: (m * (a - b)).pow(2).sum(-1),
        r"returned shape \(\)": lambda a, b, m: (m * (a - b)).sum(),
    }
    for msg, fn in mistakes.items():
        with pytest.raises(AssertionError, match=msg):
            check_sequence_kl.__wrapped__(fn)


def test_penalized_advantage_check() -> None:
    from rlvae_tutorial.estimators import leave_one_out_baseline
    from rlvae_tutorial.exercises.applications import check_penalized_advantage

    def loo(x: torch.Tensor) -> torch.Tensor:
        return leave_one_out_baseline(x.unsqueeze(1)).squeeze(1)

    check_penalized_advantage.__wrapped__(lambda r, kl, beta: (r - beta * kl) - loo(r - beta * kl))
    mistakes = {
        "includes the sample itself": lambda r, kl, beta: (r - beta * kl) - (r - beta * kl).mean(),
        "before the baseline": lambda r, kl, beta: r - loo(r),
        "wrong sign": lambda r, kl, beta: (r + beta * kl) - loo(r + beta * kl),
        "penalized_advantage is wrong on K = 8": lambda r, kl, beta: r - beta * kl,
    }
    for msg, fn in mistakes.items():
        with pytest.raises(AssertionError, match=msg):
            check_penalized_advantage.__wrapped__(fn)
