from __future__ import annotations

import random

import pytest
import torch

from rlvae_tutorial.guidance.toy_language import (
    BOS,
    EOS,
    PAD,
    decode,
    depth,
    encode,
    is_valid,
    random_dyck,
    sample_corpus,
)


@pytest.mark.parametrize("s", ["()", "[]", "([])", "()[]", "[(())]()"])
def test_valid_strings(s: str) -> None:
    assert is_valid(s)


@pytest.mark.parametrize("s", ["", "(", ")", ")(", "([)]", "(]", "(()", "())", "(a)", "[ ]", "(()))("])
def test_malformed_strings(s: str) -> None:
    assert not is_valid(s)
    assert depth(s) == -1


def test_depth_reference() -> None:
    assert depth("()") == 1
    assert depth("()[]()") == 1
    assert depth("([])") == 2
    assert depth("[(())]()") == 3


def test_random_dyck_is_valid_and_deterministic() -> None:
    rng = random.Random(0)
    strings = [random_dyck(k, rng) for k in range(1, 9) for _ in range(20)]
    assert all(is_valid(s) for s in strings)
    assert all(len(s) == 2 * k for s, k in zip(strings, [k for k in range(1, 9) for _ in range(20)], strict=True))
    assert sample_corpus(50, 6, seed=3) == sample_corpus(50, 6, seed=3)
    assert sample_corpus(50, 6, seed=3) != sample_corpus(50, 6, seed=4)
    assert len(set(sample_corpus(200, 6, seed=0))) > 100
    with pytest.raises(ValueError, match="n_pairs"):
        random_dyck(0, rng)


def test_encode_decode_round_trip() -> None:
    strings = ["()", "([])[]", "[]"]
    tokens = encode(strings, max_len=8)
    assert tokens.shape == (3, 10) and tokens.dtype == torch.long
    assert tokens[0].tolist()[:4] == [BOS, 3, 4, EOS] and tokens[0, 4:].eq(PAD).all()
    assert decode(tokens) == strings
    assert decode(torch.tensor([[BOS, 3, EOS, 4, 4]])) == ["("]  # stops at the first EOS
    with pytest.raises(ValueError, match="longer than max_len"):
        encode(["()()()"], max_len=4)
    with pytest.raises(ValueError, match="characters outside"):
        encode(["(x)"], max_len=4)


def test_text_metrics_reference() -> None:
    from rlvae_tutorial.guidance.toy_language import text_metrics

    m = text_metrics(["()", "()", "([[]])", "(("], train_set={"()"})
    assert m == {"valid": 0.75, "target": 0.25, "novel": 0.25, "distinct": 0.75}
    with pytest.raises(ValueError, match="at least one"):
        text_metrics([], set())
