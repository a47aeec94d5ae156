"""Helpers for the tests that look at notebooks and the table of contents."""

from __future__ import annotations

from pathlib import Path

from scripts import coursekit

ROOT = Path(__file__).resolve().parents[1]


def toc_files() -> list[str]:
    """Every ``file:`` of ``_toc.yml``, root first, without suffix (the course kit's reader)."""
    return coursekit.toc_files(ROOT)


def toc_notebooks() -> list[Path]:
    """The notebooks ``_toc.yml`` lists, as paths."""
    return coursekit.toc_notebooks(ROOT)


def book_notebooks() -> list[Path]:
    """Every notebook under ``book/`` (checkpoints excluded)."""
    return sorted(p for p in (ROOT / "book").rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
