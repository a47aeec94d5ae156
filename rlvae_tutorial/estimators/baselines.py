"""Baselines with state: an exponential moving average of the reward, and a learned b(x).

Both are ``nn.Module`` s so that their state travels with a model's ``state_dict`` (checkpoints,
keep-best).  Each gives the baseline *before* it sees the rewards it will be subtracted from, so
that b never depends on the sampled z and the score-function estimator stays unbiased.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from rlvae_tutorial.dtypes import as_floats
from rlvae_tutorial.nets import mlp


def ema_update(value: Tensor | float, target: Tensor | float, decay: float) -> Tensor | float:
    """One step of an exponential moving average: decay * value + (1 - decay) * target.

    The package's one moving-average formula: the bandit's :func:`~rlvae_tutorial.rl.bandit.ema_baseline`,
    REINFORCE's ``baseline="ema"`` and the RL+VAE estimators' :class:`EMABaseline` all step it.
    Tensors (any broadcastable shapes) or plain floats (for a fast loop over a stream of rewards);
    ``decay = 1`` never moves (allowed here, where a stream has a given start).
    """
    if not 0.0 <= decay <= 1.0:
        raise ValueError(f"decay must be in [0, 1], got {decay}")
    if isinstance(value, Tensor) and isinstance(target, Tensor):
        value, target = as_floats(value, target)  # their common float dtype
    # A Python number next to one tensor stays a number: torch computes in the tensor's float
    # dtype (int and bool tensors: the default one) and does not round 0.1 to float32 first.
    return decay * value + (1.0 - decay) * target


class EMABaseline(nn.Module):
    """b = an exponential moving average of the mean reward: one number for every input.

    ``forward()`` returns the current value (a 0-dim tensor of ``dtype``); ``update(rewards)`` folds
    in the mean of a batch of rewards with :func:`ema_update`.  Without ``init`` the value is 0
    before the first update and the first batch sets it directly (so the average does not start
    from 0); with ``init`` it starts there and every batch is averaged in.  Call ``update`` after
    using the value, so that b never depends on the rewards it is subtracted from.
    """

    def __init__(self, decay: float = 0.9, *, init: float | None = None,
                 dtype: torch.dtype = torch.float32) -> None:
        super().__init__()
        if not 0.0 <= decay < 1.0:
            raise ValueError(f"decay must be in [0, 1), got {decay}")
        self.decay, self.starts_at_init = decay, init is not None
        self.register_buffer("value", torch.full((), 0.0 if init is None else float(init), dtype=dtype))
        self.register_buffer("count", torch.zeros((), dtype=torch.long))

    def forward(self) -> Tensor:
        return self.value

    @torch.no_grad()
    def update(self, rewards: Tensor) -> None:
        target = rewards.detach().mean().to(self.value.dtype)
        first = self.count == 0 and not self.starts_at_init
        self.value.copy_(target if first else ema_update(self.value, target, self.decay))
        self.count += 1


class LearnedBaseline(nn.Module):
    """An input-dependent baseline b_psi(x), trained by its own regression loss (NVIL).

    b_psi(x) = offset + MLP(x): ``forward(x)`` maps ``(B, x_dim) -> (B,)``.  ``loss(x, rewards)`` is
    the mean squared error E[(r - b_psi(x))^2] with the rewards detached, so that only psi learns
    from it; rewards ``(K, B)`` (K samples per input) or ``(B,)``.  The offset is set to the mean of
    the first rewards it sees (``initialize_``; ``loss`` calls it), so the network only has to learn how inputs differ (rewards of
    -40 nats would otherwise take it thousands of small Adam steps to reach).
    """

    def __init__(self, x_dim: int, hidden: tuple[int, ...] = (128,), activation: str = "relu") -> None:
        super().__init__()
        self.net = mlp((x_dim, *hidden, 1), activation)
        self.offset = nn.Parameter(torch.zeros(()))
        self.register_buffer("initialized", torch.zeros((), dtype=torch.bool))

    def forward(self, x: Tensor) -> Tensor:
        return self.offset + self.net(x).squeeze(-1)

    def loss(self, x: Tensor, rewards: Tensor) -> Tensor:
        """MSE between b_psi(x) ``(B,)`` and the detached rewards ``(K, B)`` or ``(B,)``: a scalar."""
        r = rewards.detach()
        if r.shape[-1] != x.shape[0]:
            raise ValueError(
                f"rewards {tuple(r.shape)} must end with the batch dimension of x {tuple(x.shape)}: "
                "pass (B,) or (K, B)"
            )
        self.initialize_(r)
        return (r - self(x)).pow(2).mean()

    @torch.no_grad()
    def initialize_(self, rewards: Tensor) -> None:
        """Set the offset to the mean of ``rewards``, once (later calls do nothing)."""
        if not bool(self.initialized):
            self.offset.fill_(float(rewards.detach().mean()))
            self.initialized.fill_(True)
