"""Checks of the built HTML (`make test` builds the book first and points RLVAE_BUILT_HTML at it).

Static checks: nothing a page loads comes from the network (tags, inline scripts and styles, CSS
files), MathJax and its fonts are served from the build, the launch and download buttons are
there, and the run-time report of the build is complete and within each chapter's budget.
tests/test_browser.py checks the same pages in a real browser.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from sphinxext.repository import repository_url
from sphinxext.runtimes import load_report, notebook_budget, notebook_fingerprint, runtimes_dir
from tests.notebook_utils import ROOT, toc_files, toc_notebooks

BUILT = os.environ.get("RLVAE_BUILT_HTML")
pytestmark = pytest.mark.skipif(not BUILT, reason="set RLVAE_BUILT_HTML to a built book (make test does)")

NETWORK = r"""(?:https?:)?//"""
# A script, stylesheet, image, font, frame or media fetched from the network (links to pages are fine).
EXTERNAL_ASSET = re.compile(
    rf"""<(?:script|img|iframe|source|audio|video|embed|track|input)\b[^>]*\bsrc\s*=\s*["']?{NETWORK}"""
    rf"""|<(?:img|source)\b[^>]*\bsrcset\s*=\s*["'][^"']*{NETWORK}"""
    rf"""|<video\b[^>]*\bposter\s*=\s*["']?{NETWORK}"""
    rf"""|<object\b[^>]*\bdata\s*=\s*["']?{NETWORK}"""
    rf"""|<link\b(?![^>]*\brel\s*=\s*["']?(?:canonical|author|license|help|me|next|prev|index|search)\b)[^>]*\bhref\s*=\s*["']?{NETWORK}"""
    rf"""|@import\s+(?:url\()?\s*["']?{NETWORK}"""
    rf"""|url\(\s*["']?{NETWORK}""",
    re.I,
)
INLINE_SCRIPT = re.compile(r"<script\b(?![^>]*\bsrc=)[^>]*>(.*?)</script>", re.I | re.S)
URL = re.compile(rf"""["'`]({NETWORK}[^"'`\s]+)""")
# URLs that inline scripts may name because nothing fetches them on page load: none.  (Thebe's
# configuration names unpkg.com; sphinxext/rlvae_book.py drops it while Thebe is off.)
ALLOWED_INLINE_URLS: set[str] = set()
MATHJAX = Path("_static/mathjax")
MATHJAX_FONTS = MATHJAX / "output/chtml/fonts/woff-v2"
# Quick-mode run time allowed by a stated budget: a busy machine (CI runs alone on 2 cores, a
# developer's machine is shared) may be slower than the quiet machine the budget is stated for.
RUNTIME_SLACK_FACTOR = 1.5
RUNTIME_SLACK_S = 10.0


def _html() -> Path:
    path = ROOT / BUILT if BUILT else ROOT
    assert (path / "index.html").exists(), f"no built book at {path}; run make build-quick"
    return path


def _pages() -> list[Path]:
    return sorted(p for p in _html().rglob("*.html") if "_static" not in p.parts)


def test_every_toc_page_is_built() -> None:
    html = _html()
    for f in toc_files():
        assert (html / f"{f}.html").exists(), f"{f}.html missing from the build"


def test_no_page_loads_a_network_asset() -> None:
    offenders = []
    for page in _pages():
        for m in EXTERNAL_ASSET.finditer(page.read_text(errors="replace")):
            offenders.append(f"{page.relative_to(_html())}: {m.group(0)[:120]}")
    assert not offenders, "pages load assets from the network:\n" + "\n".join(offenders[:20])


def test_the_asset_pattern_catches_what_it_should() -> None:
    bad = ['<script src="https://cdn.x/y.js">', "<img src='//cdn.x/a.png'>",
           '<link rel="stylesheet" href="https://fonts.x/css">', '<link href="https://x/f.woff2" rel="preload">',
           "@import url(https://fonts.x/css);", 'style="background: url(https://x/a.png)"',
           '<img srcset="a.png 1x, https://x/b.png 2x">', '<iframe src="http://x">']
    good = ['<script src="../_static/a.js">', '<a href="https://mybinder.org/v2/gh/x">',
            '<link rel="canonical" href="https://x/page.html">', "url(../fonts/a.woff2)",
            '<img src="data:image/png;base64,AAAA">']
    assert all(EXTERNAL_ASSET.search(s) for s in bad), [s for s in bad if not EXTERNAL_ASSET.search(s)]
    assert not any(EXTERNAL_ASSET.search(s) for s in good), [s for s in good if EXTERNAL_ASSET.search(s)]


def test_inline_scripts_name_no_network_url() -> None:
    offenders = []
    for page in _pages():
        for body in INLINE_SCRIPT.findall(page.read_text(errors="replace")):
            for url in URL.findall(body):
                if url not in ALLOWED_INLINE_URLS:
                    offenders.append(f"{page.relative_to(_html())}: {url}")
    assert not offenders, "inline scripts name network URLs:\n" + "\n".join(sorted(set(offenders))[:20])


def test_no_thebe() -> None:
    """Thebe would fetch its script from unpkg.com (and a kernel from Binder): it stays off."""
    for page in _pages():
        text = page.read_text(errors="replace")
        assert "thebe-launch-button" not in text, f"{page.name} has a Thebe launch button"
        assert "unpkg.com" not in text and "sphinx-thebe.js" not in text, f"{page.name} loads Thebe"


def test_stylesheets_fetch_nothing_from_the_network() -> None:
    offenders = []
    for css in _html().rglob("*.css"):
        for m in EXTERNAL_ASSET.finditer(css.read_text(errors="replace")):
            offenders.append(f"{css.relative_to(_html())}: {m.group(0)[:100]}")
    assert not offenders, "stylesheets fetch from the network:\n" + "\n".join(offenders[:20])


def test_mathjax_and_its_fonts_are_served_locally() -> None:
    html = _html()
    assert (html / MATHJAX / "tex-chtml.js").is_file(), "MathJax is not in _static: is sphinx-mathjax-offline on?"
    for font in ("MathJax_Main-Regular", "MathJax_Math-Italic", "MathJax_Zero", "MathJax_Size1-Regular"):
        assert (html / MATHJAX_FONTS / f"{font}.woff").is_file(), f"MathJax font {font}.woff missing"
    # MathJax's CHTML output finds its fonts relative to its own script, not on a CDN.
    assert 'resolvePath("output/chtml/fonts/woff-v2"' in (html / MATHJAX / "tex-chtml.js").read_text()
    pages_with_math = [p for p in _pages() if 'class="math' in p.read_text(errors="replace")]
    assert pages_with_math, "no page has math: the notation page should"
    for page in pages_with_math:
        text = page.read_text(errors="replace")
        assert re.search(r'<script[^>]*src="(?:\.\./)*_static/mathjax/tex-chtml\.js(?:\?v=\w+)?"', text), (
            f"{page.name} does not load the local MathJax")


ANCHOR_TAG = re.compile(r"<a\b[^>]*>", re.I)
HREF = re.compile(r"""\bhref=["']([^"']*)""")
LAUNCH = re.compile(r"^https?://(?:mybinder\.org|colab\.research\.google\.com)/")


def repository_links(html: str) -> list[str]:
    """Links that name the book's repository: Binder and Colab links anywhere, and buttons (the
    theme's ``btn`` links) to github.com.  A reference that cites some project on GitHub is not one."""
    links = []
    for tag in ANCHOR_TAG.findall(html):
        href = HREF.search(tag)
        if href and (LAUNCH.match(href.group(1)) or ("github.com" in href.group(1) and "btn" in tag)):
            links.append(href.group(1))
    return links


def test_repository_link_pattern() -> None:
    button = '<a href="https://github.com/o/r" target="_blank" class="btn btn-sm btn-source-repository-button">'
    binder = '<a href="https://mybinder.org/v2/gh/o/r/main?urlpath=tree/book/x.ipynb" class="x">'
    cited = '<a class="reference external" href="https://github.com/vwxyzjn/cleanrl">'
    assert repository_links(button + binder + cited) == ["https://github.com/o/r", binder.split('"')[1]]


def test_repository_links_follow_the_setting() -> None:
    """Launch, repository and download buttons follow repository.url; none while it is unset."""
    url = repository_url(ROOT)
    slug = url.removeprefix("https://github.com/")
    for nb in toc_notebooks():
        rel = nb.relative_to(ROOT).as_posix()
        page = (_html() / rel).with_suffix(".html").read_text()
        assert f'href="../_sources/{rel}"' in page, f"{rel}: no .ipynb download button"
        assert (_html() / "_sources" / rel).is_file(), f"the download of {rel} is missing"
        if url:
            assert f"https://mybinder.org/v2/gh/{slug}/main?urlpath=tree/{rel}" in page, f"{rel}: no Binder button"
            assert f"https://colab.research.google.com/github/{slug}/blob/main/{rel}" in page, f"{rel}: no Colab button"
    for page in _pages():
        for link in repository_links(page.read_text(errors="replace")):
            assert url and slug in link, (
                f"{page.relative_to(_html())} links to {link}, but repository.url is "
                f"{url or 'unset'} (_config.yml)")
        if not url:
            assert "launch-buttons" not in page.read_text(errors="replace"), f"{page.name}: a launch menu"


def test_back_matter_pages() -> None:
    notation = (_html() / "book" / "notation.html").read_text()
    for symbol in (r"\pi_\phi(z \mid x)", r"\beta", r"G_t", r"\gamma", r"\lambda", r"\mathrm{KL}"):
        assert symbol in notation, f"the notation page lacks {symbol}"
    references = (_html() / "book" / "references.html").read_text()
    for author in ("Williams", "Kingma", "Rezende", "Higgins", "Mnih", "Kool", "Jang", "Maddison",
                   "Bowman", "Schmidhuber", "Engel", "Schulman", "Burda", "Tucker", "Grathwohl",
                   "Black", "Fan", "Yarats", "Mohamed"):
        assert author in references, f"the bibliography lacks {author}"


def _quick_report() -> dict:
    report = load_report("quick", runtimes_dir(ROOT))
    assert report is not None, f"no quick-mode run-time report in {runtimes_dir(ROOT)}: run make build-quick"
    return report


def test_runtime_appendix_shows_every_chapter() -> None:
    page = (_html() / "book" / "runtimes.html").read_text()
    report = _quick_report()
    for nb in toc_notebooks():
        docname = nb.relative_to(ROOT).with_suffix("").as_posix()
        assert docname in report["notebooks"], f"{docname} missing from the quick-mode report"
        href = os.path.relpath(nb.with_suffix(".html").relative_to(ROOT), "book")
        assert f'href="{href}"' in page, f"the run-time appendix has no row for {docname}"
    assert "Quick mode: measured" in page and report["machine"]["device"] in page


def test_quick_runtimes_are_fresh_and_within_budget() -> None:
    report = _quick_report()
    # Budgets are for a quiet machine.  Where other work shared the cores during the build, scale
    # the allowance by how oversubscribed they were (load average per core, at least 1).
    machine = report["machine"]
    crowding = max(1.0, (machine.get("load_avg_1m") or 0.0) / (machine.get("cpu_count") or 1))
    over = []
    for nb in toc_notebooks():
        docname = nb.relative_to(ROOT).with_suffix("").as_posix()
        row = report["notebooks"][docname]
        assert row["succeeded"], f"{docname} failed in the build"
        assert row["fingerprint"] == notebook_fingerprint(nb), (
            f"{docname} changed after the quick build measured it: rerun make build-quick")
        budget = notebook_budget(nb)["quick"]
        allowed = (RUNTIME_SLACK_FACTOR * budget + RUNTIME_SLACK_S) * crowding
        if row["runtime_s"] > allowed:
            over.append(f"{docname}: {row['runtime_s']:.1f} s > {allowed:.0f} s allowed "
                        f"(budget {budget:g} s, x{crowding:.1f} for load)")
    load = report["machine"].get("load_avg_1m")
    assert not over, (f"quick-mode run time over budget (load average {load} at the end):\n"
                      + "\n".join(over) + "\nshrink quick mode or restate the budget in the notebook")


def test_runtime_report_is_json_with_the_machine() -> None:
    report = _quick_report()
    assert report["mode"] == "quick"
    for key in ("device", "device_name", "cpu_count", "torch", "python"):
        assert report["machine"].get(key), f"the report lacks machine.{key}"
    json.dumps(report)


def test_getting_started_shows_its_figure() -> None:
    page = (_html() / "book" / "getting_started.html").read_text()
    assert re.search(r'<img[^>]+src="[^"]*_images/[^"]+\.png"', page), "the digits figure is missing"
    assert "fig-digits" in page
