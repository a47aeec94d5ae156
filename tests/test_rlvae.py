from __future__ import annotations

import math

import pytest
import torch

from rlvae_tutorial.data import load_digits, split_validation
from rlvae_tutorial.estimators import compare_gradients, gradient_statistics
from rlvae_tutorial.rlvae import (
    BernoulliVAE,
    Critic,
    DigitClassifier,
    PolicyGradientConfig,
    PolicyVAE,
    RecognitionReward,
    critic_objective,
    elbo_reward,
    epoch_flops,
    estimator_config,
    estimator_objective,
    estimator_terms,
    fit_critic,
    fit_learned_baseline,
    gradient_draws,
    loss_and_surrogate,
    policy_gradient_loss,
    probe_estimators,
    step_flops,
    train_estimators,
    train_policy_vae,
)
from rlvae_tutorial.train import TrainConfig
from rlvae_tutorial.vae import VAE, VAEConfig, VAELoss, evaluate


def _x(n: int = 32) -> torch.Tensor:
    return load_digits("train", binarize=True)[0][:n]


def _model(name: str = "loo", seed: int = 0, binary: bool = False, small: bool = False, **kw: object) -> PolicyVAE:
    """The book's model, or (``small``) one hidden layer of 64 units, for the statistical tests."""
    torch.manual_seed(seed)
    config = VAEConfig(hidden=(64,), z_dim=16 if binary else 8) if small else None
    vae = BernoulliVAE(config) if binary else VAE(config)
    return PolicyVAE(vae, estimator_config(name, **kw))


@pytest.mark.parametrize(
    ("kw", "msg"),
    [
        ({"gradient": "gumbel"}, "unknown gradient 'gumbel'; allowed: reparam, score, straight_through"),
        ({"baseline": "mean"}, "unknown baseline 'mean'"),
        ({"gradient": "reparam", "baseline": "ema"}, "baselines and normalisation belong to the score-function"),
        ({"baseline": "loo", "samples": 1}, "leave-one-out baseline needs samples >= 2"),
        ({"samples": 0, "baseline": "none"}, "samples must be >= 1"),
        ({"beta": -1.0}, "beta must be >= 0"),
        ({"temperature": 0.0}, "temperature must be > 0"),
    ],
)
def test_bad_config_is_explained(kw: dict, msg: str) -> None:
    with pytest.raises(ValueError, match=msg):
        PolicyGradientConfig(**kw)


def test_config_names_and_presets() -> None:
    assert PolicyGradientConfig().name == "score+loo (K=4)"
    assert estimator_config("none").name == "score"
    assert estimator_config("reparam").name == "reparam"
    assert estimator_config("ema", samples=2).samples == 2
    with pytest.raises(ValueError, match="unknown estimator 'x'"):
        estimator_config("x")


def test_model_errors_name_the_fix() -> None:
    with pytest.raises(ValueError, match="binary latents cannot be reparameterised"):
        PolicyVAE(BernoulliVAE(), estimator_config("reparam"))
    with pytest.raises(ValueError, match="needs binary latents: use a BernoulliVAE"):
        PolicyVAE(VAE(), estimator_config("straight_through"))
    with pytest.raises(ValueError, match="can only be followed by the score"):
        PolicyVAE(VAE(), estimator_config("reparam"), extra_reward=lambda b, z, px: z.sum(-1))


def test_reward_is_the_negative_vae_loss() -> None:
    log_px, log_q, log_p = torch.tensor([-30.0]), torch.tensor([-2.0]), torch.tensor([-9.0])
    assert float(elbo_reward(log_px, log_q, log_p, 1.0)) == -30.0 - 7.0
    assert float(elbo_reward(log_px, log_q, log_p, 2.0)) == -30.0 - 14.0
    # In expectation it is the ELBO: its mean over many z matches VAELoss's -loss (analytic KL).
    model = _model("none")
    x = _x(64)
    with torch.no_grad():
        loss, _ = VAELoss()(model.vae, x)
        terms = estimator_terms(
            estimator_config("none", samples=500), model.vae.encoder(x), model.vae.prior(), model.vae.decoder, x,
            generator=torch.Generator().manual_seed(0),
        )
    assert terms.reward.shape == (500, 64)
    assert abs(float(terms.reward.mean()) + float(loss)) < 0.5


@pytest.mark.parametrize("name", ["reparam", "none", "ema", "learned", "loo"])
def test_loss_value_gradients_and_baseline_state(name: str) -> None:
    model = _model(name)
    x = _x()
    loss, metrics = policy_gradient_loss(model, x)
    assert loss.dim() == 0 and {"elbo", "recon", "kl"} <= set(metrics)
    assert loss.item() == pytest.approx(-float(metrics["elbo"]), rel=1e-5)  # the value is -ELBO
    loss.backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.vae.parameters())
    if name == "learned":
        assert "baseline_mse" in metrics and model.baseline is not None
        assert all(p.grad is not None for p in model.baseline.parameters())
        # b(x) started at the mean reward, not at 0
        assert abs(model.baseline.offset.item() - float(metrics["elbo"])) < 10
    if name == "ema":
        value = float(model.baseline())
        assert value == pytest.approx(float(metrics["elbo"]), rel=0.2)
        model.eval()
        policy_gradient_loss(model, x)
        assert float(model.baseline()) == value, "evaluation must not update the EMA"


def _probe(model: PolicyVAE, name: str, x: torch.Tensor, n: int, dirs: torch.Tensor | None, seed: int, **kw: object):
    cfg = estimator_config(name, **kw)
    draw = gradient_draws(model.vae.encoder, x, estimator_objective(model, cfg, x), generator=torch.Generator().manual_seed(seed))
    return gradient_statistics(draw, n, chunk=250, directions=dirs)


def test_probe_draw_equals_a_plain_backward_pass() -> None:
    model = _model("loo")
    x = _x(8)
    for name in ("reparam", "loo", "none"):
        cfg = estimator_config(name)
        draw = gradient_draws(model.vae.encoder, x, estimator_objective(model, cfg, x), generator=torch.Generator().manual_seed(3))
        probed = draw(1)[0]
        terms = estimator_terms(cfg, model.vae.encoder(x), model.vae.prior(), model.vae.decoder, x, generator=torch.Generator().manual_seed(3))
        grads = torch.autograd.grad(terms.surrogate.mean(), list(model.vae.encoder.parameters()))
        torch.testing.assert_close(probed, torch.cat([g.reshape(-1) for g in grads]), rtol=1e-4, atol=1e-6)
    assert draw(5).shape == (5, sum(p.numel() for p in model.vae.encoder.parameters()))


@pytest.mark.slow
def test_score_function_estimators_are_unbiased_and_ordered_by_variance() -> None:
    """Each estimator's mean over draws matches the reparameterised gradient within 4 standard errors."""
    model = _model("ema", small=True)
    x = _x(32)
    with torch.no_grad():  # give the EMA its fixed-point value: the mean reward
        model.baseline.value.fill_(float(policy_gradient_loss(model, x)[1]["elbo"]))
    g = torch.Generator().manual_seed(0)
    pilot = _probe(model, "reparam", x, 200, None, 1).mean.float()
    dirs = torch.stack([pilot / pilot.norm(), torch.nn.functional.normalize(torch.randn(pilot.shape[0], generator=g), dim=0)])
    ref = _probe(model, "reparam", x, 3000, dirs, 2)
    stats = {name: _probe(model, name, x, 1000, dirs, 3 + i) for i, name in enumerate(["none", "ema", "loo"])}
    for name, st in stats.items():
        c = compare_gradients(st, ref)
        assert (c.z_scores.abs() < 4).all(), (name, c.z_scores)
        assert c.error_ratio < 3, (name, c.error_ratio)
    assert compare_gradients(stats["loo"], ref).cosine > 0.99
    assert stats["ema"].trace_variance * 10 < stats["none"].trace_variance
    assert stats["loo"].trace_variance * 100 < stats["none"].trace_variance


@pytest.mark.slow
def test_a_critic_gives_a_biased_gradient() -> None:
    model = _model("reparam", small=True)
    x = _x(32)
    critic = Critic(64, 8, (64,))
    torch.manual_seed(0)
    _, r2 = fit_critic(critic, model.vae, x, n_per_x=32, config=TrainConfig(epochs=5, batch_size=128), progress=False)
    assert math.isfinite(r2)
    ref = _probe(model, "reparam", x, 500, None, 0)
    draw = gradient_draws(model.vae.encoder, x, critic_objective(model.vae, critic, x), generator=torch.Generator().manual_seed(1))
    c = compare_gradients(gradient_statistics(draw, 500), ref)
    assert c.error_ratio > 10, c


def test_straight_through_and_the_binary_vae() -> None:
    model = _model("straight_through", binary=True)
    x = _x()
    assert model.binary and not _model("loo").binary
    prior = model.vae.prior()
    assert float(prior.log_prob(torch.ones(16))) == pytest.approx(-16 * math.log(2))
    loss, metrics = policy_gradient_loss(model, x)
    loss.backward()
    assert all(p.grad is not None for p in model.vae.encoder.parameters())
    ev = evaluate(model.vae, x, k=0, n_elbo_samples=10, generator=torch.Generator().manual_seed(0))
    assert "iwae" not in ev
    assert ev["elbo"] == pytest.approx(ev["recon"] - ev["kl"]) and 0 <= ev["kl"] <= 16 * math.log(2) + 1e-4
    assert model.vae.sample(3).mean.shape == (3, 64) and model.vae.reconstruct(x).shape == (32, 64)
    loo = _model("loo", binary=True)
    loss, _ = policy_gradient_loss(loo, x)
    loss.backward()


def test_step_flops_count_the_k_samples() -> None:
    x = _x(128)
    reparam = step_flops(_model("reparam"), x)
    loo = step_flops(_model("loo"), x)
    assert 2.0 < loo / reparam < 3.0
    assert abs(step_flops(_model("none"), x) / reparam - 1) < 0.05


def test_training_is_deterministic_and_keeps_the_best() -> None:
    x, y = load_digits("train", binarize=True)
    (xt, _), (xv, _) = split_validation(x[:400], y[:400], seed=0)
    runs = []
    for _ in range(2):
        model = _model("ema")
        h = train_policy_vae(model, xt, xv, epochs=3, config=TrainConfig(seed=4), progress=False)
        runs.append(([{k: v for k, v in r.items() if k != "time"} for r in h.records], model.state_dict()))
    assert runs[0][0] == runs[1][0]
    assert all(torch.equal(runs[0][1][k], runs[1][1][k]) for k in runs[0][1])
    assert "baseline.value" in runs[0][1]
    assert h.best_value == max(h["val_elbo"]) and "flops" in h.records[0]
    m = _model("reparam")
    budget = 2.5 * 1e9
    h = train_policy_vae(m, xt, xv, flops=budget, progress=False)
    assert len(h) >= 1 and h.records[-1]["flops"] <= budget
    with pytest.raises(ValueError, match="exactly one of epochs= or flops="):
        train_policy_vae(m, xt, xv, progress=False)


def test_black_box_reward() -> None:
    x, y = load_digits("train", binarize=True)
    xt, yt = load_digits("test", binarize=True)
    clf = DigitClassifier().fit(x, y)
    assert clf.accuracy(xt, yt) > 0.8
    reward = RecognitionReward(clf, bonus=3.0)
    model = PolicyVAE(BernoulliVAE(), estimator_config("loo"), extra_reward=reward)
    px = model.vae.decoder(torch.zeros(4, 8, 16))
    r = reward((xt[:8], yt[:8]), torch.zeros(4, 8, 16), px)
    assert r.shape == (4, 8) and set(r.unique().tolist()) <= {0.0, 3.0}
    loss, _ = policy_gradient_loss(model, (xt[:8], yt[:8]))
    loss.backward()
    with pytest.raises(ValueError, match="needs labelled batches"):
        policy_gradient_loss(model, xt[:8])
    # labelled data train through train_policy_vae; validation uses the images
    h = train_policy_vae(model, (x[:256], y[:256]), (xt[:64], yt[:64]), epochs=2, progress=False)
    assert len(h) == 2 and math.isfinite(h.best_value)


@pytest.mark.slow
def test_straight_through_is_biased_and_the_score_function_is_not() -> None:
    model = _model("straight_through", binary=True, small=True)
    x = _x(32)
    configs = {"straight_through": estimator_config("straight_through"), "none": estimator_config("none")}
    stats, ref = probe_estimators(model, x, configs, n_draws=300, reference=estimator_config("loo"),
                                  n_reference=1000, generator=torch.Generator().manual_seed(0), progress=False)
    assert ref.proj_mean.shape == (2,)
    st, none = compare_gradients(stats["straight_through"], ref), compare_gradients(stats["none"], ref)
    assert st.error_ratio > 5, st  # biased: ~20 here, every seed tried
    assert none.error_ratio < 3 and (none.z_scores.abs() < 4).all(), none
    assert stats["straight_through"].trace_variance < stats["none"].trace_variance / 100


def test_fit_learned_baseline_approaches_the_reward() -> None:
    model = _model("learned", small=True)
    x = _x(256)
    with torch.no_grad():
        r = policy_gradient_loss(model, x)[1]["elbo"]
    h = fit_learned_baseline(model, x, config=TrainConfig(epochs=20, lr=1e-2), progress=False)
    assert h["loss"][-1] < h["loss"][0] and abs(model.baseline(x).mean().item() - float(r)) < 2.0
    with pytest.raises(ValueError, match="no learned baseline"):
        fit_learned_baseline(_model("ema"), x)


def test_plots_take_an_axis() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from rlvae_tutorial.rlvae.plots import validation_curves, variance_bars

    _, ax = plt.subplots()
    assert variance_bars(["a", "b"], [1.0, 100.0], [4.0, 100.0], ax=ax, reference=2.0) is ax
    assert ax.get_yscale() == "log"
    with pytest.raises(ValueError, match="same length"):
        variance_bars(["a"], [1.0, 2.0], [1.0], ax=ax)
    x, y = load_digits("train", binarize=True)
    (xt, _), (xv, _) = split_validation(x[:300], y[:300], seed=0)
    h = train_policy_vae(_model("reparam", small=True), xt, xv, epochs=2, progress=False)
    _, ax = plt.subplots()
    assert validation_curves({"reparam": h}, ax=ax, ylim=(-60, 0)) is ax and len(ax.lines) == 2
    plt.close("all")


def test_train_estimators_share_initial_weights_and_budget() -> None:
    x, y = load_digits("train", binarize=True)
    (xt, _), (xv, _) = split_validation(x[:300], y[:300], seed=0)

    def small() -> VAE:
        return VAE(VAEConfig(hidden=(32,)))

    budget = 3 * epoch_flops(PolicyVAE(small(), estimator_config("reparam")), xt, 128)
    runs = train_estimators(small, ["reparam", "loo"], xt, xv, xv, flops=budget, seed=3, progress=False)
    assert len(runs["reparam"].history) == 3 and len(runs["loo"].history) == 1  # K = 4 costs ~2.5x
    assert set(runs["loo"].test) == {"elbo", "recon", "kl"} and runs["loo"].cpu_per_epoch > 0
    assert runs["loo"].model.config.name == "score+loo (K=4)"


def test_loss_value_and_surrogate_are_kept_apart() -> None:
    """loss_and_surrogate: the value is -mean reward (no gradient), the surrogate carries the
    gradient; policy_gradient_loss hands both to train as one tensor with the same value and gradient."""
    x = _x()
    for name in ("loo", "learned", "reparam"):
        torch.manual_seed(0)
        model = _model(name)
        loss, surrogate, metrics = loss_and_surrogate(model, x)
        assert not loss.requires_grad and surrogate.requires_grad
        assert float(loss) == -float(metrics["reward"])
        grads = torch.autograd.grad(surrogate, list(model.vae.encoder.parameters()))
        torch.manual_seed(0)
        model = _model(name)
        joined, _ = policy_gradient_loss(model, x)
        assert float(joined.detach()) == float(loss)
        for g, h in zip(grads, torch.autograd.grad(joined, list(model.vae.encoder.parameters())), strict=True):
            assert torch.allclose(g, h)
