"""A small gridworld written for the book (gymnasium 1.x API).

The agent walks on a grid of free cells ``.``, walls ``#``, a goal ``G`` (+1, episode ends) and
a pit ``X`` (-1, episode ends), starting at ``S`` (or at a random free cell).  Actions are
0 up, 1 right, 2 down, 3 left; walking into a wall or the edge leaves the agent where it is.
With probability ``slip`` the action is replaced by a uniformly random one, which makes the
transitions stochastic.  Every other step gives reward 0.

The environment exposes its exact model (:meth:`GridWorldEnv.transition_model`), so value
iteration can solve it and Q-learning can be compared with the solution; and it draws itself as
a small RGB image (``cell_px`` pixels a cell, same state -> same pixels), so later chapters can
learn from pixels.  ``obs_mode`` picks what the agent observes:

- ``"index"``: the cell index ``row * width + col`` (``Discrete(height * width)``);
- ``"onehot"``: that index one-hot, ``float32`` of length ``height * width``;
- ``"coords"``: ``(row, col)`` scaled to ``[0, 1]``, ``float32``;
- ``"pixels"``: the rendered image, ``uint8`` of shape ``(height * cell_px, width * cell_px, 3)``.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

LAYOUT = (
    "S...#",
    ".#...",
    ".....",
    ".....",
    "#.X.G",
)
ACTIONS = ("up", "right", "down", "left")
MOVES = np.array([(-1, 0), (0, 1), (1, 0), (0, -1)])
OBS_MODES = ("index", "onehot", "coords", "pixels")
COLOURS = {  # RGB, fixed: the same state always gives the same pixels
    ".": (255, 255, 255),
    "S": (255, 255, 255),
    "#": (64, 64, 64),
    "G": (46, 160, 67),
    "X": (207, 34, 46),
    "agent": (31, 111, 235),
}
REWARDS = {"G": 1.0, "X": -1.0}


class GridWorldEnv(gym.Env):
    """The book's gridworld; see the module docstring.  Registered as ``rlvae_tutorial/GridWorld-v0``."""

    metadata = {"render_modes": ["rgb_array"], "render_fps": 4}

    def __init__(
        self,
        layout: tuple[str, ...] | list[str] = LAYOUT,
        obs_mode: str = "index",
        slip: float = 0.0,
        random_start: bool = False,
        cell_px: int = 4,
        render_mode: str | None = None,
    ) -> None:
        self.grid = np.array([list(row) for row in layout])
        if self.grid.ndim != 2 or len({len(row) for row in layout}) != 1:
            raise ValueError("layout must be a list of strings of equal length (one per grid row)")
        unknown = set(self.grid.ravel()) - set(COLOURS)
        if unknown:
            raise ValueError(f"layout has unknown cells {sorted(unknown)}; use . # S G X")
        if (self.grid == "S").sum() != 1 or (self.grid == "G").sum() < 1:
            raise ValueError("layout needs exactly one start 'S' and at least one goal 'G'")
        if obs_mode not in OBS_MODES:
            raise ValueError(f"obs_mode must be one of {OBS_MODES}, got {obs_mode!r}")
        if not 0.0 <= slip <= 1.0:
            raise ValueError(f"slip is a probability in [0, 1], got {slip}")
        if cell_px < 1:
            raise ValueError(f"cell_px must be >= 1, got {cell_px}")
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be None or 'rgb_array', got {render_mode!r}")
        self.height, self.width = self.grid.shape
        self.n_states = self.height * self.width
        self.obs_mode, self.slip, self.random_start = obs_mode, float(slip), bool(random_start)
        self.cell_px, self.render_mode = int(cell_px), render_mode
        self.start = int(np.flatnonzero(self.grid.ravel() == "S")[0])
        flat = self.grid.ravel()
        self.terminal = np.isin(flat, list(REWARDS))  # (n_states,)
        self.wall = flat == "#"
        self.free = ~self.wall & ~self.terminal  # cells the agent can start or stand in
        self.action_space = spaces.Discrete(len(ACTIONS))
        self.observation_space = self._make_observation_space()
        self._background = self._draw_background()
        self._next = np.array([[self.move(s, a) for a in range(len(ACTIONS))] for s in range(self.n_states)])
        self._rewards = [REWARDS.get(cell, 0.0) for cell in flat]
        self.state = self.start

    # -- model ---------------------------------------------------------------------------------
    def _make_observation_space(self) -> spaces.Space:
        if self.obs_mode == "index":
            return spaces.Discrete(self.n_states)
        if self.obs_mode == "onehot":
            return spaces.Box(0.0, 1.0, (self.n_states,), np.float32)
        if self.obs_mode == "coords":
            return spaces.Box(0.0, 1.0, (2,), np.float32)
        shape = (self.height * self.cell_px, self.width * self.cell_px, 3)
        return spaces.Box(0, 255, shape, np.uint8)

    def move(self, state: int, action: int) -> int:
        """The cell reached from ``state`` by ``action`` when it does not slip."""
        row, col = divmod(int(state), self.width)
        r, c = row + MOVES[action][0], col + MOVES[action][1]
        if 0 <= r < self.height and 0 <= c < self.width and self.grid[r, c] != "#":
            return int(r * self.width + c)
        return int(state)

    def transition_model(self) -> tuple[np.ndarray, np.ndarray]:
        """Exact model ``P: (S, A, S)`` with ``P[s, a, s'] = p(s' | s, a)`` and expected reward
        ``R: (S, A)``.  Terminal cells and walls are absorbing with reward 0 (their value is 0);
        ``self.terminal`` and ``self.free`` mark them."""
        n_a = self.action_space.n
        P = np.zeros((self.n_states, n_a, self.n_states))
        rewards = np.array([REWARDS.get(cell, 0.0) for cell in self.grid.ravel()])
        for s in range(self.n_states):
            for a in range(n_a):
                if not self.free[s]:
                    P[s, a, s] = 1.0
                    continue
                P[s, a, self.move(s, a)] += 1.0 - self.slip
                for b in range(n_a):
                    P[s, a, self.move(s, b)] += self.slip / n_a
        R = P @ rewards * self.free[:, None]
        return P, R

    # -- gymnasium API -------------------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):  # noqa: ANN201
        super().reset(seed=seed)
        start = (options or {}).get("start")
        if start is not None:
            start = int(start)
            if not (0 <= start < self.n_states and self.free[start]):
                raise ValueError(f"options['start']={start} is not a free cell index")
            self.state = start
        elif self.random_start:
            self.state = int(self.np_random.choice(np.flatnonzero(self.free)))
        else:
            self.state = self.start
        return self._observe(), {"state": self.state}

    def step(self, action: int):  # noqa: ANN201
        if not (isinstance(action, (int, np.integer)) and 0 <= action < len(ACTIONS)):
            raise ValueError(f"action must be an int in 0..{len(ACTIONS) - 1}, got {action!r}")
        if self.terminal[self.state]:
            raise RuntimeError("the episode has ended: call reset() before step()")
        if self.slip > 0.0 and self.np_random.random() < self.slip:
            action = int(self.np_random.integers(len(ACTIONS)))
        self.state = int(self._next[self.state, action])
        reward = self._rewards[self.state]
        return self._observe(), reward, bool(self.terminal[self.state]), False, {"state": self.state}

    def render(self) -> np.ndarray | None:
        if self.render_mode == "rgb_array":
            return self.draw(self.state)
        return None

    # -- pictures ------------------------------------------------------------------------------
    def _draw_background(self) -> np.ndarray:
        cells = np.array([[COLOURS[c] for c in row] for row in self.grid], dtype=np.uint8)  # (H, W, 3)
        return np.repeat(np.repeat(cells, self.cell_px, axis=0), self.cell_px, axis=1)

    def draw(self, state: int) -> np.ndarray:
        """The image of the agent at cell ``state``: ``(H * cell_px, W * cell_px, 3)`` uint8.
        The agent is a square inset by a quarter cell (the whole cell when ``cell_px < 3``)."""
        image = self._background.copy()
        row, col = divmod(int(state), self.width)
        inset = self.cell_px // 4 if self.cell_px >= 3 else 0
        top, left = row * self.cell_px + inset, col * self.cell_px + inset
        size = self.cell_px - 2 * inset
        image[top : top + size, left : left + size] = COLOURS["agent"]
        return image

    def _observe(self) -> Any:
        if self.obs_mode == "index":
            return self.state
        if self.obs_mode == "onehot":
            out = np.zeros(self.n_states, dtype=np.float32)
            out[self.state] = 1.0
            return out
        if self.obs_mode == "coords":
            row, col = divmod(self.state, self.width)
            return np.array([row / max(self.height - 1, 1), col / max(self.width - 1, 1)], dtype=np.float32)
        return self.draw(self.state)
