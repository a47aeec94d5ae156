"""The package's dtype policy (rlvae_tutorial/dtypes.py), checked on every public pure function.

Integer and bool inputs are computed in floating point: each function called with integer/bool
tensors returns a floating result equal to the one for the same values given as float64.  The
functions are *found*, not listed by hand: every public function of the package whose inputs are
only tensors, arrays and numbers must have a case below (or a reason in EXEMPT), so a newly added
function fails ``test_every_pure_function_has_a_case`` until it is covered.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest
import torch

import rlvae_tutorial
from rlvae_tutorial.rl.bandit import book_bandit

I = torch.tensor  # noqa: E741 - short, for the integer inputs below

# Annotations made only of these names mark a pure numeric function (no model, env, generator).
NUMERIC = {"Tensor", "np.ndarray", "float", "int", "bool", "None", "str", "Sequence", "Bandit"}
SKIP_MODULES = ("rlvae_tutorial.exercises", "rlvae_tutorial.dtypes")


@dataclass(frozen=True)
class Case:
    """Call ``fn(*args, **kwargs)`` with integer/bool tensors; ``keep``: argument names that are
    indices (actions, classes) and stay integer in the float64 reference call too.  ``out``:
    what the result must be ("float", "bool" mask, "index"; a tuple: one per returned value), or
    an exception type it raises."""

    args: tuple = ()
    kwargs: dict = field(default_factory=dict)
    keep: frozenset[str] = frozenset()
    out: str | tuple[str, ...] | type[Exception] = "float"


P01 = I([[[1, 0], [0, 1]], [[0, 1], [0, 1]]])  # (S=2, A=2, S'=2): deterministic transitions
CASES: dict[str, list[Case]] = {
    "rl.returns.discounted_returns": [
        Case((I([[0, 0, 1], [1, 0, 2]]), 0.9, I([[0, 1, 0], [0, 0, 0]])), {"next_value": I([3, 4])}),
        Case((I([0, 0, 1]), 0.9)),
        Case((I([True, False, True]), 1.0, I([False, True, False]))),
    ],
    "rl.returns.gae": [Case((I([[0, 0, 1], [1, 0, 2]]), I([[1, 2, 0], [0, 1, 1]]), I([3, 1]),
                             I([[False, True, False], [False, False, False]]), 0.9, 0.8))],
    "rl.dqn.dqn_targets": [Case((I([0, 1, 1]), I([[1, 2], [0, 3], [2, 2]]), I([0, 1, 0]), 0.9),
                                {"next_q_online": I([[2, 1], [1, 0], [0, 1]])})],
    "rl.dqn.dqn_loss": [Case((I([[1, 2], [0, 3], [2, 2]]), I([0, 1, 1]), I([0, 5, 1])), keep=frozenset({"actions"}))],
    "rl.rollout.transition_mask": [Case((I([[0, 1, 0]]), I([[False, False, True]])), out="bool")],
    "rl.actor_critic.actor_critic_loss": [Case(tuple(I([1, -2, 3, 0]) + k for k in range(5)),
                                               {"entropy_coef": 0.1})],
    "rl.reinforce.reinforce_loss": [Case((I([-1, -2, 0]), I([3, 0, 1])))],
    "rl.bandit.expected_reward": [Case((I([[0, 1, 2, 3], [1, 1, 0, 0], [2, 0, 0, 1]]), book_bandit()))],
    "rl.bandit.exact_gradient": [Case((I([[0, 1, 2, 3], [1, 1, 0, 0], [2, 0, 0, 1]]), book_bandit()))],
    "rl.bandit.softmax_score": [Case((I([[0, 1, 2, 3], [1, 1, 0, 0]]), I([2, 0])), keep=frozenset({"actions"}))],
    "rl.bandit.ema_baseline": [Case((I([1, 0, 3, 2, 2]), 0.9))],
    "rl.bandit.learned_value_baseline": [Case((I([0, 1, 0, 2]), I([1, 0, 3, 2]), 3, 0.1),
                                              keep=frozenset({"contexts"}))],
    "rl.bandit.baseline_values": [
        Case((name, I([0, 1, 0, 2]), I([1, 0, 3, 2]), 3), keep=frozenset({"contexts"}))
        for name in ("none", "ema", "value")
    ],
    "rl.tabular.bellman_backup": [Case((np.array([1, 2]), P01.numpy(), np.array([[0, 1], [2, 0]]), 0.5))],
    "rl.tabular.policy_evaluation": [Case((P01.numpy(), np.array([[0, 1], [2, 0]]), np.array([[1, 0], [0, 1]]), 0.5))],
    "rl.tabular.value_iteration": [Case((P01.numpy(), np.array([[0, 1], [2, 0]]), 0.5),
                                        out=("float", "float", "index"))],  # V*, Q*, iterations
    "rl.tabular.optimal_actions": [Case((np.array([[0, 1], [2, 2]]),), out="bool")],
    # In-place update of the caller's table: an integer table cannot hold it, so it is refused.
    "rl.tabular.q_learning_update": [Case((np.zeros((2, 2), dtype=int), 0, 1, 1.0, 1, False, 0.9, 0.5),
                                          out=TypeError)],
    "rl.ppo.ppo_clip_loss": [Case((I([-1, -2, 0]), I([-1, -1, -1]), I([1, -2, 3]), 0.2))],
    # Steps to a threshold are counts: integer arrays are natural inputs.
    "stats.solved_fraction": [Case((np.array([3, 5, 7]), np.array([True, False, True])))],
    "stats.kaplan_meier": [Case((np.array([3, 5, 7]), np.array([True, False, True])), out=("float", "float"))],
    "stats.restricted_mean": [Case((np.array([3, 5, 7]), np.array([True, False, True])), {"horizon": 10})],
    "stats.t_interval": [Case((np.array([3, 5, 7]),), out=("float", "float"))],
    "stats.restricted_mean_difference": [Case((np.array([3, 5, 7]), np.array([4, 8, 9])),
                                              {"horizon": 10, "n_boot": 200})],
    "estimators.baselines.ema_update": [Case((I(2), I(5), 0.9))],
    "estimators.disarm.antithetic_bernoulli": [Case((I([[1, -2]]), I([[[0, 1]], [[1, 0]]])), out=("float", "float"))],
    "estimators.disarm.disarm_surrogate": [Case((I([[1, -2]]), I([[[1, 0]]]), I([[[0, 0]]]), I([[3]]), I([[1]])))],
    "estimators.control_variate.control_variate_surrogate": [Case((I([-1, -2]), I([3, 1]), I([1, 2])))],
    "estimators.relaxed.relaxed_bernoulli": [Case((I([[1, -2]]), 0.5, I([[0, 1]])))],
    "estimators.relaxed.straight_through_bernoulli": [Case((I([[1, -2]]), 0.5, I([[0, 1]])))],
    "estimators.score_function.score_function_surrogate": [Case((I([-1, -2]), I([3, 1]), I([1, 1])))],
    "estimators.score_function.leave_one_out_baseline": [Case((I([[1, 0], [0, 0], [1, 1]]),)),
                                                         Case((I([[True, False], [False, True]]),))],
    "estimators.score_function.normalize_advantages": [Case((I([1, 0, 3, 2]),))],
    "estimators.score_function.group_normalized_advantages": [Case((I([[1, 0], [3, 0], [2, 1]]),)),
                                                              Case((I([[True, False], [False, False]]),))],
    "estimators.kl.kl_estimates": [Case((I([0, -1, 2]),))],
    "estimators.score_function.with_value": [Case((I(3), I(-2)))],
    "guidance.diversity.mean_pairwise_distance": [Case((I([[0, 0], [3, 4], [1, 1]]),))],
    "guidance.diversity.nearest_index": [Case((I([[0, 0], [3, 4]]), I([[3, 3], [0, 1]])), out="index")],
    "guidance.diversity.distinct_nearest": [Case((I([[0, 0], [3, 4]]), I([[3, 3], [0, 1]])), out="index")],
    "guidance.optimum.log_partition": [Case((I([-1, -2, 0]), 0.5))],
    "guidance.reward.kl_penalized_reward": [Case((I([1, 2]), I([-1, -3]), I([-2, -2]), 0.5))],
    "guidance.reward.classifier_log_prob_reward": [Case((I([[1, 0, 2]]), I([2])), keep=frozenset({"target"}))],
    "guidance.reward.token_reinforce_loss": [Case((I([[-1, -2]]), I([[True, False]]), I([3])))],
    "rlvae.objective.elbo_reward": [Case((I([-3, -4]), I([-1, 0]), I([-2, -1]), 0.5))],
    "vae.diagnostics.active_units": [Case((I([[0, 1], [0, 3], [0, -2]]),), out="bool")],
    "vae.diagnostics.moment_matched_kl": [Case((I([[0, 1], [2, 3], [1, -2], [4, 0]]),))],
    "vae.losses.gaussian_kl": [Case((I([[1, 0]]), I([[0, -1]])))],
    "vae.losses.log_mean_exp": [Case((I([[1, 0], [2, 3]]),))],
    "vae.losses.free_bits_kl": [Case((I([[1, 0], [2, 3]]), 0.5))],
    "vae.models.reparameterize": [Case((I([[1, 0]]), I([[0, 2]]), I([[1, -1]])))],
    "latents.metrics.steps_to_threshold": [Case((np.array([0, 10, 20]), np.array([0, 1, 1]), 1))],
    "latents.metrics.area_under_curve": [Case((np.array([0, 10, 20]), np.array([0, 1, 1])))],
    "latents.metrics.seed_summary": [Case((np.array([1, 2, 4]),))],
    "rl.plots.smooth": [Case((np.array([1, 2, 4, 0]), 2))],
}

# Public functions that take tensors but are outside the policy, each with its reason.
EXEMPT = {
    "data.split_validation": "splits rows of data and labels; returns them unchanged (labels stay integer)",
    "guidance.diversity.class_entropy": "its input is class labels (indices), not numbers to average",
    "guidance.toy_language.decode": "its input is token ids (indices)",
    "envs.wrappers.frames_to_vectors": "takes the env's uint8 frames by design and returns float32 (test_envs)",
}


def _pure_functions() -> dict[str, Callable[..., Any]]:
    found = {}
    for info in pkgutil.walk_packages(rlvae_tutorial.__path__, "rlvae_tutorial."):
        if info.name.startswith(SKIP_MODULES):
            continue
        module = importlib.import_module(info.name)
        for name, fn in vars(module).items():
            if name.startswith("_") or not inspect.isfunction(fn) or fn.__module__ != module.__name__:
                continue
            if "__mutmut_" in name:  # mutmut's copies of each function, under `make mutation`
                continue
            anns = [str(p.annotation) for p in inspect.signature(fn).parameters.values()]
            tokens = {t for a in anns for t in re.findall(r"[A-Za-z_][\w.]*", a)}
            if tokens & {"Tensor", "np.ndarray", "Sequence"} and tokens <= NUMERIC:
                found[f"{info.name.removeprefix('rlvae_tutorial.')}.{name}"] = fn
    return found


PURE = _pure_functions()


def test_every_pure_function_has_a_case() -> None:
    missing = sorted(set(PURE) - set(CASES) - set(EXEMPT))
    assert not missing, f"public pure functions without a dtype-policy case: {missing}; add them to CASES"
    stale = sorted((set(CASES) | set(EXEMPT)) - set(PURE))
    assert not stale, f"cases for functions that are not (found as) public pure functions: {stale}"
    assert len(PURE) >= 40, "the search for pure functions found suspiciously few"


def _to_float64(x: Any) -> Any:
    if isinstance(x, torch.Tensor) and not x.is_floating_point():
        return x.double()
    if isinstance(x, np.ndarray) and not np.issubdtype(x.dtype, np.floating):
        return x.astype(np.float64)
    return x


def _leaves(out: Any) -> list[Any]:
    if isinstance(out, (tuple, list)):
        return [leaf for o in out for leaf in _leaves(o)]
    if isinstance(out, dict):
        return [leaf for k in sorted(out) for leaf in _leaves(out[k])]
    return [out]


def _kind(x: Any) -> str:
    if isinstance(x, torch.Tensor):
        return "float" if x.is_floating_point() else "bool" if x.dtype == torch.bool else "index"
    if isinstance(x, np.ndarray):
        return "float" if np.issubdtype(x.dtype, np.floating) else "bool" if x.dtype == bool else "index"
    return "float" if isinstance(x, float) else "bool" if isinstance(x, bool) else "index"


@pytest.mark.parametrize(("name", "case"), [(n, c) for n, cs in CASES.items() for c in cs],
                         ids=[f"{n}-{i}" for n, cs in CASES.items() for i in range(len(cs))])
def test_integer_and_bool_inputs_compute_in_floating_point(name: str, case: Case) -> None:
    fn = PURE[name]
    params = list(inspect.signature(fn).parameters)
    if isinstance(case.out, type):
        with pytest.raises(case.out, match=r"astype\(float\)"):
            fn(*case.args, **case.kwargs)
        return
    assert any(_kind(a) != "float" for a in (*case.args, *case.kwargs.values()) if hasattr(a, "dtype")), \
        "a case must pass integer or bool inputs"
    args = [a if params[i] in case.keep else _to_float64(a) for i, a in enumerate(case.args)]
    kwargs = {k: v if k in case.keep else _to_float64(v) for k, v in case.kwargs.items()}
    got, want = _leaves(fn(*case.args, **case.kwargs)), _leaves(fn(*args, **kwargs))
    kinds = case.out if isinstance(case.out, tuple) else (case.out,) * len(got)
    assert len(got) == len(want) == len(kinds)
    for g, w, kind in zip(got, want, kinds, strict=True):
        assert _kind(g) == kind, f"{name} returned {getattr(g, 'dtype', type(g))} for integer inputs"
        if isinstance(g, torch.Tensor) and g.is_floating_point():
            # No input was floating: torch's default dtype (or float64 where a function always
            # computes in double precision, as moment_matched_kl does).
            assert g.dtype in (torch.get_default_dtype(), torch.float64)
        np.testing.assert_allclose(np.asarray(g, dtype=np.float64), np.asarray(w, dtype=np.float64),
                                   rtol=1e-5, atol=1e-6)


def test_floating_inputs_keep_their_dtype_and_mixed_inputs_promote() -> None:
    from rlvae_tutorial.rl import discounted_returns, gae

    r64 = torch.tensor([0.0, 1.0], dtype=torch.float64)
    assert discounted_returns(r64, 0.5).dtype == torch.float64
    assert discounted_returns(r64.half(), 0.5).dtype == torch.float16
    assert gae(torch.tensor([0, 1]), r64, 0.0, None, 0.9, 1.0).dtype == torch.float64
    with pytest.raises(TypeError, match="complex"):
        rlvae_tutorial.dtypes.float_dtype(torch.tensor([1j]))
