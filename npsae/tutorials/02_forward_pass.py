# %% [markdown]
# # 02 - The forward pass, one image at a time and then a whole batch
#
# An autoencoder maps an input $x$ to a code $H$ and back to a reconstruction $\hat X$:
#
# $$\begin{aligned}
# Z_1 &= x W_1 + b_1 && \text{the encoder's weighted sums} \\
# H &= f(Z_1) && \text{the hidden activations, the "code"} \\
# Z_2 &= H W_2 + b_2 && \text{the decoder's weighted sums} \\
# \hat X &= g(Z_2) && \text{the reconstruction}
# \end{aligned}$$
#
# with $f, g$ element-wise non-linearities. In the code: `Z1`, `H`, `Z2`, `X_hat`, and the
# parameters `W1`, `b1`, `W2`, `b2`. We compute each line with NumPy for one MNIST digit,
# printing the shapes, then for a batch, and check against the model's own `encode` and
# `reconstruct`. The model is untrained here: the point is the arithmetic, not the result
# (training is tutorials 05-06).
#
# As a script: `python 02_forward_pass.py [FIGURE_FOLDER]`

# %%
import matplotlib.pyplot as plt
import numpy as np
from _common import SEED, save, say

from npsae.datasets import as_float, load_mnist
from npsae.model import SparseAutoencoder
from npsae.reference import relu, sigmoid

images, labels = load_mnist("test")
X_all = as_float(images[:256])  # 256 digits as rows of 784 numbers in [0, 1]
x = X_all[:1]  # one digit, kept 2-D: a batch of m = 1 row
print("one image x:", x.shape, "  label:", labels[0])

# %% [markdown]
# The Keras article's architecture (GeeksforGeeks 2025): 784 inputs $\to$ 64 hidden units $\to$ 784
# outputs. The model holds `W1` $(784, 64)$, `b1` $(64,)$, `W2` $(64, 784)$, `b2` $(784,)$. The
# weights start random, uniform in $[-r, r]$ with $r = \sqrt{6 / (784 + 64)}$: Glorot and Bengio's
# choice, made so that the variance of the activations going forward, and of the gradients going
# backward, stays about the same from layer to layer (Glorot & Bengio 2010). The biases start at 0.
# The seed of the weights is the tutorial's (`SEED`, from `$NPSAE_TUTORIAL_SEED`, 0 by default).

# %%
model = SparseAutoencoder(n_in=784, n_hidden=64, hidden="sigmoid", output="sigmoid", seed=SEED)
print(model)
W1, b1, W2, b2 = (model.params[k] for k in ("W1", "b1", "W2", "b2"))
for name, p in model.params.items():
    print(f"{name}: {p.shape} {p.dtype}")
r = np.sqrt(6 / (784 + 64))
print(f"W1 entries lie in [{W1.min():.4f}, {W1.max():.4f}]; r = {r:.4f}")

# %% [markdown]
# ## One image

# %% [markdown]
# $Z_1 = x W_1 + b_1$: $(1, 784) \cdot (784, 64) \to (1, 64)$, plus $b_1$ $(64,)$ added to the
# row. Entry $j$ is a weighted sum over the 784 pixels:
#
# $$Z_{1,j} = \sum_{k=0}^{783} x_k W_{1,kj} + b_{1,j}$$

# %%
Z1 = x @ W1 + b1
print("Z1:", Z1.shape, " first five:", Z1[0, :5])
j = 0
print(f"Z1_0 as an explicit sum over 784 pixels: {sum(x[0, k] * W1[k, j] for k in range(784)):.6f}")

# %% [markdown]
# $H = f(Z_1)$ with the sigmoid $f(z) = \sigma(z) = \dfrac{1}{1 + e^{-z}}$: every activation
# lies in $(0, 1)$.

# %%
H = sigmoid(Z1)
print("H:", H.shape, f" range [{H.min():.3f}, {H.max():.3f}]", " first five:", H[0, :5])

# %% [markdown]
# $Z_2 = H W_2 + b_2$: $(1, 64) \cdot (64, 784) \to (1, 784)$; $\hat X = g(Z_2)$, again the
# sigmoid, so every reconstructed pixel lies in $(0, 1)$ like the inputs.

# %%
Z2 = H @ W2 + b2
X_hat = sigmoid(Z2)
print("Z2:", Z2.shape, "  X^:", X_hat.shape, f" range [{X_hat.min():.3f}, {X_hat.max():.3f}]")

# %% [markdown]
# The model computes the same (with its compiled Numba kernels, in float32):
# `model.encode(x)` is $f(x W_1 + b_1)$ and `model.reconstruct(x)` is
# $g(f(x W_1 + b_1) W_2 + b_2)$.

# %%
print("max |H - model.encode(x)|       =", np.abs(H - model.encode(x)).max())
print("max |X^ - model.reconstruct(x)| =", np.abs(X_hat - model.reconstruct(x)).max())
assert np.allclose(H, model.encode(x), atol=1e-6)
assert np.allclose(X_hat, model.reconstruct(x), atol=1e-6)

# %% [markdown]
# ## A batch: the same equations, m rows at once
#
# Stack $m$ images as the rows of $X$: $(m, 784)$. Then $X W_1$ is $(m, 64)$: row $i$ is image
# $i$'s $Z_1$. The bias $b_1$ $(64,)$ is "broadcast", added to every row. Nothing else changes.

# %%
X = X_all
Z1_batch = X @ W1 + b1
H_batch = sigmoid(Z1_batch)
X_hat_batch = sigmoid(H_batch @ W2 + b2)
print(f"X {X.shape} -> Z1 {Z1_batch.shape} -> H {H_batch.shape} -> X^ {X_hat_batch.shape}")
# Row 0 of the batch is the single image from before (equal up to float32 rounding, ~1e-7: the
# matrix-product library may add the 784 products in another order for a batch):
print("max |batch row 0 - single image| =", np.abs(X_hat_batch[0] - X_hat[0]).max())
# and a Python loop over the rows gives the same as one matrix product:
looped = np.vstack([sigmoid(sigmoid(X[i : i + 1] @ W1 + b1) @ W2 + b2) for i in range(len(X))])
print("max |loop over rows - batch|     =", np.abs(looped - X_hat_batch).max())
print("max |batch - model.reconstruct|  =", np.abs(X_hat_batch - model.reconstruct(X)).max())
assert np.allclose(X_hat_batch, model.reconstruct(X), atol=1e-6)

# %% [markdown]
# The mean activation of each hidden unit over the batch,
#
# $$\hat\rho_j = \frac{1}{m} \sum_{i=1}^{m} H_{ij}$$
#
# (`rho_hat[j]` in the code), is what the sparsity penalty (tutorial 03) watches (Ng 2011). How
# often does an untrained sigmoid unit fire?

# %%
rho_hat = H_batch.mean(axis=0)
print("rho^:", rho_hat.shape, f" mean {rho_hat.mean():.3f}, range [{rho_hat.min():.3f}, "
      f"{rho_hat.max():.3f}]")  # fmt: skip
say(f"Every untrained sigmoid unit sits near 0.5: $\\hat\\rho_j$ lies between "
    f"{rho_hat.min():.2f} and {rho_hat.max():.2f}. With zero biases and weights spread evenly "
    "around 0, each unit's weighted sums $Z_1$ fall on both sides of 0, and their sigmoids "
    "average near $\\sigma(0) = 0.5$. Nothing is sparse yet.")  # fmt: skip

# %% [markdown]
# The Keras article (GeeksforGeeks 2025) uses ReLU hidden units instead, $f(z) = \max(z, 0)$:
# exactly 0 for $z \le 0$, unbounded above. Same $Z_1$, different $H$:

# %%
H_relu = relu(Z1_batch)
print(f"ReLU H: fraction exactly zero {np.mean(H_relu == 0):.2f}, largest value {H_relu.max():.2f}")
print(f"ReLU mean activations rho^ range [{H_relu.mean(0).min():.3f}, {H_relu.mean(0).max():.3f}]")
say(f"With ReLU units {np.mean(H_relu == 0):.0%} of the activations are exactly 0: those whose "
    "$Z_1 \\le 0$. The sigmoid turned the same numbers into values in $(0, 1)$, none of them "
    "0.")  # fmt: skip

# %%
# The picture: a digit, its 64-number code, and the (untrained) reconstruction; and the codes
# of 40 digits as a heat map, one row per image.
fig = plt.figure(figsize=(12, 6.5))
grid = fig.add_gridspec(2, 4, height_ratios=[1, 1.1])
ax = fig.add_subplot(grid[0, 0])
ax.imshow(x.reshape(28, 28), cmap="gray_r")
ax.set_title(f"input x (a {labels[0]}), 784 pixels")
ax.axis("off")
ax = fig.add_subplot(grid[0, 1:3])
ax.bar(np.arange(64), H[0], color="tab:blue")
ax.set(xlabel="hidden unit j", ylabel="$H_j$", ylim=(0, 1), title=r"code $H = \sigma(x W_1 + b_1)$")
ax = fig.add_subplot(grid[0, 3])
ax.imshow(X_hat.reshape(28, 28), cmap="gray_r", vmin=0, vmax=1)
ax.set_title("reconstruction $\\hat X$\n(untrained: grey noise)")
ax.axis("off")
for col, (name, codes) in enumerate((("sigmoid", H_batch[:40]), ("ReLU", H_relu[:40]))):
    ax = fig.add_subplot(grid[1, 2 * col : 2 * col + 2])
    im = ax.imshow(codes, aspect="auto", cmap="viridis")
    ax.set(xlabel="hidden unit j", ylabel="image i", title=f"{name} codes H of 40 digits")
    fig.colorbar(im, ax=ax)
fig.tight_layout()
save(fig, "02_forward_pass.png")

# %%
# The claims of the text above, checked on this run.
assert np.abs(W1).max() <= r * (1 + 1e-6) and np.abs(W1).max() > 0.99 * r  # in [-r, r]
assert np.all(b1 == 0) and np.all(b2 == 0)
assert np.all((0.3 < rho_hat) & (rho_hat < 0.7))  # untrained sigmoid units sit near 0.5
assert np.array_equal(H_relu == 0, Z1_batch <= 0) and np.all(H_batch > 0)

# %% [markdown]
# ## Try it yourself
#
# 1. Write the shapes of `Z1`, `H`, `Z2` and `X_hat` for a batch of $m = 7$ images and a model
#    with 100 hidden units; then build that model and check.
# 2. Predict the mean of `rho_hat` for untrained sigmoid units if every bias `b1` were set to
#    $-3$ instead of 0. Set `model.params["b1"][:] = -3`, recompute, and explain the number.
# 3. Compute `H_batch` with the loop over rows and with one matrix product, and time both with
#    `%timeit` for $m = 256$. How many times faster is the product?

# %% [markdown]
# ## References
#
# - [Ng 2011] Andrew Ng. "Sparse autoencoder." CS294A Lecture notes, Stanford University, 2011.
# - [Glorot & Bengio 2010] Xavier Glorot, Yoshua Bengio. "Understanding the difficulty of training
#   deep feedforward neural networks." AISTATS 2010.
# - [GeeksforGeeks 2025] GeeksforGeeks. "Sparse Autoencoders in Deep Learning." Last updated 23 July
#   2025. The Keras tutorial this package grew from (784 -> 64 ReLU -> 784 sigmoid, mse + 0.1
#   KL(0.05), Adam, batch 256, 50 epochs).
