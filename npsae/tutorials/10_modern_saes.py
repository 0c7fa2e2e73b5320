# %% [markdown]
# # 10 - From Ng's sparse autoencoder to today's: KL, TopK, JumpReLU
#
# Andrew Ng's sparse autoencoder (tutorials 03 and 07) makes a code sparse with a penalty: each
# sigmoid unit's mean activation $\hat\rho_j$ is pulled toward a small target $\rho$ by
#
# $$P_\text{KL} = \beta \sum_j \mathrm{KL}(\rho \,\Vert\, \hat\rho_j).$$
#
# Sparse autoencoders are now a main tool for reading the inside of neural networks, and the
# ones used there make the code sparse in other ways:
#
# - **TopK** (Gao et al., 2024) keeps the $k$ largest ReLU activations of each sample and sets
#   the rest to 0: $h = \mathrm{TopK}_k(\mathrm{ReLU}(z))$, $z = x W_1 + b_1$. No penalty at all:
#   exactly $k$ units (at most) fire.
# - **BatchTopK** (Bussmann et al., 2024) keeps the $k\,m$ largest activations of a whole batch
#   of $m$ samples, so a busy sample may use more units than a simple one; alone, a sample is
#   coded with a threshold learned in training.
# - **JumpReLU** (Rajamanoharan et al., 2024) gives unit $j$ a learned threshold $\theta_j$:
#
# $$h_j = z_j\, H(z_j - \theta_j), \qquad
#   P_{L_0} = \beta \, \frac{1}{m} \sum_{i,j} H(z_{ij} - \theta_j),$$
#
#   with $H$ the Heaviside step: an activation is either 0 or at least $\theta_j$, and the
#   penalty counts firing units (their $L_0$), not their size.
#
# Which is better? Two measures judge them. On data whose features we know we can ask whether
# the decoder rows found them (the mean max cosine similarity, MMCS, of tutorial 08). On real
# data, the **Pareto plot**: the fraction of variance unexplained against $L_0$, the mean number
# of units firing per sample,
#
# $$\mathrm{FVU} = \frac{\sum_i \lVert x_i - \hat x_i \rVert^2}{\sum_i \lVert x_i - \bar x
#   \rVert^2}, \qquad L_0 = \frac{1}{m} \sum_i \#\{j : h_{ij} > 0\}.$$
#
# A variant whose curve lies lower reconstructs better with as few units on.
#
# As a script: `python 10_modern_saes.py [FIGURE_FOLDER] [--full]`

# %%
import time

import matplotlib.pyplot as plt
import numpy as np
from _common import FULL, OUT, save

from npsae import metrics, plotting, sweep
from npsae.datasets import as_float, load_mnist, make_superposition
from npsae.model import SparseAutoencoder
from npsae.optim import Adam
from npsae.training import fit

# %% [markdown]
# ## Features in superposition
#
# `make_superposition` builds data with a known answer, as in Elhage et al.'s "Toy Models of
# Superposition": $F$ holds 64 random unit directions $F_f$ in only 32 dimensions, each sample
# switches every feature on with probability $p$, with a magnitude $s_{if} \sim U(0, 1)$, and
#
# $$x_i = \sum_f s_{if} F_f .$$
#
# With twice as many features as dimensions the directions cannot all be orthogonal: they
# interfere. A sample holds $p \cdot 64 = 3.2$ features on average, so a good code has
# $L_0 \approx 3.2$.

# %%
n_samples = 20000 if FULL else 10000
X_all, F = make_superposition(n_samples + 5000, n_features=64, n_dims=32, p=0.05, seed=0)
X, X_test = X_all[:n_samples], X_all[n_samples:]
C = F @ F.T
off_diagonal = np.abs(C[~np.eye(64, dtype=bool)])
print(f"X {X.shape}, true directions F {F.shape}")
print(f"|cos| between two true directions: mean {off_diagonal.mean():.2f}, "
      f"max {off_diagonal.max():.2f}")  # fmt: skip

fig, ax = plt.subplots(figsize=(5.5, 3.2), layout="constrained")
ax.hist(off_diagonal, bins=40)
ax.set_xlabel("|cos(F_f, F_g)| for f != g")
ax.set_ylabel("pairs")
ax.set_title("64 directions in 32 dimensions interfere")
save(fig, "10_interference.png")

# %% [markdown]
# ## Four variants at the same $L_0$
#
# Each model has 64 ReLU units (sigmoid for KL, as Ng's), a linear output and the mse loss, and
# trains with Adam. Their knobs are set so that about 3 units fire per sample: KL's target
# $\rho = 0.05$, TopK's and BatchTopK's $k = 3$, and JumpReLU's $\beta = 10^{-3}$ (its
# thresholds start at 0.05 and learn from there). For sigmoid units, "firing" means
# $h > 0.1$ (`metrics.firing_threshold`), since a sigmoid is never exactly 0.

# %%
epochs = 30 if FULL else 20
variants = {
    "KL (sigmoid)": dict(hidden="sigmoid", sparsity="kl", rho=0.05, beta=0.1),
    "TopK": dict(hidden="relu", sparsity="topk", k=3),
    "BatchTopK": dict(hidden="relu", sparsity="batchtopk", k=3),
    "JumpReLU": dict(hidden="relu", sparsity="jumprelu", beta=1e-3, bandwidth=0.05,
                     theta_init=0.05),
}  # fmt: skip
models = {}
print(f"{'variant':<14} {'L0':>5} {'FVU':>6} {'MMCS':>6} {'found':>6} {'seconds':>8}")
for name, config in variants.items():
    model = SparseAutoencoder(32, 64, output="linear", recon="mse", seed=0, **config)
    start = time.perf_counter()
    fit(model, X, epochs, batch_size=64, optimizer=Adam(3e-3), verbose=0)
    seconds = time.perf_counter() - start
    m = sweep.measure(model, X_test, F)
    print(f"{name:<14} {m['l0']:5.2f} {m['fvu']:6.3f} {m['mmcs']:6.3f} "
          f"{m['recovered']:4.0f}/64 {seconds:8.1f}")  # fmt: skip
    models[name] = model

# %% [markdown]
# "found" counts the true directions with a decoder row at cosine similarity above 0.9. The
# sigmoid units of the KL penalty can never switch fully off, so each one's small background
# activation adds a little of its decoder row to every reconstruction: the rows drift away from
# the true directions to cancel that out. TopK and JumpReLU units are exactly 0 when silent.
# The figure shows, for each true feature, its best cosine similarity, sorted.

# %%
fig, ax = plt.subplots(figsize=(6.5, 3.5), layout="constrained")
for name, model in models.items():
    best = np.sort(metrics.max_cosine_similarity(F, model.params["W2"]))[::-1]
    ax.plot(best, label=f"{name}: MMCS {best.mean():.2f}")
ax.axhline(0.9, color="gray", linestyle="--", linewidth=1)
ax.set_xlabel("true features, best recovered first")
ax.set_ylabel("max cosine with a decoder row")
ax.legend()
save(fig, "10_recovery.png")

# %% [markdown]
# ## The Pareto plot on MNIST
#
# On MNIST nobody knows the true features, so we compare reconstruction at equal sparsity.
# `npsae.sweep.run_sweep` trains every variant at several values of its knob and measures each
# model on the test set; `npsae sweep` does the same from the command line, with a progress bar,
# and skips the points already done when run again. Here a short run: the first images of the
# training set, a few epochs, three points per variant (`--full`: all of MNIST, 10 epochs, five
# points). JumpReLU's thresholds need many steps to move from where they start, so on MNIST its
# grid is over their starting value $\theta_0$ rather than $\beta$.

# %%
grids = None if FULL else {
    "kl": [0.02, 0.05, 0.1], "topk": [5, 15, 40], "batchtopk": [5, 15, 40],
    "jumprelu": [0.05, 0.2, 0.5],
}  # fmt: skip
settings = {} if FULL else {"n_hidden": 64, "epochs": 4, "limit": 10000, "lr": 3e-3}
start = time.perf_counter()
rows = sweep.run_sweep(
    OUT / f"10_sweep_{'full' if FULL else 'quick'}",
    ["kl", "topk", "batchtopk", "jumprelu"],
    grids,
    dataset="mnist",
    **settings,
)
print(f"{len(rows)} points in {time.perf_counter() - start:.0f} s")
for row in rows:
    print(f"{row['variant']:<10} {row['param']}={row['value']:<6g} L0 {row['l0']:6.1f}  "
          f"FVU {row['fvu']:.3f}  dead {row['dead_fraction']:.0%}")  # fmt: skip
save(plotting.pareto(rows, title="MNIST: sparsity against reconstruction"), "10_pareto.png")

# %% [markdown]
# Read the left panel at a fixed $L_0$: the lower curve wins. The right panel shows the price
# TopK pays: many units never fire at all (dead), because only the $k$ winners of each sample
# get a gradient. AuxK (`aux_k=`, variant `topk-auxk` of `npsae sweep`) feeds the dead units
# a share of the error to bring them back.
#
# ## What did the units learn?
#
# A feature page shows, for each unit, its decoder row and the test images it fires on most.

# %%
tops = [r for r in rows if r["variant"] == "topk"]
best = min(tops, key=lambda r: abs(r["l0"] - 15))
run = OUT / f"10_sweep_{'full' if FULL else 'quick'}" / "runs" / f"topk-k{best['value']}"
model = SparseAutoencoder.load(run / "model.npz")
test_images, _ = load_mnist("test")
T = as_float(test_images[:2000])
H = model.encode(T)
save(plotting.feature_page(H, T, model.params["W2"], max_units=12, top=8), "10_features.png")

# %% [markdown]
# ## Try it yourself
#
# 1. In the superposition experiment, set $p = 0.15$ (about 10 features per sample) and $k = 10$.
#    Predict whether the MMCS of TopK goes up or down, then run it. Why?
# 2. Give `"TopK"` the option `aux_k=32` and compare the dead fraction on MNIST with plain TopK
#    at the same $k$ (`sweep.measure` reports it as `dead_fraction`).
# 3. Run `npsae sweep out --dataset superposition --variants l1,topk,jumprelu` and find, for each
#    variant, the point closest to $L_0 = 3.2$. Which recovers the most directions?
