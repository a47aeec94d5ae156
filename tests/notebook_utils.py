"""Helpers for the tests that look at notebooks and the table of contents."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _files(entries: list[dict]) -> list[str]:
    out: list[str] = []
    for entry in entries:
        if "file" in entry:
            out.append(entry["file"])
        for key in ("chapters", "sections", "parts"):
            out.extend(_files(entry.get(key, [])))
    return out


def toc_files() -> list[str]:
    """Every ``file:`` of ``_toc.yml``, root first, without suffix."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    return [toc["root"], *_files(toc.get("parts", []) + toc.get("chapters", []))]


def toc_notebooks() -> list[Path]:
    """The notebooks ``_toc.yml`` lists, as paths."""
    return [ROOT / f"{f}.ipynb" for f in toc_files() if (ROOT / f"{f}.ipynb").exists()]


def book_notebooks() -> list[Path]:
    """Every notebook under ``book/`` (checkpoints excluded)."""
    return sorted(p for p in (ROOT / "book").rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
