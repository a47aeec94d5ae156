"""Many draws of the encoder's gradient at fixed parameters, vectorised over the draws.

The encoder maps a batch x ``(B, x_dim)`` to the parameters h ``(B, H)`` of q(z|x) (mu and
log-variance, or logits).  Every estimator's gradient factors as J^T g, where J = dh/dphi is the
same for all draws and g = d objective / dh is what the draws change.  So M draws cost one
batched decoder pass over ``(K, M, B, D)`` latents for the g's, and one vectorised
vector-Jacobian product (``is_grads_batched``) for the M parameter gradients, instead of M full
backward passes.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn
from torch.distributions import Bernoulli, Distribution, Independent, Normal

from rlvae_tutorial.estimators.variance import GradientStats, gradient_statistics
from rlvae_tutorial.rlvae.config import PolicyGradientConfig
from rlvae_tutorial.rlvae.models import BernoulliEncoder, PolicyVAE
from rlvae_tutorial.rlvae.objective import estimator_terms
from rlvae_tutorial.vae.models import Encoder

# objective(qz, generator) -> (M, B): per-draw, per-input objective whose gradient is the estimator.
Objective = Callable[[Distribution, torch.Generator | None], Tensor]


def encoder_head(encoder: nn.Module, x: Tensor) -> tuple[Tensor, Callable[[Tensor], Distribution]]:
    """The encoder's output h ``(B, H)`` (with its graph) and the map h -> q(z|x)."""
    if isinstance(encoder, Encoder):
        mu, logvar = encoder.params(x)

        def gaussian(h: Tensor) -> Distribution:
            m, lv = h.chunk(2, dim=-1)
            return Independent(Normal(m, torch.exp(0.5 * lv), validate_args=False), 1)

        return torch.cat([mu, logvar], dim=-1), gaussian
    if isinstance(encoder, BernoulliEncoder):
        return encoder.logits(x), lambda h: Independent(Bernoulli(logits=h, validate_args=False), 1)
    raise TypeError(f"the probe knows Encoder and BernoulliEncoder, got {type(encoder).__name__}")


def gradient_draws(
    encoder: nn.Module, x: Tensor, objective: Objective, *, generator: torch.Generator | None = None
) -> Callable[[int], Tensor]:
    """A ``draw(M) -> (M, P)`` function: M independent draws of d mean_b objective / d phi.

    ``objective(qz, generator)`` receives a q(z|x) with batch shape ``(M, B)`` (M copies of the
    batch's q, one per draw) and returns the per-draw, per-input objective ``(M, B)``.
    P is the number of encoder parameters, flattened in ``encoder.parameters()`` order.
    """
    params = [p for p in encoder.parameters() if p.requires_grad]
    h, to_dist = encoder_head(encoder, x)  # (B, H)

    def draw(m: int) -> Tensor:
        copies = h.detach().expand(m, *h.shape).clone().requires_grad_(True)  # (M, B, H)
        value = objective(to_dist(copies), generator)  # (M, B)
        if value.shape != copies.shape[:-1]:
            raise ValueError(f"objective must return (M, B) = {tuple(copies.shape[:-1])}, got {tuple(value.shape)}")
        (g_h,) = torch.autograd.grad(value.mean(-1).sum(), copies)  # (M, B, H): one g per draw
        grads = torch.autograd.grad(h, params, grad_outputs=g_h, is_grads_batched=True, retain_graph=True)
        return torch.cat([g.reshape(m, -1) for g in grads], dim=1)  # (M, P)

    return draw


def estimator_objective(
    model: PolicyVAE, config: PolicyGradientConfig, x: Tensor, *, baseline: Tensor | None = None
) -> Objective:
    """The objective of ``config``'s estimator for :func:`gradient_draws`, at ``model``'s weights.

    ``baseline``: the EMA value or b(x) ``(B,)`` to use (by default the model's own, if it has
    one).  The decoder's parameters are not differentiated.
    """
    vae = model.vae
    if baseline is None and config.baseline in ("ema", "learned"):
        if model.baseline is None:
            raise ValueError(f"baseline={config.baseline!r}: pass baseline= or use a model that has one")
        with torch.no_grad():
            baseline = model.baseline() if config.baseline == "ema" else model.baseline(x)

    def objective(qz: Distribution, generator: torch.Generator | None) -> Tensor:
        terms = estimator_terms(config, qz, vae.prior(), vae.decoder, x, baseline=baseline, generator=generator)
        return terms.surrogate

    return objective


def probe_directions(
    model: PolicyVAE,
    x: Tensor,
    reference: PolicyGradientConfig,
    *,
    n_pilot: int = 100,
    generator: torch.Generator | None = None,
) -> Tensor:
    """Two unit directions ``(2, P)`` for z-tests of bias: the reference gradient's, and a random one.

    The reference direction comes from a pilot of ``n_pilot`` draws of ``reference``'s estimator,
    independent of the draws that are tested along it.
    """
    draw = gradient_draws(model.vae.encoder, x, estimator_objective(model, reference, x), generator=generator)
    pilot = gradient_statistics(draw, n_pilot, chunk=50).mean.float()
    gen_device = generator.device if generator is not None else pilot.device
    noise = torch.randn(pilot.shape[0], generator=generator, device=gen_device).to(pilot)
    return torch.stack([pilot / pilot.norm(), noise / noise.norm()])


def probe(
    model: PolicyVAE,
    x: Tensor,
    objective: Objective,
    n_draws: int,
    *,
    directions: Tensor | None = None,
    generator: torch.Generator | None = None,
    chunk: int = 50,
    progress: bool = True,
    desc: str = "gradient draws",
) -> GradientStats:
    """``n_draws`` draws of the encoder gradient of ``objective`` on x, summarised (see ``gradient_statistics``)."""
    draw = gradient_draws(model.vae.encoder, x, objective, generator=generator)
    return gradient_statistics(draw, n_draws, chunk=chunk, directions=directions, progress=progress, desc=desc)


def probe_estimators(
    model: PolicyVAE,
    x: Tensor,
    configs: dict[str, PolicyGradientConfig],
    *,
    n_draws: int,
    reference: PolicyGradientConfig,
    n_reference: int,
    baselines: dict[str, Tensor] | None = None,
    generator: torch.Generator | None = None,
    chunk: int = 50,
    progress: bool = True,
) -> tuple[dict[str, GradientStats], GradientStats]:
    """Probe several estimators' encoder gradients on one batch x at ``model``'s fixed weights.

    The ``reference`` estimator (e.g. reparam) is drawn ``n_reference`` times, every other config
    ``n_draws`` times, all projected on the same :func:`probe_directions`.  ``baselines[name]``
    gives the EMA value or b(x) ``(B,)`` of that config.  Returns ``({name: stats}, reference_stats)``.
    """
    generator = generator or torch.Generator().manual_seed(0)
    baselines = baselines or {}
    directions = probe_directions(model, x, reference, generator=generator)

    def run(config: PolicyGradientConfig, n: int, baseline: Tensor | None, desc: str) -> GradientStats:
        objective = estimator_objective(model, config, x, baseline=baseline)
        return probe(model, x, objective, n, directions=directions, generator=generator, chunk=chunk,
                     progress=progress, desc=desc)

    ref = run(reference, n_reference, None, "reference")
    stats = {name: run(cfg, n_draws, baselines.get(name), name) for name, cfg in configs.items()}
    return stats, ref
