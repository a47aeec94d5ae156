"""rlvae_tutorial: the helper package of the book *Reinforcement learning meets VAEs*.

The algorithms live here once, as small tested functions; the book's notebooks explain, call,
plot and assert.  Nothing runs at import time.
"""

from rlvae_tutorial.device import configure_cpu_threads, get_device, seed_everything
from rlvae_tutorial.notebook import Setup, resolve_quick, setup

__all__ = [
    "Setup",
    "configure_cpu_threads",
    "get_device",
    "resolve_quick",
    "seed_everything",
    "setup",
]
__version__ = "0.1.0"
