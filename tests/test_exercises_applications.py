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
    check_kl_penalized_reward(kl_penalized_reward)
    mistakes = {
        "wrong sign": lambda r, lq, lp, lam: r + lam * (lq - lp),
        "lam is missing": lambda r, lq, lp, lam: r - (lq - lp),
        "lam multiplies the KL term": lambda r, lq, lp, lam: lam * r - (lq - lp),
        "the prior is missing": lambda r, lq, lp, lam: r - lam * lq,
        "your value differs": lambda r, lq, lp, lam: r - lam * (lq - lp) ** 2,
        r"returned shape \(\), expected \(16,\)": lambda r, lq, lp, lam: (r - lam * (lq - lp)).mean(),
        "not implemented yet": _raise,
    }
    for msg, fn in mistakes.items():
        with pytest.raises(AssertionError, match=msg):
            check_kl_penalized_reward(fn)


def test_pairwise_check() -> None:
    check_mean_pairwise_distance(mean_pairwise_distance)

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
        "differs from the mean pairwise": lambda x: torch.cdist(x, x).max(),
        "not implemented yet": _raise,
    }
    for msg, fn in mistakes.items():
        with pytest.raises(AssertionError, match=msg):
            check_mean_pairwise_distance(fn)


def test_token_loss_check() -> None:
    check_token_reinforce_loss(token_reinforce_loss)
    mistakes = {
        "wrong sign": lambda lp, m, a: -token_reinforce_loss(lp, m, a),
        "the padding is counted": lambda lp, m, a: -(a.detach() * lp.sum(-1)).mean(),
        "do not average them": lambda lp, m, a: -(a.detach() * (lp * m).sum(-1) / m.sum(-1)).mean(),
        "detach the advantage": lambda lp, m, a: -(a * (lp * m).sum(-1)).mean(),
        "do not detach them": lambda lp, m, a: token_reinforce_loss(lp.detach(), m, a),
        "your value differs": lambda lp, m, a: -(a.detach() * (lp * m).sum(-1)).sum(),
        "returned shape": lambda lp, m, a: -(a.detach() * (lp * m).sum(-1)),
        "not implemented yet": _raise,
    }
    for msg, fn in mistakes.items():
        with pytest.raises(AssertionError, match=msg):
            check_token_reinforce_loss(fn)
