"""A small MLP digit classifier: the differentiable-free *reward model* of guided generation.

Trained with the book's one loop: ``train(model, ClassifierLoss(), (x, y), config=...)``.
Its logits give the reward log p_clf(target | x); generated images are pixel probabilities in
[0, 1], so the classifier is trained on binarised digits and sees grey values only at the edges.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rlvae_tutorial.nets import mlp


class MLPClassifier(nn.Module):
    """logits = MLP(x): ``(..., x_dim) -> (..., n_classes)``."""

    def __init__(self, x_dim: int = 64, hidden: tuple[int, ...] = (128,), n_classes: int = 10) -> None:
        super().__init__()
        self.x_dim, self.n_classes = x_dim, n_classes
        self.net = mlp((x_dim, *hidden, n_classes))

    def forward(self, x: Tensor) -> Tensor:
        if x.shape[-1] != self.x_dim:
            raise ValueError(f"the classifier expects {self.x_dim} features, got shape {tuple(x.shape)}")
        return self.net(x)

    @torch.no_grad()
    def predict(self, x: Tensor) -> Tensor:
        """Most likely class: ``(..., x_dim) -> (...)`` long."""
        return self(x).argmax(dim=-1)


class ClassifierLoss:
    """Cross-entropy ``loss_fn(model, (x, y)) -> (loss, {"accuracy": ...})`` for ``train``."""

    def __call__(self, model: MLPClassifier, batch: Any) -> tuple[Tensor, dict[str, Tensor]]:
        if not isinstance(batch, (tuple, list)) or len(batch) < 2:
            raise ValueError("the classifier trains on labelled batches: pass data=(x, y)")
        x, y = batch[0], batch[1]
        logits = model(x)
        loss = F.cross_entropy(logits, y)
        return loss, {"accuracy": (logits.argmax(-1) == y).float().mean().detach()}
