"""The PDF edition (``make pdf``, ``scripts/pdf.py``), printed from the built book under test.

``make test`` points ``RLVAE_BUILT_HTML`` at the quick build; the PDF is printed from it into a
temporary folder (the built site is left alone) and checked the way a reader would use it: one
bookmark per chapter in table-of-contents order with the sections below, text that can be
extracted and holds no raw TeX, the math set in MathJax's glyphs (web fonts, which Chromium
embeds as Type 3 fonts with a Unicode map: poppler's pdftotext extracts them, pypdf skips them), every figure of every chapter
embedded, and a page number on every page but the title page.
"""

from __future__ import annotations

import html.parser
import os
import re
import shutil
import struct
from pathlib import Path

import pytest

from scripts import pdf
from tests.notebook_utils import ROOT, toc_files

BUILT = os.environ.get("RLVAE_BUILT_HTML")
RAW_TEX = re.compile(r"\$\$|\\frac|\\begin\{|\\mathbb|\\mathrm|\\lVert|\\left|\\sum_|\\\(|\\\[")


class _Article(html.parser.HTMLParser):
    """The title (first h1) and the distinct image sources inside a page's <article>."""

    def __init__(self) -> None:
        super().__init__()
        self.depth, self.in_h1, self.title, self.images = 0, False, "", set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "article":
            self.depth += 1
        elif self.depth and tag == "img":
            self.images.add(dict(attrs).get("src"))
        elif self.depth and tag == "h1" and not self.title:
            self.in_h1 = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "article":
            self.depth -= 1
        elif tag == "h1":
            self.in_h1 = False

    def handle_data(self, data: str) -> None:
        if self.in_h1:
            self.title += data


def _article(path: Path) -> _Article:
    parser = _Article()
    parser.feed(path.read_text(errors="replace"))
    parser.title = re.sub(r"\s+", " ", parser.title.replace("#", "")).strip()
    return parser


def _image_xobjects(page: object) -> dict[int, tuple[int, int]]:
    """Object number -> (width, height) in pixels of the images a page draws (no decoding)."""
    xobjects = page.get("/Resources", {}).get("/XObject", {})
    found = {}
    for ref in xobjects.values():
        obj = ref.get_object()
        if obj.get("/Subtype") == "/Image":
            found[ref.idnum] = (int(obj["/Width"]), int(obj["/Height"]))
        elif obj.get("/Subtype") == "/Form":  # images nested in a form
            found |= _image_xobjects(obj)
    return found


def _png_size(path: Path) -> tuple[int, int] | None:
    """Pixel size from a PNG's header; None for other formats (SVG prints as vectors)."""
    head = path.read_bytes()[:24] if path.exists() else b""
    if head[:8] != b"\x89PNG\r\n\x1a\n":
        return None
    return struct.unpack(">II", head[16:24])


def _mathjax_fonts(page: object) -> int:
    """Fonts Chromium embeds from web fonts (MathJax's glyphs) as Type 3, with a Unicode map."""
    fonts = [f.get_object() for f in page.get("/Resources", {}).get("/Font", {}).values()]
    return sum(f.get("/Subtype") == "/Type3" and "/ToUnicode" in f for f in fonts)


def test_section_pages_pairs_headings_with_chromium_outline() -> None:
    headings = [[1, "Title"], [2, "The data: digits"], [3, "Hidden"], [2, "Summary"]]
    outline = [("Title", 0), ("The data:digitsThe data: digits", 2), ("Summary", 5)]
    assert pdf.section_pages(headings, outline) == [(2, "The data: digits", 2), (2, "Summary", 5)]


def test_toc_pages_follow_the_toc() -> None:
    assert [doc for _, doc in pdf.toc_pages()] == toc_files()


def test_link_pdf_links_every_page_once(tmp_path: Path) -> None:
    (tmp_path / "book").mkdir()
    page = '<html><body><nav class="bd-links bd-docs-nav" aria-label="Main">toc</nav></body></html>'
    (tmp_path / "book" / "a.html").write_text(page)
    (tmp_path / "index.html").write_text(page)
    (tmp_path / "b.pdf").write_bytes(b"%PDF-1.4")
    assert pdf.link_pdf(tmp_path, tmp_path / "b.pdf") == 2
    assert pdf.link_pdf(tmp_path, tmp_path / "b.pdf") == 0  # idempotent
    assert 'href="../rlvae-tutorial.pdf"' in (tmp_path / "book" / "a.html").read_text()
    assert 'href="rlvae-tutorial.pdf"' in (tmp_path / "index.html").read_text()
    assert (tmp_path / "rlvae-tutorial.pdf").exists()
    (tmp_path / "other.html").write_text("<html><body>no navigation</body></html>")
    assert pdf.link_pdf(tmp_path, tmp_path / "b.pdf") == 0


class _Code(html.parser.HTMLParser):
    """The text inside a page's <pre> blocks (code listings and outputs)."""

    def __init__(self) -> None:
        super().__init__()
        self.depth, self.parts = 0, []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.depth += tag == "pre"

    def handle_endtag(self, tag: str) -> None:
        self.depth -= tag == "pre" and self.depth > 0

    def handle_data(self, data: str) -> None:
        if self.depth:
            self.parts.append(data)


def _code_text(page: Path) -> str:
    parser = _Code()
    parser.feed(page.read_text())
    return "".join(parser.parts)


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


@pytest.fixture(scope="module")
def printed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict, Path]:
    if not BUILT:
        pytest.skip("set RLVAE_BUILT_HTML to a built book (make test does)")
    html_dir = ROOT / BUILT
    chromium = os.environ.get("RLVAE_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(chromium).exists():
        pytest.fail(f"no Chromium at {chromium}: install one and set RLVAE_CHROMIUM")
    out = tmp_path_factory.mktemp("pdf") / pdf.PDF_NAME
    report = pdf.build_pdf(html_dir, out, chromium=chromium)
    return out, report, html_dir


@pytest.mark.slow
def test_the_pdf_edition(printed: tuple[Path, dict, Path]) -> None:
    from pypdf import PdfReader

    out, report, html_dir = printed
    reader = PdfReader(out)
    pages = reader.pages
    assert len(pages) == report["pages"]

    # One top-level bookmark per chapter, in _toc.yml order, titled as the chapter; sections below.
    top = [item for item in reader.outline if not isinstance(item, list)]
    articles = [_article(html_dir / f"{doc}.html") for doc in toc_files()]
    assert [b.title for b in top] == [a.title for a in articles]
    starts = [reader.get_destination_page_number(b) for b in top]
    assert starts == sorted(starts) and starts[0] >= 1, "chapters in order, after the front matter"
    children = [item for item in reader.outline if isinstance(item, list)]
    assert sum(len(c) for c in children) >= len(top), "sections are bookmarked below the chapters"

    texts = [page.extract_text() for page in pages]
    # Every page but the title page ends with its page number.
    numbers = [t.split()[-1] if t.split() else "" for t in texts[1:]]
    assert numbers == [str(i) for i in range(2, len(pages) + 1)]
    # Text is extractable and no formula was left as TeX.
    assert all(len(t.split()) > 3 for t in texts[1:]), "a page without extractable text"
    # Package source shown on the page (docstrings give the math in TeX) is code, not a formula.
    code = _squash(" ".join(_code_text(html_dir / f"{doc}.html") for doc in toc_files()))
    raw = [(i + 1, m.group()) for i, t in enumerate(texts) for line in t.splitlines()
           for m in RAW_TEX.finditer(line) if _squash(line) not in code]
    assert not raw, f"raw TeX in the PDF (page, text): {raw[:5]}"
    # The original post's author and title print in Chinese (a missing font gives empty boxes).
    assert "禅与计算机程序设计艺术" in "".join(texts), (
        "the post's author does not print: install a Chinese font (Debian: fonts-wqy-microhei)")

    ends = [*starts[1:], len(pages)]
    for article, doc, start, end in zip(articles, toc_files(), starts, ends, strict=True):
        chapter = pages[start:end]
        # Every raster figure of the page is embedded, at its full pixel size (not downsampled).
        embedded = {}
        for p in chapter:
            embedded |= _image_xobjects(p)
        sizes = [_png_size((html_dir / doc).parent / src) for src in article.images]
        raster = [s for s in sizes if s is not None]
        assert len(embedded) >= len(raster), (
            f"{doc}: {len(raster)} PNG figures on the page, {len(embedded)} images in the PDF")
        small = [s for s in raster if not any(w >= s[0] and h >= s[1] for w, h in embedded.values())]
        assert not small, f"{doc}: figures embedded below their pixel size: {small}"
        # Math is typeset: a chapter with formulas uses MathJax's fonts.
        if 'class="math' in (html_dir / f"{doc}.html").read_text(errors="replace"):
            assert any(_mathjax_fonts(p) for p in chapter), f"{doc}: no MathJax glyphs in the PDF"
