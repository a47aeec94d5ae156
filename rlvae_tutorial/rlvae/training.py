"""Training and evaluating an encoder-as-policy VAE with the book's one loop, at equal compute.

Comparing estimators "at equal wall time" on a machine shared with other jobs measures the load as
much as the estimators.  Instead the book gives every estimator the same number of floating-point
operations, counted by PyTorch's ``FlopCounterMode`` on one training step (matrix products, which
are nearly all of an MLP's work): a budget that does not depend on the machine or its load.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import torch
from torch import Tensor
from torch.utils.flop_counter import FlopCounterMode

from rlvae_tutorial.rlvae.models import PolicyVAE
from rlvae_tutorial.rlvae.objective import draw_latent, latent_kl, policy_gradient_loss
from rlvae_tutorial.train import History, TrainConfig, train
from rlvae_tutorial.vae.models import VAE


@torch.no_grad()
def exact_kl_elbo(
    vae: VAE, x: Tensor, *, n_samples: int = 100, generator: torch.Generator | None = None
) -> dict[str, float]:
    """ELBO = E_q[log p(x|z)] - KL(q || p) in nats per image, Gaussian or binary latents.

    The expectation averages ``n_samples`` draws of z per image (hard {0, 1} codes for binary
    latents: the discrete model's own ELBO, never a relaxed one); the KL is in closed form.
    Returns means over the rows of x: ``elbo``, ``recon``, ``kl``.  Eval mode, restored after.
    """
    was_training = vae.training
    vae.eval()
    try:
        qz = vae.encoder(x)
        z = draw_latent(qz, n_samples, generator=generator)  # (S, B, D)
        recon = vae.decoder(z).log_prob(x).mean(0)  # (B,)
        kl = latent_kl(qz, vae.prior())  # (B,)
    finally:
        vae.train(was_training)
    r, k = float(recon.mean()), float(kl.mean())
    return {"elbo": r - k, "recon": r, "kl": k}


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


def epoch_flops(model: PolicyVAE, x: Tensor, batch_size: int) -> int:
    """FLOPs of one epoch over x: ``step_flops`` of a full batch times the number of steps."""
    steps = math.ceil(x.shape[0] / batch_size)
    return step_flops(model, x[:batch_size]) * steps


def train_policy_vae(
    model: PolicyVAE,
    x_train: Tensor,
    x_val: Tensor,
    *,
    epochs: int | None = None,
    flops: float | None = None,
    config: TrainConfig | None = None,
    val_samples: int = 10,
    progress: bool = True,
    desc: str | None = None,
) -> History:
    """Train with :func:`rlvae_tutorial.train.train` and keep the best validation ELBO.

    ``config`` (default ``TrainConfig()``) sets batch size, learning rate and seed.
    Give either ``epochs`` or a compute budget ``flops`` (epochs = floor(flops / epoch_flops),
    at least 1).  The monitored ``val_elbo`` is :func:`exact_kl_elbo` on ``x_val`` with the same
    ``val_samples`` draws every epoch (a fixed generator), so epochs are compared on equal noise.
    History records also get ``flops`` (cumulative compute at the end of each epoch).
    """
    config = config or TrainConfig()
    if (epochs is None) == (flops is None):
        raise ValueError("give exactly one of epochs= or flops=")
    per_epoch = epoch_flops(model, x_train, config.batch_size)
    if flops is not None:
        epochs = max(1, int(flops // per_epoch))
    assert epochs is not None
    seed = config.seed if config.seed is not None else 0

    def val_fn(m: torch.nn.Module) -> dict[str, float]:
        gen = torch.Generator(device=x_val.device).manual_seed(seed + 12345)
        return {"val_elbo": exact_kl_elbo(m.vae, x_val, n_samples=val_samples, generator=gen)["elbo"]}

    cfg = replace(config, epochs=epochs, monitor="val_elbo", mode="max")
    history = train(
        model, policy_gradient_loss, x_train, config=cfg, val_fn=val_fn, progress=progress,
        desc=desc or model.config.name,
    )
    for record in history.records:
        record["flops"] = record["epoch"] * per_epoch
    return history
