"""Small gymnasium environments written for the book.

Importing this package registers them with gymnasium, so that
``gymnasium.make("rlvae_tutorial/GridWorld-v0")`` and ``gymnasium.make_vec(...)`` work.
"""

from __future__ import annotations

import gymnasium

from rlvae_tutorial.envs.gridworld import ACTIONS, LAYOUT, GridWorldEnv

GRIDWORLD_ID = "rlvae_tutorial/GridWorld-v0"
GRIDWORLD_MAX_STEPS = 50

if GRIDWORLD_ID not in gymnasium.registry:
    gymnasium.register(
        id=GRIDWORLD_ID,
        entry_point="rlvae_tutorial.envs.gridworld:GridWorldEnv",
        max_episode_steps=GRIDWORLD_MAX_STEPS,
    )

__all__ = ["ACTIONS", "GRIDWORLD_ID", "GRIDWORLD_MAX_STEPS", "LAYOUT", "GridWorldEnv"]
