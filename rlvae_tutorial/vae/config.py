"""The VAE's hyperparameters: one frozen dataclass whose defaults are the book's model."""

from __future__ import annotations

from dataclasses import dataclass

LIKELIHOODS = ("bernoulli", "gaussian")
ACTIVATIONS = ("relu", "tanh", "elu")


@dataclass(frozen=True)
class VAEConfig:
    """An MLP VAE ``x_dim -> hidden -> z_dim -> reversed(hidden) -> x_dim``.

    The defaults are the book's digits model: 64 pixels, two hidden layers of 256 units, an
    8-dimensional Gaussian latent and a Bernoulli likelihood (for binarised pixels).

    - ``likelihood``: ``"bernoulli"`` (the decoder outputs logits; data in {0, 1}, or [0, 1]) or
      ``"gaussian"`` (the decoder outputs a mean; the standard deviation is ``gaussian_std``, or
      learned per pixel when ``gaussian_std`` is ``None``).
    - ``min_logvar`` / ``max_logvar``: the encoder's log-variance is clamped to this range, which
      keeps ``exp(logvar)`` finite when a learning rate is too high.
    """

    x_dim: int = 64
    hidden: tuple[int, ...] = (256, 256)
    z_dim: int = 8
    likelihood: str = "bernoulli"
    activation: str = "relu"
    gaussian_std: float | None = None
    min_logvar: float = -12.0
    max_logvar: float = 8.0

    def __post_init__(self) -> None:
        if self.x_dim < 1 or self.z_dim < 1:
            raise ValueError(f"x_dim and z_dim must be >= 1, got x_dim={self.x_dim}, z_dim={self.z_dim}")
        if not isinstance(self.hidden, tuple) or any(int(h) < 1 for h in self.hidden):
            raise ValueError(
                f"hidden must be a tuple of positive layer widths such as (256, 256), got {self.hidden!r}"
            )
        if self.likelihood not in LIKELIHOODS:
            raise ValueError(f"unknown likelihood {self.likelihood!r}; allowed: {', '.join(LIKELIHOODS)}")
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation {self.activation!r}; allowed: {', '.join(ACTIVATIONS)}")
        if self.gaussian_std is not None and self.gaussian_std <= 0:
            raise ValueError(f"gaussian_std must be > 0 (or None to learn it), got {self.gaussian_std}")
        if self.min_logvar >= self.max_logvar:
            raise ValueError(f"min_logvar ({self.min_logvar}) must be < max_logvar ({self.max_logvar})")
