"""Returns and GAE against answers computed by hand (as Stable-Baselines3's test_gae)."""

from __future__ import annotations

import pytest
import torch

from rlvae_tutorial.rl import discounted_returns, gae


def test_discounted_returns_by_hand() -> None:
    r = torch.tensor([1.0, 2.0, 3.0])
    # G_2 = 3, G_1 = 2 + 0.5 * 3 = 3.5, G_0 = 1 + 0.5 * 3.5 = 2.75
    assert torch.allclose(discounted_returns(r, 0.5), torch.tensor([2.75, 3.5, 3.0]))
    # The episode ends at t = 1: G_1 = 2 does not see r_2, and G_0 = 1 + 0.5 * 2.
    done = torch.tensor([False, True, False])
    assert torch.allclose(discounted_returns(r, 0.5, done), torch.tensor([2.0, 2.0, 3.0]))
    # Bootstrapping the unfinished last episode with V(s_T) = 4: G_2 = 3 + 0.5 * 4.
    assert torch.allclose(discounted_returns(r, 0.5, done, next_value=4.0), torch.tensor([2.0, 2.0, 5.0]))


def test_float_next_value_keeps_float64() -> None:
    """A Python float V(s_T) is used as it is: float64 rewards bootstrap from exactly 0.1, not
    from 0.1 rounded to float32."""
    r = torch.zeros(1, dtype=torch.float64)
    assert discounted_returns(r, 1.0, next_value=0.1).item() == 0.1
    assert gae(r, r, 0.1, None, 1.0, 1.0).item() == 0.1


def test_discounted_returns_limits_and_batch() -> None:
    g = torch.Generator().manual_seed(0)
    r = torch.randn(3, 7, generator=g)
    assert torch.allclose(discounted_returns(r, 0.0), r)
    assert torch.allclose(discounted_returns(r, 1.0), r.flip(-1).cumsum(-1).flip(-1), atol=1e-6)
    done = torch.rand(3, 7, generator=g) < 0.3
    batch = discounted_returns(r, 0.9, done)
    rows = torch.stack([discounted_returns(r[i], 0.9, done[i]) for i in range(3)])
    assert batch.shape == (3, 7) and torch.allclose(batch, rows)
    assert discounted_returns(r.double(), 0.9).dtype == torch.float64


def test_discounted_returns_errors() -> None:
    with pytest.raises(ValueError, match=r"shape \(T,\) or \(B, T\)"):
        discounted_returns(torch.zeros(2, 3, 4), 0.9)
    with pytest.raises(ValueError, match="one flag per reward"):
        discounted_returns(torch.zeros(3), 0.9, torch.zeros(4, dtype=torch.bool))
    with pytest.raises(ValueError, match=r"gamma must be in \[0, 1\]"):
        discounted_returns(torch.zeros(3), 1.5)
    with pytest.raises(ValueError, match="NaN or inf"):
        discounted_returns(torch.tensor([1.0, float("nan")]), 0.9)
    with pytest.raises(ValueError, match=r"next_value must be a scalar or have shape \(2,\)"):
        discounted_returns(torch.zeros(2, 3), 0.9, next_value=torch.zeros(3))


def test_gae_by_hand() -> None:
    r = torch.tensor([1.0, 1.0, 1.0])
    v = torch.tensor([0.5, 0.5, 0.5])
    # delta_t = 1 + 0.9 * 0.5 - 0.5 = 0.95; gamma * lam = 0.72
    a = gae(r, v, 0.5, None, gamma=0.9, gae_lambda=0.8)
    assert torch.allclose(a, torch.tensor([0.95 + 0.72 * (0.95 + 0.72 * 0.95), 0.95 + 0.72 * 0.95, 0.95]))
    # Episode ends at t = 1: delta_1 = 1 - 0.5 = 0.5 and A_1 does not see t = 2.
    done = torch.tensor([False, True, False])
    a = gae(r, v, 0.5, done, gamma=0.9, gae_lambda=0.8)
    assert torch.allclose(a, torch.tensor([0.95 + 0.72 * 0.5, 0.5, 0.95]))


def test_gae_limits_match_returns_and_td_errors() -> None:
    g = torch.Generator().manual_seed(1)
    r, v = torch.randn(4, 9, generator=g), torch.randn(4, 9, generator=g)
    nv, done = torch.randn(4, generator=g), torch.rand(4, 9, generator=g) < 0.2
    mc = discounted_returns(r, 0.95, done, next_value=nv) - v
    assert torch.allclose(gae(r, v, nv, done, 0.95, 1.0), mc, atol=1e-5)
    v_next = torch.cat([v[:, 1:], nv[:, None]], dim=1)
    td = r + 0.95 * (~done) * v_next - v
    assert torch.allclose(gae(r, v, nv, done, 0.95, 0.0), td, atol=1e-6)


def test_gae_errors() -> None:
    with pytest.raises(ValueError, match="values must be a tensor shaped like rewards"):
        gae(torch.zeros(3), torch.zeros(4), 0.0, None, 0.9, 0.9)
    with pytest.raises(ValueError, match=r"gae_lambda must be in \[0, 1\]"):
        gae(torch.zeros(3), torch.zeros(3), 0.0, None, 0.9, 1.1)


def test_gae_computes_in_the_wider_dtype_of_rewards_and_values() -> None:
    # float64 rewards with float32 values (a critic's output) keep the rewards' precision.
    r64, v32 = torch.tensor([1.0, 0.5, 2.0], dtype=torch.float64), torch.tensor([0.3, 0.2, 0.1])
    assert gae(r64, v32, 0.0, None, 0.9, 0.8).dtype == torch.float64
    assert gae(r64.float(), v32.double(), 0.0, None, 0.9, 0.8).dtype == torch.float64
    assert gae(r64.float(), v32, 0.0, None, 0.9, 0.8).dtype == torch.float32
