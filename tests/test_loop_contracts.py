"""What every policy-gradient training loop promises, checked on the three of them alike.

REINFORCE, A2C and PPO share a contract (their docstrings and ``TrainHistory``): ``seed`` defaults
to 0; the progress bar is on by default and named after the loop; evaluation runs on ``eval_envs``
and stops training once the mean return reaches ``target_return``, returning the result so far;
every rollout with no real transition is counted in ``skipped_updates``, one by one; a gradient
clip, when asked for, covers the policy's and the critic's parameters at the configured norm.
The environment is ``CountingEnv`` (reward 1 a step, episodes of a fixed length), so evaluation
returns are known exactly.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gymnasium as gym
import pytest
import torch

from rlvae_tutorial.rl import (
    ActorCriticConfig,
    PPOConfig,
    ReinforceConfig,
    train_actor_critic,
    train_ppo,
    train_reinforce,
)
from rlvae_tutorial.rl.dqn import DQNConfig, train_dqn
from tests.test_loop_spies import grad_clip_spy
from tests.test_rl_training import counting_envs

SMALL = {"hidden": (8,), "total_steps": 48, "eval_every": 8, "target_return": None}
LOOPS: dict[str, tuple[Callable[..., Any], Callable[..., Any], str]] = {
    "reinforce": (train_reinforce, lambda **kw: ReinforceConfig(**{**SMALL, "episodes_per_update": 2, **kw}),
                  "REINFORCE (value)"),
    "a2c": (train_actor_critic, lambda **kw: ActorCriticConfig(**{**SMALL, "n_steps": 4, **kw}), "actor-critic"),
    "ppo": (train_ppo, lambda **kw: PPOConfig(**{**SMALL, "n_envs": 2, "n_steps": 4, "epochs": 1, "minibatches": 1,
                                                 **kw}), "ppo"),
}


def _steps(result: Any) -> list[dict[str, float]]:
    return [{k: v for k, v in u.items() if k != "seconds"} for u in result.history.updates]


@pytest.mark.parametrize("loop", LOOPS)
def test_seed_defaults_to_zero(loop: str) -> None:
    train, config, _ = LOOPS[loop]
    default = train(counting_envs(2, 5), config(), progress=False)
    assert _steps(default) == _steps(train(counting_envs(2, 5), config(), seed=0, progress=False))
    assert _steps(default) != _steps(train(counting_envs(2, 5), config(), seed=1, progress=False))


@pytest.mark.parametrize("loop", LOOPS)
def test_progress_bar_is_on_by_default_and_named_after_the_loop(loop: str, capsys: pytest.CaptureFixture[str]) -> None:
    train, config, desc = LOOPS[loop]
    result = train(counting_envs(2, 5), config(total_steps=8))
    err = capsys.readouterr().err
    assert f"{desc}:" in err and f"{result.history.env_steps}/8" in err  # the bar counts real env steps
    train(counting_envs(2, 5), config(total_steps=8), progress=False)
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("loop", LOOPS)
def test_evaluation_uses_eval_envs_and_stops_at_the_target(loop: str) -> None:
    train, config, _ = LOOPS[loop]
    # Training episodes last 5 steps, evaluation ones 3: every evaluation mean is exactly 3.
    never = train(counting_envs(2, 5), config(), eval_envs=counting_envs(2, 3), progress=False)
    assert never.history.eval_means and set(never.history.eval_means) == {3.0}
    assert never.history.solved_step is None and never.history.env_steps >= 48
    solved = train(counting_envs(2, 5), config(target_return=3.0), eval_envs=counting_envs(2, 3), progress=False)
    h = solved.history
    assert h.solved_step == h.eval_steps[0] == h.env_steps < 48 and len(h.eval_means) == 1
    assert solved.policy is not None


def test_eval_envs_are_checked_before_training() -> None:
    """Every loop (DQN too) refuses eval_envs that its policy cannot act in, before the first
    step: another observation size, or actions that are not Discrete."""
    cartpole = gym.make_vec("CartPole-v1", num_envs=2, vectorization_mode="sync")  # 4-dim obs
    box_actions = gym.make_vec("Pendulum-v1", num_envs=2, vectorization_mode="sync")
    mismatch = "^eval_envs has 4-dim observations and 2 actions, but envs has 1 and 2; make eval_envs from the same env id as envs$"
    loops = [(train, config()) for train, config, _ in LOOPS.values()]
    loops.append((train_dqn, DQNConfig(hidden=(8,), total_steps=48, learning_starts=8, batch_size=4)))
    for train, cfg in loops:
        with pytest.raises(ValueError, match=mismatch):
            train(counting_envs(2, 5), cfg, eval_envs=cartpole, progress=False)
        with pytest.raises(ValueError, match="^actions must be Discrete, got Box"):
            train(counting_envs(2, 5), cfg, eval_envs=box_actions, progress=False)


def test_dqn_seed_and_progress_bar_defaults(capsys: pytest.CaptureFixture[str]) -> None:
    """DQN keeps the same promises: seed 0 by default, a bar named "DQN" counting real env steps."""
    config = DQNConfig(hidden=(8,), total_steps=24, learning_starts=8, batch_size=4)

    def weights(result: Any) -> list[torch.Tensor]:
        return [p.detach().clone() for p in result.policy.parameters()]

    default = train_dqn(counting_envs(2, 5), config)
    err = capsys.readouterr().err
    assert "DQN:" in err and f"{default.history.env_steps}/24" in err
    seed0 = train_dqn(counting_envs(2, 5), config, seed=0, progress=False)
    seed1 = train_dqn(counting_envs(2, 5), config, seed=1, progress=False)
    assert capsys.readouterr().err == ""
    assert all(torch.equal(a, b) for a, b in zip(weights(default), weights(seed0), strict=True))
    assert not all(torch.equal(a, b) for a, b in zip(weights(default), weights(seed1), strict=True))


@pytest.mark.parametrize("loop", ["a2c", "ppo"])
def test_every_rollout_without_a_real_step_is_skipped_and_counted(loop: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # One env, one step a rollout, episodes of 2 steps: under NEXT_STEP autoreset the step after
    # each episode's end is the reset alone, a rollout with nothing to learn from (not counted in
    # env_steps).  30 real steps make 15 episodes, 30 updates and 14 skipped rollouts between them.
    train, config, _ = LOOPS[loop]
    cfg = config(n_steps=1, total_steps=30, **({"n_envs": 1} if loop == "ppo" else {}))
    result = train(counting_envs(1, 2), cfg, progress=False)
    h = result.history
    assert h.env_steps == len(h.updates) == 30 and len(h.episode_steps) == 15
    assert h.skipped_updates == 14


@pytest.mark.parametrize("loop", ["a2c", "ppo"])
def test_gradient_clip_covers_policy_and_critic_at_the_configured_norm(loop: str, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = grad_clip_spy(monkeypatch)
    train, config, _ = LOOPS[loop]
    result = train(counting_envs(2, 5), config(max_grad_norm=0.25, total_steps=16), progress=False)
    n_params = len([*result.policy.parameters(), *result.value.parameters()])
    assert calls and all(c == (n_params, 0.25) for c in calls)


def test_a2c_loss_defaults_weigh_the_critic_by_half_and_ignore_entropy() -> None:
    from rlvae_tutorial.rl.actor_critic import actor_critic_loss

    lp, adv = torch.tensor([-1.0, -2.0]), torch.tensor([1.0, -0.5])
    v, ret, ent = torch.tensor([0.0, 1.0]), torch.tensor([2.0, 0.0]), torch.tensor([0.7, 0.9])
    policy_loss, value_loss = -(lp * adv).mean(), (v - ret).pow(2).mean()
    torch.testing.assert_close(actor_critic_loss(lp, adv, v, ret, ent), policy_loss + 0.5 * value_loss)


def test_a2c_normalises_advantages_of_a_two_step_rollout(monkeypatch: pytest.MonkeyPatch) -> None:
    from rlvae_tutorial.rl import actor_critic as ac_module

    sizes: list[int] = []
    real = ac_module.normalize_advantages
    monkeypatch.setattr(ac_module, "normalize_advantages", lambda a, *k: sizes.append(len(a)) or real(a, *k))
    config = LOOPS["a2c"][1](n_steps=1, total_steps=8, normalize_advantages=True)
    result = train_actor_critic(counting_envs(2, 100), config, progress=False)  # 2 real steps a rollout
    assert sizes == [2] * len(result.history.updates) and sizes


def _ppo_spies(monkeypatch: pytest.MonkeyPatch) -> dict[str, list]:
    """Record what train_ppo hands to gae, ppo_clip_loss and normalize_advantages, and Adam's lr per step."""
    from rlvae_tutorial.rl import ppo as ppo_module

    seen: dict[str, list] = {"gae": [], "clip": [], "normalize": [], "lr": [], "eps": []}
    real_gae, real_clip, real_norm = ppo_module.gae, ppo_module.ppo_clip_loss, ppo_module.normalize_advantages

    def gae_spy(rewards, values, next_value, *rest):  # noqa: ANN001, ANN002, ANN202
        out = real_gae(rewards, values, next_value, *rest)
        seen["gae"].append((next_value, out.clone()))
        return out

    def clip_spy(new, old, adv, clip):  # noqa: ANN001, ANN202
        loss, stats = real_clip(new, old, adv, clip)
        seen["clip"].append((adv.dtype, float(loss.detach())))
        return loss, stats

    class Adam(torch.optim.Adam):
        def step(self, *args, **kwargs):  # noqa: ANN002, ANN003, ANN201
            seen["lr"].append(self.param_groups[0]["lr"])
            seen["eps"].append(self.param_groups[0]["eps"])
            return super().step(*args, **kwargs)

    monkeypatch.setattr(ppo_module, "gae", gae_spy)
    monkeypatch.setattr(ppo_module, "ppo_clip_loss", clip_spy)
    monkeypatch.setattr(ppo_module, "normalize_advantages", lambda a: seen["normalize"].append(len(a)) or real_norm(a))
    monkeypatch.setattr(ppo_module.torch.optim, "Adam", Adam)
    return seen


def test_ppo_loss_is_clip_plus_weighted_value_minus_weighted_entropy(monkeypatch: pytest.MonkeyPatch) -> None:
    # lr = 0: the critic stays put, so V(s) = v and the value targets minus V are the advantages.
    seen = _ppo_spies(monkeypatch)
    config = LOOPS["ppo"][1](lr=0.0, anneal_lr=False, value_coef=0.7, entropy_coef=0.3, total_steps=16)
    result = train_ppo(counting_envs(2, 100), config, progress=False)
    assert len(result.history.updates) == len(seen["gae"]) == len(seen["clip"]) == 2
    for update, (next_value, adv), (adv_dtype, pg_loss) in zip(result.history.updates, seen["gae"],
                                                                        seen["clip"], strict=True):
        assert set(update) == {"env_steps", "loss", "value_loss", "entropy", "clip_fraction", "approx_kl"}
        assert isinstance(next_value, torch.Tensor) and next_value.shape == (2,)  # V(s_T) bootstraps
        assert adv_dtype == torch.float32
        assert update["value_loss"] == pytest.approx(float(adv.pow(2).mean()), rel=1e-5)
        expected = pg_loss + 0.7 * update["value_loss"] - 0.3 * update["entropy"]
        assert update["loss"] == pytest.approx(expected, rel=1e-5, abs=1e-7)


@pytest.mark.parametrize(("anneal", "expected"), [(True, [0.04, 0.03, 0.02, 0.01]), (False, [0.04] * 4)])
def test_ppo_anneals_the_learning_rate_linearly_to_zero_only_when_asked(
        monkeypatch: pytest.MonkeyPatch, anneal: bool, expected: list[float]) -> None:
    seen = _ppo_spies(monkeypatch)
    config = LOOPS["ppo"][1](lr=0.04, anneal_lr=anneal, total_steps=32, n_steps=4)  # 4 updates of 8 steps
    train_ppo(counting_envs(2, 100), config, progress=False)
    assert seen["lr"] == pytest.approx(expected) and set(seen["eps"]) == {1e-5}


@pytest.mark.parametrize(("n_envs", "normalize", "calls"), [(2, True, [2]), (1, True, []), (2, False, [])])
def test_ppo_normalises_minibatches_of_two_or_more_only_when_asked(
        monkeypatch: pytest.MonkeyPatch, n_envs: int, normalize: bool, calls: list[int]) -> None:
    seen = _ppo_spies(monkeypatch)
    config = LOOPS["ppo"][1](n_envs=n_envs, n_steps=1, total_steps=n_envs, normalize_advantages=normalize)
    train_ppo(counting_envs(n_envs, 100), config, progress=False)
    assert seen["normalize"] == calls


@pytest.mark.parametrize("loop", LOOPS)
def test_networks_have_the_configured_hidden_sizes(loop: str) -> None:
    train, config, _ = LOOPS[loop]
    result = train(counting_envs(2, 5), config(hidden=(7,), total_steps=8), progress=False)
    for net in (result.policy, result.value):
        assert [m.out_features for m in net.modules() if isinstance(m, torch.nn.Linear)][:-1] == [7]


@pytest.mark.parametrize("loop", LOOPS)
def test_same_seed_same_run_on_a_random_env(loop: str) -> None:
    import gymnasium as gym

    train, config, _ = LOOPS[loop]
    runs = [train(gym.make_vec("CartPole-v1", num_envs=2), config(total_steps=64), seed=4, progress=False).history
            for _ in range(2)]
    assert runs[0].episode_returns == runs[1].episode_returns and _steps_of(runs[0]) == _steps_of(runs[1])


def _steps_of(history: Any) -> list[dict[str, float]]:
    return [{k: v for k, v in u.items() if k != "seconds"} for u in history.updates]


def test_reinforce_centres_and_scales_batches_of_two_or_more_only() -> None:
    from rlvae_tutorial.rl import reinforce as reinforce_module
    from rlvae_tutorial.rl.policies import CategoricalPolicy

    weights: list[list[float]] = []
    real = reinforce_module.reinforce_loss
    policy = CategoricalPolicy(1, 2, (4,))
    opt = torch.optim.SGD(policy.parameters(), lr=0.0)
    config = ReinforceConfig(center_advantages=True, scale_advantages=True)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(reinforce_module, "reinforce_loss", lambda lp, w: weights.append(w.tolist()) or real(lp, w))
        for returns in ([3.0], [0.0, 2.0], [0.0, 2**0.5 * 1e-8]):
            n = len(returns)
            reinforce_module.reinforce_update(torch.zeros(n, 1), torch.zeros(n, dtype=torch.long),
                                              torch.tensor(returns), policy, opt, config, None)
    assert weights[0] == [3.0]  # one step: nothing to centre or scale by
    assert weights[1] == pytest.approx([-1 / 2**0.5, 1 / 2**0.5], rel=1e-6)
    assert weights[2] == pytest.approx([-1 / 2**1.5, 1 / 2**1.5], rel=1e-4)  # (w - mean) / (std + 1e-8), std = 1e-8


def test_reinforce_builds_its_moving_average_from_the_config(monkeypatch: pytest.MonkeyPatch) -> None:
    from rlvae_tutorial.rl import reinforce as reinforce_module

    made: list[tuple[float, torch.dtype]] = []
    real = reinforce_module.EMABaseline

    def spy(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        ema = real(*args, **kwargs)
        made.append((ema.decay, ema.value.dtype))
        return ema

    monkeypatch.setattr(reinforce_module, "EMABaseline", spy)
    train_reinforce(counting_envs(2, 5), LOOPS["reinforce"][1](baseline="ema", ema_decay=0.5, total_steps=8),
                    progress=False)
    assert made == [(0.5, torch.float64)]


def test_reinforce_does_not_bootstrap_an_episode_both_terminated_and_truncated(monkeypatch: pytest.MonkeyPatch) -> None:
    # gymnasium allows both flags on one step (the time limit hits as the task ends): it terminated.
    from gymnasium.vector import SyncVectorEnv

    from rlvae_tutorial.rl import reinforce as reinforce_module
    from tests.test_rl_training import CountingEnv

    class BothEnv(CountingEnv):
        def step(self, action: int):  # noqa: ANN201
            obs, reward, end, _, info = super().step(action)
            return obs, reward, end, end, info

    seen: list[bool] = []
    real = reinforce_module.episode_batch
    monkeypatch.setattr(reinforce_module, "episode_batch",
                        lambda batch, *a: seen.extend(ep.truncated_obs is None for ep in batch) or real(batch, *a))
    envs = SyncVectorEnv([lambda: BothEnv(3)] * 2)
    train_reinforce(envs, LOOPS["reinforce"][1](total_steps=12), progress=False)
    assert seen and all(seen)
