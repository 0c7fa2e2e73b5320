# %% [markdown]
# # 11 - The gradients of today's sparse autoencoders, derived and checked
#
# Tutorial 04 derived the backward pass of Ng's sparse autoencoder (Ng 2011) and checked it
# against finite differences. Tutorial 10 trains today's variants: TopK (Makhzani & Frey 2014;
# Gao et al. 2024), BatchTopK (Bussmann et al. 2024), JumpReLU (Rajamanoharan et al. 2024) and
# TopK with AuxK (Gao et al. 2024). Each throws something away in its forward pass (a unit, a
# sample's activation below a threshold), and the interesting question is what the backward pass
# does there. Here we derive each gradient one equation at a time, write it as a few lines of
# NumPy, and check it live against npsae's reference (`npsae/reference.py`,
# `npsae/penalties.py`) and against `npsae.gradient_check`.
#
# The setting, for every section: a linear output and the mse loss,
#
# $$Z_1 = X W_1 + b_1, \quad H = \mathrm{select}(\mathrm{ReLU}(Z_1)), \quad
#   \hat X = H W_2 + b_2, \quad
#   L = \frac{1}{m\, n_\text{in}} \sum_{i,k} (\hat X_{ik} - X_{ik})^2,$$
#
# where `select` is what distinguishes the variants. As in 04, $dA$ is $\partial L / \partial A$
# (the code's `dA`) and $\odot$ the element-wise product. Everything is float64, on a tiny model,
# so that finite differences are exact to about seven digits.
#
# As a script: `python 11_modern_gradients.py [FIGURE_FOLDER]`; `NPSAE_TUTORIAL_SEED` changes
# the seed of every model and batch.

# %%
import matplotlib.pyplot as plt
import numpy as np
from _common import SEED, save, say

from npsae import SparseAutoencoder, gradient_check
from npsae.gradcheck import kink_free_batch, numerical_gradient
from npsae.reference import keep_batch_top_k, keep_top_k, rectangle

n_in, n_hidden, m, k = 6, 8, 5, 2


def tiny(**options):
    """A tiny float64 model of the setting above; ``options`` choose the variant."""
    return SparseAutoencoder(n_in, n_hidden, hidden="relu", output="linear", recon="mse",
                             dtype=np.float64, seed=SEED, **options)  # fmt: skip


def max_diff(a, b):
    """The largest entry-wise difference of two gradients (dicts of arrays)."""
    return max(float(np.abs(a[name] - b[name]).max()) for name in a)


# %% [markdown]
# ## 1. TopK: the forward selection, written by you
#
# TopK keeps, in each row of $A = \mathrm{ReLU}(Z_1)$, the $k$ largest entries and sets the rest
# to 0. Write it with a mask $M$ (`M[i, j]` true where unit $j$ is kept for sample $i$):
# $H = M \odot A$. `np.argpartition` finds the $k$ largest of each row without sorting it all.


# %%
def my_top_k(A, k):
    """(H, M): A with all but the k largest entries of each row set to 0, and the mask."""
    kept = np.argpartition(-A, k - 1, axis=1)[:, :k]  # (m, k) column indices, any order
    M = np.zeros(A.shape, dtype=bool)
    np.put_along_axis(M, kept, True, axis=1)
    return np.where(M, A, 0.0), M


topk = tiny(sparsity="topk", k=k)
X = kink_free_batch(topk, m=m, seed=SEED)  # no pre-activation at a kink (see 04)
A = np.maximum(X @ topk.params["W1"] + topk.params["b1"], 0)
H, M = my_top_k(A, k)
print("kept per sample:", M.sum(axis=1))
# npsae's version breaks ties by position; with no ties the two agree exactly.
assert np.array_equal(H, keep_top_k(A, k))
print("my_top_k equals npsae.reference.keep_top_k")

# %% [markdown]
# ## 2. TopK: the backward pass, and what reaches the dropped units
#
# Fix the batch and look at a small change of the parameters. As long as no kept and dropped
# activation trade places, the mask $M$ does not change, so near this point
# $H_{ij} = M_{ij}\, \mathrm{ReLU}(Z_{1,ij})$ with $M$ a constant. Its derivative is
#
# $$\frac{\partial H_{ij}}{\partial Z_{1,ij}} = M_{ij}\, \mathbf{1}[Z_{1,ij} > 0], \qquad
#   \frac{\partial H_{ij}}{\partial Z_{1,il}} = 0 \quad (l \ne j).$$
#
# A dropped unit's activation is 0 and stays 0 under the small change: its derivative is exactly
# 0. This is the true derivative (it fails only where two activations tie or one sits at 0, a
# set of measure zero), not an approximation. The chain rule, one line per step:
#
# $$\begin{aligned}
# d\hat X &= \tfrac{2}{m\, n_\text{in}} (\hat X - X) && (m, n_\text{in}) \\
# dW_2 &= H^\top d\hat X, \quad db_2 = \textstyle\sum_i d\hat X_i \\
# dH &= d\hat X\, W_2^\top && (m, n_\text{hidden}) \\
# dZ_1 &= dH \odot M \odot \mathbf{1}[Z_1 > 0] && (m, n_\text{hidden}) \\
# dW_1 &= X^\top dZ_1, \quad db_1 = \textstyle\sum_i dZ_{1,i}
# \end{aligned}$$
#
# Only $k$ entries of each row of $dZ_1$ can be non-zero, though $dH$, the direction in which the
# error would like each activation to move, is non-zero for the dropped units too.


# %%
def topk_backward(params, X, M):
    """The gradients of the mse through a fixed selection mask M: (m, n_hidden)."""
    W1, b1, W2, b2 = (params[p] for p in ("W1", "b1", "W2", "b2"))
    Z1 = X @ W1 + b1
    H = np.where(M, np.maximum(Z1, 0), 0.0)
    dX_hat = 2 * (H @ W2 + b2 - X) / X.size
    dH = dX_hat @ W2.T
    dZ1 = dH * M * (Z1 > 0)
    grads = {"W1": X.T @ dZ1, "b1": dZ1.sum(axis=0), "W2": H.T @ dX_hat, "b2": dX_hat.sum(axis=0)}
    return grads, dH, dZ1


mine, dH, dZ1 = topk_backward(topk.params, X, M)
topk_diff = max_diff(mine, topk.term_grads(X)["recon"])
dropped_dH, dropped_dZ1 = np.abs(dH[~M]).max(), np.abs(dZ1[~M]).max()
print(f"max |mine - npsae's reference| = {topk_diff:.1e}")
say(f"On the dropped entries $dH$ reaches {dropped_dH:.2e}, while $dZ_1$ is at most "
    f"{dropped_dZ1:.1f}.")  # fmt: skip
check_topk = gradient_check(topk, X)
print(check_topk)

# %% [markdown]
# A unit that is dropped for every sample of a batch gets no gradient at all from that batch: its
# column of $dW_1$ and its $b_1$ entry are 0. If its pre-activations are never among the $k$
# largest, nothing ever moves it: it is **dead**, however useful its direction could be. We kill
# one unit of the tiny model by giving it a very negative bias and look at its gradient.

# %%
dead_unit = n_hidden - 1
topk.params["b1"][dead_unit] = -10.0  # ReLU(Z) = 0 for every sample: never among the kept
X_dead = kink_free_batch(topk, m=m, seed=SEED)
g = topk.term_grads(X_dead)["recon"]
dead_W1, dead_b1 = np.abs(g["W1"][:, dead_unit]).max(), g["b1"][dead_unit]
say(f"Unit {dead_unit}, never kept: its gradient dW1[:, {dead_unit}] has largest entry "
    f"{np.abs(g['W1'][:, dead_unit]).max():.1f} and db1[{dead_unit}] = "
    f"{g['b1'][dead_unit]:.1f}, while the kept units' largest is "
    f"{np.abs(g['W1']).max():.2e}.")  # fmt: skip

# %% [markdown]
# ## 3. BatchTopK: one budget of $k m$ for the batch
#
# BatchTopK (Bussmann et al. 2024) keeps the $k m$ largest activations of the whole batch: the
# mask is chosen over the flattened batch, so a busy sample can use more units than $k$ and a
# simple one fewer. Write the selection, then note that the backward pass is the one above with
# the new mask: again, near a point without ties, $H = M \odot \mathrm{ReLU}(Z_1)$ with $M$
# constant.


# %%
def my_batch_top_k(A, k):
    """(H, M): A with all but the k m largest entries of the whole batch set to 0, and the mask."""
    flat = A.ravel()
    kept = np.argpartition(-flat, k * A.shape[0] - 1)[: k * A.shape[0]]
    M = np.zeros(flat.shape, dtype=bool)
    M[kept] = True
    M = M.reshape(A.shape)
    return np.where(M, A, 0.0), M


batchtopk = tiny(sparsity="batchtopk", k=k)
X = kink_free_batch(batchtopk, m=m, seed=SEED)
A = np.maximum(X @ batchtopk.params["W1"] + batchtopk.params["b1"], 0)
H, M_batch = my_batch_top_k(A, k)
assert np.array_equal(H, keep_batch_top_k(A, k))
mine, _, _ = topk_backward(batchtopk.params, X, M_batch)
batch_diff = max_diff(mine, batchtopk.term_grads(X)["recon"])
check_batchtopk = gradient_check(batchtopk, X)
say(f"Units kept per sample: {M_batch.sum(axis=1).tolist()} (sum {M_batch.sum()} = k m = "
    f"{k * m}). The backward pass with this mask differs from npsae's by at most "
    f"{batch_diff:.1e}; the gradient check "
    f"{'passes' if check_batchtopk.passed else 'FAILS'} (largest relative error "
    f"{check_batchtopk.max_rel_error:.1e}).")  # fmt: skip

# %% [markdown]
# ## 4. L1 at 0: a subgradient
#
# The L1 penalty $P = \frac{\beta}{m} \sum_{i,j} \lvert H_{ij} \rvert$ has no derivative where
# $H_{ij} = 0$: $\lvert h \rvert$ has slope $-1$ on the left, $+1$ on the right. Any slope in
# between, any $g \in [-1, 1]$, is a **subgradient**: the line through the kink with slope $g$
# stays below $\lvert h \rvert$. With ReLU units $H = \mathrm{ReLU}(Z)$ and
# $P$ as a function of $Z_{ij}$ is $\frac{\beta}{m} \max(Z_{ij}, 0)$: slope 0 on the left,
# $\beta / m$ on the right, subgradients $[0, \beta/m]$. npsae (like every deep-learning library)
# takes $\mathrm{ReLU}'(0) = 0$, the left end.
#
# A centred finite difference at the kink sees neither end: it averages the two slopes,
# $\frac{1}{2} \frac{\beta}{m}$, a different valid subgradient. A gradient check there would
# report a large error with nothing wrong in the code; hence `kink_free_batch`. We put one
# sample's pre-activation exactly at 0 (unit $j$ with zero weights and bias) and watch.

# %%
beta = 0.1
l1 = tiny(sparsity="l1", beta=beta)
x = np.random.default_rng(SEED).random((1, n_in))  # one sample: m = 1
j = 0
l1.params["W1"][:, j] = 0.0  # Z[0, j] = x . 0 + 0 = 0 exactly (a computed cancellation
l1.params["b1"][j] = 0.0  # -x . w + x . w could round to +-1e-17, on either side of the kink)
analytic = l1.term_grads(x)["sparsity"]["b1"][j]
fd = numerical_gradient(lambda _: l1.loss(x)["sparsity"], l1.params["b1"], 1e-6)[j]
say(f"At $Z = 0$: npsae's subgradient of the L1 term in $b_{{1,{j}}}$ is {analytic:.4f}, "
    f"the centred difference {fd:.4f}, half of the right-hand slope $\\beta / m$ = "
    f"{beta:.4f}.")  # fmt: skip

# %% [markdown]
# ## 5. JumpReLU: learning a threshold through a step
#
# JumpReLU (Rajamanoharan et al. 2024) gives unit $j$ a threshold $\theta_j > 0$ (npsae stores
# $\log \theta_j$, so it stays positive) and an $L_0$ penalty:
#
# $$H_{ij} = Z_{ij}\, \mathrm{H}(Z_{ij} - \theta_j), \qquad
#   P = \frac{\beta}{m} \sum_{i,j} \mathrm{H}(Z_{ij} - \theta_j),$$
#
# with $\mathrm{H}$ the Heaviside step (we drop the subscript of $Z_1$). In $Z$ away from the
# jump, $\partial H_{ij} / \partial Z_{ij} = \mathrm{H}(Z_{ij} - \theta_j)$: the encoder learns as
# with a ReLU. In $\theta$ the loss of a fixed batch is flat: moving $\theta_j$ a little changes
# no activation (unless some $Z_{ij}$ sits exactly at $\theta_j$), so the true derivative is 0
# and finite differences agree:

# %%
bw = 0.05
jump = tiny(sparsity="jumprelu", beta=beta, bandwidth=bw, theta_init=0.3)
X = kink_free_batch(jump, m=m, seed=SEED)
fd_theta = numerical_gradient(lambda _: jump.loss(X)["total"], jump.params["log_theta"], 1e-6)
print("finite differences of the loss in log theta:", fd_theta)

# %% [markdown]
# Yet $\theta$ does matter, on average: over the data, the expected loss is a smooth function of
# $\theta$. Formally, $\frac{d}{d\theta} \mathrm{H}(Z - \theta) = -\delta(Z - \theta)$, a Dirac
# spike at the jump, and so
#
# $$\frac{\partial}{\partial \theta_j} Z_{ij} \mathrm{H}(Z_{ij} - \theta_j)
#   = -Z_{ij}\, \delta(Z_{ij} - \theta_j) = -\theta_j\, \delta(Z_{ij} - \theta_j).$$
#
# The straight-through estimator replaces the spike by a narrow rectangle of width $\varepsilon$
# (the bandwidth) and area 1, $\delta(u) \approx \frac{1}{\varepsilon} K(u / \varepsilon)$ with
# $K(v) = \mathbf{1}[-\tfrac12 < v < \tfrac12]$ (`rectangle`). With
# $K_{ij} = K((Z_{ij} - \theta_j)/\varepsilon)$, 1 for the samples in the window around the
# threshold:
#
# $$\begin{aligned}
# \frac{\partial L_\text{recon}}{\partial \theta_j} &\approx -\frac{\theta_j}{\varepsilon}
#   \sum_i K_{ij}\, dH_{ij}, \qquad
# \frac{\partial P}{\partial \theta_j} \approx -\frac{\beta}{m \varepsilon} \sum_i K_{ij}, \\
# \frac{\partial L}{\partial \log \theta_j} &= \theta_j \frac{\partial L}{\partial \theta_j}
#   \quad \text{(the chain rule for the stored } \log\theta\text{)}.
# \end{aligned}$$
#
# The $L_0$ term always pushes the thresholds up (fewer units on); the reconstruction pushes
# $\theta_j$ down where the samples near it would like a larger activation ($dH < 0$). As npsae
# does, the $L_0$ term gets no pseudo-derivative in $Z$: only the thresholds feel it.


# %%
def jumprelu_theta_grad(model, X):
    """dL/d log theta: (n_hidden,), by the straight-through estimator with the rectangle kernel."""
    p, c = model.params, model.config
    eps, beta, m = c["bandwidth"], c["beta"], X.shape[0]
    theta = np.exp(p["log_theta"])
    Z = X @ p["W1"] + p["b1"]
    H = Z * (Z > theta)
    dH = 2 * (H @ p["W2"] + p["b2"] - X) / X.size @ p["W2"].T
    K = rectangle((Z - theta) / eps)
    d_theta = -(theta / eps) * (K * dH).sum(axis=0) - beta / (m * eps) * K.sum(axis=0)
    return theta * d_theta


# A wider batch, so that some samples fall in the windows.
X_wide = kink_free_batch(jump, m=40, seed=SEED)
mine_theta = jumprelu_theta_grad(jump, X_wide)
jump_parts = jump.term_grads(X_wide)
theirs = jump_parts["recon"]["log_theta"] + jump_parts["sparsity"]["log_theta"]
check_jump = gradient_check(jump, X_wide)
print(check_jump)
moving = int((mine_theta != 0).sum())
say(f"The hand-written pseudo-gradient differs from npsae's by at most "
    f"{np.abs(mine_theta - theirs).max():.1e}; {moving} of the {n_hidden} thresholds have a "
    f"sample in their window on this batch of 40, and only those move. The "
    f"'closed form' lines of the check compare npsae's log theta gradient with the same formula "
    f"fed with dL/dH found by finite differences.")  # fmt: skip

# %% [markdown]
# ### Why the rectangle works, and what the bandwidth trades
#
# For the $L_0$ term the estimator is exact in a simple sense: it is the slope of the batch's
# penalty across the window. Moving $\theta_j$ from $\theta_j - \varepsilon/2$ to
# $\theta_j + \varepsilon/2$ switches off exactly the samples in the window, so
#
# $$\frac{P(\theta_j + \varepsilon/2) - P(\theta_j - \varepsilon/2)}{\varepsilon}
#   = -\frac{\beta}{m \varepsilon} \sum_i K_{ij}.$$
#
# So the estimator measures how many samples sit near the threshold: it is $-\beta$ times a
# histogram estimate, with one bin of width $\varepsilon$, of the density $p_j(\theta_j)$ of the
# pre-activations at the threshold, and $-\beta\, p_j(\theta_j)$ is the exact derivative of the
# *expected* penalty $\beta\, \Pr(Z_j > \theta_j)$. That is why $\theta$ can learn at all through
# a step: each batch gives a noisy, slightly blurred sample of the expected loss's slope.
#
# The bandwidth is the histogram's bin width, with the histogram's trade. A narrow window holds
# few samples: most batches give exactly 0 and the rest a large value (high variance); a wide one
# averages the density over $[\theta - \varepsilon/2, \theta + \varepsilon/2]$ (bias where the
# density curves). We measure both on a unit whose pre-activations are $N(\theta, 1)$, the peak
# of the density, where the curvature and so the bias are largest, over 2000 batches of 64.

# %%
theta0, batches, m_b = 1.0, 2000, 64
rng = np.random.default_rng(SEED)
Z = theta0 + rng.standard_normal((batches, m_b))
true_slope = -beta / np.sqrt(2 * np.pi)  # -beta p(theta), the normal density at its peak
# The L0 part of the secant check: the window count equals the change of the batch's penalty.
z, eps = Z[0], 0.5
secant = beta / m_b * ((z > theta0 + eps / 2).sum() - (z > theta0 - eps / 2).sum()) / eps
assert np.isclose(secant, -beta / (m_b * eps) * rectangle((z - theta0) / eps).sum())
widths = (0.01, 0.1, 0.5, 2.0)
trade = {}
print(f"true slope of the expected L0 penalty: {true_slope:.4f}")
print(f"{'bandwidth':>9} {'batches at 0':>12} {'mean':>8} {'bias':>8} {'std':>8}")
for eps in widths:
    est = -beta / (m_b * eps) * rectangle((Z - theta0) / eps).sum(axis=1)
    trade[eps] = {"zero": float(np.mean(est == 0)), "mean": float(est.mean()),
                  "bias": float(est.mean() - true_slope), "std": float(est.std())}  # fmt: skip
    t = trade[eps]
    print(f"{eps:9.2f} {t['zero']:12.1%} {t['mean']:8.4f} {t['bias']:8.4f} {t['std']:8.4f}")

fig, ax = plt.subplots(figsize=(6, 3.4), layout="constrained")
ax.errorbar(widths, [trade[e]["mean"] for e in widths], yerr=[trade[e]["std"] for e in widths],
            marker="o", capsize=4, label="estimate: mean ± std over batches")  # fmt: skip
ax.axhline(true_slope, color="grey", ls="--", label="slope of the expected penalty")
ax.set(xscale="log", xlabel="bandwidth $\\varepsilon$", ylabel="$\\partial P / \\partial \\theta$",
       title="The rectangle estimator: variance (narrow) against bias (wide)")  # fmt: skip
ax.legend(fontsize=8)
save(fig, "11_bandwidth.png")
narrow, wide = trade[widths[0]], trade[widths[-1]]
say(f"With $\\varepsilon$ = {widths[0]}, {narrow['zero']:.0%} of the batches give exactly 0 and "
    f"the spread is {narrow['std']:.3f} around a slope of {true_slope:.4f}; with "
    f"$\\varepsilon$ = {widths[-1]} the spread falls to {wide['std']:.4f} but the mean is "
    f"{wide['mean']:.4f}, {abs(wide['bias'] / true_slope):.0%} short of the slope: the density "
    f"averaged over the window instead of taken at $\\theta$.")  # fmt: skip

# %% [markdown]
# ## 6. AuxK: a gradient for the dead
#
# Section 2 showed that a unit never among the top $k$ gets no gradient. AuxK (Gao et al. 2024)
# gives the dead units $D$ (those that have not fired for `dead_after` training samples) a task
# of their own: model the main reconstruction's error $e = X - \hat X$ with their $k_\text{aux}$
# largest pre-activations,
#
# $$Z_D = X W_{1,D} + b_{1,D}, \quad H_D = \mathrm{TopK}_{k_\text{aux}}(Z_D), \quad
#   \hat e = H_D W_{2,D}, \quad L_\text{aux} = \alpha\, \mathrm{mse}(\hat e, e).$$
#
# $e$ is treated as a constant (no gradient flows through it into the live units), and there is
# no ReLU before the selection: a unit that died under a ReLU has only negative
# pre-activations, and through a ReLU it would get nothing again. With $M_D$ the aux mask:
#
# $$\begin{aligned}
# d\hat e &= \tfrac{2 \alpha}{m\, n_\text{in}} (\hat e - e) && (m, n_\text{in}) \\
# dW_{2,D} &= H_D^\top d\hat e \\
# dZ_D &= (d\hat e\, W_{2,D}^\top) \odot M_D && (m, \lvert D \rvert) \\
# dW_{1,D} &= X^\top dZ_D, \quad db_{1,D} = \textstyle\sum_i dZ_{D,i}
# \end{aligned}$$
#
# and 0 for the live units' columns.


# %%
alpha, k_aux = 0.5, 2
auxk = tiny(sparsity="topk", k=k, aux_k=k_aux, aux_alpha=alpha)
D = np.array([n_hidden - 3, n_hidden - 1])
auxk.params["b1"][D] = -10.0  # all their pre-activations negative: dead under the ReLU
auxk.buffers["since_fired"][D] = auxk.config["dead_after"]  # AuxK counts them dead
X = kink_free_batch(auxk, m=m, seed=SEED)
W1, b1, W2, b2 = (auxk.params[p] for p in ("W1", "b1", "W2", "b2"))
H, _ = my_top_k(np.maximum(X @ W1 + b1, 0), k)
e = X - (H @ W2 + b2)  # the main reconstruction's error, a constant here
H_D, M_D = my_top_k(X @ W1[:, D] + b1[D], k_aux)  # no ReLU: negative values may be kept
de_hat = 2 * alpha * (H_D @ W2[D] - e) / X.size
dZ_D = (de_hat @ W2[D].T) * M_D
mine = {"W1": np.zeros_like(W1), "b1": np.zeros_like(b1), "W2": np.zeros_like(W2)}
mine["W1"][:, D] = X.T @ dZ_D
mine["b1"][D] = dZ_D.sum(axis=0)
mine["W2"][D] = H_D.T @ de_hat
parts = auxk.term_grads(X)
aux_diff = max(float(np.abs(mine[p] - parts["aux"][p]).max()) for p in mine)
check_auxk = gradient_check(auxk, X)
print(check_auxk)
live = np.setdiff1d(np.arange(n_hidden), D)
say(f"The hand-written AuxK gradient differs from npsae's by at most {aux_diff:.1e}. The dead "
    f"units {D.tolist()} get |dW1| up to {np.abs(parts['aux']['W1'][:, D]).max():.2e} from "
    f"AuxK and {np.abs(parts['recon']['W1'][:, D]).max():.1f} from the reconstruction; the live "
    f"units get {np.abs(parts['aux']['W1'][:, live]).max():.1f} from AuxK.")  # fmt: skip

# %% [markdown]
# ## Try it yourself
#
# 1. In section 2, perturb one pre-activation so that a dropped unit overtakes the $k$-th kept
#    one. Predict what the gradient check reports for the entries of $W_1$ that cause it, then
#    build such a batch (`kink_free_batch` avoids it; a batch of your own need not).
# 2. In section 5, take $\varepsilon$ = 0.5 and batches of 16, then of 256. Predict how the
#    spread and the bias change, and measure them.
# 3. Remove the `* M_D` from the AuxK backward pass. Which lines of the gradient check fail,
#    and why only those?

# %% [markdown]
# ## What this notebook claims, checked
#
# Every statement above that depends on the numbers, asserted
# (`NPSAE_TUTORIAL_SEED=1 python 11_modern_gradients.py` checks them on another seed).

# %%
# 1-2. TopK: my selection and backward pass equal npsae's; dropped units get exactly 0 though
# the error would move them; the gradient check passes; a never-kept unit gets no gradient.
assert topk_diff < 1e-12 and dropped_dZ1 == 0 and dropped_dH > 0 and check_topk.passed
assert dead_W1 == 0 and dead_b1 == 0
# 3. BatchTopK: k m kept in all, the same backward pass with its mask, the check passes.
assert M_batch.sum() == k * m and batch_diff < 1e-12 and check_batchtopk.passed
# 4. L1 at 0: npsae takes the left end 0; the centred difference takes the middle, beta / 2m.
assert analytic == 0 and np.isclose(fd, beta / 2, rtol=1e-6)
# 5. JumpReLU: finite differences in theta are 0; the pseudo-gradient equals npsae's and moves
# some thresholds; the check (closed form for log theta) passes.
assert np.all(fd_theta == 0) and np.abs(mine_theta - theirs).max() < 1e-12
assert moving > 0 and check_jump.passed
# The bandwidth: narrow windows give mostly zeros, the spread falls as the window widens, and
# the widest is biased by more than 10 % of the slope, more than twice the bias at 0.1.
assert narrow["zero"] > 0.5
assert all(trade[a]["std"] > trade[b]["std"] for a, b in zip(widths, widths[1:], strict=False))
assert abs(wide["bias"]) > 0.1 * abs(true_slope)
assert abs(wide["bias"]) > 2 * abs(trade[0.1]["bias"])
# 6. AuxK: mine equals npsae's; the dead units get a gradient from AuxK and none from the
# reconstruction; the live units none from AuxK; the check passes.
assert aux_diff < 1e-12 and check_auxk.passed
assert np.abs(parts["aux"]["W1"][:, D]).max() > 0 and np.abs(parts["recon"]["W1"][:, D]).max() == 0
assert np.abs(parts["aux"]["W1"][:, live]).max() == 0
print("every claim holds on seed", SEED)

# %% [markdown]
# ## References
#
# - [Bussmann et al. 2024] Bart Bussmann, Patrick Leask, Neel Nanda. "BatchTopK Sparse
#   Autoencoders." arXiv:2412.06410, 2024.
# - [Gao et al. 2024] Leo Gao, Tom Dupré la Tour, Henk Tillman, Gabriel Goh, Rajan Troll, Alec
#   Radford, Ilya Sutskever, Jan Leike, Jeffrey Wu. "Scaling and evaluating sparse autoencoders."
#   arXiv:2406.04093, 2024. Scaled TopK, added AuxK.
# - [Makhzani & Frey 2014] Alireza Makhzani, Brendan Frey. "k-Sparse Autoencoders." ICLR 2014.
#   arXiv:1312.5663 (2013). TopK is theirs.
# - [Ng 2011] Andrew Ng. "Sparse autoencoder." CS294A Lecture notes, Stanford University, 2011.
# - [Rajamanoharan et al. 2024] Senthooran Rajamanoharan, Tom Lieberum, Nicolas Sonnerat, Arthur
#   Conmy, Vikrant Varma, János Kramár, Neel Nanda. "Jumping Ahead: Improving Reconstruction
#   Fidelity with JumpReLU Sparse Autoencoders." arXiv:2407.14435, 2024.
