"""``seed_everything`` seeds every generator the package and the book draw from.

Those are Python's ``random``, NumPy's legacy global state (``np.random.*``; e.g. older
scikit-learn code), torch's global generator, and the ``torch.Generator`` it returns.  The
package holds no generator of its own at module level (checked below): every other generator is
made from an explicit ``seed``/``generator`` argument.
"""

from __future__ import annotations

import importlib
import pkgutil
import random

import numpy as np
import pytest
import torch

import rlvae_tutorial
from rlvae_tutorial import seed_everything


def _draws(generator: torch.Generator) -> dict[str, list[float]]:
    return {
        "random": [random.random() for _ in range(3)],
        "numpy": np.random.rand(3).tolist(),  # noqa: NPY002 - the legacy global state is the point
        "torch": torch.rand(3).tolist(),
        "generator": torch.rand(3, generator=generator).tolist(),
    }


def _scramble() -> None:
    """Move every global generator away from any seeded state."""
    random.seed(987)
    np.random.seed(987)  # noqa: NPY002
    torch.manual_seed(987)


@pytest.mark.parametrize("seed", [0, 7])
def test_seed_everything_seeds_every_generator(seed: int) -> None:
    _scramble()
    first = _draws(seed_everything(seed))
    _scramble()
    again = _draws(seed_everything(seed))
    _scramble()
    other = _draws(seed_everything(seed + 1))
    for name in first:
        assert first[name] == again[name], f"seed_everything({seed}) does not seed {name}"
        assert first[name] != other[name], f"{name} ignores the seed passed to seed_everything"


def test_the_package_holds_no_module_level_generator() -> None:
    """A module-level generator would be a source of randomness seed_everything cannot reach."""
    kinds = (random.Random, np.random.Generator, np.random.RandomState, torch.Generator)
    found = []
    for info in pkgutil.walk_packages(rlvae_tutorial.__path__, "rlvae_tutorial."):
        module = importlib.import_module(info.name)
        found += [f"{info.name}.{k}" for k, v in vars(module).items() if isinstance(v, kinds)]
    assert not found, f"module-level generators: {found}; take a seed or generator argument instead"


def test_seed_everything_accepts_exactly_the_32_bit_range_with_whole_messages() -> None:
    seed_everything(2**32 - 1)
    with pytest.raises(ValueError, match=r"^seed must be in \[0, 2\*\*32\), got 4294967296$"):
        seed_everything(2**32)
    with pytest.raises(TypeError, match=r"^seed must be a non-negative integer, got '3' \(str\)$"):
        seed_everything("3")  # type: ignore[arg-type]
