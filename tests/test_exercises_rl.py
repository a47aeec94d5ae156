"""Every RL check passes the reference and names each typical mistake."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rlvae_tutorial.exercises import rl as ex
from rlvae_tutorial.rl import (
    actor_critic_loss,
    bellman_backup,
    discounted_returns,
    ema_baseline,
    gae,
    q_learning_update,
    reinforce_loss,
    softmax_score,
    transition_mask,
)


def test_references_pass() -> None:
    ex.check_discounted_returns.__wrapped__(discounted_returns)
    ex.check_bellman_backup.__wrapped__(bellman_backup)
    ex.check_q_learning_update.__wrapped__(q_learning_update)
    ex.check_reinforce_loss.__wrapped__(reinforce_loss)
    ex.check_softmax_score.__wrapped__(softmax_score)
    ex.check_ema_baseline.__wrapped__(ema_baseline)
    ex.check_gae.__wrapped__(gae)
    ex.check_actor_critic_loss.__wrapped__(actor_critic_loss)
    ex.check_transition_mask.__wrapped__(transition_mask)


def _fails(check, fn, match: str) -> None:  # noqa: ANN001
    with pytest.raises(AssertionError, match=match):
        check(fn)


def test_discounted_returns_mistakes() -> None:
    c = ex.check_discounted_returns.__wrapped__
    _fails(c, lambda r, g, d: discounted_returns(r, g), "must reset at episode ends")
    _fails(c, lambda r, g, d: ex._late_reset(r, g, d), "one step late")
    _fails(c, lambda r, g, d: ex._returns_forward(r, g, d), "FUTURE rewards")
    _fails(c, lambda r, g, d: g * discounted_returns(r, g, d), "first reward r_t is not discounted")
    _fails(c, lambda r, g, d: discounted_returns(r, g, d)[..., :-1], r"returned shape \(6,\), expected \(7,\)")
    _fails(c, lambda r, g, d: discounted_returns(r.flatten(), g, d.flatten()).reshape(r.shape),
           r"wrong for rewards of shape \(3, 7\)")

    def todo(r, g, d):  # noqa: ANN001, ANN202
        raise NotImplementedError

    _fails(c, todo, "not implemented yet")


def test_bellman_backup_mistakes() -> None:
    c = ex.check_bellman_backup.__wrapped__
    _fails(c, lambda V, P, R, g: (R + g * P @ V).max(-1), r"shape \(5,\), expected \(S, A\)")
    _fails(c, lambda V, P, R, g: R + P @ V, "discounted by gamma")
    _fails(c, lambda V, P, R, g: R + g * (P * V).max(-1), "do not take a max over s'")
    _fails(c, lambda V, P, R, g: R + g * np.einsum("sap,s->pa", P, V), "LAST axis")
    _fails(c, lambda V, P, R, g: g * P @ V, "expected reward")


def _q_update(bootstrap_terminal=False, sarsa=False, lr_scale=1.0, sign=1.0, ret=True):  # noqa: ANN001, ANN202
    def fn(Q, s, a, r, s_next, terminated, gamma, lr):  # noqa: ANN001, ANN202
        nxt = Q[s_next, a] if sarsa else Q[s_next].max()
        target = r + (0.0 if terminated and not bootstrap_terminal else gamma * nxt)
        td = target - Q[s, a]
        Q[s, a] += sign * lr * lr_scale * td
        return td if ret else None
    return fn


def test_q_learning_update_mistakes() -> None:
    c = ex.check_q_learning_update.__wrapped__
    _fails(c, lambda Q, *args: 0.0, "did not change Q")
    _fails(c, _q_update(bootstrap_terminal=True), "no bootstrap")
    _fails(c, _q_update(sarsa=True), "BEST next action")
    _fails(c, _q_update(lr_scale=10.0), "do not replace it")
    _fails(c, _q_update(sign=-1.0), "TOWARDS the target")
    _fails(c, _q_update(ret=False), "must return the TD error")

    def everywhere(Q, s, a, r, s_next, terminated, gamma, lr):  # noqa: ANN001, ANN202
        Q += 0.1
        return 0.0

    _fails(c, everywhere, "other than Q")


def test_reinforce_loss_mistakes() -> None:
    c = ex.check_reinforce_loss.__wrapped__
    _fails(c, lambda lp, w: (lp * w.detach()).mean(), "wrong sign")
    _fails(c, lambda lp, w: -(lp * w.detach()).sum(), "average over the N steps")
    _fails(c, lambda lp, w: -(lp * w), "a scalar")
    _fails(c, lambda lp, w: -(lp * w).mean(), "detach")


def test_softmax_score_mistakes() -> None:
    c = ex.check_softmax_score.__wrapped__
    _fails(c, lambda lg, a: -softmax_score(lg, a), "wrong sign")
    _fails(c, lambda lg, a: torch.nn.functional.one_hot(a, lg.shape[-1]).float(), "log-sum-exp")
    _fails(c, lambda lg, a: softmax_score(lg, a)[:, :2], r"shape \(5, 2\)")

    def only_chosen(lg, a):  # noqa: ANN001, ANN202
        onehot = torch.nn.functional.one_hot(a, lg.shape[-1]).float()
        return onehot - torch.softmax(lg, -1) * onehot

    _fails(c, only_chosen, "WHOLE probability vector")


def test_ema_baseline_mistakes() -> None:
    c = ex.check_ema_baseline.__wrapped__

    def includes_current(r, decay):  # noqa: ANN001, ANN202
        out, b = torch.empty_like(r), 0.0
        for i, ri in enumerate(r):
            b = decay * b + (1 - decay) * ri
            out[i] = b
        return out

    _fails(c, includes_current, "only the PAST rewards")
    _fails(c, lambda r, decay: ema_baseline(r, 1 - decay), "weight of the OLD average")
    _fails(c, lambda r, decay: ema_baseline(r, decay, init=1.0), "is wrong on random rewards")


def test_gae_mistakes() -> None:
    c = ex.check_gae.__wrapped__
    _fails(c, lambda r, v, nv, d, g, lam: gae(r, v, nv, None, g, lam), "across an episode end")
    _fails(c, lambda r, v, nv, d, g, lam: gae(r, v, 0.0, d, g, lam), "next_value")
    _fails(c, lambda r, v, nv, d, g, lam: gae(r, v, nv, d, g, lam) + v, "not the value targets")
    _fails(c, lambda r, v, nv, d, g, lam: gae(r, v, nv, d, g, 1.0), r"\(gamma \* gae_lambda\)\^k")
    _fails(c, lambda r, v, nv, d, g, lam: gae(r, v, nv, d, g, 0.0), "one-step TD error")


def test_actor_critic_loss_mistakes() -> None:
    c = ex.check_actor_critic_loss.__wrapped__

    def parts(lp, adv, v, ret, ent, cv, ch, s_pg=1.0, s_v=1.0, s_h=1.0, detach=True):  # noqa: ANN001, ANN202
        a, g = (adv.detach(), ret.detach()) if detach else (adv, ret)
        return -s_pg * (lp * a).mean() + s_v * cv * (v - g).pow(2).mean() - s_h * ch * ent.mean()

    _fails(c, lambda *a: parts(*a, s_h=-1.0), "entropy is a BONUS")
    _fails(c, lambda *a: parts(*a, s_v=-1.0), "ADD value_coef")
    _fails(c, lambda *a: parts(*a, s_pg=-1.0), "policy term")
    _fails(c, lambda *a: parts(*a, s_v=2.0), "weigh the value loss")
    _fails(c, lambda *a: parts(*a, detach=False), "they are targets")


def test_transition_mask_mistakes() -> None:
    c = ex.check_transition_mask.__wrapped__
    _fails(c, lambda te, tr: ~(te | tr), "the one AFTER it")
    _fails(c, lambda te, tr: transition_mask(te, torch.zeros_like(tr)), "terminated | truncated")
    _fails(c, lambda te, tr: ~transition_mask(te, tr), "inverted")
    _fails(c, lambda te, tr: transition_mask(te, tr)[:, 1:], "shape")
