"""Sphinx extension: what the built pages need for WCAG 2.1 AA (tests/test_browser.py runs axe-core).

- **Alt text from captions.** myst-nb names a notebook figure's file by its hash and leaves the
  image without ``alt``, so Sphinx writes the hash there and a screen reader reads it out.  Every
  image inside a figure that has no alt of its own gets its caption's text (the book's captions
  say what the figure shows and what to see in it).  A cell can still set its own with metadata
  ``{"mystnb": {"image": {"alt": "..."}}}``.
- **Bibliography roles.** docutils 0.19 (pinned by Jupyter Book 1) writes each reference as
  ``role="doc-biblioentry"`` inside ``role="list"``: a deprecated ARIA role, and a list without
  list items.  They become ``role="listitem"`` (docutils 0.21 made the same change).
- **Display math in its own scroll box** (``_static/rlvae-a11y.css``, added to every page): a
  long equation scrolls inside its container instead of running past the column.

Listed under ``sphinx.local_extensions`` in ``_config.yml`` (as ``sphinxext.a11y``).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from docutils import nodes

STATIC = Path(__file__).parent / "static"
CSS = "rlvae-a11y.css"
BIBLIOENTRY = re.compile(r'(<div class="citation" id="[^"]*") role="doc-biblioentry"')


def caption_alt(figure: nodes.figure) -> str | None:
    """The plain text of a figure's caption (``None`` without one), whitespace collapsed."""
    captions = [c for c in figure.children if isinstance(c, nodes.caption)]
    if not captions:
        return None
    return " ".join(captions[0].astext().split()) or None


def add_alt_text(app: Any, doctree: nodes.document) -> None:
    """``doctree-resolved``: each figure's images without alt get the caption's text (glued
    figures included: they are in place by then)."""
    for figure in doctree.findall(nodes.figure):
        alt = caption_alt(figure)
        if alt is None:
            continue
        for image in figure.findall(nodes.image):
            if not image.get("alt"):
                image["alt"] = alt


def _on_doctree_resolved(app: Any, doctree: nodes.document, docname: str) -> None:
    add_alt_text(app, doctree)


def fix_bibliography_roles(html: str) -> str:
    """``role="doc-biblioentry"`` (deprecated) on a ``role="list"`` child -> ``role="listitem"``."""
    return BIBLIOENTRY.sub(r'\1 role="listitem"', html)


def _on_page_context(app: Any, pagename: str, templatename: str, context: dict, doctree: Any) -> None:
    if "body" in context:
        context["body"] = fix_bibliography_roles(context["body"])


def _add_static(app: Any) -> None:
    app.config.html_static_path.append(str(STATIC))


def setup(app: Any) -> dict[str, Any]:
    app.connect("builder-inited", _add_static)
    app.add_css_file(CSS)
    app.connect("doctree-resolved", _on_doctree_resolved)
    app.connect("html-page-context", _on_page_context)
    return {"version": "0.1", "parallel_read_safe": True, "parallel_write_safe": True}
