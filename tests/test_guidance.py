from __future__ import annotations

import math

import pytest
import torch
from torch.distributions import Independent, Normal, kl_divergence

from rlvae_tutorial.guidance import (
    ClassifierLoss,
    GuidanceConfig,
    LatentPolicy,
    MLPClassifier,
    class_entropy,
    classifier_log_prob_reward,
    distinct_nearest,
    kl_penalized_reward,
    mean_pairwise_distance,
    nearest_index,
    token_reinforce_loss,
    train_latent_policy,
)
from rlvae_tutorial.train import TrainConfig, train
from rlvae_tutorial.vae import VAE, VAEConfig, gaussian_kl


def test_kl_penalized_reward_reference() -> None:
    r = torch.tensor([1.0, -2.0])
    log_pi = torch.tensor([-3.0, -1.0])
    log_p = torch.tensor([-4.0, -1.5])
    # r - lam (log pi - log p) = [1 - 0.5 * 1, -2 - 0.5 * 0.5]
    assert torch.allclose(kl_penalized_reward(r, log_pi, log_p, 0.5), torch.tensor([0.5, -2.25]))
    assert torch.equal(kl_penalized_reward(r, log_pi, log_p, 0.0), r)


def test_kl_penalized_reward_errors() -> None:
    r = torch.zeros(3)
    with pytest.raises(ValueError, match="lam must be >= 0"):
        kl_penalized_reward(r, r, r, -1.0)
    with pytest.raises(ValueError, match="must have one shape"):
        kl_penalized_reward(r, torch.zeros(2), r, 1.0)


def test_closed_form_kl_matches_torch_and_sample_mean() -> None:
    g = torch.Generator().manual_seed(0)
    loc, log_scale = torch.randn(5, 4, generator=g), 0.3 * torch.randn(5, 4, generator=g)
    pi = Independent(Normal(loc, log_scale.exp()), 1)
    prior = Independent(Normal(torch.zeros(4), torch.ones(4)), 1)
    kl = gaussian_kl(loc, 2 * log_scale)  # the policy's KL to the prior: LatentPolicy.kl_to_prior
    assert kl.shape == (5,)
    assert torch.allclose(kl, kl_divergence(pi, prior), atol=1e-5)
    assert gaussian_kl(torch.zeros(3), torch.zeros(3)).item() == 0.0
    # the per-sample form log pi - log p averages to the closed form
    z = pi.sample((20000,))
    assert torch.allclose((pi.log_prob(z) - prior.log_prob(z)).mean(0), kl, atol=0.1)
    with pytest.raises(ValueError, match="same shape"):
        gaussian_kl(torch.zeros(3), torch.zeros(2))


def test_classifier_log_prob_reward() -> None:
    logits = torch.log(torch.tensor([[0.5, 0.25, 0.25], [0.1, 0.1, 0.8]]))
    assert torch.allclose(classifier_log_prob_reward(logits, 2), torch.log(torch.tensor([0.25, 0.8])))
    assert torch.allclose(classifier_log_prob_reward(logits, torch.tensor([0, 1])), torch.log(torch.tensor([0.5, 0.1])))
    with pytest.raises(ValueError, match="target classes"):
        classifier_log_prob_reward(logits, 3)


def test_token_reinforce_loss_reference_and_grad() -> None:
    lp = torch.tensor([[-1.0, -2.0, -5.0], [-0.5, -0.5, -0.5]], requires_grad=True)
    mask = torch.tensor([[1, 1, 0], [1, 1, 1]])
    adv = torch.tensor([2.0, -1.0], requires_grad=True)
    loss = token_reinforce_loss(lp, mask, adv)
    # -mean(2 * (-3), -1 * (-1.5)) = -(-6 + 1.5) / 2 = 2.25
    assert loss.item() == pytest.approx(2.25)
    loss.backward()
    assert torch.allclose(lp.grad, torch.tensor([[-1.0, -1.0, 0.0], [0.5, 0.5, 0.5]]))
    assert adv.grad is None
    with pytest.raises(ValueError, match="advantage must be"):
        token_reinforce_loss(lp, mask, torch.zeros(3))
    with pytest.raises(ValueError, match="must match"):
        token_reinforce_loss(lp, mask[:, :2], adv)


def test_diversity_reference_answers() -> None:
    x = torch.tensor([[0.0, 0.0], [3.0, 4.0], [0.0, 0.0]])
    # pairs: (0,1)=5, (0,2)=0, (1,2)=5 -> mean over ordered pairs = 20 / 6
    assert mean_pairwise_distance(x).item() == pytest.approx(10 / 3)
    assert mean_pairwise_distance(torch.ones(4, 3)).item() == pytest.approx(0.0, abs=1e-6)
    ref = torch.tensor([[0.0, 0.0], [3.0, 4.0], [10.0, 10.0]])
    assert nearest_index(x, ref).tolist() == [0, 1, 0]
    assert distinct_nearest(x, ref) == 2
    assert class_entropy(torch.tensor([1, 1, 1]), 10) == 0.0
    assert class_entropy(torch.arange(10), 10) == pytest.approx(math.log(10))
    assert class_entropy(torch.tensor([0, 1]), 3) == pytest.approx(math.log(2))
    with pytest.raises(ValueError, match="N >= 2"):
        mean_pairwise_distance(torch.zeros(1, 3))
    with pytest.raises(ValueError, match="labels must be in"):
        class_entropy(torch.tensor([0, 5]), 3)


def test_latent_policy_starts_at_prior() -> None:
    pol = LatentPolicy(8)
    assert pol.kl_to_prior().item() == 0.0
    assert pol.sample(5, generator=torch.Generator().manual_seed(0)).shape == (5, 8)
    with pytest.raises(ValueError, match="n_samples must be >= 2"):
        GuidanceConfig(n_samples=1)
    with pytest.raises(ValueError, match="lam must be >= 0"):
        GuidanceConfig(lam=-0.1)


def _toy_problem() -> tuple[VAE, object]:
    torch.manual_seed(0)
    vae = VAE(VAEConfig(x_dim=4, hidden=(8,), z_dim=2))

    def reward_fn(images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        # a reward on the decoded image only: here, the first pixel's intensity
        return images[:, 0], images[:, 0] > 0.5

    return vae, reward_fn


@pytest.mark.parametrize("analytic_kl", [True, False])
def test_policy_gradient_raises_reward_and_is_deterministic(analytic_kl: bool) -> None:
    vae, reward_fn = _toy_problem()
    with torch.no_grad():  # make the reward depend on z_0 strongly
        vae.decoder.net[0].weight.zero_()
        vae.decoder.net[0].weight[0, 0] = 3.0
        vae.decoder.net[2].weight.zero_()
        vae.decoder.net[2].weight[0, 0] = 3.0
    cfg = GuidanceConfig(lam=0.0, n_samples=32, steps=80, lr=0.1, analytic_kl=analytic_kl)
    pol, hist = train_latent_policy(vae.decoder, reward_fn, 2, cfg, seed=3, progress=False)
    assert len(hist) == 80
    assert sum(hist["reward"][-10:]) / 10 > sum(hist["reward"][:10]) / 10 + 0.1
    assert pol.loc[0].item() > 0.5
    assert all(not p.requires_grad for p in vae.decoder.parameters())
    _, hist2 = train_latent_policy(vae.decoder, reward_fn, 2, cfg, seed=3, progress=False)
    assert hist["reward"] == hist2["reward"]


def test_kl_penalty_keeps_policy_near_prior() -> None:
    vae, reward_fn = _toy_problem()
    cfg = GuidanceConfig(lam=0.0, n_samples=32, steps=60, lr=0.1)
    _, free = train_latent_policy(vae.decoder, reward_fn, 2, cfg, seed=0, progress=False)
    _, tied = train_latent_policy(vae.decoder, reward_fn, 2, GuidanceConfig(lam=10.0, n_samples=32, steps=60, lr=0.1),
                                  seed=0, progress=False)
    assert tied.last("kl") < free.last("kl")
    assert tied.last("kl") < 0.05


def test_classifier_trains_with_train_loop() -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(200, 6, generator=g)
    y = (x[:, 0] > 0).long()
    clf = MLPClassifier(x_dim=6, hidden=(16,), n_classes=2)
    hist = train(clf, ClassifierLoss(), (x, y), config=TrainConfig(epochs=30, batch_size=50, lr=1e-2), progress=False)
    assert hist.last("accuracy") > 0.9
    assert clf.predict(x).shape == (200,)
    with pytest.raises(ValueError, match="labelled batches"):
        ClassifierLoss()(clf, x)
    with pytest.raises(ValueError, match="expects 6 features"):
        clf(torch.zeros(2, 5))
