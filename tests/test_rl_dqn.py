"""DQN: the target and the loss by hand, the config's errors, determinism, and that it learns."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch

from rlvae_tutorial.envs import GRIDWORLD_ID
from rlvae_tutorial.rl.dqn import (
    DQNConfig,
    QNetwork,
    ReplayBuffer,
    dqn_loss,
    dqn_targets,
    epsilon_at,
    train_dqn,
)


def test_dqn_targets_by_hand() -> None:
    r = torch.tensor([1.0, 0.5, -1.0])
    next_q = torch.tensor([[0.0, 2.0], [3.0, 1.0], [5.0, 6.0]])
    terminated = torch.tensor([False, False, True])
    # y = r + 0.9 * max_a' Q(s', a'), and r alone at the terminal transition
    assert torch.allclose(dqn_targets(r, next_q, terminated, 0.9), torch.tensor([2.8, 3.2, -1.0]))
    # double DQN: the online net picks a' = (0, 1, 0); the target net scores it
    online = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]])
    assert torch.allclose(dqn_targets(r, next_q, terminated, 0.9, online), torch.tensor([1.0, 1.4, -1.0]))


def test_dqn_targets_have_no_gradient_and_check_shapes() -> None:
    q = torch.randn(4, 3, requires_grad=True)
    y = dqn_targets(torch.zeros(4), q, torch.zeros(4, dtype=torch.bool), 0.9)
    assert not y.requires_grad
    with pytest.raises(ValueError, match=r"rewards \(B,\), next_q_target \(B, A\)"):
        dqn_targets(torch.zeros(4), torch.zeros(4), torch.zeros(4, dtype=torch.bool), 0.9)
    with pytest.raises(ValueError, match="next_q_online must have"):
        dqn_targets(torch.zeros(4), q, torch.zeros(4, dtype=torch.bool), 0.9, torch.zeros(4, 2))


def test_dqn_loss_is_huber_on_the_taken_actions() -> None:
    q = torch.tensor([[1.0, 5.0], [2.0, 0.0]], requires_grad=True)
    loss = dqn_loss(q, torch.tensor([1, 0]), torch.tensor([4.0, 5.0]))
    # errors 1 (quadratic: 0.5) and -3 (linear: 2.5) -> mean 1.5
    assert loss.item() == pytest.approx(1.5)
    loss.backward()
    assert q.grad[0, 0] == 0 and q.grad[1, 1] == 0, "only the taken actions get a gradient"
    with pytest.raises(ValueError, match="expected q_values"):
        dqn_loss(q, torch.tensor([1]), torch.tensor([4.0, 5.0]))


def test_epsilon_schedule() -> None:
    c = DQNConfig(total_steps=1000, eps_start=1.0, eps_end=0.1, eps_fraction=0.5)
    assert epsilon_at(0, c) == 1.0 and epsilon_at(250, c) == pytest.approx(0.55)
    assert epsilon_at(500, c) == pytest.approx(0.1) and epsilon_at(900, c) == pytest.approx(0.1)


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"total_steps": 0}, "total_steps must be >= 1"),
    ({"gamma": 1.5}, "gamma must be in"),
    ({"eps_end": 0.5, "eps_start": 0.2}, "eps_end <= eps_start"),
    ({"learning_starts": 10, "batch_size": 64}, "learning_starts"),
    ({"eps_start": 1.5, "eps_end": 0.1}, "^DQNConfig needs 0 <= eps_end <= eps_start <= 1 and 0 < eps_fraction <= 1$"),
    ({"eps_fraction": 0.0}, "0 < eps_fraction <= 1"),
    ({"eps_fraction": 1.5}, "0 < eps_fraction <= 1"),
])
def test_config_errors(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        DQNConfig(**kwargs)


@pytest.mark.parametrize("kwargs", [{"gamma": 0.0}, {"gamma": 1.0}, {"eps_start": 1.0, "eps_end": 1.0},
                                    {"eps_start": 0.0, "eps_end": 0.0}, {"eps_fraction": 1.0}])
def test_config_accepts_the_ends_of_its_ranges(kwargs: dict) -> None:
    """gamma = 0 (myopic) and 1 (undiscounted), a constant epsilon of 1 or 0, a decay over the whole run."""
    assert DQNConfig(**kwargs)


def test_replay_buffer_keeps_the_newest_transitions_in_order() -> None:
    """Batched adds (one transition per sub-env) fill consecutive slots from the oldest one on."""
    buf = ReplayBuffer(5, 1)
    assert buf.size == 0
    for start in (0, 3, 6):  # three adds of 3: the last 5 of transitions 0..8 survive
        i = np.arange(start, start + 3)
        buf.add(i[:, None], i, i * 10, i[:, None] + 1, i % 2 == 0)
    assert buf.size == 5
    # slots 0..4 hold transitions 5, 6, 7, 8 | 4 (written at 3, 4 | 0, 1, 2 | ...): ring order
    assert buf.actions.tolist() == [5, 6, 7, 8, 4] and buf.obs[:, 0].tolist() == [5, 6, 7, 8, 4]
    assert buf.rewards.tolist() == [50, 60, 70, 80, 40] and buf.terminated.tolist() == [False, True, False, True, True]
    s, a, r, s2, d = buf.sample(50, np.random.default_rng(0), torch.device("cpu"))
    assert a.dtype == torch.int64 and r.dtype == torch.float32 and s.dtype == torch.float32 and d.dtype == torch.bool
    first = ReplayBuffer(3, 1)
    first.add(np.ones((1, 1)), np.array([7]), np.array([1.0]), np.ones((1, 1)), np.array([False]))
    assert first.actions.tolist() == [7, 0, 0], "the first transition goes to slot 0"


def test_replay_buffer_wraps_around() -> None:
    buf = ReplayBuffer(4, 2)
    for i in range(6):
        buf.add(np.full((1, 2), i), np.array([i]), np.array([i]), np.full((1, 2), i + 1), np.array([False]))
    assert buf.size == 4 and sorted(buf.actions.tolist()) == [2, 3, 4, 5]
    s, a, r, s2, d = buf.sample(100, np.random.default_rng(0), torch.device("cpu"))
    assert s.shape == (100, 2) and torch.equal(s2[:, 0], s[:, 0] + 1) and set(a.tolist()) <= {2, 3, 4, 5}


def test_qnetwork_checks_observations() -> None:
    q = QNetwork(5, 3)
    assert q(torch.zeros(2, 5)).shape == (2, 3) and q.act(torch.zeros(2, 5)).shape == (2,)
    with pytest.raises(ValueError, match=r"^QNetwork expects observations of shape \(B, 5\), got \(2, 4\); flatten"):
        q(torch.zeros(2, 4))


def test_qnetwork_is_a_relu_mlp_with_a_unit_gain_output_layer() -> None:
    """ReLU hidden units (DQN's) and an orthogonal output layer of gain 1: its singular values are 1."""
    q = QNetwork(6, 3, hidden=(16, 16))
    layers = [m for m in q.modules() if isinstance(m, torch.nn.Linear)]
    assert [layer.out_features for layer in layers] == [16, 16, 3]
    assert sum(isinstance(m, torch.nn.ReLU) for m in q.modules()) == 2
    sv = torch.linalg.svdvals(layers[-1].weight.detach())
    assert torch.allclose(sv, torch.ones_like(sv), atol=1e-5), sv


def test_dqn_shape_checks_catch_each_mismatch_alone() -> None:
    with pytest.raises(ValueError):
        dqn_targets(torch.zeros(4), torch.zeros(4, 2), torch.zeros(3, dtype=torch.bool), 0.9)  # terminated only
    with pytest.raises(ValueError):
        dqn_loss(torch.zeros(4, 2), torch.zeros(4, dtype=torch.long), torch.zeros(3))  # targets only
    with pytest.raises(ValueError):
        dqn_loss(torch.zeros(4), torch.zeros(4, dtype=torch.long), torch.zeros(4))  # q_values 1-D only


def _envs(n: int) -> gym.vector.VectorEnv:
    return gym.make_vec(GRIDWORLD_ID, num_envs=n, vectorization_mode="sync", obs_mode="onehot", random_start=True)


def test_same_seed_same_history() -> None:
    config = DQNConfig(total_steps=600, learning_starts=100, eval_every=300)
    a = train_dqn(_envs(4), config, seed=3, eval_envs=_envs(4), progress=False).history
    b = train_dqn(_envs(4), config, seed=3, eval_envs=_envs(4), progress=False).history
    assert a.eval_means == b.eval_means and a.episode_returns == b.episode_returns
    assert [u["loss"] for u in a.updates] == [u["loss"] for u in b.updates]
    assert a.env_steps >= 600 and a.eval_steps[0] == 0


@pytest.mark.slow
def test_dqn_learns_the_gridworld_from_the_true_state() -> None:
    config = DQNConfig(total_steps=5000, eval_every=1000)
    h = train_dqn(_envs(4), config, seed=0, eval_envs=_envs(16), progress=False).history
    assert h.eval_means[0] < 0.5 and max(h.eval_means[-2:]) > 0.9, h.eval_means


def test_rejects_image_observations() -> None:
    envs = gym.make_vec("rlvae_tutorial/PixelGridWorld-v0", num_envs=2, vectorization_mode="sync")
    with pytest.raises(ValueError, match="flat vectors"):
        train_dqn(envs, DQNConfig(total_steps=10, learning_starts=64), progress=False)


def test_a_non_finite_loss_stops_the_update_and_names_the_fix() -> None:
    from rlvae_tutorial.rl.dqn import dqn_update

    q, target = QNetwork(2, 2), QNetwork(2, 2)
    opt = torch.optim.Adam(q.parameters(), lr=1e-3)
    before = [p.detach().clone() for p in q.parameters()]
    batch = (torch.zeros(4, 2), torch.zeros(4, dtype=torch.long), torch.full((4,), float("inf")),
             torch.zeros(4, 2), torch.zeros(4, dtype=torch.bool))
    with pytest.raises(FloatingPointError, match=r"the DQN loss is .*lower DQNConfig.lr \(0.01\) or set max_grad_norm"):
        dqn_update(q, target, opt, batch, DQNConfig(lr=0.01))
    assert all(torch.equal(a, b) for a, b in zip(before, q.parameters(), strict=True)), "no step on a bad loss"
