"""A battery of typical wrong answers, one or more per exercise, each written as a student would
(without the package's reference), checked through the guarded checks as the notebooks call them.
Every one must get its diagnosis: a message naming the mistake, never only a numeric mismatch.
Kinds covered: sign, missing reset, off-by-one discount, reduction over the wrong axis, missing
detach, wrong normaliser, and a few chapter-specific ones."""

from __future__ import annotations

import importlib
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F  # noqa: N812


def _returns(r, g, d, *, reset=True):  # noqa: ANN001, ANN202
    out, acc = torch.empty_like(r), torch.zeros(r.shape[:-1])
    for t in reversed(range(r.shape[-1])):
        acc = r[..., t] + g * acc * ((~d[..., t]).float() if reset else 1.0)
        out[..., t] = acc
    return out


def _forward(r, g, d):  # noqa: ANN001, ANN202
    out, acc = torch.empty_like(r), torch.zeros(r.shape[:-1])
    for t in range(r.shape[-1]):
        acc = g * acc + r[..., t]
        out[..., t] = acc
        acc = acc * (~d[..., t]).float()
    return out


def _loo(r):  # noqa: ANN001, ANN202
    return (r.sum(0, keepdim=True) - r) / (r.shape[0] - 1)


def _baseline(r, decay, late=False):  # noqa: ANN001, ANN202
    out, b = torch.empty_like(r), 0.0
    for i, x in enumerate(r):
        if late:
            b = decay * b + (1 - decay) * x
        out[i] = b
        if not late:
            b = decay * b + (1 - decay) * x
    return out


def _gae(r, v, nv, d, g, lam, reset=True):  # noqa: ANN001, ANN202
    nd = (~d).float() if reset else torch.ones_like(r)
    v_next = torch.cat([v[:, 1:], torch.as_tensor(nv).reshape(-1, 1).expand(len(v), 1)], -1)
    delta = r + g * nd * v_next - v
    adv, acc = torch.zeros_like(r), torch.zeros(r.shape[0])
    for t in reversed(range(r.shape[1])):
        acc = delta[:, t] + g * lam * nd[:, t] * acc
        adv[:, t] = acc
    return adv


def _kl(mu, lv):  # noqa: ANN001, ANN202
    return 0.5 * (lv.exp() + mu**2 - 1 - lv).sum(-1)


BATTERY = {
    "getting_started.check_scale_intensities": [
        (lambda raw: raw / 255, "divided by 255"),
        (lambda raw: raw // 16, "floor division"),
        (lambda raw: raw / raw.max(), "batch's largest value"),
    ],
    "getting_started.check_class_counts": [
        (lambda y, k: torch.bincount(y), "also the classes with no example"),
        (lambda y, k: torch.bincount(y, minlength=k) / len(y), "shares that sum to 1"),
    ],
    "getting_started.check_ink_fraction": [
        (lambda x, t: (x > t).float().mean(dim=0), "one value per pixel"),  # wrong axis
        (lambda x, t: (x > t).float().sum(dim=1), "counts of ink pixels"),  # wrong normaliser
        (lambda x, t: (x >= t).float().mean(dim=1), "exactly at the threshold"),
    ],
    "rl.check_discounted_returns": [
        (lambda r, g, d: _returns(r, g, d, reset=False), "reset at episode ends"),  # missing reset
        (lambda r, g, d: g * _returns(r, g, d), "first reward r_t is not discounted"),  # off-by-one discount
        (lambda r, g, d: _forward(r, g, d), "FUTURE rewards"),
        (lambda r, g, d: _returns(r, 1.0, d), "not discounted"),
    ],
    "rl.check_bellman_backup": [
        (lambda V, P, R, g: R + g * np.einsum("sat,s->sa", P, V), "CURRENT state"),  # wrong einsum index
        (lambda V, P, R, g: R + P @ V, "discounted by gamma"),
        (lambda V, P, R, g: R + g * np.einsum("sat,s->ta", P, V), "LAST axis"),
    ],
    "rl.check_q_learning_update": [
        (lambda Q, s, a, r, s2, done, g, lr: _q(Q, s, a, r + g * Q[s2].max(), lr), "terminal step"),  # missing reset
        (lambda Q, s, a, r, s2, done, g, lr: _q(Q, s, a, r if done else r + g * Q[s2, a], lr), "BEST next action"),
        (lambda Q, s, a, r, s2, done, g, lr: _q(Q, s, a, r if done else r + g * Q[s2].max(), -lr), "wrong sign"),
    ],
    "rl.check_reinforce_loss": [
        (lambda lp, w: (lp * w.detach()).mean(), "wrong sign"),
        (lambda lp, w: -(lp * w.detach()).sum(), "instead of summing"),  # wrong normaliser
        (lambda lp, w: -(lp * w).mean(), "weights.detach()"),  # missing detach
    ],
    "rl.check_softmax_score": [
        (lambda lg, a: torch.softmax(lg, -1) - F.one_hot(a, lg.shape[-1]), "wrong sign"),
        (lambda lg, a: F.one_hot(a, lg.shape[-1]).double(), "log-sum-exp is missing"),
    ],
    "rl.check_ema_baseline": [
        (lambda r, d: _baseline(r, d, late=True), "only the PAST rewards"),
        (lambda r, d: _baseline(r, 1 - d), "weight of the OLD average"),
    ],
    "rl.check_gae": [
        (lambda r, v, nv, d, g, lam: _gae(r, v, nv, d, g, lam, reset=False), "episode end"),  # missing reset
        (lambda r, v, nv, d, g, lam: _gae(r, v, nv, d, g, lam) + v, "not the value targets"),
        (lambda r, v, nv, d, g, lam: _gae(r, v, nv, d, g, 1.0), "(gamma * gae_lambda)^k"),
    ],
    "rl.check_actor_critic_loss": [
        (lambda lp, adv, v, ret, h, cv, ch: -(lp * adv.detach()).mean() + cv * ((v - ret.detach()) ** 2).mean()
         + ch * h.mean(), "entropy is a BONUS"),  # sign
        (lambda lp, adv, v, ret, h, cv, ch: -(lp * adv).mean() + cv * ((v - ret.detach()) ** 2).mean()
         - ch * h.mean(), "gradients flow into the advantages"),  # missing detach
    ],
    "rl.check_transition_mask": [
        (lambda te, tr: ~(te | tr), "the one AFTER it"),
        (lambda te, tr: torch.cat([torch.ones_like(te[:, :1]), ~te[:, :-1]], 1), "truncated episode is reset too"),
    ],
    "vae_elbo.check_gaussian_kl": [
        (lambda mu, lv: -_kl(mu, lv), "wrong sign"),
        (lambda mu, lv: _kl(mu, lv) * 2, "factor 1/2"),
        (lambda mu, lv: 0.5 * (lv.exp() + mu**2 - 1 - lv).mean(-1), "SUM"),  # wrong normaliser
        (lambda mu, lv: 0.5 * (lv.exp() + mu**2 - 1 - lv), "sum the KL over the latent dimensions"),  # axis
    ],
    "vae_elbo.check_reparameterize": [
        (lambda mu, lv, eps: mu + lv.exp() * eps, "variance exp(logvar)"),
        (lambda mu, lv, eps: (mu + torch.exp(0.5 * lv) * eps).detach(), "differentiably"),  # a detach too many
    ],
    "vae_elbo.check_elbo": [
        (lambda x, lg, mu, lv: -F.binary_cross_entropy_with_logits(lg, x, reduction="none").sum(-1)
         - _kl(mu, lv).sum(), "summed over the batch and then broadcast"),  # batch-summed KL
        (lambda x, lg, mu, lv: F.binary_cross_entropy_with_logits(lg, x, reduction="none").sum(-1) + _kl(mu, lv),
         "negative ELBO"),  # sign
        (lambda x, lg, mu, lv: -F.binary_cross_entropy_with_logits(lg, x, reduction="none").mean(-1) - _kl(mu, lv),
         "averaged over pixels"),  # wrong normaliser
    ],
    "vae_elbo.check_iwae": [
        (lambda lw: lw.mean(0), "the ELBO"),
        (lambda lw: torch.logsumexp(lw, 0), "forgot the 1/K"),
        (lambda lw: torch.logsumexp(lw, 1) - math.log(lw.shape[1]), "not the batch"),  # wrong axis
    ],
    "vae_beta.check_free_bits": [
        (lambda kl, fb: kl.clamp(min=fb).mean(0).sum(), "clamped each example's KL"),
        (lambda kl, fb: kl.mean(0).clamp(min=fb).mean(), "sum over the latent dimensions"),  # normaliser
        (lambda kl, fb: kl.mean(1).clamp(min=fb).sum(), "averaged over the dimensions"),  # wrong axis
    ],
    "vae_beta.check_active_units": [
        (lambda mu, t: mu.std(0) > t, "standard deviation"),
        (lambda mu, t: mu.var(1) > t, "one value per input"),  # wrong axis
        (lambda mu, t: mu.var(0) < t, "inverted"),
    ],
    "vae_beta.check_kl_warmup": [
        (lambda s, w, b: b * s / w if w else b, "stop at beta"),
        (lambda s, w, b: min(1.0, s / w) if w else b, "multiply by beta"),
        (lambda s, w, b: b * min(1, s // w) if w else b, "integer division"),
    ],
    "rlvae.check_elbo_reward": [
        (lambda lp, lq, lpz, b: -(lp - b * (lq - lpz)), "wrong sign"),
        (lambda lp, lq, lpz, b: lp - b * (lq - lpz).mean(0, keepdim=True), "averaged over the K samples"),
    ],
    "rlvae.check_score_function_surrogate": [
        (lambda lp, r, b=None: -lp * (r - (0 if b is None else b)).detach(), "wrong sign"),
        (lambda lp, r, b=None: lp * (r - (0 if b is None else b)), "detach the reward"),  # missing detach
    ],
    "rlvae.check_leave_one_out_baseline": [
        (lambda r: r.mean(0, keepdim=True).expand_as(r), "includes r_k itself"),
        (lambda r: (r.sum(0, keepdim=True) - r) / r.shape[0], "not by K"),  # wrong normaliser
        (lambda r: (r.sum(1, keepdim=True) - r) / (r.shape[1] - 1), "not over the batch"),  # wrong axis
    ],
    "rlvae.check_straight_through_bernoulli": [
        (lambda lg, t, n: torch.sigmoid((lg + n) / t), "hard sample"),
        (lambda lg, t, n: (lg + n > 0).float(), "no gradient reaches the logits"),  # a detach too many
    ],
    "rlvae.check_bernoulli_kl": [
        (lambda lg: torch.distributions.kl_divergence(torch.distributions.Bernoulli(logits=lg),
                                                      torch.distributions.Bernoulli(probs=torch.full_like(lg, 0.5))),
         "sum the KL over the D latent dimensions"),
    ],
    "rlvae.check_ema_update": [
        (lambda v, r, d: (1 - d) * v + d * r.mean(), "decay weighs the OLD value"),
        (lambda v, r, d: d * v + (1 - d) * r, "average the batch's rewards first"),
    ],
    "applications.check_kl_penalized_reward": [
        (lambda r, lpi, lp, lam: r + lam * (lpi - lp), "wrong sign"),
        (lambda r, lpi, lp, lam: r - lam * lpi, "the prior is missing"),
    ],
    "applications.check_mean_pairwise_distance": [
        (lambda x: torch.cdist(x, x).mean(), "including i == j"),  # wrong normaliser
        (lambda x: torch.cdist(x, x).pow(2).sum() / (len(x) * (len(x) - 1)), "squared"),
        (lambda x: torch.cdist(x, x), "(N, N) matrix"),
    ],
    "applications.check_token_reinforce_loss": [
        (lambda lp, m, a: (a.detach() * (lp * m).sum(-1)).mean(), "wrong sign"),
        (lambda lp, m, a: -(a.detach() * lp.sum(-1)).mean(), "padding is counted"),
        (lambda lp, m, a: -(a * (lp * m).sum(-1)).mean(), "detach the advantage"),  # missing detach
        (lambda lp, m, a: -(a.detach() * (lp * m).sum(-1) / m.sum(-1)).mean(), "do not average them"),
    ],
    "applications.check_is_valid": [
        (lambda s: bool(s) and s.count("(") == s.count(")") and s.count("[") == s.count("]"), "closed before it is opened"),
        (lambda s: True, "the empty string"),
    ],
    "applications.check_sequence_kl": [
        (lambda a, b, m: (m * (b - a)).sum(-1), "wrong direction"),
        (lambda a, b, m: (a - b).sum(-1), "padding is counted"),
        (lambda a, b, m: (m * (a - b)).mean(-1), "do not average"),  # wrong normaliser
    ],
    "applications.check_penalized_advantage": [
        (lambda r, kl, b: (r - b * kl) - (r - b * kl).mean(), "includes the sample itself"),
        (lambda r, kl, b: r - _loo(r[:, None])[:, 0], "before the baseline"),
        (lambda r, kl, b: (r - b * kl) - ((r - b * kl).sum() - (r - b * kl)) / len(r), "not by K"),  # normaliser
    ],
    "latents.check_latent_observation": [
        (lambda enc, f: enc(torch.as_tensor(f.reshape(len(f), -1), dtype=torch.float32)).mean.detach(),
         "divide the uint8 values by 255"),
        (lambda enc, f: enc(torch.as_tensor(f.reshape(len(f), -1) / 255, dtype=torch.float32)).sample(),
         "SAMPLE of q"),
    ],
    "latents.check_dqn_targets": [
        (lambda r, q, d, g: r + g * q.max(-1).values, "TERMINATED"),  # missing reset
        (lambda r, q, d, g: r + g * (~d) * q.mean(-1), "BEST next action"),
        (lambda r, q, d, g: r + (~d) * q.max(-1).values, "discount"),
    ],
    "latents.check_steps_to_threshold": [
        (lambda s, r, t, b: float(next((i for i, x in enumerate(r) if x >= t), b)), "not its index"),
        (lambda s, r, t, b: float(next((si for si, x in zip(s, r, strict=True) if x > t), b)), ">= threshold"),
        (lambda s, r, t, b: float(next((si for si, x in zip(s, r, strict=True) if x >= t), float("nan"))), "whole budget"),
    ],
    "post_errata.check_reparameterize": [
        (lambda mu, lv, eps: eps, "post's bug"),
        (lambda mu, lv, eps: mu + lv * eps, "logvar itself"),
    ],
    "post_errata.check_reward": [
        (lambda px, qz, pz, b: -(px - b * (qz - pz)), "sign of a loss"),
        (lambda px, qz, pz, b: px - b * (pz - qz), "swapped"),
    ],
    "post_errata.check_batch_loss": [
        (lambda x, xh, mu, lv, b: (((x - xh) ** 2).sum(-1) + b * _kl(mu, lv)).sum(), "times too large"),  # normaliser
        (lambda x, xh, mu, lv, b: (((x - xh) ** 2).mean(-1) + b * _kl(mu, lv)).mean(), "averaged the squared error"),
        (lambda x, xh, mu, lv, b: (((x - xh) ** 2).sum(-1) - b * _kl(mu, lv)).mean(), "wrong sign"),
    ],
}


def _q(Q, s, a, target, lr):  # noqa: ANN001, ANN202
    td = target - Q[s, a]
    Q[s, a] += lr * td
    return td


def _check(key: str):  # noqa: ANN202
    module, name = key.split(".")
    return getattr(importlib.import_module(f"rlvae_tutorial.exercises.{module}"), name)


def test_the_battery_covers_every_exercise() -> None:
    from tests.test_exercises_loophole import CHECKS

    assert set(BATTERY) == set(CHECKS)


@pytest.mark.parametrize("key", list(BATTERY))
def test_typical_wrong_answers_get_their_diagnosis(key: str) -> None:
    check = _check(key)
    for wrong, diagnosis in BATTERY[key]:
        with pytest.raises(AssertionError) as err:
            check(wrong, quiet=True)
        message = str(err.value)
        assert diagnosis in message, f"{key}: expected a diagnosis with {diagnosis!r}, got {message!r}"
