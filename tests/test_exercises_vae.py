"""The VAE chapters' check functions: the reference passes, each typical mistake gets its message."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from rlvae_tutorial.exercises.vae_beta import check_active_units, check_free_bits, check_kl_warmup
from rlvae_tutorial.exercises.vae_elbo import (
    check_elbo,
    check_gaussian_kl,
    check_iwae,
    check_reparameterize,
)
from rlvae_tutorial.vae import (
    active_units,
    free_bits_kl,
    gaussian_kl,
    kl_warmup,
    log_mean_exp,
    reparameterize,
)


def ok_elbo(x, logits, mu, logvar):  # noqa: ANN001, ANN201
    return -F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(-1) - gaussian_kl(mu, logvar)


def test_references_pass() -> None:
    check_gaussian_kl.__wrapped__(gaussian_kl)
    check_gaussian_kl.__wrapped__(lambda mu, lv: -0.5 * torch.sum(1 + lv - mu.pow(2) - lv.exp(), dim=1))  # Kingma & Welling's form
    check_reparameterize.__wrapped__(reparameterize)
    check_reparameterize.__wrapped__(lambda mu, lv, eps: mu + torch.sqrt(torch.exp(lv)) * eps)
    check_elbo.__wrapped__(ok_elbo)
    check_iwae.__wrapped__(lambda lw: log_mean_exp(lw, 0))
    check_free_bits.__wrapped__(free_bits_kl)
    check_active_units.__wrapped__(active_units)
    check_kl_warmup.__wrapped__(kl_warmup)


def kl_terms(mu, lv):  # noqa: ANN001, ANN201
    return torch.exp(lv) + mu**2 - 1 - lv


@pytest.mark.parametrize(
    ("fn", "message"),
    [
        (lambda mu, lv: 0.5 * kl_terms(mu, lv), "sum the KL over the latent dimensions"),
        (lambda mu, lv: 0.5 * kl_terms(mu, lv).sum(), "keep one KL per example"),
        (lambda mu, lv: -0.5 * kl_terms(mu, lv).sum(-1), "wrong sign"),
        (lambda mu, lv: kl_terms(mu, lv).sum(-1), "forgot the factor 1/2"),
        (lambda mu, lv: 0.5 * (kl_terms(mu, lv) + 1).sum(-1), "forgot the -1"),
        (lambda mu, lv: 0.5 * (torch.exp(0.5 * lv) + mu**2 - 1 - lv).sum(-1), "the standard deviation, where the variance"),
        (lambda mu, lv: 0.5 * (torch.exp(lv) + mu - 1 - lv).sum(-1), r"mu\*\*2, not mu"),
        (lambda mu, lv: 0.5 * (torch.exp(lv) + mu**2 - 1 + lv).sum(-1), "the sign of logvar"),
        (lambda mu, lv: 0.5 * (torch.exp(lv) + mu**2 - 1 - 0.5 * lv).sum(-1), "not logvar / 2"),
        (lambda mu, lv: 0.5 * kl_terms(mu, lv).sum(-1) + 1.0, r"gaussian_kl\(0, 0\) should be 0|is wrong on random"),
        (lambda mu, lv: (_ for _ in ()).throw(NotImplementedError), "not implemented yet"),
    ],
)
def test_gaussian_kl_mistakes(fn, message: str) -> None:  # noqa: ANN001
    with pytest.raises(AssertionError, match=message):
        check_gaussian_kl.__wrapped__(fn)


def test_gaussian_kl_constant_offset_only_at_zero() -> None:
    def zero_wrong(mu, lv):  # noqa: ANN001, ANN202
        out = gaussian_kl(mu, lv)
        return out + (mu.abs().sum(-1) == 0).float()

    with pytest.raises(AssertionError, match=r"gaussian_kl\(0, 0\) should be 0"):
        check_gaussian_kl.__wrapped__(zero_wrong)


@pytest.mark.parametrize(
    ("fn", "message"),
    [
        (lambda mu, lv, eps: mu + torch.exp(lv) * eps, "variance exp\\(logvar\\)"),
        (lambda mu, lv, eps: mu + lv * eps, "not by logvar"),
        (lambda mu, lv, eps: mu + 0 * eps, "the noise eps is missing"),
        (lambda mu, lv, eps: torch.exp(0.5 * lv) * eps, "the mean mu is missing"),
        (lambda mu, lv, eps: (mu + torch.exp(0.5 * lv) * eps).detach(), "does not depend differentiably"),
        (lambda mu, lv, eps: mu + torch.exp(0.5 * lv.detach()) * eps, "with respect to logvar is wrong or missing"),
        (lambda mu, lv, eps: mu + torch.exp(0.5 * lv) * eps[0], r"returned shape \(5, 3\), expected \(4, 5, 3\)"),
    ],
)
def test_reparameterize_mistakes(fn, message: str) -> None:  # noqa: ANN001
    with pytest.raises(AssertionError, match=message):
        check_reparameterize.__wrapped__(fn)


def bce(logits, x):  # noqa: ANN001, ANN201
    return F.binary_cross_entropy_with_logits(logits, x, reduction="none")


@pytest.mark.parametrize(
    ("fn", "message"),
    [
        (lambda x, lg, mu, lv: -ok_elbo(x, lg, mu, lv), "negative ELBO"),
        (lambda x, lg, mu, lv: -bce(lg, x).sum(-1), "the KL term is missing"),
        (lambda x, lg, mu, lv: -bce(lg, x).sum(-1) + gaussian_kl(mu, lv), "the KL enters with a minus sign"),
        (lambda x, lg, mu, lv: -bce(lg, x).mean(-1) - gaussian_kl(mu, lv), "averaged over pixels"),
        (lambda x, lg, mu, lv: bce(lg, x).sum(-1) - gaussian_kl(mu, lv), "reconstruction term has the wrong sign"),
        (lambda x, lg, mu, lv: -F.binary_cross_entropy(lg.clamp(1e-6, 1 - 1e-6), x, reduction="none").sum(-1) - gaussian_kl(mu, lv),
         "outputs logits, not probabilities"),
        (lambda x, lg, mu, lv: ok_elbo(x, lg, mu, lv).mean(), r"returned shape \(\), expected \(6,\)"),
    ],
)
def test_elbo_mistakes(fn, message: str) -> None:  # noqa: ANN001
    with pytest.raises(AssertionError, match=message):
        check_elbo.__wrapped__(fn)


@pytest.mark.parametrize(
    ("fn", "message"),
    [
        (lambda lw: lw.mean(0), "the mean of the log-weights"),
        (lambda lw: torch.logsumexp(lw, 0), "forgot the 1/K"),
        (lambda lw: torch.logsumexp(lw, 0) - lw.shape[0], "subtract log K, not K"),
        (lambda lw: torch.log(torch.exp(lw).mean(0)), "use torch.logsumexp"),
        (lambda lw: log_mean_exp(lw, 1), "average over the K samples"),
    ],
)
def test_iwae_mistakes(fn, message: str) -> None:  # noqa: ANN001
    with pytest.raises(AssertionError, match=message):
        check_iwae.__wrapped__(fn)


@pytest.mark.parametrize(
    ("fn", "message"),
    [
        (lambda kl, fb: kl.clamp(min=fb).mean(0).sum(), "you clamped each example's KL"),
        (lambda kl, fb: kl.mean(0).clamp(max=fb).sum(), "clamp from below"),
        (lambda kl, fb: kl.mean(0).clamp(min=fb).mean(), "sum over the latent dimensions"),
        (lambda kl, fb: kl.sum(0).clamp(min=fb).sum(), "before clamping, do not sum"),
        (lambda kl, fb: kl.mean(0).sum().clamp(min=fb), "each dimension separately"),
        (lambda kl, fb: kl.mean(0).clamp(min=fb), r"one value per dimension"),
        (lambda kl, fb: kl.mean(0).clamp(min=max(fb, 0.3)).sum(), "with free_bits = 0 the penalty"),
    ],
)
def test_free_bits_mistakes(fn, message: str) -> None:  # noqa: ANN001
    with pytest.raises(AssertionError, match=message):
        check_free_bits.__wrapped__(fn)


@pytest.mark.parametrize(
    ("fn", "message"),
    [
        (lambda mu, t: mu.var(1) > t, "one value per input"),
        (lambda mu, t: (mu.var(0) > t).sum(), "not a count"),
        (lambda mu, t: (mu.var(0) > t).float(), "boolean mask"),
        (lambda mu, t: mu.std(0) > t, "standard deviation"),
        (lambda mu, t: mu.abs().mean(0) > t, "not when the mean is large"),
    ],
)
def test_active_units_mistakes(fn, message: str) -> None:  # noqa: ANN001
    with pytest.raises(AssertionError, match=message):
        check_active_units.__wrapped__(fn)


@pytest.mark.parametrize(
    ("fn", "message"),
    [
        (lambda s, w, b: b * s / w if w else b, "must stop at beta"),
        (lambda s, w, b: b * min(1, s // w) if w else b, "integer division"),
        (lambda s, w, b: min(1.0, s / w) if w else b, "multiply by beta"),
        (lambda s, w, b: b * min(1.0, s / w), "ZeroDivisionError"),
        (lambda s, w, b: b * min(1.0, s / max(w, 1)) if w else 0.0, "warmup_steps = 0 means no warm-up"),
        (lambda s, w, b: "1", r"expected|number"),
    ],
)
def test_kl_warmup_mistakes(fn, message: str) -> None:  # noqa: ANN001
    with pytest.raises(AssertionError, match=message):
        check_kl_warmup.__wrapped__(fn)


def test_kl_warmup_and_log_mean_exp_reference() -> None:
    assert kl_warmup(50, 100, 2.0) == 1.0 and kl_warmup(500, 100, 2.0) == 2.0 and kl_warmup(3, 0, 2.0) == 2.0
    with pytest.raises(ValueError, match="must be >= 0"):
        kl_warmup(-1, 10)
    lw = torch.tensor([[0.0, -1000.0], [math.log(3.0), -1000.0]])
    torch.testing.assert_close(log_mean_exp(lw, 0), torch.tensor([math.log(2.0), -1000.0]))
