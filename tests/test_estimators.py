from __future__ import annotations

import math

import pytest
import torch
from torch.distributions import Normal, RelaxedBernoulli

from rlvae_tutorial.estimators import (
    EMABaseline,
    LearnedBaseline,
    compare_gradients,
    ema_update,
    gradient_statistics,
    leave_one_out_baseline,
    logistic_noise,
    normalize_advantages,
    relaxed_bernoulli,
    score_function_surrogate,
    straight_through_bernoulli,
)


def test_surrogate_gradient_is_the_analytic_estimator() -> None:
    # q = N(mu, 1): d log q(z) / d mu = z - mu, so the gradient is sum_i (r_i - b) (z_i - mu).
    mu = torch.tensor(0.3, requires_grad=True)
    z = torch.tensor([-1.0, 0.5, 2.0])
    reward = (z**2).requires_grad_(True)
    s = score_function_surrogate(Normal(mu, 1.0).log_prob(z), reward, 1.5)
    assert s.shape == (3,)
    (grad,) = torch.autograd.grad(s.sum(), mu)
    expected = ((z**2 - 1.5) * (z - 0.3)).sum()
    torch.testing.assert_close(grad, expected)
    # reward and baseline are constants for autograd
    b = torch.tensor(1.5, requires_grad=True)
    s = score_function_surrogate(Normal(mu, 1.0).log_prob(z), reward, b)
    grads = torch.autograd.grad(s.sum(), (reward, b), allow_unused=True)
    assert all(g is None for g in grads)


def test_surrogate_shape_errors() -> None:
    lp = torch.zeros(4, 3)
    with pytest.raises(ValueError, match="do not broadcast"):
        score_function_surrogate(lp, torch.zeros(5, 3))
    with pytest.raises(ValueError, match="one reward per sampled z"):
        score_function_surrogate(torch.zeros(3), torch.zeros(4, 3))
    with pytest.raises(TypeError, match="must be tensors"):
        score_function_surrogate(lp, 1.0)  # type: ignore[arg-type]
    assert score_function_surrogate(lp, torch.zeros(3)).shape == (4, 3)


@pytest.mark.parametrize("baseline", ["none", "constant", "loo"])
def test_score_function_is_unbiased(baseline: str) -> None:
    """d/d(mu, sigma) E_{N(mu, sigma^2)}[z^2] = (2 mu, 2 sigma), within 4 standard errors."""
    g = torch.Generator().manual_seed(0)
    mu = torch.tensor(0.7, requires_grad=True)
    sigma = torch.tensor(1.3, requires_grad=True)
    n, k = 50_000, 4
    z = (mu + sigma * torch.randn(k, n, generator=g)).detach()  # (K, N)
    reward = z**2 + 10.0  # a large mean, which the baselines remove
    b = {"none": None, "constant": torch.tensor(11.0), "loo": leave_one_out_baseline(reward)}[baseline]
    s = score_function_surrogate(Normal(mu, sigma).log_prob(z), reward, b)  # (K, N)
    # Per-input estimates (mean over K) in closed form, to get their standard error over N;
    # autograd's gradient of the surrogate must equal their mean.
    adv = (reward - b if b is not None else reward).detach()
    d_mu = (adv * (z - 0.7) / 1.3**2).mean(0)  # (N,)
    d_sigma = (adv * ((z - 0.7) ** 2 / 1.3**3 - 1 / 1.3)).mean(0)  # (N,)
    (g_mu, g_sigma) = torch.autograd.grad(s.mean(), (mu, sigma))
    torch.testing.assert_close(g_mu, d_mu.mean(), rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(g_sigma, d_sigma.mean(), rtol=1e-4, atol=1e-5)
    for est, per, exact in ((g_mu, d_mu, 2 * 0.7), (g_sigma, d_sigma, 2 * 1.3)):
        se = float(per.std() / math.sqrt(n))
        assert abs(float(est) - exact) < 4 * se, (baseline, float(est), exact, se)


def test_baselines_reduce_variance_on_a_toy() -> None:
    g = torch.Generator().manual_seed(1)
    z = 0.7 + torch.randn(4, 20_000, generator=g)
    reward = z**2 + 10.0
    score = z - 0.7
    var_none = float((reward * score).mean(0).var())
    var_loo = float(((reward - leave_one_out_baseline(reward)) * score).mean(0).var())
    assert var_loo < var_none / 10


def test_leave_one_out_reference_answers() -> None:
    r = torch.tensor([[1.0, 10.0], [2.0, 20.0], [6.0, 60.0]])
    expected = torch.tensor([[4.0, 40.0], [3.5, 35.0], [1.5, 15.0]])
    torch.testing.assert_close(leave_one_out_baseline(r), expected)
    torch.testing.assert_close(leave_one_out_baseline(torch.tensor([[3.0], [5.0]])), torch.tensor([[5.0], [3.0]]))
    three = torch.randn(4, 2, 3)
    assert leave_one_out_baseline(three).shape == (4, 2, 3)
    r.requires_grad_(True)
    assert not leave_one_out_baseline(r).requires_grad
    with pytest.raises(ValueError, match="needs K >= 2 samples"):
        leave_one_out_baseline(torch.zeros(1, 5))


def test_normalize_advantages() -> None:
    a = torch.tensor([1.0, 2.0, 3.0, 10.0])
    n = normalize_advantages(a)
    assert abs(float(n.mean())) < 1e-6 and abs(float(n.std()) - 1) < 1e-5
    with pytest.raises(ValueError, match="at least two"):
        normalize_advantages(torch.tensor([1.0]))


def test_ema_baseline() -> None:
    ema = EMABaseline(decay=0.9)
    assert float(ema()) == 0.0
    ema.update(torch.tensor([-40.0, -20.0]))
    assert float(ema()) == -30.0  # the first batch sets it
    ema.update(torch.tensor([-10.0]))
    assert float(ema()) == pytest.approx(0.9 * -30 + 0.1 * -10)
    assert "value" in ema.state_dict()
    assert float(ema_update(torch.tensor(1.0), torch.tensor(3.0), 0.5)) == 2.0
    with pytest.raises(ValueError, match=r"decay must be in \[0, 1\)"):
        EMABaseline(decay=1.0)


def test_learned_baseline_fits_input_dependent_rewards() -> None:
    torch.manual_seed(0)
    x = torch.rand(256, 5)
    rewards = (-40 + 5 * x[:, 0]).expand(3, 256)  # (K, B), depends on x
    b = LearnedBaseline(5, (32,))
    assert b(x).shape == (256,)
    opt = torch.optim.Adam(b.parameters(), lr=1e-2)
    first = None
    for _ in range(300):
        loss = b.loss(x, rewards)
        first = first if first is not None else loss.item()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.2 < first
    with pytest.raises(ValueError, match="must end with the batch dimension"):
        b.loss(x, torch.zeros(3, 10))


def test_relaxed_bernoulli_matches_torch_and_straight_through_is_exact() -> None:
    logits = torch.tensor([-2.0, 0.0, 1.5]).expand(8, 3)
    torch.manual_seed(5)
    theirs = RelaxedBernoulli(torch.tensor(0.5), logits=logits).rsample()
    noise = logistic_noise((8, 3), generator=torch.Generator().manual_seed(5))
    torch.testing.assert_close(relaxed_bernoulli(logits, 0.5, noise), theirs, rtol=1e-4, atol=1e-5)
    # straight-through: the value is a hard sample, the gradient that of the relaxation
    lg = torch.tensor([-2.0, 0.0, 1.5], requires_grad=True)
    noise = logistic_noise((100_000, 3), generator=torch.Generator().manual_seed(0))
    z = straight_through_bernoulli(lg, 0.5, noise)
    assert set(z.unique().tolist()) <= {0.0, 1.0}
    freq, p = z.mean(0).detach(), torch.sigmoid(lg.detach())
    se = (p * (1 - p) / noise.shape[0]).sqrt()
    assert ((freq - p).abs() < 4 * se).all()
    (grad,) = torch.autograd.grad(z.sum(), lg)
    (soft_grad,) = torch.autograd.grad(relaxed_bernoulli(lg, 0.5, noise).sum(), lg)
    torch.testing.assert_close(grad, soft_grad)
    with pytest.raises(ValueError, match="temperature must be > 0"):
        relaxed_bernoulli(lg, 0.0, noise)


def test_gradient_statistics_on_known_draws() -> None:
    g = torch.Generator().manual_seed(0)
    true_mean = torch.tensor([1.0, -2.0, 0.5])
    scales = torch.tensor([1.0, 2.0, 3.0])  # trace variance 1 + 4 + 9 = 14

    def draw(m: int) -> torch.Tensor:
        return true_mean + scales * torch.randn(m, 3, generator=g)

    dirs = torch.eye(3)
    a = gradient_statistics(draw, 4000, chunk=300, directions=dirs)
    assert a.n_draws == 4000 and a.mean.shape == (3,) and a.proj_mean.shape == (3,)
    assert abs(a.trace_variance - 14.0) < 1.0
    assert a.per_sample(4) == pytest.approx(4 * a.trace_variance)
    b = gradient_statistics(draw, 4000, directions=dirs)
    same = compare_gradients(a, b)
    assert (same.z_scores.abs() < 4).all() and same.cosine > 0.99

    def biased(m: int) -> torch.Tensor:
        return draw(m) + torch.tensor([0.5, 0.0, 0.0])

    c = compare_gradients(gradient_statistics(biased, 4000, directions=dirs), b)
    assert c.z_scores[0] > 6 and c.error_ratio > 5
    with pytest.raises(ValueError, match="n_draws must be >= 2"):
        gradient_statistics(draw, 1)
    with pytest.raises(ValueError, match=r"must return an \(m, P\)"):
        gradient_statistics(lambda m: torch.zeros(m + 1, 3), 10)
    with pytest.raises(ValueError, match="same directions"):
        compare_gradients(gradient_statistics(draw, 10), b)
