"""The generic training loop's promises, each pinned where a one-token slip would break it.

Batches come in the order of ``randperm`` under the configured seed (or a seed drawn from torch's
global RNG when ``seed=None``), or in data order without shuffling; validation uses its own batch
size; the best epoch is the first of equal ones, ``mode="max"`` looks for the largest value and
patience counts evaluations only; the saved checkpoint names the epoch whose weights it holds;
the progress bar shows the loss and the monitored value and stays on screen.  The data are
five rows ``0..4``, so every batch and mean is known.
"""

from __future__ import annotations

import contextlib
import importlib
import math
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from torch import nn

from rlvae_tutorial.checkpoint import load_checkpoint
from rlvae_tutorial.train import TrainConfig, train
from tests.test_loop_spies import grad_clip_spy

X = torch.arange(5, dtype=torch.float32).unsqueeze(-1)  # (5, 1)


class Recorder:
    """A loss_fn recording the rows of every batch; loss = w * mean(x) (w a parameter, so Adam steps)."""

    def __init__(self, uses_global_rng: bool = False) -> None:
        self.batches: list[list[float]] = []
        self.uses_global_rng = uses_global_rng

    def __call__(self, model: nn.Module, batch: torch.Tensor) -> tuple[torch.Tensor, dict]:
        x = batch[0] if isinstance(batch, (tuple, list)) else batch
        self.batches.append(x.squeeze(-1).tolist())
        noise = torch.rand(()) if self.uses_global_rng else torch.zeros(())
        return model.weight.sum() * x.mean() + 0.0 * noise, {}


def _model() -> nn.Linear:
    torch.manual_seed(0)
    return nn.Linear(1, 1)


def _orders(seed: int, epochs: int) -> list[list[float]]:
    g = torch.Generator().manual_seed(seed)
    rows = []
    for _ in range(epochs):
        order = torch.randperm(5, generator=g)
        rows.append([float(i) for i in order])
    return rows


def _epochs(rec: Recorder, epochs: int) -> list[list[float]]:
    flat = [v for b in rec.batches for v in b]
    return [flat[5 * e : 5 * e + 5] for e in range(epochs)]


def test_shuffled_batches_follow_randperm_of_the_seed_even_when_the_loss_draws_random_numbers() -> None:
    rec = Recorder(uses_global_rng=True)
    train(_model(), rec, X, config=TrainConfig(epochs=3, batch_size=2, seed=7), progress=False)
    assert _epochs(rec, 3) == _orders(7, 3) and [len(b) for b in rec.batches[:3]] == [2, 2, 1]


def test_unshuffled_batches_are_in_data_order_and_a_list_is_a_tuple() -> None:
    rec = Recorder()
    train(_model(), rec, [X, torch.zeros(5)], config=TrainConfig(epochs=2, batch_size=2, shuffle=False), progress=False)
    assert rec.batches == [[0.0, 1.0], [2.0, 3.0], [4.0]] * 2


def test_seed_none_draws_the_shuffling_seed_from_torchs_global_rng() -> None:
    torch.manual_seed(5)
    expected_seed = int(torch.randint(0, 2**62, ()).item())
    rec = Recorder()
    model = nn.Linear(1, 1)
    torch.manual_seed(5)
    train(model, rec, X, config=TrainConfig(epochs=2, batch_size=5, seed=None), progress=False)
    assert _epochs(rec, 2) == _orders(expected_seed, 2)


def test_the_seed_also_seeds_torchs_global_rng_inside_training() -> None:
    def noisy(model: nn.Module, batch: torch.Tensor) -> tuple[torch.Tensor, dict]:
        return model.weight.sum() * torch.rand(()), {}

    runs = []
    for outside in (1, 2):
        torch.manual_seed(outside)  # a different global state before each run
        runs.append(train(_model(), noisy, X, config=TrainConfig(epochs=2, seed=3), progress=False)["loss"])
    assert runs[0] == runs[1]


def test_validation_uses_its_own_batch_size() -> None:
    def squared_mean(model: nn.Module, batch: torch.Tensor) -> tuple[torch.Tensor, dict]:
        return model.weight.sum() * 0.0 + batch.mean() ** 2, {}

    h = train(_model(), squared_mean, X, val_data=X, config=TrainConfig(epochs=1, eval_batch_size=2), progress=False)
    assert h.records[0]["val_loss"] == pytest.approx((2 * 0.5**2 + 2 * 2.5**2 + 1 * 4.0**2) / 5)


def _scripted(values: list[float]):  # noqa: ANN202
    calls = iter(values)
    return lambda model: {"score": next(calls)}


def test_the_first_of_equal_evaluations_is_the_best_and_patience_counts_the_rest() -> None:
    h = train(_model(), Recorder(), X, val_fn=_scripted([1.0, 1.0, 1.0, 1.0]),
              config=TrainConfig(epochs=4, monitor="score", patience=2), progress=False)
    assert h.best_epoch == 1 and h.stopped_early and len(h) == 3


def test_mode_max_keeps_the_largest_value() -> None:
    h = train(_model(), Recorder(), X, val_fn=_scripted([1.0, 3.0, 2.0]),
              config=TrainConfig(epochs=3, monitor="score", mode="max"), progress=False)
    assert h.best_epoch == 2 and h.best_value == 3.0


def test_patience_starts_from_zero_bad_evaluations() -> None:
    # Evaluations at epochs 2 and 4 only: epoch 1 must not count as a bad one.
    h = train(_model(), Recorder(), X, val_fn=_scripted([1.0, 2.0]),
              config=TrainConfig(epochs=4, eval_every=2, monitor="score", patience=1), progress=False)
    assert len(h) == 4 and h.stopped_early and h.best_epoch == 2


@pytest.mark.parametrize(("keep_best", "saved_epoch"), [(True, "1"), (False, "3")])
def test_checkpoint_names_the_epoch_of_its_weights(tmp_path: Path, keep_best: bool, saved_epoch: str) -> None:
    path = tmp_path / "m.safetensors"
    train(_model(), Recorder(), X, val_fn=_scripted([1.0, 2.0, 3.0]), checkpoint=path,
          config=TrainConfig(epochs=3, monitor="score", keep_best=keep_best), progress=False)
    assert load_checkpoint(nn.Linear(1, 1), path) == {"epoch": saved_epoch}


def test_gradient_clip_is_applied_to_the_trainable_parameters(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = grad_clip_spy(monkeypatch)
    train(_model(), Recorder(), X, config=TrainConfig(epochs=1, batch_size=5, grad_clip=0.5), progress=False)
    assert calls == [(2, 0.5)]


def test_the_non_finite_message_quotes_the_first_loss_and_every_learning_rate() -> None:
    model = _model()
    values: Iterator[float] = iter([1.5, 2.5, math.nan])

    def diverging(model: nn.Module, batch: torch.Tensor) -> tuple[torch.Tensor, dict]:
        return model.weight.sum() * 0.0 + next(values), {}

    opt = torch.optim.SGD([{"params": [model.weight]}, {"params": [model.bias], "lr": 0.01}], lr=0.1)
    with pytest.raises(FloatingPointError, match=r"started finite \(1\.5\).*learning rate \(0\.1, 0\.01\)"):
        train(model, diverging, X, optimizer=opt, config=TrainConfig(epochs=1, batch_size=2), progress=False)


def test_a_model_without_parameters_trains_with_an_outside_optimizer() -> None:
    w = nn.Parameter(torch.ones(()))
    h = train(nn.Identity(), lambda model, batch: ((w * batch).mean(), {}), X,
              optimizer=torch.optim.SGD([w], lr=0.1), config=TrainConfig(epochs=1), progress=False)
    assert len(h) == 1 and float(w.detach()) < 1.0


def test_data_that_yields_no_batches_gets_a_whole_message() -> None:
    with pytest.raises(ValueError, match=r"^the training data yielded no batches$"):
        train(_model(), Recorder(), [], config=TrainConfig(epochs=1), progress=False)


def test_records_carry_the_elapsed_time() -> None:
    h = train(_model(), Recorder(), X, config=TrainConfig(epochs=2), progress=False)
    times = h["time"]
    assert 0.0 <= times[0] <= times[1] < 60.0


def test_the_progress_bar_shows_loss_and_monitor_and_stays(capsys: pytest.CaptureFixture[str]) -> None:
    train(_model(), Recorder(), X, val_data=X, config=TrainConfig(epochs=2), progress=True)
    err = capsys.readouterr().err
    assert re.search(r"\bloss=", err) and "val_loss=" in err and err.endswith("\n")  # \b: not val_loss=


def _mean_loss(model: nn.Module, batch: object) -> tuple[torch.Tensor, dict]:
    """loss = mean of the batch's values (the first tensor of a tuple), plus 0 * weight for a graph."""
    x = batch[0] if isinstance(batch, tuple) else batch
    return model.weight.sum() * 0.0 + torch.as_tensor(x, dtype=torch.float32).mean(), {}


@pytest.mark.parametrize("data", [(X,), X.squeeze(-1)], ids=["one-tensor tuple", "1-D tensor"])
def test_batches_are_weighted_by_their_rows(data: object) -> None:
    """Five rows in batches of 2, 2, 1 (means 0.5, 2.5, 4): the epoch's loss is the row-weighted
    mean 2, not the mean of the batch means 7/3, whether the data are a tuple of one tensor or 1-D."""
    h = train(_model(), _mean_loss, data, config=TrainConfig(epochs=1, batch_size=2, shuffle=False),
              progress=False)
    assert h["loss"] == [2.0]


class _MixedBatches:
    """An iterable that batches itself: two rows, then a 0-d tensor and a float (one example each)."""

    def __init__(self, last: float = 4.0) -> None:
        self.last = last

    def __iter__(self) -> Iterator[object]:
        yield torch.tensor([1.0, 2.0])
        yield torch.tensor(3.0)
        yield torch.tensor(self.last) if math.isnan(self.last) else self.last


def test_a_batch_without_rows_counts_as_one_example() -> None:
    h = train(_model(), _mean_loss, _MixedBatches(), config=TrainConfig(epochs=1), progress=False)
    assert h["loss"] == [2.5]  # (1.5 * 2 + 3 + 4) / 4


def test_a_nan_in_a_0d_batch_is_blamed_on_the_data() -> None:
    with pytest.raises(FloatingPointError, match=r"^the loss is nan at epoch 1, step 2: the batch contains 1 NaN/inf values"):
        train(_model(), _mean_loss, _MixedBatches(math.nan), config=TrainConfig(epochs=1), progress=False)


def test_the_rng_fork_covers_the_cuda_device_in_use(monkeypatch: pytest.MonkeyPatch) -> None:
    """On a GPU, training restores that device's RNG afterwards: fork_rng gets [index] (the current
    device when the index is None), and no CUDA device on the CPU; seed=None forks nothing."""
    train_module = importlib.import_module("rlvae_tutorial.train")  # the module, not the function
    forked: list[object] = []
    monkeypatch.setattr(torch.random, "fork_rng",
                        lambda devices=None, **kw: forked.append(devices) or contextlib.nullcontext())
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)
    for device in (torch.device("cuda", 1), torch.device("cuda"), torch.device("cpu")):
        train_module._rng_context(0, device)
    assert forked == [[1], [0], []]
    assert isinstance(train_module._rng_context(None, torch.device("cuda", 1)), contextlib.nullcontext)
    assert forked == [[1], [0], []]
