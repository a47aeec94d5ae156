from __future__ import annotations

import pytest
import torch

from rlvae_tutorial.exercises.common import call, close, expect_tensor


def test_call_turns_errors_into_feedback() -> None:
    def todo(x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    with pytest.raises(AssertionError, match="todo is not implemented yet"):
        call(todo, torch.zeros(2))

    def crash(x: torch.Tensor) -> torch.Tensor:
        return x @ x.T @ torch.zeros(5)

    with pytest.raises(AssertionError, match=r"crash raised RuntimeError.*inputs: \[\(2, 3\)\]"):
        call(crash, torch.zeros(2, 3))


def test_expect_tensor_messages() -> None:
    with pytest.raises(AssertionError, match="should return a torch.Tensor, got list"):
        expect_tensor([1.0], (1,), "f")
    with pytest.raises(AssertionError, match=r"returned shape \(2,\), expected \(3,\)"):
        expect_tensor(torch.zeros(2), (3,), "f")
    with pytest.raises(AssertionError, match="NaN or inf"):
        expect_tensor(torch.tensor([float("nan")]), (1,), "f")
    assert close(torch.ones(2), torch.ones(2)) and not close(torch.ones(2), torch.zeros(2))
