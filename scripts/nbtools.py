#!/usr/bin/env python3
"""Author notebooks as text and keep them committed without outputs.

    python scripts/nbtools.py compose SRC.py OUT.ipynb   percent-format text -> notebook
    python scripts/nbtools.py export NB.ipynb [OUT.py]    notebook -> percent-format text
    python scripts/nbtools.py strip NB.ipynb [...]        drop outputs and execution counts

Percent format (as jupytext's): a line ``# %%`` starts a code cell and ``# %% [markdown]`` a
Markdown cell whose lines start with ``# ``.  After the marker, ``tags=["a", "b"]`` sets cell
tags and ``meta={...}`` (JSON, last on the line) merges into the cell metadata, e.g.
``# %% tags=["hide-input"] meta={"mystnb": {"figure": {"caption": "...", "name": "fig-x"}}}``.

A line ``# notebook meta={...}`` before the first cell merges JSON into the notebook's own
metadata, e.g. each chapter's run-time budget in seconds (tests/test_notebook_contract.py):
``# notebook meta={"rlvae": {"budget_full_s": 120, "budget_quick_s": 30}}``.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import nbformat

MARKER = re.compile(r"^# %%(?P<md> \[markdown\])?(?P<rest>.*)$")
NOTEBOOK_META = re.compile(r"^# notebook meta=(\{.*\})\s*$")
NOTEBOOK_META_KEYS = ("rlvae",)  # notebook-level metadata that export writes back out
KERNELSPEC = {"display_name": "Python 3", "language": "python", "name": "python3"}


def _parse_rest(rest: str) -> dict:
    metadata: dict = {}
    meta = re.search(r"meta=(\{.*\})\s*$", rest)
    if meta:
        metadata.update(json.loads(meta.group(1)))
        rest = rest[: meta.start()]
    tags = re.search(r"tags=(\[.*?\])", rest)
    if tags:
        metadata["tags"] = json.loads(tags.group(1))
    return metadata


def compose(text: str) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = KERNELSPEC
    nb.metadata["language_info"] = {"name": "python"}
    cells: list[tuple[bool, dict, list[str]]] = []
    for line in text.splitlines():
        m = MARKER.match(line)
        nb_meta = NOTEBOOK_META.match(line)
        if nb_meta and not cells:
            nb.metadata.update(json.loads(nb_meta.group(1)))
        elif m:
            cells.append((bool(m.group("md")), _parse_rest(m.group("rest")), []))
        elif cells:
            cells[-1][2].append(line)
    for is_md, metadata, lines in cells:
        while lines and not lines[-1].strip():
            lines.pop()
        if is_md:
            body = "\n".join(ln[2:] if ln.startswith("# ") else ln.lstrip("#") for ln in lines)
            cell = nbformat.v4.new_markdown_cell(body)
        else:
            cell = nbformat.v4.new_code_cell("\n".join(lines))
        cell.metadata.update(metadata)
        nb.cells.append(cell)
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{i:03d}"
    return nb


def export(nb: nbformat.NotebookNode) -> str:
    out = []
    own = {k: nb.metadata[k] for k in NOTEBOOK_META_KEYS if k in nb.metadata}
    if own:
        out.append("# notebook meta=" + json.dumps(own))
    for cell in nb.cells:
        meta = {k: v for k, v in cell.metadata.items() if k != "tags"}
        head = "# %% [markdown]" if cell.cell_type == "markdown" else "# %%"
        if cell.metadata.get("tags"):
            head += " tags=" + json.dumps(cell.metadata["tags"])
        if meta:
            head += " meta=" + json.dumps(meta)
        out.append(head)
        if cell.cell_type == "markdown":
            out.extend(("# " + ln) if ln else "#" for ln in cell.source.splitlines())
        else:
            out.extend(cell.source.splitlines())
        out.append("")
    return "\n".join(out)


def strip(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        for key in ("execution", "collapsed", "scrolled"):
            cell.metadata.pop(key, None)
    for key in ("papermill", "widgets"):
        nb.metadata.pop(key, None)
    return nb


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[0] not in {"compose", "export", "strip"}:
        print(__doc__)
        return 2
    cmd, args = argv[0], argv[1:]
    if cmd == "compose":
        nb = compose(Path(args[0]).read_text())
        nbformat.validate(nb)
        nbformat.write(nb, args[1])
    elif cmd == "export":
        text = export(nbformat.read(args[0], as_version=4))
        if len(args) > 1:
            Path(args[1]).write_text(text)
        else:
            sys.stdout.write(text)
    else:
        for path in args:
            nbformat.write(strip(nbformat.read(path, as_version=4)), path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
