# %% [markdown]
# # 07 - Ng's classic sparse autoencoder: filters that look like pen strokes
#
# Andrew Ng's sparse autoencoder exercise (Ng 2011) trains a network with 196 sigmoid hidden units
# on MNIST digits, with the objective
#
# $$J = \underbrace{\frac{1}{2m} \sum_{i=1}^{m} \lVert \hat x_i - x_i \rVert^2}_{\text{sse}}
#   + \underbrace{\frac{\lambda}{2} \left(\lVert W_1 \rVert^2 + \lVert W_2 \rVert^2\right)}_{
#     \text{weight decay, } \lambda = 0.003}
#   + \underbrace{\beta \sum_j \mathrm{KL}(\rho \,\Vert\, \hat\rho_j)}_{
#     \text{sparsity, } \rho = 0.1,\ \beta = 3}$$
#
# Each hidden unit $j$ then becomes a detector of one pen stroke. Its filter, column $j$ of
# $W_1$ (`W1[:, j]`), is the input pattern that excites it most: among inputs $x$ of a fixed
# length, $Z_{1,j} = x \cdot W_{1,:j} + b_{1,j}$ is largest for $x$ proportional to $W_{1,:j}$.
# We draw all 196 as $28 \times 28$ tiles, then change $\rho$ and $\beta$ to see what they do.
#
# **What the quick run shows, and what it cannot.** Strokes take several thousand Adam steps to
# form, and clean ones take steps on large batches. The quick run (all 60000 training digits, 6
# epochs of mini-batches of 64: about 5600 steps) shows them forming: many filters are already one
# stroke or one arc, others are still blurred parts of whole digits, and most carry some speckle.
# The `--full` run (30 epochs of batches of 256, a few minutes) gives clean strokes; its figures are
# shown below, beside the quick run's.
#
# As a script: `python 07_ufldl_filters.py [FIGURE_FOLDER] [--full]`

# %%
import matplotlib.pyplot as plt
import numpy as np
from _common import FULL, SEED, save, say

from npsae import plotting, presets
from npsae.datasets import as_float, load_mnist
from npsae.model import SparseAutoencoder
from npsae.optim import Adam
from npsae.training import fit

images, _ = load_mnist("train")
X = as_float(images)  # all 60000 training digits (UFLDL used 10000, and many more passes)
print("X:", X.shape)

# %% [markdown]
# The settings, as `SparseAutoencoder` arguments; `npsae train --preset ufldl` starts from the
# same ones (`npsae.presets`). `init="ufldl"` draws the weights uniform in $[-r, r]$ with
# $r = \sqrt{6 / (n_\text{in} + n_\text{hidden} + 1)}$, the exercise's variant of Glorot and
# Bengio's initialisation (Glorot & Bengio 2010). Every model below starts from the same weights,
# drawn from the tutorial's seed (`SEED`), and sees the digits in the same order.

# %%
ufldl = presets.get("ufldl").model
print("ufldl preset:", ufldl)

# %% [markdown]
# ## Training, and the filters as they form
#
# UFLDL minimised $J$ over the whole batch with L-BFGS. We use Adam (Kingma & Ba 2015) with a
# learning rate of 0.01 (the preset uses 0.003 for its longer runs) on mini-batches of 64 in the
# quick run: small batches give many steps per pass over the data, and the strokes need many steps.
# The full run uses batches of 256: fewer steps per pass, but each less noisy. A callback keeps a
# copy of the model after some epochs.

# %%
epochs = 30 if FULL else 6
sweep_epochs = 15 if FULL else 2  # for the comparison below
# Small batches make many steps per pass, fast; the full run affords larger, less noisy ones.
batch_size, lr = (256 if FULL else 64), 1e-2
keep = sorted({1, sweep_epochs, epochs // 2, epochs})


class KeepCopies:
    """Called by fit after each epoch: keep a copy of the model at the epochs in ``keep``."""

    def __init__(self):
        self.models = {}

    def on_epoch_end(self, epoch, row, model):
        if epoch in keep:
            self.models[epoch] = model.copy()


model = SparseAutoencoder(784, **ufldl, seed=SEED)
snapshots = KeepCopies()
history = fit(model, X, epochs=epochs, batch_size=batch_size, optimizer=Adam(lr=lr),
              callbacks=[snapshots], verbose=0, seed=SEED)  # fmt: skip
last = history.rows[-1]
print(f"after {epochs} epochs: J = {last['loss']:.3f} = sse {last['recon']:.3f} + sparsity "
      f"{last['sparsity']:.3f} + decay {last['decay']:.3f}")  # fmt: skip
rho_hat = model.encode(X).mean(axis=0)
print(f"mean activations rho_hat: mean {rho_hat.mean():.3f} (target 0.1), "
      f"range [{rho_hat.min():.3f}, {rho_hat.max():.3f}]")  # fmt: skip
say(f"The penalty holds the units near their target: their mean activations $\\hat\\rho_j$ "
    f"average {rho_hat.mean():.3f} for $\\rho = 0.1$.")  # fmt: skip

# %% [markdown]
# All 196 filters. Grey is a zero weight, white positive, black negative: a unit fires when the
# pen passes over its white stroke and not over the black flanks beside it.

# %%
fig = plotting.filters(model.params["W1"], title=f"The 196 filters (columns of W1), epoch {epochs}")
save(fig, "07_filters.png")

# %% [markdown]
# The same filters after the `--full` run (30 epochs of batches of 256), saved when this tutorial
# was written (`full_run/` beside the notebook; `tools/full_run_figures.py` in npsae's repository
# remakes it). Most are now a single stroke, an arc or a short bar with dark flanks; the speckle
# is gone.
#
# ![The 196 filters after the full run](full_run/07_filters.png)

# %% [markdown]
# The first 36 filters at several epochs: from the random start (noise) to strokes. The noise
# fades slowly: weight decay and the data pull each weight towards a smooth pattern.

# %%
fig, axes = plt.subplots(1, len(keep), figsize=(3.3 * len(keep), 3.8), layout="constrained")
for ax, epoch in zip(axes, keep, strict=True):
    plotting.filters(snapshots.models[epoch].params["W1"][:, :36], ax=ax, title=f"epoch {epoch}")
fig.suptitle("First 36 filters during training")
save(fig, "07_filters_by_epoch.png")

# %% [markdown]
# ## What $\rho$ and $\beta$ do
#
# $\rho$ is how often each unit should fire, $\beta$ how hard that is enforced. Three variations
# of the classic ($\rho = 0.1$, $\beta = 3$), each trained the same way from the same start for
# as many epochs as the classic's copy it is compared with:
#
# * $\beta = 0$: no sparsity at all. Nothing asks a unit to stand for a stroke: a dense code
#   spreads each digit over all units. In the full run many filters are a single dot (a unit that
#   copies one pixel) and the others tangles of many strokes.
# * $\rho = 0.02$: each unit should fire on 1 image in 50, so only a few units are on per image
#   and each must stand for much of a digit: in the full run the filters become templates of
#   whole digits (ones, zeros, sixes) on a dark surround.
# * $\rho = 0.3$: a denser code; in the full run the filters are tangles of several stroke
#   fragments, some dots.
#
# How dense each code is can be measured on the quick run: each unit's mean activation
# $\hat\rho_j$, and how many units are above 0.5 on an image. The filters' shapes need the
# pictures, and the quick run trains each for only 2 epochs: too few for the dots and the
# whole-digit templates to form. The `--full` figure below the quick one shows the same
# comparison after 15 epochs.

# %%
variants = {
    "beta = 0 (no sparsity)": dict(ufldl, beta=0.0),
    "rho = 0.02, beta = 3": dict(ufldl, rho=0.02),
    "rho = 0.3, beta = 3": dict(ufldl, rho=0.3),
}
results = {"classic: rho = 0.1, beta = 3": snapshots.models[sweep_epochs]}
for label, settings in variants.items():
    m = SparseAutoencoder(784, **settings, seed=SEED)
    fit(m, X, epochs=sweep_epochs, batch_size=batch_size, optimizer=Adam(lr=lr), verbose=0,
        seed=SEED)  # fmt: skip
    results[label] = m
print(f"after {sweep_epochs} epochs each:")
sample = X[:10000]
stats = {}
for label, m in results.items():
    H = m.encode(sample)
    stats[label] = {
        "rho_hat": H.mean(),
        "on": np.mean(np.sum(H > 0.5, axis=1)),  # units above 0.5, per image
        "sse": np.sum((m.decode(H) - sample) ** 2) / (2 * len(sample)),
    }
    print(f"{label:<30} mean rho_hat {stats[label]['rho_hat']:.3f}   units > 0.5 per image "
          f"{stats[label]['on']:5.1f}   sse {stats[label]['sse']:.2f}")  # fmt: skip
classic, dense, rare, denser = (stats[label] for label in results)
say(f"After {sweep_epochs} epochs: without sparsity ($\\beta = 0$) the units' mean activation is "
    f"{dense['rho_hat']:.2f} and {dense['on']:.0f} of the 196 units are above 0.5 on an image, "
    f"against {classic['rho_hat']:.2f} and {classic['on']:.0f} for the classic. With "
    f"$\\rho = 0.02$ only {rare['on']:.1f} units are above 0.5 per image (mean activation "
    f"{rare['rho_hat']:.3f}); with $\\rho = 0.3$, {denser['on']:.0f} (mean "
    f"{denser['rho_hat']:.2f}).")  # fmt: skip

# %%
fig, axes = plt.subplots(1, len(results), figsize=(4.2 * len(results), 4.6), layout="constrained")
for ax, (label, m) in zip(axes, results.items(), strict=True):
    plotting.filters(m.params["W1"][:, :36], ax=ax, title=label)
fig.suptitle(f"The first 36 filters under four sparsity settings, after {sweep_epochs} epochs")
save(fig, "07_rho_beta_sweep.png")

# %%
# The claims of the text above, checked on this run.
assert 0.05 < classic["rho_hat"] < 0.2 and 0.05 < rho_hat.mean() < 0.2  # near the target 0.1
assert dense["rho_hat"] > 0.3 and dense["on"] > 5 * classic["on"]  # beta = 0: a dense code
assert rare["rho_hat"] < classic["rho_hat"] and rare["on"] < min(5, classic["on"])  # a few on
assert classic["rho_hat"] < denser["rho_hat"] < dense["rho_hat"]  # rho = 0.3: denser
assert classic["on"] < denser["on"] < dense["on"]

# %% [markdown]
# The same comparison after the `--full` run (15 epochs each):
#
# ![The four settings after the full run](full_run/07_rho_beta_sweep.png)
#
# ## Try it yourself
#
# 1. Before running it, predict what the filters look like with $\rho = 0.1$ but $\beta = 30$,
#    and what happens to the sse. Train it for the quick run's epochs and compare.
# 2. Set `weight_decay=0` in the classic settings (`dict(ufldl, weight_decay=0.0)`). Predict
#    whether the filters become smoother or noisier, then look.
# 3. Train the classic model on 10000 digits with batches of 256 for 6 epochs. How many Adam
#    steps is that, compared with the quick run? Predict whether strokes appear, then check.

# %% [markdown]
# ## References
#
# - [Ng 2011] Andrew Ng. "Sparse autoencoder." CS294A Lecture notes, Stanford University, 2011.
# - [Glorot & Bengio 2010] Xavier Glorot, Yoshua Bengio. "Understanding the difficulty of training
#   deep feedforward neural networks." AISTATS 2010.
# - [Kingma & Ba 2015] Diederik P. Kingma, Jimmy Ba. "Adam: A Method for Stochastic Optimization."
#   ICLR 2015. arXiv:1412.6980.
