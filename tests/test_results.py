from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from rlvae_tutorial import setup
from rlvae_tutorial.results import (
    RESULTS_ENV,
    load_results,
    record_result,
    result_value,
    results_dir,
)


@pytest.fixture
def no_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(RESULTS_ENV, raising=False)
    monkeypatch.delenv("RLVAE_QUICK", raising=False)


def test_record_and_load_round_trip(tmp_path: Path, no_env: None) -> None:
    S = setup(seed=3, quick=True, device="cpu")
    path = record_result("vae", "elbo_test_nats", torch.tensor(-25.5), S=S,
                         description="test ELBO per image", directory=tmp_path)
    assert path == tmp_path / "quick" / "vae.json"
    record_result("vae", "kl_nats", np.float32(4.0), S=S, directory=tmp_path)
    record_result("rl", "returns", torch.tensor([1.0, 2.0]), S=S, directory=tmp_path)
    results = load_results(quick=True, directory=tmp_path)
    assert sorted(results) == ["rl", "vae"]
    rec = results["vae"]["elbo_test_nats"]
    assert rec["value"] == -25.5 and rec["seed"] == 3 and rec["quick"] is True
    assert rec["device"] == "cpu" and rec["description"] == "test ELBO per image"
    assert results["rl"]["returns"]["value"] == [1.0, 2.0]
    assert result_value("vae", "kl_nats", quick=True, directory=tmp_path) == 4.0
    # The other mode is kept apart: a quick run never answers for a full one.
    assert load_results(quick=False, directory=tmp_path) == {}


def test_recording_again_replaces_and_keeps_other_keys(tmp_path: Path, no_env: None) -> None:
    record_result("vae", "a", 1, quick=False, directory=tmp_path)
    record_result("vae", "b", 2, quick=False, directory=tmp_path)
    record_result("vae", "a", 3, quick=False, directory=tmp_path)
    data = json.loads((tmp_path / "full" / "vae.json").read_text())
    assert {k: v["value"] for k, v in data.items()} == {"a": 3, "b": 2}
    assert not list((tmp_path / "full").glob("*.tmp")), "no temporary file is left behind"


def test_mode_follows_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(RESULTS_ENV, str(tmp_path))
    monkeypatch.setenv("RLVAE_QUICK", "1")
    record_result("claims", "x", 1.5)
    assert (tmp_path / "quick" / "claims.json").exists()
    assert result_value("claims", "x") == 1.5
    monkeypatch.setenv("RLVAE_QUICK", "0")
    assert load_results() == {}


def test_default_location_is_the_books_build_folder(tmp_path: Path, no_env: None,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    book = tmp_path / "book_root"
    (book / "book").mkdir(parents=True)
    (book / "_toc.yml").write_text("root: intro\n")
    (book / "_config.yml").write_text("title: t\n")
    monkeypatch.chdir(book / "book")  # notebooks run with their own folder as working directory
    assert results_dir() == book.resolve() / "_build" / "results"
    path = record_result("vae", "x", 1, quick=True)
    assert path == book.resolve() / "_build" / "results" / "quick" / "vae.json"


def test_outside_a_book_nothing_is_written(tmp_path: Path, no_env: None,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # e.g. a student's notebook on Colab
    assert results_dir() is None
    assert record_result("vae", "x", 1.0, quick=True) is None
    assert not any(tmp_path.iterdir())
    assert load_results(quick=True) == {}


@pytest.mark.parametrize("bad", ["", "../evil", "a/b", "with space", ".hidden", 3])
def test_bad_names_are_rejected(tmp_path: Path, bad: object) -> None:
    with pytest.raises(ValueError, match="must be letters, digits"):
        record_result(bad, "x", 1, quick=True, directory=tmp_path)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="must be letters, digits"):
        record_result("vae", bad, 1, quick=True, directory=tmp_path)  # type: ignore[arg-type]


def test_bad_values_say_what_to_record(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"result 'loss' is nan; record finite numbers only"):
        record_result("vae", "loss", float("nan"), quick=True, directory=tmp_path)
    with pytest.raises(ValueError, match="is inf"):
        record_result("vae", "loss", torch.tensor([1.0, float("inf")]), quick=True, directory=tmp_path)
    with pytest.raises(TypeError, match="has type object; record a number"):
        record_result("vae", "thing", object(), quick=True, directory=tmp_path)
    assert not (tmp_path / "quick" / "vae.json").exists(), "a rejected value writes nothing"


def test_missing_result_names_the_chapter_to_run(tmp_path: Path) -> None:
    record_result("vae", "a", 1, quick=True, directory=tmp_path)
    with pytest.raises(KeyError, match=r"no result vae/b recorded in quick mode.*Recorded for 'vae': \['a'\]"):
        result_value("vae", "b", quick=True, directory=tmp_path)
    with pytest.raises(KeyError, match="Recorded for 'rl': nothing"):
        result_value("rl", "a", quick=True, directory=tmp_path)
