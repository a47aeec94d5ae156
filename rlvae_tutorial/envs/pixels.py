"""The gridworld seen only through its pixels, with optional noise and distractors.

:class:`PixelGridWorldEnv` is the book's :class:`~rlvae_tutorial.envs.gridworld.GridWorldEnv`
(same layout, rewards and moves) whose observation is its rendered image, ``uint8`` of shape
``(height * cell_px, width * cell_px, 3)``.  Two things make the picture harder to read than the
state it shows, so that *how* an agent represents its input matters:

- ``noise``: every pixel of every frame gets independent Gaussian noise of this standard
  deviation (in units of the full intensity range; 0.2 means about 51 grey levels), then is
  clipped to ``[0, 255]``;
- ``distractors``: that many squares of random colours, each on a random free cell other than
  the agent's, redrawn every step.  They carry no information about reward or dynamics.

Both are drawn from the env's ``np_random``, so ``reset(seed=...)`` makes an episode's frames
reproducible.  ``info["state"]`` still gives the true cell index (the upper-bound agent of the
latents chapter reads the state through :class:`~rlvae_tutorial.envs.gridworld.GridWorldEnv`
itself, never through this).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rlvae_tutorial.envs.gridworld import LAYOUT, GridWorldEnv


class PixelGridWorldEnv(GridWorldEnv):
    """The gridworld observed as a noisy RGB image; registered as ``rlvae_tutorial/PixelGridWorld-v0``."""

    def __init__(
        self,
        layout: tuple[str, ...] | list[str] = LAYOUT,
        noise: float = 0.0,
        distractors: int = 0,
        slip: float = 0.0,
        random_start: bool = False,
        cell_px: int = 2,
        render_mode: str | None = None,
    ) -> None:
        if not (np.isfinite(noise) and noise >= 0.0):
            raise ValueError(f"noise is a standard deviation (a fraction of 255), >= 0; got {noise}")
        if int(distractors) != distractors or distractors < 0:
            raise ValueError(f"distractors must be a whole number >= 0, got {distractors}")
        super().__init__(layout, obs_mode="pixels", slip=slip, random_start=random_start,
                         cell_px=cell_px, render_mode=render_mode)
        if distractors > int(self.free.sum()) - 1:
            raise ValueError(
                f"distractors={distractors} do not fit: the layout has {int(self.free.sum())} free "
                "cells and the agent needs one; use fewer distractors or a larger layout"
            )
        self.noise, self.distractors = float(noise), int(distractors)
        self._free_cells = np.flatnonzero(self.free)

    def _observe(self) -> Any:
        image = self.draw(self.state)
        if self.distractors:
            others = self._free_cells[self._free_cells != self.state]
            cells = others[self.np_random.permutation(len(others))[: self.distractors]]
            colours = self.np_random.integers(0, 256, size=(self.distractors, 3), dtype=np.uint8)
            p = self.cell_px
            for cell, colour in zip(cells, colours, strict=True):
                row, col = divmod(int(cell), self.width)
                image[row * p : (row + 1) * p, col * p : (col + 1) * p] = colour
        if self.noise > 0.0:
            noisy = self.np_random.standard_normal(image.shape, dtype=np.float32)
            noisy *= 255.0 * self.noise
            noisy += image
            image = np.clip(noisy, 0.0, 255.0, out=noisy).round().astype(np.uint8)
        return image
