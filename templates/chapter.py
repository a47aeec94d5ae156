# notebook meta={"rlvae": {"budget_full_s": 120, "budget_quick_s": 30}}
# %% [markdown]
# # Chapter title: what the reader learns
#
# One paragraph: the question this chapter answers and why it matters for the book. Then what the
# reader will be able to do:
#
# - derive / implement / measure ...;
# - recognise ...
#
# **Prerequisites:** {doc}`getting_started` (name the chapters and ideas this one builds on).
# **Run time:** measured by every book build and listed, with this chapter's budget, in {doc}`runtimes`.

# %% tags=["remove-cell"]
# On Google Colab, install the book's package first (no effect anywhere else).
import sys

if "google.colab" in sys.modules:
    %pip install -q "rlvae-tutorial @ git+https://github.com/rlvae-tutorial/rlvae-tutorial"

# %% tags=["parameters"]
seed = 0
quick = None
device = None

# %%
import torch
from myst_nb import glue

from rlvae_tutorial import setup
from rlvae_tutorial.data import load_digits

S = setup(seed=seed, quick=quick, device=device)
x_train, y_train = load_digits("train", device=S.device)
print(f"device={S.device}, quick={S.quick}, seed={S.seed}")

# %% [markdown]
# ## The idea
#
# Explain the idea with its mathematics (MyST: `$...$`, and labelled displays such as
#
# $$
# \bar x = \frac1B \sum_{b=1}^{B} x_b,
# $$ (eq-template-mean)
#
# referred to as {eq}`eq-template-mean`), using the symbols of {doc}`notation`; cite the sources
# with {cite}`kingma2014auto` (keys from `references.bib`). The code that does the work lives in
# the package (`rlvae_tutorial/<concept>.py`); a cell here calls it, in a few lines.

# %%
n = S.pick(256, 1024)  # quick mode shrinks the work, never skips the point
mean_pixel = x_train[:n].mean().item()
print(f"mean pixel intensity over {n} training images: {mean_pixel:.3f}")
glue("mean_pixel", mean_pixel, display=False)

# %% [markdown]
# ### The claim
#
# State the claim in words, with the bar it must clear: **the mean intensity is below one half**.
# Numbers in the prose come from the run, glued: on this run it is {glue:text}`mean_pixel:.3f`.
# The next cell checks the claim, for any seed (sweep seeds before you set a margin).

# %% tags=["hide-input"]
assert 0.0 < mean_pixel < 0.5, f"the digits should be mostly background, got a mean of {mean_pixel:.3f}"

# %% tags=["remove-cell"]
# Bookkeeping only (no assert here): a number that a later chapter quotes.
from rlvae_tutorial.results import record_result

record_result("template", "mean_pixel", mean_pixel, S=S, description="mean pixel intensity of the training digits")

# %% [markdown]
# ## Summary
#
# - One line per idea the reader should keep.
#
# ## Exercises
#
# **1. The mean image.** Write `my_mean_image(x)` mapping images `(N, d_x)` to their mean image,
# shape `(d_x,)`.

# %% tags=["hide-input"] meta={"nbgrader": {"grade": false, "grade_id": "template-mean_image-solution", "locked": false, "schema_version": 3, "solution": true, "task": false}}
def my_mean_image(x: torch.Tensor) -> torch.Tensor:
    """Images (N, d_x) -> their mean image (d_x,)."""
    ### BEGIN SOLUTION
    return x.mean(dim=0)
    ### END SOLUTION

# %% meta={"nbgrader": {"grade": true, "grade_id": "template-mean_image-test", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}}
# In a chapter: from rlvae_tutorial.exercises.<chapter> import check_mean_image; check_mean_image(my_mean_image)
assert torch.allclose(my_mean_image(x_train), x_train.mean(dim=0))

# %% [markdown]
# ## References
#
# The works cited in this chapter are listed, with the book's other references, on the
# {doc}`references` page.
