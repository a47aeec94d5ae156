"""Single-sample estimators of KL(q || p) from the log density ratio, for z ~ q.

With log_r = log p(z) - log q(z) and r = p(z) / q(z) (Schulman, 2020, "Approximating KL
divergence", the k1 / k2 / k3 of that note; GRPO, Shao et al. 2024, puts k3 in its loss):

- k1 = -log_r = log q(z) - log p(z): unbiased, E_q[k1] = KL(q || p); the term of the book's reward;
- k2 = (log_r)^2 / 2: biased (its mean is KL only to second order, as q -> p), never negative;
- k3 = (r - 1) - log_r: unbiased (E_q[r] = 1), never negative (log x <= x - 1).

Which has the smaller variance depends on how far q is from p: near p, k3 cancels k1's first-order
noise with the mean-zero control variate r - 1; far from p, r has heavy tails (E_q[r^2] is infinite
for Gaussians once q is narrower than p / sqrt(2)) and k3's average is carried by rare draws.
"""

from __future__ import annotations

import torch
from torch import Tensor

from rlvae_tutorial.dtypes import as_float


def kl_estimates(log_ratio: Tensor) -> Tensor:
    """The three estimators k1, k2, k3 of KL(q || p) for draws z ~ q: ``(...) -> (3, ...)``.

    log_ratio: log p(z) - log q(z) of each draw (any shape).  Returns, stacked on a new dim 0,
    k1 = -log_ratio, k2 = log_ratio^2 / 2, k3 = exp(log_ratio) - 1 - log_ratio (Schulman, 2020).
    k3 is computed with ``torch.expm1`` (exact near r = 1).  Averaging over draws estimates the KL.
    """
    if not isinstance(log_ratio, Tensor):
        raise TypeError("log_ratio must be a tensor: log p(z) - log q(z) of draws z ~ q")
    lr = as_float(log_ratio)
    if torch.isnan(lr).any():
        raise ValueError("log_ratio has NaN entries: compute log p(z) - log q(z) of finite draws")
    return torch.stack([-lr, 0.5 * lr**2, torch.expm1(lr) - lr])
