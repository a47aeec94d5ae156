"""The book's one repository setting: ``repository.url`` in ``_config.yml``.

Everything that points readers at a repository derives from it: the repository button and the
Binder/Colab launch buttons of the built pages, and the first (Colab) cell of every notebook.
While it is unset (``url: ""``, the default: the project has no public home yet), no page links to
a repository and no notebook installs from one; a name that nobody owns would let whoever
registers it ship code to every Colab reader.

A fork sets it once, e.g. ``url: https://github.com/<owner>/rlvae-tutorial``, and runs

    python -m sphinxext.repository sync

which rewrites the first cell of every notebook in ``_toc.yml`` to match (``check`` only reports,
and the book build warns, so ``-W`` fails, when a notebook disagrees with the setting).
As a Sphinx extension (``sphinx.local_extensions`` in ``_config.yml``) this module turns the
repository button on exactly when the URL is set.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
GITHUB = re.compile(r"^https://github\.com/[A-Za-z0-9][A-Za-z0-9-]*/[A-Za-z0-9._-]+$")
MARKER = "# On Google Colab, install the book's package first (no effect anywhere else)."
UNSET_MESSAGE = ("This book's repository is not set, so this notebook cannot install its package "
                 "here: pip install rlvae-tutorial from a copy of the repository (its README, "
                 "'Repository setting', says how to set one).")


def check_url(url: str) -> str:
    """``url`` without a trailing slash, if it is empty or ``https://github.com/<owner>/<name>``.

    Raises ValueError for anything else (Colab's launch links and ``pip install git+...`` need
    that form).
    """
    url = str(url or "").strip().rstrip("/")
    if url and not GITHUB.match(url):
        raise ValueError(f"_config.yml: repository.url must be empty or https://github.com/<owner>/<name>, "
                         f"got {url!r}")
    return url


def repository_url(root: Path = ROOT) -> str:
    """The ``repository.url`` of ``root/_config.yml``: ``""`` when unset, else a GitHub URL."""
    config = yaml.safe_load((root / "_config.yml").read_text()) or {}
    return check_url((config.get("repository") or {}).get("url"))


def colab_cell_source(url: str) -> str:
    """The first code cell of every notebook: install the package on Colab only, from ``url``.

    Unset ``url``: on Colab the cell only says how to install; elsewhere it does nothing.
    """
    head = f'{MARKER}\nimport sys\n\nif "google.colab" in sys.modules:\n'
    if url:
        return head + f'    %pip install -q "rlvae-tutorial @ git+{url}"'
    return head + f"    print({UNSET_MESSAGE!r})"


def toc_notebooks(root: Path = ROOT) -> list[Path]:
    """Every notebook that ``_toc.yml`` lists, in file order."""
    text = (root / "_toc.yml").read_text()
    files = re.findall(r"(?:file|root):\s*(\S+)", text)
    return [root / f"{f}.ipynb" for f in files if (root / f"{f}.ipynb").exists()]


def _first_code_cell(notebook: dict) -> dict:
    return next(c for c in notebook["cells"] if c["cell_type"] == "code")


def _source(cell: dict) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def disagreeing(root: Path = ROOT, url: str | None = None) -> list[str]:
    """Notebooks whose first code cell is not the Colab cell of ``url`` (default: the setting)."""
    expected = colab_cell_source(repository_url(root) if url is None else check_url(url))
    return [p.relative_to(root).as_posix() for p in toc_notebooks(root)
            if _source(_first_code_cell(json.loads(p.read_text()))) != expected]


def sync(root: Path = ROOT) -> list[str]:
    """Rewrite the Colab cell of every notebook to the setting; returns the notebooks changed.

    Only that cell's source changes (its id, tags and every other cell stay as they are).
    """
    expected = colab_cell_source(repository_url(root))
    changed = []
    for path in toc_notebooks(root):
        notebook = json.loads(path.read_text())
        cell = _first_code_cell(notebook)
        if _source(cell) == expected:
            continue
        if MARKER not in _source(cell):
            raise ValueError(f"{path.name}: the first code cell is not the Colab install cell "
                             f"(it should start with {MARKER!r})")
        cell["source"] = expected.splitlines(keepends=True)
        # nbformat's own layout (indent 1, sorted keys), as scripts/nbtools.py writes notebooks.
        path.write_text(json.dumps(notebook, indent=1, sort_keys=True, ensure_ascii=False) + "\n")
        changed.append(path.relative_to(root).as_posix())
    return changed


def _on_config_inited(app: Any, config: Any) -> None:
    """Repository button on exactly when the URL is set; no launch buttons without it.

    The URL is the one Jupyter Book passed on from the configuration in use (``repository.url``).
    """
    options = dict(config.html_theme_options or {})
    url = check_url(options.get("repository_url", ""))
    options["repository_url"] = url
    options["use_repository_button"] = bool(url)
    if not url:
        options["launch_buttons"] = {}
    config.html_theme_options = options


def _on_builder_inited(app: Any) -> None:
    from sphinx.util import logging

    url = app.config.html_theme_options.get("repository_url", "")
    for name in disagreeing(Path(app.confdir), url):
        logging.getLogger(__name__).warning(
            f"{name}: its Colab cell does not match repository.url in _config.yml; "
            "run `python -m sphinxext.repository sync`")


def setup(app: Any) -> dict[str, Any]:
    app.connect("config-inited", _on_config_inited, priority=900)
    app.connect("builder-inited", _on_builder_inited)
    return {"version": "0.1", "parallel_read_safe": True, "parallel_write_safe": True}


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else "check"
    if command == "sync":
        print("\n".join(sync()) or "every notebook already matches")
    elif command == "check":
        bad = disagreeing()
        print("\n".join(bad) or "every notebook matches repository.url")
        sys.exit(1 if bad else 0)
    else:
        sys.exit("usage: python -m sphinxext.repository [check|sync]")
