"""The run-time report of the book build (sphinxext/rlvae_book.py), without building a book."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sphinxext.runtimes import (
    RUNTIMES_ENV,
    build_report,
    describe_machine,
    load_report,
    machine_info,
    measured,
    notebook_budget,
    notebook_fingerprint,
    runtime_rows,
    runtimes_dir,
    total_runtime,
    write_report,
)

MACHINE = {"device": "cpu", "device_name": "Some CPU", "cpu": "Some CPU", "cpu_count": 2,
           "torch": "2.13.0", "python": "3.11.7", "platform": "Linux x86_64", "load_avg_1m": 1.5}


def _notebook(path: Path, source: str = "x = 1", budget: dict | None = None) -> Path:
    nb = {"cells": [{"cell_type": "code", "source": [source], "metadata": {}, "outputs": []}],
          "metadata": {"rlvae": budget} if budget else {}, "nbformat": 4, "nbformat_minor": 5}
    path.write_text(json.dumps(nb))
    return path


def test_fingerprint_follows_sources_not_outputs(tmp_path: Path) -> None:
    a = _notebook(tmp_path / "a.ipynb")
    fp = notebook_fingerprint(a)
    nb = json.loads(a.read_text())
    nb["cells"][0]["outputs"] = [{"output_type": "stream", "text": "hi"}]
    nb["metadata"]["anything"] = 1
    a.write_text(json.dumps(nb))
    assert notebook_fingerprint(a) == fp
    assert notebook_fingerprint(_notebook(tmp_path / "b.ipynb", "x = 2")) != fp


def test_budget_is_read_from_notebook_metadata(tmp_path: Path) -> None:
    nb = _notebook(tmp_path / "a.ipynb", budget={"budget_full_s": 120, "budget_quick_s": 20})
    assert notebook_budget(nb) == {"full": 120, "quick": 20}
    assert notebook_budget(_notebook(tmp_path / "b.ipynb")) == {"full": None, "quick": None}


def test_report_round_trip_and_table(tmp_path: Path) -> None:
    nbs = {"book/a": _notebook(tmp_path / "a.ipynb", budget={"budget_full_s": 60, "budget_quick_s": 10}),
           "book/b": _notebook(tmp_path / "b.ipynb", "y = 2")}
    exec_data = {"book/a": {"runtime": 4.256, "succeeded": True, "mtime": 0.0, "method": "force"},
                 "book/b": {"runtime": 2.0, "succeeded": False, "mtime": 0.0, "method": "force"},
                 "book/intro": None}
    report = build_report("quick", exec_data, nbs, MACHINE)
    assert set(report["notebooks"]) == {"book/a", "book/b"}
    assert report["notebooks"]["book/a"]["runtime_s"] == 4.26
    path = write_report(report, tmp_path / "runtimes")
    assert path.name == "quick.json" and load_report("quick", tmp_path / "runtimes") == report
    assert load_report("full", tmp_path / "runtimes") is None

    rows = runtime_rows(nbs, {"quick": report, "full": None})
    assert rows[0] == ["book/a", "60 s", "not measured", "10 s", "4.3 s"]
    assert rows[1] == ["book/b", "not stated", "not measured", "not stated", "failed"]
    assert total_runtime(nbs, report) == "4 s (0.1 min), 1 of 2 chapters"
    assert total_runtime(nbs, None) == "not measured"
    # Editing a notebook after it was measured marks its time stale instead of showing it as current.
    _notebook(nbs["book/a"], "x = 3", budget={"budget_full_s": 60, "budget_quick_s": 10})
    assert "stale" in runtime_rows(nbs, {"quick": report, "full": None})[0][4]
    assert measured(None, "book/a", "f") == "not measured"


def test_bad_mode_is_rejected() -> None:
    with pytest.raises(ValueError, match="mode must be one of"):
        build_report("fast", {}, {}, MACHINE)


def test_describe_machine() -> None:
    report = {"measured_at": "2026-11-26T03:56:23+00:00", "machine": MACHINE}
    text = describe_machine("quick", report)
    assert text.startswith("Quick mode: measured 2026-11-26 03:56 UTC on device cpu (Some CPU; 2 CPU cores")
    assert "load average 1.5" in text
    assert "make book measures it" in describe_machine("full", None)


def test_runtimes_dir_env_override(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(RUNTIMES_ENV, raising=False)
    assert runtimes_dir(tmp_path) == tmp_path / "_build" / "runtimes"
    monkeypatch.setenv(RUNTIMES_ENV, str(tmp_path / "elsewhere"))
    assert runtimes_dir(tmp_path) == tmp_path / "elsewhere"


def test_machine_info_names_the_device(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RLVAE_DEVICE", "cpu")
    info = machine_info()
    assert info["device"] == "cpu" and info["cpu_count"] >= 1 and info["torch"]


def test_chapters_are_read_in_book_order() -> None:
    """Sphinx reads alphabetically; the extension reorders to the table of contents."""
    from types import SimpleNamespace

    from sphinxext.rlvae_book import _read_in_toc_order, toc_order

    class Doc(SimpleNamespace):
        def child_files(self) -> list[str]:
            return self.children

    docs = {"intro": Doc(children=["zeta", "alpha"]), "zeta": Doc(children=["claims"]),
            "alpha": Doc(children=[]), "claims": Doc(children=[])}

    class SiteMap(dict):
        root = SimpleNamespace(docname="intro")

    site_map = SiteMap(docs)
    assert toc_order(site_map) == ["intro", "zeta", "claims", "alpha"]
    docnames = ["alpha", "claims", "intro", "orphan", "zeta"]
    _read_in_toc_order(SimpleNamespace(config=SimpleNamespace(external_site_map=site_map)), None, docnames)
    assert docnames == ["intro", "zeta", "claims", "alpha", "orphan"]


def test_thebe_and_duplicate_scripts_are_dropped() -> None:
    from types import SimpleNamespace

    from sphinx.builders.html._assets import _JavaScript

    from sphinxext.rlvae_book import _drop_unused_scripts

    thebe_cfg = _JavaScript(None, body='const THEBE_JS_URL = "https://unpkg.com/thebe"')
    scripts = [_JavaScript("_static/doctools.js"), thebe_cfg, thebe_cfg,
               _JavaScript("_static/sphinx-thebe.js", **{"async": "async"}),
               _JavaScript(None, body="var x = 1;"), _JavaScript(None, body="var x = 1;", priority=200)]
    for thebe, expected in ((False, 2), (True, 4)):
        app = SimpleNamespace(config=SimpleNamespace(html_theme_options={"launch_buttons": {"thebe": thebe}}))
        context = {"script_files": list(scripts)}
        _drop_unused_scripts(app, "p", "page.html", context, None)
        assert len(context["script_files"]) == expected, context["script_files"]
