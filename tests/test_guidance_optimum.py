"""The KL-regularised optimum pi*(z) ∝ p(z) exp(r/lam): its log-partition, exact samples by
rejection, and the KL of a policy to it, checked against cases with closed forms."""

from __future__ import annotations

import math

import pytest
import torch
from torch.distributions import Normal, kl_divergence

from rlvae_tutorial.guidance import kl_to_optimum, log_partition, sample_tilted, tilted_rejection


def test_log_partition_by_hand() -> None:
    r = torch.tensor([0.0, -1.0, -2.0])
    want = math.log((1 + math.exp(-2.0) + math.exp(-4.0)) / 3)  # lam = 0.5
    assert float(log_partition(r, 0.5)) == pytest.approx(want, rel=1e-6)
    # lam = 1, r = log p_clf: Z is the mean classifier probability, the prior's rate of the target
    p = torch.tensor([0.9, 0.05, 0.05, 0.2])
    assert float(log_partition(p.log(), 1.0)) == pytest.approx(math.log(0.3), rel=1e-6)


def test_rejection_samples_the_tilted_prior_exactly() -> None:
    """A prior uniform over three atoms: the accepted atoms' frequencies are p e^{r/lam} / Z."""
    g = torch.Generator().manual_seed(0)
    atoms = torch.randint(0, 3, (200_000,), generator=g)
    rewards = torch.tensor([0.0, -1.0, -3.0])[atoms]
    lam = 0.7
    keep = tilted_rejection(rewards, lam, generator=g)
    weights = torch.exp(torch.tensor([0.0, -1.0, -3.0]) / lam)
    want = weights / weights.sum()
    got = torch.bincount(atoms[keep], minlength=3).double() / keep.sum()
    assert torch.allclose(got, want.double(), atol=0.005), (got, want)
    # about a share Z of the draws is kept
    assert float(keep.double().mean()) == pytest.approx(math.exp(float(log_partition(rewards, lam))), abs=0.005)


def test_rejection_is_reproducible_and_refuses_bad_input() -> None:
    r = -torch.rand(50, generator=torch.Generator().manual_seed(1))
    a = tilted_rejection(r, 0.3, generator=torch.Generator().manual_seed(2))
    b = tilted_rejection(r, 0.3, generator=torch.Generator().manual_seed(2))
    assert a.dtype == torch.bool and a.shape == (50,) and torch.equal(a, b)
    assert bool(tilted_rejection(torch.zeros(4), 0.1).all())  # r = 0: always kept
    with pytest.raises(ValueError, match="rewards <= 0"):
        tilted_rejection(torch.tensor([0.5, -1.0]), 1.0)
    with pytest.raises(ValueError, match="lam must be > 0"):
        tilted_rejection(torch.tensor([-0.5]), 0.0)
    with pytest.raises(ValueError, match=r"\(N,\)"):
        log_partition(torch.zeros(2, 2), 1.0)


@pytest.mark.parametrize(("m", "s", "a", "lam"), [(0.3, 0.8, 1.5, 1.0), (-1.0, 0.2, 0.5, 0.25), (0.0, 1.0, 0.0, 2.0)])
def test_kl_to_optimum_matches_the_closed_form(m: float, s: float, a: float, lam: float) -> None:
    """p = N(0, 1), r(z) = a z: pi* = N(a/lam, 1) and log Z = a^2 / (2 lam^2), so for pi = N(m, s^2)
    the identity J = lam log Z - lam KL(pi || pi*) gives KL(pi || pi*) in closed form."""
    pi, prior, opt = Normal(m, s), Normal(0.0, 1.0), Normal(a / lam, 1.0)
    got = kl_to_optimum(a * m, float(kl_divergence(pi, prior)), a * a / (2 * lam * lam), lam)
    assert got == pytest.approx(float(kl_divergence(pi, opt)), rel=1e-6, abs=1e-9)
    with pytest.raises(ValueError, match="lam must be > 0"):
        kl_to_optimum(0.0, 0.0, 0.0, -1.0)


def _gaussian_case(a: float, seed: int):
    """p = N(0, 1) in one dimension, r(z) = -a z^2 / 2 <= 0: pi*_lam = N(0, 1 / (1 + a/lam)) and
    Z_lam = (1 + a/lam)^(-1/2)."""
    g = torch.Generator().manual_seed(seed)
    return g, (lambda k: torch.randn(k, 1, generator=g, dtype=torch.float64)), (lambda z: -a * z[:, 0] ** 2 / 2)


@pytest.mark.parametrize(("a", "lam"), [(1.0, 1.0), (4.0, 0.1)])
def test_sample_tilted_draws_until_it_has_enough_exact_samples(a: float, lam: float) -> None:
    g, draw, reward = _gaussian_case(a, 0)
    n = 4000
    t = sample_tilted(draw, reward, lam, n, generator=g, chunk=5000)
    assert t.z.shape == (n, 1) and t.accepted >= n and t.draws % 5000 == 0
    want_var = 1 / (1 + a / lam)  # a sharp optimum (lam = 0.1: Z about 0.16) needs several chunks
    se_var = want_var * math.sqrt(2 / n)
    assert abs(float(t.z.var()) - want_var) < 4 * se_var, (float(t.z.var()), want_var)
    assert abs(float(t.z.mean())) < 4 * math.sqrt(want_var / n)
    assert t.log_z == pytest.approx(-0.5 * math.log(1 + a / lam), abs=0.02)
    assert t.accepted / t.draws == pytest.approx(math.exp(t.log_z), abs=0.02)


def test_sample_tilted_is_reproducible_and_says_how_many_draws_it_would_need() -> None:
    runs = [sample_tilted(*_gaussian_case(1.0, 3)[1:], 0.5, 50, generator=torch.Generator().manual_seed(4),
                          chunk=100) for _ in range(2)]
    assert torch.equal(runs[0].z, runs[1].z) and runs[0].draws == runs[1].draws
    g, draw, reward = _gaussian_case(100.0, 0)  # Z = (1 + 1000)^(-1/2), about 0.03
    with pytest.raises(ValueError, match=r"only \d+ of the 500 samples .* raise max_draws to about"):
        sample_tilted(draw, reward, 0.1, 500, generator=g, chunk=1000, max_draws=2000)
    with pytest.raises(ValueError, match="one reward per draw"):
        sample_tilted(draw, lambda z: -z.abs(), 1.0, 5, generator=g)
    with pytest.raises(ValueError, match="must be >= 1"):
        sample_tilted(draw, reward, 1.0, 0)
    with pytest.raises(ValueError, match="rewards <= 0"):
        sample_tilted(draw, lambda z: z[:, 0].abs(), 1.0, 5)


def test_sample_tilted_settles_for_min_n_when_the_draws_run_out() -> None:
    g, draw, reward = _gaussian_case(100.0, 0)  # Z_0.1 = (1 + 1000)^(-1/2), about 0.032
    t = sample_tilted(draw, reward, 0.1, 500, generator=g, chunk=1000, max_draws=4000, min_n=50)
    assert 50 <= t.accepted < 500 and t.z.shape == (t.accepted, 1) and t.draws == 4000
    with pytest.raises(ValueError, match=r"at least 400 needed"):
        sample_tilted(*_gaussian_case(100.0, 0)[1:], 0.1, 500, chunk=1000, max_draws=4000, min_n=400)
    with pytest.raises(ValueError, match="min_n <= n"):
        sample_tilted(draw, reward, 0.1, 5, min_n=6)
