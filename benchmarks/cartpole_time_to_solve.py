#!/usr/bin/env python3
"""Time to solve CartPole-v1: REINFORCE with a learned value baseline, and the A2C of the book.

For each seed, train with the book's default config on 8 vectorised envs, evaluate every 5,000
env steps with 20 episodes of SAMPLED actions, and stop when the mean return reaches 475.  Report
the env steps and the training wall time (evaluation excluded) at that point; a run that has not
solved it within the budget counts as a failure.  Prints a table with medians and failures.

    .venv/bin/python benchmarks/cartpole_time_to_solve.py                 # 20 seeds, both
    .venv/bin/python benchmarks/cartpole_time_to_solve.py --seeds 5 --algos reinforce

Wall times depend on the machine and its load (printed with the table); CPU times (of this
process, evaluations excluded) much less so; env steps not at all.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import asdict, replace

import gymnasium as gym
import numpy as np
import torch
from tqdm.auto import tqdm

from rlvae_tutorial.device import get_device
from rlvae_tutorial.rl import (
    ActorCriticConfig,
    ReinforceConfig,
    train_actor_critic,
    train_reinforce,
)

ALGOS = {
    "reinforce": (train_reinforce, ReinforceConfig()),
    "a2c": (train_actor_critic, ActorCriticConfig()),
}


def run(algo: str, seed: int, budget: int, num_envs: int) -> dict:
    train, config = ALGOS[algo]
    config = replace(config, total_steps=budget, eval_every=5_000, target_return=475.0)
    envs = gym.make_vec("CartPole-v1", num_envs=num_envs)
    eval_envs = gym.make_vec("CartPole-v1", num_envs=20)
    history = train(envs, config, seed=seed, eval_envs=eval_envs, progress=False).history
    return {"algo": algo, "seed": seed, "solved": history.solved_step is not None,
            "steps": history.solved_step, "seconds": history.solved_seconds,
            "cpu_seconds": history.solved_cpu_seconds, "train_seconds": history.train_seconds,
            "env_steps": history.env_steps}


def table(results: list[dict]) -> str:
    lines = [f"{'algorithm':<10} {'runs':>4} {'failures':>8} {'median steps':>12} {'median s':>9} "
             f"{'median cpu s':>12} {'steps range':>15} {'seconds range':>15}"]
    for algo in dict.fromkeys(r["algo"] for r in results):
        rows = [r for r in results if r["algo"] == algo]
        ok = [r for r in rows if r["solved"]]
        steps = np.array([r["steps"] for r in ok]) if ok else np.array([np.nan])
        secs = np.array([r["seconds"] for r in ok]) if ok else np.array([np.nan])
        # Failures count as "never": the median over all runs is then at least the budget.
        all_steps = np.array([r["steps"] if r["solved"] else np.inf for r in rows])
        all_secs = np.array([r["seconds"] if r["solved"] else np.inf for r in rows])
        all_cpu = np.array([r["cpu_seconds"] if r["solved"] else np.inf for r in rows])
        lines.append(f"{algo:<10} {len(rows):>4} {len(rows) - len(ok):>8} {np.median(all_steps):>12.0f} "
                     f"{np.median(all_secs):>9.2f} {np.median(all_cpu):>12.2f} {f'{steps.min():.0f}-{steps.max():.0f}':>15} "
                     f"{f'{secs.min():.2f}-{secs.max():.2f}':>15}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=20, help="number of seeds, 0..N-1 (default 20)")
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--algos", nargs="+", default=list(ALGOS), choices=list(ALGOS))
    parser.add_argument("--budget", type=int, default=100_000, help="env steps before a run fails")
    parser.add_argument("--num-envs", type=int, default=8)
    parser.add_argument("--json", help="also write every run's numbers to this file")
    args = parser.parse_args(argv)

    device = get_device("cpu")  # one torch thread unless RLVAE_NUM_THREADS says otherwise
    load_before = os.getloadavg()
    start = time.perf_counter()
    results = []
    jobs = [(a, s) for a in args.algos for s in range(args.first_seed, args.first_seed + args.seeds)]
    for algo, seed in tqdm(jobs, desc="runs"):
        results.append(run(algo, seed, args.budget, args.num_envs))
    load_after = os.getloadavg()
    print(f"CartPole-v1, solved = mean sampled-eval return >= 475 over 20 episodes, evaluated every "
          f"5,000 env steps; budget {args.budget:,} steps; {args.num_envs} envs; device {device}, "
          f"{torch.get_num_threads()} torch thread(s), {os.cpu_count()} CPUs; gymnasium {gym.__version__}, "
          f"torch {torch.__version__}")
    print(f"load average (1 min) {load_before[0]:.1f} before, {load_after[0]:.1f} after; "
          f"total wall time {time.perf_counter() - start:.0f} s (evaluations included)")
    print(table(results))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"args": vars(args), "load": [load_before, load_after], "results": results,
                       "configs": {a: asdict(ALGOS[a][1]) for a in args.algos}}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
