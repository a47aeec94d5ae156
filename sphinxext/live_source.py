"""Sphinx extension: show the package's live source on a page, and link package calls to it.

A chapter that teaches an algorithm shows the function that runs it::

    ```{rlvae-source} rlvae_tutorial.rl.tabular.q_learning_update
    :emphasize-lines: 8-9
    ```

The directive imports the object, reads its source with :func:`inspect.getsourcelines` at build
time and renders it with the file's own line numbers, a caption naming the file and the lines,
and a link to the whole module's highlighted source.  What the reader sees is therefore, by
construction, the code that ran (the notebook imports the same module in the same build).
Options:

- ``:start-after: TEXT`` / ``:end-before: TEXT``: show only the lines strictly between the first
  line containing the first TEXT and the next line containing the second (for a long function,
  mark its core with comments and show that);
- ``:emphasize-lines: 2,5-7``: highlight lines, counted from the first line shown (as Sphinx's
  ``literalinclude``);
- ``:caption: TEXT``: replaces the default caption.

Every module that a page links to gets a page ``_source/<module path>.html`` (highlighted, a
line anchor ``#L-<n>`` per line); in the code cells of every notebook page, each name imported
from ``rlvae_tutorial`` links to where it is defined.  Nothing is fetched from the network.
Listed under ``sphinx.local_extensions`` in ``_config.yml`` (as ``sphinxext.live_source``).
"""

from __future__ import annotations

import ast
import html
import importlib
import inspect
import re
from pathlib import Path
from typing import Any

from docutils import nodes
from docutils.parsers.rst import directives
from sphinx.directives.code import container_wrapper
from sphinx.util.docutils import SphinxDirective
from sphinx.util.nodes import set_source_info

PACKAGE = "rlvae_tutorial"
PAGE_PREFIX = "_source"
CSS_CLASS = "rlvae-source"
LINK_CLASS = "rlvae-source-link"
# href of a directive's "in full" link until the page is written: rlvae-source:<module>:<line>.
PLACEHOLDER = "rlvae-source:"
_PLACEHOLDER_HREF = re.compile(r'href="rlvae-source:([A-Za-z0-9_.]+):([0-9]+)"')


def resolve(dotted: str) -> tuple[Any, str]:
    """The object named ``dotted`` (``package.module.attr[.attr]``) and the name of its module."""
    if not (dotted == PACKAGE or dotted.startswith(PACKAGE + ".")):
        raise ValueError(f"rlvae-source shows only {PACKAGE}'s code, got {dotted!r}")
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        modname = ".".join(parts[:cut])
        try:
            obj: Any = importlib.import_module(modname)
        except ImportError:
            continue
        try:
            for attr in parts[cut:]:
                obj = getattr(obj, attr)
        except AttributeError as exc:
            raise ValueError(f"{dotted!r}: {modname} has no {'.'.join(parts[cut:])!r}") from exc
        return obj, getattr(inspect.getmodule(obj), "__name__", modname)
    raise ValueError(f"cannot import any module of {dotted!r}")


def source_span(obj: Any) -> tuple[list[str], int, Path]:
    """``(lines, first line number, file)`` of ``obj``'s source (decorators included)."""
    obj = inspect.unwrap(obj)
    lines, start = inspect.getsourcelines(obj)
    return [line.rstrip("\n") for line in lines], max(start, 1), Path(inspect.getsourcefile(obj) or "")


def cut(lines: list[str], start: int, after: str | None, before: str | None) -> tuple[list[str], int]:
    """The lines strictly between the line containing ``after`` and the next containing ``before``."""
    if after is not None:
        hits = [i for i, line in enumerate(lines) if after in line]
        if not hits:
            raise ValueError(f"start-after text {after!r} is not in the source")
        lines, start = lines[hits[0] + 1:], start + hits[0] + 1
    if before is not None:
        hits = [i for i, line in enumerate(lines) if before in line]
        if not hits:
            raise ValueError(f"end-before text {before!r} is not in the source")
        lines = lines[: hits[0]]
    if not lines:
        raise ValueError("the selection is empty")
    return lines, start


def dedent(lines: list[str]) -> list[str]:
    """Remove the common leading whitespace (a method or a marked block shows at column 0)."""
    width = min((len(line) - len(line.lstrip()) for line in lines if line.strip()), default=0)
    return [line[width:] for line in lines]


def module_page(modname: str) -> str:
    """The page name of a module's highlighted source, e.g. ``_source/rlvae_tutorial/rl/tabular``."""
    return PAGE_PREFIX + "/" + modname.replace(".", "/")


def parse_lines(spec: str, n: int) -> list[int]:
    """``"2,5-7"`` -> ``[2, 5, 6, 7]``, checked against the ``n`` lines shown."""
    out: list[int] = []
    for part in spec.split(","):
        lo, _, hi = part.strip().partition("-")
        first, last = int(lo), int(hi or lo)
        if not 1 <= first <= last <= n:
            raise ValueError(f"emphasize-lines {spec!r} is outside the {n} lines shown")
        out.extend(range(first, last + 1))
    return out


class LiveSource(SphinxDirective):
    """``{rlvae-source} dotted.name``: the current source of a package object, numbered as its file."""

    required_arguments = 1
    option_spec = {
        "start-after": directives.unchanged_required,
        "end-before": directives.unchanged_required,
        "emphasize-lines": directives.unchanged_required,
        "caption": directives.unchanged_required,
    }

    def run(self) -> list[nodes.Node]:
        name = self.arguments[0]
        try:
            obj, modname = resolve(name)
            lines, start, path = source_span(obj)
            lines, start = cut(lines, start, self.options.get("start-after"), self.options.get("end-before"))
            lines = dedent(lines)
            hl = parse_lines(self.options["emphasize-lines"], len(lines)) if "emphasize-lines" in self.options else []
        except (ValueError, TypeError, OSError) as exc:
            raise self.error(f"rlvae-source {name}: {exc}") from exc
        if path.is_file():
            self.env.note_dependency(str(path))
        _shown(self.env).setdefault(self.env.docname, set()).add(modname)
        code = "\n".join(lines) + "\n"
        block = nodes.literal_block(code, code, language="python", linenos=True, classes=[CSS_CLASS])
        block["highlight_args"] = {"linenostart": start, **({"hl_lines": hl} if hl else {})}
        block["rlvae_module"] = modname
        set_source_info(self, block)
        end = start + len(lines) - 1
        rel = modname.replace(".", "/") + ".py"
        caption = self.options.get("caption", f"``{name}`` ({rel}, lines {start}-{end})")
        wrapped = container_wrapper(self, block, caption)
        # The link to the whole module: a placeholder that the page writer makes relative.
        link = nodes.paragraph(classes=["rlvae-source-module"])
        ref = nodes.reference("", "", internal=True, refuri=f"{PLACEHOLDER}{modname}:{start}", classes=[LINK_CLASS])
        ref += nodes.Text(f"{rel} in full")
        link += ref
        return [wrapped, link]


# --- links from code cells to the source -------------------------------------------------


def imported_names(source: str) -> dict[str, str]:
    """``{local name: dotted target}`` for every ``from rlvae_tutorial... import`` in ``source``."""
    # IPython magics and shell escapes are not Python: blank them (keeping the line count).
    source = "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines())
    try:
        tree = ast.parse(source)
    except SyntaxError:  # something else that is not Python: parse line by line
        tree = ast.Module(body=[], type_ignores=[])
        for line in source.splitlines():
            try:
                tree.body.extend(ast.parse(line.strip()).body)
            except SyntaxError:
                continue
    found: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0 and (
            node.module == PACKAGE or node.module.startswith(PACKAGE + ".")
        ):
            for alias in node.names:
                if alias.name != "*":
                    found[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return found


def locate(dotted: str) -> tuple[str, int] | None:
    """``(module name, line)`` where the package object ``dotted`` is defined, or None."""
    try:
        obj, modname = resolve(dotted)
    except (ValueError, ImportError):
        return None
    if inspect.ismodule(obj):
        return obj.__name__, 1
    if not (inspect.isfunction(obj) or inspect.isclass(obj)) or not modname.startswith(PACKAGE):
        return None  # a constant or a re-exported third-party object: no line to point at
    try:
        return modname, source_span(obj)[1]
    except (OSError, TypeError):
        return None


def _collect_imports(app: Any, doctree: nodes.document) -> None:
    """``doctree-read``: remember the package names each page's code cells import."""
    names: dict[str, str] = {}
    for block in doctree.findall(nodes.literal_block):
        parent = block.parent
        if parent is not None and parent.get("nb_element") == "cell_code_source":
            names.update(imported_names(block.astext()))
    env = app.env
    if not hasattr(env, "rlvae_imports"):
        env.rlvae_imports = {}
    env.rlvae_imports[env.docname] = names


def _shown(env: Any) -> dict[str, set[str]]:
    """``{docname: modules whose source the page shows}`` (kept in the environment)."""
    if not hasattr(env, "rlvae_shown"):
        env.rlvae_shown = {}
    return env.rlvae_shown


def _purge(app: Any, env: Any, docname: str) -> None:
    getattr(env, "rlvae_imports", {}).pop(docname, None)
    _shown(env).pop(docname, None)


def _merge(app: Any, env: Any, docnames: set[str], other: Any) -> None:
    if not hasattr(env, "rlvae_imports"):
        env.rlvae_imports = {}
    env.rlvae_imports.update({d: v for d, v in getattr(other, "rlvae_imports", {}).items() if d in docnames})
    _shown(env).update({d: v for d, v in _shown(other).items() if d in docnames})


def linked_modules(env: Any) -> set[str]:
    """The modules some page links to: shown by a directive, or defining an imported name."""
    mods = {m for shown in _shown(env).values() for m in shown}
    for names in getattr(env, "rlvae_imports", {}).values():
        mods.update(where[0] for where in map(locate, names.values()) if where is not None)
    return mods


def _drop_links_elsewhere(app: Any, doctree: nodes.document, docname: str) -> None:
    """``doctree-resolved``: other builders (LaTeX/PDF) have no module pages; keep the link text."""
    if app.builder.format == "html":
        return
    for ref in list(doctree.findall(nodes.reference)):
        if str(ref.get("refuri", "")).startswith(PLACEHOLDER):
            ref.replace_self(nodes.inline("", "", *ref.children))


def _anchor(app: Any, fromdoc: str, modname: str, line: int) -> str:
    return app.builder.get_relative_uri(fromdoc, module_page(modname)) + f"#L-{line}"


_NAME_SPAN = re.compile(r'<span class="n">([A-Za-z_][A-Za-z0-9_]*)</span>')
_HIGHLIGHT = re.compile(r'(<div class="highlight"><pre>)(.*?)(</pre></div>)', re.S)


def _link_calls(app: Any, pagename: str, templatename: str, context: dict[str, Any], doctree: Any) -> None:
    """``html-page-context``: make the "in full" links relative, and in the page's highlighted
    code link each name imported from the package to its definition."""
    if "body" not in context:
        return
    context["body"] = _PLACEHOLDER_HREF.sub(
        lambda m: f'href="{_anchor(app, pagename, m.group(1), int(m.group(2)))}"', context["body"]
    )
    names = getattr(app.env, "rlvae_imports", {}).get(pagename)
    if not names:
        return
    hrefs = {}
    for local, dotted in names.items():
        where = locate(dotted)
        if where is not None:
            hrefs[local] = _anchor(app, pagename, *where)

    def link_names(code: re.Match[str]) -> str:
        def one(m: re.Match[str]) -> str:
            href = hrefs.get(m.group(1))
            if href is None:
                return m.group(0)
            title = html.escape(names[m.group(1)], quote=True)
            return f'<a class="{LINK_CLASS}" href="{href}" title="source of {title}">{m.group(0)}</a>'

        return code.group(1) + _NAME_SPAN.sub(one, code.group(2)) + code.group(3)

    context["body"] = _HIGHLIGHT.sub(link_names, context["body"])


# --- the module pages ------------------------------------------------------------------------


def package_modules() -> list[tuple[str, Path]]:
    """``(module name, file)`` for every module of the package, sorted."""
    root = Path(importlib.import_module(PACKAGE).__file__ or "").parent
    out = []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root.parent).with_suffix("")
        parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
        out.append((".".join(parts), path))
    return out


def _module_pages(app: Any) -> Any:
    """``html-collect-pages``: a highlighted page, a ``#L-<n>`` per line, for each linked module."""
    if app.builder.format != "html":
        return
    highlighter = app.builder.highlighter
    linked = linked_modules(app.env)
    for modname, path in package_modules():
        if modname not in linked:
            continue
        code = path.read_text(encoding="utf-8")
        body = highlighter.highlight_block(code, "python", linenos="inline", lineanchors="L", anchorlinenos=True)
        rel = modname.replace(".", "/") + (".py" if path.name != "__init__.py" else "/__init__.py")
        title = f"Source of {modname}"
        page = f'<h1>{html.escape(title)}</h1>\n<p><code>{html.escape(rel)}</code>, as this build ran it.</p>\n'
        yield module_page(modname), {"title": title, "body": page + body, "parents": []}, "page.html"


def setup(app: Any) -> dict[str, Any]:
    app.add_directive("rlvae-source", LiveSource)
    app.connect("doctree-read", _collect_imports)
    app.connect("env-purge-doc", _purge)
    app.connect("env-merge-info", _merge)
    app.connect("doctree-resolved", _drop_links_elsewhere)
    app.connect("html-page-context", _link_calls)
    app.connect("html-collect-pages", _module_pages)
    return {"version": "0.1", "parallel_read_safe": True, "parallel_write_safe": True}
