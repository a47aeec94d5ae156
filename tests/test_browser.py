"""Every built page, opened in headless Chromium the way a reader opens it.

`make test` builds the book, installs Debian's Chromium where it is missing, and runs this with
the network unplugged.  The pages are served from a local HTTP server on 127.0.0.1; any request
for anything else fails the test.  For each page: MathJax typeset every formula (no
raw TeX left, no TeX error), its fonts came from the build, every image loaded, every internal
link (and its #anchor) exists, and no script raised.  Accessibility: axe-core finds no WCAG 2.0/2.1
A or AA violation, every formula carries MathJax's assistive MathML and no display formula runs
past the article column, and every figure has meaningful alt text, at least twice the resolution
it is shown at and no text smaller than rlvae_tutorial.style.MIN_FONT_PX as shown.  A full-page screenshot of each chapter goes
to ``_build/screenshots/`` (``RLVAE_SCREENSHOTS`` overrides it) for a person to look at.
"""

from __future__ import annotations

import functools
import html.parser
import http.server
import json
import os
import re
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import pytest

from tests.notebook_utils import ROOT, toc_files

BUILT = os.environ.get("RLVAE_BUILT_HTML")
pytestmark = pytest.mark.skipif(not BUILT, reason="set RLVAE_BUILT_HTML to a built book (make test does)")

# Flags that work in this project's containers (root, no GPU, no network): no sandbox as root,
# and nothing in the background that would try to reach Google.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
                 "--no-first-run", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--disable-extensions", "--disable-default-apps",
                 "--metrics-recording-only", "--mute-audio"]
VIEWPORT = {"width": 1280, "height": 900}
LOCAL_SCHEMES = ("data:", "blob:", "about:")
REDIRECT = re.compile(r"""<meta\s+http-equiv=["']refresh["'][^>]*url=([^"'>\s]+)""", re.I)

# Runs in the page once it has loaded and MathJax (where the page has it) has typeset.
PAGE_REPORT_JS = """
async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) { await MathJax.startup.promise; }
  for (const img of document.images) { img.loading = "eager"; }
  await Promise.all([...document.images].map(img => img.decode().catch(() => null)));
  await document.fonts.ready;
  const skip = "pre, code, script, style, textarea, mjx-container, .highlight";
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const rawTex = [];
  while (walker.nextNode()) {
    const node = walker.currentNode;
    if (node.parentElement && node.parentElement.closest(skip)) continue;
    const text = node.textContent;
    if (/\\$\\$|\\\\\\(|\\\\\\[|\\\\begin\\{/.test(text)) rawTex.push(text.trim().slice(0, 80));
  }
  const math = [...document.querySelectorAll(".math")];
  return {
    hasMathJax: !!window.MathJax,
    mathElements: math.length,
    untypeset: math.filter(m => !m.querySelector("mjx-container")).map(m => m.textContent.slice(0, 80)),
    mjxContainers: document.querySelectorAll("mjx-container").length,
    texErrors: [...document.querySelectorAll("mjx-merror")].map(e => e.textContent.slice(0, 80)),
    rawTex: rawTex,
    mathFonts: [...document.fonts].filter(f => /^MJX/.test(f.family))
                 .map(f => ({family: f.family, status: f.status})),
    images: [...document.images].map(img => ({src: img.currentSrc || img.src,
                                             ok: img.complete && img.naturalWidth > 0})),
    links: [...document.querySelectorAll("a[href]")].map(a => a.href),
    // Accessibility: MathJax's assistive MathML next to every formula; display math inside the
    // article column (a long formula scrolls in its own box); figures with alt text and sizes.
    assistiveMath: document.querySelectorAll("mjx-container > mjx-assistive-mml").length,
    articleRight: (document.querySelector("article") || document.body).getBoundingClientRect().right,
    displayMath: [...document.querySelectorAll('mjx-container[display="true"]')].map(c => ({
      text: (c.closest(".math") || c).textContent.replace(/\\s+/g, " ").trim().slice(0, 60), right: c.getBoundingClientRect().right,
      overflows: c.scrollWidth > c.clientWidth + 1, scrolls: ["auto", "scroll"].includes(getComputedStyle(c).overflowX)})),
    figures: [...document.querySelectorAll("article img")].map(img => ({
      src: img.currentSrc || img.src, alt: img.getAttribute("alt"), shown: img.clientWidth,
      natural: img.naturalWidth})),
  };
}
"""
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]  # WCAG 2.0 and 2.1, levels A and AA
HASH_ALT = re.compile(r"^[0-9a-f]{16,}|\.(?:png|svg|jpe?g)$", re.I)


def _chromium() -> str:
    path = os.environ.get("RLVAE_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).exists():
        pytest.fail(f"no Chromium at {path}: `make test` installs Debian's chromium as root; "
                    "elsewhere install one and set RLVAE_CHROMIUM=/path/to/chromium")
    return path


def _html_root() -> Path:
    path = ROOT / BUILT if BUILT else ROOT
    assert (path / "index.html").exists(), f"no built book at {path}; run make build-quick"
    return path


def _pages() -> list[str]:
    """Every built page (chapters, back matter, index, search), as paths relative to the root."""
    if not BUILT or not (_html_root() / "index.html").exists():
        return []
    return sorted(p.relative_to(_html_root()).as_posix() for p in _html_root().rglob("*.html")
                  if not {"_static", "_sources", "_images"} & set(p.parts))


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base's name
        pass


@dataclass
class Browser:
    origin: str
    context: object


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    sync_api = pytest.importorskip("playwright.sync_api")
    handler = functools.partial(_QuietHandler, directory=str(_html_root()))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    origin = f"http://127.0.0.1:{server.server_address[1]}"
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=_chromium(), args=CHROMIUM_ARGS)
        context = chromium.new_context(viewport=VIEWPORT)
        yield Browser(origin=origin, context=context)
        context.close()
        chromium.close()
    server.shutdown()
    server.server_close()


class _Anchors(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for key, value in attrs:
            if key in {"id", "name"} and value:
                self.ids.add(value)


@functools.cache
def _anchors(path: Path) -> frozenset[str]:
    parser = _Anchors()
    parser.feed(path.read_text(errors="replace"))
    return frozenset(parser.ids)


def _broken_links(links: list[str], origin: str) -> list[str]:
    broken = []
    for link in links:
        if not link.startswith(origin):
            continue  # external links (Binder, Colab, papers) are links, not loads: not followed
        parts = urlsplit(link)
        target = _html_root() / unquote(parts.path).lstrip("/")
        if target.is_dir():
            target = target / "index.html"
        if not target.exists():
            broken.append(f"{link} (no such file)")
        elif parts.fragment and target.suffix == ".html" and unquote(parts.fragment) not in _anchors(target):
            broken.append(f"{link} (no #{parts.fragment} in {target.name})")
    return sorted(set(broken))


def _screenshot_path(page: str) -> Path:
    folder = Path(os.environ.get("RLVAE_SCREENSHOTS", ROOT / "_build" / "screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder / (page.removesuffix(".html").replace("/", "__") + ".png")


def test_every_chapter_is_opened() -> None:
    pages = set(_pages())
    missing = [f for f in toc_files() if f"{f}.html" not in pages]
    assert not missing, f"not built, so not opened in the browser: {missing}"


def _inspect(browser: Browser, page: str, *, screenshot: Path | None = None,
             html: str | None = None) -> list[str]:
    """Open ``page`` (or serve ``html`` at its address) and return what is wrong with it."""
    url = f"{browser.origin}/{page}"
    if html is None and (redirect := REDIRECT.search((_html_root() / page).read_text(errors="replace"))):
        # index.html only forwards to the first chapter, which is opened on its own.
        return _broken_links([urljoin(url, redirect.group(1))], browser.origin)
    tab = browser.context.new_page()
    problems: list[str] = []
    fonts: list[str] = []

    def on_request(r: object) -> None:
        if not r.url.startswith((browser.origin, *LOCAL_SCHEMES)):
            # Under `make test` the network is unplugged, so this would fail for a reader too.
            problems.append(f"fetches from the network: {r.url}")
        elif r.resource_type == "font":
            fonts.append(r.url)

    tab.on("request", on_request)
    tab.on("pageerror", lambda exc: problems.append(f"script error: {exc}"))
    tab.on("requestfailed", lambda r: problems.append(f"request failed: {r.url} ({r.failure})")
           if r.url.startswith(browser.origin) else None)
    tab.on("response", lambda r: problems.append(f"HTTP {r.status}: {r.url}")
           if r.status >= 400 and not r.url.endswith("/favicon.ico") else None)
    if html is not None:
        tab.route(url, lambda r: r.fulfill(body=html, content_type="text/html"))
    try:
        tab.goto(url, wait_until="load")
        report = tab.evaluate(PAGE_REPORT_JS)
        # preload off: axe would fetch the theme's @import-ed CSS from the wrong folder (a 404).
        violations = _axe().run(tab, options={"runOnly": {"type": "tag", "values": AXE_TAGS},
                                              "resultTypes": ["violations"], "preload": False},
                                ).response["violations"]
        if screenshot is not None:
            tab.screenshot(path=str(screenshot), full_page=True)
    finally:
        tab.close()

    # Math: every formula typeset by the local MathJax with its local fonts, no raw TeX left.
    problems += [f"raw TeX on the page: {t!r}" for t in report["rawTex"][:3]]
    if report["mathElements"]:
        if not report["hasMathJax"]:
            problems.append("the page has math but MathJax did not load")
        problems += [f"formula not typeset: {t!r}" for t in report["untypeset"][:3]]
        problems += [f"TeX error: {t!r}" for t in report["texErrors"][:3]]
        if report["hasMathJax"] and not any("/_static/mathjax/" in u for u in fonts):
            problems.append("MathJax loaded no font from _static/mathjax")
        problems += [f"MathJax font failed: {f}" for f in report["mathFonts"] if f["status"] == "error"]
    # Figures: every image decoded with a real size.
    problems += [f"image did not load: {i['src']}" for i in report["images"] if not i["ok"]]
    # Links: every internal link points at a built file (and anchor).
    problems += [f"broken internal link: {b}" for b in _broken_links(report["links"], browser.origin)]
    problems += _accessibility_problems(report, violations)
    return problems


@functools.cache
def _axe() -> object:
    """axe-core (bundled with axe-playwright-python: nothing is fetched), injected into each page."""
    return pytest.importorskip("axe_playwright_python.sync_playwright").Axe()


def _figure_chunk(src: str) -> dict | None:
    """The ``rlvae-figure`` report that rlvae_tutorial.style writes into a figure's PNG."""
    from PIL import Image

    from rlvae_tutorial.style import FIGURE_CHUNK

    path = _html_root() / unquote(urlsplit(src).path).lstrip("/")
    if path.suffix != ".png" or not path.exists():
        return None
    with Image.open(path) as image:
        text = image.info.get(FIGURE_CHUNK)
    return json.loads(text) if text else None


def _accessibility_problems(report: dict, violations: list[dict]) -> list[str]:
    """WCAG 2.0/2.1 A and AA (axe-core), formulas for screen readers and within the column, and
    figures: meaningful alt text, at least 2x resolution, and no text under MIN_FONT_PX as shown."""
    from rlvae_tutorial.style import MIN_FONT_PX, SCALE

    problems = [f"axe {v['id']} ({v['impact']}) on {len(v['nodes'])} element(s), e.g. "
                f"{v['nodes'][0]['target']}: {v['help']}" for v in violations]
    if report["mjxContainers"] and report["assistiveMath"] < report["mjxContainers"]:
        problems.append(f"only {report['assistiveMath']} of {report['mjxContainers']} formulas carry "
                        "MathJax's assistive MathML (mathjax3_config in _config.yml)")
    for m in report["displayMath"]:
        if m["right"] > report["articleRight"] + 1 or (m["overflows"] and not m["scrolls"]):
            problems.append(f"display math runs past the column: {m['text']!r}")
    for fig in report["figures"]:
        name = fig["src"].rsplit("/", 1)[-1]
        if "/_images/" not in fig["src"]:
            continue  # the theme's logos and icons
        alt = (fig["alt"] or "").strip()
        if len(alt.split()) < 4 or HASH_ALT.search(alt):
            problems.append(f"figure {name} has no meaningful alt text: {alt[:40]!r}")
        if fig["natural"] and fig["shown"] and fig["natural"] < SCALE * fig["shown"]:
            problems.append(f"figure {name} is {fig['natural']} px for {fig['shown']} px shown (< {SCALE}x)")
        chunk = _figure_chunk(fig["src"])
        if fig["src"].endswith(".png") and chunk is None:
            problems.append(f"figure {name} was not drawn in the book's style (rlvae_tutorial.style)")
        elif chunk is not None and fig["natural"]:
            shown_px = chunk["min_font_pt"] * chunk["dpi"] / 72 * fig["shown"] / fig["natural"]
            if shown_px < MIN_FONT_PX:
                problems.append(f"figure {name}: its smallest text is {shown_px:.1f} px as shown (< {MIN_FONT_PX:g})")
    return problems


@pytest.mark.parametrize("page", _pages())
def test_page_in_a_browser(browser: Browser, page: str) -> None:
    chapter = page.removesuffix(".html") in toc_files()
    problems = _inspect(browser, page, screenshot=_screenshot_path(page) if chapter else None)
    assert not problems, f"{page}:\n" + "\n".join(problems)


BROKEN_PAGE = """<!DOCTYPE html><html><head>
<script src="https://cdn.example.invalid/mathjax.js"></script></head><body>
<p>Raw display math $$x^2$$ left untypeset.</p>
<p><span class="math notranslate nohighlight">\\(y\\)</span></p>
<img src="../_images/no-such-figure.png" alt="missing">
<a href="no_such_chapter.html">a broken link</a>
<script>undefinedFunction();</script>
<article><div role="list" class="citation-list"><div role="doc-biblioentry">A. Author. 2020.</div></div>
<img src="../_images/0123456789abcdef0123456789abcdef.png">
<mjx-container display="true" style="display:block; overflow:hidden; width:100px">
  <span style="display:inline-block; width:3000px">a very long formula</span></mjx-container></article>
</body></html>"""


def test_the_browser_check_catches_a_broken_page(browser: Browser) -> None:
    problems = "\n".join(_inspect(browser, "book/__broken__.html", html=BROKEN_PAGE))
    for expected in ("fetches from the network: https://cdn.example.invalid/mathjax.js",
                     "raw TeX on the page: 'Raw display math $$x^2$$ left untypeset.'",
                     "the page has math but MathJax did not load", "formula not typeset",
                     "image did not load", "HTTP 404", "broken internal link",
                     "script error: undefinedFunction is not defined", "axe aria-deprecated-role",
                     "axe aria-required-children", "axe image-alt", "has no meaningful alt text",
                     "display math runs past the column: 'a very long formula'"):
        assert expected in problems, f"missed {expected!r} in:\n{problems}"


def test_link_checker_finds_broken_links() -> None:
    origin = "http://127.0.0.1:1"
    root = _html_root()
    page = next(p for p in _pages() if p.startswith("book/"))
    ids = sorted(_anchors(root / page))
    good = [f"{origin}/{page}", f"{origin}/{page}#{ids[0]}", f"{origin}/", "https://example.org/x"]
    bad = [f"{origin}/book/no_such_page.html", f"{origin}/{page}#no-such-anchor"]
    assert _broken_links(good, origin) == []
    assert len(_broken_links(bad, origin)) == 2


def test_raw_tex_pattern() -> None:
    """The page script's raw-TeX test, in Python, on what it must and must not flag."""
    (js_regex,) = re.findall(r"if \(/(.+?)/\.test\(text\)\)", PAGE_REPORT_JS)
    pattern = re.compile(js_regex)  # the same syntax in JavaScript and Python
    assert all(pattern.search(s) for s in ["$$x$$", r"\(x\)", r"\[x\]", r"\begin{align}"])
    assert not any(pattern.search(s) for s in ["costs $5", "a (b) [c]", "x = 1", "$x$"])


def test_math_renders_from_a_file_url(browser: Browser) -> None:
    """The README says: open _build/html/index.html.  From file://, math and its fonts load too."""
    page = "book/notation.html"
    tab = browser.context.new_page()
    failed: list[str] = []
    tab.on("requestfailed", lambda r: failed.append(f"{r.url} ({r.failure})"))
    try:
        tab.goto((_html_root() / page).resolve().as_uri(), wait_until="load")
        report = tab.evaluate(PAGE_REPORT_JS)
    finally:
        tab.close()
    assert not failed, f"file://{page}: requests failed: {failed}"
    assert report["mathElements"] and not report["untypeset"], f"file://{page}: math not typeset"
    statuses = {f["status"] for f in report["mathFonts"]}
    assert "loaded" in statuses and "error" not in statuses, f"file://{page}: {report['mathFonts']}"
