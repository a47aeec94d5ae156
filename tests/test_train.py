from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from torch import nn

from rlvae_tutorial.checkpoint import load_checkpoint
from rlvae_tutorial.data import load_digits, split_validation
from rlvae_tutorial.train import History, TrainConfig, evaluate_loss, train
from rlvae_tutorial.vae import VAE, VAEConfig, VAELoss


def _data() -> tuple[torch.Tensor, torch.Tensor]:
    x, y = load_digits("train", binarize=True)
    (xt, _), (xv, _) = split_validation(x, y, 0.15, seed=0)
    return xt[:512], xv[:128]


def _regression(seed: int = 0) -> tuple[nn.Module, tuple[torch.Tensor, torch.Tensor]]:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(256, 3, generator=g)
    y = x @ torch.tensor([1.0, -2.0, 0.5]) + 0.1 * torch.randn(256, generator=g)
    torch.manual_seed(seed)
    return nn.Linear(3, 1), (x, y)


def mse(model: nn.Module, batch: tuple[torch.Tensor, torch.Tensor]) -> tuple[torch.Tensor, dict]:
    x, y = batch
    return ((model(x).squeeze(-1) - y) ** 2).mean(), {}


def test_train_reduces_a_regression_loss_and_records_history() -> None:
    model, data = _regression()
    h = train(model, mse, data, config=TrainConfig(epochs=30, batch_size=32, lr=0.05), progress=False)
    assert isinstance(h, History) and len(h) == 30
    # The noise floor is the label noise's variance, 0.1^2 = 0.01 (what the exact weights score);
    # an untrained Linear starts above 1 (the weights' norm^2 is 5.25).  0.05 is 5x the floor and
    # far below the start: a loop that did not step, or stepped the wrong way, fails it.
    assert h["loss"][-1] < 0.05 < h["loss"][0]
    assert h["epoch"] == [float(e) for e in range(1, 31)]
    assert all(b > a for a, b in zip(h["time"], h["time"][1:], strict=False))
    with pytest.raises(KeyError, match="no column 'val_loss'.*columns: epoch, loss, time"):
        h["val_loss"]


def test_same_seed_same_history_and_global_rng_untouched() -> None:
    x, xv = _data()
    runs = []
    for _ in range(2):
        torch.manual_seed(123)
        model = VAE(VAEConfig(hidden=(32,)))
        before = torch.get_rng_state()
        h = train(model, VAELoss(), x, config=TrainConfig(epochs=3, seed=7), val_data=xv, progress=False)
        assert torch.equal(before, torch.get_rng_state()), "train must not consume the caller's random numbers"
        runs.append(([{k: v for k, v in r.items() if k != "time"} for r in h.records], model.state_dict()))
    assert runs[0][0] == runs[1][0]
    assert all(torch.equal(runs[0][1][k], runs[1][1][k]) for k in runs[0][1])
    torch.manual_seed(123)
    other = train(VAE(VAEConfig(hidden=(32,))), VAELoss(), x, config=TrainConfig(epochs=3, seed=8), progress=False)
    assert other["loss"] != [r["loss"] for r in runs[0][0]]


def _crn_eval(model: nn.Module, xv: torch.Tensor) -> float:
    """The validation loss with common random numbers: the same draws of z at every call, so
    that two calls differ only where the weights differ."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(1)
        return evaluate_loss(model, VAELoss(), xv)["loss"]


def test_validation_early_stopping_and_keep_best() -> None:
    x, xv = _data()
    torch.manual_seed(0)
    model = VAE(VAEConfig(hidden=(64,)))
    seen: list[float] = []

    def record_val(m: nn.Module) -> dict[str, float]:
        assert not torch.is_grad_enabled() and not m.training
        seen.append(_crn_eval(m, xv))
        return {"val_nll": seen[-1]}

    cfg = TrainConfig(epochs=400, batch_size=64, lr=3e-3, patience=5, monitor="val_nll")
    h = train(model, VAELoss(), x[:128], config=cfg, val_fn=record_val, progress=False)
    assert h.stopped_early and len(h) < 400
    assert h.best_epoch == 1 + min(range(len(seen)), key=seen.__getitem__)
    assert len(h) == h.best_epoch + 5
    # keep_best restored the best weights.  Measured: re-evaluating the restored model 200 times
    # with fresh draws of z gives a std of 0.17 nats, and the best epochs' values lie 0.13-0.4 nats
    # apart, so a tolerance of the noise's size could not tell the best epoch from its neighbours.
    # With common random numbers the evaluation is a deterministic function of the weights: the
    # restored model must reproduce the best value up to float rounding (1e-5 nats), and the last
    # epoch's weights must not (they are at least one patience window worse).
    final = _crn_eval(model, xv)
    assert final == pytest.approx(h.best_value, abs=1e-5)
    assert min(seen[-5:]) > h.best_value + 1e-5
    assert not math.isnan(h.last("val_nll"))


def test_validation_runs_without_gradients_in_eval_mode() -> None:
    """Both validation paths (val_data through loss_fn, and val_fn) run under no_grad in eval
    mode, and training resumes in train mode with gradients."""
    model, (x, y) = _regression()
    xv, yv = torch.full((16, 3), 7.0), torch.zeros(16)  # validation rows are recognisable: all 7
    seen: list[tuple[bool, bool, bool]] = []  # (validation?, grad enabled?, training?)

    def loss_fn(m: nn.Module, batch: tuple[torch.Tensor, torch.Tensor]) -> tuple[torch.Tensor, dict]:
        seen.append((bool((batch[0] == 7.0).all()), torch.is_grad_enabled(), m.training))
        return mse(m, batch)

    def val_fn(m: nn.Module) -> dict[str, float]:
        seen.append((True, torch.is_grad_enabled(), m.training))
        return {"score": 0.0}

    train(model, loss_fn, (x, y), val_data=(xv, yv), val_fn=val_fn,
          config=TrainConfig(epochs=3, batch_size=128), progress=False)
    assert {s[1:] for s in seen if s[0]} == {(False, False)}
    assert {s[1:] for s in seen if not s[0]} == {(True, True)}
    assert sum(s[0] for s in seen) == 6 and model.training


def test_validation_does_not_update_a_policy_vaes_running_baseline() -> None:
    """A PolicyVAE's EMA baseline updates in training mode only: validation rewards must not
    leak into it (the baseline would then depend on the validation data)."""
    from rlvae_tutorial.rlvae import PolicyVAE, estimator_config, policy_gradient_loss

    x, xv = _data()
    torch.manual_seed(0)
    model = PolicyVAE(VAE(VAEConfig(hidden=(32,))), estimator_config("ema"))
    train(model, policy_gradient_loss, x[:96], val_data=xv[:64],
          config=TrainConfig(epochs=2, batch_size=32), progress=False)
    assert int(model.baseline.count) == 2 * 3  # 2 epochs x 3 training batches, no validation batch


def test_default_validation_uses_the_loss_and_eval_every() -> None:
    x, xv = _data()
    torch.manual_seed(0)
    h = train(VAE(VAEConfig(hidden=(32,))), VAELoss(), x, val_data=xv,
              config=TrainConfig(epochs=4, eval_every=2), progress=False)
    assert set(h.records[1]) >= {"val_loss", "val_elbo", "val_kl", "val_recon", "loss", "elbo"}
    assert "val_loss" not in h.records[0] and math.isnan(h["val_loss"][0])
    assert h.best_epoch in (2, 4)


def test_errors_name_the_fix() -> None:
    model, data = _regression()
    with pytest.raises(ValueError, match="patience.*needs validation: pass val_data= or val_fn="):
        train(model, mse, data, config=TrainConfig(patience=3), progress=False)
    with pytest.raises(ValueError, match="monitor='val_acc' is not among the recorded values"):
        train(model, mse, data, config=TrainConfig(epochs=1, monitor="val_acc"), val_data=data, progress=False)
    with pytest.raises(ValueError, match="must return a scalar loss"):
        train(model, lambda m, b: (((m(b[0]).squeeze(-1) - b[1]) ** 2), {}), data, progress=False)
    with pytest.raises(ValueError, match="same number of rows"):
        train(model, mse, (data[0], data[1][:-1]), progress=False)
    with pytest.raises(ValueError, match="TrainConfig.mode must be 'min' or 'max'"):
        TrainConfig(mode="best")
    with pytest.raises(ValueError, match="TrainConfig.epochs must be >= 1"):
        TrainConfig(epochs=0)


def test_nan_in_the_data_is_named() -> None:
    model, (x, y) = _regression()
    x = x.clone()
    x[5, 0] = float("nan")
    with pytest.raises(FloatingPointError, match=r"loss is nan at epoch 1.*the batch contains 1 NaN/inf values"):
        train(model, mse, (x, y), config=TrainConfig(shuffle=False, batch_size=64), progress=False)


def test_divergence_names_the_learning_rate() -> None:
    model, (x, y) = _regression()
    with pytest.raises(FloatingPointError, match=r"started finite .* diverged: the learning rate \(1e\+06\) is probably too high"):
        train(model, mse, (x * 1e3, y), config=TrainConfig(lr=1e6), optimizer=torch.optim.SGD(model.parameters(), lr=1e6),
              progress=False)


def test_overflow_in_the_loss_is_named() -> None:
    model, data = _regression()

    def bad_loss(m: nn.Module, batch: tuple) -> tuple[torch.Tensor, dict]:
        return torch.log(torch.zeros(())) + 0 * m.weight.sum(), {}

    with pytest.raises(FloatingPointError, match=r"loss is -inf at epoch 1, step 0: the very first loss.*log\(0\) or exp\(\) overflow"):
        train(model, bad_loss, data, progress=False)


def test_iterable_data_and_custom_optimizer() -> None:
    model, (x, y) = _regression()
    batches = [(x[i : i + 64], y[i : i + 64]) for i in range(0, 256, 64)]
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    h = train(model, mse, batches, optimizer=opt, config=TrainConfig(epochs=20), progress=False)
    assert h["loss"][-1] < 0.05  # 5x the label-noise floor of 0.01, as above


def test_checkpoint_of_the_best_weights(tmp_path: Path) -> None:
    x, xv = _data()
    torch.manual_seed(0)
    model = VAE(VAEConfig(hidden=(32,)))
    path = tmp_path / "ckpt" / "vae.safetensors"
    h = train(model, VAELoss(), x, val_data=xv, config=TrainConfig(epochs=3), checkpoint=path, progress=False)
    fresh = VAE(VAEConfig(hidden=(32,)))
    meta = load_checkpoint(fresh, path)
    assert meta == {"epoch": str(h.best_epoch)}
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), fresh.state_dict().values(), strict=True))


def test_progress_bar_can_be_shown(capsys: pytest.CaptureFixture[str]) -> None:
    model, data = _regression()
    train(model, mse, data, config=TrainConfig(epochs=2), progress=True, desc="fit")
    assert "fit" in capsys.readouterr().err
    train(model, mse, data, config=TrainConfig(epochs=2), progress=False, desc="quiet")
    assert "quiet" not in capsys.readouterr().err


def test_non_finite_loss_messages_name_each_cause_in_full() -> None:
    from rlvae_tutorial.train import _non_finite_error

    model = nn.Linear(2, 1)
    too_high = "the learning rate (0.1) is probably too high; lower it or set TrainConfig(grad_clip=...)"
    where = "the loss is nan at epoch 1, step 3: "
    dirty = (torch.tensor([[math.nan, 1.0], [math.inf, 0.0]]), torch.tensor([1, 2]))
    assert str(_non_finite_error(math.nan, model, dirty, 1, 3, "0.1", None)) == (
        where + "the batch contains 2 NaN/inf values: the training data are not clean "
        "(check them with torch.isfinite before training)."
    )
    clean = torch.zeros(2, 2)
    assert str(_non_finite_error(math.nan, model, clean, 1, 3, "0.1", 2.5)) == (
        where + f"the loss started finite (2.5) and training diverged: {too_high}. "
        "If a small learning rate does the same, look for log(0) or exp() overflow in loss_fn."
    )
    assert str(_non_finite_error(math.nan, model, clean, 1, 3, "0.1", None)) == (
        where + "the very first loss is not finite with clean data: likely log(0) or exp() overflow in "
        "loss_fn (score log-probabilities with torch.distributions / logits, clamp log-variances)."
    )
    with torch.no_grad():
        model.weight[0, 0] = math.nan
    assert str(_non_finite_error(math.nan, model, clean, 1, 3, "0.1", 2.5)) == (
        where + f"the model's weights are already NaN/inf, so an earlier update diverged: {too_high}."
    )


def _batch_mean(model: nn.Module, batch: tuple[torch.Tensor, torch.Tensor]) -> tuple[torch.Tensor, dict]:
    x, _ = batch
    loss = model(x).mean() * 0.0 + x.mean()  # a loss with a graph, whose value is the batch's mean x
    return loss, {"m": 2.0 * x.mean(), "raw": loss}


def test_records_and_evaluations_are_batch_size_weighted_means_without_graphs() -> None:
    x = torch.arange(5, dtype=torch.float32).unsqueeze(-1)  # batches of 2, 2, 1: means 0.5, 2.5, 4
    data = (x, torch.zeros(5))
    h = train(nn.Linear(1, 1), _batch_mean, data, config=TrainConfig(epochs=1, batch_size=2, shuffle=False),
              progress=False)
    assert h.records[0]["loss"] == pytest.approx(2.0) and h.records[0]["m"] == pytest.approx(4.0)
    assert evaluate_loss(nn.Linear(1, 1), _batch_mean, data, batch_size=2) == pytest.approx(
        {"loss": 2.0, "m": 4.0, "raw": 2.0})
    from rlvae_tutorial.train import _detached

    assert not _detached({"raw": torch.ones(1, requires_grad=True) * 2})["raw"].requires_grad


def test_train_shows_a_progress_bar_named_train_by_default(capsys: pytest.CaptureFixture[str]) -> None:
    model, data = _regression()
    train(model, mse, data, config=TrainConfig(epochs=1))
    assert "train:" in capsys.readouterr().err


def test_train_refusals_have_whole_messages() -> None:
    model, data = _regression()
    with pytest.raises(ValueError, match=r"^early stopping \(TrainConfig.patience\) needs validation: pass val_data= or val_fn=$"):
        train(model, mse, data, config=TrainConfig(patience=3), progress=False)
    frozen = nn.Linear(3, 1).requires_grad_(False)
    with pytest.raises(ValueError, match=r"^the model has no trainable parameters$"):
        train(frozen, mse, data, config=TrainConfig(epochs=1), progress=False)
