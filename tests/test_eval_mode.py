"""Every evaluation helper runs under ``torch.no_grad()`` with the model in eval mode.

Gradients in an evaluation waste memory and time; train mode is worse: a module whose forward
pass updates state in train mode (batch norm, dropout, a running baseline) would learn from the
evaluation data.  Each helper is called on a model in train mode with a forward pre-hook on
every submodule that records ``(torch.is_grad_enabled(), module.training)``; the helper must
only ever run forward passes as ``(False, False)`` and hand the model back in train mode.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
import torch
from torch import nn

from rlvae_tutorial.data import load_digits
from rlvae_tutorial.envs.wrappers import frames_to_latents
from rlvae_tutorial.latents import reconstruction_error
from rlvae_tutorial.rl import CategoricalPolicy
from rlvae_tutorial.rl.dqn import QNetwork
from rlvae_tutorial.rl.rollout import evaluate as evaluate_policy
from rlvae_tutorial.train import evaluate_loss
from rlvae_tutorial.vae import VAE, VAEConfig, VAELoss
from rlvae_tutorial.vae.losses import evaluate as evaluate_vae
from tests.test_rl_training import counting_envs


def _record(model: nn.Module) -> list[tuple[bool, bool]]:
    seen: list[tuple[bool, bool]] = []
    for module in model.modules():
        module.register_forward_pre_hook(lambda m, _args: seen.append((torch.is_grad_enabled(), m.training)))
    return seen


def _digits() -> torch.Tensor:
    return load_digits("train", binarize=True)[0][:32]


def _frames_vae() -> VAE:
    return VAE(VAEConfig(x_dim=300, hidden=(16,), z_dim=4))


def _frames() -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, size=(3, 10, 10, 3), dtype=np.uint8)


HELPERS: dict[str, tuple[Callable[[], nn.Module], Callable[[nn.Module], object]]] = {
    "train.evaluate_loss": (lambda: VAE(VAEConfig(hidden=(16,))),
                            lambda m: evaluate_loss(m, VAELoss(), _digits())),
    "vae.losses.evaluate": (lambda: VAE(VAEConfig(hidden=(16,))),
                            lambda m: evaluate_vae(m, _digits(), k=4, n_elbo_samples=2)),
    # the analytic-KL ELBO alone (k=0), as the RL+VAE chapters evaluate their policies
    "vae.losses.evaluate (k=0)": (lambda: VAE(VAEConfig(hidden=(16,))),
                                  lambda m: evaluate_vae(m, _digits(), k=0, n_elbo_samples=2)),
    "rl.evaluate (policy)": (lambda: CategoricalPolicy(1, 2),
                             lambda m: evaluate_policy(m, counting_envs(2, 3), seed=0)),
    "rl.evaluate (Q-network)": (lambda: QNetwork(1, 2),
                                lambda m: evaluate_policy(m, counting_envs(2, 3), seed=0)),
    "envs.frames_to_latents": (lambda: _frames_vae().encoder, lambda m: frames_to_latents(m, _frames())),
}


@pytest.mark.parametrize("name", HELPERS)
def test_evaluation_helpers_run_without_gradients_in_eval_mode(name: str) -> None:
    make, call = HELPERS[name]
    model = make().train()
    seen = _record(model)
    call(model)
    assert seen, f"{name} ran no forward pass of the model"
    assert set(seen) == {(False, False)}, f"{name}: forward passes ran as (grad, training) = {set(seen)}"
    assert model.training, f"{name} must hand the model back in the mode it found it in"


def test_reconstruction_error_runs_without_gradients() -> None:
    # Not switched to eval mode: it is called on the pretrained VAE, which pretrain_vae returns in
    # eval mode, and the book's VAEs have no mode-dependent layer.  Gradients must still be off.
    model = _frames_vae()
    seen = _record(model)
    reconstruction_error(model, _frames())
    assert seen and not any(grad for grad, _ in seen)
