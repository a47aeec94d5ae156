"""The one multilayer-perceptron builder of the package (policies, critics, VAEs, baselines)."""

from __future__ import annotations

from collections.abc import Sequence

from torch import nn

ACTIVATIONS: dict[str, type[nn.Module]] = {"relu": nn.ReLU, "tanh": nn.Tanh, "elu": nn.ELU}


def mlp(sizes: Sequence[int], activation: str | type[nn.Module] = "relu",
        out_gain: float | None = None) -> nn.Sequential:
    """Linear layers ``sizes[0] -> ... -> sizes[-1]`` with ``activation`` between them (none at the end).

    ``activation``: ``"relu"``, ``"tanh"``, ``"elu"`` or an ``nn.Module`` class.  ``out_gain=None``
    keeps PyTorch's default initialisation (the VAEs); a number gives orthogonal weights (gain
    sqrt(2) inside, ``out_gain`` on the last layer) and zero biases, as in CleanRL: a small
    ``out_gain`` (0.01) makes a fresh policy nearly uniform.
    """
    if len(sizes) < 2 or any(int(s) < 1 for s in sizes):
        raise ValueError(f"sizes must list at least an input and an output size, all >= 1, got {sizes}")
    if isinstance(activation, str):
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)} or an nn.Module class, got {activation!r}")
        activation = ACTIVATIONS[activation]
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        layer = nn.Linear(int(n_in), int(n_out))
        last = i == len(sizes) - 2
        if out_gain is not None:
            nn.init.orthogonal_(layer.weight, gain=out_gain if last else 2**0.5)
            nn.init.zeros_(layer.bias)
        layers.append(layer)
        if not last:
            layers.append(activation())
    return nn.Sequential(*layers)
