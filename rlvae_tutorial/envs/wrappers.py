"""Observation wrappers that turn the gridworld's frames into what an agent reads.

- :class:`FlatPixels`: the raw frame as a flat ``float32`` vector in ``[0, 1]`` (the pixel agent);
- :class:`LatentObservation`: the frame encoded by a *frozen* VAE encoder into the mean of
  q(z | x), a ``float32`` vector of ``z_dim`` numbers (the latent agent)
  :cite:`ha2018world,higgins2017darla`.

Both map one frame at a time, as every ``gymnasium.ObservationWrapper`` does, through the batched
functions :func:`frames_to_vectors` and :func:`frames_to_latents`, which the experiment also uses
to encode thousands of frames at once.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import torch
from gymnasium import spaces
from torch import nn


def frames_to_vectors(frames: np.ndarray) -> np.ndarray:
    """uint8 frames ``(..., H, W, C)`` -> float32 ``(..., H * W * C)`` in ``[0, 1]`` (divided by 255)."""
    frames = np.asarray(frames)
    if frames.dtype != np.uint8 or frames.ndim < 3:
        raise ValueError(
            f"expected uint8 frames of shape (..., H, W, C), got dtype {frames.dtype} and shape {frames.shape}; "
            "pass the env's pixel observations unchanged"
        )
    return (frames.reshape(*frames.shape[:-3], -1) / np.float32(255.0)).astype(np.float32)


def _encoder_dims(encoder: nn.Module) -> tuple[int, int]:
    config = getattr(encoder, "config", None)
    if config is None or not hasattr(config, "x_dim") or not hasattr(config, "z_dim"):
        raise TypeError(
            f"expected a VAE encoder with a .config holding x_dim and z_dim (rlvae_tutorial.vae.Encoder, "
            f"i.e. vae.encoder), got {type(encoder).__name__}"
        )
    return int(config.x_dim), int(config.z_dim)


@torch.no_grad()
def frames_to_latents(encoder: nn.Module, frames: np.ndarray) -> np.ndarray:
    """The posterior means E_q[z | x] of uint8 frames: ``(N, H, W, C) -> (N, z_dim)`` float32.

    ``encoder`` is a VAE encoder (``x -> q(z|x)``, e.g. ``vae.encoder``) trained on
    ``frames_to_vectors`` of such frames; it runs in eval mode on its own device, without gradients.
    """
    x_dim, _ = _encoder_dims(encoder)
    x = frames_to_vectors(frames)
    if x.ndim != 2 or x.shape[1] != x_dim:
        raise ValueError(
            f"the encoder reads frames of {x_dim} values, got frames of shape {np.shape(frames)} "
            f"({x.shape[-1]} values each); render the env with the cell_px the VAE was trained on"
        )
    device = next(encoder.parameters()).device
    was_training = encoder.training
    if was_training:  # (toggling modes walks every submodule: skip it when already in eval mode)
        encoder.eval()
    x_t = torch.as_tensor(x, device=device)
    # Encoder.params skips building the distribution (a third of the cost of one small call).
    mean = encoder.params(x_t)[0] if hasattr(encoder, "params") else encoder(x_t).mean
    if was_training:
        encoder.train()
    return mean.cpu().numpy().astype(np.float32)


def _pixel_space(space: spaces.Space) -> spaces.Box:
    if not (isinstance(space, spaces.Box) and space.dtype == np.uint8 and len(space.shape) == 3):
        raise ValueError(
            f"expected an env with uint8 image observations (H, W, C), got {space}; make the gridworld "
            "with obs_mode='pixels' or use PixelGridWorldEnv"
        )
    return space


def _frozen_encoder(encoder: nn.Module, space: spaces.Space,
                    stats: tuple[np.ndarray, np.ndarray] | None) -> tuple[nn.Module, np.ndarray, np.ndarray, int]:
    """Check that ``encoder`` reads the frames of ``space``; freeze it; return it with the
    standardisation ``(loc, scale)`` and ``z_dim``."""
    x_dim, z_dim = _encoder_dims(encoder)
    size = int(np.prod(_pixel_space(space).shape))
    if size != x_dim:
        raise ValueError(f"the encoder reads {x_dim} values but the env's frames have {size} "
                         f"({space.shape}); use the cell_px and layout the VAE was trained on")
    loc, scale = _stats(encoder, stats)
    return encoder.requires_grad_(False).eval(), loc, scale, z_dim


class FlatPixels(gym.ObservationWrapper):
    """Frames ``(H, W, C)`` uint8 -> flat ``float32`` vectors of ``H * W * C`` values in ``[0, 1]``."""

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        size = int(np.prod(_pixel_space(env.observation_space).shape))
        self.observation_space = spaces.Box(0.0, 1.0, (size,), np.float32)

    def observation(self, observation: np.ndarray) -> np.ndarray:
        return frames_to_vectors(observation)


def latent_stats(encoder: nn.Module, frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation ``(z_dim,)`` of the posterior means of ``frames`` (e.g. the
    VAE's own training frames), to standardise latents with: a VAE may put all its codes in a
    small corner of latent space, and a Q-network learns slowly from inputs that barely vary."""
    z = frames_to_latents(encoder, frames)
    return z.mean(0), np.maximum(z.std(0), 1e-6).astype(np.float32)


def _stats(encoder: nn.Module, stats: tuple[np.ndarray, np.ndarray] | None) -> tuple[np.ndarray, np.ndarray]:
    _, z_dim = _encoder_dims(encoder)
    if stats is None:
        return np.zeros(z_dim, np.float32), np.ones(z_dim, np.float32)
    loc, scale = (np.asarray(a, dtype=np.float32) for a in stats)
    if loc.shape != (z_dim,) or scale.shape != (z_dim,) or (scale <= 0).any():
        raise ValueError(f"stats must be (mean, std), each of shape ({z_dim},) with std > 0 (latent_stats "
                         f"gives them), got shapes {loc.shape} and {scale.shape}")
    return loc, scale


class LatentObservation(gym.ObservationWrapper):
    """Frames -> the frozen encoder's posterior mean, ``float32`` of shape ``(z_dim,)``.

    The encoder's weights are frozen (``requires_grad=False``) when the wrapper is made: the RL
    agent trains on top of the representation and never changes it.  ``stats=(mean, std)``
    (from :func:`latent_stats`) standardises each latent dimension: ``(mu(x) - mean) / std``.
    """

    def __init__(self, env: gym.Env, encoder: nn.Module,
                 stats: tuple[np.ndarray, np.ndarray] | None = None) -> None:
        super().__init__(env)
        self.encoder, self.loc, self.scale, z_dim = _frozen_encoder(encoder, env.observation_space, stats)
        self.observation_space = spaces.Box(-np.inf, np.inf, (z_dim,), np.float32)

    def observation(self, observation: np.ndarray) -> np.ndarray:
        return (frames_to_latents(self.encoder, observation[None])[0] - self.loc) / self.scale


class VectorLatentObservation(gym.vector.VectorObservationWrapper):
    """:class:`LatentObservation` for a whole vector env: one encoder call per step for all
    sub-envs (``(B, H, W, C)`` frames -> ``(B, z_dim)`` means), which is what makes latent agents
    as cheap to run as pixel agents."""

    def __init__(self, env: gym.vector.VectorEnv, encoder: nn.Module,
                 stats: tuple[np.ndarray, np.ndarray] | None = None) -> None:
        super().__init__(env)
        self.encoder, self.loc, self.scale, z_dim = _frozen_encoder(encoder, env.single_observation_space, stats)
        self.single_observation_space = spaces.Box(-np.inf, np.inf, (z_dim,), np.float32)
        self.observation_space = gym.vector.utils.batch_space(self.single_observation_space, env.num_envs)

    def observations(self, observations: np.ndarray) -> np.ndarray:
        return (frames_to_latents(self.encoder, observations) - self.loc) / self.scale
