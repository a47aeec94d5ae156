"""The latents chapter's environment, wrappers, metrics and VAE pretraining."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium.utils.env_checker import check_env

from rlvae_tutorial.envs import (
    GRIDWORLD_MAX_STEPS,
    PIXEL_GRIDWORLD_ID,
    GridWorldEnv,
    PixelGridWorldEnv,
)
from rlvae_tutorial.envs.wrappers import (
    FlatPixels,
    LatentObservation,
    VectorLatentObservation,
    frames_to_latents,
    frames_to_vectors,
)
from rlvae_tutorial.latents import (
    area_under_curve,
    collect_frames,
    pretrain_vae,
    reconstruction_error,
    seed_summary,
    steps_to_threshold,
)
from rlvae_tutorial.latents.experiment import LatentsConfig, make_envs
from rlvae_tutorial.train import TrainConfig
from rlvae_tutorial.vae import VAE, VAEConfig


def _encoder(x_dim: int = 300, z_dim: int = 3) -> torch.nn.Module:
    torch.manual_seed(0)
    return VAE(VAEConfig(x_dim=x_dim, hidden=(16,), z_dim=z_dim)).encoder


# -- the environment ---------------------------------------------------------------------------
@pytest.mark.parametrize(("noise", "distractors"), [(0.0, 0), (0.3, 0), (0.2, 3)])
def test_pixel_env_passes_check_env(noise: float, distractors: int) -> None:
    env = gym.make(PIXEL_GRIDWORLD_ID, noise=noise, distractors=distractors, random_start=True,
                   render_mode="rgb_array")
    check_env(env.unwrapped, skip_render_check=False)
    obs, info = env.reset(seed=0)
    assert obs.shape == (10, 10, 3) and obs.dtype == np.uint8 and env.observation_space.contains(obs)
    assert env.spec.max_episode_steps == GRIDWORLD_MAX_STEPS


def test_noise_free_frames_are_the_gridworld_drawing() -> None:
    env = PixelGridWorldEnv(cell_px=3)
    for s in np.flatnonzero(env.free):
        obs, info = env.reset(options={"start": int(s)})
        assert info["state"] == s and np.array_equal(obs, env.draw(int(s)))


def test_noise_and_distractors_are_seeded_and_leave_the_agent_visible() -> None:
    env = PixelGridWorldEnv(noise=0.0, distractors=3, random_start=True)
    first = [env.reset(seed=7)[0]] + [env.step(0)[0] for _ in range(5)]  # up: never ends an episode
    again = [env.reset(seed=7)[0]] + [env.step(0)[0] for _ in range(5)]
    assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))
    agent = np.array([31, 111, 235], dtype=np.uint8)
    for _ in range(50):
        obs, _, terminated, _, info = env.step(int(env.np_random.integers(4)))
        row, col = divmod(info["state"], env.width)
        if not terminated:
            assert (obs[2 * row : 2 * row + 2, 2 * col : 2 * col + 2] == agent).all(), "a distractor hid the agent"
        changed = (obs != env.draw(info["state"])).any(-1).reshape(env.height, 2, env.width, 2).any((1, 3))
        assert changed.sum() <= 3
        if terminated:
            env.reset()
    noisy = PixelGridWorldEnv(noise=0.2)
    obs, _ = noisy.reset(seed=0)
    err = np.abs(obs.astype(float) - noisy.draw(noisy.state)).mean() / 255
    assert 0.08 < err < 0.2  # Gaussian noise of sd 0.2, clipped: mean |error| about 0.2 * sqrt(2/pi) / 2..1


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"noise": -0.1}, "noise is a standard deviation"),
    ({"noise": float("nan")}, "noise is a standard deviation"),
    ({"distractors": 1.5}, "whole number"),
    ({"distractors": 30}, "do not fit"),
])
def test_pixel_env_errors(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        PixelGridWorldEnv(**kwargs)


# -- the wrappers ------------------------------------------------------------------------------
def test_flat_pixels() -> None:
    env = FlatPixels(gym.make(PIXEL_GRIDWORLD_ID))
    obs, _ = env.reset(seed=0)
    assert obs.shape == (300,) and obs.dtype == np.float32 and env.observation_space.contains(obs)
    assert np.allclose(obs, env.unwrapped.draw(env.unwrapped.state).reshape(-1) / 255.0)
    frame = np.arange(60, dtype=np.uint8).reshape(4, 5, 3)
    assert np.allclose(frames_to_vectors(frame), frame.reshape(-1) / 255.0)
    with pytest.raises(ValueError, match="expected uint8 frames"):
        frames_to_vectors(frame.astype(np.float32))
    with pytest.raises(ValueError, match="obs_mode='pixels'"):
        FlatPixels(gym.make("rlvae_tutorial/GridWorld-v0", obs_mode="coords"))


def test_latent_observation_gives_the_encoder_mean_and_freezes_it() -> None:
    encoder = _encoder()
    env = LatentObservation(gym.make(PIXEL_GRIDWORLD_ID, noise=0.2, random_start=True), encoder)
    check_env(env.unwrapped)
    obs, _ = env.reset(seed=3)
    assert obs.shape == (3,) and obs.dtype == np.float32 and env.observation_space.contains(obs)
    raw = PixelGridWorldEnv(noise=0.2, random_start=True)
    frame, _ = raw.reset(seed=3)
    with torch.no_grad():
        expected = encoder(torch.as_tensor(frame.reshape(1, -1) / 255.0, dtype=torch.float32)).mean[0]
    assert np.allclose(obs, expected.numpy(), atol=1e-6)
    assert not any(p.requires_grad for p in encoder.parameters())
    obs2, *_ = env.step(1)
    assert obs2.shape == (3,)


def test_vector_latent_observation_matches_one_frame_at_a_time() -> None:
    encoder = _encoder()
    envs = VectorLatentObservation(gym.make_vec(PIXEL_GRIDWORLD_ID, num_envs=4, vectorization_mode="sync",
                                                noise=0.2, random_start=True), encoder)
    raw = gym.make_vec(PIXEL_GRIDWORLD_ID, num_envs=4, vectorization_mode="sync", noise=0.2, random_start=True)
    obs, _ = envs.reset(seed=1)
    frames, _ = raw.reset(seed=1)
    assert obs.shape == (4, 3) and envs.single_observation_space.shape == (3,)
    assert np.allclose(obs, np.stack([frames_to_latents(encoder, f[None])[0] for f in frames]), atol=1e-6)


def test_wrapper_errors_name_the_fix() -> None:
    with pytest.raises(ValueError, match="cell_px and layout the VAE was trained on"):
        LatentObservation(gym.make(PIXEL_GRIDWORLD_ID, cell_px=3), _encoder(300))
    with pytest.raises(ValueError, match="obs_mode='pixels'"):
        LatentObservation(gym.make("rlvae_tutorial/GridWorld-v0"), _encoder(300))
    with pytest.raises(TypeError, match="VAE encoder"):
        LatentObservation(gym.make(PIXEL_GRIDWORLD_ID), torch.nn.Linear(300, 3))
    with pytest.raises(ValueError, match="render the env with the cell_px"):
        frames_to_latents(_encoder(300), np.zeros((2, 15, 15, 3), dtype=np.uint8))
    with pytest.raises(ValueError, match="cell_px and layout"):
        VectorLatentObservation(gym.make_vec(PIXEL_GRIDWORLD_ID, num_envs=2, cell_px=3), _encoder(300))
    with pytest.raises(ValueError, match="needs the VAE's encoder"):
        make_envs("latents", 2, LatentsConfig())
    with pytest.raises(ValueError, match="representation must be one of"):
        make_envs("coords", 2, LatentsConfig())


# -- the metrics -------------------------------------------------------------------------------
def test_steps_to_threshold_by_hand() -> None:
    steps, returns = [0, 100, 200, 300], [0.0, 0.95, 0.5, 1.0]
    assert steps_to_threshold(steps, returns, 0.9) == 100
    assert steps_to_threshold(steps, returns, 0.95) == 100  # reaching it counts
    assert steps_to_threshold(steps, returns, 0.99) == 300
    assert steps_to_threshold(steps, returns, 2.0) == float("inf")
    assert steps_to_threshold(steps, returns, 2.0, budget=400) == 400  # censored at the budget
    assert steps_to_threshold(steps, returns, -1.0) == 0
    assert steps_to_threshold([0, 104], [0.0, 1.0], 0.5, budget=100) == 100  # an evaluation past the budget


def test_area_under_curve_by_hand() -> None:
    # trapezoids: (0 + 1)/2 * 100 + (1 + 1)/2 * 100 = 150 over a width of 200
    assert area_under_curve([0, 100, 200], [0.0, 1.0, 1.0], normalize=False) == pytest.approx(150.0)
    assert area_under_curve([0, 100, 200], [0.0, 1.0, 1.0]) == pytest.approx(0.75)
    assert area_under_curve([0, 100, 300], [1.0, 1.0, 1.0]) == pytest.approx(1.0)
    assert area_under_curve([5], [0.3]) == pytest.approx(0.3)


def test_seed_summary() -> None:
    s = seed_summary([1.0, 2.0, 3.0])
    assert s == {"mean": 2.0, "std": 1.0, "min": 1.0, "max": 3.0, "n": 3.0}
    assert seed_summary([4.0])["std"] == 0.0


@pytest.mark.parametrize(("steps", "returns", "match"), [
    ([0, 1], [0.0], "same non-zero length"),
    ([], [], "same non-zero length"),
    ([1, 0], [0.0, 1.0], "sorted"),
    ([0, 1], [0.0, float("nan")], "NaN"),
])
def test_metric_errors(steps: list, returns: list, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        steps_to_threshold(steps, returns, 0.5)
    with pytest.raises(ValueError, match=match):
        area_under_curve(steps, returns)


def test_seed_summary_error() -> None:
    with pytest.raises(ValueError, match="one per seed"):
        seed_summary([])


# -- pretraining -------------------------------------------------------------------------------
def test_collect_frames_counts_and_is_reproducible() -> None:
    a = collect_frames(100, {"noise": 0.1, "random_start": True}, seed=2, num_envs=8)
    b = collect_frames(100, {"noise": 0.1, "random_start": True}, seed=2, num_envs=8)
    assert a.frames.shape == (100, 10, 10, 3) and a.env_steps == 100 and a.states.shape == (100,)
    assert np.array_equal(a.frames, b.frames) and np.array_equal(a.states, b.states)
    assert len(np.unique(a.states)) > 5, "a random policy from random starts visits many cells"
    with pytest.raises(ValueError, match="n_frames"):
        collect_frames(0)


@pytest.mark.slow
def test_pretrained_vae_reconstructs_frames_and_denoises() -> None:
    frames = collect_frames(1500, {"noise": 0.2, "random_start": True}, seed=0)
    config = VAEConfig(x_dim=300, hidden=(64,), z_dim=4)
    untrained = VAE(config)
    vae, history = pretrain_vae(frames, config, TrainConfig(epochs=25, batch_size=64, seed=0), progress=False)
    clean = np.stack([GridWorldEnv(cell_px=2).draw(s) for s in frames.states])
    err_clean = reconstruction_error(vae, frames, clean).mean()
    assert err_clean < 0.5 * reconstruction_error(untrained, frames, clean).mean()
    assert err_clean < reconstruction_error(vae, frames).mean(), "the VAE keeps the picture, not the noise"
    with pytest.raises(ValueError, match="x_dim=H\\*W\\*C"):
        pretrain_vae(frames, VAEConfig(x_dim=64), progress=False)
    with pytest.raises(ValueError, match="targets must have"):
        reconstruction_error(vae, frames, clean[:3])


def test_run_comparison_needs_one_encoder_per_seed_and_is_deterministic() -> None:
    from rlvae_tutorial.latents import pretrain_representation, run_comparison
    from rlvae_tutorial.rl.dqn import DQNConfig

    dqn = DQNConfig(total_steps=300, learning_starts=100, eval_every=150)
    config = LatentsConfig(eval_episodes=4, num_envs=4)
    with pytest.raises(ValueError, match="one \\(encoder, stats\\) per seed"):
        run_comparison(dqn, [0, 1], config, encoders=[(_encoder(), None)])
    rep = pretrain_representation(200, config.env_kwargs(), VAEConfig(x_dim=300, hidden=(16,), z_dim=3),
                                  TrainConfig(epochs=2), seed=5, progress=False)
    assert rep.frames.env_steps == 200 and rep.stats[0].shape == (3,) and (rep.stats[1] > 0).all()
    a = run_comparison(dqn, [0], config, encoders=[(rep.vae.encoder, rep.stats)], progress=False)
    b = run_comparison(dqn, [0], config, encoders=[(rep.vae.encoder, rep.stats)], progress=False)
    assert set(a) == {"pixels", "latents", "state"}
    for key in a:
        assert np.array_equal(a[key][0].eval_returns, b[key][0].eval_returns)
        assert a[key][0].eval_steps[0] == 0 and len(a[key][0].eval_steps) == 3


def test_latent_stats_standardise_the_latents() -> None:
    from rlvae_tutorial.envs.wrappers import latent_stats

    encoder = _encoder()
    frames = collect_frames(300, {"noise": 0.1, "random_start": True}, seed=0).frames
    loc, scale = latent_stats(encoder, frames)
    envs = VectorLatentObservation(gym.make_vec(PIXEL_GRIDWORLD_ID, num_envs=2, vectorization_mode="sync"),
                                   encoder, (loc, scale))
    obs, _ = envs.reset(seed=0)
    raw = VectorLatentObservation(gym.make_vec(PIXEL_GRIDWORLD_ID, num_envs=2, vectorization_mode="sync"), encoder)
    assert np.allclose(obs, (raw.reset(seed=0)[0] - loc) / scale, atol=1e-5)
    z = (frames_to_latents(encoder, frames) - loc) / scale
    assert np.allclose(z.mean(0), 0.0, atol=1e-4) and np.allclose(z.std(0), 1.0, atol=1e-3)
    with pytest.raises(ValueError, match="stats must be \\(mean, std\\)"):
        LatentObservation(gym.make(PIXEL_GRIDWORLD_ID), encoder, (np.zeros(2), np.ones(2)))
