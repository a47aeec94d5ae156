"""The book's own Sphinx extension: chapters run in book order, their measured run times, the
page that shows them, the seed sweeps' page, and no Thebe scripts on pages that have no Thebe button.

Sphinx reads (so myst-nb executes) documents in alphabetical order; this extension reorders them
to the table of contents, so a closing chapter sees the results (``rlvae_tutorial.results``) that
the chapters before it recorded in the same build.

When every notebook has been executed (Sphinx's ``env-updated`` event), the build writes its
execution report to ``<runtimes dir>/<mode>.json``: myst-nb's measured wall time of each notebook
(kernel start included), whether it succeeded, a fingerprint of the notebook's source, and the
device and machine it ran on.  ``<mode>`` is ``quick`` or ``full`` (``RLVAE_QUICK``), and the
folder is ``_build/runtimes`` (``RLVAE_RUNTIMES_DIR`` overrides it).

The ``{rlvae-runtimes}`` directive is replaced at write time, after every notebook ran, by a
table read from both modes' reports and each notebook's stated budget (notebook metadata
``rlvae: {budget_full_s: ..., budget_quick_s: ...}``).  Nothing in the table is typed by hand:
a mode that has not been measured in this checkout, or whose notebook changed since, says so.

The ``{rlvae-robustness}`` directive is replaced, likewise, by the seed sweeps committed in
``sweeps/*.json`` (``scripts/sweep.py``; helpers in ``sphinxext/robustness.py``): per chapter its
pass rate in each mode, the spread of each recorded number over seeds, and every failed run; a
chapter never swept says "not swept", and one whose code changed since its sweep says "stale".

With ``RLVAE_SEED`` set (``make test``'s quick build), every notebook runs with that seed instead
of its default, injected after its ``parameters`` cell the way papermill does it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from docutils import nodes
from sphinx.addnodes import pending_xref
from sphinx.transforms.post_transforms import SphinxPostTransform
from sphinx.util.docutils import SphinxDirective

from sphinxext.robustness import (
    SWEEPS_DIR,
    claim_rows,
    describe_sweep,
    env_seed,
    failures,
    load_sweeps,
    robustness_rows,
    verdict_rows,
    with_seed,
)
from sphinxext.runtimes import (
    MODES,
    build_report,
    current_mode,
    describe_machine,
    load_report,
    machine_info,
    runtime_rows,
    runtimes_dir,
    total_runtime,
    write_report,
)

HAS_TABLE = "rlvae_has_runtime_table"
HAS_ROBUSTNESS = "rlvae_has_robustness_table"


class RuntimesNode(nodes.General, nodes.Element):
    """Placeholder replaced by the run-time table once every notebook has run."""


class RuntimesDirective(SphinxDirective):
    """``{rlvae-runtimes}``: the table of measured run times (full and quick mode)."""

    def run(self) -> list[nodes.Node]:
        self.env.metadata.setdefault(self.env.docname, {})[HAS_TABLE] = True
        return [RuntimesNode()]


class RobustnessNode(nodes.General, nodes.Element):
    """Placeholder replaced by the seed-sweep tables (``sweeps/*.json``) at write time."""


class RobustnessDirective(SphinxDirective):
    """``{rlvae-robustness}``: each chapter's sweep pass rates and its recorded numbers' spread."""

    def run(self) -> list[nodes.Node]:
        self.env.metadata.setdefault(self.env.docname, {})[HAS_ROBUSTNESS] = True
        for path in sorted((Path(self.env.srcdir) / SWEEPS_DIR).glob("*.json")):
            self.env.note_dependency(str(path))
        return [RobustnessNode()]


def _table(header: list[str], rows: list[list[Any]]) -> nodes.table:
    """A plain table; a cell is text, or a node (a chapter link)."""
    table = nodes.table(classes=["colwidths-auto"])
    group = nodes.tgroup(cols=len(header))
    table += group
    group += [nodes.colspec(colwidth=1) for _ in header]
    head, body = nodes.thead(), nodes.tbody()
    group += [head, body]
    head += nodes.row("", *[nodes.entry("", nodes.paragraph(text=h)) for h in header])
    for cells in rows:
        body += nodes.row("", *[nodes.entry("", c if isinstance(c, nodes.Node) else nodes.paragraph(text=c))
                                for c in cells])
    return table


def _doc_link(refdoc: str, docname: str) -> nodes.paragraph:
    link = pending_xref(refdoc=refdoc, reftype="doc", refdomain="std", reftarget="/" + docname,
                        refexplicit=False, refwarn=True)
    link += nodes.inline(text=docname)
    return nodes.paragraph("", "", link)


class RobustnessTransform(SphinxPostTransform):
    default_priority = 8  # before the reference resolvers, so the chapter links resolve

    def run(self, **kwargs: Any) -> None:
        placeholders = list(self.document.findall(RobustnessNode))
        if not placeholders:
            return
        sweeps = load_sweeps(Path(self.app.srcdir) / SWEEPS_DIR)
        notebooks = _notebooks(self.env)
        for node in placeholders:
            node.replace_self(self._render(notebooks, sweeps))

    def _render(self, notebooks: dict[str, Path], sweeps: list[dict]) -> list[nodes.Node]:
        doc = self.env.docname
        rows = [[_doc_link(doc, name), quick, full] for name, quick, full in robustness_rows(notebooks, sweeps)]
        out: list[nodes.Node] = [_table(["Chapter", "Quick mode: seeds passed", "Full mode: seeds passed"], rows)]
        for name in notebooks:
            claims, failed = claim_rows(name, sweeps), failures(name, sweeps)
            if not claims and not failed:
                continue
            out.append(nodes.rubric(text=name))
            if claims:
                out.append(_table(["Recorded number", "Quick: mean ± sd (range, n)",
                                   "Full: mean ± sd (range, n)"], claims))
            if failed:
                items = nodes.bullet_list()
                items += [nodes.list_item("", nodes.paragraph(text=f"Failed: {f}")) for f in failed]
                out.append(items)
        verdicts = verdict_rows(sweeps)
        if verdicts:
            out.append(nodes.rubric(text="Verdicts of the closing chapter, seed by seed"))
            out.append(nodes.paragraph(text=(
                "Each verdict of post_claims that the sweeps measured, worked out separately for every "
                "swept seed from that seed's recorded results by the same rule the chapter uses: how "
                "often each verdict came out.")))
            out.append(_table(["Claim", "Quick mode", "Full mode"], verdicts))
        described = [nodes.paragraph(text=describe_sweep(s)) for s in sweeps]
        return out + (described or [nodes.paragraph(text="No sweep has been committed yet (sweeps/).")])


def _notebooks(env: Any) -> dict[str, Path]:
    """Docname -> notebook path, in table-of-contents order."""
    order: list[str] = []

    def walk(doc: str) -> None:
        if doc in order:
            return
        order.append(doc)
        for child in env.toctree_includes.get(doc, []):
            walk(child)

    walk(env.config.root_doc)
    order += sorted(set(env.found_docs) - set(order))
    paths = {doc: Path(env.doc2path(doc)) for doc in order}
    return {doc: p for doc, p in paths.items() if p.suffix == ".ipynb"}


def toc_order(site_map: Any) -> list[str]:
    """Docnames of a sphinx-external-toc site map, depth first from the root: the book's order."""
    order: list[str] = []

    def walk(doc: str) -> None:
        if doc in order or doc not in site_map:
            return
        order.append(doc)
        for child in site_map[doc].child_files():
            walk(child)

    walk(site_map.root.docname)
    return order


def _read_in_toc_order(app: Any, env: Any, docnames: list[str]) -> None:
    site_map = getattr(app.config, "external_site_map", None)
    if site_map is None:
        return
    rank = {doc: i for i, doc in enumerate(toc_order(site_map))}
    docnames.sort(key=lambda doc: (rank.get(doc, len(rank)), doc))


def _inject_seed(app: Any, docname: str, source: list[str]) -> None:
    """With ``$RLVAE_SEED`` set (the quick build of ``make test``), run every notebook with that
    seed: papermill's ``injected-parameters`` cell after the ``parameters`` cell, shown on the page."""
    seed = env_seed()
    if seed is not None and str(app.env.doc2path(docname)).endswith(".ipynb"):
        source[0] = with_seed(source[0], seed)


def _drop_unused_scripts(app: Any, pagename: str, templatename: str, context: dict,
                         doctree: Any) -> None:
    """Drop duplicated scripts, and Thebe's while Thebe is off.

    Jupyter Book adds sphinx-thebe's inline configuration twice, which declares ``const
    THEBE_JS_URL`` twice: a script error on every page.  With ``launch_buttons.thebe`` off no
    button can start Thebe, so its scripts (which would fetch Thebe from unpkg.com) go.
    """
    thebe_on = bool((app.config.html_theme_options or {}).get("launch_buttons", {}).get("thebe"))
    seen: set[tuple] = set()
    kept = []
    for js in context.get("script_files", []):
        name, attrs = str(getattr(js, "filename", js) or ""), dict(getattr(js, "attributes", {}))
        if not thebe_on and ("THEBE_JS_URL" in attrs.get("body", "") or name.endswith("sphinx-thebe.js")):
            continue
        key = (name, tuple(sorted(attrs.items())))
        if key not in seen:
            seen.add(key)
            kept.append(js)
    context["script_files"] = kept


def _on_env_updated(app: Any, env: Any) -> list[str]:
    from myst_nb.sphinx_ import NbMetadataCollector

    data = {doc: d.get("exec_data") for doc, d in NbMetadataCollector.get_doc_data(env).items()}
    notebooks = _notebooks(env)
    if any(data.get(doc) for doc in notebooks):
        report = build_report(current_mode(), data, notebooks, machine_info())
        write_report(report, runtimes_dir(app.srcdir))
    return [doc for doc, meta in env.metadata.items() if meta.get(HAS_TABLE) or meta.get(HAS_ROBUSTNESS)]


class RuntimesTransform(SphinxPostTransform):
    default_priority = 8  # before the reference resolvers, so the chapter links resolve

    def run(self, **kwargs: Any) -> None:
        placeholders = list(self.document.findall(RuntimesNode))
        if not placeholders:
            return
        directory = runtimes_dir(self.app.srcdir)
        reports = {mode: load_report(mode, directory) for mode in MODES}
        notebooks = _notebooks(self.env)
        for node in placeholders:
            node.replace_self(self._render(notebooks, reports))

    def _render(self, notebooks: dict[str, Path], reports: dict[str, dict | None]) -> list[nodes.Node]:
        header = ["Chapter", "Full: budget", "Full: measured", "Quick: budget", "Quick: measured"]
        rows = [[_doc_link(self.env.docname, docname), *cells]
                for docname, *cells in runtime_rows(notebooks, reports)]
        rows.append(["Total", "", total_runtime(notebooks, reports["full"]), "",
                     total_runtime(notebooks, reports["quick"])])
        table = _table(header, rows)
        notes = [nodes.paragraph(text=describe_machine(mode, reports[mode])) for mode in MODES]
        return [table, *notes]


def setup(app: Any) -> dict[str, Any]:
    app.add_node(RuntimesNode)
    app.add_directive("rlvae-runtimes", RuntimesDirective)
    app.add_post_transform(RuntimesTransform)
    app.add_node(RobustnessNode)
    app.add_directive("rlvae-robustness", RobustnessDirective)
    app.add_post_transform(RobustnessTransform)
    app.connect("env-updated", _on_env_updated)
    app.connect("env-before-read-docs", _read_in_toc_order)
    app.connect("source-read", _inject_seed)
    app.connect("html-page-context", _drop_unused_scripts, priority=900)
    return {"version": "0.1", "parallel_read_safe": True, "parallel_write_safe": True}
