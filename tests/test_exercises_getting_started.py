"""The check functions of *Getting started*: a right answer passes, each typical mistake gets its message."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch
from torch import Tensor

from rlvae_tutorial.exercises.common import first_mismatch
from rlvae_tutorial.exercises.getting_started import (
    _class_counts,
    _ink_fraction,
    _scale_intensities,
    check_class_counts,
    check_ink_fraction,
    check_scale_intensities,
)


def todo(*args: object) -> Tensor:
    raise NotImplementedError


# --- scale_intensities ------------------------------------------------------------------------

def test_scale_intensities_reference_and_alternatives_pass() -> None:
    check_scale_intensities.__wrapped__(_scale_intensities)
    check_scale_intensities.__wrapped__(lambda raw: raw / 16)
    check_scale_intensities.__wrapped__(lambda raw: raw.double() / 16.0)  # float64 is fine too


@pytest.mark.parametrize(
    ("wrong", "message"),
    [
        (todo, "scale_intensities is not implemented yet: replace the `raise NotImplementedError`"),
        (lambda raw: raw // 16, r"integer tensor \(torch.int64\): use true division `/`, not floor division `//`"),
        (lambda raw: raw / 255, "divided by 255 .* divide by 16"),
        (lambda raw: raw / raw.amax(dim=1, keepdim=True), "scaled each image by its own brightest pixel"),
        (lambda raw: raw / raw.max(), r"scaled by the batch's largest value \(12\)"),
        (lambda raw: raw / 15, "divided by 15: the intensities run from 0 to 16"),
        (lambda raw: raw / 17, r"scale_intensities is wrong on a batch of shape \(6, 64\).* values differ; the first at index"),
        (lambda raw: (raw / 16)[:, :32], r"returned shape \(6, 32\), expected \(6, 64\)"),
        (lambda raw: (raw / 16).tolist(), "should return a torch.Tensor, got list"),
        (lambda raw: raw.float().div_(0), "returned NaN or inf values"),
    ],
)
def test_scale_intensities_mistakes(wrong: Callable, message: str) -> None:
    with pytest.raises(AssertionError, match=message):
        check_scale_intensities.__wrapped__(wrong)


def test_scale_intensities_crash_names_the_error() -> None:
    def in_place(raw: Tensor) -> Tensor:
        raw /= 16  # int64 tensors cannot be divided in place
        return raw

    with pytest.raises(AssertionError, match=r"scale_intensities raised RuntimeError: .*inputs: \[\(6, 64\)\]"):
        check_scale_intensities.__wrapped__(in_place)


# --- class_counts -----------------------------------------------------------------------------

def test_class_counts_reference_and_alternatives_pass() -> None:
    check_class_counts.__wrapped__(_class_counts)
    check_class_counts.__wrapped__(lambda y, k: torch.nn.functional.one_hot(y, k).sum(dim=0))
    check_class_counts.__wrapped__(lambda y, k: (y[:, None] == torch.arange(k)).sum(dim=0))


@pytest.mark.parametrize(
    ("wrong", "message"),
    [
        (todo, "class_counts is not implemented yet"),
        (lambda y, k: torch.bincount(y), r"shape \(7,\) for num_classes=10, .*\(here \[7, 8, 9\]\); use torch.bincount\(labels, minlength=num_classes\)"),
        (lambda y, k: torch.unique(y, return_counts=True)[1], r"returned shape \(9,\) .*classes with no example \(here \[3\]\)"),
        (lambda y, k: torch.bincount(y, minlength=10), r"shape \(10,\) for num_classes=3, expected \(3,\)"),
        (lambda y, k: torch.bincount(y, minlength=k) / len(y), "returned shares that sum to 1"),
        (lambda y, k: torch.bincount(y, minlength=k).float(), "returned dtype torch.float32: counts are whole numbers"),
        (lambda y, k: torch.bincount(y, minlength=k).flip(0), r"class_counts is wrong for num_classes=10: .*first at index \(0,\)"),
    ],
)
def test_class_counts_mistakes(wrong: Callable, message: str) -> None:
    with pytest.raises(AssertionError, match=message):
        check_class_counts.__wrapped__(wrong)


# --- ink_fraction -----------------------------------------------------------------------------

def test_ink_fraction_reference_and_alternatives_pass() -> None:
    check_ink_fraction.__wrapped__(_ink_fraction)
    check_ink_fraction.__wrapped__(lambda x, t: (x > t).sum(dim=1) / x.shape[1])
    check_ink_fraction.__wrapped__(lambda x, t=0.5: torch.where(x > t, 1.0, 0.0).mean(-1))


@pytest.mark.parametrize(
    ("wrong", "message"),
    [
        (todo, "ink_fraction is not implemented yet"),
        (lambda x, t: (x > t).float().mean(), "one number for the whole batch: return one share per image"),
        (lambda x, t: (x > t).float().mean(dim=0), r"shape \(64,\), one value per pixel: average over the pixels \(dim=1\)"),
        (lambda x, t: (x > t).float().sum(dim=1), "returned counts of ink pixels"),
        (lambda x, t: (x >= t).float().mean(dim=1), r"counted pixels exactly at the threshold \(0.5\) as ink: use `>`"),
        (lambda x, t: (x > 0.5).float().mean(dim=1), "ignored its threshold argument: with threshold=0.25"),
        (lambda x, t: (x > t).float().mean(dim=1) ** 2, "ink_fraction is wrong for threshold=0.5"),
        (lambda x, t: (x > t).mean(dim=1), "ink_fraction raised RuntimeError: mean"),
    ],
)
def test_ink_fraction_mistakes(wrong: Callable, message: str) -> None:
    with pytest.raises(AssertionError, match=message):
        check_ink_fraction.__wrapped__(wrong)


def test_references_by_hand() -> None:
    assert torch.equal(_scale_intensities(torch.tensor([[0, 8, 16]])), torch.tensor([[0.0, 0.5, 1.0]]))
    assert torch.equal(_class_counts(torch.tensor([1, 1, 3]), 5), torch.tensor([0, 2, 0, 1, 0]))
    assert torch.equal(_ink_fraction(torch.tensor([[0.5, 0.75, 0.0, 1.0]])), torch.tensor([0.5]))


def test_first_mismatch_reports_index_and_values() -> None:
    msg = first_mismatch(torch.tensor([1.0, 2.0, 5.0]), torch.tensor([1.0, 2.0, 3.0]))
    assert msg == "1 of 3 values differ; the first at index (2,): expected 3, got 5"
    assert first_mismatch(torch.ones(2), torch.ones(2)) == "no element differs"
