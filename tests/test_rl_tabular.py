"""Value iteration, policy evaluation and Q-learning on hand-made MDPs and the gridworld."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

from rlvae_tutorial.envs import GRIDWORLD_ID, GridWorldEnv
from rlvae_tutorial.rl import (
    QLearningConfig,
    bellman_backup,
    optimal_actions,
    policy_evaluation,
    q_learning,
    q_learning_update,
    value_iteration,
)


def _two_state_mdp() -> tuple[np.ndarray, np.ndarray]:
    # State 0: action 0 stays (+1), action 1 moves to state 1 (+0); state 1 stays with +2.
    P = np.zeros((2, 2, 2))
    P[0, 0, 0] = P[0, 1, 1] = P[1, :, 1] = 1.0
    R = np.array([[1.0, 0.0], [2.0, 2.0]])
    return P, R


def test_value_iteration_by_hand() -> None:
    P, R = _two_state_mdp()
    V, Q, iters = value_iteration(P, R, gamma=0.5)
    # V(1) = 2 / (1 - 0.5) = 4; moving pays 0 + 0.5 * 4 = 2 = staying's 1 / (1 - 0.5): a tie.
    assert np.allclose(V, [2.0, 4.0]) and np.allclose(Q[0], [2.0, 2.0]) and iters > 1
    assert optimal_actions(Q)[0].all()
    V9, Q9, _ = value_iteration(P, R, gamma=0.9)  # far-sighted: moving wins (18 > 10)
    assert np.allclose(V9, [18.0, 20.0]) and Q9[0].argmax() == 1
    assert np.allclose(Q9, bellman_backup(V9, P, R, 0.9))


def test_policy_evaluation_and_optimality_on_the_gridworld() -> None:
    env = GridWorldEnv(slip=0.1)
    P, R = env.transition_model()
    V, Q, _ = value_iteration(P, R, 0.9)
    greedy = np.eye(4)[Q.argmax(-1)]
    assert np.allclose(policy_evaluation(P, R, greedy, 0.9), V, atol=1e-8)
    uniform = np.full((25, 4), 0.25)
    assert np.all(policy_evaluation(P, R, uniform, 0.9) <= V + 1e-12)
    deterministic = GridWorldEnv()
    V0, _, _ = value_iteration(*deterministic.transition_model(), 0.9)
    assert np.isclose(V0[deterministic.start], 0.9**7)  # 8 moves to the goal, rewarded on the last


def test_tabular_errors() -> None:
    P, R = _two_state_mdp()
    with pytest.raises(ValueError, match="must sum to 1"):
        value_iteration(P * 0.5, R, 0.9)
    with pytest.raises(ValueError, match=r"gamma must be in \[0, 1\)"):
        value_iteration(P, R, 1.0)
    with pytest.raises(ValueError, match="rows that are probabilities"):
        policy_evaluation(P, R, np.ones((2, 2)), 0.9)
    with pytest.raises(TypeError, match="Discrete observations"):
        q_learning(gym.make(GRIDWORLD_ID, obs_mode="onehot"), progress=False)


def test_q_learning_update_by_hand() -> None:
    Q = np.array([[0.0, 0.0], [1.0, 3.0]])
    td = q_learning_update(Q, 0, 1, 1.0, 1, False, gamma=0.5, lr=0.5)
    assert td == 2.5 and Q[0, 1] == 1.25  # target 1 + 0.5 * max(1, 3)
    td = q_learning_update(Q, 0, 0, 1.0, 1, True, gamma=0.5, lr=0.5)
    assert td == 1.0 and Q[0, 0] == 0.5  # terminal: no bootstrap


@pytest.mark.slow
def test_q_learning_finds_the_optimal_policy() -> None:
    env = gym.make(GRIDWORLD_ID, random_start=True)
    P, R = env.unwrapped.transition_model()
    V, Q_star, _ = value_iteration(P, R, 0.9)
    free = env.unwrapped.free
    Q, history = q_learning(env, QLearningConfig(), seed=0, Q_ref=Q_star, progress=False)
    assert optimal_actions(Q_star)[np.arange(25), Q.argmax(-1)][free].all()
    assert np.abs(Q - Q_star)[free].max() < 0.25
    assert history.q_error[-1] < history.q_error[len(history.q_error) // 10]
    Q2, _ = q_learning(env, QLearningConfig(episodes=50), seed=0, progress=False)
    Q3, _ = q_learning(env, QLearningConfig(episodes=50), seed=0, progress=False)
    assert np.array_equal(Q2, Q3)
