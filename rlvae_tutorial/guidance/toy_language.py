"""A toy language for text generation: balanced bracket strings over two bracket types.

A string over ``()[]`` is *valid* when every bracket is closed by the matching type in the right
order (a Dyck word): ``"([])()"`` is valid, ``"([)]"``, ``"(("`` and ``")("`` are not.  Its scalar
property is the nesting depth (``"([])"`` has depth 2).  :func:`random_dyck` draws valid strings
from a seeded generator; :func:`encode` / :func:`decode` map strings to padded token tensors
``(B, T)`` with BOS/EOS/PAD tokens, for a sequence VAE and token-level REINFORCE.
"""

from __future__ import annotations

import random

import torch
from torch import Tensor

BRACKETS = {"(": ")", "[": "]"}
CLOSERS = {v: k for k, v in BRACKETS.items()}
PAD, BOS, EOS = 0, 1, 2
SYMBOLS = "()[]"
VOCAB = ("<pad>", "<bos>", "<eos>", *SYMBOLS)
TOKEN = {ch: i + 3 for i, ch in enumerate(SYMBOLS)}


def is_valid(s: str) -> bool:
    """True for a non-empty balanced, correctly nested string over ``()[]``; False otherwise
    (unknown characters, unmatched or crossed brackets, the empty string)."""
    if not s:
        return False
    stack: list[str] = []
    for ch in s:
        if ch in BRACKETS:
            stack.append(ch)
        elif ch in CLOSERS:
            if not stack or stack.pop() != CLOSERS[ch]:
                return False
        else:
            return False
    return not stack


def depth(s: str) -> int:
    """Maximum nesting depth of a valid string (``"()"`` -> 1); -1 for an invalid one."""
    if not is_valid(s):
        return -1
    d = best = 0
    for ch in s:
        d += 1 if ch in BRACKETS else -1
        best = max(best, d)
    return best


def random_dyck(n_pairs: int, rng: random.Random) -> str:
    """A random valid string of ``n_pairs`` bracket pairs (each open/close choice uniform where legal)."""
    if n_pairs < 1:
        raise ValueError(f"n_pairs must be >= 1, got {n_pairs}")
    out: list[str] = []
    stack: list[str] = []
    opened = 0
    while opened < n_pairs or stack:
        can_open, can_close = opened < n_pairs, bool(stack)
        if can_open and (not can_close or rng.random() < 0.5):
            ch = rng.choice(tuple(BRACKETS))
            stack.append(ch)
            out.append(ch)
            opened += 1
        else:
            out.append(BRACKETS[stack.pop()])
    return "".join(out)


def sample_corpus(n: int, max_pairs: int, seed: int = 0) -> list[str]:
    """``n`` random valid strings of 1..max_pairs pairs, reproducible from ``seed``."""
    rng = random.Random(seed)
    return [random_dyck(rng.randint(1, max_pairs), rng) for _ in range(n)]


def encode(strings: list[str], max_len: int) -> Tensor:
    """Strings -> ``(B, max_len + 2)`` long tokens: BOS, symbols, EOS, then PAD."""
    out = torch.full((len(strings), max_len + 2), PAD, dtype=torch.long)
    for b, s in enumerate(strings):
        if len(s) > max_len:
            raise ValueError(f"string {s!r} is longer than max_len={max_len}")
        unknown = set(s) - set(SYMBOLS)
        if unknown:
            raise ValueError(f"string {s!r} has characters outside {SYMBOLS!r}: {sorted(unknown)}")
        out[b, 0] = BOS
        out[b, 1 : len(s) + 1] = torch.tensor([TOKEN[ch] for ch in s], dtype=torch.long)
        out[b, len(s) + 1] = EOS
    return out


def decode(tokens: Tensor) -> list[str]:
    """``(B, T)`` tokens -> strings: symbols up to the first EOS (BOS and PAD skipped)."""
    strings = []
    for row in tokens.tolist():
        chars = []
        for t in row:
            if t == EOS:
                break
            if t >= 3:
                chars.append(VOCAB[t])
        strings.append("".join(chars))
    return strings


def text_metrics(strings: list[str], train_set: set[str], min_depth: int = 3) -> dict[str, float]:
    """Shares of generated ``strings``: ``valid``, ``target`` (valid with depth >= ``min_depth``),
    ``novel`` (valid and not in ``train_set``) and ``distinct`` (different strings / number)."""
    if not strings:
        raise ValueError("need at least one generated string")
    n = len(strings)
    valid = [is_valid(s) for s in strings]
    return {
        "valid": sum(valid) / n,
        "target": sum(depth(s) >= min_depth for s in strings) / n,
        "novel": sum(v and s not in train_set for v, s in zip(valid, strings, strict=True)) / n,
        "distinct": len(set(strings)) / n,
    }
