#!/usr/bin/env python3
"""Time to solve CartPole-v1: REINFORCE with a learned value baseline, the book's A2C and PPO, and
Stable-Baselines3's PPO with the RL Zoo's CartPole-v1 settings (optional: ``pip install
stable-baselines3``, the ``bench`` extra; skipped with a message when it is missing).

For each seed, train with the book's default config on 8 vectorised envs, evaluate every 5,000
env steps with 20 episodes of SAMPLED actions, and stop when the mean return reaches 475.  Report
the env steps and the training wall time (evaluation excluded) at that point; a run that has not
solved it within the budget counts as a failure.  Prints a table with medians and failures.

    .venv/bin/python benchmarks/cartpole_time_to_solve.py                 # 20 seeds, both
    .venv/bin/python benchmarks/cartpole_time_to_solve.py --seeds 5 --algos reinforce
    .venv/bin/python benchmarks/cartpole_time_to_solve.py --algos ppo sb3-ppo

SB3's PPO is evaluated by the same protocol: a callback evaluates its policy (sampled actions,
the same 20 evaluation episodes and seeds, via ``rlvae_tutorial.rl.evaluate``) after every update
once 5,000 more env steps have passed, stops at 475, and excludes the evaluations from its clocks.

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
    PPOConfig,
    ReinforceConfig,
    evaluate,
    train_actor_critic,
    train_ppo,
    train_reinforce,
)

ALGOS = {
    "reinforce": (train_reinforce, ReinforceConfig()),
    "a2c": (train_actor_critic, ActorCriticConfig()),
    "ppo": (train_ppo, PPOConfig()),
}
# rl-baselines3-zoo's hyperparams/ppo.yml, CartPole-v1 (n_envs 8, n_timesteps 1e5); lin_x schedules
# decay linearly to 0 over the budget.
SB3_ZOO_CARTPOLE = {"n_steps": 32, "batch_size": 256, "gae_lambda": 0.8, "gamma": 0.98, "n_epochs": 20,
                    "ent_coef": 0.0, "learning_rate": 1e-3, "clip_range": 0.2}
ALL_ALGOS = [*ALGOS, "sb3-ppo"]


def sb3_available() -> bool:
    try:
        import stable_baselines3  # noqa: F401
    except ImportError:
        return False
    return True


def run_sb3(seed: int, budget: int, num_envs: int) -> dict:
    """SB3's PPO under the book's protocol (see the module docstring)."""
    from stable_baselines3 import PPO
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.env_util import make_vec_env
    from torch import nn

    class Policy(nn.Module):  # SB3's actor as a module returning a torch distribution
        def __init__(self, model: PPO) -> None:
            super().__init__()
            self.inner = model.policy

        def forward(self, obs: torch.Tensor) -> torch.distributions.Distribution:
            return self.inner.get_distribution(obs).distribution

    class Protocol(BaseCallback):
        def __init__(self) -> None:
            super().__init__()
            self.eval_envs = gym.make_vec("CartPole-v1", num_envs=20)
            self.next_eval, self.n_evals, self.solved, self.stop = 5_000, 0, None, False
            self.wall = self.cpu = 0.0
            self._t, self._c = time.perf_counter(), time.process_time()

        def _on_rollout_start(self) -> None:  # after each update (and before the first rollout)
            if self.num_timesteps < self.next_eval:
                return
            self.wall += time.perf_counter() - self._t
            self.cpu += time.process_time() - self._c
            returns = evaluate(Policy(self.model), self.eval_envs, seed=seed + 10_000 + self.n_evals)
            self.n_evals += 1
            self.next_eval += 5_000
            if returns.mean() >= 475.0:
                self.solved, self.stop = self.num_timesteps, True
            self._t, self._c = time.perf_counter(), time.process_time()

        def _on_step(self) -> bool:
            return not self.stop

    lin = lambda x: (lambda progress_remaining: progress_remaining * x)  # noqa: E731
    cfg = dict(SB3_ZOO_CARTPOLE, learning_rate=lin(SB3_ZOO_CARTPOLE["learning_rate"]),
               clip_range=lin(SB3_ZOO_CARTPOLE["clip_range"]))
    model = PPO("MlpPolicy", make_vec_env("CartPole-v1", n_envs=num_envs, seed=seed), seed=seed,
                device="cpu", verbose=0, **cfg)
    cb = Protocol()
    model.learn(total_timesteps=budget, callback=cb)
    if not cb.stop:
        cb.wall += time.perf_counter() - cb._t
        cb.cpu += time.process_time() - cb._c
    ok = cb.solved is not None
    return {"algo": "sb3-ppo", "seed": seed, "solved": ok, "steps": cb.solved,
            "seconds": cb.wall if ok else None, "cpu_seconds": cb.cpu if ok else None,
            "train_seconds": cb.wall, "env_steps": model.num_timesteps}


def run(algo: str, seed: int, budget: int, num_envs: int) -> dict:
    if algo == "sb3-ppo":
        return run_sb3(seed, budget, num_envs)
    train, config = ALGOS[algo]
    config = replace(config, total_steps=budget, eval_every=5_000, target_return=475.0)
    if hasattr(config, "n_envs"):
        config = replace(config, n_envs=num_envs)
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


def markdown(results: list[dict]) -> str:
    """The table as Markdown: solved runs, median steps (range over solved runs), median wall and
    CPU seconds (medians over all runs, failures counted as never solving)."""
    lines = ["| method | solved | median env steps (range) | median wall s | median CPU s |",
             "| --- | ---: | ---: | ---: | ---: |"]
    for algo in dict.fromkeys(r["algo"] for r in results):
        rows = [r for r in results if r["algo"] == algo]
        ok = [r for r in rows if r["solved"]]
        med = {k: np.median([r[k] if r["solved"] else np.inf for r in rows]) for k in ("steps", "seconds", "cpu_seconds")}
        rng = f" ({min(r['steps'] for r in ok):,}-{max(r['steps'] for r in ok):,})" if ok else ""
        fmt = lambda x, f: "never" if np.isinf(x) else format(x, f)  # noqa: E731
        lines.append(f"| {algo} | {len(ok)}/{len(rows)} | {fmt(med['steps'], ',.0f')}{rng} | "
                     f"{fmt(med['seconds'], '.1f')} | {fmt(med['cpu_seconds'], '.1f')} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=20, help="number of seeds, 0..N-1 (default 20)")
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--algos", nargs="+", default=ALL_ALGOS, choices=ALL_ALGOS)
    parser.add_argument("--budget", type=int, default=100_000, help="env steps before a run fails")
    parser.add_argument("--num-envs", type=int, default=8)
    parser.add_argument("--json", help="also write every run's numbers to this file")
    args = parser.parse_args(argv)

    if "sb3-ppo" in args.algos and not sb3_available():
        print("stable-baselines3 is not installed: skipping the sb3-ppo row "
              "(pip install stable-baselines3, or the project's 'bench' extra)", file=sys.stderr)
        args.algos = [a for a in args.algos if a != "sb3-ppo"]
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
    print()
    print(markdown(results))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"args": vars(args), "load": [load_before, load_after], "results": results,
                       "configs": {a: asdict(ALGOS[a][1]) if a in ALGOS else SB3_ZOO_CARTPOLE
                                   for a in args.algos}}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
