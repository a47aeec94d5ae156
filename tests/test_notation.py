"""The Notation page (book/notation.md) lists the symbols the chapters use, with their meanings.

Each table row there is ``| $symbol$ | meaning | chapters |`` where *chapters* is ``all`` or a
comma-separated list of pages (``vae_beta, rl_latents``).  Checked here, on the mathematics of
every page of the book (``$...$`` and ``$$...$$`` in Markdown cells and Markdown files):

- every symbol the page lists occurs in the mathematics of a page it names (no stale rows);
- a symbol whose every meaning is restricted to some pages (``λ``: GAE in rl_actor_critic, the KL
  coefficient in app_images and app_text) occurs on no other page, so a chapter cannot use it in a
  meaning the page does not list.  Restricted symbols are Greek letters and Latin letters (with a
  subscript, if the row gives one); richer expressions are checked for occurrence only.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.notebook_utils import ROOT

BOOK = ROOT / "book"
NOTATION = BOOK / "notation.md"
MATH = re.compile(r"\$\$(.+?)\$\$|\$([^$\n]+?)\$", re.S)
# Text inside math is not a symbol; \mathbb R and \mathcal N are not Latin letters either.
TEXTY = re.compile(r"\\(?:mathrm|text|operatorname|textstyle|mathsf|label)\s*\{[^}]*\}"
                   r"|\\(?:mathbb|mathcal)\s*(?:\{[^}]*\}|[A-Za-z])|\\frac\s*\{d\}\s*\{d[^}]*\}")
GREEK = {"alpha", "beta", "gamma", "delta", "varepsilon", "epsilon", "kappa", "lambda", "mu", "tau",
         "theta", "phi", "pi", "sigma", "ell", "psi"}


@dataclass(frozen=True)
class Row:
    symbol: str  # the LaTeX of the first $...$ in the Symbol cell
    chapters: frozenset[str] | None  # None: every chapter


def notation_rows(text: str) -> list[Row]:
    """The rows of every ``| Symbol | Meaning | Chapters |`` table of the Notation page."""
    rows, in_table = [], False
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")] if line.startswith("|") else []
        if cells[:1] == ["Symbol"]:
            in_table = cells == ["Symbol", "Meaning", "Chapters"]
            assert in_table, f"notation tables need the columns Symbol | Meaning | Chapters, got {cells}"
            continue
        if not cells or set(cells[0]) <= {"-", " "}:
            in_table = in_table and bool(cells)
            continue
        if in_table:
            m = MATH.search(cells[0])
            assert m, f"notation row without a $symbol$: {line}"
            where = cells[-1]
            chapters = None if where == "all" else frozenset(c.strip() for c in where.split(","))
            rows.append(Row(m.group(2) or m.group(1), chapters))
    return rows


def page_math(path: Path) -> str:
    """All the mathematics of one page, joined by newlines."""
    if path.suffix == ".ipynb":
        cells = json.loads(path.read_text())["cells"]
        text = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    else:
        text = path.read_text()
    return "\n".join((m.group(1) or m.group(2)) for m in MATH.finditer(text))


# Back-matter pages that restate the chapters' equations (each linked to the chapter that derives
# it) use every meaning a symbol has; the chapters are what the Notation page is checked against.
SUMMARY_PAGES = {NOTATION.stem, "glossary", "cheatsheet"}


def book_math() -> dict[str, str]:
    pages = sorted(BOOK.glob("*.ipynb")) + sorted(BOOK.glob("*.md"))
    return {p.stem: page_math(p) for p in pages
            if p.stem not in SUMMARY_PAGES and ".ipynb_checkpoints" not in p.parts}


def _squash(s: str) -> str:
    s = re.sub(r"\\[,;!]|\\(?:big|Big|bigl|bigr)\b", "", s).replace("\\Vert", "\\|")
    return re.sub(r"[\s{}]", "", s)


def lead(symbol: str) -> str:
    """The symbol itself, without its arguments: ``p_\\theta(x \\mid z)`` -> ``p_\\theta``."""
    return re.split(r"[(\[=,]|\\mid|\\in\b|\\sim\b", _squash(symbol), maxsplit=1)[0]


def token_pattern(symbol: str) -> re.Pattern[str] | None:
    """A pattern that finds the symbol as a whole token, for Greek and Latin letters; else None."""
    s = lead(symbol)
    if (m := re.fullmatch(r"\\([A-Za-z]+)", s)) and m.group(1) in GREEK:
        return re.compile(rf"\\{m.group(1)}(?![A-Za-z])")
    greek = "|".join(sorted(GREEK))
    if m := re.fullmatch(rf"([A-Za-z])(_[A-Za-z0-9]+|_\\(?:{greek})|\^\*)?", s):
        letter, sub = m.groups()
        if sub is None:
            return re.compile(rf"(?<![A-Za-z\\]){letter}(?![A-Za-z_])")
        return re.compile(rf"(?<![A-Za-z\\]){letter}{re.escape(sub[0])}\{{?{re.escape(sub[1:])}\}}?(?![A-Za-z])")
    return None


def uses(math: str, symbol: str) -> bool:
    pattern = token_pattern(symbol)
    if pattern is None:
        return lead(symbol) in _squash(math)
    return bool(pattern.search(TEXTY.sub(" ", math) if "\\" not in lead(symbol) else math))


def problems(rows: list[Row], math: dict[str, str]) -> list[str]:
    """What is wrong between the notation rows and the pages' mathematics (empty: nothing)."""
    out = []
    for row in rows:
        if row.chapters is not None and (unknown := sorted(row.chapters - set(math))):
            out.append(f"${row.symbol}$ names pages that do not exist: {unknown}")
        where = math if row.chapters is None else {k: v for k, v in math.items() if k in row.chapters}
        if not any(uses(text, row.symbol) for text in where.values()):
            out.append(f"${row.symbol}$ is listed but no page it names uses it: drop the row or fix its pages")
    by_token: dict[str, list[Row]] = {}
    for row in rows:
        if token_pattern(row.symbol) is not None:
            by_token.setdefault(lead(row.symbol), []).append(row)
    for token, same in by_token.items():
        if any(r.chapters is None for r in same):
            continue
        allowed = frozenset().union(*(r.chapters for r in same))
        for page, text in math.items():
            if page not in allowed and uses(text, same[0].symbol):
                out.append(f"{page} uses ${token}$, which the Notation page gives only for {sorted(allowed)}: "
                           "use the book's symbol, or add a row for this meaning")
    return out


def test_notation_page_lists_the_symbols_the_chapters_use() -> None:
    rows = notation_rows(NOTATION.read_text())
    assert len(rows) > 30, f"expected the notation tables, parsed only {len(rows)} rows"
    found = problems(rows, book_math())
    assert not found, "\n".join(found)


@pytest.mark.parametrize(("symbol", "math", "expected"), [
    ("\\lambda", "\\hat A = \\gamma\\lambda \\delta", True),
    ("\\lambda", "\\lambda_{\\max}", True),
    ("d", "x \\in [0, 1]^{d_x}", False),
    ("d_z", "z \\in \\mathbb R^{d_z}", True),
    ("D", "\\mathbb E_q[\\log p] = -D", True),
    ("D", "\\mathcal D \\text{ a Data set}", False),
    ("R", "z \\in \\mathbb R^2", False),
    ("p_\\theta(x \\mid z)", "\\log p_\\theta(x\\mid z)", True),
])
def test_symbol_matching(symbol: str, math: str, expected: bool) -> None:
    assert uses(math, symbol) is expected


def test_the_check_catches_a_misused_and_a_stale_symbol() -> None:
    table = """| Symbol | Meaning | Chapters |
| --- | --- | --- |
| $\\lambda$ | the GAE parameter | rl_actor_critic |
| $\\kappa$ | free bits | vae_beta |
| $x$ | data | all |
"""
    rows = notation_rows(table)
    math = {"rl_actor_critic": "\\gamma\\lambda x", "vae_beta": "\\beta x", "app_text": "r - \\lambda k"}
    found = problems(rows, math)
    assert any(f.startswith("app_text uses $\\lambda$") for f in found), found
    assert any("$\\kappa$ is listed but no page" in f for f in found), found
    assert len(found) == 2, found
