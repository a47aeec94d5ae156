"""Small gymnasium environments written for the book.

Importing this package registers them with gymnasium, so that
``gymnasium.make("rlvae_tutorial/GridWorld-v0")`` and ``gymnasium.make_vec(...)`` work
(and ``"rlvae_tutorial/PixelGridWorld-v0"``, the same world seen only through noisy pixels).
"""

from __future__ import annotations

import gymnasium

from rlvae_tutorial.envs.gridworld import ACTIONS, LAYOUT, GridWorldEnv
from rlvae_tutorial.envs.pixels import PixelGridWorldEnv

GRIDWORLD_ID = "rlvae_tutorial/GridWorld-v0"
GRIDWORLD_MAX_STEPS = 50
PIXEL_GRIDWORLD_ID = "rlvae_tutorial/PixelGridWorld-v0"

if GRIDWORLD_ID not in gymnasium.registry:
    gymnasium.register(
        id=GRIDWORLD_ID,
        entry_point="rlvae_tutorial.envs.gridworld:GridWorldEnv",
        max_episode_steps=GRIDWORLD_MAX_STEPS,
    )
if PIXEL_GRIDWORLD_ID not in gymnasium.registry:
    gymnasium.register(
        id=PIXEL_GRIDWORLD_ID,
        entry_point="rlvae_tutorial.envs.pixels:PixelGridWorldEnv",
        max_episode_steps=GRIDWORLD_MAX_STEPS,
    )

__all__ = ["ACTIONS", "GRIDWORLD_ID", "GRIDWORLD_MAX_STEPS", "LAYOUT", "PIXEL_GRIDWORLD_ID", "GridWorldEnv",
           "PixelGridWorldEnv"]
