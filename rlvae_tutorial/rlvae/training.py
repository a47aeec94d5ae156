"""Training and evaluating an encoder-as-policy VAE with the book's one loop, at equal compute.

Comparing estimators "at equal wall time" on a machine shared with other jobs measures the load as
much as the estimators.  Instead the book gives every estimator the same number of floating-point
operations, counted by PyTorch's ``FlopCounterMode`` on one training step (matrix products, which
are nearly all of an MLP's work): a budget that does not depend on the machine or its load.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import torch
from torch import Tensor
from torch.utils.flop_counter import FlopCounterMode

from rlvae_tutorial.estimators.baselines import LearnedBaseline
from rlvae_tutorial.rlvae.config import estimator_config
from rlvae_tutorial.rlvae.models import PolicyVAE
from rlvae_tutorial.rlvae.objective import policy_gradient_loss, sample_reward
from rlvae_tutorial.train import History, TrainConfig, train
from rlvae_tutorial.vae.losses import draw_latent, evaluate
from rlvae_tutorial.vae.models import VAE


def step_flops(model: PolicyVAE, batch: Any, loss_fn: Any = policy_gradient_loss) -> int:
    """Floating-point operations of one training step (forward and backward) on ``batch``.

    Counted by ``torch.utils.flop_counter.FlopCounterMode``; gradients are cleared afterwards and
    the random state is restored, so calling it changes nothing.
    """
    with torch.random.fork_rng(devices=[]):
        for _ in range(2):  # the second count: a first step may initialise a baseline
            counter = FlopCounterMode(display=False)
            with counter:
                loss, _ = loss_fn(model, batch)
                loss.backward()
            model.zero_grad(set_to_none=True)
    if model.config.baseline == "ema" and model.baseline is not None:
        model.baseline.count.zero_()  # forget the update the counting step made
        model.baseline.value.zero_()
    return int(counter.get_total_flops())


def _rows(data: Tensor | tuple[Tensor, ...], stop: int | None = None) -> Any:
    """The first ``stop`` rows of a tensor or of every tensor of a tuple (all rows if None)."""
    if isinstance(data, tuple):
        return tuple(t[:stop] for t in data)
    return data[:stop]


def epoch_flops(model: PolicyVAE, x: Tensor | tuple[Tensor, ...], batch_size: int) -> int:
    """FLOPs of one epoch over x (or a tuple ``(x, y, ...)``): one full batch's ``step_flops`` x steps."""
    n = (x[0] if isinstance(x, tuple) else x).shape[0]
    return step_flops(model, _rows(x, batch_size)) * math.ceil(n / batch_size)


def train_policy_vae(
    model: PolicyVAE,
    x_train: Tensor | tuple[Tensor, ...],
    x_val: Tensor | tuple[Tensor, ...],
    *,
    epochs: int | None = None,
    flops: float | None = None,
    config: TrainConfig | None = None,
    val_samples: int = 5,
    progress: bool = True,
    desc: str | None = None,
) -> History:
    """Train with :func:`rlvae_tutorial.train.train` and keep the best validation ELBO.

    ``config`` (default ``TrainConfig()``) sets batch size, learning rate and seed.
    Give either ``epochs`` or a compute budget ``flops`` (epochs = floor(flops / epoch_flops),
    at least 1).  The monitored ``val_elbo`` is the analytic-KL ELBO (:func:`~rlvae_tutorial.vae.evaluate`
    with ``k=0``) on ``x_val`` with the same
    ``val_samples`` draws every epoch (a fixed generator), so epochs are compared on equal noise.
    History records also get ``flops`` (cumulative compute at the end of each epoch).
    Data may be tuples ``(x, y)`` (for an ``extra_reward`` that needs labels); validation uses x.
    """
    config = config or TrainConfig()
    if (epochs is None) == (flops is None):
        raise ValueError("give exactly one of epochs= or flops=")
    for name, d in (("x_train", x_train), ("x_val", x_val)):
        if (d[0] if isinstance(d, tuple) else d).shape[0] == 0:  # an ELBO over no rows is NaN
            raise ValueError(f"{name} has no rows: pass at least one example")
    per_epoch = epoch_flops(model, x_train, config.batch_size)
    if flops is not None:
        epochs = max(1, int(flops // per_epoch))
    assert epochs is not None
    seed = config.seed if config.seed is not None else 0

    val_x = x_val[0] if isinstance(x_val, tuple) else x_val

    def val_fn(m: torch.nn.Module) -> dict[str, float]:
        gen = torch.Generator(device=val_x.device).manual_seed(seed + 12345)
        return {"val_elbo": evaluate(m.vae, val_x, k=0, n_elbo_samples=val_samples, generator=gen)["elbo"]}

    cfg = replace(config, epochs=epochs, monitor="val_elbo", mode="max")
    history = train(
        model, policy_gradient_loss, x_train, config=cfg, val_fn=val_fn, progress=progress,
        desc=desc or model.config.name,
    )
    for record in history.records:
        record["flops"] = record["epoch"] * per_epoch
    return history


def fit_learned_baseline(
    model: PolicyVAE, x: Tensor, *, config: TrainConfig | None = None, progress: bool = True
) -> History:
    """Fit the model's learned b(x) to rewards of z ~ q(z|x), with the VAE held fixed.

    Regression of r(x, z) on x by :meth:`LearnedBaseline.loss`, with fresh z every step: what the
    baseline converges to while the policy trains, here at a fixed policy (for the variance probe).
    ``config`` defaults to ``TrainConfig(epochs=30, lr=1e-2)``: with the VAE's 1e-3, 30 epochs
    left the squared error near 3 times the reward's own spread around E[r | x] on digits.
    """
    baseline = model.baseline
    if not isinstance(baseline, LearnedBaseline):
        raise ValueError("the model has no learned baseline: build it with baseline='learned'")
    vae, beta = model.vae, model.config.beta

    def loss_fn(b: torch.nn.Module, batch: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        with torch.no_grad():
            qz = vae.encoder(batch)
            r = sample_reward(vae, batch, draw_latent(qz, 1), beta, qz)
        return baseline.loss(batch, r), {}

    return train(baseline, loss_fn, x, config=config or TrainConfig(epochs=30, lr=1e-2), progress=progress, desc="b(x)")


@dataclass
class EstimatorRun:
    """One estimator's training run: the trained model (best validation weights), its history,
    its test ELBO terms (analytic-KL ELBO, ``vae.evaluate(k=0)``) and the CPU seconds per epoch it took."""

    model: PolicyVAE
    history: History
    test: dict[str, float]
    cpu_per_epoch: float


def train_estimators(
    make_vae: Callable[[], VAE],
    names: Sequence[str],
    x_train: Tensor,
    x_val: Tensor,
    x_test: Tensor,
    *,
    flops: float,
    seed: int = 0,
    lr: float | dict[str, float] = 1e-3,
    test_samples: int = 100,
    progress: bool = True,
) -> dict[str, EstimatorRun]:
    """Train one VAE per estimator of ``names`` (keys of ``ESTIMATORS``) on the same compute.

    Every run starts from the same initial weights (``make_vae()`` after seeding with ``seed``) and
    the same data order, and gets ``flops`` floating-point operations; only the encoder's gradient
    differs.  ``lr``: Adam's learning rate, one for all or ``{name: lr}`` per estimator (e.g. each
    one's pick from a grid).  CPU time (``time.process_time``, less sensitive to other jobs than wall time) is
    measured back to back in this process.  The VAE is moved to x_train's device.
    """
    runs = {}
    for name in names:
        torch.manual_seed(seed)
        model = PolicyVAE(make_vae(), estimator_config(name)).to(x_train.device)
        start = time.process_time()
        rate = lr[name] if isinstance(lr, dict) else lr
        history = train_policy_vae(model, x_train, x_val, flops=flops, config=TrainConfig(seed=seed, lr=rate),
                                   progress=progress, desc=model.config.name)
        cpu = (time.process_time() - start) / len(history)
        gen = torch.Generator(device=x_test.device).manual_seed(seed)
        test = evaluate(model.vae, x_test, k=0, n_elbo_samples=test_samples, generator=gen)
        runs[name] = EstimatorRun(model, history, test, cpu)
    return runs
