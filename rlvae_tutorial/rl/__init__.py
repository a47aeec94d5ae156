"""Reinforcement learning for the book's first part: returns, tabular methods, policy gradients.

One concept per module, re-exported here so that ``rlvae_tutorial.rl.discounted_returns`` etc.
work:

- :mod:`~rlvae_tutorial.rl.returns`: ``discounted_returns``, ``gae`` (pure functions of tensors);
- :mod:`~rlvae_tutorial.rl.tabular`: value iteration, policy evaluation, Q-learning;
- :mod:`~rlvae_tutorial.rl.policies`: policies returning ``torch.distributions``, value functions;
- :mod:`~rlvae_tutorial.rl.bandit`: the bandit, its exact gradient, REINFORCE estimates, baselines;
- :mod:`~rlvae_tutorial.rl.rollout`: vector-env checks, autoreset handling, evaluation, history;
- :mod:`~rlvae_tutorial.rl.reinforce`: REINFORCE on vector envs;
- :mod:`~rlvae_tutorial.rl.actor_critic`: A2C with GAE on vector envs;
- :mod:`~rlvae_tutorial.rl.ppo`: PPO with the clipped surrogate on vector envs.
"""

from rlvae_tutorial.rl.actor_critic import ActorCriticConfig, actor_critic_loss, train_actor_critic
from rlvae_tutorial.rl.bandit import (
    Bandit,
    BanditConfig,
    book_bandit,
    exact_gradient,
    expected_reward,
    moving_average_baseline,
    reinforce_gradients,
    softmax_score,
    train_bandit,
)
from rlvae_tutorial.rl.policies import CategoricalPolicy, TabularSoftmaxPolicy, ValueFunction, mlp
from rlvae_tutorial.rl.ppo import PPOConfig, ppo_clip_loss, train_ppo
from rlvae_tutorial.rl.reinforce import (
    ReinforceConfig,
    TrainResult,
    reinforce_loss,
    train_reinforce,
)
from rlvae_tutorial.rl.returns import discounted_returns, gae
from rlvae_tutorial.rl.rollout import TrainHistory, evaluate, transition_mask
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
    "actor_critic_loss",
    "bellman_backup",
    "book_bandit",
    "discounted_returns",
    "evaluate",
    "exact_gradient",
    "expected_reward",
    "gae",
    "mlp",
    "moving_average_baseline",
    "optimal_actions",
    "policy_evaluation",
    "ppo_clip_loss",
    "q_learning",
    "q_learning_update",
    "reinforce_gradients",
    "reinforce_loss",
    "softmax_score",
    "train_actor_critic",
    "train_bandit",
    "train_ppo",
    "train_reinforce",
    "transition_mask",
    "value_iteration",
]
