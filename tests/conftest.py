"""Shared test set-up: one torch thread, like the book, and the repository root; Hypothesis profiles."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pytest
import torch
from hypothesis import Phase, settings

ROOT = Path(__file__).resolve().parents[1]

# Property-based tests (tests/test_properties.py): bounded in examples and time everywhere, and
# deterministic (derandomize: the same examples every run) in CI and `make test` (RLVAE_QUICK=1).
# HYPOTHESIS_PROFILE=dev explores new random examples each run.  No example database is written.
settings.register_profile("ci", max_examples=60, deadline=timedelta(seconds=2), derandomize=True,
                          database=None, print_blob=True)
settings.register_profile("dev", max_examples=60, deadline=timedelta(seconds=2), database=None)
# `make mutation`: as ci, without shrinking.  A mutant that breaks a property is killed by its first
# failing example; shrinking it to the smallest one can take minutes (it stalled the first runs).
settings.register_profile("mutation", max_examples=60, deadline=None, derandomize=True, database=None,
                          phases=[Phase.explicit, Phase.reuse, Phase.generate])
_deterministic = os.environ.get("CI") or os.environ.get("RLVAE_QUICK")
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if _deterministic else "dev"))


@pytest.fixture(autouse=True, scope="session")
def _one_thread() -> None:
    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT
