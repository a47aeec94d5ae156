"""Check functions for the exercises of *Getting started* (book/getting_started.ipynb).

Three warm-ups on the book's data, each with the mistakes students typically make named:

- ``scale_intensities(raw)``: raw digit intensities 0..16 -> floats in [0, 1];
- ``class_counts(labels, num_classes)``: how many examples of each class, with ``torch.bincount``;
- ``ink_fraction(images, threshold)``: the share of each image's pixels above a threshold.

The references are the private ``_scale_intensities``, ``_class_counts`` and ``_ink_fraction``.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from rlvae_tutorial.exercises.common import call, close, diagnose, expect_tensor
from rlvae_tutorial.exercises.guard import exercise

DIGITS_MAX_INTENSITY = 16  # scikit-learn's digits store 4-bit intensities 0..16


def _scale_intensities(raw: Tensor) -> Tensor:
    """x = raw / 16.  raw: (N, D) integer intensities 0..16 -> (N, D) float32 in [0, 1]."""
    return raw.float() / DIGITS_MAX_INTENSITY


def _class_counts(labels: Tensor, num_classes: int) -> Tensor:
    """counts[k] = #{i : labels[i] = k}.  labels: (N,) int64 -> (num_classes,) int64."""
    return torch.bincount(labels, minlength=num_classes)


def _ink_fraction(images: Tensor, threshold: float = 0.5) -> Tensor:
    """share_i = (1/D) sum_j [images[i, j] > threshold].  images: (N, D) -> (N,) float in [0, 1]."""
    return (images > threshold).float().mean(dim=1)


def _raw_digits(n: int, high: int, seed: int) -> Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.randint(0, high + 1, (n, 64), generator=generator)  # (N, 64) int64


@exercise("scale_intensities", "rlvae_tutorial.exercises.getting_started:_scale_intensities")
def check_scale_intensities(fn: Callable[[Tensor], Tensor]) -> None:
    """Check ``fn(raw) == raw / 16`` as floats, on a bright batch and a faint one (max 12)."""
    bright = _raw_digits(6, DIGITS_MAX_INTENSITY, seed=0)
    bright[0, 0] = DIGITS_MAX_INTENSITY  # the batch reaches the top of the scale
    bright[1, :] = torch.arange(64) % 9  # an image whose brightest pixel is only 8
    faint = _raw_digits(4, 12, seed=1)  # a batch whose brightest pixel is 12
    faint[0, :5] = 12
    faint[1, :] = torch.arange(64) % 7  # and one whose brightest pixel is 6
    for raw in (bright, faint):
        original = raw.clone()
        out = call(fn, raw.clone(), name="scale_intensities")
        if not isinstance(out, Tensor):
            raise AssertionError(f"scale_intensities should return a torch.Tensor, got {type(out).__name__}")
        if not out.is_floating_point():
            raise AssertionError(
                f"scale_intensities returned an integer tensor ({out.dtype}): use true division `/`, "
                "not floor division `//`, so that intensities between 0 and 1 survive"
            )
        expect_tensor(out, tuple(raw.shape), "scale_intensities")
        diagnose("scale_intensities", out, _scale_intensities(original), [
            (original.double() / 255, "divided by 255 (the 8-bit habit): the digits' raw intensities run "
             "from 0 to 16, so divide by 16"),
            (original.double() / original.max(), f"scaled by the batch's largest value ({int(original.max())}): "
             "divide by the fixed maximum 16, whatever the batch contains"),
            (original.double() / original.amax(dim=1, keepdim=True).clamp(min=1), "scaled each image by its own "
             "brightest pixel: divide every image by the fixed maximum 16, so that the same raw value means the "
             "same intensity everywhere"),
            (original.double() / 15, "divided by 15: the intensities run from 0 to 16 inclusive, so the maximum is 16"),
            (1 - original.double() / 16, "inverted the intensities: ink is bright (16 -> 1.0), background 0"),
        ], f"on a batch of shape {tuple(raw.shape)} (it should be raw / 16)")


@exercise("class_counts", "rlvae_tutorial.exercises.getting_started:_class_counts")
def check_class_counts(fn: Callable[[Tensor, int], Tensor]) -> None:
    """Check ``fn(labels, num_classes)`` against ``torch.bincount(labels, minlength=num_classes)``.

    The cases include classes with no example (at the top and in the middle of the range), a
    ``num_classes`` other than 10, and an empty batch.
    """
    generator = torch.Generator().manual_seed(0)
    some = torch.randint(0, 10, (50,), generator=generator)
    cases = [
        (some, 10),
        (some[some != 3], 10),  # no 3s: a gap in the middle
        (some[some < 7], 10),  # no 7s, 8s or 9s: missing at the top
        (torch.tensor([2, 0, 2, 2, 1]), 3),
        (torch.tensor([4, 4, 0]), 12),
        (torch.zeros(0, dtype=torch.int64), 4),  # no example at all
    ]
    for labels, num_classes in cases:
        out = call(fn, labels.clone(), num_classes, name="class_counts")
        expected = _class_counts(labels, num_classes)
        if not isinstance(out, Tensor):
            raise AssertionError(f"class_counts should return a torch.Tensor, got {type(out).__name__}")
        if tuple(out.shape) != (num_classes,):
            missing = sorted(set(range(num_classes)) - set(labels.tolist()))
            raise AssertionError(
                f"class_counts returned shape {tuple(out.shape)} for num_classes={num_classes}, expected "
                f"({num_classes},): every class needs a count, also the classes with no example "
                f"(here {missing}); use torch.bincount(labels, minlength=num_classes)"
            )
        if out.is_floating_point() and len(labels) and close(out, expected.double() / len(labels)):
            raise AssertionError(
                "class_counts returned shares that sum to 1: return the counts themselves, not "
                "counts / len(labels)"
            )
        if out.is_floating_point() or out.dtype == torch.bool:
            raise AssertionError(
                f"class_counts returned dtype {out.dtype}: counts are whole numbers, return an integer "
                "tensor (torch.bincount gives int64)"
            )
        diagnose("class_counts", out.long(), expected, [
            (torch.bincount(labels, minlength=num_classes + 1)[1:] if len(labels) else expected,
             "the counts are shifted by one class: counts[k] is the number of labels equal to k, from k = 0"),
        ], f"for num_classes={num_classes}")


@exercise("ink_fraction", "rlvae_tutorial.exercises.getting_started:_ink_fraction")
def check_ink_fraction(fn: Callable[[Tensor, float], Tensor]) -> None:
    """Check ``fn(images, threshold)``: the share of each image's pixels strictly above ``threshold``.

    The images are real digits (intensities k/16, so some pixels sit exactly at 0.5), with the
    default threshold 0.5 and with 0.25.
    """
    from rlvae_tutorial.data import load_digits

    images = load_digits("test")[0][:7]  # (7, 64): 7 images, so pixels and images differ
    assert bool((images == 0.5).any()), "the test images should contain pixels exactly at 0.5"
    for threshold in (0.5, 0.25):
        out = call(fn, images.clone(), threshold, name="ink_fraction")
        expected = _ink_fraction(images, threshold)
        if isinstance(out, Tensor) and out.dim() == 0:
            raise AssertionError(
                "ink_fraction returned one number for the whole batch: return one share per image, "
                "shape (N,) - average over the pixels only (dim=1)"
            )
        if isinstance(out, Tensor) and tuple(out.shape) == (images.shape[1],):
            raise AssertionError(
                f"ink_fraction returned shape {tuple(out.shape)}, one value per pixel: average over "
                f"the pixels (dim=1) to get one share per image, shape ({images.shape[0]},)"
            )
        out = expect_tensor(out, (images.shape[0],), "ink_fraction")
        diagnose("ink_fraction", out, expected, [
            (expected * images.shape[1], "returned counts of ink pixels (up to 64): divide by the number of "
             "pixels to get a share in [0, 1]"),
            ((images >= threshold).double().mean(dim=1), f"counted pixels exactly at the threshold ({threshold}) "
             "as ink: use `>` (strictly above), as load_digits(binarize=True) does"),
            (_ink_fraction(images, 0.5) if threshold != 0.5 else None, f"ignored its threshold argument: with "
             f"threshold={threshold} it gave the shares for 0.5"),
            ((images < threshold).double().mean(dim=1), "counted the background: ink is the pixels ABOVE the "
             "threshold"),
        ], f"for threshold={threshold}")
