"""The VAE chapters as built: figures present, and numbers in the text rendered from the run."""

from __future__ import annotations

import os
import re

import pytest

from tests.notebook_utils import ROOT

BUILT = os.environ.get("RLVAE_BUILT_HTML")
pytestmark = pytest.mark.skipif(not BUILT, reason="set RLVAE_BUILT_HTML to a built book (make test does)")


def _page(name: str) -> str:
    path = ROOT / BUILT / "book" / f"{name}.html"  # type: ignore[operator]
    assert path.exists(), f"{path} missing; run make build-quick"
    return path.read_text()


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", html))


@pytest.mark.parametrize(
    ("name", "figures"),
    [
        ("vae_elbo", ["fig-grad-estimators", "fig-learning-curves", "fig-overfit-small", "fig-recon-samples",
                      "fig-ae-samples", "fig-latent-map", "fig-traversals"]),
        ("vae_beta", ["fig-rate-distortion", "fig-kl-per-dim", "fig-collapse-recon"]),
    ],
)
def test_vae_pages_show_their_figures(name: str, figures: list[str]) -> None:
    page = _page(name)
    for fig in figures:
        assert f'id="{fig}"' in page, f"{name}: figure {fig} missing"
    assert len(re.findall(r'<img[^>]+src="[^"]*_images/[^"]+\.png"', page)) >= len(figures)


def test_test_log_likelihoods_are_rendered_from_the_run() -> None:
    text = _text(_page("vae_elbo"))
    m = re.search(r"test ELBO of (-\d+\.\d\d) nats per image and an IWAE bound of (-\d+\.\d\d) nats per image", text)
    assert m, "the glued test ELBO / IWAE numbers are missing from the text"
    assert float(m.group(1)) < float(m.group(2)) < 0
    text = _text(_page("vae_beta"))
    assert re.search(r"at most \d\.\de[-+]\d\d nats; with free bits, every dimension keeps at least \d\.\d\d nats", text)
