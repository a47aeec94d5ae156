"""Reinforcement learning for the book's first part: returns, tabular methods, policy gradients.

One concept per module, re-exported here so that ``rlvae_tutorial.rl.discounted_returns`` etc.
work:

- :mod:`~rlvae_tutorial.rl.returns`: ``discounted_returns``, ``gae`` (pure functions of tensors);
- :mod:`~rlvae_tutorial.rl.tabular`: value iteration, policy evaluation, Q-learning;
- :mod:`~rlvae_tutorial.rl.policies`: policies returning ``torch.distributions``, value functions;
- :mod:`~rlvae_tutorial.rl.bandit`: the bandit, its exact gradient, REINFORCE estimates, baselines;
- :mod:`~rlvae_tutorial.rl.rollout`: vector-env checks, autoreset handling, rollouts, evaluation;
- :mod:`~rlvae_tutorial.rl.history`: every trainer's history and result, the evaluation clock;
- :mod:`~rlvae_tutorial.rl.reinforce`: REINFORCE on vector envs;
- :mod:`~rlvae_tutorial.rl.actor_critic`: A2C with GAE on vector envs;
- :mod:`~rlvae_tutorial.rl.ppo`: PPO with the clipped surrogate on vector envs;
- :mod:`~rlvae_tutorial.rl.dqn`: deep Q-learning with replay and a target network.
"""

from rlvae_tutorial.nets import mlp
from rlvae_tutorial.rl.actor_critic import (
    ActorCriticConfig,
    a2c_update,
    actor_critic_loss,
    train_actor_critic,
)
from rlvae_tutorial.rl.bandit import (
    Bandit,
    BanditConfig,
    book_bandit,
    ema_baseline,
    exact_gradient,
    expected_reward,
    reinforce_gradients,
    softmax_score,
    train_bandit,
)
from rlvae_tutorial.rl.history import TrainHistory, TrainResult
from rlvae_tutorial.rl.policies import CategoricalPolicy, TabularSoftmaxPolicy, ValueFunction
from rlvae_tutorial.rl.ppo import PPOConfig, ppo_clip_loss, train_ppo
from rlvae_tutorial.rl.reinforce import (
    ReinforceConfig,
    reinforce_loss,
    reinforce_update,
    train_reinforce,
)
from rlvae_tutorial.rl.returns import discounted_returns, gae
from rlvae_tutorial.rl.rollout import evaluate, transition_mask
from rlvae_tutorial.rl.tabular import (
    QLearningConfig,
    bellman_backup,
    optimal_actions,
    policy_evaluation,
    q_learning,
    q_learning_update,
    value_iteration,
)

__all__ = [
    "ActorCriticConfig",
    "Bandit",
    "BanditConfig",
    "CategoricalPolicy",
    "PPOConfig",
    "QLearningConfig",
    "ReinforceConfig",
    "TabularSoftmaxPolicy",
    "TrainHistory",
    "TrainResult",
    "ValueFunction",
    "a2c_update",
    "actor_critic_loss",
    "bellman_backup",
    "book_bandit",
    "discounted_returns",
    "evaluate",
    "ema_baseline",
    "exact_gradient",
    "expected_reward",
    "gae",
    "mlp",
    "optimal_actions",
    "policy_evaluation",
    "ppo_clip_loss",
    "q_learning",
    "q_learning_update",
    "reinforce_gradients",
    "reinforce_loss",
    "reinforce_update",
    "softmax_score",
    "train_actor_critic",
    "train_bandit",
    "train_ppo",
    "train_reinforce",
    "transition_mask",
    "value_iteration",
]
