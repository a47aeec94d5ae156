"""Tabular methods on a known or sampled MDP: policy evaluation, value iteration, Q-learning.

A finite MDP is given by ``P: (S, A, S)`` with ``P[s, a, s'] = p(s' | s, a)`` and the expected
reward ``R: (S, A)``.  Terminal states are absorbing with reward 0, so their value is 0 and the
same Bellman equations hold everywhere.  NumPy arrays in, NumPy arrays out: these are exact
computations on tiny tables, not learning.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import gymnasium as gym
import numpy as np
from tqdm.auto import tqdm


def _check_model(P: np.ndarray, R: np.ndarray, gamma: float) -> None:
    if P.ndim != 3 or P.shape[0] != P.shape[2] or R.shape != P.shape[:2]:
        raise ValueError(f"need P: (S, A, S) and R: (S, A), got P {P.shape} and R {R.shape}")
    if not np.allclose(P.sum(-1), 1.0):
        raise ValueError("each P[s, a, :] must sum to 1 (a probability distribution over s')")
    if not 0.0 <= gamma < 1.0:
        raise ValueError(f"gamma must be in [0, 1) for the values to be finite, got {gamma}")


def bellman_backup(V: np.ndarray, P: np.ndarray, R: np.ndarray, gamma: float) -> np.ndarray:
    r"""One-step lookahead :math:`Q(s, a) = R(s, a) + \gamma \sum_{s'} p(s' | s, a) V(s')`.

    V: ``(S,)``, P: ``(S, A, S)``, R: ``(S, A)``  ->  Q: ``(S, A)``.
    """
    return R + gamma * P @ V


def policy_evaluation(P: np.ndarray, R: np.ndarray, policy: np.ndarray, gamma: float) -> np.ndarray:
    r"""Exact :math:`V^\pi`, the solution of the linear Bellman equation
    :math:`V = R_\pi + \gamma P_\pi V`, i.e. :math:`V = (I - \gamma P_\pi)^{-1} R_\pi`.

    policy: ``(S, A)`` action probabilities per state  ->  V: ``(S,)``.
    """
    _check_model(P, R, gamma)
    if policy.shape != R.shape or not np.allclose(policy.sum(-1), 1.0) or (policy < 0).any():
        raise ValueError(f"policy must be (S, A) = {R.shape} with rows that are probabilities")
    P_pi = np.einsum("sa,sat->st", policy, P)  # (S, S)
    R_pi = (policy * R).sum(-1)  # (S,)
    return np.linalg.solve(np.eye(len(R_pi)) - gamma * P_pi, R_pi)


def value_iteration(
    P: np.ndarray, R: np.ndarray, gamma: float, tol: float = 1e-10, max_iter: int = 10_000
) -> tuple[np.ndarray, np.ndarray, int]:
    r"""Optimal values by iterating :math:`V \leftarrow \max_a [R + \gamma P V]` to a fixed point.

    Stops when :math:`\max_s |V_{k+1} - V_k| < \text{tol}`; the error of :math:`V_k` is then at
    most :math:`\gamma\,\text{tol} / (1 - \gamma)`.  Returns ``(V*: (S,), Q*: (S, A), iterations)``.
    """
    _check_model(P, R, gamma)
    V = np.zeros(P.shape[0])
    for k in range(1, max_iter + 1):
        Q = bellman_backup(V, P, R, gamma)
        V_new = Q.max(-1)
        if np.abs(V_new - V).max() < tol:
            return V_new, bellman_backup(V_new, P, R, gamma), k
        V = V_new
    raise RuntimeError(f"value iteration did not converge in {max_iter} iterations; raise max_iter or tol")


def optimal_actions(Q: np.ndarray, atol: float = 1e-6) -> np.ndarray:
    """Boolean ``(S, A)`` mask of the actions within ``atol`` of the best one (ties are common
    in gridworlds: "right then down" and "down then right" can be equally good)."""
    return Q >= Q.max(-1, keepdims=True) - atol


@dataclass
class Episodes:
    """Episodes of a tabular policy, concatenated step after step: every field is ``(N,)``.
    ``terminated[i]`` / ``truncated[i]``: step ``i`` ended its episode for real / by the time
    limit; either way step ``i + 1`` starts a new episode."""

    states: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    terminated: np.ndarray
    truncated: np.ndarray


def sample_episodes(env: gym.Env, policy: np.ndarray, n_episodes: int, *, seed: int = 0) -> Episodes:
    """Play ``n_episodes`` with action probabilities ``policy: (S, A)`` on an env with Discrete
    observations, seeded by ``seed``."""
    if policy.ndim != 2 or not np.allclose(policy.sum(-1), 1.0):
        raise ValueError(f"policy must be (S, A) with rows that are probabilities, got shape {policy.shape}")
    rng = np.random.default_rng(seed)
    cum = np.cumsum(policy, -1)
    states, actions, rewards, terminated, truncated = [], [], [], [], []
    for i in range(n_episodes):
        s, _ = env.reset(seed=seed if i == 0 else None)
        done = False
        while not done:
            a = int(min(np.searchsorted(cum[s], rng.random(), side="right"), policy.shape[1] - 1))
            s_next, r, term, trunc, _ = env.step(a)
            states.append(s)
            actions.append(a)
            rewards.append(float(r))
            terminated.append(bool(term))
            truncated.append(bool(trunc and not term))
            s, done = int(s_next), term or trunc
    return Episodes(np.array(states), np.array(actions), np.array(rewards), np.array(terminated),
                    np.array(truncated))


@dataclass(frozen=True)
class QLearningConfig:
    """Tabular Q-learning with an epsilon-greedy behaviour policy.

    The step size for a pair ``(s, a)`` seen ``n`` times is ``max(lr / n**lr_decay, min_lr)``:
    ``lr_decay=0`` is a constant step; a decaying one averages out stochastic transitions.
    """

    episodes: int = 3000
    gamma: float = 0.9
    lr: float = 1.0
    lr_decay: float = 0.6
    min_lr: float = 0.0
    epsilon: float = 0.3
    optimistic_init: float = 0.0


@dataclass
class QLearningHistory:
    """Per episode: undiscounted return, length, and (if ``Q_ref`` was given) max |Q - Q_ref|."""

    returns: list[float] = field(default_factory=list)
    lengths: list[int] = field(default_factory=list)
    q_error: list[float] = field(default_factory=list)


def q_learning_update(Q: np.ndarray, s: int, a: int, r: float, s_next: int, terminated: bool,
                      gamma: float, lr: float) -> float:
    r"""In place :math:`Q(s,a) \leftarrow Q(s,a) + \alpha [r + \gamma (1-d) \max_{a'} Q(s',a') - Q(s,a)]`.

    Returns the TD error.  A truncated step (time limit) is NOT terminal: pass ``terminated=False``.
    """
    if not np.issubdtype(Q.dtype, np.floating):
        raise TypeError(f"Q must be a floating array to be updated in place, got {Q.dtype}: "
                        "create it with np.zeros((S, A)) or convert it with Q.astype(float)")
    target = r + (0.0 if terminated else gamma * Q[s_next].max())
    td = target - Q[s, a]
    Q[s, a] += lr * td
    return float(td)


def q_learning(
    env: gym.Env,
    config: QLearningConfig = QLearningConfig(),
    *,
    seed: int = 0,
    Q_ref: np.ndarray | None = None,
    progress: bool = True,
) -> tuple[np.ndarray, QLearningHistory]:
    """Run tabular Q-learning on an env with ``Discrete`` observations and actions.

    The behaviour policy is epsilon-greedy in the current Q (ties broken at random); the learned
    greedy policy is ``Q.argmax(-1)``.  ``Q_ref`` (e.g. value iteration's Q*) adds the error
    ``max |Q - Q_ref|`` over the pairs Q-learning has visited to the history.
    Returns ``(Q: (S, A), history)``.
    """
    if not isinstance(env.observation_space, gym.spaces.Discrete) or not isinstance(
        env.action_space, gym.spaces.Discrete
    ):
        raise TypeError("q_learning needs Discrete observations and actions (e.g. obs_mode='index')")
    n_s, n_a = int(env.observation_space.n), int(env.action_space.n)
    rng = np.random.default_rng(seed)
    Q = np.full((n_s, n_a), float(config.optimistic_init))
    visits = np.zeros((n_s, n_a))
    history = QLearningHistory()
    for episode in tqdm(range(config.episodes), desc="Q-learning", disable=not progress):
        s, _ = env.reset(seed=seed if episode == 0 else None)
        total, length, done = 0.0, 0, False
        while not done:
            if rng.random() < config.epsilon:
                a = int(rng.integers(n_a))
            else:
                best = np.flatnonzero(Q[s] == Q[s].max())
                a = int(rng.choice(best))
            s_next, r, terminated, truncated, _ = env.step(a)
            visits[s, a] += 1
            lr = max(config.lr / visits[s, a] ** config.lr_decay, config.min_lr)
            q_learning_update(Q, s, a, float(r), int(s_next), bool(terminated), config.gamma, lr)
            s, total, length = int(s_next), total + float(r), length + 1
            done = terminated or truncated
        history.returns.append(total)
        history.lengths.append(length)
        if Q_ref is not None:
            seen = visits > 0
            history.q_error.append(float(np.abs(Q - Q_ref)[seen].max()) if seen.any() else np.nan)
    return Q, history
