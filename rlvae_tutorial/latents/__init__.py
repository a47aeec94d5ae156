"""VAE latents for reinforcement learning: does a VAE make RL more data-efficient?

- :mod:`~rlvae_tutorial.latents.pretrain`: frames from a random policy, the VAE trained on them;
- :mod:`~rlvae_tutorial.latents.metrics`: steps to a threshold, area under the learning curve,
  mean and spread over seeds;
- :mod:`~rlvae_tutorial.latents.experiment`: the same DQN on pixels, on latents and on the true
  state, for several seeds, with the same budget of env steps;
- :mod:`~rlvae_tutorial.latents.plots`: learning curves with their spread.

The environment is :class:`~rlvae_tutorial.envs.pixels.PixelGridWorldEnv`, the wrappers live in
:mod:`rlvae_tutorial.envs.wrappers` and the agent in :mod:`rlvae_tutorial.rl.dqn`.
"""

from rlvae_tutorial.latents.experiment import LatentsConfig, RunSummary, run_agent, run_comparison
from rlvae_tutorial.latents.metrics import area_under_curve, seed_summary, steps_to_threshold
from rlvae_tutorial.latents.plots import plot_learning_curves
from rlvae_tutorial.latents.pretrain import (
    Frames,
    Representation,
    collect_frames,
    pretrain_representation,
    pretrain_vae,
    reconstruction_error,
    state_decoding_accuracy,
)

__all__ = [
    "Frames",
    "LatentsConfig",
    "Representation",
    "RunSummary",
    "area_under_curve",
    "collect_frames",
    "plot_learning_curves",
    "pretrain_representation",
    "pretrain_vae",
    "reconstruction_error",
    "run_agent",
    "run_comparison",
    "seed_summary",
    "state_decoding_accuracy",
    "steps_to_threshold",
]
