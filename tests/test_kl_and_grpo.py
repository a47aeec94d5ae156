"""KL estimators k1, k2, k3 (rlvae_tutorial/estimators/kl.py) and GRPO's group-normalised
advantages (estimators/score_function.py): reference answers, analytic Gaussian KL, errors."""

from __future__ import annotations

import pytest
import torch
from torch.distributions import Independent, Normal, kl_divergence

from rlvae_tutorial.estimators import (
    group_normalized_advantages,
    kl_estimates,
    leave_one_out_baseline,
)
from rlvae_tutorial.rlvae import estimator_config, score_advantage


def test_kl_estimates_reference_answers() -> None:
    log_r = torch.tensor([0.0, -1.0, 2.0])
    k = kl_estimates(log_r)
    assert k.shape == (3, 3)
    e = torch.exp(log_r)
    torch.testing.assert_close(k[0], -log_r)
    torch.testing.assert_close(k[1], 0.5 * log_r**2)
    torch.testing.assert_close(k[2], e - 1 - log_r)
    assert (k[1:] >= 0).all() and k[:, 0].abs().max() == 0  # k2, k3 never negative; all zero at p = q


def test_kl_estimates_match_the_analytic_gaussian_kl() -> None:
    g = torch.Generator().manual_seed(0)
    q = Independent(Normal(torch.full((4,), 0.2), torch.ones(4)), 1)
    p = Independent(Normal(torch.zeros(4), torch.ones(4)), 1)
    z = q.mean + torch.randn(200_000, 4, generator=g)  # draws from q
    k = kl_estimates(p.log_prob(z) - q.log_prob(z))  # (3, n)
    exact = float(kl_divergence(q, p))
    se = k.std(1) / k.shape[1] ** 0.5
    assert abs(float(k[0].mean()) - exact) < 4 * float(se[0])  # unbiased
    assert abs(float(k[2].mean()) - exact) < 4 * float(se[2])  # unbiased
    assert float(k[2].var()) * 5 < float(k[0].var())  # near p, k3 is the quieter one


def test_kl_estimates_bad_input() -> None:
    with pytest.raises(TypeError, match="log_ratio must be a tensor"):
        kl_estimates([0.0, 1.0])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="NaN"):
        kl_estimates(torch.tensor([0.0, float("nan")]))


def test_group_normalized_advantages_reference_answer() -> None:
    r = torch.tensor([[1.0, 0.0], [3.0, 0.0], [2.0, 3.0]])  # (K=3, B=2)
    a = group_normalized_advantages(r)
    expected = torch.tensor([[-1.0, -1 / 3**0.5], [1.0, -1 / 3**0.5], [0.0, 2 / 3**0.5]])
    torch.testing.assert_close(a, expected, atol=1e-6, rtol=0)
    assert not group_normalized_advantages(r.requires_grad_()).requires_grad


def test_group_centring_is_leave_one_out_times_a_constant() -> None:
    r = torch.randn(5, 7, generator=torch.Generator().manual_seed(1))
    centred = group_normalized_advantages(r) * r.std(0, keepdim=True)
    torch.testing.assert_close(centred, (r - leave_one_out_baseline(r)) * 4 / 5, atol=1e-5, rtol=0)


def test_group_normalized_advantages_needs_a_group() -> None:
    with pytest.raises(ValueError, match="K >= 2"):
        group_normalized_advantages(torch.zeros(1, 3))


def test_grpo_config_routes_to_group_normalisation() -> None:
    r = torch.randn(4, 3, generator=torch.Generator().manual_seed(2))
    torch.testing.assert_close(score_advantage(estimator_config("grpo"), r), group_normalized_advantages(r))
    with pytest.raises(ValueError, match="GRPO.*samples >= 2"):
        estimator_config("grpo", samples=1)
