from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

from rlvae_tutorial.train import History  # noqa: E402
from rlvae_tutorial.vae.plots import (  # noqa: E402
    grad_histograms,
    kl_per_dim_bars,
    latent_scatter,
    plot_history,
    rate_distortion,
)


def test_every_plot_returns_its_axes() -> None:
    h = History(records=[{"epoch": 1.0, "loss": 3.0}, {"epoch": 2.0, "loss": 2.0, "val_loss": 2.5}], best_epoch=2)
    _, ax = plt.subplots()
    assert plot_history(h, ["loss", "val_loss"], ax=ax, sign=-1) is ax
    assert len(ax.lines) == 3  # two curves and the best-epoch marker
    assert list(ax.lines[1].get_xdata()) == [2.0]  # NaN epochs are skipped
    assert latent_scatter(torch.randn(30, 2), torch.arange(30) % 10).collections
    ax = rate_distortion([5.0, 3.0], [10.0, 12.0], [1.0, 2.0])
    assert [t.get_text() for t in ax.texts] == ["β=1", "β=2"]
    ax = kl_per_dim_bars({"a": torch.rand(4), "b": torch.rand(4)}, threshold=0.1)
    assert len(ax.patches) == 8
    assert grad_histograms({"a": torch.randn(100), "b": torch.randn(100)}).patches
    plt.close("all")
