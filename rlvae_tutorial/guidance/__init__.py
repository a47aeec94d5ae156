"""Reward-guided generation: a policy over a frozen generator, a reward, a KL penalty to the prior.

- :mod:`.reward`: ``kl_penalized_reward``, ``classifier_log_prob_reward``, ``token_reinforce_loss``
  (the closed-form Gaussian KL is :func:`rlvae_tutorial.vae.gaussian_kl`).
- :mod:`.diversity`: ``mean_pairwise_distance``, ``distinct_nearest``, ``class_entropy``.
- :mod:`.classifier`: ``MLPClassifier`` and ``ClassifierLoss`` (the reward model, trained by ``train``).
- :mod:`.figures`: ``plot_tradeoff`` (reward against diversity per KL coefficient).
- :mod:`.toy_language`: bracket strings (``is_valid``, ``depth``, ``sample_corpus``, ``encode``/``decode``)
  for the text-generation experiments.
- :mod:`.sequence`: ``SeqVAE`` (GRU encoder/decoder), ``SeqVAELoss``, ``finetune_loss`` and
  ``finetune_decoder`` (token-level REINFORCE with a KL penalty to the reference decoder).
- :mod:`.policy`: ``LatentPolicy``, ``GuidanceConfig``, ``GuidanceLoss``, ``train_latent_policy``.
- :mod:`.optimum`: the KL-regularised optimum p(z) exp(r/lam) / Z: ``log_partition``,
  ``tilted_rejection`` (exact samples of it), ``sample_tilted`` (as many as asked for), ``kl_to_optimum``.
"""

from rlvae_tutorial.guidance.classifier import ClassifierLoss, MLPClassifier
from rlvae_tutorial.guidance.diversity import (
    class_entropy,
    distinct_nearest,
    mean_pairwise_distance,
    nearest_index,
)
from rlvae_tutorial.guidance.figures import plot_tradeoff
from rlvae_tutorial.guidance.optimum import (
    TiltedSample,
    kl_to_optimum,
    log_partition,
    sample_tilted,
    tilted_rejection,
)
from rlvae_tutorial.guidance.policy import (
    GuidanceConfig,
    GuidanceLoss,
    LatentPolicy,
    train_latent_policy,
)
from rlvae_tutorial.guidance.reward import (
    classifier_log_prob_reward,
    kl_penalized_reward,
    token_reinforce_loss,
)

__all__ = [
    "ClassifierLoss",
    "GuidanceConfig",
    "GuidanceLoss",
    "LatentPolicy",
    "MLPClassifier",
    "TiltedSample",
    "class_entropy",
    "classifier_log_prob_reward",
    "distinct_nearest",
    "kl_penalized_reward",
    "kl_to_optimum",
    "log_partition",
    "mean_pairwise_distance",
    "nearest_index",
    "plot_tradeoff",
    "sample_tilted",
    "tilted_rejection",
    "token_reinforce_loss",
    "train_latent_policy",
]
