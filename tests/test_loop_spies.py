"""What the training loops hand to their pure parts: γ, λ, baselines, value targets, flags.

The pure functions (``gae``, ``discounted_returns``, ``dqn_targets``, the losses) are tested
against hand-computed answers elsewhere; a loop can still call them with the wrong arguments
(γ and λ swapped, V not added back to the advantages, ``done`` where ``terminated`` belongs) and
train almost as well on an easy task.  These tests replace each pure function *in the loop's
module namespace* by a spy that records its arguments and returns the real result, then check
the arguments against what the loop's configuration says they must be.  With ``lr = 0`` the
networks stay at their initial weights, so the values a loop should have used can be recomputed
afterwards from the returned networks.
"""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np
import pytest
import torch
from gymnasium.vector import AutoresetMode

from rlvae_tutorial.rl import (
    ActorCriticConfig,
    ReinforceConfig,
    train_actor_critic,
    train_reinforce,
)
from rlvae_tutorial.rl import actor_critic as ac_module
from rlvae_tutorial.rl import bandit as bandit_module
from rlvae_tutorial.rl import dqn as dqn_module
from rlvae_tutorial.rl import history as history_module
from rlvae_tutorial.rl import reinforce as reinforce_module
from rlvae_tutorial.rl.bandit import Bandit, BanditConfig, train_bandit
from rlvae_tutorial.rl.dqn import DQNConfig, QNetwork, ReplayBuffer, train_dqn
from tests.test_rl_training import counting_envs


def spy(monkeypatch: pytest.MonkeyPatch, owner: Any, name: str) -> list[dict[str, Any]]:
    """Replace ``owner.name`` by a wrapper that records every call's arguments (by parameter
    name, whether passed by position or keyword) and its result under ``"_out"``."""
    real = getattr(owner, name)
    signature = inspect.signature(real)
    calls: list[dict[str, Any]] = []

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        record = {k: v.clone() if isinstance(v, torch.Tensor) else v for k, v in bound.arguments.items()}
        out = real(*args, **kwargs)
        record["_out"] = out.detach().clone() if isinstance(out, torch.Tensor) else out
        calls.append(record)
        return out

    monkeypatch.setattr(owner, name, wrapper)
    return calls


def grad_clip_spy(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, float]]:
    """Record ``(number of parameters, max_norm)`` of every ``clip_grad_norm_`` call (the
    parameters are listed first: a generator would be consumed by the real clip)."""
    real = torch.nn.utils.clip_grad_norm_
    calls: list[tuple[int, float]] = []

    def wrapper(parameters, max_norm, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        parameters = list(parameters)
        calls.append((len(parameters), max_norm))
        return real(parameters, max_norm, *args, **kwargs)

    monkeypatch.setattr(torch.nn.utils, "clip_grad_norm_", wrapper)
    return calls


# --- A2C ---------------------------------------------------------------------------------------

def _a2c(monkeypatch: pytest.MonkeyPatch, **config: Any) -> tuple[Any, list, list]:
    gae_calls = spy(monkeypatch, ac_module, "gae")
    loss_calls = spy(monkeypatch, ac_module, "actor_critic_loss")
    # 2 sub-envs whose episodes (100 steps) outlast the run: every step is a real one, no dummies.
    base = {"total_steps": 32, "n_steps": 8, "gamma": 0.9, "gae_lambda": 0.6, "lr": 0.0, "value_lr": 0.0,
            "normalize_advantages": False, "target_return": None}
    result = train_actor_critic(counting_envs(2, 100), ActorCriticConfig(**{**base, **config}), progress=False)
    return result, gae_calls, loss_calls


def test_a2c_passes_its_gamma_and_lambda_to_gae(monkeypatch: pytest.MonkeyPatch) -> None:
    _, gae_calls, _ = _a2c(monkeypatch)  # gamma 0.9 and lambda 0.6: a swap is visible
    assert len(gae_calls) == 2
    for call in gae_calls:
        assert call["gamma"] == 0.9 and call["gae_lambda"] == 0.6, (call["gamma"], call["gae_lambda"])


def test_a2c_value_targets_are_advantages_plus_values(monkeypatch: pytest.MonkeyPatch) -> None:
    """The critic regresses on A + V (GAE's returns); the actor gets GAE's A."""
    result, gae_calls, loss_calls = _a2c(monkeypatch)
    T, B = 8, 2
    for k, (g, loss) in enumerate(zip(gae_calls, loss_calls, strict=True)):
        # GAE saw the critic's values, (B, T), and V(next obs) to bootstrap
        obs = torch.arange(k * T, (k + 1) * T, dtype=torch.float32)  # CountingEnv: obs = step index
        with torch.no_grad():
            v = result.value(obs[:, None]).double()  # (T,)
            v_next = result.value(torch.tensor([[float((k + 1) * T)]])).double()
        assert torch.allclose(g["values"].double(), v.expand(B, T), atol=1e-5)
        assert torch.allclose(torch.as_tensor(g["next_value"]).double(), v_next.expand(B), atol=1e-5)
        assert torch.equal(g["rewards"], torch.ones(B, T, dtype=g["rewards"].dtype))
        assert not g["terminated"].any()
        # the loss: advantages in the buffers' (t, b) order; targets = A + V
        adv = g["_out"].T.reshape(-1).float()  # (T*B,)
        assert torch.allclose(loss["advantages"], adv, atol=1e-5)
        assert torch.allclose(loss["values"].detach(), v.float().repeat_interleave(B), atol=1e-5)
        assert torch.allclose(loss["returns"], loss["values"].detach() + adv, atol=1e-5)


def test_a2c_bootstraps_a_time_limit_with_the_value_of_the_final_observation(
        monkeypatch: pytest.MonkeyPatch) -> None:
    gae_calls = spy(monkeypatch, ac_module, "gae")
    config = ActorCriticConfig(total_steps=6, n_steps=6, gamma=0.5, lr=0.0, value_lr=0.0, target_return=None)
    result = train_actor_critic(counting_envs(1, 3, truncate=True), config, progress=False)
    with torch.no_grad():
        v_final = float(result.value(torch.tensor([[3.0]])))
    rewards = gae_calls[0]["rewards"][0]  # steps: 1 2 3(cut) dummy 1 2
    assert rewards.tolist() == pytest.approx([1.0, 1.0, 1.0 + 0.5 * v_final, 0.0, 1.0, 1.0])
    assert gae_calls[0]["terminated"][0].tolist() == [False, False, True, False, False, False]


# --- REINFORCE ---------------------------------------------------------------------------------

def _reinforce(monkeypatch: pytest.MonkeyPatch, **config: Any) -> tuple[Any, list, list]:
    returns_calls = spy(monkeypatch, reinforce_module, "discounted_returns")
    loss_calls = spy(monkeypatch, reinforce_module, "reinforce_loss")
    base = {"total_steps": 18, "episodes_per_update": 2, "gamma": 0.7, "lr": 0.0, "value_lr": 0.0,
            "center_advantages": False, "scale_advantages": False, "target_return": None}
    result = train_reinforce(counting_envs(2, 3), ReinforceConfig(**{**base, **config}), progress=False)
    return result, returns_calls, loss_calls


def test_reinforce_passes_its_gamma_and_episode_ends(monkeypatch: pytest.MonkeyPatch) -> None:
    _, returns_calls, _ = _reinforce(monkeypatch, baseline="none")
    assert len(returns_calls) == 3  # 6 episodes of 3 steps, 2 per update
    for call in returns_calls:
        assert call["gamma"] == 0.7
        assert call["terminated"].tolist() == [False, False, True] * 2
        assert torch.allclose(call["_out"].float(), torch.tensor([1 + 0.7 + 0.49, 1.7, 1.0] * 2))


def test_reinforce_without_a_baseline_weighs_by_the_returns(monkeypatch: pytest.MonkeyPatch) -> None:
    _, returns_calls, loss_calls = _reinforce(monkeypatch, baseline="none")
    for r, loss in zip(returns_calls, loss_calls, strict=True):
        assert torch.allclose(loss["weights"], r["_out"].float())


def test_reinforce_value_baseline_is_subtracted_and_fitted_to_the_returns(monkeypatch: pytest.MonkeyPatch) -> None:
    """V learns G; the weights are G - V, the value loss's target G."""
    mse_calls = spy(monkeypatch, torch.nn.functional, "mse_loss")
    result, returns_calls, loss_calls = _reinforce(monkeypatch, baseline="value")
    with torch.no_grad():
        v = result.value(torch.tensor([[0.0], [1.0], [2.0]] * 2))  # (6,), still the initial weights
    for r, loss, mse in zip(returns_calls, loss_calls, mse_calls, strict=True):
        g = r["_out"].float()
        assert torch.allclose(loss["weights"], g - v, atol=1e-5)
        assert torch.allclose(mse["input"].detach(), v, atol=1e-6)
        assert torch.allclose(mse["target"], g, atol=1e-6)


def test_reinforce_ema_baseline_is_used_before_it_is_updated(monkeypatch: pytest.MonkeyPatch) -> None:
    _, returns_calls, loss_calls = _reinforce(monkeypatch, baseline="ema", ema_decay=0.5)
    ma = None
    for r, loss in zip(returns_calls, loss_calls, strict=True):
        g = r["_out"].float()
        b = 0.0 if ma is None else ma  # the average of the *previous* updates' returns
        assert torch.allclose(loss["weights"], g - b, atol=1e-6), (loss["weights"], g, b)
        ma = float(g.mean()) if ma is None else 0.5 * ma + 0.5 * float(g.mean())


def test_reinforce_centres_and_scales_the_weights_when_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    _, returns_calls, loss_calls = _reinforce(monkeypatch, baseline="none", center_advantages=True,
                                              scale_advantages=True)
    for r, loss in zip(returns_calls, loss_calls, strict=True):
        g = r["_out"].float()
        assert torch.allclose(loss["weights"], (g - g.mean()) / (g - g.mean()).std(), atol=1e-5)


# --- DQN ---------------------------------------------------------------------------------------

def _dqn_config(**kwargs: Any) -> DQNConfig:
    base = {"total_steps": 40, "learning_starts": 8, "batch_size": 8, "eval_every": 10_000, "gamma": 0.8}
    return DQNConfig(**{**base, **kwargs})


@pytest.mark.parametrize("mode", [AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP])
@pytest.mark.parametrize("truncate", [False, True])
def test_dqn_stores_terminated_not_done_and_the_final_observation(monkeypatch: pytest.MonkeyPatch,
                                                                  truncate: bool, mode: AutoresetMode) -> None:
    """A time limit is not the end of the MDP: a truncated step is stored with terminated=False
    (so it bootstraps), and its next observation is the final one, not the reset one (which a
    SAME_STEP vector env returns in its place, the final one going to ``infos``)."""
    adds = spy(monkeypatch, ReplayBuffer, "add")
    train_dqn(counting_envs(2, 3, truncate=truncate, mode=mode), _dqn_config(), progress=False)
    next_obs = np.concatenate([c["next_obs"][:, 0] for c in adds])
    obs = np.concatenate([c["obs"][:, 0] for c in adds])
    terminated = np.concatenate([c["terminated"] for c in adds])
    assert len(terminated) >= 40 and np.array_equal(next_obs, obs + 1)  # no reset step stored
    assert np.array_equal(terminated, np.zeros_like(terminated) if truncate else next_obs == 3.0)


@pytest.mark.parametrize("double", [False, True])
def test_dqn_targets_get_the_configs_gamma_and_the_online_net(monkeypatch: pytest.MonkeyPatch,
                                                              double: bool) -> None:
    calls = spy(monkeypatch, dqn_module, "dqn_targets")
    train_dqn(counting_envs(2, 3), _dqn_config(double=double), progress=False)
    assert len(calls) > 10
    for call in calls:
        assert call["gamma"] == 0.8
        assert (call["next_q_online"] is not None) == double
        assert call["terminated"].dtype == torch.bool


@pytest.mark.parametrize(("target_every", "synced"), [(1, True), (5, True), (1_000, False)])
def test_dqn_target_network_copies_the_online_one(monkeypatch: pytest.MonkeyPatch, target_every: int,
                                                  synced: bool) -> None:
    """target <- q every target_every updates (never the reverse: q <- target would undo learning)."""
    nets: list[tuple[QNetwork, dict]] = []

    class Recorded(QNetwork):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            nets.append((self, {k: v.clone() for k, v in self.state_dict().items()}))

    monkeypatch.setattr(dqn_module, "QNetwork", Recorded)
    updates = spy(monkeypatch, dqn_module, "dqn_targets")  # one call per gradient step
    result = train_dqn(counting_envs(2, 3), _dqn_config(lr=1e-2, target_every=target_every), progress=False)
    (q, q_init), (target, _) = nets
    n = len(updates)
    # 22 updates: not a multiple of 5 (the last ones after a sync are q's alone), fewer than 1000
    assert result.policy is q and n % 5 != 0 and synced == (n >= target_every), n
    assert any(not torch.equal(q_init[k], v) for k, v in q.state_dict().items()), "the online net must learn"
    # the target net is frozen: no gradient is asked for, none reaches it (only a sync moves it)
    assert not any(p.requires_grad or p.grad is not None for p in target.parameters())
    same = all(torch.equal(target.state_dict()[k], v) for k, v in q.state_dict().items())
    if target_every == 1:  # synced after the last update
        assert same
    elif synced:  # synced at the last multiple of 5, then q took more steps alone
        assert not same
        assert any(not torch.equal(q_init[k], v) for k, v in target.state_dict().items())
    else:  # never synced: the target is still the online net's initial copy
        assert all(torch.equal(q_init[k], v) for k, v in target.state_dict().items())


@pytest.mark.parametrize("buffer_size", [10, 20_000])
def test_dqn_replay_keeps_every_transition_that_fits(monkeypatch: pytest.MonkeyPatch, buffer_size: int) -> None:
    """A buffer_size above total_steps keeps every real transition (none overwritten); a smaller
    one holds the newest buffer_size."""
    buffers: list[ReplayBuffer] = []

    class Recorded(ReplayBuffer):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            buffers.append(self)

    monkeypatch.setattr(dqn_module, "ReplayBuffer", Recorded)
    result = train_dqn(counting_envs(2, 3), _dqn_config(buffer_size=buffer_size), progress=False)
    (buffer,) = buffers
    assert result.history.env_steps >= 40
    assert buffer.size == min(buffer_size, result.history.env_steps)


# --- the bandit --------------------------------------------------------------------------------

@pytest.mark.parametrize("baseline", ["none", "ema", "value"])
def test_bandit_baseline_is_used_before_it_is_updated(monkeypatch: pytest.MonkeyPatch, baseline: str) -> None:
    """Each batch's weights are r - b with b from the *previous* batches only (b must not see r)."""
    pulls: list[tuple[torch.Tensor, torch.Tensor]] = []

    class Recorded(Bandit):
        def pull(self, contexts: torch.Tensor, arms: torch.Tensor, generator: torch.Generator | None = None):  # noqa: ANN201
            rewards = super().pull(contexts, arms, generator)
            pulls.append((contexts.clone(), rewards.clone()))
            return rewards

    loss_calls = spy(monkeypatch, bandit_module, "reinforce_loss")
    bandit = Recorded(torch.tensor([[1.0, 2.0], [5.0, 3.0]]), noise=1.0)
    config = BanditConfig(steps=4, batch=6, lr=0.1, baseline=baseline, baseline_lr=0.3)
    _, history = train_bandit(bandit, config, seed=0)
    assert history.batch_reward == pytest.approx([float(r.mean()) for _, r in pulls])
    assert history.expected_reward[0] == pytest.approx(float(bandit.means.mean()))  # uniform policy
    ma, table = 0.0, torch.zeros(2)
    for (contexts, rewards), loss in zip(pulls, loss_calls, strict=True):
        if baseline == "none":
            b = torch.zeros(6)
        elif baseline == "ema":
            b = torch.full((6,), ma)
            ma += 0.3 * float((rewards - ma).mean())
        else:
            b = table[contexts]
            table.index_add_(0, contexts, 0.3 * (rewards - b))
        assert torch.allclose(loss["weights"], rewards - b, atol=1e-6), (baseline, loss["weights"], rewards, b)
    assert len(loss_calls) == 4


# --- what the loops record, and which optimiser steps which network -----------------------------

def test_a2c_passes_its_loss_weights_and_records_the_loss(monkeypatch: pytest.MonkeyPatch) -> None:
    result, _, loss_calls = _a2c(monkeypatch, value_coef=0.3, entropy_coef=0.02)
    assert [(c["value_coef"], c["entropy_coef"]) for c in loss_calls] == [(0.3, 0.02)] * 2
    assert [u["loss"] for u in result.history.updates] == pytest.approx([float(c["_out"]) for c in loss_calls])
    entropies = [float(c["entropy"].detach().mean()) for c in loss_calls]
    assert [u["entropy"] for u in result.history.updates] == pytest.approx(entropies)
    assert [u["env_steps"] for u in result.history.updates] == [16, 32]


def test_a2c_normalises_the_advantages_when_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    _, gae_calls, loss_calls = _a2c(monkeypatch, normalize_advantages=True)
    for g, loss in zip(gae_calls, loss_calls, strict=True):
        adv = g["_out"].T.reshape(-1).float()
        assert torch.allclose(loss["advantages"], (adv - adv.mean()) / (adv.std() + 1e-8), atol=1e-5)


def _snapshots(monkeypatch: pytest.MonkeyPatch, module: Any) -> dict[str, tuple[torch.nn.Module, dict]]:
    """Record the policy and value networks a loop builds, with their initial weights."""
    made: dict[str, tuple[torch.nn.Module, dict]] = {}
    for name in ("CategoricalPolicy", "ValueFunction"):
        base = getattr(module, name)

        def init(self: Any, *args: Any, _base: Any = base, _name: str = name, **kwargs: Any) -> None:
            _base.__init__(self, *args, **kwargs)
            made[_name] = (self, {k: v.clone() for k, v in self.state_dict().items()})

        monkeypatch.setattr(module, name, type(name, (base,), {"__init__": init}))
    return made


def _changed(net: torch.nn.Module, initial: dict) -> bool:
    return any(not torch.equal(initial[k], v) for k, v in net.state_dict().items())


@pytest.mark.parametrize(("lr", "value_lr", "policy_learns", "value_learns"), [
    (0.0, 0.05, False, True), (0.05, 0.0, True, False), (0.0, None, False, False), (0.05, None, True, True),
])
def test_a2c_steps_each_network_with_its_own_rate(monkeypatch: pytest.MonkeyPatch, lr: float,
                                                  value_lr: float | None, policy_learns: bool,
                                                  value_learns: bool) -> None:
    made = _snapshots(monkeypatch, history_module)  # the set-up that A2C and PPO share builds them
    config = ActorCriticConfig(total_steps=16, n_steps=8, lr=lr, value_lr=value_lr, target_return=None)
    train_actor_critic(counting_envs(2, 100), config, progress=False)
    assert _changed(*made["CategoricalPolicy"]) == policy_learns
    assert _changed(*made["ValueFunction"]) == value_learns


@pytest.mark.parametrize(("lr", "value_lr", "policy_learns", "value_learns"), [
    (0.0, 0.05, False, True), (0.05, 0.0, True, False),
])
def test_reinforce_steps_each_network_with_its_own_rate(monkeypatch: pytest.MonkeyPatch, lr: float,
                                                        value_lr: float, policy_learns: bool,
                                                        value_learns: bool) -> None:
    made = _snapshots(monkeypatch, reinforce_module)
    config = ReinforceConfig(total_steps=12, episodes_per_update=2, lr=lr, value_lr=value_lr, target_return=None)
    train_reinforce(counting_envs(2, 3), config, progress=False)
    assert _changed(*made["CategoricalPolicy"]) == policy_learns
    assert _changed(*made["ValueFunction"]) == value_learns


def test_reinforce_records_what_it_computed(monkeypatch: pytest.MonkeyPatch) -> None:
    mse_calls = spy(monkeypatch, torch.nn.functional, "mse_loss")
    result, returns_calls, loss_calls = _reinforce(monkeypatch, baseline="value")
    updates = result.history.updates
    assert [u["env_steps"] for u in updates] == [6, 12, 18]
    assert [u["return_mean"] for u in updates] == pytest.approx([float(c["_out"].mean()) for c in returns_calls])
    assert [u["policy_loss"] for u in updates] == pytest.approx([float(c["_out"]) for c in loss_calls])
    assert [u["value_loss"] for u in updates] == pytest.approx([float(c["_out"]) for c in mse_calls])
    assert all(0.0 < u["entropy"] <= np.log(2) + 1e-6 for u in updates)


@pytest.mark.parametrize("loop", ["reinforce", "actor_critic", "dqn"])
def test_loops_record_each_episode_at_its_last_real_step(loop: str) -> None:
    envs = counting_envs(1, 3)  # episodes end at real steps 3, 6, 9, ...; the reset steps do not count
    if loop == "reinforce":
        h = train_reinforce(envs, ReinforceConfig(total_steps=12, target_return=None), progress=False).history
    elif loop == "actor_critic":
        h = train_actor_critic(envs, ActorCriticConfig(total_steps=12, n_steps=4, target_return=None),
                               progress=False).history
    else:
        h = train_dqn(envs, _dqn_config(total_steps=12), progress=False).history
    assert h.episode_steps[:4] == [3, 6, 9, 12] and h.episode_returns[:4] == [3.0] * 4
    assert h.env_steps == 12


@pytest.mark.parametrize("eps", [0.0, 1.0])
def test_dqn_explores_with_probability_epsilon(monkeypatch: pytest.MonkeyPatch, eps: float) -> None:
    adds = spy(monkeypatch, ReplayBuffer, "add")
    config = _dqn_config(total_steps=60, lr=0.0, eps_start=eps, eps_end=eps)
    q = train_dqn(counting_envs(2, 100), config, progress=False).policy  # lr 0: q stays as built
    obs = torch.as_tensor(np.concatenate([c["obs"] for c in adds]))
    actions = np.concatenate([c["actions"] for c in adds])
    greedy = q.act(obs).numpy()
    if eps == 0.0:
        assert np.array_equal(actions, greedy)
    else:  # uniform over the 2 actions: 60 draws all greedy has probability 2^-60
        assert 0 < (actions != greedy).sum() < len(actions)


def test_dqn_learning_starts_updates_per_step_and_evaluations(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = spy(monkeypatch, dqn_module, "dqn_targets")
    config = _dqn_config(total_steps=40, learning_starts=16, updates_per_step=2, eval_every=10)
    h = train_dqn(counting_envs(2, 100), config, eval_envs=counting_envs(2, 3), progress=False).history
    # 2 transitions per vector step: the buffer holds 16 after step 8; steps 8..20 update twice each
    assert len(calls) == 2 * 13 and all(len(c["rewards"]) == 8 for c in calls)
    assert h.eval_steps == [0, 10, 20, 30, 40] and h.eval_means == [3.0] * 5


def test_dqn_builds_what_its_config_says(monkeypatch: pytest.MonkeyPatch) -> None:
    """Adam at config.lr, both networks with config.hidden, a progress bar over config.total_steps
    that counts every env step, evaluations from the same start states, a loss record every 50
    updates, and the documented defaults."""
    adams: list[float] = []

    class RecordedAdam(torch.optim.Adam):
        def __init__(self, params: Any, lr: float = 1e-3, **kwargs: Any) -> None:
            adams.append(lr)
            super().__init__(params, lr=lr, **kwargs)

    bars: list[dict[str, Any]] = []

    class RecordedBar:
        def __init__(self, **kwargs: Any) -> None:
            self.kwargs, self.counted = kwargs, 0
            bars.append(self.__dict__)

        def update(self, n: int) -> None:
            self.counted += n

        def set_postfix(self, *args: Any, **kwargs: Any) -> None:
            pass

        def close(self) -> None:
            pass

    clocks = spy(monkeypatch, dqn_module, "EvalClock")
    sizes: list[int] = []  # the buffer's size, = env steps so far, at each gradient step
    real_sample = ReplayBuffer.sample

    def sample(self: ReplayBuffer, *args: Any, **kwargs: Any) -> Any:
        sizes.append(self.size)
        return real_sample(self, *args, **kwargs)

    monkeypatch.setattr(ReplayBuffer, "sample", sample)
    updates = spy(monkeypatch, dqn_module, "dqn_update")
    monkeypatch.setattr(torch.optim, "Adam", RecordedAdam)
    monkeypatch.setattr(dqn_module, "tqdm", RecordedBar)
    config = _dqn_config(total_steps=240, learning_starts=8, lr=3e-4, hidden=(8,))
    result = train_dqn(counting_envs(2, 100), config, progress=True, desc="run")
    assert adams == [3e-4]
    assert [m.out_features for m in result.policy.modules() if isinstance(m, torch.nn.Linear)] == [8, 2]
    (bar,) = bars
    assert bar["kwargs"] == {"total": 240, "desc": "run", "disable": False} and bar["counted"] == 240
    assert clocks[0]["same_starts"] is True and clocks[0]["at_start"] is True
    h = result.history
    assert len(updates) >= 100 and len(h.updates) == len(updates) // 50
    assert all(set(u) == {"env_steps", "loss"} for u in h.updates)
    # a record after gradient steps 50, 100, ...: at the env steps of those updates (plus the
    # vector step's 2 transitions, counted before the updates run)
    assert [u["env_steps"] for u in h.updates] == [sizes[k - 1] for k in range(50, len(sizes) + 1, 50)]
    defaults = {k: p.default for k, p in inspect.signature(train_dqn).parameters.items()}
    assert (defaults["seed"], defaults["progress"], defaults["desc"]) == (0, True, "DQN")


def test_dqn_explores_each_sub_env_on_its_own(monkeypatch: pytest.MonkeyPatch) -> None:
    """With epsilon = 1 the 8 sub-envs draw their actions independently: all 8 agree on one of
    2 actions with probability 2^-7 per step, not on every step."""
    adds = spy(monkeypatch, ReplayBuffer, "add")
    train_dqn(counting_envs(8, 100), _dqn_config(total_steps=320, lr=0.0, eps_start=1.0, eps_end=1.0),
              progress=False)
    actions = np.stack([c["actions"] for c in adds])  # (steps, 8)
    agree = np.mean([len(set(row.tolist())) == 1 for row in actions])
    assert len(actions) >= 40 and agree < 0.2, agree


def test_dqn_explores_each_sub_env_on_its_own_at_intermediate_epsilon(monkeypatch: pytest.MonkeyPatch) -> None:
    """At epsilon = 0.5 each of 8 sub-envs leaves the greedy action with probability 1/4 on its
    own, so a step where none does has probability 0.75^8 = 0.10; if the sub-envs explored
    together (one coin for all), it would be about 0.5."""
    adds = spy(monkeypatch, ReplayBuffer, "add")
    config = _dqn_config(total_steps=480, lr=0.0, eps_start=0.5, eps_end=0.5)
    q = train_dqn(counting_envs(8, 100), config, progress=False).policy  # lr 0: q stays as built
    greedy = np.stack([q.act(torch.as_tensor(c["obs"])).numpy() for c in adds])  # (steps, 8)
    actions = np.stack([c["actions"] for c in adds])
    none_deviate = np.mean((actions == greedy).all(axis=1))
    assert len(actions) >= 60 and none_deviate < 0.3, none_deviate


def test_dqn_checks_its_evaluation_envs_before_training() -> None:
    import gymnasium as gym

    with pytest.raises(ValueError, match="actions must be Discrete"):
        train_dqn(counting_envs(2, 3), _dqn_config(), eval_envs=gym.make_vec("Pendulum-v1", num_envs=2),
                  progress=False)


@pytest.mark.parametrize("max_grad_norm", [None, 0.5])
def test_dqn_clips_the_gradient_only_when_asked(monkeypatch: pytest.MonkeyPatch, max_grad_norm: float | None) -> None:
    clips = spy(monkeypatch, torch.nn.utils, "clip_grad_norm_")
    train_dqn(counting_envs(2, 3), _dqn_config(max_grad_norm=max_grad_norm), progress=False)
    assert (len(clips) > 0) == (max_grad_norm is not None)
    assert all(c["max_norm"] == max_grad_norm for c in clips)


def test_bandit_training_draws_only_from_its_seeded_generator(capsys: pytest.CaptureFixture[str]) -> None:
    bandit = Bandit(torch.tensor([[1.0, 2.0], [5.0, 3.0]]), noise=1.0)
    config = BanditConfig(steps=3, batch=4, lr=0.1)
    torch.manual_seed(0)
    before = torch.rand(1)
    torch.manual_seed(0)
    runs = [train_bandit(bandit, config, seed=5) for _ in range(2)]
    assert torch.rand(1) == before, "train_bandit must not draw from torch's global generator"
    assert runs[0][1].batch_reward == runs[1][1].batch_reward
    assert train_bandit(bandit, config, seed=6)[1].batch_reward != runs[0][1].batch_reward
    # Adam's first step moves each logit by at most lr (exactly lr where its gradient is non-zero)
    policy, _ = train_bandit(bandit, BanditConfig(steps=1, batch=4, lr=0.1), seed=5)
    assert policy.logits.detach().abs().max() == pytest.approx(0.1, rel=1e-4)
    assert capsys.readouterr().err == ""  # no progress bar by default
    train_bandit(bandit, config, seed=5, progress=True)
    assert "bandit (value)" in capsys.readouterr().err


def test_bandit_draws_come_from_the_generator_passed() -> None:
    from rlvae_tutorial.rl.bandit import book_bandit, reinforce_gradients, softmax_score

    bandit = book_bandit()
    assert bandit.noise == 1.0 and bandit.means.shape == (3, 4)
    # the chapter's numbers: contexts pay about 2, 5 and 8; the best arms are 2, 0 and 3
    assert bandit.means.mean(-1).tolist() == pytest.approx([2.375, 5.25, 8.375])
    assert bandit.means.argmax(-1).tolist() == [2, 0, 3] and bandit.means.min() == 1.5
    assert (bandit.means.max(-1).values - bandit.means.min(-1).values).tolist() == [2.0, 1.5, 2.0]
    torch.manual_seed(0)
    before = torch.rand(1)
    torch.manual_seed(0)
    c = bandit.contexts(5, torch.Generator().manual_seed(1))
    assert torch.equal(c, torch.randint(3, (5,), generator=torch.Generator().manual_seed(1)))
    arms = torch.tensor([0, 1, 2, 3, 0])
    pulled = bandit.pull(c, arms, torch.Generator().manual_seed(2))
    noise = torch.randn(5, generator=torch.Generator().manual_seed(2))
    assert torch.allclose(pulled, bandit.means[c, arms] + noise)
    logits = torch.zeros(3, 4, dtype=torch.float64)
    g = [reinforce_gradients(logits, bandit, 50, "ema", lr=0.5, generator=torch.Generator().manual_seed(3))
         for _ in range(2)]
    assert torch.rand(1) == before, "the bandit's draws must not come from torch's global generator"
    assert torch.equal(g[0], g[1]) and g[0].shape == (50, 3, 4) and g[0].dtype == torch.float64
    other_lr = reinforce_gradients(logits, bandit, 50, "ema", lr=0.05,
                                   generator=torch.Generator().manual_seed(3))
    assert not torch.equal(g[0], other_lr)
    # K arms even when the highest arm was not drawn
    assert softmax_score(torch.zeros(2, 3), torch.tensor([0, 1])).shape == (2, 3)
