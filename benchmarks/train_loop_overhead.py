"""How much does the book's training loop cost on top of a bare PyTorch loop?

Both loops train the same VAE (the book's 64-256-256-8 MLP, Bernoulli likelihood) on the same
binarised digits, with the same loss (``VAELoss``), optimiser (Adam 1e-3), batch size (128),
number of steps and seed; they even end with the same weights (checked).  The runs alternate
(bare, package, bare, ...) so that a change in machine load hits both; the median of the paired
ratios is reported.  The target is a ratio <= 1.05.

    .venv/bin/python benchmarks/train_loop_overhead.py [--epochs 20] [--repeats 7] [--progress]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import torch

from rlvae_tutorial.data import load_digits
from rlvae_tutorial.device import configure_cpu_threads
from rlvae_tutorial.train import TrainConfig, train
from rlvae_tutorial.vae import VAE, VAELoss


def bare_loop(model: VAE, x: torch.Tensor, epochs: int, batch_size: int, seed: int) -> None:
    """The loop a tutorial would write inline: shuffle, forward, backward, step."""
    loss_fn = VAELoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    n = x.shape[0]
    for _ in range(epochs):
        order = torch.randperm(n, generator=generator)
        for i in range(0, n, batch_size):
            loss, _ = loss_fn(model, x[order[i : i + batch_size]])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()


def package_loop(model: VAE, x: torch.Tensor, epochs: int, batch_size: int, seed: int, progress: bool) -> None:
    config = TrainConfig(epochs=epochs, batch_size=batch_size, lr=1e-3, seed=seed)
    train(model, VAELoss(), x, config=config, progress=progress)


def bookkeeping_overhead_us(repeats: int, seed: int) -> tuple[float, float]:
    """The bare loop's µs per step on a nearly free model, and the median paired extra µs of ``train``.

    A 1x1 linear layer on 2,000 one-number rows in batches of 1: the forward, backward and Adam step
    cost tens of µs, so the difference between the loops is their bookkeeping (batching, the
    finite-loss check, metrics, history), which the VAE's milliseconds per step hide in noise.
    """
    x = torch.randn(2000, 1, generator=torch.Generator().manual_seed(seed))

    def tiny_loss(model: torch.nn.Module, batch: torch.Tensor) -> tuple[torch.Tensor, dict]:
        out = model(batch).pow(2).mean()
        return out, {"out": out.detach()}

    def run(package: bool) -> float:
        torch.manual_seed(seed)
        model = torch.nn.Linear(1, 1)
        start = time.process_time()
        if package:
            train(model, tiny_loss, x, config=TrainConfig(epochs=1, batch_size=1, seed=seed), progress=False)
        else:
            optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
            order = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))
            for i in range(len(x)):
                loss, _ = tiny_loss(model, x[order[i : i + 1]])
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
        return 1e6 * (time.process_time() - start) / len(x)

    run(False), run(True)  # warm up
    bare, package = [], []
    for _ in range(repeats):
        bare.append(run(False))
        package.append(run(True))
    return statistics.median(bare), statistics.median(p - b for p, b in zip(package, bare, strict=True))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--progress", action="store_true", help="show the package loop's tqdm bar")
    args = parser.parse_args()
    configure_cpu_threads()
    x, _ = load_digits("train", binarize=True)
    batch_size = 128

    def fresh() -> VAE:
        torch.manual_seed(1234)
        return VAE()

    # Same computation: both loops end with the same weights.
    a, b = fresh(), fresh()
    bare_loop(a, x, 2, batch_size, args.seed)
    package_loop(b, x, 2, batch_size, args.seed, progress=False)
    same = all(torch.equal(p, q) for p, q in zip(a.state_dict().values(), b.state_dict().values(), strict=True))
    assert same, "the two loops did not compute the same thing"

    wall: dict[str, list[float]] = {"bare": [], "package": []}
    cpu: dict[str, list[float]] = {"bare": [], "package": []}
    for _ in range(args.repeats):
        for name in ("bare", "package"):
            model = fresh()
            start, start_cpu = time.perf_counter(), time.process_time()
            if name == "bare":
                bare_loop(model, x, args.epochs, batch_size, args.seed)
            else:
                package_loop(model, x, args.epochs, batch_size, args.seed, args.progress)
            wall[name].append(time.perf_counter() - start)
            cpu[name].append(time.process_time() - start_cpu)
    steps = args.epochs * -(-x.shape[0] // batch_size)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), 1-min load average {load:.2f}")
    print(f"{args.epochs} epochs = {steps} steps of batch {batch_size}, median of {args.repeats} alternating runs")
    print("                      wall time              CPU time of this process")
    for name, label in (("bare", "bare PyTorch loop"), ("package", "rlvae_tutorial.train")):
        w, c = statistics.median(wall[name]), statistics.median(cpu[name])
        print(f"{label:<21} {w:7.3f} s ({1000 * w / args.epochs:6.1f} ms/epoch)  {c:7.3f} s ({1000 * c / args.epochs:6.1f} ms/epoch)")
    # Median of the paired ratios (each package run against the bare run just before it).
    ratio_wall = statistics.median(p / b for p, b in zip(wall["package"], wall["bare"], strict=True))
    ratio_cpu = statistics.median(p / b for p, b in zip(cpu["package"], cpu["bare"], strict=True))
    print(f"ratio package / bare: wall {ratio_wall:.3f}, CPU {ratio_cpu:.3f} (target <= 1.05); "
          f"identical final weights: {same}")
    tiny_bare, extra = bookkeeping_overhead_us(args.repeats, args.seed)
    per_step = 1e6 * statistics.median(cpu["bare"]) / steps
    print(f"bookkeeping alone (1x1 model, CPU): bare loop {tiny_bare:.0f} µs/step, train() {extra:+.0f} µs/step "
          f"= {100 * extra / per_step:+.1f}% of a VAE step ({per_step:.0f} µs)")
    print("On a busy machine wall-time ratios swing by +-10%; the bookkeeping difference is the stable number.")


if __name__ == "__main__":
    main()
