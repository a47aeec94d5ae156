"""Measured results that chapters hand to later chapters (the closing "claims" chapter reads them).

A chapter calls :func:`record_result` for each number a later chapter quotes; the number goes to
``<results dir>/<mode>/<chapter>.json``, where ``<mode>`` is ``quick`` or ``full`` and the
results dir is ``$RLVAE_RESULTS_DIR``, else ``_build/results`` of the book the notebook runs in
(the nearest folder above the working directory holding ``_toc.yml`` and ``_config.yml``).
Outside a book checkout (a notebook opened on Colab, say) and without the variable, nothing is
written: recording is harmless wherever a chapter runs.  :func:`load_results` and
:func:`result_value` read the numbers back, so no verdict is ever typed in by hand.  The book
build executes chapters in table-of-contents order (``sphinxext/rlvae_book.py``), so a closing
chapter reads what the chapters before it recorded in the same build and mode.

Each record keeps the seed, mode and device it was measured with::

    {"value": 0.42, "seed": 0, "quick": false, "device": "cpu",
     "description": "...", "recorded_at": "2026-11-26T10:00:00+00:00"}
"""

from __future__ import annotations

import json
import math
import os
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import torch

from rlvae_tutorial.notebook import Setup, resolve_quick

RESULTS_ENV = "RLVAE_RESULTS_DIR"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def _book_root(start: Path) -> Path | None:
    for folder in (start, *start.parents):
        if (folder / "_toc.yml").is_file() and (folder / "_config.yml").is_file():
            return folder
    return None


def results_dir(directory: str | Path | None = None) -> Path | None:
    """Where results live: ``directory``, else ``$RLVAE_RESULTS_DIR``, else the book's
    ``_build/results``; None outside a book checkout (then nothing is recorded)."""
    if directory is not None:
        return Path(directory)
    raw = os.environ.get(RESULTS_ENV)
    if raw:
        return Path(raw)
    root = _book_root(Path.cwd().resolve())
    return None if root is None else root / "_build" / "results"


def _mode(quick: bool | None) -> str:
    return "quick" if resolve_quick(quick) else "full"


def _check_name(what: str, name: str) -> None:
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(
            f"{what} must be letters, digits, '_', '-' or '.', starting with a letter or digit "
            f"(it names a file or a JSON key), got {name!r}; e.g. 'vae' or 'elbo_test_nats'"
        )


def _jsonable(value: Any, key: str) -> Any:
    """Tensors and NumPy values to plain Python; reject NaN/inf and unknown types."""
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu()
        value = value.item() if value.ndim == 0 else value.tolist()
    elif isinstance(value, np.ndarray | np.generic):
        value = value.tolist()
    if isinstance(value, dict):
        return {str(k): _jsonable(v, key) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v, key) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"result {key!r} is {value}; record finite numbers only "
                         "(a NaN usually means the training diverged: fix that first)")
    if value is None or isinstance(value, bool | int | float | str):
        return value
    raise TypeError(f"result {key!r} has type {type(value).__name__}; record a number, string, "
                    "bool, list, dict, NumPy value or tensor")


def record_result(chapter: str, key: str, value: Any, *, S: Setup | None = None,
                  quick: bool | None = None, seed: int | None = None, description: str = "",
                  directory: str | Path | None = None) -> Path | None:
    """Store one measured ``value`` of ``chapter`` under ``key``; return the file written.

    Pass the chapter's ``S = setup(...)`` as ``S`` so the record carries its seed, mode and
    device (or give ``quick``/``seed`` directly).  Recording the same key again replaces it.
    Returns None, writing nothing, outside a book checkout when ``$RLVAE_RESULTS_DIR`` is unset.
    """
    _check_name("chapter", chapter)
    _check_name("key", key)
    record = {
        "value": _jsonable(value, key),
        "seed": S.seed if S is not None else seed,
        "quick": S.quick if S is not None else resolve_quick(quick),
        "device": str(S.device) if S is not None else None,
        "description": description,
        "recorded_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    folder = results_dir(directory)
    if folder is None:
        return None
    folder = folder / ("quick" if record["quick"] else "full")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{chapter}.json"
    data = json.loads(path.read_text()) if path.exists() else {}
    data[key] = record
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    os.replace(tmp, path)  # atomic: a reader never sees half a file
    return path


def load_results(quick: bool | None = None, directory: str | Path | None = None
                 ) -> dict[str, dict[str, dict[str, Any]]]:
    """Every recorded result of one mode: ``{chapter: {key: record}}`` (empty if none).

    ``quick=None`` reads the current mode (``RLVAE_QUICK``), so a chapter run in quick mode
    sees the quick-mode results of the chapters before it.
    """
    folder = results_dir(directory)
    if folder is None or not (folder / _mode(quick)).is_dir():
        return {}
    return {p.stem: json.loads(p.read_text()) for p in sorted((folder / _mode(quick)).glob("*.json"))}


def result_value(chapter: str, key: str, quick: bool | None = None,
                 directory: str | Path | None = None) -> Any:
    """The value recorded by ``chapter`` under ``key``; a KeyError says which chapter to run."""
    results = load_results(quick, directory)
    if key not in results.get(chapter, {}):
        where = results_dir(directory)
        have = sorted(results.get(chapter, {}))
        raise KeyError(
            f"no result {chapter}/{key} recorded in {_mode(quick)} mode under {where}; run the "
            f"chapter that records it first (the book build runs every chapter). "
            f"Recorded for {chapter!r}: {have or 'nothing'}"
        )
    return results[chapter][key]["value"]
