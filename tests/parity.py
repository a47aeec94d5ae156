"""CPU/CUDA parity harness: the registry of package training entry points that must agree across
devices (tests/test_gpu_parity.py runs them).

To add a chapter's entry point, append a function to the registry at the end of this file::

    @parity_case("vae-elbo-training", rtol=1e-3, atol=1e-4)
    def _vae_training(device: torch.device, seed: int) -> dict[str, torch.Tensor]:
        history = train_vae(VAEConfig(epochs=2), device=device, seed=seed, progress=False)
        return {"loss": torch.tensor([h["loss"] for h in history])}

A case runs a few steps (well under a second on a CPU) with everything random drawn from
``seed`` on the CPU, so that both devices see the same numbers, and returns named tensors or
floats (losses, parameters).  Build models on the CPU, then move them to ``device``: initial
weights are then identical on both devices.  Tolerances are relative and absolute, as in
``torch.testing.assert_close``; floating-point sums differ in order on a GPU, so 1e-3 relative
after a few optimiser steps is typical.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import torch
from torch import nn

from rlvae_tutorial.data import load_digits
from rlvae_tutorial.device import seed_everything

Output = dict[str, torch.Tensor | float]


@dataclass(frozen=True)
class ParityCase:
    name: str
    run: Callable[[torch.device, int], Output]
    rtol: float
    atol: float


PARITY_CASES: dict[str, ParityCase] = {}


def parity_case(name: str, *, rtol: float = 1e-3, atol: float = 1e-4) -> Callable:
    """Register ``fn(device, seed) -> {name: tensor or float}`` as a parity case."""
    def register(fn: Callable[[torch.device, int], Output]) -> Callable[[torch.device, int], Output]:
        if name in PARITY_CASES:
            raise ValueError(f"parity case {name!r} is registered twice")
        PARITY_CASES[name] = ParityCase(name, fn, rtol, atol)
        return fn
    return register


def run_case(case: ParityCase, device: torch.device, seed: int = 0) -> dict[str, torch.Tensor]:
    """Run a case and return its outputs as float64 CPU tensors."""
    out = case.run(device, seed)
    if not isinstance(out, dict) or not out:
        raise TypeError(f"parity case {case.name!r} must return a non-empty dict of tensors or floats")
    return {k: torch.as_tensor(v).detach().to("cpu", torch.float64) for k, v in out.items()}


def mismatches(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor], rtol: float,
               atol: float) -> list[str]:
    """What differs between two runs' outputs, one line per output (empty when they agree)."""
    problems = [f"{k}: only in one run" for k in sorted(set(a) ^ set(b))]
    for key in sorted(set(a) & set(b)):
        x, y = a[key], b[key]
        if x.shape != y.shape:
            problems.append(f"{key}: shapes {tuple(x.shape)} vs {tuple(y.shape)}")
        elif not (torch.isfinite(x).all() and torch.isfinite(y).all()):
            problems.append(f"{key}: not finite")
        elif not torch.allclose(x, y, rtol=rtol, atol=atol):
            err = (x - y).abs().max().item()
            problems.append(f"{key}: max abs difference {err:.3g} > atol {atol:g} + rtol {rtol:g}")
    return problems


# --- Registered entry points: append yours below ------------------------------------------------


def adam_steps(params: Iterable[nn.Parameter], loss_fn: Callable[[], torch.Tensor], steps: int,
               lr: float) -> torch.Tensor:
    """``steps`` Adam steps on ``loss_fn()`` (called afresh each step); the losses, shape ``(steps,)``."""
    optimiser = torch.optim.Adam(params, lr=lr)
    losses = []
    for _ in range(steps):
        loss = loss_fn()
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        losses.append(loss.detach())
    return torch.stack(losses)



@parity_case("digits-mlp-classifier", rtol=1e-3, atol=1e-4)
def _digits_mlp(device: torch.device, seed: int) -> Output:
    """Twenty Adam steps of a small MLP classifier on the book's digits."""
    generator = seed_everything(seed)
    x, y = load_digits("train")
    model = nn.Sequential(nn.Linear(64, 128), nn.Tanh(), nn.Linear(128, 10)).to(device)

    def loss_fn() -> torch.Tensor:
        idx = torch.randint(len(x), (128,), generator=generator)  # drawn on the CPU
        return nn.functional.cross_entropy(model(x[idx].to(device)), y[idx].to(device))

    losses = adam_steps(model.parameters(), loss_fn, steps=20, lr=1e-2)
    weights = torch.cat([p.detach().flatten() for p in model.parameters()])
    return {"losses": losses, "weights": weights}


def _cpu_normal(generator: torch.Generator, *shape: int) -> torch.Tensor:
    return torch.randn(*shape, generator=generator)


@parity_case("train-loop-autoencoder", rtol=1e-3, atol=1e-4)
def _train_loop(device: torch.device, seed: int) -> Output:
    """Two epochs of the book's ``train`` loop on a VAE's networks with a deterministic loss
    (decode the encoder's mean), so nothing is sampled on the device."""
    from rlvae_tutorial.train import TrainConfig, train
    from rlvae_tutorial.vae import VAE, VAEConfig

    seed_everything(seed)
    x, _ = load_digits("train", binarize=True)
    model = VAE(VAEConfig()).to(device)

    def loss_fn(m: nn.Module, batch: torch.Tensor) -> tuple[torch.Tensor, dict]:
        return -m.decoder(m.encoder(batch).mean).log_prob(batch).mean(), {}

    history = train(model, loss_fn, x[:512].to(device), config=TrainConfig(epochs=2, seed=seed),
                    progress=False)
    weights = torch.cat([p.detach().flatten() for p in model.parameters()])
    return {"losses": torch.tensor(history["loss"]), "weights": weights}


@parity_case("actor-critic-update", rtol=1e-3, atol=1e-4)
def _actor_critic(device: torch.device, seed: int) -> Output:
    """Five A2C updates (GAE advantages, the package's loss) on a fixed synthetic rollout."""
    from rlvae_tutorial.rl.actor_critic import actor_critic_loss
    from rlvae_tutorial.rl.policies import CategoricalPolicy, ValueFunction
    from rlvae_tutorial.rl.returns import gae

    generator = seed_everything(seed)
    T, B, obs_dim = 16, 4, 4
    policy, value = CategoricalPolicy(obs_dim, 2).to(device), ValueFunction(obs_dim).to(device)
    obs = _cpu_normal(generator, T, B, obs_dim).to(device)
    actions = torch.randint(2, (T, B), generator=generator).to(device)
    rewards = torch.rand(T, B, generator=generator).to(device)
    terminated = (torch.rand(T, B, generator=generator) < 0.1).to(device)

    def loss_fn() -> torch.Tensor:
        dist, v = policy(obs.reshape(-1, obs_dim)), value(obs.reshape(-1, obs_dim))
        with torch.no_grad():
            adv = gae(rewards.T, v.reshape(T, B).T, 0.0, terminated.T, 0.99, 0.95).T  # (T, B)
        return actor_critic_loss(dist.log_prob(actions.reshape(-1)), adv.reshape(-1), v,
                                 (adv.reshape(-1) + v).detach(), dist.entropy(), entropy_coef=0.01)

    return {"losses": adam_steps([*policy.parameters(), *value.parameters()], loss_fn, steps=5, lr=1e-2)}


@parity_case("dqn-update", rtol=1e-3, atol=1e-4)
def _dqn(device: torch.device, seed: int) -> Output:
    """Five double-DQN steps on a fixed batch with a frozen target network."""
    import copy

    from rlvae_tutorial.rl.dqn import QNetwork, dqn_loss, dqn_targets

    generator = seed_everything(seed)
    q = QNetwork(8, 4).to(device)
    target = copy.deepcopy(q)
    obs, next_obs = _cpu_normal(generator, 32, 8).to(device), _cpu_normal(generator, 32, 8).to(device)
    actions = torch.randint(4, (32,), generator=generator).to(device)
    rewards = torch.rand(32, generator=generator).to(device)
    terminated = (torch.rand(32, generator=generator) < 0.2).to(device)

    def loss_fn() -> torch.Tensor:
        with torch.no_grad():
            y = dqn_targets(rewards, target(next_obs), terminated, 0.99, next_q_online=q(next_obs))
        return dqn_loss(q(obs), actions, y)

    return {"losses": adam_steps(q.parameters(), loss_fn, steps=5, lr=1e-3)}


@parity_case("score-function-leave-one-out", rtol=1e-3, atol=1e-4)
def _score_function(device: torch.device, seed: int) -> Output:
    """Three encoder steps of the book's RL+VAE estimator: K = 4 latents per image (noise drawn on
    the CPU), reward = the negative beta-VAE loss, leave-one-out baseline, score-function surrogate."""
    from torch.distributions import Independent, Normal

    from rlvae_tutorial.estimators.score_function import (
        leave_one_out_baseline,
        score_function_surrogate,
    )
    from rlvae_tutorial.rlvae.objective import elbo_reward
    from rlvae_tutorial.vae import VAE, VAEConfig

    generator = seed_everything(seed)
    x, _ = load_digits("train", binarize=True)
    x = x[:64].to(device)
    model = VAE(VAEConfig()).to(device)
    prior = Independent(Normal(torch.zeros(8, device=device), torch.ones(8, device=device)), 1)

    def loss_fn() -> torch.Tensor:  # minus the surrogate: its gradient is minus the estimator
        qz = model.encoder(x)
        eps = _cpu_normal(generator, 4, 64, 8).to(device)  # (K, B, D)
        z = (qz.mean + qz.stddev * eps).detach()  # an action: no gradient through the sample
        with torch.no_grad():
            reward = elbo_reward(model.decoder(z).log_prob(x), qz.log_prob(z), prior.log_prob(z))
        return -score_function_surrogate(qz.log_prob(z), reward, leave_one_out_baseline(reward)).mean()

    losses = adam_steps(model.encoder.parameters(), loss_fn, steps=3, lr=1e-3)
    weights = torch.cat([p.detach().flatten() for p in model.encoder.parameters()])
    return {"losses": losses, "encoder_weights": weights}
