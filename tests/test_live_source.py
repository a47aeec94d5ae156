"""The chapters show the package's live source (sphinxext/live_source.py, issue 15).

Static checks (always): every chapter of the RL, VAE and RL+VAE parts of ``_toc.yml`` has a
Markdown cell with an ``{rlvae-source}`` directive naming a package object, and every such
directive in the book resolves to source lines (a renamed function or a lost ``start-after`` text
fails here, before a book build does).  Built checks (with ``RLVAE_BUILT_HTML``, as ``make test``
sets): those pages contain a rendered package listing with the current source, and its link to
the whole module points at a built page.
"""

from __future__ import annotations

import html
import json
import os
import re
from pathlib import Path

import pytest
import yaml

from sphinxext.live_source import (
    CSS_CLASS,
    cut,
    dedent,
    imported_names,
    locate,
    module_page,
    parse_lines,
    resolve,
    source_span,
)
from tests.notebook_utils import ROOT

PARTS = ("Reinforcement learning", "Variational autoencoders", "RL meets VAEs")
DIRECTIVE = re.compile(r"^```\{rlvae-source\}[ \t]+(\S+)[ \t]*\n((?::[^\n]*\n)*)```", re.M)
BUILT = os.environ.get("RLVAE_BUILT_HTML")


def _chapters(parts: tuple[str, ...] = PARTS) -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    found = [c["file"] for p in toc["parts"] if p.get("caption") in parts for c in p["chapters"]]
    assert len(found) >= len(parts), f"_toc.yml has no chapters under {parts}"
    return found


def _directives(notebook: Path) -> list[tuple[str, dict[str, str]]]:
    """``(dotted name, options)`` of every rlvae-source directive in the notebook's Markdown cells."""
    cells = json.loads(notebook.read_text())["cells"]
    out = []
    for cell in cells:
        if cell["cell_type"] != "markdown":
            continue
        for m in DIRECTIVE.finditer("".join(cell["source"])):
            opts = dict(line[1:].split(": ", 1) for line in m.group(2).splitlines())
            out.append((m.group(1), opts))
    return out


def _shown(name: str, opts: dict[str, str]) -> list[str]:
    lines, start, _ = source_span(resolve(name)[0])
    lines, _ = cut(lines, start, opts.get("start-after"), opts.get("end-before"))
    return dedent(lines)


@pytest.mark.parametrize("chapter", _chapters())
def test_every_training_chapter_shows_package_source(chapter: str) -> None:
    found = _directives(ROOT / f"{chapter}.ipynb")
    assert found, (
        f"{chapter} shows no package source: add a Markdown cell with "
        "```{rlvae-source} rlvae_tutorial.<module>.<function>``` and walk through it"
    )


def test_every_directive_in_the_book_resolves() -> None:
    count = 0
    for notebook in sorted((ROOT / "book").glob("*.ipynb")):
        for name, opts in _directives(notebook):
            shown = _shown(name, opts)
            assert shown and any(line.strip() for line in shown), f"{notebook.name}: {name} shows nothing"
            if "emphasize-lines" in opts:
                parse_lines(opts["emphasize-lines"], len(shown))
            count += 1
    assert count >= len(_chapters())


def test_resolve_and_cut() -> None:
    obj, modname = resolve("rlvae_tutorial.rl.tabular.q_learning_update")
    assert modname == "rlvae_tutorial.rl.tabular" and obj.__name__ == "q_learning_update"
    lines, start, path = source_span(obj)
    assert lines[0].startswith("def q_learning_update(") and path.name == "tabular.py"
    assert path.read_text().splitlines()[start - 1] == lines[0]  # numbered as in its file
    inner, first = cut(lines, start, "td = target", None)
    assert first == start + next(i for i, x in enumerate(lines) if "td = target" in x) + 1
    assert inner[-1].strip() == "return float(td)"
    method, _ = resolve("rlvae_tutorial.vae.losses.VAELoss.__call__")
    assert dedent(source_span(method)[0])[0].startswith("def __call__(")
    with pytest.raises(ValueError, match="only rlvae_tutorial"):
        resolve("torch.nn.functional.relu")
    with pytest.raises(ValueError, match="has no 'nope'"):
        resolve("rlvae_tutorial.rl.tabular.nope")
    with pytest.raises(ValueError, match="not in the source"):
        cut(lines, start, "no such text", None)
    assert parse_lines("2,4-5", 5) == [2, 4, 5]
    with pytest.raises(ValueError, match="outside"):
        parse_lines("4-6", 5)


def test_imported_names_are_found_and_located() -> None:
    src = "%matplotlib inline\nfrom rlvae_tutorial.rl import (\n    q_learning,\n)\nfrom torch import nn\n" \
          "from rlvae_tutorial.vae import VAE as V\nx = 1\n"
    names = imported_names(src)
    assert names == {"q_learning": "rlvae_tutorial.rl.q_learning", "V": "rlvae_tutorial.vae.VAE"}
    modname, line = locate(names["q_learning"])
    assert modname == "rlvae_tutorial.rl.tabular" and line > 1
    assert locate("rlvae_tutorial.rlvae.ESTIMATORS") is None  # a constant: nothing to point at
    assert module_page("rlvae_tutorial.rl.tabular") == "_source/rlvae_tutorial/rl/tabular"


@pytest.mark.skipif(not BUILT, reason="set RLVAE_BUILT_HTML to a built book (make test does)")
@pytest.mark.parametrize("chapter", _chapters())
def test_built_chapter_renders_the_current_source(chapter: str) -> None:
    root = ROOT / str(BUILT)
    page = root / f"{chapter}.html"
    assert page.exists(), f"{page} was not built"
    text = page.read_text(encoding="utf-8")
    blocks = re.findall(rf'<div class="{CSS_CLASS} highlight-python[^"]*"><div class="highlight"><pre>(.*?)</pre>',
                        text, re.S)
    assert blocks, f"{chapter}: no rendered package listing (class {CSS_CLASS})"
    rendered = "\n".join(html.unescape(re.sub(r"<[^>]+>", "", b)) for b in blocks)
    name, opts = _directives(ROOT / f"{chapter}.ipynb")[0]
    first = next(line.strip() for line in _shown(name, opts) if line.strip())
    assert first in rendered, f"{chapter}: the listing of {name} is not the current source ({first!r})"
    for href in re.findall(r'class="rlvae-source-link[^"]*" href="([^"#]+)#L-\d+"', text):
        assert (page.parent / href).resolve().exists(), f"{chapter}: source link {href} points at no page"


@pytest.mark.parametrize("builder", ["html", "text"])
def test_directive_in_a_small_sphinx_project(tmp_path: Path, builder: str) -> None:
    """The directive end to end, without the book: the listing, its module page and its link."""
    from sphinx.application import Sphinx
    from sphinx.util.docutils import docutils_namespace

    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "conf.py").write_text("extensions = ['sphinxext.live_source']\n")
    (src / "index.rst").write_text("Index\n=====\n\n.. toctree::\n\n   sub/page\n")
    (src / "sub" / "page.rst").write_text(
        "Page\n====\n\n.. rlvae-source:: rlvae_tutorial.rl.tabular.q_learning_update\n   :emphasize-lines: 2\n"
    )
    out = tmp_path / "out"
    with docutils_namespace():  # a second Sphinx in one process must not re-register nodes globally
        app = Sphinx(str(src), str(src), str(out), str(tmp_path / "doctrees"), builder,
                     status=None, warning=None, freshenv=True, warningiserror=True)
        app.build()
    lines, start, _ = source_span(resolve("rlvae_tutorial.rl.tabular.q_learning_update")[0])
    if builder == "text":
        text = (out / "sub" / "page.txt").read_text()
        assert "def q_learning_update(" in text and "in full" in text and "rlvae-source:" not in text
        return
    page = (out / "sub" / "page.html").read_text()
    assert f'<div class="{CSS_CLASS} highlight-python' in page and '<span class="hll">' in page
    assert f'<span class="linenos">{start}</span>' in page  # numbered as in the file
    hrefs = re.findall(r'href="([^"]*_source/rlvae_tutorial/rl/tabular\.html)#L-(\d+)"', page)
    assert hrefs and int(hrefs[0][1]) == start
    module = (out / "sub" / hrefs[0][0]).resolve()
    assert module.exists() and f'id="L-{start}"' in module.read_text()
