"""The glossary and the cheat-sheet (book/glossary.md, book/cheatsheet.md).

Every glossary entry is linked with {term} from at least one chapter (a term no chapter uses does
not belong in the glossary, and one that no chapter links leaves its reader without the link);
every {term} link names a glossary term; every cross-reference of the cheat-sheet resolves to a
label of a chapter (``(label)=`` before a heading, or ``$$ (label)`` after an equation), and the
cheat-sheet covers the book's key equations.  (The -W book build catches broken references too;
these checks say which chapter to fix, without a build.)
"""

from __future__ import annotations

import json
import re

from tests.notebook_utils import ROOT, toc_files

TERM_ROLE = re.compile(r"\{term\}`([^`]+)`")
REF_ROLE = re.compile(r"\{(ref|eq|numref)\}`([^`]+)`")
LABEL = re.compile(r"^\(([^)\s]+)\)=\s*$", re.M)
EQ_LABEL = re.compile(r"\$\$[ \t]*\(([^)\s]+)\)[ \t]*$", re.M)
KEY_EQUATIONS = ("eq-return", "eq-policy-gradient", "eq-gae", "eq-dqn-target", "eq-elbo",
                 "eq-beta-vae", "eq-score-function", "eq-iwae", "sec-baselines")


def _markdown(doc: str) -> str:
    """The Markdown of one page of the book: a .md file, or the Markdown cells of a notebook."""
    path = ROOT / f"{doc}.ipynb"
    if path.exists():
        cells = json.loads(path.read_text())["cells"]
        return "\n\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    return (ROOT / f"{doc}.md").read_text()


def glossary_entries(text: str | None = None) -> list[list[str]]:
    """The glossary's entries, each a list of its terms (the unindented lines before a definition)."""
    text = (ROOT / "book" / "glossary.md").read_text() if text is None else text
    body = text.split("```{glossary}", 1)[1].split("\n```", 1)[0]
    entries: list[list[str]] = []
    previous_was_term = False
    for line in body.splitlines():
        if line.strip() and not line[0].isspace():
            if not previous_was_term:
                entries.append([])
            entries[-1].append(line.strip())
        previous_was_term = bool(line.strip()) and not line[0].isspace()
    return entries


def term_targets(text: str) -> list[str]:
    """The glossary term each {term} role points at (``text <Term>`` or ``Term``), lower case."""
    targets = []
    for body in TERM_ROLE.findall(text):
        explicit = re.fullmatch(r"(.*?)\s*<([^<>]+)>", body, re.S)
        targets.append((explicit.group(2) if explicit else body).strip().lower())
    return targets


def _chapters() -> list[str]:
    return [doc for doc in toc_files() if doc not in {"book/glossary", "book/cheatsheet"}]


def test_glossary_parser_and_term_targets() -> None:
    text = "```{glossary}\nELBO\nEvidence lower bound\n  def\n\nPrior\n  def\n```\n"
    assert glossary_entries(text) == [["ELBO", "Evidence lower bound"], ["Prior"]]
    assert term_targets("a {term}`priors <Prior>` and {term}`ELBO`") == ["prior", "elbo"]


def test_glossary_has_the_book_s_terms() -> None:
    entries = glossary_entries()
    terms = {t.lower() for entry in entries for t in entry}
    assert len(entries) >= 55, f"only {len(entries)} glossary entries"
    for needed in ("return", "discount factor", "policy", "value function", "advantage", "gae",
                   "td error", "q-learning", "dqn", "target network", "replay buffer",
                   "terminated", "truncated", "reinforce", "baseline", "leave-one-out baseline",
                   "score function", "reparameterisation trick", "elbo", "β-vae",
                   "kl divergence", "iwae", "posterior collapse", "amortised inference"):
        assert needed in terms, f"the glossary lacks {needed!r}"


def test_every_glossary_entry_is_linked_from_a_chapter() -> None:
    linked = {t for doc in _chapters() for t in term_targets(_markdown(doc))}
    unlinked = [entry[0] for entry in glossary_entries()
                if not linked & {t.lower() for t in entry}]
    assert not unlinked, f"glossary entries no chapter links with {{term}}: {unlinked}"


def test_every_term_link_names_a_glossary_term() -> None:
    terms = {t.lower() for entry in glossary_entries() for t in entry}
    unknown = sorted({(doc, t) for doc in toc_files() for t in term_targets(_markdown(doc))
                      if t not in terms})
    assert not unknown, f"{{term}} links to no glossary term (page, term): {unknown}"


def test_cheatsheet_links_resolve_to_the_chapters() -> None:
    labels: dict[str, str] = {}
    for doc in _chapters():
        text = _markdown(doc)
        for label in LABEL.findall(text) + EQ_LABEL.findall(text):
            labels[label] = doc
    cheatsheet = (ROOT / "book" / "cheatsheet.md").read_text()
    refs = [body.split("<")[-1].rstrip(">").strip() for _, body in REF_ROLE.findall(cheatsheet)]
    own = {"notation", "glossary"}  # back-matter pages, not derivations
    missing = [r for r in refs if r not in labels and r not in own]
    assert not missing, f"cheat-sheet references with no label in any chapter: {missing}"
    assert set(KEY_EQUATIONS) <= set(refs), f"cheat-sheet lacks {set(KEY_EQUATIONS) - set(refs)}"
    # Each key equation links a section that derives it, in the chapter that holds the equation.
    sections = [r for r in refs if r.startswith("sec-")]
    assert len(sections) >= 9 and all(labels.get(s) for s in sections)
