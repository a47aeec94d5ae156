"""The book's figure style (rlvae_tutorial.style): every plotting function of the package, drawn
on small fake data at the size its chapter uses, keeps the rules: text no smaller than
MIN_FONT_PX once fitted to the page's column, legends off the data, a cue besides colour, axis
labels in words, and a PNG at twice the display resolution.  The built pages' figures (drawn from
the chapters' real data) are checked the same way in tests/test_browser.py.
"""

from __future__ import annotations

import io
import json

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402

from rlvae_tutorial import style  # noqa: E402
from rlvae_tutorial.envs.gridworld import GridWorldEnv  # noqa: E402
from rlvae_tutorial.guidance.figures import plot_tradeoff  # noqa: E402
from rlvae_tutorial.latents.experiment import RunSummary  # noqa: E402
from rlvae_tutorial.latents.plots import plot_learning_curves  # noqa: E402
from rlvae_tutorial.plots import image_grid, image_panels  # noqa: E402
from rlvae_tutorial.rl import plots as rl_plots  # noqa: E402
from rlvae_tutorial.rlvae.plots import validation_curves  # noqa: E402
from rlvae_tutorial.rlvae.plots import variance_bars as rlvae_variance_bars  # noqa: E402
from rlvae_tutorial.train import History  # noqa: E402
from rlvae_tutorial.vae import plots as vae_plots  # noqa: E402

RNG = np.random.default_rng(0)


@pytest.fixture(autouse=True)
def book_style():
    with matplotlib.rc_context():
        style.use_book_style()
        yield
    plt.close("all")


def _history(n: int = 30) -> History:
    records = [{"epoch": float(e), "elbo": -30 + e / 3, "val_elbo": -31 + e / 4, "flops": 1e9 * e} for e in range(1, n + 1)]
    return History(records=records, best_epoch=n - 3, best_value=31 - n / 4)


def _curves(label_count: int = 2) -> dict:
    return {f"method {i}": [(np.arange(0, 1000, 10), RNG.normal(i, 1, 100).cumsum()) for _ in range(3)]
            for i in range(label_count)}


def _gridworld() -> plt.Figure:
    env = GridWorldEnv()
    fig, axes = plt.subplots(1, 2, figsize=(7, 3.4))
    values = RNG.uniform(0, 1, env.n_states)
    rl_plots.gridworld_values(env, values, axes[0], actions=RNG.integers(0, 4, env.n_states), title="no slipping")
    rl_plots.gridworld_values(env, values, axes[1], title="slip = 0.1", vmin=0, vmax=1)
    return fig


def _gridworld_frames() -> plt.Figure:
    env = GridWorldEnv(cell_px=4)
    fig, axes = plt.subplots(1, 3, figsize=(6, 2.2))
    for ax, cell in zip(axes, [0, 12, 23], strict=True):
        ax.imshow(env.draw(cell), interpolation="nearest")
        rl_plots.label_goal_and_pit(env, ax, cell_px=4)
        ax.set_axis_off()
        ax.set_title(f"agent in cell {cell}", fontsize=9)
    return fig


def _latent_map() -> plt.Figure:
    fig, axes = plt.subplots(1, 2, figsize=(9, 4))
    vae_plots.latent_scatter(torch.randn(200, 2), torch.arange(200) % 10, ax=axes[0])
    image_grid(torch.rand(225, 8, 8), ax=axes[1], nrow=15, title="decoded grid")
    return fig


def _latents_runs() -> dict:
    steps = np.arange(0, 5000, 500)

    def run(rep: str, seed: int, level: float) -> RunSummary:
        returns = np.clip(level * np.linspace(0, 1, len(steps)) + RNG.normal(0, 0.2, len(steps)), -1, 1)
        return RunSummary(rep, seed, steps + seed, returns, 1000.0, 0.5, 1.0)

    return {rep: [run(rep, s, level) for s in range(4)] for rep, level in
            (("pixels", 0.5), ("latents", 0.9), ("state", 1.0))}


def _tradeoff() -> plt.Figure:
    fig, axes = plt.subplots(1, 2, figsize=(7.5, 3.4))
    labels = [f"λ={lam:g}" for lam in (0.01, 0.1, 1.0)]
    plot_tradeoff([1.0, 2.0, 3.0], [0.9, 0.6, 0.3], labels, ax=axes[0], reference=(4.0, 0.1),
                  xlabel="mean pairwise distance", ylabel="target rate (judge)")
    plot_tradeoff([5, 20, 40], [0.9, 0.6, 0.3], labels, ax=axes[1], reference=(60, 0.1),
                  xlabel="distinct nearest training images", ylabel="target rate (judge)")
    fig.tight_layout()
    return fig


# One entry per figure-drawing function of the package, at the size its chapter draws it.
FIGURES = {
    "image_grid (getting_started)": lambda: image_grid(torch.rand(40, 64), nrow=10).figure,
    "image_panels (app_images)": lambda: image_panels([(f"λ={lam}", torch.rand(16, 64)) for lam in
                                                       ("prior", 0.01, 0.03, 0.1, 0.3, 1.0, 3.0)]),
    "gridworld_values (rl_mdps)": _gridworld,
    "gridworld frames (rl_mdps, rl_latents)": _gridworld_frames,
    "learning_curves (rl chapters)": lambda: rl_plots.learning_curves(_curves(3), target=0.5).figure,
    "variance_bars (rl_policy_gradients)": lambda: rl_plots.variance_bars(
        {"no baseline": 10.0, "moving average": 2.0, "value baseline": 1.0}).figure,
    "plot_history (vae_elbo)": lambda: vae_plots.plot_history(
        _history(), ["elbo", "val_elbo"], labels=["train", "validation"], ylabel="ELBO [nats / image]").figure,
    "latent_scatter (vae_elbo)": _latent_map,
    "rate_distortion (vae_beta)": lambda: vae_plots.rate_distortion([5, 10, 20], [30, 20, 15], [4, 1, 0.25]).figure,
    "kl_per_dim_bars (vae_beta)": lambda: vae_plots.kl_per_dim_bars(
        {"β = 1": torch.rand(8), "β = 8": torch.rand(8) / 10, "β = 8, free bits": torch.rand(8)}, threshold=0.05).figure,
    "grad_histograms (vae_elbo)": lambda: vae_plots.grad_histograms(
        {"reparameterised": 2 + torch.randn(2000), "score function": 2 + 3 * torch.randn(2000)}).figure,
    "plot_learning_curves (rl_latents)": lambda: plot_learning_curves(_latents_runs(), threshold=0.8).figure,
    "variance_bars (rlvae_policy_gradient)": lambda: rlvae_variance_bars(
        ["reparam", "none", "ema", "learned", "loo"], [1.0, 1e4, 10.0, 8.0, 5.0], [4.0, 4e4, 40, 32, 20],
        reference=1.0).figure,
    "validation_curves (rlvae chapters)": lambda: validation_curves(
        {name: _history() for name in ("reparam", "none", "ema", "learned", "loo")}, ylim=(-30, -16)).figure,
    "plot_tradeoff (app_images)": _tradeoff,
}


@pytest.mark.parametrize("name", list(FIGURES))
def test_figure_keeps_the_book_style(name: str) -> None:
    fig = FIGURES[name]()
    assert style.check_figure(fig) == [], name


@pytest.mark.parametrize("name", ["plot_history (vae_elbo)", "plot_learning_curves (rl_latents)"])
def test_png_is_twice_the_display_size_and_carries_its_report(name: str) -> None:
    data, size = style.render_png(FIGURES[name]())
    with Image.open(io.BytesIO(data)) as image:
        assert abs(image.size[0] - style.SCALE * size["width"]) <= 1  # an odd width rounds down
        assert abs(image.size[1] - style.SCALE * size["height"]) <= 1
        report = json.loads(image.info[style.FIGURE_CHUNK])
        assert round(image.info["dpi"][0]) == style.SCALE * style.DISPLAY_DPI == report["dpi"]
    assert report["width_px"] == pytest.approx(size["width"], abs=1)
    assert style.displayed_px(report["min_font_pt"], report["width_px"]) >= style.MIN_FONT_PX


def test_lines_use_the_palette_with_a_second_cue() -> None:
    ax = validation_curves({name: _history() for name in ("a", "b", "c", "d")})
    curves = [line for line in ax.get_lines() if len(line.get_xdata()) > 1]
    assert {matplotlib.colors.to_hex(line.get_color()).upper() for line in curves} <= set(style.OKABE_ITO)
    assert len({style._cue(line) for line in curves}) == len(curves)


def test_latent_band_stays_within_the_seeds_range() -> None:
    """A return bounded by 1: the mean +- s.d. band is clipped to what the seeds reached."""
    steps = np.arange(5)
    runs = {"state": [RunSummary("state", s, steps, np.array([1.0, 1.0, 1.0, 1.0, r]), 0, 0, 0)
                      for s, r in enumerate((1.0, 0.0, 1.0))]}
    ax = plot_learning_curves(runs)
    highest = max(path.vertices[:, 1].max() for coll in ax.collections for path in coll.get_paths())
    assert highest <= 1.0


def test_check_figure_catches_what_breaks_the_style() -> None:
    fig, ax = plt.subplots(figsize=(14, 3))  # twice the column: its text is shown at half size
    for i in range(2):
        ax.plot(np.arange(100), np.arange(100) * (i + 1), color=style.OKABE_ITO[i], ls="-", label=f"run {i}")
    ax.set_xlabel("val_elbo")
    ax.legend(loc="center")  # on top of the second line
    ax.text(50, 50, "tiny", fontsize=6)
    problems = "\n".join(style.check_figure(fig))
    for expected in ("text of", "'tiny'", "legend over the data", "colour only", "variable name"):
        assert expected in problems, f"missed {expected!r} in:\n{problems}"


def test_use_book_style_sets_the_palette_and_resolution() -> None:
    assert plt.rcParams["savefig.dpi"] == style.SCALE * plt.rcParams["figure.dpi"]
    colours = [c["color"] for c in plt.rcParams["axes.prop_cycle"]]
    assert [c.upper() for c in colours] == list(style.OKABE_ITO)
