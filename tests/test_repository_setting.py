"""The one repository setting (``repository.url`` in ``_config.yml``, sphinxext/repository.py).

Every notebook's Colab cell agrees with it; while it is unset no notebook installs from, and no
built page links to, any repository; set (in a copy of the book), the cells install from it.
The built pages are checked in tests/test_built_site.py (test_repository_links_follow_the_setting).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from sphinxext import repository
from tests.notebook_utils import ROOT, book_notebooks
from tests.test_notebook_contract import _run_install_cell

FORK = "https://github.com/someone/rlvae-tutorial"
REPOSITORY_TRACES = ("git+", "github.com", "mybinder.org", "colab.research.google.com")


def _copy_book(tmp_path: Path, url: str) -> Path:
    """A copy of _config.yml, _toc.yml and the notebooks, with repository.url set to ``url``."""
    (tmp_path / "book").mkdir()
    for path in book_notebooks():
        shutil.copy(path, tmp_path / "book" / path.name)
    shutil.copy(ROOT / "_toc.yml", tmp_path / "_toc.yml")
    config = (ROOT / "_config.yml").read_text()
    assert '\n  url: ""\n' in config, "_config.yml: repository.url is no longer the empty default"
    (tmp_path / "_config.yml").write_text(config.replace('\n  url: ""\n', f"\n  url: {url}\n"))
    return tmp_path


def test_the_default_is_unset() -> None:
    assert repository.repository_url(ROOT) == "", (
        "repository.url must stay empty until the project has a public home (see README)")


def test_every_notebook_agrees_with_the_setting() -> None:
    assert repository.toc_notebooks(ROOT) and set(repository.toc_notebooks(ROOT)) == set(book_notebooks())
    assert repository.disagreeing(ROOT) == [], "run `python -m sphinxext.repository sync`"


def test_no_notebook_names_a_repository_while_unset() -> None:
    if repository.repository_url(ROOT):
        pytest.skip("repository.url is set")
    offenders = []
    for path in book_notebooks():
        for cell in json.loads(path.read_text())["cells"]:
            source = "".join(cell["source"])
            offenders += [f"{path.name} {cell.get('id')}: {t}" for t in REPOSITORY_TRACES if t in source]
    assert not offenders, "notebooks name a repository although repository.url is unset:\n" + "\n".join(offenders)


def test_unset_cell_installs_nothing_even_on_colab() -> None:
    source = repository.colab_cell_source("")
    assert _run_install_cell(source, on_colab=False) == []
    assert _run_install_cell(source, on_colab=True) == []
    assert not any(t in source for t in REPOSITORY_TRACES)


def test_set_cell_installs_from_the_setting_on_colab_only() -> None:
    source = repository.colab_cell_source(FORK)
    assert _run_install_cell(source, on_colab=False) == []
    assert _run_install_cell(source, on_colab=True) == [("pip", f'install -q "rlvae-tutorial @ git+{FORK}"')]


def test_sync_follows_a_fork_and_back(tmp_path: Path) -> None:
    root = _copy_book(tmp_path, FORK)
    assert repository.repository_url(root) == FORK
    assert len(repository.disagreeing(root)) == len(book_notebooks())
    changed = repository.sync(root)
    assert len(changed) == len(book_notebooks()) and repository.disagreeing(root) == []
    for path in repository.toc_notebooks(root):
        cells = json.loads(path.read_text())["cells"]
        before = json.loads((ROOT / "book" / path.name).read_text())["cells"]
        assert [c.get("id") for c in cells] == [c.get("id") for c in before], f"{path.name}: cell ids changed"
        differing = [c.get("id") for c, b in zip(cells, before, strict=True) if c != b]
        assert len(differing) == 1, f"{path.name}: sync changed more than the Colab cell: {differing}"
    # and back to unset: the copies equal the committed notebooks again
    (root / "_config.yml").write_text((ROOT / "_config.yml").read_text())
    repository.sync(root)
    for path in repository.toc_notebooks(root):
        assert path.read_text() == (ROOT / "book" / path.name).read_text()


@pytest.mark.parametrize("bad", ["github.com/x/y", "https://gitlab.com/x/y", "https://github.com/x",
                                 "https://github.com/x/y; rm -rf /", "http://github.com/x/y"])
def test_a_bad_url_is_refused_with_the_fix(tmp_path: Path, bad: str) -> None:
    root = _copy_book(tmp_path, f'"{bad}"')
    with pytest.raises(ValueError, match=r"must be empty or https://github.com/<owner>/<name>"):
        repository.repository_url(root)


def test_theme_options_follow_the_setting() -> None:
    from types import SimpleNamespace

    for url, button in (("", False), (FORK, True)):
        config = SimpleNamespace(html_theme_options={"repository_url": url, "launch_buttons": {"colab_url": "x"}})
        repository._on_config_inited(SimpleNamespace(confdir=str(ROOT)), config)
        assert config.html_theme_options["use_repository_button"] is button
        assert config.html_theme_options["repository_url"] == url
        assert bool(config.html_theme_options["launch_buttons"]) is button
    config = SimpleNamespace(html_theme_options={"repository_url": "https://example.org/x/y"})
    with pytest.raises(ValueError, match="must be empty or"):
        repository._on_config_inited(SimpleNamespace(confdir=str(ROOT)), config)
