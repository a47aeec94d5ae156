"""Pretraining the representation: frames from a random policy, and a VAE fitted to them.

The frames cost environment steps, so they are counted (:attr:`Frames.env_steps`) and reported
next to the RL agents' budgets: a fair comparison charges the latent agent for them.
"""

from __future__ import annotations

from dataclasses import dataclass

import gymnasium as gym
import numpy as np
import torch

from rlvae_tutorial.data import split_validation
from rlvae_tutorial.envs import PIXEL_GRIDWORLD_ID
from rlvae_tutorial.envs.wrappers import frames_to_vectors
from rlvae_tutorial.train import History, TrainConfig, train
from rlvae_tutorial.vae import VAE, VAEConfig, VAELoss


@dataclass(frozen=True)
class Frames:
    """Frames ``(N, H, W, C)`` uint8, the agent's true cell in each ``(N,)``, and the env steps
    spent collecting them (one per frame, resets included)."""

    frames: np.ndarray
    states: np.ndarray
    env_steps: int


def collect_frames(n_frames: int, env_kwargs: dict | None = None, *, seed: int = 0, num_envs: int = 16) -> Frames:
    """``n_frames`` frames of ``PixelGridWorld-v0`` (made with ``env_kwargs``) under the uniform
    random policy, ``num_envs`` episodes side by side; reproducible from ``seed``."""
    if n_frames < 1 or num_envs < 1:
        raise ValueError(f"n_frames and num_envs must be >= 1, got {n_frames} and {num_envs}")
    envs = gym.make_vec(PIXEL_GRIDWORLD_ID, num_envs=num_envs, vectorization_mode="sync", **(env_kwargs or {}))
    envs.action_space.seed(seed)
    obs, info = envs.reset(seed=seed)
    frames, states = [obs], [info["state"]]
    while len(frames) * num_envs < n_frames:
        obs, _, _, _, info = envs.step(envs.action_space.sample())
        frames.append(obs)
        states.append(info["state"])
    envs.close()
    out = np.concatenate(frames)[:n_frames]
    return Frames(out, np.concatenate(states)[:n_frames].astype(np.int64), int(len(out)))


def pretrain_vae(frames: Frames | np.ndarray, config: VAEConfig, train_config: TrainConfig | None = None,
                 *, val_fraction: float = 0.15, device: torch.device | str | None = None,
                 progress: bool = True) -> tuple[VAE, History]:
    """Fit a VAE (``config.x_dim`` must be ``H * W * C``) to frames scaled to ``[0, 1]``, keeping
    the weights of the best validation epoch; return the model (eval mode) and its history.
    ``train_config`` defaults to :class:`~rlvae_tutorial.train.TrainConfig`'s defaults."""
    from rlvae_tutorial.device import get_device

    array = frames.frames if isinstance(frames, Frames) else np.asarray(frames)
    x = torch.as_tensor(frames_to_vectors(array))
    if x.shape[1] != config.x_dim:
        raise ValueError(f"VAEConfig.x_dim={config.x_dim} but the frames have {x.shape[1]} values "
                         f"(shape {array.shape[1:]}); set x_dim=H*W*C")
    train_config = train_config or TrainConfig()
    device = get_device(device)
    (x_train, _), (x_val, _) = split_validation(x, torch.zeros(len(x)), val_fraction, seed=train_config.seed or 0)
    model = VAE(config).to(device)
    history = train(model, VAELoss(), x_train.to(device), val_data=x_val.to(device), config=train_config,
                    progress=progress, desc="VAE on frames")
    return model.eval(), history


@torch.no_grad()
def reconstruction_error(model: VAE, frames: Frames | np.ndarray, targets: np.ndarray | None = None) -> np.ndarray:
    """Mean absolute error per frame between the decoder's mean at the posterior mean and the
    ``targets`` (default: the frames themselves), in units of the full intensity range:
    frames and targets ``(N, H, W, C)`` uint8 -> ``(N,)``.  Pass the noise-free frames as
    ``targets`` to measure how well the VAE recovers the picture behind the noise."""
    array = frames.frames if isinstance(frames, Frames) else np.asarray(frames)
    target = array if targets is None else np.asarray(targets)
    if target.shape != array.shape:
        raise ValueError(f"targets must have the frames' shape {array.shape}, got {target.shape}")
    device = model.prior_loc.device
    x = torch.as_tensor(frames_to_vectors(array), device=device)
    y = torch.as_tensor(frames_to_vectors(target), device=device)
    return (model.reconstruct(x) - y).abs().mean(-1).cpu().numpy()


def state_decoding_accuracy(encoder: torch.nn.Module, reference: Frames, test: Frames) -> float:
    """How well the latents identify the true cell: the share of ``test`` frames whose nearest
    ``reference`` frame in latent space (Euclidean, posterior means) shows the agent in the same
    cell.  1.0: the latent mean pins down the state; ``1 / n_cells``: it carries none of it."""
    from rlvae_tutorial.envs.wrappers import frames_to_latents

    z_ref = torch.as_tensor(frames_to_latents(encoder, reference.frames))
    z_test = torch.as_tensor(frames_to_latents(encoder, test.frames))
    nearest = torch.cdist(z_test, z_ref).argmin(1).numpy()  # (N_test,)
    return float((reference.states[nearest] == test.states).mean())


@dataclass(frozen=True)
class Representation:
    """A pretrained, frozen representation: the VAE, its latent standardisation ``(mean, std)``
    (:func:`~rlvae_tutorial.envs.wrappers.latent_stats` over its frames), its frames and history."""

    vae: VAE
    stats: tuple[np.ndarray, np.ndarray]
    frames: Frames
    history: History


def pretrain_representation(n_frames: int, env_kwargs: dict, config: VAEConfig,
                            train_config: TrainConfig | None = None, *, seed: int = 0,
                            device: torch.device | str | None = None, progress: bool = True) -> Representation:
    """Everything the latent agent needs, from one seed: :func:`collect_frames` (``seed``), then
    :func:`pretrain_vae` (shuffled and initialised from ``seed``), then the latent statistics."""
    from dataclasses import replace

    from rlvae_tutorial.envs.wrappers import latent_stats

    frames = collect_frames(n_frames, env_kwargs, seed=seed)
    train_config = replace(train_config or TrainConfig(), seed=seed)
    vae, history = pretrain_vae(frames, config, train_config, device=device, progress=progress)
    return Representation(vae, latent_stats(vae.encoder, frames.frames), frames, history)
