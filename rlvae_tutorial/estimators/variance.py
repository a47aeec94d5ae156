"""A gradient-variance probe: draw an estimator's gradient many times at fixed parameters.

``gradient_statistics(draw, n)`` streams ``n`` draws of a flattened gradient ``(P,)`` (in chunks
of ``(n_chunk, P)``, so thousands of draws of a 100k-parameter gradient fit in memory) and keeps
their mean, the trace of their covariance (the sum of per-coordinate variances: "the variance" of
a vector estimator), and their projections on a few fixed directions.  ``compare_gradients(a, b)``
asks whether two estimators have the same expectation, with tolerances set by the draws' own
standard errors rather than by a fixed number.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor
from tqdm.auto import tqdm


@dataclass(frozen=True)
class GradientStats:
    """Summary of ``n_draws`` draws g_i ``(P,)`` of one gradient estimator.

    mean ``(P,)`` (float64); trace_variance = sum_p Var[g_p] per draw (unbiased, n - 1);
    proj_mean / proj_var ``(J,)``: mean and variance of <g_i, u_j> for the probe's directions u_j.
    ``per_sample(k)`` gives the variance times the k samples a draw used (cost-adjusted).
    """

    mean: Tensor
    trace_variance: float
    n_draws: int
    proj_mean: Tensor
    proj_var: Tensor

    @property
    def variance_of_mean(self) -> float:
        """Trace variance of the mean of the draws: trace_variance / n_draws."""
        return self.trace_variance / self.n_draws

    def per_sample(self, samples_per_draw: int) -> float:
        """trace_variance * samples_per_draw: the variance at the cost of one sample."""
        return self.trace_variance * samples_per_draw


def gradient_statistics(
    draw: Callable[[int], Tensor],
    n_draws: int,
    *,
    chunk: int = 100,
    directions: Tensor | None = None,
    progress: bool = False,
    desc: str = "gradient draws",
) -> GradientStats:
    """Call ``draw(m)`` (which returns ``(m, P)``: m independent gradient draws) until ``n_draws``.

    directions: ``(J, P)`` fixed vectors on which each draw is projected (for z-tests of bias along
    them), or ``None``.  Sums are kept in float64.  Needs ``n_draws >= 2``.
    """
    if n_draws < 2:
        raise ValueError(f"n_draws must be >= 2 to estimate a variance, got {n_draws}")
    if chunk < 1:
        raise ValueError(f"chunk must be >= 1, got {chunk}")
    total: Tensor | None = None
    total_sq: Tensor | None = None
    projections: list[Tensor] = []
    done = 0
    bar = tqdm(total=n_draws, desc=desc, disable=not progress, leave=False)
    while done < n_draws:
        m = min(chunk, n_draws - done)
        g = draw(m).detach().double()  # (m, P)
        if g.dim() != 2 or g.shape[0] != m:
            raise ValueError(f"draw({m}) must return an (m, P) = ({m}, P) tensor, got shape {tuple(g.shape)}")
        if not torch.isfinite(g).all():
            raise FloatingPointError("a gradient draw contains NaN or inf values")
        total = g.sum(0) if total is None else total + g.sum(0)
        total_sq = g.pow(2).sum(0) if total_sq is None else total_sq + g.pow(2).sum(0)
        if directions is not None:
            projections.append(g @ directions.to(g).T)  # (m, J)
        done += m
        bar.update(m)
    bar.close()
    assert total is not None and total_sq is not None
    mean = total / n_draws
    trace_var = float(((total_sq - n_draws * mean.pow(2)).sum() / (n_draws - 1)).clamp(min=0.0))
    if projections:
        proj = torch.cat(projections)  # (n, J)
        proj_mean, proj_var = proj.mean(0), proj.var(0)
    else:
        proj_mean = proj_var = torch.zeros(0, dtype=torch.float64)
    return GradientStats(mean=mean, trace_variance=trace_var, n_draws=n_draws, proj_mean=proj_mean, proj_var=proj_var)


@dataclass(frozen=True)
class GradientComparison:
    """How far the mean of estimator a is from that of b (the reference), in their own noise.

    - ``sq_error`` = ||mean_a - mean_b||^2 and ``expected_sq_error`` = Var[mean_a] + Var[mean_b]
      (traces): if both are unbiased for the same gradient, E[sq_error] = expected_sq_error, so
      ``error_ratio`` = sq_error / expected_sq_error is about 1; a bias makes it larger.
    - ``z_scores`` ``(J,)``: (proj_mean_a - proj_mean_b) / its standard error, per direction;
      about N(0, 1) when unbiased (so |z| < 4 almost always), large when biased along u_j.
    - ``cosine`` between the two means, and ``relative_error`` = ||mean_a - mean_b|| / ||mean_b||.
    """

    sq_error: float
    expected_sq_error: float
    error_ratio: float
    z_scores: Tensor
    cosine: float
    relative_error: float


def compare_gradients(a: GradientStats, b: GradientStats) -> GradientComparison:
    """Compare the means of two probes' draws (b as the reference).  Both must share directions."""
    if a.mean.shape != b.mean.shape:
        raise ValueError(f"the two gradients differ in size: {tuple(a.mean.shape)} vs {tuple(b.mean.shape)}")
    if a.proj_mean.shape != b.proj_mean.shape:
        raise ValueError("probe both estimators with the same directions= to compare their projections")
    diff = a.mean - b.mean
    sq_error = float(diff.pow(2).sum())
    expected = a.variance_of_mean + b.variance_of_mean
    se = (a.proj_var / a.n_draws + b.proj_var / b.n_draws).sqrt()
    z = (a.proj_mean - b.proj_mean) / se.clamp(min=1e-300)
    norm_b = float(b.mean.norm())
    cosine = float(torch.nn.functional.cosine_similarity(a.mean, b.mean, dim=0))
    return GradientComparison(
        sq_error=sq_error,
        expected_sq_error=expected,
        error_ratio=sq_error / expected if expected > 0 else math.inf,
        z_scores=z,
        cosine=cosine,
        relative_error=math.sqrt(sq_error) / norm_b if norm_b > 0 else math.inf,
    )
