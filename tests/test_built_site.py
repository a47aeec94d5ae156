"""Checks of the built HTML (`make test` builds the book first and points RLVAE_BUILT_HTML at it)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tests.notebook_utils import ROOT, toc_files

BUILT = os.environ.get("RLVAE_BUILT_HTML")
pytestmark = pytest.mark.skipif(not BUILT, reason="set RLVAE_BUILT_HTML to a built book (make test does)")

# A script, stylesheet, image, font or frame fetched from the network (links to pages are fine).
EXTERNAL_ASSET = re.compile(
    r"""<(?:script|img|iframe|source|audio|video)\b[^>]*\bsrc\s*=\s*["']?(?:https?:)?//"""
    r"""|<link\b(?=[^>]*\brel\s*=\s*["']?(?:stylesheet|preload|modulepreload|icon|preconnect))[^>]*\bhref\s*=\s*["']?(?:https?:)?//"""
    r"""|@import\s+(?:url\()?["']?(?:https?:)?//""",
    re.I,
)


def _html() -> Path:
    path = ROOT / BUILT if BUILT else ROOT
    assert (path / "index.html").exists(), f"no built book at {path}; run make build-quick"
    return path


def test_every_toc_page_is_built() -> None:
    html = _html()
    for f in toc_files():
        assert (html / f"{f}.html").exists(), f"{f}.html missing from the build"


def test_no_page_loads_a_network_asset() -> None:
    offenders = []
    for page in _html().rglob("*.html"):
        for m in EXTERNAL_ASSET.finditer(page.read_text(errors="replace")):
            offenders.append(f"{page.relative_to(_html())}: {m.group(0)[:120]}")
    assert not offenders, "pages load assets from the network:\n" + "\n".join(offenders[:20])


def test_getting_started_shows_its_figure() -> None:
    page = (_html() / "book" / "getting_started.html").read_text()
    assert re.search(r'<img[^>]+src="[^"]*_images/[^"]+\.png"', page), "the digits figure is missing"
    assert "fig-digits" in page
