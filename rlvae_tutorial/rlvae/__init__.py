"""The VAE encoder as a policy pi(z|x), trained by policy gradient.

One step of an MDP: the state is an image x, the action a latent z ~ q_phi(z|x), the reward
r(x, z) = log p(x|z) - beta * (log q(z|x) - log p(z)), the negative beta-VAE loss.

- :mod:`.config`: ``PolicyGradientConfig`` (which estimator) and the book's ``ESTIMATORS``.
- :mod:`.models`: ``PolicyVAE`` (a VAE with its baseline), ``BernoulliVAE`` (binary latents).
- :mod:`.objective`: ``elbo_reward`` (the one beta-ELBO reward; ``sample_reward`` applies it to a
  VAE's draws), ``estimator_terms``, ``loss_and_surrogate`` and ``policy_gradient_loss`` (for
  ``train``).  ``draw_latent`` comes from :mod:`rlvae_tutorial.vae.losses`.
- :mod:`.training`: ``train_policy_vae`` and ``train_estimators`` at equal compute (FLOPs),
  ``fit_learned_baseline``.  Test ELBOs are ``rlvae_tutorial.vae.evaluate(vae, x, k=0)``.
- :mod:`.probe`: ``gradient_draws`` (vectorised draws of the encoder's gradient), ``probe``,
  ``probe_estimators``.
- :mod:`.plots`: variance bars and validation curves.
- :mod:`.critic`: a learned Q(x, z), the (biased) gradient it gives when followed, and the
  unbiased one it gives as a control variate.
- :mod:`.black_box`: a non-differentiable reward from a scikit-learn classifier.
"""

from rlvae_tutorial.rlvae.black_box import DigitClassifier, RecognitionReward
from rlvae_tutorial.rlvae.config import ESTIMATORS, PolicyGradientConfig, estimator_config
from rlvae_tutorial.rlvae.critic import (
    Critic,
    critic_control_variate_objective,
    critic_objective,
    fit_critic,
)
from rlvae_tutorial.rlvae.models import BernoulliEncoder, BernoulliVAE, PolicyVAE
from rlvae_tutorial.rlvae.objective import (
    Terms,
    draw_latent,
    elbo_reward,
    estimator_terms,
    loss_and_surrogate,
    policy_gradient_loss,
    sample_reward,
    score_advantage,
)
from rlvae_tutorial.rlvae.probe import (
    encoder_head,
    estimator_objective,
    gradient_draws,
    probe,
    probe_directions,
    probe_estimators,
)
from rlvae_tutorial.rlvae.training import (
    EstimatorRun,
    epoch_flops,
    fit_learned_baseline,
    step_flops,
    train_estimators,
    train_policy_vae,
)

__all__ = [
    "ESTIMATORS",
    "EstimatorRun",
    "BernoulliEncoder",
    "BernoulliVAE",
    "Critic",
    "DigitClassifier",
    "PolicyGradientConfig",
    "PolicyVAE",
    "RecognitionReward",
    "Terms",
    "critic_control_variate_objective",
    "critic_objective",
    "draw_latent",
    "elbo_reward",
    "encoder_head",
    "epoch_flops",
    "estimator_config",
    "estimator_objective",
    "estimator_terms",
    "fit_critic",
    "fit_learned_baseline",
    "gradient_draws",
    "loss_and_surrogate",
    "policy_gradient_loss",
    "probe",
    "probe_directions",
    "probe_estimators",
    "sample_reward",
    "score_advantage",
    "step_flops",
    "train_estimators",
    "train_policy_vae",
]
