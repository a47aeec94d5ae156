"""The book's one training loop: minibatch gradient descent on any ``loss_fn(model, batch)``.

Every chapter that fits a network by gradient descent calls :func:`train`: the VAE, the encoder
trained as a policy, a reward classifier.  The algorithm lives in the loss function; the loop does
the bookkeeping once, correctly: shuffling from a seed, evaluation under ``torch.no_grad()``,
early stopping and keep-best on a validation metric, a history, a progress bar, checkpoints, and
an early, explicit error when the loss stops being a finite number.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Mapping
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from rlvae_tutorial.checkpoint import check_checkpoint_path, save_checkpoint

Batch = Any  # a Tensor, a tuple of Tensors, or whatever an iterable data source yields
Metrics = Mapping[str, Tensor | float]
LossFn = Callable[[nn.Module, Batch], tuple[Tensor, Metrics]]
Data = Tensor | tuple[Tensor, ...] | Iterable[Batch]


@dataclass(frozen=True)
class TrainConfig:
    """Hyperparameters of :func:`train`; the defaults are the book's digits VAE.

    - ``lr`` is used only when ``train`` creates the optimiser (Adam) itself.
    - ``seed`` seeds the shuffling and, inside the loop only, torch's global generator (so that
      ``rsample`` in a loss is reproducible); ``None`` uses the current random state.
    - ``patience``: stop after this many evaluations without improving ``monitor`` (needs
      validation); ``keep_best`` restores the weights of the best evaluation at the end.
    - ``monitor`` names a key of the history records, ``mode`` whether lower or higher is better.
    """

    epochs: int = 200
    batch_size: int = 128
    lr: float = 1e-3
    seed: int | None = 0
    shuffle: bool = True
    grad_clip: float | None = None
    eval_every: int = 1
    patience: int | None = None
    monitor: str = "val_loss"
    mode: str = "min"
    keep_best: bool = True
    eval_batch_size: int = 4096

    def __post_init__(self) -> None:
        for name in ("epochs", "batch_size", "eval_every", "eval_batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"TrainConfig.{name} must be >= 1, got {getattr(self, name)}")
        if self.lr <= 0:
            raise ValueError(f"TrainConfig.lr must be > 0, got {self.lr}")
        if self.mode not in ("min", "max"):
            raise ValueError(f"TrainConfig.mode must be 'min' or 'max', got {self.mode!r}")
        if self.patience is not None and self.patience < 1:
            raise ValueError(f"TrainConfig.patience must be >= 1 or None, got {self.patience}")
        if self.grad_clip is not None and self.grad_clip <= 0:
            raise ValueError(f"TrainConfig.grad_clip must be > 0 or None, got {self.grad_clip}")


@dataclass
class History:
    """What :func:`train` returns: one record per epoch, and the best evaluation.

    Records hold ``epoch`` (1-based), ``time`` (seconds since the start), the batch-size weighted
    means of ``loss`` and of every metric of the loss function, and, on evaluation epochs, the
    validation metrics (``val_loss``, ``val_<metric>``, and whatever ``val_fn`` returns).
    ``history["val_loss"]`` is that column, with NaN on epochs without it.  ``skipped_batches``
    counts empty batches (zero rows, e.g. from a custom loader): no loss, no optimiser step.
    """

    records: list[dict[str, float]] = field(default_factory=list)
    best_epoch: int | None = None
    best_value: float | None = None
    stopped_early: bool = False
    skipped_batches: int = 0

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, key: str) -> list[float]:
        if not any(key in r for r in self.records):
            known = sorted({k for r in self.records for k in r})
            raise KeyError(f"no column {key!r} in the history; columns: {', '.join(known)}")
        return [float(r.get(key, math.nan)) for r in self.records]

    def last(self, key: str) -> float:
        """The latest recorded value of ``key``."""
        return next(float(r[key]) for r in reversed(self.records) if key in r)


def _n_rows(data: Tensor | tuple[Tensor, ...]) -> int:
    tensors = data if isinstance(data, tuple) else (data,)
    sizes = {t.shape[0] for t in tensors}
    if len(sizes) != 1:
        raise ValueError(f"the tensors of a data tuple must have the same number of rows, got {sorted(sizes)}")
    return sizes.pop()


def _batches(data: Data, batch_size: int, generator: torch.Generator | None) -> Iterable[Batch]:
    """Minibatches of a Tensor / tuple of Tensors (shuffled if ``generator``), or the iterable itself."""
    if isinstance(data, list) and data and all(isinstance(t, Tensor) for t in data):
        data = tuple(data)
    if not isinstance(data, (Tensor, tuple)):
        return data  # a DataLoader or another iterable: it batches (and shuffles) itself
    n = _n_rows(data)
    device = (data if isinstance(data, Tensor) else data[0]).device
    order = torch.randperm(n, generator=generator) if generator is not None else torch.arange(n)
    order = order.to(device)
    if isinstance(data, Tensor):
        return (data[order[i : i + batch_size]] for i in range(0, n, batch_size))
    return (tuple(t[order[i : i + batch_size]] for t in data) for i in range(0, n, batch_size))


def _size(batch: Batch) -> int:
    first = batch[0] if isinstance(batch, (tuple, list)) else batch
    return int(first.shape[0]) if isinstance(first, Tensor) and first.dim() > 0 else 1


def _tensors(batch: Batch) -> list[Tensor]:
    items = batch if isinstance(batch, (tuple, list)) else [batch]
    return [t for t in items if isinstance(t, Tensor)]


def _non_finite_error(
    value: float, model: nn.Module, batch: Batch, epoch: int, step: int, lr: str, first_loss: float | None
) -> FloatingPointError:
    where = f"the loss is {value} at epoch {epoch}, step {step}"
    bad_data = sum(int((~torch.isfinite(t)).sum()) for t in _tensors(batch) if t.is_floating_point())
    too_high = f"the learning rate ({lr}) is probably too high; lower it or set TrainConfig(grad_clip=...)"
    if bad_data:
        cause = (f"the batch contains {bad_data} NaN/inf values: the training data are not clean "
                 "(check them with torch.isfinite before training)")
    elif any(not torch.isfinite(p).all() for p in model.parameters()):
        cause = f"the model's weights are already NaN/inf, so an earlier update diverged: {too_high}"
    elif first_loss is not None:
        cause = (f"the loss started finite ({first_loss:.4g}) and training diverged: {too_high}. "
                 "If a small learning rate does the same, look for log(0) or exp() overflow in loss_fn")
    else:
        cause = ("the very first loss is not finite with clean data: likely log(0) or exp() overflow in "
                 "loss_fn (score log-probabilities with torch.distributions / logits, clamp log-variances)")
    return FloatingPointError(f"{where}: {cause}.")


def _detached(metrics: Metrics) -> dict[str, Tensor | float]:
    """Metrics without their autograd graphs, so that an epoch's log does not keep them alive."""
    return {k: v.detach() if isinstance(v, Tensor) else v for k, v in metrics.items()}


def _weighted_means(steps: list[tuple[int, Metrics]], count: int) -> dict[str, float]:
    """Batch-size weighted means of per-step metrics (converted to floats once, at the end)."""
    keys = dict.fromkeys(k for _, metrics in steps for k in metrics)
    return {k: sum(float(m[k]) * n for n, m in steps if k in m) / count for k in keys}


@torch.no_grad()
def evaluate_loss(model: nn.Module, loss_fn: LossFn, data: Data, batch_size: int = 4096) -> dict[str, float]:
    """Batch-size weighted means of ``loss`` and of the metrics of ``loss_fn`` over ``data``.

    Runs under ``torch.no_grad()`` with the model in eval mode (restored afterwards); data are
    not shuffled.
    """
    was_training = model.training
    model.eval()
    steps: list[tuple[int, Metrics]] = []
    try:
        for batch in _batches(data, batch_size, None):
            if _size(batch) == 0:  # an empty batch has no mean (NaN); it weighs nothing anyway
                continue
            loss, metrics = loss_fn(model, batch)
            steps.append((_size(batch), {"loss": loss, **metrics}))
    finally:
        model.train(was_training)
    return _weighted_means(steps, max(sum(n for n, _ in steps), 1))


def _rng_context(seed: int | None, device: torch.device):  # noqa: ANN202 - a context manager
    if seed is None:
        return nullcontext()
    cuda = [device.index or torch.cuda.current_device()] if device.type == "cuda" else []
    return torch.random.fork_rng(devices=cuda)


def train(
    model: nn.Module,
    loss_fn: LossFn,
    data: Data,
    *,
    config: TrainConfig = TrainConfig(),
    optimizer: torch.optim.Optimizer | None = None,
    val_data: Data | None = None,
    val_fn: Callable[[nn.Module], Mapping[str, float]] | None = None,
    checkpoint: str | Path | None = None,
    progress: bool = True,
    desc: str = "train",
) -> History:
    """Train ``model`` in place by minimising ``loss_fn`` over ``data``; return the :class:`History`.

    ``loss_fn(model, batch) -> (loss, metrics)``: a scalar loss (mean over the batch) and a dict
    of scalars to log.  ``data``: a Tensor or tuple of Tensors (batched and shuffled here, on their
    own device) or any re-iterable of batches (e.g. a DataLoader).  Validation, every
    ``config.eval_every`` epochs, in eval mode and under ``torch.no_grad()``: ``loss_fn`` averaged over
    ``val_data`` (keys ``val_loss``, ``val_<metric>``), plus ``val_fn(model)``'s dict.
    With validation, ``config.patience`` stops early and ``config.keep_best`` restores the best
    weights.  ``checkpoint``: a path where the final (best, with keep_best) weights are saved.
    A non-finite loss raises ``FloatingPointError`` naming the likely cause, before any optimiser
    step on it.  Empty data, and a checkpoint path the model cannot be saved to, fail up front.
    """
    for name, d in (("data", data), ("val_data", val_data)):
        if isinstance(d, (Tensor, tuple)) and _n_rows(d) == 0:
            raise ValueError(f"{name} has no rows: pass at least one example (or {name}=None)")
    if checkpoint is not None:
        check_checkpoint_path(model, checkpoint)
    validate = val_data is not None or val_fn is not None
    if config.patience is not None and not validate:
        raise ValueError("early stopping (TrainConfig.patience) needs validation: pass val_data= or val_fn=")
    params = [p for p in model.parameters() if p.requires_grad]
    if optimizer is None:
        if not params:
            raise ValueError("the model has no trainable parameters")
        optimizer = torch.optim.Adam(params, lr=config.lr)
    lr = ", ".join(f"{g['lr']:g}" for g in optimizer.param_groups)
    device = next((p.device for p in model.parameters()), torch.device("cpu"))
    sign = 1.0 if config.mode == "min" else -1.0
    history = History()
    best_state: dict[str, Tensor] | None = None
    bad_evals = 0
    first_loss: float | None = None
    start = time.perf_counter()

    with _rng_context(config.seed, device):
        generator = None
        if config.shuffle:
            generator = torch.Generator()
            seed = config.seed if config.seed is not None else int(torch.randint(0, 2**62, ()).item())
            generator.manual_seed(seed)
        if config.seed is not None:
            torch.manual_seed(config.seed)
        bar = tqdm(range(1, config.epochs + 1), desc=desc, disable=not progress, leave=True)
        for epoch in bar:
            model.train()
            steps: list[tuple[int, Metrics]] = []  # (batch size, metrics) of every step
            loss_sum, count = 0.0, 0
            for step, batch in enumerate(_batches(data, config.batch_size, generator)):
                if _size(batch) == 0:  # nothing to learn from: its mean loss would be NaN
                    history.skipped_batches += 1
                    continue
                loss, metrics = loss_fn(model, batch)
                if loss.dim() != 0:
                    raise ValueError(f"loss_fn must return a scalar loss (average over the batch), got shape {tuple(loss.shape)}")
                value = loss.item()  # one synchronisation per step, for the check below
                if not math.isfinite(value):
                    raise _non_finite_error(value, model, batch, epoch, step, lr, first_loss)
                first_loss = value if first_loss is None else first_loss
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                if config.grad_clip is not None:
                    nn.utils.clip_grad_norm_(params, config.grad_clip)
                optimizer.step()
                n = _size(batch)
                steps.append((n, _detached(metrics)))
                loss_sum, count = loss_sum + value * n, count + n
            if count == 0:
                raise ValueError("the training data yielded no batches")
            record: dict[str, float] = {"epoch": float(epoch), "loss": loss_sum / count}
            record.update(_weighted_means(steps, count))
            if validate and (epoch % config.eval_every == 0 or epoch == config.epochs):
                if val_data is not None:
                    val = evaluate_loss(model, loss_fn, val_data, config.eval_batch_size)
                    record.update({f"val_{k}": v for k, v in val.items()})
                if val_fn is not None:
                    model.eval()
                    with torch.no_grad():
                        record.update({k: float(v) for k, v in val_fn(model).items()})
                    model.train()
                if config.monitor not in record:
                    raise ValueError(
                        f"TrainConfig.monitor={config.monitor!r} is not among the recorded values "
                        f"{sorted(record)}; set monitor= to one of them"
                    )
                value = record[config.monitor]
                if history.best_value is None or sign * value < sign * history.best_value:
                    history.best_value, history.best_epoch, bad_evals = value, epoch, 0
                    if config.keep_best:
                        best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
                else:
                    bad_evals += 1
            record["time"] = time.perf_counter() - start
            history.records.append(record)
            if progress:
                shown = {"loss": record["loss"]}
                if config.monitor in record:
                    shown[config.monitor] = record[config.monitor]
                bar.set_postfix({k: f"{v:.4g}" for k, v in shown.items()}, refresh=False)
            if config.patience is not None and bad_evals >= config.patience:
                history.stopped_early = True
                break
        bar.close()

    if best_state is not None:
        model.load_state_dict(best_state)
    if checkpoint is not None:
        epoch_saved = history.best_epoch if best_state is not None else len(history)
        save_checkpoint(model, checkpoint, {"epoch": str(epoch_saved)})
    return history
