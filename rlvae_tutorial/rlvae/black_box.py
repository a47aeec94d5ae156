"""A reward no gradient can pass through: a scikit-learn classifier's verdict on a reconstruction.

The reward term is bonus * 1[classifier(threshold(decoder mean)) == label]: a threshold, an argmax,
and a model that is not even written in PyTorch.  The reparameterisation trick and straight-through
need d reward / d z, which does not exist here; the score function needs only the reward's value.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor
from torch.distributions import Distribution


class DigitClassifier:
    """Logistic regression on binary 8x8 digits (scikit-learn), used as a black box.

    ``fit(x, y)`` with x ``(N, 64)`` in {0, 1} and labels ``(N,)``; ``predict(images)`` maps
    ``(..., 64)`` pixel values (thresholded at 1/2 first) to labels ``(...)`` on their device.
    """

    def __init__(self, c: float = 1.0, seed: int = 0) -> None:
        from sklearn.linear_model import LogisticRegression

        self.model = LogisticRegression(C=c, max_iter=2000, random_state=seed)

    def fit(self, x: Tensor, y: Tensor) -> DigitClassifier:
        from threadpoolctl import threadpool_limits

        # One BLAS thread: on a busy 2-core machine more threads made this fit ~100x slower.
        with threadpool_limits(limits=1):
            self.model.fit(x.detach().cpu().numpy(), y.detach().cpu().numpy())
        return self

    def predict(self, images: Tensor) -> Tensor:
        from threadpoolctl import threadpool_limits

        flat = (images.detach() > 0.5).reshape(-1, images.shape[-1]).cpu().numpy().astype(np.float64)
        with threadpool_limits(limits=1):
            labels = self.model.predict(flat)
        return torch.as_tensor(labels, device=images.device).reshape(images.shape[:-1])

    def accuracy(self, images: Tensor, y: Tensor) -> float:
        """Share of ``images`` ``(..., B, 64)`` recognised as their labels ``y`` ``(B,)``."""
        return float((self.predict(images) == y).float().mean())


class RecognitionReward:
    """``extra_reward(batch, z, px) = bonus * 1[classifier(px.mean) == y]``: ``(K, B)``, no gradient.

    For :class:`rlvae_tutorial.rlvae.models.PolicyVAE`'s ``extra_reward``; batches are ``(x, y)``.
    """

    def __init__(self, classifier: DigitClassifier, bonus: float) -> None:
        self.classifier = classifier
        self.bonus = bonus

    def __call__(self, batch: Any, z: Tensor, px: Distribution) -> Tensor:
        if not isinstance(batch, (tuple, list)) or len(batch) < 2:
            raise ValueError("the recognition reward needs labelled batches: train on (x, y)")
        y = batch[1]
        correct = (self.classifier.predict(px.mean) == y).to(z.dtype)  # (K, B)
        return self.bonus * correct
