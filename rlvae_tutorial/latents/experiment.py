"""The chapter's experiment: one DQN, three views of the same gridworld, several seeds.

- ``"pixels"``: the noisy frame, flattened (:class:`~rlvae_tutorial.envs.wrappers.FlatPixels`);
- ``"latents"``: the frame through a frozen VAE encoder
  (:class:`~rlvae_tutorial.envs.wrappers.VectorLatentObservation`);
- ``"state"``: the true cell, one-hot, without noise (the upper bound).

Every agent gets the same DQN settings and the same budget of env steps; the VAE's pretraining
frames are counted separately (:class:`~rlvae_tutorial.latents.pretrain.Frames`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import gymnasium as gym
import numpy as np
from torch import nn

from rlvae_tutorial.envs import GRIDWORLD_ID, PIXEL_GRIDWORLD_ID
from rlvae_tutorial.envs.wrappers import FlatPixels, VectorLatentObservation
from rlvae_tutorial.latents.metrics import area_under_curve, steps_to_threshold
from rlvae_tutorial.rl.dqn import DQNConfig, train_dqn

REPRESENTATIONS = ("pixels", "latents", "state")


@dataclass(frozen=True)
class LatentsConfig:
    """The environment and the evaluation of the chapter; the defaults are the book's.

    The gridworld is seen through frames of ``cell_px`` pixels a cell with Gaussian pixel
    ``noise`` and ``distractors`` random squares (see
    :class:`~rlvae_tutorial.envs.pixels.PixelGridWorldEnv`); episodes start on a random free
    cell.  Agents train on ``num_envs`` envs side by side and are evaluated greedily on
    ``eval_episodes`` fixed start cells; a run has *learned* once that mean return reaches
    ``threshold``.
    """

    noise: float = 0.1
    distractors: int = 0
    cell_px: int = 2
    num_envs: int = 8
    eval_episodes: int = 16
    threshold: float = 0.9
    state_obs: str = "onehot"

    def env_kwargs(self) -> dict:
        """Keyword arguments of ``PixelGridWorld-v0`` (also those of the VAE's frames)."""
        return {"noise": self.noise, "distractors": self.distractors, "cell_px": self.cell_px, "random_start": True}


@dataclass
class RunSummary:
    """One agent's run: its evaluation curve and the chapter's metrics of it."""

    representation: str
    seed: int
    eval_steps: np.ndarray
    eval_returns: np.ndarray
    steps_to_threshold: float
    auc: float
    train_seconds: float
    extra: dict = field(default_factory=dict)


def make_envs(representation: str, n: int, config: LatentsConfig, encoder: nn.Module | None = None,
              stats: tuple[np.ndarray, np.ndarray] | None = None) -> gym.vector.VectorEnv:
    """``n`` envs side by side, observed as ``representation`` (one of ``REPRESENTATIONS``)."""
    if representation not in REPRESENTATIONS:
        raise ValueError(f"representation must be one of {REPRESENTATIONS}, got {representation!r}")
    if representation == "state":
        return gym.make_vec(GRIDWORLD_ID, num_envs=n, vectorization_mode="sync", obs_mode=config.state_obs,
                            random_start=True)
    if representation == "pixels":
        return gym.make_vec(PIXEL_GRIDWORLD_ID, num_envs=n, vectorization_mode="sync", wrappers=[FlatPixels],
                            **config.env_kwargs())
    if encoder is None:
        raise ValueError("the 'latents' agent needs the VAE's encoder: run_agent(..., encoder=vae.encoder)")
    envs = gym.make_vec(PIXEL_GRIDWORLD_ID, num_envs=n, vectorization_mode="sync", **config.env_kwargs())
    return VectorLatentObservation(envs, encoder, stats)


def run_agent(representation: str, dqn: DQNConfig, config: LatentsConfig = LatentsConfig(), *, seed: int = 0,
              encoder: nn.Module | None = None, stats: tuple[np.ndarray, np.ndarray] | None = None,
              progress: bool = True) -> RunSummary:
    """Train one DQN agent on ``representation`` and summarise its learning curve (``encoder``
    and ``stats``: the latent agent's frozen encoder and standardisation, see
    :class:`~rlvae_tutorial.envs.wrappers.LatentObservation`)."""
    envs = make_envs(representation, config.num_envs, config, encoder, stats)
    eval_envs = make_envs(representation, config.eval_episodes, config, encoder, stats)
    result = train_dqn(envs, dqn, seed=seed, eval_envs=eval_envs, progress=progress, desc=f"DQN on {representation}")
    envs.close()
    eval_envs.close()
    h = result.history
    return RunSummary(
        representation, seed, np.asarray(h.eval_steps, dtype=float), np.asarray(h.eval_means),
        steps_to_threshold(h.eval_steps, h.eval_means, config.threshold, budget=dqn.total_steps),
        area_under_curve(h.eval_steps, h.eval_means), h.train_seconds,
    )


def run_comparison(dqn: DQNConfig, seeds: Sequence[int], config: LatentsConfig = LatentsConfig(), *,
                   encoders: Sequence[tuple[nn.Module, tuple[np.ndarray, np.ndarray] | None]] | None = None,
                   representations: Sequence[str] = REPRESENTATIONS,
                   progress: bool = True) -> dict[str, list[RunSummary]]:
    """:func:`run_agent` for every representation and seed: ``{representation: [run per seed]}``.

    ``encoders``: one ``(encoder, stats)`` per seed for the latent agent, so that the spread over
    seeds includes the spread of the representation learning (each seed its own VAE).
    """
    if "latents" in representations and (encoders is None or len(encoders) != len(seeds)):
        raise ValueError(f"the 'latents' agent needs one (encoder, stats) per seed: got "
                         f"{0 if encoders is None else len(encoders)} for {len(seeds)} seeds")
    runs: dict[str, list[RunSummary]] = {}
    for rep in representations:
        runs[rep] = []
        for i, s in enumerate(seeds):
            encoder, stats = encoders[i] if rep == "latents" and encoders is not None else (None, None)
            runs[rep].append(run_agent(rep, dqn, config, seed=s, encoder=encoder, stats=stats, progress=progress))
    return runs
