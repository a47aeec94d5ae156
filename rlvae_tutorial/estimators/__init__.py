"""Gradient estimators for expectations E_{z ~ q_phi}[f(z)]: score function, baselines, relaxations.

- :mod:`.score_function`: the REINFORCE / score-function surrogate and the leave-one-out baseline
  (pure functions of tensors), reward normalisation, GRPO's group-normalised advantages.
- :mod:`.kl`: sampled estimators k1, k2, k3 of KL(q || p) from the log-ratio (Schulman, 2020).
- :mod:`.baselines`: stateful baselines, an exponential moving average and a learned b(x) (NVIL).
- :mod:`.relaxed`: Gumbel (logistic) noise relaxations of Bernoulli latents, straight-through.
- :mod:`.disarm`: DisARM, antithetic pairs of Bernoulli draws (unbiased, no relaxation).
- :mod:`.control_variate`: a learned critic as a control variate (LAX / RELAX), unbiased.
- :mod:`.variance`: a probe measuring an estimator's gradient variance and error over many draws.
"""

from rlvae_tutorial.estimators.baselines import EMABaseline, LearnedBaseline, ema_update
from rlvae_tutorial.estimators.control_variate import control_variate_surrogate
from rlvae_tutorial.estimators.disarm import antithetic_bernoulli, disarm_surrogate
from rlvae_tutorial.estimators.kl import kl_estimates
from rlvae_tutorial.estimators.relaxed import (
    logistic_noise,
    relaxed_bernoulli,
    straight_through_bernoulli,
)
from rlvae_tutorial.estimators.score_function import (
    group_normalized_advantages,
    leave_one_out_baseline,
    normalize_advantages,
    score_function_surrogate,
    with_value,
)
from rlvae_tutorial.estimators.variance import (
    GradientComparison,
    GradientStats,
    compare_gradients,
    gradient_statistics,
)

__all__ = [
    "EMABaseline",
    "GradientComparison",
    "GradientStats",
    "LearnedBaseline",
    "antithetic_bernoulli",
    "compare_gradients",
    "control_variate_surrogate",
    "disarm_surrogate",
    "ema_update",
    "gradient_statistics",
    "group_normalized_advantages",
    "kl_estimates",
    "leave_one_out_baseline",
    "logistic_noise",
    "normalize_advantages",
    "relaxed_bernoulli",
    "score_function_surrogate",
    "with_value",
    "straight_through_bernoulli",
]
