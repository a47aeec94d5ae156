"""The KL-regularised optimum pi*(z) ∝ p(z) exp(r/lam): its log-partition, exact samples by
rejection, and the KL of a policy to it, checked against cases with closed forms."""

from __future__ import annotations

import math

import pytest
import torch
from torch.distributions import Normal, kl_divergence

from rlvae_tutorial.guidance import kl_to_optimum, log_partition, tilted_rejection


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
