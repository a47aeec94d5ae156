"""The set-up numbers the chapters type in their prose match what runs (issue #16).

A chapter may describe its configuration in words ("1,437 training and 360 test images", "a
hidden layer of 64 units", "at least 0.9") only if the number is the one the code uses.  Each
case below names a notebook, a markdown cell, the phrase exactly as the cell's source has it,
a zero-argument callable that returns the true value from the object that runs (the package's
functions, environments, config defaults and claim rules, or the literal the notebook's own code
cell passes), and how the prose writes that value.  The test checks that the phrase is still in
the cell and that the number in it is the formatted true value.

Results of a run (rates, errors, times) are not here: those are glued from the run.
"""

from __future__ import annotations

import ast
import inspect
import json
import math
import re
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

import gymnasium as gym
import numpy as np
import pytest

from rlvae_tutorial.claims import CLAIMS, FAILS, HOLDS
from rlvae_tutorial.data import load_digits
from rlvae_tutorial.envs import GRIDWORLD_ID, PIXEL_GRIDWORLD_ID, GridWorldEnv
from rlvae_tutorial.envs.gridworld import COLOURS
from rlvae_tutorial.envs.pixels import PixelGridWorldEnv
from rlvae_tutorial.guidance.sequence import FinetuneConfig
from rlvae_tutorial.guidance.toy_language import sample_corpus
from rlvae_tutorial.latents import LatentsConfig
from rlvae_tutorial.rl.dqn import DQNConfig
from rlvae_tutorial.stats import restricted_mean_difference
from rlvae_tutorial.train import TrainConfig
from rlvae_tutorial.vae import VAEConfig
from tests.notebook_utils import ROOT

# --- reading the notebooks ---------------------------------------------------------------------


@cache
def _cells(stem: str) -> dict[str, dict]:
    nb = json.loads((ROOT / "book" / f"{stem}.ipynb").read_text(encoding="utf-8"))
    return {cell["id"]: cell for cell in nb["cells"]}


def cell_source(stem: str, cell_id: str, kind: str) -> str:
    """The source of cell ``cell_id`` of ``book/<stem>.ipynb``, which must be a ``kind`` cell."""
    cells = _cells(stem)
    assert cell_id in cells, f"{stem}.ipynb has no cell {cell_id!r} (renamed?); update tests/test_prose_numbers.py"
    cell = cells[cell_id]
    assert cell["cell_type"] == kind, f"{stem}.ipynb cell {cell_id} is {cell['cell_type']}, not {kind}"
    src = cell["source"]
    return src if isinstance(src, str) else "".join(src)


def code_literal(stem: str, cell_id: str, pattern: str) -> Any:
    """The literal that group 1 of ``pattern`` matches in a code cell (``1_000``, ``0.7``, ...)."""
    src = cell_source(stem, cell_id, "code")
    m = re.search(pattern, src)
    assert m, f"{stem}.ipynb cell {cell_id}: the code no longer matches {pattern!r}; update this test's case"
    return ast.literal_eval(m.group(1))


def code_literal_file(path: str, pattern: str) -> Any:
    """Like :func:`code_literal`, for a script of the repository."""
    m = re.search(pattern, (ROOT / path).read_text(encoding="utf-8"))
    assert m, f"{path} no longer matches {pattern!r}; update this test's case"
    return ast.literal_eval(m.group(1))


def _calls(stem: str, cell_id: str, name: str) -> list[ast.Call]:
    tree = ast.parse(cell_source(stem, cell_id, "code"))
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call)
             and (getattr(n.func, "id", None) == name or getattr(n.func, "attr", None) == name)]
    assert calls, f"{stem}.ipynb cell {cell_id} no longer calls {name}(); update this test's case"
    return calls


def call_arg(stem: str, cell_id: str, name: str, key: str | int) -> Any:
    """The literal argument ``key`` (a keyword, or a position) of the first call of ``name`` in a
    code cell that passes it."""
    for call in _calls(stem, cell_id, name):
        if isinstance(key, int) and len(call.args) > key:
            return ast.literal_eval(call.args[key])
        for kw in call.keywords:
            if kw.arg == key:
                return ast.literal_eval(kw.value)
    raise AssertionError(f"{stem}.ipynb cell {cell_id}: no call of {name}() passes {key!r}")


def built(stem: str, cell_id: str, cls: type, field: str) -> Any:
    """``field`` of the config ``cls(...)`` as the notebook's code cell builds it: its literal keyword
    arguments, the dataclass defaults for the rest (``field`` itself may not be a computed argument)."""
    call = _calls(stem, cell_id, cls.__name__)[0]
    kwargs = {}
    for kw in call.keywords:
        try:
            kwargs[kw.arg] = ast.literal_eval(kw.value)
        except (ValueError, TypeError):
            assert kw.arg != field, f"{stem}.ipynb cell {cell_id} computes {cls.__name__}.{field}; not checkable"
    return getattr(cls(**kwargs), field)


# --- true values that take a line or two -------------------------------------------------------


def digits_size(split: str) -> int:
    return len(load_digits(split)[0])


def raw_digit_max() -> float:
    """The largest raw intensity of scikit-learn's digits, before the book scales them to [0, 1]."""
    from sklearn.datasets import load_digits as sk_load_digits

    return float(sk_load_digits().data.max())


def pixel_env() -> PixelGridWorldEnv:
    """The rl_latents environment as its notebook makes it (``LatentsConfig()`` unchanged)."""
    assert "LatentsConfig()" in cell_source("rl_latents", "cell-005", "code"), "rl_latents changed its LatentsConfig"
    return PixelGridWorldEnv(**LatentsConfig().env_kwargs())


def agent_pixel_values() -> int:
    """How many of a clean frame's numbers (pixels x channels) have the agent's colour."""
    env = pixel_env()
    frame = env.draw(env.start)  # (H, W, 3)
    return 3 * int(np.all(frame == COLOURS["agent"], axis=-1).sum())


def shortest_route() -> int:
    """Moves from the start to the nearest goal without slipping (breadth-first search)."""
    env = GridWorldEnv()
    goals = set(np.flatnonzero(env.grid.ravel() == "G"))
    dist, todo = {env.start: 0}, deque([env.start])
    while todo:
        s = todo.popleft()
        if s in goals:
            return dist[s]
        if env.terminal[s]:
            continue
        for a in range(env.action_space.n):
            t = env.move(s, a)
            if t not in dist:
                dist[t] = dist[s] + 1
                todo.append(t)
    raise AssertionError("the goal is unreachable")


def fewest_pairs() -> int:
    """The fewest bracket pairs in a corpus drawn as app_text draws it (with its ``max_pairs``)."""
    max_pairs = call_arg("app_text", "cell-005", "sample_corpus", "max_pairs")
    return min(len(s) for s in sample_corpus(600, max_pairs=max_pairs, seed=0)) // 2


def rule_boundary(claim: str, key: tuple[str, str], status: str, base: dict[tuple[str, str], Any],
                  lo: float = 0.0, hi: float = 4.0) -> float:
    """Where claim ``claim``'s rule switches to (or from) ``status`` as the value under ``key``
    moves from ``lo`` to ``hi``, the others as in ``base``; found by bisection on the rule itself."""
    rule = next(c for c in CLAIMS if c.name == claim).rule

    def gives(x: float) -> bool:
        return rule({**base, key: x})[0] == status

    at_lo = gives(lo)
    assert gives(hi) != at_lo, f"the {claim} rule does not switch {status!r} between {lo} and {hi}"
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if gives(mid) == at_lo else (lo, mid)
    return round((lo + hi) / 2, 9)


def _im(**kw: float) -> dict[tuple[str, str], float]:
    return {("app_images", k): v for k, v in kw.items()}


def _tx(**kw: float) -> dict[tuple[str, str], float]:
    return {("app_text", k): v for k, v in kw.items()}


# Values for the rules on which one threshold decides: everything else well on one side.
FEEDBACK = _im(target_rate_prior=0.1, target_rate_bar=0.6, target_rate_moderate_min=0.9, reward_model_rate_lam0=0.95,
               target_rate_lam0=0.95, pairwise_lam1=1.0, pairwise_yardstick=1.0, kl_to_optimum_lam1=0.1)
COLLAPSE = (_im(pairwise_lam0=1.0, pairwise_lam1=1.0, distinct_lam0=1.0, distinct_lam1=1.0)
            | _tx(distinct_beta_small=0.1, distinct_beta_large=1.0, novel_beta_small=0.5, beta_small=0.01,
                  beta_large=0.3))
POLICY_GRADIENT = {("rlvae_policy_gradient", k): v for k, v in dict(
    gap_best_nats=0.5, gap_best_high_nats=0.8, gap_seeds=4, gap_none_nats=5.0, gap_baselined_nats=1.0, ref_epochs=10,
    variance_ratio_none_over_loo=100.0, variance_ratio_loo_per_sample_over_reparam=3.0).items()}
POST_CODE = {("post_errata", "reference_error_over_mean_image"): 0.0, ("post_errata", "post_code_kl"): 0.0}
Q_LEARNING = {("rlvae_beyond_reparam", "critic_r2"): 0.9, ("rlvae_beyond_reparam", "critic_cosine"): 0.5}
GAP_HIGH = ("rlvae_policy_gradient", "gap_best_high_nats")


def baselined_lead() -> float:
    """The lead of the baselined VAE over plain REINFORCE that the policy-gradient rule calls 'in part'."""
    base = {**POLICY_GRADIENT, GAP_HIGH: 2.0, ("rlvae_policy_gradient", "gap_none_nats"): 5.0}
    return 5.0 - rule_boundary("encoder_policy_gradient", ("rlvae_policy_gradient", "gap_baselined_nats"), FAILS,
                               base, 0.0, 5.0)


# --- how the prose writes a value --------------------------------------------------------------

WORDS = {0.25: "a quarter", 0.5: "half", 0.75: "three quarters", 1: "one", 2: "two", 3: "three", 4: "four",
         5: "five"}


def INT(v: Any) -> str:  # noqa: N802 - a format, named like a constant in the table
    assert float(v) == int(v), f"{v!r} is not a whole number"
    return f"{int(v):,}"


def NUM(v: Any) -> str:  # noqa: N802
    return f"{float(v):g}"


def PCT(v: Any) -> str:  # noqa: N802
    return f"{100 * float(v):g}%"


def GRID(v: Any) -> str:  # noqa: N802
    return "×".join(str(int(n)) for n in v)


def WORD(v: Any) -> str:  # noqa: N802
    return WORDS.get(float(v), f"(no word for {v!r})")


# The number in a phrase: the first of these (words are whole words; a grid is 8×8).
NUMBER = re.compile(r"\d+(?:,\d{3})*(?:\.\d+)?(?:×\d+)?%?|\b(?:" + "|".join(sorted(WORDS.values(), key=len, reverse=True))
                    + r")\b")


@dataclass(frozen=True)
class Case:
    stem: str
    cell: str
    phrase: str
    value: Callable[[], Any]
    fmt: Callable[[Any], str] = INT

    def __str__(self) -> str:
        return f"{self.stem}:{self.cell}:{self.phrase}"


GS, MDP, LAT, AC = "getting_started", "rl_mdps", "rl_latents", "rl_actor_critic"
ERR, IMG, TXT, CLM = "post_errata", "app_images", "app_text", "post_claims"

CASES = [
    # getting_started: the digits and their split
    Case(GS, "cell-007", "ships 1,797 grey images", lambda: digits_size("all")),
    Case(GS, "cell-007", "8×8 pixels each", lambda: load_digits("all", flatten=False)[0].shape[1:], GRID),
    Case(GS, "cell-007", "into 1,437 training", lambda: digits_size("train")),
    Case(GS, "cell-007", "and 360 test images", lambda: digits_size("test")),
    Case(GS, "cell-013", "are 1,437 training", lambda: digits_size("train")),
    Case(GS, "cell-013", "and 360 test images", lambda: digits_size("test")),
    Case(GS, "cell-013", "of 64 pixels", lambda: load_digits("all")[0].shape[1]),
    Case(GS, "cell-014", "to 16 (full ink)", raw_digit_max),
    # rl_mdps: the gridworld
    Case(MDP, "cell-004", "has 25 cells", lambda: GridWorldEnv().n_states),
    Case(MDP, "cell-004", "after 50 steps", lambda: gym.spec(GRIDWORLD_ID).max_episode_steps),
    Case(MDP, "cell-010", "raised to 200 steps", lambda: call_arg(MDP, "cell-011", "make", "max_episode_steps")),
    Case(MDP, "cell-015", "takes 8 moves", shortest_route),
    Case(MDP, "cell-022", "within 0.25 of the exact", lambda: code_literal(MDP, "cell-023", r"Q_TOL = ([\d.]+)"), NUM),
    # rl_latents: the pixel gridworld, the DQN, the VAE, the evaluation
    Case(LAT, "cell-004", "book's 5×5", lambda: GridWorldEnv().grid.shape, GRID),
    Case(LAT, "cell-004", "at most 50 steps", lambda: gym.spec(PIXEL_GRIDWORLD_ID).max_episode_steps),
    Case(LAT, "cell-004", "a 10×10 RGB", lambda: pixel_env().observation_space.shape[:2], GRID),
    Case(LAT, "cell-004", "(2 pixels a cell)", lambda: pixel_env().cell_px),
    Case(LAT, "cell-004", "deviation 0.1 of", lambda: pixel_env().noise, NUM),
    Case(LAT, "cell-004", "is 300 noisy ones", lambda: math.prod(pixel_env().observation_space.shape)),
    Case(LAT, "cell-004", "of which 12 show the agent", agent_pixel_values),
    Case(LAT, "cell-008", "(one hidden layer", lambda: len(built(LAT, "cell-021", DQNConfig, "hidden")), WORD),
    Case(LAT, "cell-008", "layer of 64 units", lambda: built(LAT, "cell-021", DQNConfig, "hidden")[0]),
    Case(LAT, "cell-008", "by the 50-step limit", lambda: gym.spec(PIXEL_GRIDWORLD_ID).max_episode_steps),
    Case(LAT, "cell-008", "falling from 1 to", lambda: built(LAT, "cell-021", DQNConfig, "eps_start"), NUM),
    Case(LAT, "cell-008", "to 0.05 over", lambda: built(LAT, "cell-021", DQNConfig, "eps_end"), NUM),
    Case(LAT, "cell-008", "first 30% of the run", lambda: built(LAT, "cell-021", DQNConfig, "eps_fraction"), PCT),
    Case(LAT, "cell-011", "flattened to 300 numbers", lambda: math.prod(pixel_env().observation_space.shape)),
    Case(LAT, "cell-011", "encoder, 8 numbers", lambda: built(LAT, "cell-012", VAEConfig, "z_dim")),
    Case(LAT, "cell-011", "vector of 25 numbers",
         lambda: GridWorldEnv(obs_mode=LatentsConfig().state_obs).observation_space.shape[0]),
    Case(LAT, "cell-011", "one hidden layer of 256", lambda: len(built(LAT, "cell-012", VAEConfig, "hidden")), WORD),
    Case(LAT, "cell-011", "hidden layer of 256 units", lambda: built(LAT, "cell-012", VAEConfig, "hidden")[0]),
    Case(LAT, "cell-011", "and 8 latent dimensions", lambda: built(LAT, "cell-012", VAEConfig, "z_dim")),
    Case(LAT, "cell-013", "on 1,000 held-out frames", lambda: call_arg(LAT, "cell-012", "collect_frames", 0)),
    Case(LAT, "cell-013", "in 20, the free cells", lambda: GridWorldEnv().free.sum()),
    Case(LAT, "cell-020", "1,000 steps the greedy policy", lambda: built(LAT, "cell-021", DQNConfig, "eval_every")),
    Case(LAT, "cell-020", "plays 16 episodes", lambda: LatentsConfig().eval_episodes),
    Case(LAT, "cell-020", "same 16 start cells", lambda: LatentsConfig().eval_episodes),
    Case(LAT, "cell-020", "at least 0.9. A", lambda: LatentsConfig().threshold, NUM),
    Case(LAT, "cell-020", "at or above 0.9.", lambda: LatentsConfig().threshold, NUM),
    Case(LAT, "cell-020", "a 95% **bootstrap interval**",
         lambda: inspect.signature(restricted_mean_difference).parameters["level"].default, PCT),
    Case(LAT, "cell-020", "replacement 10,000 times",
         lambda: inspect.signature(restricted_mean_difference).parameters["n_boot"].default),
    Case(LAT, "cell-027", "(8 numbers for a", lambda: built(LAT, "cell-012", VAEConfig, "z_dim")),
    # rl_actor_critic: the GAE experiment, A2C on CartPole
    Case(AC, "cell-004", "probability 0.7, each", lambda: code_literal(AC, "cell-005", r"\.argmax\(-1\)\] = ([\d.]+)"),
         NUM),
    Case(AC, "cell-004", "other with 0.1)", lambda: code_literal(AC, "cell-005", r"np\.full\(Q_star\.shape, ([\d.]+)\)"),
         NUM),
    Case(AC, "cell-004", "off by about 0.2", lambda: code_literal(AC, "cell-005", r"V_pi \+ ([\d.]+) \*"), NUM),
    Case(AC, "cell-008", "at least five times", lambda: code_literal(AC, "cell-009", r"bias2\[0\] > (\d+) \*"), WORD),
    Case(AC, "cell-008", "(below 0.002)", lambda: code_literal(AC, "cell-009", r"abs\(bias2\[-1\]\) < ([\d.]+)"), NUM),
    Case(AC, "cell-008", "least three quarters of it",
         lambda: 1 - code_literal(AC, "cell-009", r"< ([\d.]+) \* bias2\[0\]"), WORD),
    Case(AC, "cell-014", "after 500 steps", lambda: gym.spec("CartPole-v1").max_episode_steps),
    Case(AC, "cell-017", "of the 8 copies", lambda: code_literal(AC, "cell-015", r'make_vec\("CartPole-v1", num_envs=(\d+)\)')),
    Case(AC, "cell-017", "is more than five times the return",
         lambda: code_literal(AC, "cell-018", r"best > (\d+) \* random_return"), WORD),
    Case(AC, "ppo-002", "over 20 seeds", lambda: code_literal_file("benchmarks/cartpole_time_to_solve.py",
                                                                   r'"--seeds", type=int, default=(\d+)')),
    Case(AC, "ppo-002", "is more than five times the return",
         lambda: code_literal(AC, "ppo-003", r"best > (\d+) \* random_return"), WORD),
    # post_errata: the fixed set-up of every comparison
    Case(ERR, "cell-004", "binarised 8×8 digits", lambda: load_digits("all", flatten=False)[0].shape[1:], GRID),
    Case(ERR, "cell-004", "test), 8 latents", lambda: built(ERR, "cell-005", VAEConfig, "z_dim")),
    Case(ERR, "cell-004", "one hidden layer of 128", lambda: len(built(ERR, "cell-005", VAEConfig, "hidden")), WORD),
    Case(ERR, "cell-004", "layer of 128 units", lambda: built(ERR, "cell-005", VAEConfig, "hidden")[0]),
    Case(ERR, "cell-004", "Adam at 0.003", lambda: built(ERR, "cell-005", TrainConfig, "lr"), NUM),
    # app_images: the generator
    Case(IMG, "cell-000", "an 8-dimensional latent", lambda: built(IMG, "cell-005", VAEConfig, "z_dim")),
    Case(IMG, "cell-000", "8×8 digits", lambda: load_digits("all", flatten=False)[0].shape[1:], GRID),
    Case(IMG, "cell-004", "(8 latent dimensions", lambda: built(IMG, "cell-005", VAEConfig, "z_dim")),
    Case(IMG, "guided-claim3", "$\\lambda = 0.1$ the", lambda: code_literal(
        IMG, "guided-claim3-check", r'optimum\[([\d.]+)\]\["pairwise"\] < cost_ceiling'), NUM),
    Case(IMG, "guided-claim3", "= 0.03 the policy keeps less", lambda: code_literal(
        IMG, "guided-claim3-check", r"policy_pw\[([\d.]+)\] < cost_ceiling"), NUM),
    # app_text: the language, the reward, the claims' margins
    Case(TXT, "cell-004", "of 1 to 6 pairs", fewest_pairs),
    Case(TXT, "cell-004", "to 6 pairs", lambda: call_arg(TXT, "cell-005", "sample_corpus", "max_pairs")),
    Case(TXT, "cell-004", "**depth at least 3**", lambda: code_literal(TXT, "cell-010", r"depth\(s\) >= (\d+)")),
    Case(TXT, "cell-009", "$K = 64$", lambda: built(TXT, "cell-010", FinetuneConfig, "n_samples")),
    Case(TXT, "cell-009", "3, else 0", lambda: code_literal(TXT, "cell-010", r"depth\(s\) >= (\d+)")),
    Case(TXT, "text-samples-md", "least 3 (what the reward pays for)",
         lambda: code_literal(TXT, "cell-010", r"depth\(s\) >= (\d+)")),
    Case(TXT, "cell-011", "0.25** over the pretrained",
         lambda: code_literal(TXT, "cell-012", r'pre\["target"\] \+ ([\d.]+)'), NUM),
    Case(TXT, "cell-011", "2 {term}`nats <Nat>` per string",
         lambda: code_literal(TXT, "cell-012", r'big\["kl"\] < ([\d.]+)'), NUM),
    Case(TXT, "cell-011", "(within 0.05)", lambda: code_literal(TXT, "cell-012", r'big\["target"\] - ([\d.]+)'), NUM),
    Case(TXT, "cell-011", "**below half**", lambda: code_literal(TXT, "cell-012", r'small\["distinct"\] < ([\d.]+) \*'),
         WORD),
    # post_claims: each rule's threshold, read off the rule that decides the verdict
    Case(CLM, "cell-010", "above 0.9 times the", lambda: rule_boundary(
        "post_code", ("post_errata", "post_code_error_over_mean_image"), FAILS, POST_CODE), NUM),
    Case(CLM, "cell-010", "within one {term}`nat <Nat>`", lambda: rule_boundary(
        "encoder_policy_gradient", GAP_HIGH, HOLDS, POLICY_GRADIENT), WORD),
    Case(CLM, "cell-010", "at least half a nat ahead", baselined_lead, WORD),
    Case(CLM, "cell-010", "agree within 0.1 on", lambda: rule_boundary(
        "reward_feedback", ("app_images", "reward_model_rate_lam0"), HOLDS, FEEDBACK, 0.95, 2.0) - 0.95, NUM),
    Case(CLM, "cell-010", "keeps at least 0.8 of", lambda: rule_boundary(
        "reward_feedback", ("app_images", "pairwise_lam1"), HOLDS, FEEDBACK, 0.0, 1.0), NUM),
    Case(CLM, "cell-010", "more than three times", lambda: rule_boundary(
        "q_learning", ("rlvae_beyond_reparam", "critic_error_ratio"), FAILS, Q_LEARNING, 0.0, 10.0), WORD),
    Case(CLM, "cell-010", "below 0.7 times", lambda: rule_boundary(
        "mode_collapse", ("app_images", "pairwise_lam0"), HOLDS, COLLAPSE, 0.0, 1.0), NUM),
    Case(CLM, "cell-010", "training images below half", lambda: rule_boundary(
        "mode_collapse", ("app_images", "distinct_lam0"), HOLDS, COLLAPSE, 0.0, 1.0), WORD),
    Case(CLM, "cell-010", "fewer than half the distinct strings", lambda: rule_boundary(
        "mode_collapse", ("app_text", "distinct_beta_small"), HOLDS,
        {**COLLAPSE, ("app_images", "pairwise_lam0"): 0.1}, 0.0, 1.0), WORD),
]


@pytest.mark.parametrize("case", CASES, ids=str)
def test_prose_number_matches_what_runs(case: Case) -> None:
    source = cell_source(case.stem, case.cell, "markdown")
    where = f"book/{case.stem}.ipynb, markdown cell {case.cell}"
    assert case.phrase in source, (f"{where} no longer says {case.phrase!r}: if the prose changed, update (or drop) "
                                   "this case of tests/test_prose_numbers.py")
    m = NUMBER.search(case.phrase)
    assert m, f"the case {case.phrase!r} has no number in it"
    value = case.value()
    true = case.fmt(value)
    assert m.group(0) == true, (f"{where}: the prose says {m.group(0)!r} in {case.phrase!r}, but what runs now "
                                f"is {true!r} (value {value!r}); correct the prose or glue the number")
