"""Property-based tests (Hypothesis) of the pure functions: returns, GAE, DQN targets, KL, the
ELBO/IWAE terms, baselines and the transition mask.

Each test states an identity or invariant that must hold for *every* input, including the edge
cases (length-1 episodes, all-terminal and no-terminal batches, gamma and lambda in {0, 1}, K = 2),
which the strategies below draw on purpose.  Bounded and deterministic in CI: tests/conftest.py.
Reference computations are in float64; tolerances are float64 round-off at the values' scale.
"""

from __future__ import annotations

import itertools
import math

import torch
from hypothesis import given
from hypothesis import strategies as st
from torch.distributions import Independent, Normal, kl_divergence

from rlvae_tutorial.estimators import (
    leave_one_out_baseline,
    normalize_advantages,
    score_function_surrogate,
)
from rlvae_tutorial.rl import discounted_returns, ema_baseline, gae, transition_mask
from rlvae_tutorial.rl.dqn import dqn_targets
from rlvae_tutorial.rlvae.objective import elbo_reward
from rlvae_tutorial.vae import VAE, VAEConfig, elbo, gaussian_kl, iwae_bound, log_mean_exp

F64 = torch.float64
values = st.floats(-50, 50, allow_nan=False, allow_infinity=False, width=64)
# Discounts and GAE's lambda: the ends 0 and 1 come up often (Hypothesis favours boundaries).
unit = st.one_of(st.sampled_from([0.0, 1.0]), st.floats(0, 1))


@st.composite
def streams(draw: st.DrawFn, max_t: int = 6) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """rewards and values ``(T,)`` or ``(B, T)`` (T >= 1: length-1 streams too) and terminated
    flags: random, all True, or all False."""
    shape = draw(st.sampled_from([(), (1,), (2,), (3,)])) + (draw(st.integers(1, max_t)),)
    n = math.prod(shape)
    rewards = torch.tensor(draw(st.lists(values, min_size=n, max_size=n)), dtype=F64).reshape(shape)
    vals = torch.tensor(draw(st.lists(values, min_size=n, max_size=n)), dtype=F64).reshape(shape)
    kind = draw(st.sampled_from(["random", "all", "none"]))
    if kind == "random":
        flags = torch.tensor(draw(st.lists(st.booleans(), min_size=n, max_size=n))).reshape(shape)
    else:
        flags = torch.full(shape, kind == "all")
    return rewards, vals, flags


def _close(a: torch.Tensor, b: torch.Tensor, scale: float = 1.0) -> bool:
    return torch.allclose(a, b, rtol=1e-9, atol=1e-9 * max(scale, 1.0))


def _brute_returns(r: torch.Tensor, d: torch.Tensor, gamma: float, boot: torch.Tensor) -> torch.Tensor:
    """G_t = sum_k gamma^k r_{t+k} up to the episode's end (a double loop, for one row)."""
    t_len = r.shape[-1]
    out = torch.zeros_like(r)
    for t in range(t_len):
        total, disc = 0.0, 1.0
        for k in range(t, t_len):
            total += disc * float(r[k])
            if d[k]:
                break
            disc *= gamma
        else:
            total += disc * float(boot)
        out[t] = total
    return out


@given(streams(), unit, values)
def test_discounted_returns_equal_the_sum_within_each_episode(s: tuple, gamma: float, boot: float) -> None:
    rewards, _, term = s
    next_value = torch.full(rewards.shape[:-1], boot, dtype=F64)
    g = discounted_returns(rewards, gamma, term, next_value=next_value)
    assert g.shape == rewards.shape and g.dtype == F64
    rows = zip(rewards.reshape(-1, rewards.shape[-1]), term.reshape(-1, rewards.shape[-1]),
               next_value.reshape(-1), g.reshape(-1, rewards.shape[-1]), strict=True)
    for r, d, b, got in rows:
        assert _close(got, _brute_returns(r, d, gamma, b), scale=100 * rewards.shape[-1])
    if gamma == 0.0 or bool(term.all()):  # each step is its own episode, or nothing is discounted in
        assert _close(g, rewards)


@given(streams(), unit, unit, values)
def test_gae_identities(s: tuple, gamma: float, lam: float, boot: float) -> None:
    rewards, v, term = s
    next_value = torch.full(rewards.shape[:-1], boot, dtype=F64)
    adv = gae(rewards, v, next_value, term, gamma, lam)
    assert adv.shape == rewards.shape and adv.dtype == F64
    scale = 100 * rewards.shape[-1]
    v_next = torch.cat([v[..., 1:], next_value[..., None]], dim=-1)
    not_done = (~term).to(F64)
    delta = rewards + gamma * not_done * v_next - v
    if lam == 1.0:  # Monte Carlo: A + V is the (bootstrapped) discounted return
        assert _close(adv + v, discounted_returns(rewards, gamma, term, next_value=next_value), scale)
    if lam == 0.0:  # the one-step TD error
        assert _close(adv, delta, scale)
    if bool(term.all()):  # every step ends its episode: nothing is bootstrapped
        assert _close(adv, rewards - v, scale)
    # The recursion itself: A_t = delta_t + gamma lam (1 - d_t) A_{t+1}.
    nxt = torch.cat([adv[..., 1:], torch.zeros_like(adv[..., :1])], dim=-1)
    assert _close(adv, delta + gamma * lam * not_done * nxt, scale)


@given(st.integers(1, 5), st.integers(1, 4), unit, st.data())
def test_dqn_targets(batch: int, n_actions: int, gamma: float, data: st.DataObject) -> None:
    def tensor(*shape: int) -> torch.Tensor:
        n = math.prod(shape)
        return torch.tensor(data.draw(st.lists(values, min_size=n, max_size=n)), dtype=F64).reshape(shape)

    r, q_target, q_online = tensor(batch), tensor(batch, n_actions), tensor(batch, n_actions)
    term = torch.tensor(data.draw(st.lists(st.booleans(), min_size=batch, max_size=batch)))
    y = dqn_targets(r, q_target, term, gamma)
    assert y.shape == (batch,) and not y.requires_grad
    assert _close(y, torch.where(term, r, r + gamma * q_target.max(-1).values), 100)
    y2 = dqn_targets(r, q_target, term, gamma, next_q_online=q_online)
    assert bool((y2 <= y + 1e-9).all())  # double DQN never exceeds the max (gamma >= 0)
    assert _close(y2[term], r[term])  # terminated: no bootstrap at all
    assert _close(dqn_targets(r, q_target, term, gamma, next_q_online=q_target), y, 100)


@given(st.integers(1, 4), st.integers(1, 5), st.data())
def test_gaussian_kl_matches_torch_and_is_zero_only_at_the_prior(b: int, d: int, data: st.DataObject) -> None:
    small = st.floats(-5, 5, allow_nan=False, width=64)
    mu = torch.tensor(data.draw(st.lists(small, min_size=b * d, max_size=b * d)), dtype=F64).reshape(b, d)
    logvar = torch.tensor(data.draw(st.lists(small, min_size=b * d, max_size=b * d)), dtype=F64).reshape(b, d)
    kl = gaussian_kl(mu, logvar)
    q = Independent(Normal(mu, (0.5 * logvar).exp()), 1)
    p = Independent(Normal(torch.zeros_like(mu), torch.ones_like(mu)), 1)
    assert kl.shape == (b,) and torch.allclose(kl, kl_divergence(q, p), rtol=1e-9, atol=1e-9)
    assert bool((kl >= -1e-12).all())  # >= 0 up to round-off
    assert float(gaussian_kl(torch.zeros(b, d), torch.zeros(b, d)).abs().max()) == 0.0


@given(st.lists(values, min_size=1, max_size=6), st.integers(1, 6), st.floats(0, 5))
def test_elbo_reward_and_log_mean_exp(log_w: list[float], k: int, beta: float) -> None:
    w = torch.tensor(log_w, dtype=F64)
    # r = log p(x|z) - beta (log q - log p); beta = 1 gives the importance log-weight.
    lp, lq, lpz = w, w.flip(0), w.roll(1)
    assert _close(elbo_reward(lp, lq, lpz, 1.0), lp + lpz - lq, 100)
    assert _close(elbo_reward(lp, lq, lpz, beta), lp - beta * (lq - lpz), 1000)
    # log-mean-exp of one weight is the weight (IWAE with K = 1 is the ELBO); of several it is at
    # least their mean (Jensen: IWAE >= the ELBO of the same samples) and at most their max.
    assert _close(log_mean_exp(w[:1]), w[0])
    lme = log_mean_exp(w)
    assert float(w.mean()) - 1e-9 <= float(lme) <= float(w.max()) + 1e-9


@given(st.lists(st.floats(-20, 20, allow_nan=False, width=64), min_size=2, max_size=7))
def test_iwae_bound_rises_with_k_in_expectation(log_w: list[float]) -> None:
    """Burda et al. (2016), Theorem 1, on the empirical distribution of n log-weights: the mean of
    log-mean-exp over all k-subsets (k draws without replacement) is nondecreasing in k."""
    w = torch.tensor(log_w, dtype=F64)
    n = len(log_w)

    def bound(k: int) -> float:
        subsets = list(itertools.combinations(range(n), k))
        return sum(float(log_mean_exp(w[list(c)])) for c in subsets) / len(subsets)

    bounds = [bound(k) for k in range(1, n + 1)]
    assert all(a <= b + 1e-9 for a, b in itertools.pairwise(bounds)), bounds
    assert math.isclose(bounds[0], float(w.mean()), abs_tol=1e-9)  # K = 1: the ELBO's estimate


@given(st.integers(0, 2**16))
def test_iwae_with_k1_is_the_single_sample_elbo(seed: int) -> None:
    torch.manual_seed(0)
    model = VAE(VAEConfig(x_dim=6, hidden=(8,), z_dim=2))
    x = torch.rand(3, 6).round()
    with torch.no_grad():
        iwae = iwae_bound(model, x, 1, generator=torch.Generator().manual_seed(seed))
        terms = elbo(model, x, n_samples=1, analytic_kl=False, generator=torch.Generator().manual_seed(seed))
    assert torch.allclose(iwae, terms.elbo, rtol=1e-5, atol=1e-5)


@given(st.integers(2, 5), st.integers(1, 3), st.data())
def test_leave_one_out_baseline(k: int, b: int, data: st.DataObject) -> None:
    n = k * b
    r = torch.tensor(data.draw(st.lists(values, min_size=n, max_size=n)), dtype=F64).reshape(k, b)
    base = leave_one_out_baseline(r)
    assert base.shape == (k, b) and not base.requires_grad
    for i in range(k):  # the mean of the others ...
        others = torch.cat([r[:i], r[i + 1 :]])
        assert _close(base[i], others.mean(0), 100)
        # ... so it does not depend on its own sample: change r_i, b_i stays.
        changed = r.clone()
        changed[i] = data.draw(values)
        assert _close(leave_one_out_baseline(changed)[i], base[i], 100)
    assert _close((r - base).sum(0), torch.zeros(b, dtype=F64), 100 * k)  # the advantages sum to 0
    if k == 2:
        assert _close(base, r.flip(0), 100)  # K = 2: the other sample


@given(st.lists(values, min_size=1, max_size=8), st.floats(0, 1), values, st.data())
def test_ema_baseline_sees_only_the_past(r: list[float], decay: float, init: float,
                                                     data: st.DataObject) -> None:
    rewards = torch.tensor(r, dtype=F64)
    b = ema_baseline(rewards, decay, init)
    assert b.shape == rewards.shape and b.dtype == F64 and float(b[0]) == init
    i = data.draw(st.integers(0, len(r) - 1))
    changed = rewards.clone()
    changed[i] += 1.0
    assert torch.equal(ema_baseline(changed, decay, init)[: i + 1], b[: i + 1])
    if decay == 0.0 and len(r) > 1:
        assert torch.equal(b[1:], rewards[:-1])  # the previous reward
    lo, hi = min(r + [init]), max(r + [init])
    assert bool(((b >= lo - 1e-9) & (b <= hi + 1e-9)).all())  # an average stays in range


@given(st.lists(values, min_size=2, max_size=10))
def test_normalized_advantages_and_the_surrogate(a: list[float]) -> None:
    adv = torch.tensor(a, dtype=F64)
    z = normalize_advantages(adv)
    assert z.shape == adv.shape and abs(float(z.mean())) < 1e-6
    if float(adv.std()) > 1e-3:
        assert abs(float(z.std()) - 1.0) < 1e-6
    log_prob = torch.zeros_like(adv, requires_grad=True)
    reward = adv.clone().requires_grad_(True)
    s = score_function_surrogate(log_prob, reward, 1.5)
    s.sum().backward()
    assert _close(log_prob.grad, adv - 1.5, 100) and reward.grad is None  # reward is detached


@st.composite
def flags(draw: st.DrawFn) -> tuple[torch.Tensor, torch.Tensor]:
    shape = draw(st.sampled_from([(), (1,), (3,)])) + (draw(st.integers(1, 7)),)
    kind = draw(st.sampled_from(["random", "none", "all_terminated", "all_truncated"]))
    n = math.prod(shape)
    rand = [torch.tensor(draw(st.lists(st.booleans(), min_size=n, max_size=n))).reshape(shape) for _ in range(2)]
    full, empty = torch.ones(shape, dtype=torch.bool), torch.zeros(shape, dtype=torch.bool)
    return {"random": rand, "none": (empty, empty), "all_terminated": (full, empty),
            "all_truncated": (empty, full)}[kind]


@given(flags(), st.booleans())
def test_transition_mask(f: tuple[torch.Tensor, torch.Tensor], first_valid: bool) -> None:
    terminated, truncated = f
    valid = transition_mask(terminated, truncated, first_valid)
    assert valid.shape == terminated.shape and valid.dtype == torch.bool
    done = terminated | truncated
    assert bool((valid[..., 0] == first_valid).all())
    assert torch.equal(valid[..., 1:], ~done[..., :-1])  # a step after an episode end is the reset
    assert torch.equal(transition_mask(terminated.int(), truncated.float(), first_valid), valid)
    if not bool(done.any()):
        assert bool(valid[..., 1:].all())
    if bool(done.all()):
        assert not bool(valid[..., 1:].any())
