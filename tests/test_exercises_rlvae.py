from __future__ import annotations

import pytest
import torch

from rlvae_tutorial.estimators import leave_one_out_baseline, score_function_surrogate
from rlvae_tutorial.exercises.rlvae import (
    check_elbo_reward,
    check_leave_one_out_baseline,
    check_score_function_surrogate,
)
from rlvae_tutorial.rlvae import elbo_reward


def test_reward_check() -> None:
    check_elbo_reward(elbo_reward)
    check_elbo_reward(lambda lp, lq, lpz, beta: lp - beta * (lq - lpz))
    mistakes = {
        "wrong sign: you returned the beta-VAE \\*loss\\*": lambda lp, lq, lpz, beta: -lp + beta * (lq - lpz),
        "beta is missing": lambda lp, lq, lpz, beta: lp - (lq - lpz),
        "beta multiplies the KL term": lambda lp, lq, lpz, beta: beta * lp - (lq - lpz),
        "the KL term has the wrong sign": lambda lp, lq, lpz, beta: lp + beta * (lq - lpz),
        "your reward differs": lambda lp, lq, lpz, beta: lp - beta * lq,
        "returned shape \\(6,\\), expected \\(4, 6\\)": lambda lp, lq, lpz, beta: (lp - beta * (lq - lpz)).mean(0),
        "not implemented yet": lambda *a: (_ for _ in ()).throw(NotImplementedError),
    }
    for msg, fn in mistakes.items():
        with pytest.raises(AssertionError, match=msg):
            check_elbo_reward(fn)


def test_surrogate_check() -> None:
    check_score_function_surrogate(score_function_surrogate)

    def not_detached(lp, r, b):  # noqa: ANN001, ANN202
        return lp * (r - b) if b is not None else lp * r

    def detached_log_prob(lp, r, b):  # noqa: ANN001, ANN202
        return lp.detach() * (r - b).detach() if b is not None else lp.detach() * r.detach()

    mistakes = {
        "wrong sign": lambda lp, r, b: -lp * (r - b).detach(),
        "subtract the baseline": lambda lp, r, b: lp * (r + b).detach(),
        "the baseline is missing": lambda lp, r, b: lp * r.detach(),
        "detach the reward and the baseline": not_detached,
        "do not detach log_prob": detached_log_prob,
        "the value should be": lambda lp, r, b: lp.exp() * (r - b).detach(),
        "with baseline=None": lambda lp, r, b: lp * (r - (b if b is not None else 1.0)).detach(),
    }
    for msg, fn in mistakes.items():
        with pytest.raises(AssertionError, match=msg):
            check_score_function_surrogate(fn)


def test_leave_one_out_check() -> None:
    check_leave_one_out_baseline(leave_one_out_baseline)
    check_leave_one_out_baseline(lambda r: (r.sum(0) - r) / (r.shape[0] - 1))
    mistakes = {
        "b_k includes r_k itself": lambda r: r.mean(0, keepdim=True).expand_as(r),
        "by K - 1": lambda r: (r.sum(0) - r) / r.shape[0],
        "over the K samples of the same input": lambda r: (r.sum(1, keepdim=True) - r) / (r.shape[1] - 1),
        "the leave-one-out baseline is": lambda r: r.flip(0),
        "returned shape": lambda r: r.mean(0),
        "LeaveOne raised ZeroDivisionError": type("LeaveOne", (), {"__call__": lambda self, r: 1 / 0, "__name__": "LeaveOne"})(),
    }
    for msg, fn in mistakes.items():
        with pytest.raises(AssertionError, match=msg):
            check_leave_one_out_baseline(fn)


def test_checks_do_not_touch_the_global_random_state() -> None:
    state = torch.get_rng_state()
    check_leave_one_out_baseline(leave_one_out_baseline)
    check_score_function_surrogate(score_function_surrogate)
    check_elbo_reward(elbo_reward)
    assert torch.equal(state, torch.get_rng_state())
