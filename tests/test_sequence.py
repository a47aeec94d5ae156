from __future__ import annotations

import copy

import torch

from rlvae_tutorial.guidance.sequence import (
    FinetuneConfig,
    SeqVAE,
    SeqVAEConfig,
    SeqVAELoss,
    finetune_loss,
)
from rlvae_tutorial.guidance.toy_language import (
    BOS,
    EOS,
    PAD,
    decode,
    encode,
    is_valid,
    sample_corpus,
)
from rlvae_tutorial.train import TrainConfig, train


def _model() -> SeqVAE:
    torch.manual_seed(0)
    return SeqVAE(SeqVAEConfig(embed=8, hidden=16, z_dim=4))


def test_shapes_and_masking() -> None:
    vae = _model()
    tokens = encode(["()", "([])[]"], max_len=8)  # (2, 10)
    qz = vae.encode(tokens)
    assert qz.batch_shape == (2,) and qz.event_shape == (4,)
    lp, mask = vae.decoder.token_log_probs(qz.mean, tokens)
    assert lp.shape == mask.shape == (2, 9)
    assert mask[0].tolist() == [1, 1, 1] + [0] * 6  # "(", ")", EOS then padding
    assert (lp[mask == 0] == 0).all() and (lp[mask == 1] < 0).all()
    # padding after EOS does not change the encoding
    longer = torch.cat([tokens, torch.full((2, 3), PAD)], dim=1)
    assert torch.allclose(vae.encode(longer).mean, qz.mean, atol=1e-6)


def test_sampling_is_well_formed_and_deterministic() -> None:
    vae = _model()
    z = torch.randn(16, 4, generator=torch.Generator().manual_seed(0))
    a = vae.decoder.sample(z, 6, generator=torch.Generator().manual_seed(1))
    b = vae.decoder.sample(z, 6, generator=torch.Generator().manual_seed(1))
    assert torch.equal(a, b) and a.shape[0] == 16 and a.shape[1] <= 8
    assert (a[:, 0] == BOS).all() and ((a == EOS).sum(1) == 1).all()
    assert all(len(s) <= 6 for s in decode(a))


def test_pretraining_learns_the_language() -> None:
    corpus = sample_corpus(400, 3, seed=0)
    vae = _model()
    data = encode(corpus, 6)
    hist = train(vae, SeqVAELoss(), data, config=TrainConfig(epochs=15, batch_size=64, lr=1e-2), progress=False)
    assert hist["recon"][-1] > hist["recon"][0] + 2
    z = torch.randn(200, 4, generator=torch.Generator().manual_seed(0))
    valid = sum(is_valid(s) for s in decode(vae.decoder.sample(z, 6, generator=torch.Generator().manual_seed(0))))
    assert valid > 100


def test_finetune_loss_zero_kl_at_start_and_gradient() -> None:
    vae = _model()
    ref = vae.decoder
    pol = copy.deepcopy(ref)
    cfg = FinetuneConfig(beta=0.5, n_samples=8, max_len=6)

    def reward_fn(tokens: torch.Tensor) -> torch.Tensor:
        return torch.tensor([float(is_valid(s)) for s in decode(tokens)])

    loss, metrics = finetune_loss(pol, ref, reward_fn, cfg, generator=torch.Generator().manual_seed(0))
    assert loss.dim() == 0 and abs(float(metrics["kl"])) < 1e-5  # policy == reference
    loss.backward()
    assert any(p.grad is not None for p in pol.parameters())
    assert all(p.grad is None for p in ref.parameters())


def test_finetune_decoder_is_deterministic_and_keeps_reference() -> None:
    from rlvae_tutorial.guidance.sequence import finetune_decoder

    vae = _model()
    before = [p.clone() for p in vae.decoder.parameters()]

    def reward_fn(tokens: torch.Tensor) -> torch.Tensor:
        return torch.tensor([float(is_valid(s)) for s in decode(tokens)])

    cfg = FinetuneConfig(beta=0.1, n_samples=8, steps=3, max_len=6)
    pol, h1 = finetune_decoder(vae.decoder, reward_fn, cfg, seed=0, progress=False)
    _, h2 = finetune_decoder(vae.decoder, reward_fn, cfg, seed=0, progress=False)
    assert len(h1) == 3 and h1["kl"] == h2["kl"] and h1["reward"] == h2["reward"]
    assert all(torch.equal(a, b) for a, b in zip(before, vae.decoder.parameters(), strict=True))
    assert pol is not vae.decoder
