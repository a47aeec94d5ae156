"""Checks for the exercises of the reinforcement-learning chapters.

Each check runs the reader's function on fixed random and edge-case inputs, compares it with the
package's reference, and, when they differ, tries the typical mistakes one by one so that the
message can say which one was made.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import Tensor

from rlvae_tutorial.exercises.common import call, diagnose, expect_tensor
from rlvae_tutorial.exercises.guard import exercise
from rlvae_tutorial.rl.actor_critic import actor_critic_loss
from rlvae_tutorial.rl.bandit import ema_baseline, softmax_score
from rlvae_tutorial.rl.reinforce import reinforce_loss
from rlvae_tutorial.rl.returns import discounted_returns, gae
from rlvae_tutorial.rl.rollout import transition_mask
from rlvae_tutorial.rl.tabular import bellman_backup, q_learning_update


def _rng(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _returns_forward(r: Tensor, gamma: float, done: Tensor) -> Tensor:
    out, acc = torch.empty_like(r), torch.zeros(r.shape[:-1], dtype=r.dtype)
    for t in range(r.shape[-1]):
        acc = gamma * acc + r[..., t]
        out[..., t] = acc
        acc = acc * (~done[..., t])
    return out


def _late_reset(r: Tensor, gamma: float, done: Tensor) -> Tensor:
    shifted = torch.zeros_like(done)
    shifted[..., :-1] = done[..., 1:]
    return discounted_returns(r, gamma, shifted)


@exercise("discounted_returns", "rlvae_tutorial.rl.returns:discounted_returns")
def check_discounted_returns(fn: Callable[..., Tensor]) -> None:
    """``fn(rewards, gamma, terminated) -> returns``, for ``(T,)`` and ``(B, T)`` rewards."""
    g = _rng(0)
    for shape in [(7,), (3, 7)]:
        r = torch.randn(shape, generator=g)
        done = torch.rand(shape, generator=g) < 0.3
        done[..., 2] = True
        out = expect_tensor(call(fn, r, 0.9, done, name="discounted_returns"), shape,
                            f"discounted_returns on rewards of shape {shape}")
        diagnose("discounted_returns", out, discounted_returns(r, 0.9, done), [
            (lambda r=r: discounted_returns(r, 0.9), "the return must reset at episode ends: G_t stops "
             "at the step where terminated[t] is True and must not include later rewards"),
            (lambda r=r, d=done: _late_reset(r, 0.9, d), "the reset is one step late: terminated[t] means "
             "the episode ended right after r_t, so G_t = r_t there"),
            (lambda r=r, d=done: _returns_forward(r, 0.9, d), "G_t sums the FUTURE rewards "
             "r_t, r_{t+1}, ...: loop backwards in time"),
            (lambda r=r, d=done: 0.9 * discounted_returns(r, 0.9, d), "the first reward r_t is not discounted: "
             "G_t = r_t + gamma * G_{t+1}"),
            (lambda r=r, d=done: discounted_returns(r, 0.9, d) - r, "G_t includes r_t itself: "
             "G_t = r_t + gamma * G_{t+1}, not gamma * G_{t+1}"),
            (lambda r=r, d=done: discounted_returns(r, 1.0, d), "the rewards are not discounted: multiply by gamma "
             "at every step back in time"),
        ], f"for rewards of shape {shape} (time is the LAST axis)")


@exercise("bellman_backup", "rlvae_tutorial.rl.tabular:bellman_backup")
def check_bellman_backup(fn: Callable[..., np.ndarray]) -> None:
    """``fn(V, P, R, gamma) -> Q``: one-step lookahead, ``(S,), (S, A, S), (S, A) -> (S, A)``."""
    rs = np.random.default_rng(0)
    P = rs.dirichlet(np.ones(5), size=(5, 3))  # (5, 3, 5)
    R, V = rs.normal(size=(5, 3)), rs.normal(size=5)
    out = np.asarray(call(fn, V, P, R, 0.9, name="bellman_backup"))
    if out.shape != (5, 3):
        raise AssertionError(f"bellman_backup returned shape {out.shape}, expected (S, A) = (5, 3): one "
                             "value per state AND action (take no max over actions here)")
    diagnose("bellman_backup", out, bellman_backup(V, P, R, 0.9), [
        (lambda: R + P @ V, "the next state's value must be discounted by gamma"),
        (lambda: R + 0.9 * (P * V).max(-1), "average V(s') over the next states, weighted by p(s'|s,a); "
         "do not take a max over s'"),
        (lambda: R + 0.9 * np.einsum("sap,s->pa", P, V), "P[s, a, s'] is p(s' | s, a): sum over its LAST axis"),
        (lambda: 0.9 * P @ V, "add the expected reward R(s, a)"),
        (lambda: R + 0.9 * V[:, None] * P.sum(-1), "the einsum pairs V with the CURRENT state s: V is indexed "
         "by the next state s', P's last axis, as in np.einsum('sat,t->sa', P, V)"),
        (lambda: R + 0.9 * (P @ V).max(-1, keepdims=True), "take no max over actions here: Q(s, a) keeps one "
         "value per action (the max over a belongs to V(s) = max_a Q(s, a))"),
        (lambda: R + 0.9 * P.mean(-1) * V.sum(), "the expectation over s' weighs each V(s') by p(s'|s, a): "
         "sum_s' P[s, a, s'] V(s'), not an average of P times a sum of V"),
    ], "on a random 5-state, 3-action MDP")


@exercise("q_learning_update", "rlvae_tutorial.rl.tabular:q_learning_update")
def check_q_learning_update(fn: Callable[..., float]) -> None:
    """``fn(Q, s, a, r, s_next, terminated, gamma, lr) -> td_error``, updating ``Q`` in place."""
    rs = np.random.default_rng(1)
    Q0 = rs.normal(size=(4, 3))
    Q0[3, 2] = Q0[3].min() - 1.0  # so that Q(s', a) differs from max_a' Q(s', a')
    for terminated in (False, True):
        Q, ref = Q0.copy(), Q0.copy()
        td = call(fn, Q, 1, 2, 0.5, 3, terminated, 0.9, 0.1, name="q_learning_update")
        td_ref = q_learning_update(ref, 1, 2, 0.5, 3, terminated, 0.9, 0.1)
        if np.array_equal(Q, Q0):
            raise AssertionError("q_learning_update did not change Q: update the table in place (Q[s, a] += ...)")
        if not np.allclose(np.delete(Q.ravel(), 5), np.delete(Q0.ravel(), 5)):
            raise AssertionError("q_learning_update changed entries other than Q[s, a]")
        sarsa = Q0.copy()
        sarsa[1, 2] += 0.1 * (0.5 + (0.0 if terminated else 0.9 * Q0[3, 2]) - Q0[1, 2])
        target = 0.5 + (0.0 if terminated else 0.9 * Q0[3].max())
        diagnose("q_learning_update's new Q", Q, ref, [
            (lambda: _bump(Q0, 0.5 + 0.9 * Q0[3].max()), "at a terminal step there is no next state: the "
             "target is r alone (terminated=True means no bootstrap)"),
            (lambda s=sarsa: s, "Q-learning bootstraps from the BEST next action, max_a' Q(s', a'), not Q(s', a)"),
            (lambda tg=target: _bump(Q0, tg, lr=1.0), "move Q(s, a) only a step lr towards the target, do not "
             "replace it"),
            (lambda tg=target: _bump(Q0, tg, lr=-0.1), "wrong sign: Q(s, a) must move TOWARDS the target "
             "(Q += lr * (target - Q))"),
            (None if terminated else _bump(Q0, 0.5 + Q0[3].max()), "discount the next state's value by gamma: "
             "target = r + gamma * max_a' Q(s', a')"),
        ], f"(terminated={terminated})")
        if td is not None and np.isclose(float(td), target - Q[1, 2]) and not np.isclose(float(td), td_ref):
            raise AssertionError("q_learning_update returned the TD error AFTER the update: compute "
                                 "target - Q(s, a) before changing Q[s, a], and return that")
        if td is None or not np.isclose(float(td), td_ref):
            raise AssertionError(f"q_learning_update must return the TD error target - Q(s, a) (before the "
                                 f"update), {td_ref:.4f} here; got {td}")


def _bump(Q0: np.ndarray, target: float, lr: float = 0.1) -> np.ndarray:
    Q = Q0.copy()
    Q[1, 2] += lr * (target - Q0[1, 2])
    return Q


@exercise("reinforce_loss", "rlvae_tutorial.rl.reinforce:reinforce_loss")
def check_reinforce_loss(fn: Callable[[Tensor, Tensor], Tensor]) -> None:
    """``fn(log_probs, weights) -> scalar`` whose gradient is minus the policy-gradient estimate."""
    g = _rng(2)
    lp = (-torch.rand(6, generator=g) * 2).requires_grad_()
    w = torch.randn(6, generator=g).requires_grad_()
    out = expect_tensor(call(fn, lp, w, name="reinforce_loss"), (), "reinforce_loss (a scalar)")
    diagnose("reinforce_loss", out.detach(), reinforce_loss(lp, w).detach(), [
        (lambda: -reinforce_loss(lp, w).detach(), "wrong sign: optimisers MINIMISE, so the loss is "
         "-mean(log_prob * weight)"),
        (lambda: 6 * reinforce_loss(lp, w).detach(), "average over the N steps instead of summing"),
    ], "on random inputs")
    out.backward()
    if w.grad is not None and w.grad.abs().sum() > 0:
        raise AssertionError("reinforce_loss lets gradients flow into the weights (returns - baseline): "
                             "they are constants here, use weights.detach()")


@exercise("softmax_score", "rlvae_tutorial.rl.bandit:softmax_score")
def check_softmax_score(fn: Callable[[Tensor, Tensor], Tensor]) -> None:
    """``fn(logits (n, K), actions (n,)) -> (n, K)``: the gradient of log softmax(logits)[a]."""
    g = _rng(3)
    logits, actions = torch.randn(5, 4, generator=g), torch.randint(4, (5,), generator=g)
    out = expect_tensor(call(fn, logits, actions, name="softmax_score"), (5, 4), "softmax_score")
    onehot = torch.nn.functional.one_hot(actions, 4).double()
    diagnose("softmax_score", out, softmax_score(logits, actions), [
        (lambda: -softmax_score(logits, actions), "wrong sign: it is e_a - softmax(logits)"),
        (lambda: onehot, "the derivative of log-sum-exp is missing: subtract softmax(logits)"),
        (lambda: onehot - torch.softmax(logits, -1) * onehot, "subtract the WHOLE probability vector, "
         "not only the chosen action's probability"),
    ], "on random logits")


@exercise("ema_baseline", "rlvae_tutorial.rl.bandit:ema_baseline")
def check_ema_baseline(fn: Callable[[Tensor, float], Tensor]) -> None:
    """``fn(rewards (n,), decay) -> (n,)``: b_0 = 0, b_{i+1} = decay b_i + (1 - decay) r_i."""
    r = torch.randn(8, generator=_rng(4)) + 3.0
    out = expect_tensor(call(fn, r, 0.8, name="ema_baseline"), (8,), "ema_baseline")
    late = ema_baseline(torch.cat([r, r[:1]]), 0.8)[1:]  # b_i already includes r_i
    diagnose("ema_baseline", out, ema_baseline(r, 0.8), [
        (lambda: late, "b_i must use only the PAST rewards r_0..r_{i-1}: a baseline that sees r_i depends "
         "on the action of round i and biases the gradient"),
        (lambda: ema_baseline(r, 0.2), "decay is the weight of the OLD average: "
         "b <- decay * b + (1 - decay) * r"),
    ], "on random rewards (start from b_0 = 0)")


@exercise("gae", "rlvae_tutorial.rl.returns:gae")
def check_gae(fn: Callable[..., Tensor]) -> None:
    """``fn(rewards, values, next_value, terminated, gamma, gae_lambda) -> advantages``, ``(B, T)``."""
    g = _rng(5)
    r, v = torch.randn(3, 6, generator=g), torch.randn(3, 6, generator=g)
    nv, done = torch.randn(3, generator=g), torch.rand(3, 6, generator=g) < 0.25
    done[0, 2] = True
    out = expect_tensor(call(fn, r, v, nv, done, 0.9, 0.8, name="gae"), (3, 6), "gae")
    v_next = torch.cat([v[:, 1:], nv[:, None]], 1)
    diagnose("gae", out, gae(r, v, nv, done, 0.9, 0.8), [
        (lambda: gae(r, v, nv, None, 0.9, 0.8), "advantages must not flow across an episode end: "
         "multiply both V(s_{t+1}) and A_{t+1} by (1 - terminated[t])"),
        (lambda: gae(r, v, 0.0, done, 0.9, 0.8), "bootstrap the last step with next_value, V(s_T)"),
        (lambda: gae(r, v, nv, done, 0.9, 0.8) + v, "return the advantages A_t, not the value targets A_t + V(s_t)"),
        (lambda: gae(r, v, nv, done, 0.9, 1.0), "the TD errors are summed with weights (gamma * gae_lambda)^k, not gamma^k"),
        (lambda: r + 0.9 * (~done) * v_next - v, "that is the one-step TD error (gae_lambda = 0); sum the later ones too"),
    ], "on random (3, 6) inputs")


@exercise("actor_critic_loss", "rlvae_tutorial.rl.actor_critic:actor_critic_loss")
def check_actor_critic_loss(fn: Callable[..., Tensor]) -> None:
    """``fn(log_probs, advantages, values, returns, entropy, value_coef, entropy_coef) -> scalar``."""
    g = _rng(6)
    lp, adv, v, ret = (torch.randn(5, generator=g).requires_grad_() for _ in range(4))
    ent = torch.rand(5, generator=g).requires_grad_()
    args = (lp, adv, v, ret, ent, 0.5, 0.1)
    out = expect_tensor(call(fn, *args, name="actor_critic_loss"), (), "actor_critic_loss (a scalar)")
    ref = actor_critic_loss(*args).detach()
    pg, vl, h = -(lp * adv).mean().detach(), (v - ret).pow(2).mean().detach(), ent.mean().detach()
    diagnose("actor_critic_loss", out.detach(), ref, [
        (lambda: pg + 0.5 * vl + 0.1 * h, "the entropy is a BONUS: subtract entropy_coef * entropy"),
        (lambda: pg - 0.5 * vl - 0.1 * h, "the critic's squared error is minimised: ADD value_coef * (V - G)^2"),
        (lambda: -pg + 0.5 * vl - 0.1 * h, "wrong sign of the policy term: it is -mean(log_prob * advantage)"),
        (lambda: pg + vl - 0.1 * h, "weigh the value loss by value_coef"),
    ], "on random inputs")
    out.backward()
    for name, t in (("advantages", adv), ("returns", ret)):
        if t.grad is not None and t.grad.abs().sum() > 0:
            raise AssertionError(f"gradients flow into the {name}: they are targets, use .detach()")


@exercise("transition_mask", "rlvae_tutorial.rl.rollout:transition_mask")
def check_transition_mask(fn: Callable[[Tensor, Tensor], Tensor]) -> None:
    """``fn(terminated, truncated) -> valid`` for ``(B, T)`` flags of a NEXT_STEP-autoreset rollout."""
    term = torch.tensor([[False, True, False, False, False], [False, False, False, False, True]])
    trunc = torch.tensor([[False, False, False, True, False], [False, True, False, False, False]])
    out = call(fn, term, trunc, name="transition_mask")
    if not isinstance(out, Tensor) or out.shape != term.shape:
        raise AssertionError(f"transition_mask must return a bool tensor of shape {tuple(term.shape)}")
    ref = transition_mask(term, trunc)
    diagnose("transition_mask", out.bool(), ref, [
        (lambda: ~(term | trunc), "the step that ends an episode is a real transition; the one AFTER it is "
         "the reset step to drop"),
        (lambda: transition_mask(term, torch.zeros_like(trunc)), "a truncated episode is reset too: "
         "use terminated | truncated"),
        (lambda: ~ref, "the mask is inverted: True marks the steps to KEEP"),
    ], "on a rollout with terminations and truncations")
