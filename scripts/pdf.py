"""The book's PDF edition, printed from the built HTML by the system Chromium.

    python scripts/pdf.py [HTML_DIR] [OUT_PDF] [--link]

defaults: ``_build/html`` and ``_build/pdf/rlvae-tutorial.pdf``.  Every page of ``_toc.yml`` is
opened, in order, from a local HTTP server on 127.0.0.1 (nothing else is fetched: MathJax and its
fonts come from the build), MathJax typesets it, a print style hides the navigation and wraps
long code lines, and Chromium prints it (``page.pdf``).  ``pypdf`` merges the chapters behind a
title page and a table of contents, writes one bookmark per chapter with its sections below it
(page numbers from Chromium's own outline of each printed page), and stamps a page number on
every page.  Links between pages of the book become plain text (they led to the local server);
links to the web stay links.

``--link`` (what ``make pdf`` passes) then copies the PDF to ``HTML_DIR/rlvae-tutorial.pdf`` and
adds a "PDF edition" link to the navigation of every built page, so the web book links the PDF
only once the PDF exists (a book built without it has no dangling link).

Measured on the 2-core machine: about 2 s a chapter, 40-60 s for the whole book.
"""

from __future__ import annotations

import functools
import html
import http.server
import io
import os
import re
import shutil
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
PDF_NAME = "rlvae-tutorial.pdf"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
                 "--no-first-run", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--disable-extensions", "--disable-default-apps", "--mute-audio"]
PAGE = {"format": "A4", "margin": {"top": "16mm", "bottom": "20mm", "left": "16mm", "right": "16mm"}}
LINK_MARK = "rlvae-pdf-link"
# A4 less the side margins (178 mm) in CSS pixels: the screen layout then matches the printed one.
PRINT_VIEWPORT = {"width": 672, "height": 950}
# The theme's navigation of the chapters (left sidebar), where the PDF link goes.
NAV = re.compile(r'<nav class="[^"]*\bbd-docs-nav\b')

# Only the article is printed; code wraps instead of running off the page.
PRINT_CSS = """
.bd-header, .bd-header-article, .header-article, .bd-sidebar-primary, .bd-sidebar-secondary,
.bd-footer, .bd-footer-article, .bd-footer-content, footer, .prev-next-area, .headerlink,
#jb-print-toc, .skip-link, #pst-back-to-top, .toggle-button, button.toggle-button, .copybtn, .sidebar-toggle,
.search-button-field, #pst-scroll-pixel-helper, .dropdown-source-buttons, .article-header-buttons
  { display: none !important; }
html, body, .bd-container, .bd-container__inner, .bd-main, .bd-content, .bd-article-container,
.bd-article, .bd-page-width
  { max-width: none !important; width: auto !important; margin: 0 !important; padding: 0 !important; }
body { font-size: 10.5pt; }
pre, pre code, .highlight pre
  { white-space: pre-wrap !important; overflow-wrap: anywhere; word-break: break-word;
    overflow: visible !important; max-height: none !important; }
div.cell_output, .output { max-height: none !important; overflow: visible !important; }
img, figure, .cell_output img { max-width: 100% !important; height: auto !important; break-inside: avoid; }
/* Nothing wider than the column: a wide figure would widen the page and clip its left edge. */
article, article * { max-width: 100% !important; box-sizing: border-box; }
.bd-container, .bd-container__inner, .bd-main, .bd-content, .bd-article-container, .bd-article
  { min-width: 0 !important; }
figure { break-inside: avoid; }
h1, h2, h3, h4 { break-after: avoid; }
h1 { font-size: 20pt !important; } h2 { font-size: 15pt !important; margin-top: 1.2em !important; }
h3 { font-size: 12.5pt !important; } h4 { font-size: 11pt !important; }
table { font-size: 9pt; }
a:not([href]) { color: inherit !important; text-decoration: none !important; }
.table-wrapper, .pst-scrollable-table-container { overflow: visible !important; }
/* MathJax's hidden copy of each formula for screen readers lays out at its full width and would
   widen the page; the printed formula is the visible one (scaled to fit below, in PREPARE_JS). */
mjx-assistive-mml { display: none !important; }
mjx-container[display="true"] { overflow: visible !important; min-width: 0 !important; }
details.toggle-details, details { display: block; }
*, *::before, *::after { animation: none !important; transition: none !important; box-shadow: none !important; }
"""

# Runs in each page: wait for MathJax, fonts and images; drop links to the local server (other
# pages of the book); return the article's headings (for the bookmarks) and images (to count).
PREPARE_JS = """
async (css) => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) { await MathJax.startup.promise; }
  for (const img of document.images) { img.loading = "eager"; }
  await Promise.all([...document.images].map(img => img.decode().catch(() => null)));
  await document.fonts.ready;
  // Folded code (solutions, checks) is printed, labelled "Solution" or "Code cell source".
  for (const d of document.querySelectorAll("details")) { d.open = true; }
  for (const p of document.querySelectorAll("details > summary .expanded")) {
    const t = p.textContent.trim().replace(/^Hide\\s+/, "");
    p.textContent = t.charAt(0).toUpperCase() + t.slice(1);
  }
  const style = document.createElement("style"); style.textContent = css; document.head.append(style);
  for (const a of document.querySelectorAll("a[href]")) {
    const url = new URL(a.href, location.href);
    if (url.origin === location.origin && url.pathname !== location.pathname) a.removeAttribute("href");
  }
  // A display formula wider than the column is scaled down to fit it (on paper it cannot scroll).
  for (const m of document.querySelectorAll('mjx-container[display="true"]')) {
    const avail = m.parentElement.clientWidth;
    const need = Math.max(m.scrollWidth, ...[...m.querySelectorAll("mjx-math")].map(x => x.scrollWidth));
    if (need > avail && avail > 0) m.style.zoom = (0.98 * avail / need).toFixed(3);
  }
  const article = document.querySelector("article") || document.body;
  const text = h => { const c = h.cloneNode(true); c.querySelectorAll(".headerlink").forEach(x => x.remove());
                      return c.textContent.replace(/\\s+/g, " ").trim(); };
  return {
    title: text(article.querySelector("h1") || document.querySelector("title")),
    headings: [...article.querySelectorAll("h1, h2, h3")].map(h => [Number(h.tagName[1]), text(h)]),
    images: [...article.querySelectorAll("img")].filter(i => i.naturalWidth > 0).length,
  };
}
"""


@dataclass
class Chapter:
    """One printed page of the book: its title, PDF bytes, page count and (level, title, page)."""

    docname: str
    part: str
    title: str
    pdf: bytes
    pages: int
    images: int
    sections: list[tuple[int, str, int]] = field(default_factory=list)


def toc_pages(root: Path = ROOT) -> list[tuple[str, str]]:
    """(part caption, docname) for every page of _toc.yml in reading order, the root first."""
    toc = yaml.safe_load((root / "_toc.yml").read_text())
    pages = [("", toc["root"])]
    for part in toc.get("parts", []):
        pages += [(part.get("caption", ""), ch["file"]) for ch in part.get("chapters", [])]
    return [(part, str(Path(doc).with_suffix(""))) for part, doc in pages]


@contextmanager
def serve(directory: Path) -> Iterator[str]:
    """Serve ``directory`` on 127.0.0.1 (a free port) for the duration; yields the origin."""
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                             functools.partial(Quiet, directory=str(directory)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _outline(reader: object) -> list[tuple[str, int]]:
    """(title, page index) of every entry of a PDF outline, depth first (document order)."""
    entries: list[tuple[str, int]] = []

    def walk(items: list) -> None:
        for item in items:
            if isinstance(item, list):
                walk(item)
            else:
                entries.append((item.title, reader.get_destination_page_number(item)))

    walk(reader.outline)
    return entries


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def section_pages(headings: list[list], outline: list[tuple[str, int]]) -> list[tuple[int, str, int]]:
    """Pair the page's headings (level, title) with Chromium's outline entries, in order.

    Chromium titles a heading by its text with line breaks dropped (and sometimes repeated), so an
    entry matches a heading when its squashed text starts with the heading's.  Headings not printed
    (no entry) are skipped.  Returns (level, title, page index) for the sections (level > 1)."""
    found, i = [], 0
    for level, title in headings:
        for j in range(i, len(outline)):
            if _squash(outline[j][0]).startswith(_squash(title)):
                if level > 1:
                    found.append((level, title, outline[j][1]))
                i = j + 1
                break
    return found


def _print_html(page: object, body: str) -> bytes:
    """Print a small generated HTML document (title page, contents, page numbers) to PDF."""
    page.set_content(body, wait_until="load")
    return page.pdf(**PAGE, print_background=True)


def print_chapters(html_dir: Path, browser: object, origin: str) -> list[Chapter]:
    from pypdf import PdfReader

    chapters = []
    tab = browser.new_page(viewport=PRINT_VIEWPORT)  # the printed column's width, to measure
    blocked: list[str] = []
    tab.on("request", lambda r: blocked.append(r.url)
           if not r.url.startswith((origin, "data:", "blob:", "about:")) else None)
    tab.route(re.compile(r"^(?!http://127\.0\.0\.1).*"), lambda r: r.abort())
    for part, doc in toc_pages():
        if not (html_dir / f"{doc}.html").exists():
            raise FileNotFoundError(f"{html_dir / doc}.html is missing: build the book first "
                                    "(make book, or make build-quick and pass its _build/html)")
        tab.goto(f"{origin}/{doc}.html", wait_until="load")
        info = tab.evaluate(PREPARE_JS, PRINT_CSS)
        tab.emulate_media(media="print")
        data = tab.pdf(**PAGE, print_background=True, outline=True, tagged=True)
        reader = PdfReader(io.BytesIO(data))
        sections = section_pages(info["headings"], _outline(reader))
        chapters.append(Chapter(doc, part, info["title"], data, len(reader.pages), info["images"],
                                sections))
    tab.close()
    if blocked:
        raise RuntimeError(f"pages asked for the network (refused): {sorted(set(blocked))[:5]}")
    return chapters


def _front_matter(title: str, chapters: list[Chapter], first: int) -> str:
    """Title page and contents; chapter i starts at printed page first + sum(pages before it)."""
    rows, part, page = [], None, first
    for ch in chapters:
        if ch.part != part and ch.part:
            rows.append(f'<tr class="part"><td colspan="2">{html.escape(ch.part)}</td></tr>')
        part = ch.part
        rows.append(f"<tr><td>{html.escape(ch.title)}</td><td class=n>{page}</td></tr>")
        page += ch.pages
    return f"""<!doctype html><html><head><meta charset="utf-8"><style>
body {{ font-family: sans-serif; }} .title {{ height: 230mm; display: flex; flex-direction: column;
justify-content: center; text-align: center; break-after: page; }}
.title h1 {{ font-size: 28pt; }} table {{ width: 100%; border-collapse: collapse; font-size: 11pt; }}
td {{ padding: 3pt 0; }} td.n {{ text-align: right; }} tr.part td {{ font-weight: bold; padding-top: 10pt; }}
</style></head><body><div class="title"><h1>{html.escape(title)}</h1>
<p>The rlvae-tutorial contributors</p><p>Printed from the executed book, {time.strftime("%Y-%m-%d")}</p>
</div><h2>Contents</h2><table>{''.join(rows)}</table></body></html>"""


def _numbers(count: int, skip: int) -> str:
    """One A4 page per number, the number centred at the foot (the first ``skip`` pages blank)."""
    pages = "".join(f'<div class="p"><span>{"" if i <= skip else i}</span></div>'
                    for i in range(1, count + 1))
    return f"""<!doctype html><html><head><style>@page {{ size: A4; margin: 0; }}
body {{ margin: 0; font: 9pt sans-serif; color: #444; }} .p {{ height: 297mm; position: relative;
break-after: page; overflow: hidden; }} .p span {{ position: absolute; bottom: 9mm; width: 100%;
text-align: center; }}</style></head><body>{pages}</body></html>"""


def build_pdf(html_dir: Path, out: Path, *, chromium: str | None = None) -> dict:
    """Print the book in ``html_dir`` to ``out``; returns pages, bookmarks, images and seconds."""
    from playwright.sync_api import sync_playwright
    from pypdf import PdfReader, PdfWriter

    start = time.perf_counter()
    html_dir = Path(html_dir).resolve()
    chromium = chromium or os.environ.get("RLVAE_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(chromium).exists():
        raise FileNotFoundError(f"no Chromium at {chromium}: install one (Debian: apt-get install "
                                "chromium) or set RLVAE_CHROMIUM=/path/to/chromium")
    title = yaml.safe_load((ROOT / "_config.yml").read_text()).get("title", "rlvae-tutorial")
    with serve(html_dir) as origin, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        chapters = print_chapters(html_dir, browser, origin)
        tab = browser.new_page()
        front_pages = 2
        for _ in range(3):  # the contents' own length decides where chapter 1 starts
            front = _print_html(tab, _front_matter(title, chapters, front_pages + 1))
            n = len(PdfReader(io.BytesIO(front)).pages)
            if n == front_pages:
                break
            front_pages = n
        total = front_pages + sum(ch.pages for ch in chapters)
        numbers = PdfReader(io.BytesIO(_print_html(tab, _numbers(total, skip=1))))
        browser.close()

    writer = PdfWriter()
    writer.append(PdfReader(io.BytesIO(front)), import_outline=False)
    bookmarks = 0
    for ch in chapters:
        offset = len(writer.pages)
        writer.append(PdfReader(io.BytesIO(ch.pdf)), import_outline=False)
        parent = writer.add_outline_item(title=ch.title, page_number=offset)
        bookmarks += 1
        level_parent = {1: parent}
        for level, text, page in ch.sections:
            above = level_parent.get(level - 1, parent)
            level_parent[level] = writer.add_outline_item(title=text, page_number=offset + page, parent=above)
            bookmarks += 1
    for page, number in zip(writer.pages, numbers.pages, strict=True):
        page.merge_page(number)
    writer.add_metadata({"/Title": title, "/Author": "The rlvae-tutorial contributors"})
    writer.page_mode = "/UseOutlines"
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("wb") as f:
        writer.write(f)
    return {"pages": total, "bookmarks": bookmarks, "chapters": len(chapters),
            "images": {ch.docname: ch.images for ch in chapters},
            "bytes": out.stat().st_size, "seconds": round(time.perf_counter() - start, 1)}


def link_pdf(html_dir: Path, pdf: Path) -> int:
    """Copy ``pdf`` into the built site and link it from every page's navigation; returns pages."""
    html_dir = Path(html_dir)
    shutil.copyfile(pdf, html_dir / PDF_NAME)
    changed = 0
    for page in html_dir.rglob("*.html"):
        if {"_static", "_sources", "_images"} & set(page.relative_to(html_dir).parts):
            continue
        text = page.read_text()
        nav = NAV.search(text)
        if LINK_MARK in text or not nav:
            continue
        rel = "../" * (len(page.relative_to(html_dir).parts) - 1) + PDF_NAME
        link = (f'<p class="{LINK_MARK}" style="margin:0 0 .5rem 1rem"><a href="{rel}">'
                "The whole book as a PDF</a></p>")
        page.write_text(text[:nav.start()] + link + text[nav.start():])
        changed += 1
    return changed


def main(argv: list[str]) -> int:
    args = [a for a in argv if not a.startswith("--")]
    html_dir = Path(args[0]) if args else ROOT / "_build" / "html"
    out = Path(args[1]) if len(args) > 1 else ROOT / "_build" / "pdf" / PDF_NAME
    if not (html_dir / "index.html").exists():
        print(f"no built book at {html_dir}: run `make book` first", file=sys.stderr)
        return 1
    report = build_pdf(html_dir, out)
    print(f"{out}: {report['pages']} pages, {report['chapters']} chapters, "
          f"{report['bookmarks']} bookmarks, {report['bytes'] / 1e6:.1f} MB, {report['seconds']} s")
    if "--link" in argv:
        print(f"linked from {link_pdf(html_dir, out)} pages of {html_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
