# %% [markdown]
# # 03 - The loss: reconstruction error plus a sparsity penalty
#
# A sparse autoencoder minimises the sum of three terms, for a batch $X$ of $m$ samples:
#
# $$\text{loss} = \mathrm{recon}(\hat X, X)
#   + \beta \sum_j \mathrm{KL}(\rho \,\Vert\, \hat\rho_j)
#   + \frac{\lambda}{2} \left(\lVert W_1 \rVert^2 + \lVert W_2 \rVert^2\right)$$
#
# This tutorial takes them one at a time: the two reconstruction errors the package knows (mse,
# the Keras article's (GeeksforGeeks 2025), and sse, that of Andrew Ng's sparse autoencoder notes
# (Ng 2011)), then the KL sparsity penalty of the same notes: what it is, what its derivative
# looks like, and why it only makes sense for activations between 0 and 1.
# In the code, $\hat X$ is `X_hat`, $\rho$ `rho`, $\hat\rho_j$ `rho_hat[j]`, $\beta$ `beta`.
#
# As a script: `python 03_losses.py [FIGURE_FOLDER]`

# %%
import matplotlib.pyplot as plt
import numpy as np
from _common import SEED, save, say

from npsae import penalties, reference
from npsae.model import SparseAutoencoder
from npsae.penalties import KLSparsity, kl_divergence, kl_divergence_grad

np.set_printoptions(precision=4, suppress=True)

# %%
# A tiny batch: m = 2 samples of n_in = 4 "pixels", and a reconstruction that is almost right.
X = np.array([[0.0, 1.0, 0.5, 0.0], [1.0, 1.0, 0.0, 0.0]])
X_hat = np.array([[0.1, 0.8, 0.5, 0.0], [0.9, 1.0, 0.2, 0.1]])
m, n_in = X.shape
print("X", X.shape, "X^", X_hat.shape)

# %% [markdown]
# Mean squared error (what Keras' `MeanSquaredError` computes), the mean over all
# $m \cdot n_\text{in}$ entries:
#
# $$\mathrm{mse} = \frac{1}{m\, n_\text{in}} \sum_{i,k} (\hat X_{ik} - X_{ik})^2$$
#
# Ng's squared error (Ng 2011), half the summed error, averaged over samples only:
#
# $$\mathrm{sse} = \frac{1}{2m} \sum_{i,k} (\hat X_{ik} - X_{ik})^2$$
#
# They differ by a constant factor, $\mathrm{sse} = \mathrm{mse} \cdot n_\text{in} / 2$, which
# matters: the same $\beta$ weighs the sparsity penalty very differently against each (for
# MNIST, $n_\text{in} / 2 = 392$ times).

# %%
squared = (X_hat - X) ** 2
mse_by_hand = squared.sum() / (m * n_in)
sse_by_hand = squared.sum() / (2 * m)
print(f"mse by hand {mse_by_hand:.6f}   npsae.reference.mse {reference.mse(X_hat, X):.6f}")
print(f"sse by hand {sse_by_hand:.6f}   npsae.reference.sse {reference.sse(X_hat, X):.6f}")
print(
    f"sse / mse = {reference.sse(X_hat, X) / reference.mse(X_hat, X):.1f} = n_in / 2 = {n_in / 2}"
)
assert np.isclose(mse_by_hand, reference.mse(X_hat, X))
assert np.isclose(sse_by_hand, reference.sse(X_hat, X))

# %% [markdown]
# Their gradients with respect to the reconstruction, the first step of backpropagation:
#
# $$\frac{\partial\, \mathrm{mse}}{\partial \hat X} = \frac{2 (\hat X - X)}{m\, n_\text{in}},
#   \qquad
#   \frac{\partial\, \mathrm{sse}}{\partial \hat X} = \frac{\hat X - X}{m}$$

# %%
print("d mse / d X^ =\n", reference.mse_grad(X_hat, X))
print("d sse / d X^ =\n", reference.sse_grad(X_hat, X))
assert np.allclose(reference.mse_grad(X_hat, X), 2 * (X_hat - X) / (m * n_in))

# %% [markdown]
# ## The KL sparsity penalty
#
# Take one hidden unit $j$ and average its activation over the batch:
#
# $$\hat\rho_j = \frac{1}{m} \sum_{i=1}^{m} H_{ij}$$
#
# If activations lie in $(0, 1)$, $\hat\rho_j$ can be read as the probability that unit $j$ "fires".
# We want that probability to be a small target $\rho$ (say 0.05). The penalty of Ng's notes (Ng
# 2011) is the Kullback-Leibler divergence between a coin with heads-probability $\rho$ and one with
# probability $\hat\rho$, which measures how far apart they are:
#
# $$\mathrm{KL}(\rho \,\Vert\, \hat\rho) = \rho \log\frac{\rho}{\hat\rho}
#   + (1 - \rho) \log\frac{1 - \rho}{1 - \hat\rho}$$
#
# It is 0 when $\hat\rho = \rho$, positive otherwise, and grows without bound as
# $\hat\rho \to 0$ or $\hat\rho \to 1$; but not at the same pace on both sides, as the table
# and the plot below show.

# %%
rho = 0.05
rho_hat = np.array([0.01, 0.03, 0.05, 0.1, 0.3, 0.5, 0.9, 0.99])
kl = kl_divergence(rho, rho_hat)
dkl = kl_divergence_grad(rho, rho_hat)
print(f"rho = {rho}")
print(" rho^      KL(rho||rho^)   dKL/drho^")
for r, v, d in zip(rho_hat, kl, dkl, strict=True):
    print(f" {r:5.2f}   {v:12.5f}   {d:12.4f}")
assert kl_divergence(rho, np.array([rho]))[0] == 0.0

# %% [markdown]
# Its derivative, which backpropagation needs:
#
# $$\frac{d\,\mathrm{KL}}{d\hat\rho} = -\frac{\rho}{\hat\rho} + \frac{1 - \rho}{1 - \hat\rho}$$
#
# negative below the target (raising $\hat\rho$ lowers the penalty), zero at $\hat\rho = \rho$,
# positive above. Check it against a centred difference
# $\left(\mathrm{KL}(\hat\rho + e) - \mathrm{KL}(\hat\rho - e)\right) / 2e$:

# %%
e = 1e-6
centred = (kl_divergence(rho, rho_hat + e) - kl_divergence(rho, rho_hat - e)) / (2 * e)
print("largest |analytic - centred difference|:", np.abs(centred - dkl).max())
assert np.allclose(centred, dkl, rtol=1e-5)

# %% [markdown]
# ## A lopsided penalty
#
# The plot below is not "steep near 0 and 1": for $\rho = 0.05$ the curve climbs steeply only
# towards 1. Towards 0 its *value* stays small; what is steep there is its *slope*. Each side is
# governed by one of the two terms of KL:
#
# * below the target the growing term is $\rho \log(\rho / \hat\rho)$: weighted by the small
#   $\rho$, and only logarithmic. And there is little room: $\hat\rho$ can fall by at most
#   $\rho = 0.05$;
# * above the target the growing term is $(1 - \rho) \log\frac{1 - \rho}{1 - \hat\rho}$, weighted
#   by $1 - \rho = 0.95$, with the whole way to 1 to climb.
#
# Close to the target it is the other way round: at the same distance from the target, firing
# too rarely costs more than firing too often, because the slope $-\rho / \hat\rho$ runs to
# $-\infty$ as $\hat\rho \to 0$. So a unit that almost stops firing is pushed back firmly
# although its penalty looks small, and a unit that fires far too often pays a large penalty.
# The cell below puts numbers on each of these statements.


# %%
def kl_at(r, target=rho):
    """KL(target || r) for one mean activation r."""
    return kl_divergence(target, np.array([r]))[0]


def slope_at(r, target=rho):
    """dKL/drho^ at one mean activation r."""
    return kl_divergence_grad(target, np.array([r]))[0]


for r in (0.002, 0.01, 0.09, 0.5, 0.9):
    print(f"KL(0.05 || {r:<5g}) = {kl_at(r):.4f}   slope {slope_at(r):.4g}")
# Below the target, where does KL first reach 1? On a fine logarithmic grid of rho^ in (0, rho):
below = np.geomspace(1e-15, rho, 100_001)
reaches_one = below[kl_divergence(rho, below) <= 1].min()
print(f"KL(0.05 || rho^) <= 1 for every rho^ in [{reaches_one:.2g}, 0.05]")
power = int(np.floor(np.log10(reaches_one)))
say(f"Towards 0 the value stays small: {kl_at(0.002):.2f} at $\\hat\\rho = 0.002$, and KL "
    f"reaches 1 only at $\\hat\\rho \\approx {reaches_one / 10**power:.0f} \\cdot "
    f"10^{{{power}}}$. Towards 1 it climbs: "
    f"{kl_at(0.5):.2f} at $\\hat\\rho = 0.5$, {kl_at(0.9):.1f} at 0.9. At the same distance 0.04 "
    f"from the target, firing too rarely (0.01) costs {kl_at(0.01):.3f}, more than firing too "
    f"often (0.09), {kl_at(0.09):.3f}; the slope at 0.002 is {slope_at(0.002):.0f}.")  # fmt: skip

# %% [markdown]
# With the larger target $\rho = 0.2$ the two terms weigh more alike and the curve is less
# lopsided, as the plot shows.

# %%
# The picture: KL(rho || rho_hat) and its derivative over rho_hat in (0, 1), for two targets.
grid = np.linspace(0.002, 0.998, 500)
fig, (ax_kl, ax_grad) = plt.subplots(1, 2, figsize=(11, 4))
for target in (0.05, 0.2):
    ax_kl.plot(grid, kl_divergence(target, grid), label=rf"$\rho$ = {target}")
    ax_grad.plot(grid, kl_divergence_grad(target, grid), label=rf"$\rho$ = {target}")
    ax_kl.axvline(target, color="grey", lw=0.5, ls=":")
ax_kl.set(xlabel=r"mean activation $\hat\rho$", ylabel=r"KL($\rho$ || $\hat\rho$)", ylim=(0, 4))
ax_kl.set_title("The penalty: zero at the target,\nsmall below it, climbing steeply towards 1")
ax_grad.axhline(0, color="grey", lw=0.5)
ax_grad.set(xlabel=r"mean activation $\hat\rho$", ylabel=r"dKL / d$\hat\rho$", ylim=(-20, 20))
ax_grad.set_title(r"Its derivative: pushes $\hat\rho$ towards $\rho$," "\nunbounded near 0 and 1")
ax_kl.legend()
ax_grad.legend()
save(fig, "03_kl_divergence.png")

# %% [markdown]
# From one unit to the penalty of a layer. With $H$ of shape $(m, n_\text{hidden})$,
#
# $$P = \beta \sum_j \mathrm{KL}(\rho \,\Vert\, \hat\rho_j),
#   \qquad \hat\rho_j = \frac{1}{m} \sum_i H_{ij}$$
#
# and since $\partial \hat\rho_j / \partial H_{ij} = 1/m$, the gradient on each activation is the
# same for every sample $i$:
#
# $$\frac{\partial P}{\partial H_{ij}} = \frac{\beta}{m}\,
#   \frac{d\,\mathrm{KL}}{d\hat\rho}(\hat\rho_j) = c_j$$
#
# `KLSparsity` computes both from the column sums $h_j = \sum_i H_{ij}$ (`h_sum`; `W2` is unused
# by KL).

# %%
rng = np.random.default_rng(SEED)
m, n_hidden, beta = 50, 6, 3.0
H = reference.sigmoid(rng.normal(-2.0, 1.5, (m, n_hidden)))  # sigmoid units: H in (0, 1)
h_sum = H.sum(axis=0)
W2 = np.zeros((n_hidden, 1))
P = KLSparsity(beta=beta, rho=rho)
rho_hat_H = h_sum / m
print("rho^ per unit:", rho_hat_H)
print(f"P by hand      {beta * kl_divergence(rho, rho_hat_H).sum():.6f}")
print(f"P.value        {P.value(h_sum, m, W2):.6f}")
c = P.hidden_grad(h_sum, m, W2)
print("c by hand     ", beta / m * kl_divergence_grad(rho, rho_hat_H))
print("P.hidden_grad ", c)
assert np.allclose(c, beta / m * kl_divergence_grad(rho, rho_hat_H))

# %% [markdown]
# ## Why KL needs activations in (0, 1)
#
# $\hat\rho$ is a probability only if every activation is. A sigmoid unit guarantees
# $0 < H < 1$. A ReLU unit does not: $\mathrm{relu}(z) = \max(z, 0)$ is unbounded above, and is
# exactly 0 for $z \le 0$. Then
#
# * a unit whose mean activation is above 1 makes $\log(1 - \hat\rho)$ the log of a negative
#   number: NaN;
# * a unit that never fires ($\hat\rho = 0$) makes $\log(\rho / \hat\rho)$ infinite.
#
# The Keras article (GeeksforGeeks 2025) uses ReLU hidden units with this KL penalty, adding
# $10^{-10}$ inside the logs. That avoids the infinity at $\hat\rho = 0$ but not the NaN above 1.

# %%
bad = np.array([0.0, 1.0, 1.7])
with np.errstate(divide="ignore", invalid="ignore"):
    print("KL(0.05 || [0, 1, 1.7])            =", kl_divergence(rho, bad))
    article = rho * np.log(rho / (bad + 1e-10)) + (1 - rho) * np.log((1 - rho) / (1 - bad + 1e-10))
    print("with the article's +1e-10 in the logs =", article)

# %% [markdown]
# npsae clips $\hat\rho$ into $[\varepsilon, 1 - \varepsilon]$ ($\varepsilon$ =
# `penalties.RHO_HAT_EPS`) before taking logs. The value stays finite, but a clipped function is
# flat: where the clip is active, its derivative in $\hat\rho$ is 0, so $c_j = 0$. That unit gets
# *no* sparsity gradient at all, however large its mean is. Five ReLU-like units with mean
# activations 0, 0.04, 0.3, 0.99999999 and 1.7:

# %%
rho_hat_relu = np.array([0.0, 0.04, 0.3, 0.99999999, 1.7])
m = 100
h_sum = rho_hat_relu * m
W2 = np.zeros((len(rho_hat_relu), 1))
c = P.hidden_grad(h_sum, m, W2)
print(f"eps = {penalties.RHO_HAT_EPS}")
print(" rho^         clipped    c_j = dP/dH_ij")
for r, cj in zip(rho_hat_relu, c, strict=True):
    clipped = not penalties.RHO_HAT_EPS <= r <= 1 - penalties.RHO_HAT_EPS
    print(f" {r:<12.8g} {clipped!s:<9}  {cj: .5f}")
print("penalty value (finite):", P.value(h_sum, m, W2))
assert c[0] == 0.0 and c[-1] == 0.0  # a dead unit and a unit with mean > 1: no pressure
assert c[1] < 0 < c[2]  # below the target: pushed up; above: pushed down

# %% [markdown]
# The same fact as a picture: the clipped penalty of *one* unit as its mean activation runs from
# 0 to 2, and the gradient $c_j$ the backward pass receives. Past $\hat\rho = 1 - \varepsilon$
# the penalty is a constant and the gradient is exactly zero: a ReLU unit that is "too active"
# is left alone.

# %%
means = np.linspace(0.0, 2.0, 801)
m = 1000
one = np.zeros((1, 1))
values = np.array([P.value(np.array([r * m]), m, one) for r in means])
grads = np.array([P.hidden_grad(np.array([r * m]), m, one)[0] * m / beta for r in means])
fig, (ax_v, ax_g) = plt.subplots(1, 2, figsize=(11, 4))
ax_v.plot(means, values / beta)
ax_v.axvspan(1.0, 2.0, color="tab:red", alpha=0.1, label=r"$\hat\rho \geq 1$: only ReLU units")
ax_v.set(
    xlabel=r"mean activation $\hat\rho$", ylabel=r"KL($\rho$ || clip($\hat\rho$))", ylim=(0, 16)
)
ax_v.set_title(rf"Clipped KL penalty, $\rho$ = {rho}")
ax_v.legend(loc="upper left")
ax_g.plot(means, grads)
ax_g.axvspan(1.0, 2.0, color="tab:red", alpha=0.1)
ax_g.axhline(0, color="grey", lw=0.5)
ax_g.set(
    xlabel=r"mean activation $\hat\rho$",
    ylabel=r"dKL/d$\hat\rho$ as used ($c_j m / \beta$)",
    ylim=(-5, 60),
)
ax_g.set_title("Its gradient: exactly 0 where the clip is active")
save(fig, "03_kl_clipped.png")

# %% [markdown]
# ## All three terms together
#
# The model adds weight decay,
# $\frac{\lambda}{2}\left(\lVert W_1 \rVert^2 + \lVert W_2 \rVert^2\right)$ (`weight_decay` is
# $\lambda$), and reports every term. Below, the sum of the pieces computed
# by hand equals `model.loss(X)["total"]`.

# %%
rng = np.random.default_rng(SEED + 1)
X = rng.random((20, 10))
model = SparseAutoencoder(10, 4, recon="sse", rho=0.1, beta=3.0, weight_decay=1e-3,
                          dtype=np.float64, backend="numpy", seed=SEED)  # fmt: skip
p = model.params
H = reference.sigmoid(X @ p["W1"] + p["b1"])
X_hat = reference.sigmoid(H @ p["W2"] + p["b2"])
by_hand = {
    "recon": reference.sse(X_hat, X),
    "sparsity": 3.0 * kl_divergence(0.1, H.mean(axis=0)).sum(),
    "decay": 1e-3 / 2 * ((p["W1"] ** 2).sum() + (p["W2"] ** 2).sum()),
}
by_hand["total"] = sum(by_hand.values())
loss = model.loss(X)
for term in ("recon", "sparsity", "decay", "total"):
    print(f"{term:<9} by hand {by_hand[term]:.8f}   model.loss {loss[term]:.8f}")
    assert np.isclose(by_hand[term], loss[term])
print("all terms agree")

# %%
# The claims of the text above, checked on this run.
assert abs(kl_at(0.002)) < 0.2 and kl_at(0.5) > 0.4 and kl_at(0.9) > 1.5  # lopsided
assert kl_at(0.01) > kl_at(0.09) and slope_at(0.002) < -20  # near the target, the other way
assert reaches_one < 1e-9  # KL reaches 1 below the target only at a vanishing rho^
# With rho = 0.2, the value towards 0 is closer to the value towards 1: a less lopsided curve.
assert kl_at(0.002, 0.2) / kl_at(0.9, 0.2) > 5 * kl_at(0.002) / kl_at(0.9)
assert np.all(dkl[rho_hat < rho] < 0) and np.all(dkl[rho_hat > rho] > 0)

# %% [markdown]
# ## Try it yourself
#
# 1. For $\rho = 0.2$, predict which costs more, $\hat\rho = 0.1$ or $\hat\rho = 0.3$ (both 0.1
#    from the target); then do the same for $\rho = 0.05$ at half and one and a half times the
#    target ($\hat\rho = 0.025$ and $0.075$). Is the penalty more lopsided for the larger target
#    or for the smaller? Compute all four to check.
# 2. A unit's activations on a batch of $m = 4$ are $(0, 0, 0, 0.2)$. Compute $\hat\rho$, the
#    penalty for $\rho = 0.05$, $\beta = 3$, and $c_j$ by hand, then check with `KLSparsity`.
# 3. Change `recon="sse"` to `recon="mse"` in the last cell and keep $\beta = 3$. Predict which
#    term now dominates the total, then look.

# %% [markdown]
# ## References
#
# - [Ng 2011] Andrew Ng. "Sparse autoencoder." CS294A Lecture notes, Stanford University, 2011.
# - [GeeksforGeeks 2025] GeeksforGeeks. "Sparse Autoencoders in Deep Learning." Last updated 23 July
#   2025. The Keras tutorial this package grew from (784 -> 64 ReLU -> 784 sigmoid, mse + 0.1
#   KL(0.05), Adam, batch 256, 50 epochs).
