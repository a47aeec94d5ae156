"""How the encoder (the policy) gets its gradient: one frozen config for every estimator."""

from __future__ import annotations

from dataclasses import dataclass, replace

GRADIENTS = ("reparam", "score", "straight_through", "disarm")
BASELINES = ("none", "ema", "learned", "loo", "grpo")


@dataclass(frozen=True)
class PolicyGradientConfig:
    """The encoder's gradient estimator; the decoder is always trained by its own gradient.

    - ``gradient``: ``"reparam"`` (z = mu + sigma * eps, Gaussian latents), ``"score"`` (the
      score-function / REINFORCE estimator: the encoder is a policy, z an action), or
      ``"straight_through"`` (hard Bernoulli z forward, relaxed gradient backward), or ``"disarm"``
      (Bernoulli latents: ``samples / 2`` antithetic pairs, Dong et al. 2020).
    - ``baseline`` (score only): ``"none"``, ``"ema"`` (moving average of the reward),
      ``"learned"`` (b(x), NVIL), ``"loo"`` (leave-one-out over the ``samples`` z per x, RLOO) or
      ``"grpo"`` (GRPO's advantages: centred and divided by the std of the ``samples`` z of each x).
    - ``samples``: K, the number of z drawn per x (>= 2 for ``"loo"`` and ``"grpo"``, even for ``"disarm"``).
    - ``beta``: the reward is r(x, z) = log p(x|z) - beta * (log q(z|x) - log p(z)).
    - ``ema_decay``, ``baseline_hidden``: the EMA's decay and the learned baseline's MLP widths.
    - ``normalize``: divide the advantages r - b by their batch standard deviation (after centring).
    - ``temperature``: the relaxation's temperature for ``"straight_through"``.

    The defaults are the book's preferred score-function estimator: leave-one-out with K = 4.
    """

    gradient: str = "score"
    baseline: str = "loo"
    samples: int = 4
    beta: float = 1.0
    ema_decay: float = 0.9
    baseline_hidden: tuple[int, ...] = (128,)
    normalize: bool = False
    temperature: float = 0.5

    def __post_init__(self) -> None:
        if self.gradient not in GRADIENTS:
            raise ValueError(f"unknown gradient {self.gradient!r}; allowed: {', '.join(GRADIENTS)}")
        if self.baseline not in BASELINES:
            raise ValueError(f"unknown baseline {self.baseline!r}; allowed: {', '.join(BASELINES)}")
        if self.gradient != "score" and (self.baseline != "none" or self.normalize):
            raise ValueError(
                f"baselines and normalisation belong to the score-function estimator; with "
                f"gradient={self.gradient!r} set baseline='none' and normalize=False"
            )
        if self.samples < 1:
            raise ValueError(f"samples must be >= 1, got {self.samples}")
        if self.baseline in ("loo", "grpo") and self.samples < 2:
            raise ValueError(
                f"the {'leave-one-out' if self.baseline == 'loo' else 'group-normalised (GRPO)'} baseline "
                f"needs samples >= 2 (z per x), got samples={self.samples}"
            )
        if self.gradient == "disarm" and self.samples % 2:
            raise ValueError(
                f"DisARM draws codes in antithetic pairs: samples must be even, got samples={self.samples}"
            )
        if self.beta < 0:
            raise ValueError(f"beta must be >= 0, got {self.beta}")
        if not 0.0 <= self.ema_decay < 1.0:
            raise ValueError(f"ema_decay must be in [0, 1), got {self.ema_decay}")
        if self.temperature <= 0:
            raise ValueError(f"temperature must be > 0, got {self.temperature}")

    @property
    def name(self) -> str:
        """A short label: ``reparam``, ``straight_through``, or ``score+<baseline>`` (K if > 1)."""
        if self.gradient != "score":
            label = self.gradient
        else:
            label = f"score+{self.baseline}" if self.baseline != "none" else "score"
        return f"{label} (K={self.samples})" if self.samples > 1 else label


ESTIMATORS: dict[str, PolicyGradientConfig] = {
    "reparam": PolicyGradientConfig(gradient="reparam", baseline="none", samples=1),
    "none": PolicyGradientConfig(gradient="score", baseline="none", samples=1),
    "ema": PolicyGradientConfig(gradient="score", baseline="ema", samples=1),
    "learned": PolicyGradientConfig(gradient="score", baseline="learned", samples=1),
    "loo": PolicyGradientConfig(gradient="score", baseline="loo", samples=4),
    "grpo": PolicyGradientConfig(gradient="score", baseline="grpo", samples=4),
    "straight_through": PolicyGradientConfig(gradient="straight_through", baseline="none", samples=1),
    "disarm": PolicyGradientConfig(gradient="disarm", baseline="none", samples=4),
}


def estimator_config(name: str, **overrides: object) -> PolicyGradientConfig:
    """The book's config called ``name`` (a key of ``ESTIMATORS``), with fields replaced."""
    if name not in ESTIMATORS:
        raise ValueError(f"unknown estimator {name!r}; allowed: {', '.join(ESTIMATORS)}")
    return replace(ESTIMATORS[name], **overrides)
