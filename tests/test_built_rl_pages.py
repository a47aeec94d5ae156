"""The RL chapters' figures make it into the built pages (`make test` builds the book first)."""

from __future__ import annotations

import os
import re

import pytest

from tests.notebook_utils import ROOT

BUILT = os.environ.get("RLVAE_BUILT_HTML")
pytestmark = pytest.mark.skipif(not BUILT, reason="set RLVAE_BUILT_HTML to a built book (make test does)")

FIGURES = {
    "rl_mdps": ["fig-gridworld", "fig-value-iteration", "fig-q-error"],
    "rl_policy_gradients": ["fig-gradient-variance", "fig-bandit-training", "fig-cartpole-baselines"],
    "rl_actor_critic": ["fig-gae-tradeoff", "fig-a2c-cartpole"],
}


@pytest.mark.parametrize("page", sorted(FIGURES))
def test_rl_pages_show_their_figures(page: str) -> None:
    html = (ROOT / BUILT / "book" / f"{page}.html").read_text()
    images = re.findall(r'<img[^>]+src="[^"]*_images/[^"]+\.png"', html)
    assert len(images) >= len(FIGURES[page]), f"{page}: {len(images)} images, expected {len(FIGURES[page])}"
    for name in FIGURES[page]:
        assert f'id="{name}"' in html, f"{page}: figure {name} missing"
