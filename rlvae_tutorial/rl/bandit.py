"""A (contextual) multi-armed bandit: the smallest place to study the policy gradient.

Each round a context ``s`` is drawn uniformly from ``S`` contexts, the policy picks one of ``K``
arms, and the reward is Gaussian with mean ``means[s, a]`` and standard deviation ``noise``.
With ``S = 1`` it is the classic multi-armed bandit; with ``S > 1`` it is a one-step MDP, in which
a state-dependent baseline V(s) can do what no constant can.  The objective of a softmax policy
with logits ``theta: (S, K)`` is :math:`J(\\theta) = \\frac1S \\sum_s \\sum_a \\pi_\\theta(a|s)\\,\\mu(s,a)`,
so its exact gradient is known and the REINFORCE estimate can be checked against it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from torch import Tensor
from tqdm.auto import tqdm

from rlvae_tutorial.dtypes import as_float, float_dtype
from rlvae_tutorial.estimators.baselines import EMABaseline, ema_update
from rlvae_tutorial.rl.policies import TabularSoftmaxPolicy
from rlvae_tutorial.rl.reinforce import reinforce_loss

BANDIT_BASELINES = ("none", "ema", "value")


@dataclass(frozen=True)
class Bandit:
    """Gaussian arms: ``means: (S, K)`` (S contexts, K arms) and reward noise std ``noise``."""

    means: Tensor
    noise: float = 1.0

    def __post_init__(self) -> None:
        if self.means.ndim != 2:
            raise ValueError(f"means must be (S, K): contexts x arms, got shape {tuple(self.means.shape)}")
        if self.noise < 0:
            raise ValueError(f"noise is a standard deviation, >= 0; got {self.noise}")

    @property
    def n_contexts(self) -> int:
        return int(self.means.shape[0])

    @property
    def n_arms(self) -> int:
        return int(self.means.shape[1])

    def contexts(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """``n`` contexts drawn uniformly: ``(n,)`` int64."""
        return torch.randint(self.n_contexts, (n,), generator=generator)

    def pull(self, contexts: Tensor, arms: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """Rewards of pulling ``arms`` in ``contexts``: ``(n,), (n,) -> (n,)``."""
        mean = self.means[contexts, arms]
        return mean + self.noise * torch.randn(mean.shape, generator=generator, dtype=mean.dtype)


def book_bandit() -> Bandit:
    """The chapter's bandit: 3 contexts x 4 arms.  Contexts pay very different amounts on
    average (about 2, 5 and 8), and within each the arms differ by up to 2."""
    offsets = torch.tensor([[2.0], [5.0], [8.0]])
    effects = torch.tensor([[0.0, 0.5, 1.5, -0.5], [1.0, -0.5, 0.0, 0.5], [-0.5, 0.0, 0.5, 1.5]])
    return Bandit(offsets + effects, noise=1.0)


def expected_reward(logits: Tensor, bandit: Bandit) -> Tensor:
    r""":math:`J(\theta) = \frac1S \sum_{s,a} \pi_\theta(a|s) \mu(s,a)`.  logits: ``(S, K)`` -> scalar."""
    return (torch.softmax(as_float(logits), -1) * bandit.means).sum(-1).mean()


def exact_gradient(logits: Tensor, bandit: Bandit) -> Tensor:
    r"""The exact :math:`\nabla_\theta J = \frac1S\,\pi(a|s)\,(\mu(s,a) - V^\pi(s))`, with
    :math:`V^\pi(s) = \sum_a \pi(a|s)\mu(s,a)`.  logits: ``(S, K)`` -> ``(S, K)``."""
    probs = torch.softmax(as_float(logits), -1)
    values = (probs * bandit.means).sum(-1, keepdim=True)
    return probs * (bandit.means - values) / bandit.n_contexts


def softmax_score(logits: Tensor, actions: Tensor) -> Tensor:
    r"""The score :math:`\nabla_\theta \log \mathrm{softmax}(\theta)_a = e_a - \mathrm{softmax}(\theta)`.

    logits: ``(n, K)``; actions: ``(n,)`` -> ``(n, K)``.
    """
    logits = as_float(logits)
    onehot = torch.nn.functional.one_hot(actions.long(), logits.shape[-1]).to(logits.dtype)
    return onehot - torch.softmax(logits, -1)


def ema_baseline(rewards: Tensor, decay: float, init: float = 0.0) -> Tensor:
    r"""Exponential moving average (EMA) of the PAST rewards: :math:`b_0 = \text{init}`,
    :math:`b_{i+1} = \text{decay}\, b_i + (1 - \text{decay})\, r_i`, one
    :func:`~rlvae_tutorial.estimators.baselines.ema_update` per round (in float64).

    :math:`b_i` never sees :math:`r_i`, so it does not depend on the action of round :math:`i` and
    the estimate stays unbiased.  rewards: ``(n,)`` -> ``(n,)``.
    """
    if rewards.ndim != 1:
        raise ValueError(f"rewards must be (n,), got {tuple(rewards.shape)}")
    if not 0.0 <= decay <= 1.0:
        raise ValueError(f"decay must be in [0, 1], got {decay}")
    out, b = [], float(init)
    for r in rewards.detach().cpu().double().tolist():  # Python floats: ~100x faster than 0-dim tensors
        out.append(b)
        b = ema_update(b, r, decay)
    return torch.tensor(out, dtype=float_dtype(rewards), device=rewards.device)


def learned_value_baseline(contexts: Tensor, rewards: Tensor, n_contexts: int, lr: float) -> Tensor:
    r"""A table :math:`V(s)` learned online by SGD on :math:`\frac12 (r - V(s))^2`, used before
    each update: :math:`b_i = V_i(s_i)`, then :math:`V(s_i) \mathrel{+}= \text{lr}\,(r_i - V(s_i))`.

    contexts, rewards: ``(n,)`` -> ``(n,)``.
    """
    r = rewards.detach().cpu().double().numpy()
    s = contexts.cpu().numpy()
    table = np.zeros(n_contexts)
    out = np.empty_like(r)
    for i in range(len(r)):
        out[i] = table[s[i]]
        table[s[i]] += lr * (r[i] - table[s[i]])
    return torch.as_tensor(out, dtype=float_dtype(rewards), device=rewards.device)


def baseline_values(baseline: str, contexts: Tensor, rewards: Tensor, n_contexts: int,
                    lr: float = 0.05) -> Tensor:
    """The baseline ``b_i`` for each round of a stream: ``"none"`` (0), ``"ema"``
    (decay ``1 - lr``) or ``"value"`` (learned per context with step ``lr``)."""
    if baseline == "none":
        return torch.zeros_like(as_float(rewards))
    if baseline == "ema":
        return ema_baseline(rewards, 1.0 - lr)
    if baseline == "value":
        return learned_value_baseline(contexts, rewards, n_contexts, lr)
    raise ValueError(f"baseline must be one of {BANDIT_BASELINES}, got {baseline!r}")


def reinforce_gradients(logits: Tensor, bandit: Bandit, n: int, baseline: str = "none", *,
                        lr: float = 0.05, generator: torch.Generator | None = None) -> Tensor:
    r"""``n`` single-sample REINFORCE estimates of :math:`\nabla_\theta J` at fixed ``logits``.

    Round :math:`i`: context :math:`s_i`, arm :math:`a_i \sim \pi(\cdot|s_i)`, reward :math:`r_i`;
    the estimate is :math:`(r_i - b_i)\,\nabla_\theta \log \pi(a_i|s_i)`, non-zero only in row
    :math:`s_i`.  Their mean is unbiased for every baseline; their spread is what baselines cut.
    logits: ``(S, K)`` -> ``(n, S, K)``.
    """
    contexts = bandit.contexts(n, generator)
    probs = torch.softmax(logits.detach(), -1)[contexts]  # (n, K)
    arms = torch.multinomial(probs, 1, generator=generator).squeeze(-1)  # (n,)
    rewards = bandit.pull(contexts, arms, generator)
    b = baseline_values(baseline, contexts, rewards, bandit.n_contexts, lr)
    score = softmax_score(logits.detach()[contexts], arms)  # (n, K)
    grads = torch.zeros(n, *logits.shape, dtype=score.dtype)
    grads[torch.arange(n), contexts] = (rewards - b)[:, None] * score
    return grads


@dataclass(frozen=True)
class BanditConfig:
    """REINFORCE on the bandit: ``steps`` updates of ``batch`` rounds each, Adam with ``lr``."""

    steps: int = 200
    batch: int = 16
    lr: float = 0.05
    baseline: str = "value"
    baseline_lr: float = 0.05

    def __post_init__(self) -> None:
        if self.steps < 1 or self.batch < 1:
            raise ValueError(f"BanditConfig needs steps >= 1 and batch >= 1 (rounds per update: an empty "
                             f"batch has no mean reward), got steps={self.steps}, batch={self.batch}")
        if self.lr <= 0 or not 0.0 < self.baseline_lr <= 1.0:
            raise ValueError(f"BanditConfig needs lr > 0 and baseline_lr in (0, 1], got {self.lr}, {self.baseline_lr}")
        if self.baseline not in BANDIT_BASELINES:
            raise ValueError(f"baseline must be one of {BANDIT_BASELINES}, got {self.baseline!r}")


@dataclass
class BanditHistory:
    """Expected reward J of the policy and the batch mean reward, before each update."""

    expected_reward: list[float] = field(default_factory=list)
    batch_reward: list[float] = field(default_factory=list)


def train_bandit(bandit: Bandit, config: BanditConfig = BanditConfig(), *, seed: int = 0,
                 progress: bool = False) -> tuple[TabularSoftmaxPolicy, BanditHistory]:
    """Train a tabular softmax policy on ``bandit`` by REINFORCE with the chosen baseline."""
    generator = torch.Generator().manual_seed(seed)
    policy = TabularSoftmaxPolicy(bandit.n_contexts, bandit.n_arms)
    opt = torch.optim.Adam(policy.parameters(), lr=config.lr)
    history = BanditHistory()
    ema = EMABaseline(1.0 - config.baseline_lr, init=0.0, dtype=torch.float64)
    table = torch.zeros(bandit.n_contexts)
    for _ in tqdm(range(config.steps), desc=f"bandit ({config.baseline})", disable=not progress):
        with torch.no_grad():
            history.expected_reward.append(float(expected_reward(policy.logits, bandit)))
        contexts = bandit.contexts(config.batch, generator)
        dist = policy(contexts)
        arms = torch.multinomial(dist.probs.detach(), 1, generator=generator).squeeze(-1)
        rewards = bandit.pull(contexts, arms, generator)
        if config.baseline == "ema":
            b = torch.full_like(rewards, float(ema()))
            ema.update(rewards)
        elif config.baseline == "value":
            b = table[contexts]
            table.index_add_(0, contexts, config.baseline_lr * (rewards - b))
        else:
            b = torch.zeros_like(rewards)
        loss = reinforce_loss(dist.log_prob(arms), rewards - b)
        opt.zero_grad()
        loss.backward()
        opt.step()
        history.batch_reward.append(float(rewards.mean()))
    return policy, history
