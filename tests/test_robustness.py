"""The robustness appendix (book/robustness.md): committed seed sweeps, never stale silently."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

from scripts import sweep
from sphinxext.robustness import (
    FORMAT,
    SEED_ENV,
    SWEEPS_DIR,
    claim_rows,
    describe_sweep,
    env_seed,
    failures,
    load_sweeps,
    robustness_rows,
    seeds_text,
    stale_sweeps,
    sweep_fingerprint,
    verdict_rows,
    with_seed,
)
from tests.notebook_utils import ROOT, toc_notebooks


def _toc_docnames() -> dict[str, Path]:
    return {p.relative_to(ROOT).with_suffix("").as_posix(): p for p in toc_notebooks()}


def test_committed_sweeps_are_of_the_current_notebooks() -> None:
    """Fails when a chapter's code changed after its newest sweep: sweep it again."""
    problems = stale_sweeps(load_sweeps(ROOT / SWEEPS_DIR), _toc_docnames())
    assert not problems, "the robustness appendix would show stale sweeps:\n" + "\n".join(problems)


def test_committed_sweeps_name_book_chapters() -> None:
    docnames = _toc_docnames()
    for data in load_sweeps(ROOT / SWEEPS_DIR):
        unknown = sorted(set(data["notebooks"]) - set(docnames))
        assert not unknown, f"sweeps/{data['file']} sweeps {unknown}, which are not chapters in _toc.yml"
        for entry in data["notebooks"].values():
            assert all(set(r) >= {"seed", "passed", "runtime_s", "failure", "results"} for r in entry["runs"])


def _notebook(path: Path, code: str = "x = 1", prose: str = "# Title") -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    params = nbformat.v4.new_code_cell("seed = 0", id="params")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [nbformat.v4.new_markdown_cell(prose), params, nbformat.v4.new_code_cell(code)]
    nbformat.write(nb, path)
    return path


def _sweep(mode: str, fingerprint: str, runs: list[dict], started: str = "2026-11-30T10:00:00+00:00",
           name: str = "book/a") -> dict:
    return {"format": FORMAT, "mode": mode, "seeds": [r["seed"] for r in runs], "jobs": 2,
            "started_at": started, "finished_at": started, "complete": True, "commit": "0" * 40,
            "dirty": False, "machine": {"cpu_count": 2, "cpu": "Some CPU", "device": "cpu", "torch": "2"},
            "notebooks": {name: {"path": f"{name}.ipynb", "fingerprint": fingerprint, "runs": runs}}}


def _run(seed: int, passed: bool = True, **results: float) -> dict:
    failure = None if passed else {"cell_index": 7, "cell_id": "abc", "first_line": "assert gap > 0",
                                   "exception": "AssertionError", "message": "no gap"}
    return {"seed": seed, "passed": passed, "runtime_s": 1.0, "failure": failure, "results": results}


def _write(folder: Path, sweeps: dict[str, dict]) -> Path:
    folder.mkdir(exist_ok=True)
    for name, data in sweeps.items():
        (folder / name).write_text(json.dumps(data))
    return folder


def test_fingerprint_ignores_prose_and_follows_code(tmp_path: Path) -> None:
    a = _notebook(tmp_path / "a.ipynb")
    assert sweep_fingerprint(_notebook(tmp_path / "b.ipynb", prose="# Other title")) == sweep_fingerprint(a)
    assert sweep_fingerprint(_notebook(tmp_path / "c.ipynb", code="x = 2")) != sweep_fingerprint(a)


def test_tables_show_pass_rates_spread_failures_and_unswept_chapters(tmp_path: Path) -> None:
    nbs = {"book/a": _notebook(tmp_path / "a.ipynb"), "book/b": _notebook(tmp_path / "b.ipynb", "y = 1")}
    fp = sweep_fingerprint(nbs["book/a"])
    old = _sweep("quick", fp, [_run(0, passed=False)], started="2026-11-29T10:00:00+00:00")
    quick = _sweep("quick", fp, [_run(0, k=1.0), _run(1, k=3.0), _run(2, False, k=2.0), _run(5, k=2.0)])
    full = _sweep("full", "changed", [_run(0, k=10.0)])
    sweeps = load_sweeps(_write(tmp_path / "sweeps", {"z-old.json": old, "quick.json": quick,
                                                      "full.json": full}))
    assert [s["file"] for s in sweeps] == ["z-old.json", "full.json", "quick.json"]  # by start time

    rows = robustness_rows(nbs, sweeps)
    assert rows[0][:2] == ["book/a", "3/4 seeds (0-2, 5)"]  # the newest quick sweep, not the old one
    assert rows[0][2].startswith("1/1 seeds (0)") and "stale" in rows[0][2]
    assert rows[1] == ["book/b", "not swept", "not swept"]
    assert claim_rows("book/a", sweeps) == [["k", "2 ± 0.816 (1 to 3, n=4)", "10 ± 0 (10 to 10, n=1)"]]
    assert claim_rows("book/b", sweeps) == []
    assert failures("book/a", sweeps) == [
        "quick mode, seed 2: cell 7 (`assert gap > 0`) AssertionError: no gap"]
    assert "quick.json: quick mode, seeds 0-2, 5" in describe_sweep(sweeps[2])


def test_stale_sweep_names_the_notebook_and_the_command(tmp_path: Path) -> None:
    nbs = {"book/a": _notebook(tmp_path / "a.ipynb")}
    fresh = _sweep("quick", sweep_fingerprint(nbs["book/a"]), [_run(0)])
    assert stale_sweeps(load_sweeps(_write(tmp_path / "s1", {"q.json": fresh})), nbs) == []
    stale = _sweep("full", "old", [_run(0)])
    (problem,) = stale_sweeps(load_sweeps(_write(tmp_path / "s2", {"f.json": stale})), nbs)
    assert problem.startswith("book/a.ipynb: its code changed since its full-mode sweep (f.json)")
    assert 'make sweep NOTEBOOKS="book/a.ipynb" SEEDS="0-9" MODE=full' in problem


def test_a_file_that_is_not_a_sweep_is_refused(tmp_path: Path) -> None:
    _write(tmp_path / "s", {"x.json": {"mode": "quick"}})
    with pytest.raises(ValueError, match="scripts/sweep.py"):
        load_sweeps(tmp_path / "s")


def test_seeds_text() -> None:
    assert seeds_text([4, 0, 1, 2, 9, 10]) == "0-2, 4, 9-10"
    assert seeds_text([]) == ""


def test_another_seed_is_injected_after_the_parameters_cell(tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    nb = _notebook(tmp_path / "a.ipynb")
    cells = nbformat.reads(with_seed(nb.read_text(), 7), as_version=4).cells
    assert [c.source for c in cells[1:3]] == ["seed = 0", "# Parameters injected by RLVAE_SEED\nseed = 7"]
    assert cells[2].metadata.tags == ["injected-parameters"] and len(cells) == 4
    bare = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")])
    with pytest.raises(ValueError, match="tagged 'parameters'"):
        with_seed(nbformat.writes(bare), 7)
    monkeypatch.delenv(SEED_ENV, raising=False)
    assert env_seed() is None
    monkeypatch.setenv(SEED_ENV, "3")
    assert env_seed() == 3
    monkeypatch.setenv(SEED_ENV, "three")
    with pytest.raises(ValueError, match="integer"):
        env_seed()


def test_nbval_copies_carry_the_seed(tmp_path: Path) -> None:
    nb = _notebook(tmp_path / "a.ipynb")
    assert sweep.main(["with-seed", "2", str(tmp_path / "out"), str(nb)]) == 0
    assert "seed = 2" in nbformat.read(tmp_path / "out" / "a.ipynb", 4).cells[2].source


def test_directive_renders_in_a_small_book(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A two-page Sphinx project with the book's extension: the directive becomes the tables,
    and with RLVAE_SEED set (make test's quick build) the chapters show the injected seed."""
    from sphinx.application import Sphinx

    monkeypatch.setenv(SEED_ENV, "5")
    src = tmp_path / "src"
    (src / "book").mkdir(parents=True)
    nb = _notebook(src / "book" / "a.ipynb", prose="# Chapter A")
    _notebook(src / "book" / "b.ipynb", prose="# Chapter B")
    _write(src / "sweeps", {"quick.json": _sweep("quick", sweep_fingerprint(nb),
                                                 [_run(0, k=1.0), _run(1, False, k=3.0)])})
    (src / "conf.py").write_text(
        "extensions = ['myst_nb', 'sphinxext.rlvae_book']\nnb_execution_mode = 'off'\n")
    (src / "index.md").write_text("# Book\n\n```{toctree}\nbook/a\nbook/b\nrobustness\n```\n")
    (src / "robustness.md").write_text("# Robustness\n\n```{rlvae-robustness}\n```\n")
    out = tmp_path / "html"
    app = Sphinx(str(src), str(src), str(out), str(tmp_path / "doctrees"), "html",
                 status=None, warningiserror=True, freshenv=True)
    app.build()
    html = (out / "robustness.html").read_text()
    assert "1/2 seeds (0-1)" in html and "not swept" in html
    assert "2 ± 1.41 (1 to 3, n=2)" in html
    assert "quick mode, seed 1: cell 7 (<code" in html or "quick mode, seed 1: cell 7 (`assert gap" in html
    assert 'href="book/a.html"' in html
    chapter = (out / "book" / "a.html").read_text()
    assert "Parameters injected by RLVAE_SEED" in chapter and "tag_injected-parameters" in chapter


def _efficiency(low: float, high: float) -> dict:
    interval = {"estimate": (low + high) / 2, "low": low, "high": high}
    per_agent = {"latents": 0.9, "pixels": 0.8, "state": 1.0}
    return {"n_seeds": 8, "budget": 30000, "solved": per_agent, "restricted_mean": per_agent,
            "difference": interval, "difference_with_frames": interval, "pretrain_env_steps": 5000}


def test_verdicts_are_worked_out_seed_by_seed_and_counted(tmp_path: Path) -> None:
    """The appendix says how often the closing chapter's verdict changes across swept seeds."""
    nbs = {"book/rl_latents": _notebook(tmp_path / "rl_latents.ipynb")}
    fp = sweep_fingerprint(nbs["book/rl_latents"])
    unsure, ahead = _efficiency(-100.0, 200.0), _efficiency(50.0, 300.0)
    full = _sweep("full", fp, [_run(0, **{"rl_latents/data_efficiency": unsure}),
                               _run(1, **{"rl_latents/data_efficiency": unsure}),
                               _run(2, **{"rl_latents/data_efficiency": ahead}),
                               _run(3, False, **{"rl_latents/data_efficiency": ahead})], name="book/rl_latents")
    quick = _sweep("quick", fp, [_run(s, **{"rl_latents/data_efficiency": unsure}) for s in range(3)],
                   name="book/rl_latents")
    sweeps = load_sweeps(_write(tmp_path / "sweeps", {"f.json": full, "q.json": quick}))
    (row,) = verdict_rows(sweeps)  # only the claim whose results the sweeps recorded
    assert row == ["Data efficiency in RL",
                   "could not tell 3 (of 3 seeds: the same for every seed)",
                   "could not tell 2, holds 1 (of 3 seeds: changes with the seed)"]  # failed seed 3 left out
    assert verdict_rows([]) == []
