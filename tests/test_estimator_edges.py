"""Edges of the relaxed, antithetic and KL estimators: exact boundaries, clamps and messages.

Each test pins a value that a one-character slip changes: the strict inequality of a Bernoulli
draw at u = p, the sign of the noise in a straight-through sample, the clamp that keeps logistic
noise finite, the dtype asked for, and the whole text of each error.
"""

from __future__ import annotations

import math

import pytest
import torch

from rlvae_tutorial.estimators import (
    kl_estimates,
    logistic_noise,
    normalize_advantages,
    score_function_surrogate,
    straight_through_bernoulli,
)
from rlvae_tutorial.estimators.disarm import antithetic_bernoulli


def test_logistic_noise_clamps_exact_zero_and_one_to_finite_values(monkeypatch: pytest.MonkeyPatch) -> None:
    for dtype in (torch.float32, torch.float64):
        eps = torch.finfo(dtype).eps
        fixed = torch.tensor([0.0, 1.0, 0.5], dtype=dtype)
        monkeypatch.setattr(torch, "rand", lambda *a, _u=fixed, **k: _u.clone())
        noise = logistic_noise((3,), dtype=dtype)
        edge = math.log((1 - eps) / eps)  # log u - log(1 - u) at u = 1 - eps
        torch.testing.assert_close(noise, torch.tensor([-edge, edge, 0.0], dtype=dtype))
        monkeypatch.undo()


def test_logistic_noise_has_the_dtype_asked_for() -> None:
    g = torch.Generator().manual_seed(0)
    assert logistic_noise((4,), generator=g, dtype=torch.float64).dtype == torch.float64
    assert logistic_noise((4,), generator=g).dtype == torch.float32


def test_straight_through_sample_adds_the_noise_and_is_strict_at_zero() -> None:
    logits = torch.tensor([1.0, -1.0, 0.5, -2.0])
    noise = torch.tensor([-0.5, 2.0, -0.5, 2.0])  # logits + noise = 0.5, 1.0, 0.0 (exactly), 0.0
    z = straight_through_bernoulli(logits, 0.5, noise)
    assert z.tolist() == [1.0, 1.0, 0.0, 0.0]


def test_antithetic_pair_is_strict_at_u_equal_to_p() -> None:
    logits = torch.tensor([math.log(0.25 / 0.75), math.log(0.75 / 0.25)], dtype=torch.float64)  # p = 0.25, 0.75
    z, z_tilde = antithetic_bernoulli(logits, torch.tensor([0.25, 0.25], dtype=torch.float64))
    # u = p for the first: z = 1[u < p] = 0; 1 - u = p for the second: z~ = 1[1 - u < p] = 0.
    assert z.tolist() == [0.0, 1.0] and z_tilde.tolist() == [0.0, 0.0]


def test_estimator_errors_have_whole_messages() -> None:
    with pytest.raises(TypeError, match=r"^log_ratio must be a tensor: log p\(z\) - log q\(z\) of draws z ~ q$"):
        kl_estimates([0.1, 0.2])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"^log_ratio has NaN entries: compute log p\(z\) - log q\(z\) of finite draws$"):
        kl_estimates(torch.tensor([0.1, math.nan]))
    with pytest.raises(ValueError, match=r"^u must hold uniform draws in \[0, 1\]: pass torch.rand\(...\) of the samples' shape$"):
        antithetic_bernoulli(torch.zeros(2), torch.tensor([0.5, 1.5]))
    with pytest.raises(TypeError, match=r"^log_prob and reward must be tensors \(log q\(z\) of the sampled z, and r\(z\)\)$"):
        score_function_surrogate([0.0], torch.zeros(1))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"^log_prob \(3,\) and reward - baseline \(2,\) do not broadcast; give one reward per sampled z \(e.g. both \(K, B\)\)$"):
        score_function_surrogate(torch.zeros(3), torch.zeros(2))


def test_logistic_noise_lands_on_the_device_asked_for_whatever_the_generators_device() -> None:
    # "meta" tensors have a device and a shape but no data: enough to check where each step puts them.
    for generator in (None, torch.Generator().manual_seed(0)):
        noise = logistic_noise((3,), generator=generator, device="meta")
        assert noise.device.type == "meta" and noise.shape == (3,)


def test_logistic_noise_draws_with_the_generators_device_or_else_on_the_target(monkeypatch: pytest.MonkeyPatch) -> None:
    # Which RNG draws matters on a GPU: a CPU generator draws on the CPU (the same numbers on every
    # machine); without one, the target device's own RNG draws there, with no copy.
    drawn_on: list[str] = []
    real = torch.rand
    monkeypatch.setattr(torch, "rand", lambda *a, device=None, **k: drawn_on.append(str(device)) or real(*a, device=device, **k))
    logistic_noise((3,), device="meta")
    logistic_noise((3,), generator=torch.Generator(), device="meta")
    assert drawn_on == ["meta", "cpu"]


def test_a_tensor_baseline_is_cast_to_the_rewards_dtype() -> None:
    # a (2,) baseline: a 0-d float64 one would not promote float32 rewards even uncast
    s = score_function_surrogate(torch.ones(2), torch.ones(2), torch.tensor([0.5, 0.25], dtype=torch.float64))
    assert s.dtype == torch.float32 and s.tolist() == [0.5, 0.75]


def test_normalize_advantages_adds_eps_to_a_tiny_std() -> None:
    """(a - mean) / (std + eps) where std is of eps's order: for a = (0, 2e-8), std = sqrt(2) 1e-8,
    so the normalised values are +-1 / (1 + sqrt 2) = +-(sqrt 2 - 1), not +-1."""
    out = normalize_advantages(torch.tensor([0.0, 2e-8], dtype=torch.float64))
    r = math.sqrt(2) - 1
    assert out.tolist() == pytest.approx([-r, r], rel=1e-9)
