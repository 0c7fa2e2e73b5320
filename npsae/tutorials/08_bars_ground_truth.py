# %% [markdown]
# # 08 - Ground truth: does the autoencoder find the features the data was made of?
#
# On MNIST nobody knows the "true" features. The bars problem (Foldiak, 1990) is built so that we
# do: each $8 \times 8$ image lights up a few of 16 possible bars (8 rows, 8 columns) chosen at
# random. A good sparse code should spend one hidden unit per bar, and its decoder row $W_{2,j}$
# (`W2[j]`), the pattern unit $j$ adds to the reconstruction, should become that bar.
#
# We measure it with cosine similarities between the true bars $f_k$ (`bars[k]`) and the decoder
# rows, and their mean over the bars of the best match, the mean max cosine similarity:
#
# $$\cos(f_k, W_{2,j}) = \frac{f_k \cdot W_{2,j}}{\lVert f_k \rVert\, \lVert W_{2,j} \rVert},
#   \qquad
#   \mathrm{MMCS} = \frac{1}{16} \sum_{k=1}^{16} \max_j \cos(f_k, W_{2,j})$$
#
# which is 1 exactly when every bar has a decoder row pointing its way.
#
# As a script: `python 08_bars_ground_truth.py [FIGURE_FOLDER] [--full]`

# %%
import matplotlib.pyplot as plt
import numpy as np
from _common import FULL, save

from npsae import metrics, plotting, presets
from npsae.datasets import make_bars
from npsae.model import SparseAutoencoder
from npsae.optim import Adam
from npsae.training import fit

n_samples = 50000 if FULL else 10000
X, bars = make_bars(n_samples, size=8, seed=0)
print(f"X {X.shape} (one 8 x 8 image per row), bars {bars.shape} (the 16 true features)")
print(f"bars per image: mean {np.mean([np.sum(bars @ x == 8) for x in X[:2000]]):.2f}, "
      f"fraction of lit pixels {X.mean():.3f}")  # fmt: skip


# %% [markdown]
# `plotting.filters` draws one tile per row (grey = 0, white = the tile's largest value). Its
# gaps between tiles are white too, which would blend with a bar along a tile's edge, so we
# recolour the gaps blue.


# %%
def tiles(W, ax, title):
    plotting.filters(W, shape=(8, 8), axis=0, ax=ax, title=title)
    ax.images[0].get_cmap().set_bad("tab:blue")


# The data and the answer we hope to find.
fig, (ax_data, ax_bars) = plt.subplots(1, 2, figsize=(10, 4.2), layout="constrained")
tiles(X[:36], ax_data, "36 training images")
tiles(bars, ax_bars, "the 16 true bars $f_k$")
save(fig, "08_bars_data.png")


# %% [markdown]
# The cosine similarities, with NumPy: normalise the rows, then one matrix product gives every
# pair, $C_{kj} = \cos(f_k, W_{2,j})$ (`C[k, j]`); the best unit for bar $k$ is
# $\arg\max_j C_{kj}$.


# %%
def cosine_matrix(F, W2):
    """C: (n_features, n_hidden), C[k, j] = cos(F[k], W2[j]); a zero row has cosine 0."""
    Fn = F / np.linalg.norm(F, axis=1, keepdims=True)
    norms = np.linalg.norm(W2, axis=1, keepdims=True)
    Wn = np.divide(W2, norms, out=np.zeros_like(W2, dtype=np.float64), where=norms > 0)
    return Fn @ Wn.T


def mmcs(F, W2):
    """Mean over the true features of the best cosine similarity with any decoder row."""
    return float(cosine_matrix(F, W2).max(axis=1).mean())


# npsae.metrics has the same measure; the two agree:
W_random = np.random.default_rng(1).normal(size=(16, 64))
print(f"ours {mmcs(bars, W_random):.6f}   npsae.metrics.mmcs {metrics.mmcs(bars, W_random):.6f}")
assert np.isclose(mmcs(bars, W_random), metrics.mmcs(bars, W_random))

# A sanity check: the bars themselves score 1, random rows score low.
rng = np.random.default_rng(0)
print(f"MMCS(bars, bars) = {mmcs(bars, bars):.3f};  MMCS(bars, random rows) = "
      f"{mmcs(bars, rng.normal(size=(16, 64))):.3f}")  # fmt: skip

# %% [markdown]
# ## The model
#
# 64 inputs $\to$ 16 ReLU units $\to$ 64 linear outputs,
#
# $$\hat x = \sum_j h_j W_{2,j} + b_2,$$
#
# each image rebuilt as a weighted sum of decoder rows. The penalty is L1 on the activations,
# $\frac{\beta}{m} \sum_{i,j} H_{ij}$, and every decoder row is kept at unit length
# (`unit_norm_decoder`): otherwise the model could shrink the codes and grow the rows to dodge the
# penalty for free.

# %%
epochs = 50 if FULL else 20
model = SparseAutoencoder(64, 16, hidden="relu", output="linear", recon="sse", sparsity="l1",
                          beta=0.05, unit_norm_decoder=True, seed=0)  # fmt: skip
print(model)


class Track:
    """Called by fit after each epoch: record MMCS, and keep W2 at some epochs."""

    def __init__(self, keep=()):
        self.keep = set(keep)
        self.mmcs = []
        self.W2 = {}

    def on_epoch_end(self, epoch, row, model):
        W2 = model.params["W2"]
        self.mmcs.append(mmcs(bars, W2))
        if epoch in self.keep:
            self.W2[epoch] = W2.copy()


keep = (1, 3, 10, epochs)
track = Track(keep)
track.W2[0] = model.params["W2"].copy()  # the random start
start = mmcs(bars, model.params["W2"])
fit(model, X, epochs=epochs, batch_size=64, optimizer=Adam(lr=3e-3), callbacks=[track], verbose=0)
print(f"MMCS: start {start:.3f}, " + ", ".join(f"epoch {e} {track.mmcs[e - 1]:.3f}" for e in keep))

# %% [markdown]
# Which unit found which bar, and how well: for every bar, the best unit and its cosine.

# %%
C = cosine_matrix(bars, model.params["W2"])
best = C.argmax(axis=1)
print("bar k:     ", " ".join(f"{k:4d}" for k in range(16)))
print("best unit: ", " ".join(f"{j:4d}" for j in best))
print("cosine:    ", " ".join(f"{c:4.2f}" for c in C.max(axis=1)))
print(f"distinct units used: {len(set(best))} of 16;  bars with a row of cosine > 0.9: "
      f"{metrics.features_recovered(bars, model.params['W2'], threshold=0.9)} of 16")  # fmt: skip

# %% [markdown]
# The decoder rows during training, each time reordered so that tile $k$ is the unit that best
# matches bar $k$ (at the end of training): random at first, then bars.

# %%
order = best
fig, axes = plt.subplots(1, len(track.W2), figsize=(3.0 * len(track.W2), 3.4), layout="constrained")
for ax, epoch in zip(axes, sorted(track.W2), strict=True):
    tiles(track.W2[epoch][order], ax, f"epoch {epoch}: MMCS {mmcs(bars, track.W2[epoch]):.2f}")
fig.suptitle("Decoder rows $W_{2,j}$ (tile k: the unit matched to bar k)")
save(fig, "08_decoder_rows.png")

# %% [markdown]
# ## Four ways to be sparse, one test
#
# The bars give every sparsity variant of npsae the same exam. `npsae.presets` holds one recipe
# per variant, each with 24 units, a linear output and sse:
#
# | variant | units | penalty |
# | --- | --- | --- |
# | KL | sigmoid | $\beta \sum_j \mathrm{KL}(\rho \,\Vert\, \hat\rho_j)$, $\rho = 0.1$ (Ng) |
# | L1 | ReLU | $\frac{\beta}{m} \sum_{i,j} H_{ij}$ |
# | TopK | ReLU | none: each image keeps its $k = 3$ largest activations |
# | L1-decoder | ReLU | $\frac{\beta}{m} \sum_{i,j} H_{ij} \lVert W_{2,j} \rVert$ |
#
# The last makes shrinking the codes and growing the decoder rows pointless, so it needs no
# unit-norm constraint.
#
# (KL and L1 keep their decoder rows at unit length.) For each we follow the MMCS per epoch and
# finish with the code's statistics from npsae.metrics: L0, the mean number of units firing per
# image (about 2 bars are on), and the fraction of units that never fire.

# %%
variants = ["bars-kl", "bars-l1", "bars-topk", "bars-l1-decoder"]
results = {}
for name in variants:
    preset = presets.get(name)
    model_v = presets.build(name, X.shape[1], seed=0)
    t = Track()
    fit(model_v, X, epochs=preset.epochs, batch_size=preset.batch_size,
        optimizer=Adam(lr=preset.lr), callbacks=[t], verbose=0)  # fmt: skip
    H = model_v.encode(X[:2000])
    threshold = metrics.firing_threshold(model_v.config["hidden"])
    results[name] = (model_v, t.mmcs)
    print(f"{name:<16} {preset.description}\n{'':<16} MMCS {t.mmcs[-1]:.3f} after "
          f"{preset.epochs} epochs, bars recovered "
          f"{metrics.features_recovered(bars, model_v.params['W2'])}/16, L0 "
          f"{metrics.l0(H, threshold):.2f}, dead units "
          f"{metrics.dead_fraction(metrics.fire_counts(H, threshold)):.0%}")  # fmt: skip

# %% [markdown]
# MMCS per epoch, and the final decoder rows of each variant (tile $k$: the unit matched to
# bar $k$).

# %%
fig = plt.figure(figsize=(16, 4.2), layout="constrained")
grid = fig.add_gridspec(1, 5, width_ratios=[1.6, 1, 1, 1, 1])
ax = fig.add_subplot(grid[0])
for name, (_, curve) in results.items():
    ax.plot(np.arange(1, len(curve) + 1), curve, marker="o", ms=2, label=name)
ax.axhline(1.0, color="grey", lw=0.6, ls=":")
ax.set(xlabel="epoch", ylabel="MMCS with the true bars", ylim=(0, 1.05),
       title="Every variant finds the bars")  # fmt: skip
ax.legend(loc="lower right")
for col, (name, (m, curve)) in enumerate(results.items(), start=1):
    order = cosine_matrix(bars, m.params["W2"]).argmax(axis=1)
    tiles(m.params["W2"][order], fig.add_subplot(grid[col]), f"{name}\nMMCS {curve[-1]:.2f}")
save(fig, "08_variants.png")

# %% [markdown]
# ## ... but not with any settings
#
# Ng's MNIST recipe moved here unchanged (sigmoid units and a *sigmoid* output, KL with
# $\beta = 3$) does much worse: the sigmoid output squashes sums of bars, so a decoder row need
# not be a bar, and the early rows even point away from the bars to build the dark background
# the output needs. The recipe matters as much as the penalty.

# %%
ng = SparseAutoencoder(64, 16, hidden="sigmoid", output="sigmoid", recon="sse", sparsity="kl",
                       rho=0.1, beta=3.0, seed=0)  # fmt: skip
t = Track()
fit(ng, X, epochs=epochs, batch_size=64, optimizer=Adam(lr=3e-3), callbacks=[t], verbose=0)
print(f"sigmoid output + KL beta 3: MMCS {t.mmcs[-1]:.3f}, bars recovered "
      f"{metrics.features_recovered(bars, ng.params['W2'])}/16")  # fmt: skip
fig, ax = plt.subplots(figsize=(4, 4.2), layout="constrained")
order = cosine_matrix(bars, ng.params["W2"]).argmax(axis=1)
tiles(ng.params["W2"][order], ax, f"sigmoid output + KL\nMMCS {t.mmcs[-1]:.2f}")
save(fig, "08_sigmoid_output.png")

# %% [markdown]
# ## Try it yourself
#
# 1. Give the L1 model 32 hidden units instead of 16. Predict the MMCS and what the 16 spare
#    units do, then train it and look at all 32 decoder rows.
# 2. Train the L1 model with `unit_norm_decoder=False`. Predict what happens to the size of the
#    codes $H$ and of the rows $W_{2,j}$ over the epochs, then measure both.
# 3. For TopK, predict the MMCS with $k = 1$ and with $k = 8$ when about two bars are on per
#    image; then try them (`presets.build("bars-topk", 64, k=1)` or a `SparseAutoencoder` with
#    `sparsity="topk", k=1`).
