from __future__ import annotations

import pytest
import torch

from rlvae_tutorial.estimators import (
    ema_update,
    leave_one_out_baseline,
    relaxed_bernoulli,
    score_function_surrogate,
    straight_through_bernoulli,
)
from rlvae_tutorial.exercises.rlvae import (
    check_bernoulli_kl,
    check_elbo_reward,
    check_ema_update,
    check_leave_one_out_baseline,
    check_score_function_surrogate,
    check_straight_through_bernoulli,
)
from rlvae_tutorial.rlvae import elbo_reward


def test_reward_check() -> None:
    check_elbo_reward.__wrapped__(elbo_reward)
    check_elbo_reward.__wrapped__(lambda lp, lq, lpz, beta: lp - beta * (lq - lpz))
    mistakes = {
        "wrong sign: you returned the beta-VAE \\*loss\\*": lambda lp, lq, lpz, beta: -lp + beta * (lq - lpz),
        "beta is missing": lambda lp, lq, lpz, beta: lp - (lq - lpz),
        "beta multiplies the KL term": lambda lp, lq, lpz, beta: beta * lp - (lq - lpz),
        "the KL term has the wrong sign": lambda lp, lq, lpz, beta: lp + beta * (lq - lpz),
        r"elbo_reward: log p\(z\) is missing": lambda lp, lq, lpz, beta: lp - beta * lq,
        "returned shape \\(6,\\), expected \\(4, 6\\)": lambda lp, lq, lpz, beta: (lp - beta * (lq - lpz)).mean(0),
        "not implemented yet": lambda *a: (_ for _ in ()).throw(NotImplementedError),
    }
    for msg, fn in mistakes.items():
        with pytest.raises(AssertionError, match=msg):
            check_elbo_reward.__wrapped__(fn)


def test_surrogate_check() -> None:
    check_score_function_surrogate.__wrapped__(score_function_surrogate)

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
        "use the LOG-probability": lambda lp, r, b: lp.exp() * (r - b).detach(),
        "with baseline=None": lambda lp, r, b: lp * (r - (b if b is not None else 1.0)).detach(),
    }
    for msg, fn in mistakes.items():
        with pytest.raises(AssertionError, match=msg):
            check_score_function_surrogate.__wrapped__(fn)


def test_leave_one_out_check() -> None:
    check_leave_one_out_baseline.__wrapped__(leave_one_out_baseline)
    check_leave_one_out_baseline.__wrapped__(lambda r: (r.sum(0) - r) / (r.shape[0] - 1))
    mistakes = {
        "b_k includes r_k itself": lambda r: r.mean(0, keepdim=True).expand_as(r),
        "by K - 1": lambda r: (r.sum(0) - r) / r.shape[0],
        "over the K samples of the same input": lambda r: (r.sum(1, keepdim=True) - r) / (r.shape[1] - 1),
        r"leave_one_out_baseline is wrong for rewards .* first at index": lambda r: r.flip(0),
        "returned shape": lambda r: r.mean(0),
        "LeaveOne raised ZeroDivisionError": type("LeaveOne", (), {"__call__": lambda self, r: 1 / 0, "__name__": "LeaveOne"})(),
    }
    for msg, fn in mistakes.items():
        with pytest.raises(AssertionError, match=msg):
            check_leave_one_out_baseline.__wrapped__(fn)


def test_straight_through_check() -> None:
    check_straight_through_bernoulli.__wrapped__(straight_through_bernoulli)

    def no_gradient(lg, t, n):  # noqa: ANN001, ANN202
        return (lg.detach() + n > 0).float()

    def no_temperature(lg, t, n):  # noqa: ANN001, ANN202
        soft = torch.sigmoid(lg + n)
        return (lg.detach() + n > 0).float() + (soft - soft.detach())

    def plain_sigmoid(lg, t, n):  # noqa: ANN001, ANN202
        soft = torch.sigmoid(lg)
        return (lg.detach() + n > 0).float() + (soft - soft.detach())

    mistakes = {
        "not the relaxed one": relaxed_bernoulli,
        "flipped": lambda lg, t, n: (lg.detach() + n <= 0).float(),
        "no gradient reaches the logits": no_gradient,
        "the temperature is missing": no_temperature,
        "the backward pass must be": plain_sigmoid,
        "exactly the hard sample": lambda lg, t, n: (lg.detach() > 0).float().expand(n.shape),
    }
    for msg, fn in mistakes.items():
        with pytest.raises(AssertionError, match=msg):
            check_straight_through_bernoulli.__wrapped__(fn)


def test_bernoulli_kl_check() -> None:
    def reference(logits):  # noqa: ANN001, ANN202
        q = torch.sigmoid(logits)
        return (q * torch.log(2 * q) + (1 - q) * torch.log(2 * (1 - q))).sum(-1)

    check_bernoulli_kl.__wrapped__(reference)
    p_half = 0.5

    def reversed_kl(logits):  # noqa: ANN001, ANN202
        q = torch.sigmoid(logits)
        return (p_half * torch.log(p_half / q) + p_half * torch.log(p_half / (1 - q))).sum(-1)

    def no_log2(logits):  # noqa: ANN001, ANN202
        q = torch.sigmoid(logits)
        return (q * torch.log(q) + (1 - q) * torch.log(1 - q)).sum(-1)

    def logits_as_probs(logits):  # noqa: ANN001, ANN202
        q = logits.clamp(1e-3, 1 - 1e-3)
        return (q * torch.log(2 * q) + (1 - q) * torch.log(2 * (1 - q))).sum(-1)

    mistakes = {
        "sum the KL over the D latent dimensions": lambda lg: reference(lg.unsqueeze(-1)),
        r"that is KL\(p \|\| q\)": reversed_kl,
        r"log p\(z\) = -D log 2": no_log2,
        "the logits are not probabilities": logits_as_probs,
    }
    for msg, fn in mistakes.items():
        with pytest.raises(AssertionError, match=msg):
            check_bernoulli_kl.__wrapped__(fn)


def test_ema_check() -> None:
    check_ema_update.__wrapped__(lambda v, r, d: ema_update(v, r.mean(), d))
    mistakes = {
        "average the batch's rewards first": lambda v, r, d: d * v + (1 - d) * r,
        "decay weighs the OLD value": lambda v, r, d: (1 - d) * v + d * r.mean(),
        "do not sum them": lambda v, r, d: d * v + (1 - d) * r.sum(),
    }
    for msg, fn in mistakes.items():
        with pytest.raises(AssertionError, match=msg):
            check_ema_update.__wrapped__(fn)


def test_checks_do_not_touch_the_global_random_state() -> None:
    state = torch.get_rng_state()
    check_leave_one_out_baseline.__wrapped__(leave_one_out_baseline)
    check_score_function_surrogate.__wrapped__(score_function_surrogate)
    check_elbo_reward.__wrapped__(elbo_reward)
    check_straight_through_bernoulli.__wrapped__(straight_through_bernoulli)
    assert torch.equal(state, torch.get_rng_state())
