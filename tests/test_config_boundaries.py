"""Every configuration's checks, exactly at their boundaries, with their whole messages.

A boundary value the docstring allows (γ = 0 and 1, one step, ``baseline_lr = 1``) must be
accepted; the first value past it must be refused with the message the user will read.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from rlvae_tutorial.rl import ActorCriticConfig, BanditConfig, PPOConfig, ReinforceConfig
from rlvae_tutorial.train import TrainConfig

ACCEPTED: list[tuple[type, dict[str, Any]]] = [
    (ActorCriticConfig, {"n_steps": 1, "total_steps": 1, "eval_every": 1}),
    (ActorCriticConfig, {"gamma": 0.0, "gae_lambda": 0.0}),
    (ActorCriticConfig, {"gamma": 1.0, "gae_lambda": 1.0}),
    (ReinforceConfig, {"episodes_per_update": 1, "total_steps": 1, "eval_every": 1}),
    (ReinforceConfig, {"gamma": 0.0, "ema_decay": 0.0}),
    (ReinforceConfig, {"gamma": 1.0, "ema_decay": 0.999}),
    (PPOConfig, {"total_steps": 1, "n_envs": 1, "n_steps": 1, "epochs": 1, "minibatches": 1, "eval_every": 1}),
    (PPOConfig, {"gamma": 0.0, "gae_lambda": 0.0, "clip_coef": 1e-9}),
    (PPOConfig, {"gamma": 1.0, "gae_lambda": 1.0}),
    (BanditConfig, {"steps": 1, "batch": 1, "lr": 1e-9, "baseline_lr": 1.0}),
    (TrainConfig, {"epochs": 1, "batch_size": 1, "eval_every": 1, "eval_batch_size": 1, "lr": 1e-9, "patience": 1,
                   "grad_clip": 1e-9, "mode": "max"}),
]

REFUSED: list[tuple[type, dict[str, Any], str]] = [
    (ActorCriticConfig, {"n_steps": 0}, "n_steps, total_steps and eval_every must be >= 1"),
    (ActorCriticConfig, {"total_steps": 0}, "n_steps, total_steps and eval_every must be >= 1"),
    (ActorCriticConfig, {"eval_every": 0}, "n_steps, total_steps and eval_every must be >= 1"),
    (ActorCriticConfig, {"gamma": -0.01}, "gamma and gae_lambda must be in [0, 1]"),
    (ActorCriticConfig, {"gamma": 1.01}, "gamma and gae_lambda must be in [0, 1]"),
    (ActorCriticConfig, {"gae_lambda": -0.01}, "gamma and gae_lambda must be in [0, 1]"),
    (ActorCriticConfig, {"gae_lambda": 1.01}, "gamma and gae_lambda must be in [0, 1]"),
    (ReinforceConfig, {"baseline": "mean"}, "baseline must be one of ('none', 'ema', 'value'), got 'mean'"),
    (ReinforceConfig, {"episodes_per_update": 0}, "episodes_per_update, total_steps and eval_every must be >= 1"),
    (ReinforceConfig, {"total_steps": 0}, "episodes_per_update, total_steps and eval_every must be >= 1"),
    (ReinforceConfig, {"eval_every": 0}, "episodes_per_update, total_steps and eval_every must be >= 1"),
    (ReinforceConfig, {"gamma": -0.01}, "gamma must be in [0, 1], got -0.01"),
    (ReinforceConfig, {"gamma": 1.01}, "gamma must be in [0, 1], got 1.01"),
    (ReinforceConfig, {"ema_decay": -0.01}, "ema_decay must be in [0, 1), got -0.01"),
    (ReinforceConfig, {"ema_decay": 1.0}, "ema_decay must be in [0, 1), got 1.0"),
    *[(PPOConfig, {name: 0}, f"{name} must be >= 1, got 0")
      for name in ("total_steps", "n_envs", "n_steps", "epochs", "minibatches", "eval_every")],
    (PPOConfig, {"clip_coef": 0.0},
     "clip_coef must be > 0 (the ratio is clipped to [1 - eps, 1 + eps]), got 0.0"),
    (PPOConfig, {"n_envs": 3, "n_steps": 5, "minibatches": 4},
     "minibatches (4) must divide the batch n_envs * n_steps = 15; change minibatches, n_envs or n_steps"),
    (PPOConfig, {"gamma": 1.01}, "gamma and gae_lambda must be in [0, 1]"),
    (PPOConfig, {"gamma": -0.01}, "gamma and gae_lambda must be in [0, 1]"),
    (PPOConfig, {"gae_lambda": 1.01}, "gamma and gae_lambda must be in [0, 1]"),
    (PPOConfig, {"gae_lambda": -0.01}, "gamma and gae_lambda must be in [0, 1]"),
    (BanditConfig, {"steps": 0}, "BanditConfig needs steps >= 1 and batch >= 1 (rounds per update: an empty batch "
                                 "has no mean reward), got steps=0, batch=16"),
    (BanditConfig, {"batch": 0}, "BanditConfig needs steps >= 1 and batch >= 1 (rounds per update: an empty batch "
                                 "has no mean reward), got steps=200, batch=0"),
    (BanditConfig, {"lr": 0.0}, "BanditConfig needs lr > 0 and baseline_lr in (0, 1], got 0.0, 0.05"),
    (BanditConfig, {"baseline_lr": 0.0}, "BanditConfig needs lr > 0 and baseline_lr in (0, 1], got 0.05, 0.0"),
    (BanditConfig, {"baseline_lr": 1.01}, "BanditConfig needs lr > 0 and baseline_lr in (0, 1], got 0.05, 1.01"),
    (BanditConfig, {"baseline": "mean"}, "baseline must be one of ('none', 'ema', 'value'), got 'mean'"),
    *[(TrainConfig, {name: 0}, f"TrainConfig.{name} must be >= 1, got 0")
      for name in ("epochs", "batch_size", "eval_every", "eval_batch_size")],
    (TrainConfig, {"lr": 0.0}, "TrainConfig.lr must be > 0, got 0.0"),
    (TrainConfig, {"mode": "best"}, "TrainConfig.mode must be 'min' or 'max', got 'best'"),
    (TrainConfig, {"patience": 0}, "TrainConfig.patience must be >= 1 or None, got 0"),
    (TrainConfig, {"grad_clip": 0.0}, "TrainConfig.grad_clip must be > 0 or None, got 0.0"),
]


@pytest.mark.parametrize(("cls", "kwargs"), ACCEPTED, ids=lambda v: getattr(v, "__name__", str(v)))
def test_boundary_values_are_accepted(cls: type, kwargs: dict[str, Any]) -> None:
    config = cls(**kwargs)
    assert all(getattr(config, k) == v for k, v in kwargs.items())


@pytest.mark.parametrize(("cls", "kwargs", "message"), REFUSED, ids=lambda v: getattr(v, "__name__", str(v)))
def test_the_first_value_past_a_boundary_is_refused_with_its_whole_message(
        cls: type, kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        cls(**kwargs)
