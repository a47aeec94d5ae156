"""A GRU sequence VAE for token strings, and REINFORCE fine-tuning of its decoder with a KL penalty.

Tokens ``(B, T)`` start with BOS and end with EOS then PAD (:mod:`.toy_language`).  The encoder
reads the whole string into q(z|x); the decoder is an autoregressive GRU conditioned on z (its
initial state and an input at every step).  Training and scoring use teacher forcing in one
batched call; only sampling loops over positions.

Fine-tuning (RLHF-style, :func:`finetune_loss`): sample strings from the policy decoder, score them
with a reward, subtract beta (the KL coefficient, lambda in the book's text) times the per-sequence
single-sample KL estimate sum_t log pi(a_t) - log ref(a_t) to the frozen pretrained decoder, and follow :func:`token_reinforce_loss` with a leave-one-out baseline.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn
from torch.distributions import Independent, Normal

from rlvae_tutorial.estimators.score_function import leave_one_out_baseline
from rlvae_tutorial.guidance.reward import token_reinforce_loss
from rlvae_tutorial.guidance.toy_language import BOS, EOS, PAD, VOCAB
from rlvae_tutorial.train import History, TrainConfig, train
from rlvae_tutorial.vae.losses import gaussian_kl


@dataclass(frozen=True)
class SeqVAEConfig:
    """Sizes of :class:`SeqVAE`; defaults are the book's bracket-language model."""

    vocab: int = len(VOCAB)
    embed: int = 32
    hidden: int = 128
    z_dim: int = 8


class SeqDecoder(nn.Module):
    """p(a_t | a_<t, z): a GRU whose state starts at tanh(W z) and whose input is [embed(a_{t-1}), z]."""

    def __init__(self, config: SeqVAEConfig) -> None:
        super().__init__()
        self.config = config
        self.embed = nn.Embedding(config.vocab, config.embed, padding_idx=PAD)
        self.init = nn.Linear(config.z_dim, config.hidden)
        self.gru = nn.GRU(config.embed + config.z_dim, config.hidden, batch_first=True)
        self.out = nn.Linear(config.hidden, config.vocab)

    def logits(self, z: Tensor, inputs: Tensor) -> Tensor:
        """Teacher forcing: z ``(B, D)``, inputs ``(B, T)`` tokens -> logits ``(B, T, V)`` of the next token."""
        e = self.embed(inputs)  # (B, T, E)
        zz = z.unsqueeze(1).expand(-1, inputs.shape[1], -1)  # (B, T, D)
        h, _ = self.gru(torch.cat([e, zz], dim=-1), torch.tanh(self.init(z)).unsqueeze(0))
        return self.out(h)

    def token_log_probs(self, z: Tensor, tokens: Tensor) -> tuple[Tensor, Tensor]:
        """log p(a_t | a_<t, z) of tokens ``(B, T)`` (BOS first): ``((B, T-1), mask (B, T-1))``."""
        logits = self.logits(z, tokens[:, :-1])
        target = tokens[:, 1:]
        lp = torch.log_softmax(logits, -1).gather(-1, target.unsqueeze(-1)).squeeze(-1)
        mask = (target != PAD).to(lp.dtype)
        return lp * mask, mask

    @torch.no_grad()
    def sample(self, z: Tensor, max_len: int, generator: torch.Generator | None = None) -> Tensor:
        """Ancestral sampling: z ``(B, D)`` -> tokens ``(B, max_len + 2)`` (BOS, ..., EOS, PAD)."""
        b = z.shape[0]
        tokens = torch.full((b, max_len + 2), PAD, dtype=torch.long, device=z.device)
        tokens[:, 0] = BOS
        h = torch.tanh(self.init(z)).unsqueeze(0)
        prev = tokens[:, 0]
        done = torch.zeros(b, dtype=torch.bool, device=z.device)
        for t in range(1, max_len + 2):
            x = torch.cat([self.embed(prev), z], dim=-1).unsqueeze(1)
            out, h = self.gru(x, h)
            logits = self.out(out[:, 0])
            logits[:, PAD] = -torch.inf
            logits[:, BOS] = -torch.inf
            if t == max_len + 1:  # force EOS at the end
                nxt = torch.full((b,), EOS, dtype=torch.long, device=z.device)
            else:
                probs = torch.softmax(logits, -1)
                nxt = torch.multinomial(probs.cpu(), 1, generator=generator).squeeze(1).to(z.device)
            nxt = torch.where(done, torch.full_like(nxt, PAD), nxt)
            tokens[:, t] = nxt
            done = done | (nxt == EOS)
            prev = nxt
            if bool(done.all()):
                break
        return tokens


class SeqVAE(nn.Module):
    """GRU encoder q(z|x), :class:`SeqDecoder` p(x|z), prior N(0, I)."""

    def __init__(self, config: SeqVAEConfig | None = None) -> None:
        super().__init__()
        self.config = config = config or SeqVAEConfig()
        self.embed = nn.Embedding(config.vocab, config.embed, padding_idx=PAD)
        self.encoder = nn.GRU(config.embed, config.hidden, batch_first=True)
        self.head = nn.Linear(config.hidden, 2 * config.z_dim)
        self.decoder = SeqDecoder(config)

    def encode(self, tokens: Tensor) -> Independent:
        """tokens ``(B, T)`` -> q(z|x) (packed by length, so padding is never read)."""
        lengths = (tokens != PAD).sum(1).cpu()
        packed = nn.utils.rnn.pack_padded_sequence(self.embed(tokens), lengths, batch_first=True, enforce_sorted=False)
        _, h = self.encoder(packed)
        mu, logvar = self.head(h[-1]).chunk(2, -1)
        return Independent(Normal(mu, torch.exp(0.5 * logvar.clamp(-12, 8)), validate_args=False), 1)


@dataclass(frozen=True)
class SeqVAELoss:
    """``loss_fn(model, tokens)`` for ``train``: -E_q[log p(x|z)] + beta KL, per string (nats)."""

    beta: float = 1.0

    def __call__(self, model: SeqVAE, batch: Any) -> tuple[Tensor, dict[str, Tensor]]:
        tokens = batch[0] if isinstance(batch, (tuple, list)) else batch
        qz = model.encode(tokens)
        z = qz.rsample()
        lp, _ = model.decoder.token_log_probs(z, tokens)
        recon = lp.sum(-1)  # (B,)
        kl = gaussian_kl(qz.base_dist.loc, 2 * qz.base_dist.scale.log())  # (B,)
        loss = -recon.mean() + self.beta * kl.mean()
        return loss, {"recon": recon.mean().detach(), "kl": kl.mean().detach()}


@dataclass(frozen=True)
class FinetuneConfig:
    """REINFORCE fine-tuning: ``beta`` the KL coefficient, ``n_samples`` strings per step, ``steps``."""

    beta: float = 0.1
    n_samples: int = 64
    steps: int = 200
    lr: float = 1e-3
    max_len: int = 12

    def __post_init__(self) -> None:
        if self.n_samples < 2:
            raise ValueError(f"n_samples must be >= 2 for the leave-one-out baseline, got {self.n_samples}")
        if self.steps < 1 or self.lr <= 0 or self.max_len < 1 or self.beta < 0:
            raise ValueError(f"FinetuneConfig needs steps >= 1, lr > 0, max_len >= 1 and beta >= 0, got "
                             f"steps={self.steps}, lr={self.lr}, max_len={self.max_len}, beta={self.beta}")


def finetune_loss(
    policy: SeqDecoder,
    reference: SeqDecoder,
    reward_fn: Callable[[Tensor], Tensor],
    config: FinetuneConfig,
    generator: torch.Generator | None = None,
) -> tuple[Tensor, dict[str, Tensor]]:
    """One step: z ~ N(0, I) ``(K, D)``, tokens ~ policy, r = reward_fn(tokens) ``(K,)``,
    r' = r - beta * sum_t (log pi - log ref), advantage = r' - leave-one-out mean, loss as in
    :func:`token_reinforce_loss`.  Metrics: ``reward``, ``kl`` (per string, sampled estimate)."""
    device = next(policy.parameters()).device
    z = torch.randn(config.n_samples, policy.config.z_dim, generator=generator).to(device)
    tokens = policy.sample(z, config.max_len, generator=generator)
    lp, mask = policy.token_log_probs(z, tokens)  # (K, T-1)
    with torch.no_grad():
        ref_lp, _ = reference.token_log_probs(z, tokens)
        reward = reward_fn(tokens).to(lp.dtype)  # (K,)
    kl = (lp.detach() - ref_lp).sum(-1)  # (K,)
    penalised = reward - config.beta * kl
    advantage = penalised - leave_one_out_baseline(penalised.unsqueeze(1)).squeeze(1)
    loss = token_reinforce_loss(lp, mask, advantage)
    return loss, {"reward": reward.mean(), "kl": kl.mean()}


def finetune_decoder(
    reference: SeqDecoder,
    reward_fn: Callable[[Tensor], Tensor],
    config: FinetuneConfig = FinetuneConfig(),
    *,
    seed: int = 0,
    progress: bool = True,
    desc: str | None = None,
) -> tuple[SeqDecoder, History]:
    """Copy the frozen ``reference`` decoder and fine-tune the copy by :func:`finetune_loss` through
    the book's ``train`` loop (one "epoch" = one step).  Returns the policy and its history
    (``reward``, ``kl`` per step).  Same ``seed`` -> same history."""
    for p in reference.parameters():
        p.requires_grad_(False)
    policy = copy.deepcopy(reference)
    for p in policy.parameters():
        p.requires_grad_(True)
    device = next(reference.parameters()).device
    history = train(
        policy,
        lambda model, batch: finetune_loss(model, reference, reward_fn, config),
        torch.zeros(1, device=device),
        config=TrainConfig(epochs=config.steps, batch_size=1, lr=config.lr, seed=seed, keep_best=False),
        progress=progress,
        desc=desc or f"fine-tune beta={config.beta:g}",
    )
    return policy, history
