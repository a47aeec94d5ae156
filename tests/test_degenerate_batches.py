"""No training loop records NaN from an empty or degenerate batch, or steps an optimiser on one.

Each loop either skips such a batch and counts it in its history, or refuses the configuration
up front with an error naming the fix.  Optimiser steps are counted by wrapping ``Adam.step``.
"""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from rlvae_tutorial.data import load_digits
from rlvae_tutorial.guidance import GuidanceConfig
from rlvae_tutorial.guidance.sequence import FinetuneConfig
from rlvae_tutorial.rl import (
    ActorCriticConfig,
    BanditConfig,
    ReinforceConfig,
    book_bandit,
    train_actor_critic,
    train_bandit,
    train_reinforce,
)
from rlvae_tutorial.rl.dqn import DQNConfig, train_dqn
from rlvae_tutorial.rlvae import PolicyVAE, estimator_config, train_policy_vae
from rlvae_tutorial.train import TrainConfig, train
from rlvae_tutorial.vae import VAE, VAEConfig
from tests.test_rl_training import counting_envs


@pytest.fixture
def adam_steps(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """A list that grows by one on every ``torch.optim.Adam.step``."""
    calls: list[int] = []
    step = torch.optim.Adam.step

    def counted(self, *args, **kwargs):  # noqa: ANN001, ANN202
        calls.append(1)
        return step(self, *args, **kwargs)

    monkeypatch.setattr(torch.optim.Adam, "step", counted)
    return calls


def _finite(values: list[float]) -> bool:
    return all(math.isfinite(v) for v in values)


@pytest.mark.parametrize(("n_envs", "normalize"), [(1, True), (1, False), (2, False)])
def test_actor_critic_skips_rollouts_of_autoreset_steps_only(adam_steps: list[int], n_envs: int,
                                                             normalize: bool) -> None:
    # n_steps=1 with episodes of 3 steps: every 4th rollout holds only the autoreset step.
    config = ActorCriticConfig(n_steps=1, total_steps=40, eval_every=1_000, target_return=None,
                               normalize_advantages=normalize)
    history = train_actor_critic(counting_envs(n_envs, length=3), config, progress=False).history
    losses = [u["loss"] for u in history.updates]
    assert _finite(losses) and _finite([u["entropy"] for u in history.updates])
    assert len(adam_steps) == len(history.updates), "one optimiser step per recorded update, none else"
    if n_envs == 1:
        assert history.skipped_updates > 0  # the degenerate rollouts happened, and were skipped
    assert history.env_steps >= 40


def test_reinforce_with_one_step_episodes_and_one_per_update(adam_steps: list[int]) -> None:
    config = ReinforceConfig(total_steps=30, episodes_per_update=1, eval_every=1_000, target_return=None)
    history = train_reinforce(counting_envs(1, length=1), config, progress=False).history
    assert len(history.updates) >= 25
    for key in ("policy_loss", "value_loss", "entropy", "return_mean"):
        assert _finite([u[key] for u in history.updates]), key
    assert len(adam_steps) == 2 * len(history.updates)  # the policy's and the value's optimiser


def test_dqn_with_one_env_and_minibatches_of_one(adam_steps: list[int]) -> None:
    config = DQNConfig(total_steps=120, batch_size=1, learning_starts=1, eval_every=1_000, target_every=5)
    history = train_dqn(counting_envs(1, length=2), config, progress=False).history
    assert history.updates and _finite([u["loss"] for u in history.updates])
    assert len(adam_steps) >= 100


def test_bandit_refuses_empty_batches_and_trains_on_batches_of_one() -> None:
    with pytest.raises(ValueError, match="batch >= 1"):
        BanditConfig(batch=0)
    with pytest.raises(ValueError, match="steps >= 1"):
        BanditConfig(steps=0)
    _, history = train_bandit(book_bandit(), BanditConfig(steps=20, batch=1), seed=0)
    assert _finite(history.expected_reward) and _finite(history.batch_reward)


def test_train_skips_empty_batches_and_counts_them(adam_steps: list[int]) -> None:
    torch.manual_seed(0)
    model = nn.Linear(3, 1)
    x, y = torch.randn(8, 3), torch.randn(8)
    batches = [(x[:4], y[:4]), (x[:0], y[:0]), (x[4:], y[4:])]

    def mse(m: nn.Module, b: tuple[torch.Tensor, torch.Tensor]) -> tuple[torch.Tensor, dict]:
        return ((m(b[0]).squeeze(-1) - b[1]) ** 2).mean(), {"n": float(len(b[0]))}

    history = train(model, mse, batches, config=TrainConfig(epochs=3), val_data=batches, progress=False)
    assert history.skipped_batches == 3  # one per epoch
    assert len(adam_steps) == 6  # two real batches per epoch
    assert all(_finite(list(r.values())) for r in history.records)
    with pytest.raises(ValueError, match="yielded no batches"):
        train(model, mse, [(x[:0], y[:0])], progress=False)


def test_train_refuses_empty_data_up_front(adam_steps: list[int]) -> None:
    model = nn.Linear(3, 1)
    data = (torch.randn(8, 3), torch.randn(8))
    empty = (torch.zeros(0, 3), torch.zeros(0))

    def mse(m: nn.Module, b: tuple[torch.Tensor, torch.Tensor]) -> tuple[torch.Tensor, dict]:
        return ((m(b[0]).squeeze(-1) - b[1]) ** 2).mean(), {}

    with pytest.raises(ValueError, match="data has no rows"):
        train(model, mse, empty, progress=False)
    with pytest.raises(ValueError, match="val_data has no rows"):
        train(model, mse, data, val_data=empty, progress=False)
    assert adam_steps == []


def test_train_never_steps_on_a_nan_loss(adam_steps: list[int]) -> None:
    model = nn.Linear(3, 1)
    before = [p.detach().clone() for p in model.parameters()]
    with pytest.raises(FloatingPointError):
        train(model, lambda m, b: (m(b).sum() * math.nan, {}), torch.randn(4, 3), progress=False)
    assert adam_steps == []
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))


def test_policy_vae_loop_with_a_last_batch_of_one_row_and_empty_data_refused() -> None:
    x = load_digits("train", binarize=True)[0]
    torch.manual_seed(0)
    model = PolicyVAE(VAE(VAEConfig(hidden=(32,), z_dim=4)), estimator_config("loo"))
    history = train_policy_vae(model, x[:33], x[33:49], epochs=2, config=TrainConfig(batch_size=16),
                               progress=False)
    assert all(_finite([v for k, v in r.items()]) for r in history.records)
    with pytest.raises(ValueError, match="x_val has no rows"):
        train_policy_vae(model, x[:33], x[:0], epochs=1, progress=False)
    with pytest.raises(ValueError, match="x_train has no rows"):
        train_policy_vae(model, x[:0], x[:8], epochs=1, progress=False)


def test_guidance_loops_refuse_a_single_sample_per_step() -> None:
    # The leave-one-out baseline of one sample is 0/0: both loops refuse it up front.
    with pytest.raises(ValueError, match="n_samples must be >= 2"):
        GuidanceConfig(n_samples=1)
    with pytest.raises(ValueError, match="n_samples must be >= 2"):
        FinetuneConfig(n_samples=1)
    with pytest.raises(ValueError, match="steps >= 1"):
        FinetuneConfig(steps=0)
