# %% [markdown]
# # 07 - Ng's classic sparse autoencoder: filters that look like pen strokes
#
# Andrew Ng's UFLDL exercise trains on 10000 MNIST digits a network with 196 sigmoid hidden units
# and the objective
#
#     J = (1 / 2m) sum_i ||x^_i - x_i||^2                  (sse)
#       + (lambda / 2) (||W1||^2 + ||W2||^2)               (weight decay, lambda = 3e-3)
#       + beta sum_j KL(rho || rho^_j)                      (sparsity, rho = 0.1, beta = 3)
#
# Each hidden unit j then becomes a detector of one stroke. Its filter, column j of W1, is the
# input pattern that excites it most: among inputs of a fixed length, Z1_j = x . W1[:, j] + b1_j
# is largest for x proportional to W1[:, j]. We draw all 196 as 28 x 28 tiles, then change rho and
# beta to see what they do.
#
# Run:  python tutorials/07_ufldl_filters.py [FIGURE_FOLDER] [--full]

# %%
import matplotlib.pyplot as plt
import numpy as np
from _common import FULL, save

from npsae import plotting, presets
from npsae.datasets import as_float, load_mnist
from npsae.model import SparseAutoencoder
from npsae.optim import Adam
from npsae.training import fit

images, _ = load_mnist("train")
X = as_float(images[:10000])  # UFLDL's 10000 training digits
print("X:", X.shape)

# %%
# The settings, as SparseAutoencoder arguments; `npsae train --preset ufldl` starts from the
# same ones (npsae.presets). init="ufldl" draws the weights uniform in [-r, r] with
# r = sqrt(6 / (n_in + n_hidden + 1)).
ufldl = presets.get("ufldl").model
print("ufldl preset:", ufldl)

# %% [markdown]
# ## Training, and the filters as they form
#
# UFLDL minimised J over the whole batch with L-BFGS. We use Adam on mini-batches of 256; a
# learning rate of 0.01 (the preset uses 0.003 for its longer runs) gets the strokes to appear
# within a quick run. A callback keeps a copy of the model after some epochs.

# %%
epochs = 60 if FULL else 15
sweep_epochs = 40 if FULL else 10  # for the comparison below
keep = sorted({1, 5, sweep_epochs, epochs})


class KeepCopies:
    """Called by fit after each epoch: keep a copy of the model at the epochs in ``keep``."""

    def __init__(self):
        self.models = {}

    def on_epoch_end(self, epoch, row, model):
        if epoch in keep:
            self.models[epoch] = model.copy()


model = SparseAutoencoder(784, **ufldl, seed=0)
snapshots = KeepCopies()
history = fit(model, X, epochs=epochs, optimizer=Adam(lr=1e-2), callbacks=[snapshots], verbose=0)
last = history.rows[-1]
print(f"after {epochs} epochs: J = {last['loss']:.3f} = sse {last['recon']:.3f} + sparsity "
      f"{last['sparsity']:.3f} + decay {last['decay']:.3f}")  # fmt: skip
rho_hat = model.encode(X).mean(axis=0)
print(f"mean activations rho^: mean {rho_hat.mean():.3f} (target 0.1), "
      f"range [{rho_hat.min():.3f}, {rho_hat.max():.3f}]")  # fmt: skip

# %%
# All 196 filters. Gray is a zero weight, white positive, black negative: a unit fires when the
# pen passes over its white stroke and not over the black flanks beside it.
fig = plotting.filters(model.params["W1"], title=f"The 196 filters (columns of W1), epoch {epochs}")
save(fig, "07_filters.png")

# %%
# The same first 36 filters at several epochs: from the random start (noise) to strokes. The noise
# fades slowly: weight decay and the data pull each weight towards a smooth pattern.
fig, axes = plt.subplots(1, len(keep), figsize=(3.3 * len(keep), 3.8), layout="constrained")
for ax, epoch in zip(axes, keep, strict=True):
    plotting.filters(snapshots.models[epoch].params["W1"][:, :36], ax=ax, title=f"epoch {epoch}")
fig.suptitle("First 36 filters during training")
save(fig, "07_filters_by_epoch.png")

# %% [markdown]
# ## What rho and beta do
#
# rho is how often each unit should fire, beta how hard that is enforced. Three variations of
# the classic (rho = 0.1, beta = 3), each trained the same way from the same start for as many
# epochs as the classic's copy it is compared with:
#
# * beta = 0: no sparsity at all. Units fire about half the time and every filter mixes many
#   strokes: a dense code spreads each digit over all units.
# * rho = 0.02: each unit should fire on 1 image in 50. Fewer updates reach each unit, so its
#   filter forms more slowly (still noisy after the quick run). Given time (--full) the filters
#   become templates of whole digits: with about two units active per image, each must stand for
#   a whole digit rather than a stroke.
# * rho = 0.3: a denser code; filters look more like parts of whole digits again.

# %%
variants = {
    "beta = 0 (no sparsity)": dict(ufldl, beta=0.0),
    "rho = 0.02, beta = 3": dict(ufldl, rho=0.02),
    "rho = 0.3, beta = 3": dict(ufldl, rho=0.3),
}
results = {"classic: rho = 0.1, beta = 3": snapshots.models[sweep_epochs]}
for label, settings in variants.items():
    m = SparseAutoencoder(784, **settings, seed=0)
    fit(m, X, epochs=sweep_epochs, optimizer=Adam(lr=1e-2), verbose=0)
    results[label] = m
print(f"after {sweep_epochs} epochs each:")
for label, m in results.items():
    H = m.encode(X)
    sse = np.sum((m.decode(H) - X) ** 2) / (2 * len(X))
    print(f"{label:<30} mean rho^ {H.mean():.3f}   units > 0.5 per image "
          f"{np.mean(np.sum(H > 0.5, axis=1)):5.1f}   sse {sse:.2f}")  # fmt: skip

# %%
fig, axes = plt.subplots(1, len(results), figsize=(4.2 * len(results), 4.6), layout="constrained")
for ax, (label, m) in zip(axes, results.items(), strict=True):
    plotting.filters(m.params["W1"][:, :36], ax=ax, title=label)
fig.suptitle(f"The first 36 filters under four sparsity settings, after {sweep_epochs} epochs")
save(fig, "07_rho_beta_sweep.png")
