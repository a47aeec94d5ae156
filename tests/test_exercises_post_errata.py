"""The errata chapter's exercise checks: the reference passes, each typical mistake gets its message."""

from __future__ import annotations

import pytest
import torch
from torch import Tensor

from rlvae_tutorial.exercises.post_errata import (
    check_batch_loss,
    check_reparameterize,
    check_reward,
    reference_batch_loss,
)
from rlvae_tutorial.rlvae.objective import elbo_reward
from rlvae_tutorial.vae import gaussian_kl, reparameterize


def test_reparameterize_reference_passes() -> None:
    check_reparameterize.__wrapped__(reparameterize)


@pytest.mark.parametrize(
    ("wrong", "msg"),
    [
        (lambda mu, lv, eps: eps, "exactly the post's bug"),
        (lambda mu, lv, eps: mu + torch.exp(lv) * eps, "exp\\(logvar\\), the variance"),
        (lambda mu, lv, eps: mu + lv * eps, "by logvar itself"),
        (lambda mu, lv, eps: torch.exp(0.5 * lv) * eps, "does not depend on mu"),
        (lambda mu, lv, eps: mu + torch.exp(0.5 * lv) * eps + 1.0, "is wrong on .* first at index"),
        (lambda mu, lv, eps: (mu + torch.exp(0.5 * lv) * eps).detach(), "no gradient"),
        (lambda mu, lv, eps: torch.zeros(5), "returned shape"),
        (lambda mu, lv, eps: [0.0], "torch.Tensor"),
    ],
)
def test_reparameterize_mistakes(wrong, msg: str) -> None:  # noqa: ANN001 - a lambda
    with pytest.raises(AssertionError, match=msg):
        check_reparameterize.__wrapped__(wrong)


def test_reparameterize_sample_blocks_must_broadcast() -> None:
    def first_sample_only(mu: Tensor, lv: Tensor, eps: Tensor) -> Tensor:
        out = mu + torch.exp(0.5 * lv) * eps
        return out if eps.dim() == 2 else out[:1].expand_as(out).clone()

    with pytest.raises(AssertionError, match="samples broadcast"):
        check_reparameterize.__wrapped__(first_sample_only)


def test_reward_reference_passes() -> None:
    check_reward.__wrapped__(elbo_reward)


@pytest.mark.parametrize(
    ("wrong", "msg"),
    [
        (lambda px, qz, pz, b: -(px - b * (qz - pz)), "sign of a loss"),
        (lambda px, qz, pz, b: px - b * (pz - qz), "swapped"),
        (lambda px, qz, pz, b: b * px - (qz - pz), "beta multiplies the reconstruction"),
        (lambda px, qz, pz, b: px - (qz - pz), "beta is ignored"),
        (lambda px, qz, pz, b: px - b * qz, "log p\\(z\\) is missing"),
        (lambda px, qz, pz, b: px - b * (qz - pz) + 1.0, "is wrong on .* first at index"),
        (lambda px, qz, pz, b: (px - b * (qz - pz)).mean(), "returned shape"),
    ],
)
def test_reward_mistakes(wrong, msg: str) -> None:  # noqa: ANN001 - a lambda
    with pytest.raises(AssertionError, match=msg):
        check_reward.__wrapped__(wrong)


def test_reward_must_stay_elementwise_on_blocks() -> None:
    def normalised(px: Tensor, qz: Tensor, pz: Tensor, b: float) -> Tensor:
        r = px - b * (qz - pz)
        return r if r.dim() == 1 else r - r.mean(0)

    with pytest.raises(AssertionError, match="elementwise"):
        check_reward.__wrapped__(normalised)


def test_batch_loss_reference_passes() -> None:
    check_batch_loss.__wrapped__(reference_batch_loss)


def _rec(x: Tensor, x_hat: Tensor) -> Tensor:
    return ((x - x_hat) ** 2).sum(-1)


@pytest.mark.parametrize(
    ("wrong", "msg"),
    [
        (lambda x, xh, mu, lv, b: (_rec(x, xh) + b * gaussian_kl(mu, lv)).sum(), "sums over the batch axis"),
        (lambda x, xh, mu, lv, b: (_rec(x, xh) / x.shape[1] + b * gaussian_kl(mu, lv)).mean(), "'mse'"),
        (lambda x, xh, mu, lv, b: (_rec(x, xh) - b * gaussian_kl(mu, lv)).mean(), "KL term has the wrong sign"),
        (lambda x, xh, mu, lv, b: (_rec(x, xh) + gaussian_kl(mu, lv)).mean(), "beta is ignored"),
        (
            lambda x, xh, mu, lv, b: (_rec(x, xh) - b * 0.5 * (1 + lv - mu**2 + lv.exp()).sum(-1)).mean(),
            "sign error inside",
        ),
        (lambda x, xh, mu, lv, b: _rec(x, xh) + b * gaussian_kl(mu, lv), "average over the batch"),
        (lambda x, xh, mu, lv, b: (_rec(x, xh) + b * gaussian_kl(mu, lv)).mean() + 1.0, "is wrong on a batch of 8"),
    ],
)
def test_batch_loss_mistakes(wrong, msg: str) -> None:  # noqa: ANN001 - a lambda
    with pytest.raises(AssertionError, match=msg):
        check_batch_loss.__wrapped__(wrong)


def test_batch_loss_that_depends_on_batch_size_is_caught() -> None:
    def weird(x: Tensor, xh: Tensor, mu: Tensor, lv: Tensor, b: float) -> Tensor:
        loss = reference_batch_loss(x, xh, mu, lv, b)
        return loss if x.shape[0] == 8 else 2 * loss

    with pytest.raises(AssertionError, match="must not depend on the batch size"):
        check_batch_loss.__wrapped__(weird)
