"""The book's gridworld: gymnasium's checker, its exact model, its pictures, its errors."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from rlvae_tutorial.envs import GRIDWORLD_ID, GRIDWORLD_MAX_STEPS, GridWorldEnv
from rlvae_tutorial.envs.gridworld import OBS_MODES


@pytest.mark.parametrize("obs_mode", OBS_MODES)
def test_check_env_passes(obs_mode: str) -> None:
    env = gym.make(GRIDWORLD_ID, obs_mode=obs_mode, slip=0.2, random_start=True, render_mode="rgb_array")
    check_env(env.unwrapped, skip_render_check=False)
    obs, _ = env.reset(seed=0)
    assert env.observation_space.contains(obs)


def test_registered_with_time_limit() -> None:
    env = gym.make(GRIDWORLD_ID)
    env.reset(seed=0)
    flags = [env.step(0)[2:4] for _ in range(GRIDWORLD_MAX_STEPS)]  # walk into the top wall forever
    assert not any(terminated for terminated, _ in flags)
    assert [truncated for _, truncated in flags] == [False] * (GRIDWORLD_MAX_STEPS - 1) + [True]


def test_rendering_is_small_and_deterministic() -> None:
    env = GridWorldEnv(render_mode="rgb_array", cell_px=4)
    frames = {}
    for s in np.flatnonzero(env.free):
        env.reset(options={"start": int(s)})
        frame = env.render()
        assert frame.shape == (20, 20, 3) and frame.dtype == np.uint8
        assert np.array_equal(frame, env.draw(int(s)))  # same state, same pixels
        frames[int(s)] = frame.tobytes()
    assert len(set(frames.values())) == len(frames), "every cell must give a different image"
    pixels = GridWorldEnv(obs_mode="pixels", cell_px=3)
    obs, _ = pixels.reset(seed=0)
    assert obs.shape == (15, 15, 3) and np.array_equal(obs, pixels.draw(pixels.start))


def test_deterministic_model_matches_steps() -> None:
    env = GridWorldEnv()
    P, R = env.transition_model()
    assert P.shape == (25, 4, 25) and R.shape == (25, 4) and np.allclose(P.sum(-1), 1.0)
    for s in np.flatnonzero(env.free):
        for a in range(4):
            env.reset(options={"start": int(s)})
            s_next, r, terminated, _, _ = env.step(a)
            assert P[s, a, s_next] == 1.0 and R[s, a] == r and terminated == env.terminal[s_next]


def test_slippery_model_matches_sampled_frequencies() -> None:
    env = GridWorldEnv(slip=0.4)
    P, _ = env.transition_model()
    s, a, n = 11, 1, 4000  # the middle of row 2, moving right
    env.reset(seed=0)
    counts = np.zeros(env.n_states)
    for _ in range(n):
        env.reset(options={"start": s})
        counts[env.step(a)[0]] += 1
    freq = counts / n
    se = np.sqrt(P[s, a] * (1 - P[s, a]) / n) + 1e-12
    assert np.all(np.abs(freq - P[s, a]) < 5 * se + 1e-9), (freq, P[s, a])


def test_seeded_resets_are_reproducible() -> None:
    a, b = GridWorldEnv(random_start=True, slip=0.3), GridWorldEnv(random_start=True, slip=0.3)
    traj = []
    for env in (a, b):
        obs, _ = env.reset(seed=3)
        traj.append([obs] + [env.step(1)[0] for _ in range(5)])
    assert traj[0] == traj[1]


def test_vector_env_of_onehots() -> None:
    envs = gym.make_vec(GRIDWORLD_ID, num_envs=3, obs_mode="onehot")
    obs, _ = envs.reset(seed=0)
    assert obs.shape == (3, 25) and np.all(obs.sum(1) == 1)


def test_errors_name_the_fix() -> None:
    with pytest.raises(ValueError, match="obs_mode must be one of"):
        GridWorldEnv(obs_mode="rgb")
    with pytest.raises(ValueError, match="slip is a probability"):
        GridWorldEnv(slip=2.0)
    with pytest.raises(ValueError, match="exactly one start"):
        GridWorldEnv(layout=("..G", "..."))
    with pytest.raises(ValueError, match="unknown cells"):
        GridWorldEnv(layout=("S.G", "..?"))
    env = GridWorldEnv()
    env.reset(seed=0)
    with pytest.raises(ValueError, match="action must be an int in 0..3"):
        env.step(7)
    with pytest.raises(ValueError, match="not a free cell"):
        env.reset(options={"start": 4})  # a wall
    env.reset(options={"start": 19})  # above the goal
    assert env.step(2)[2]  # down: reach the goal
    with pytest.raises(RuntimeError, match="call reset"):
        env.step(0)
