# %% [markdown]
# # 04 - Backpropagation term by term, and the gradient check
#
# Training needs the gradient of the loss with respect to every parameter ($W_1, b_1, W_2, b_2$).
# Here we derive it with the chain rule, one line of NumPy per equation, compare with what the
# model computes, and then check both against finite differences, the test every hand-written
# gradient must pass. Finally we plant two classic bugs and watch the check catch them.
#
# Setting (Ng's sparse autoencoder): sigmoid hidden and output units, the sse reconstruction
# error, a KL sparsity penalty and weight decay:
#
# $$L = \frac{1}{2m} \sum_{i,k} (\hat X_{ik} - X_{ik})^2
#   + \beta \sum_j \mathrm{KL}(\rho \,\Vert\, \hat\rho_j)
#   + \frac{\lambda}{2} \left(\lVert W_1 \rVert^2 + \lVert W_2 \rVert^2\right)$$
#
# In the code $\lambda$ is `lam`, $\hat\rho$ `rho_hat`, $\hat X$ `X_hat`.
#
# As a script: `python 04_backprop_gradcheck.py [FIGURE_FOLDER]`

# %%
import matplotlib.pyplot as plt
import numpy as np
from _common import save

from npsae.gradcheck import (
    gradient_check,
    kink_free_batch,
    norm_error,
    numerical_gradient,
    relative_error,
    resolution_floor,
)
from npsae.model import SparseAutoencoder
from npsae.penalties import kl_divergence, kl_divergence_grad
from npsae.reference import sigmoid, sigmoid_grad, sse

# A small model (gradient checks cost two loss evaluations per parameter entry) in float64:
# in float32 the finite differences themselves are only good to about three digits.
rho, beta, lam = 0.1, 3.0, 1e-3
model = SparseAutoencoder(
    n_in=12, n_hidden=5, recon="sse", rho=rho, beta=beta, weight_decay=lam, dtype=np.float64
)
rng = np.random.default_rng(0)
X = rng.random((8, 12))
m = X.shape[0]
print(model)
print("X", X.shape, " params:", {k: v.shape for k, v in model.params.items()})

# %% [markdown]
# ## The forward pass, keeping what the backward pass needs
#
# $$Z_1 = X W_1 + b_1, \quad H = \sigma(Z_1), \quad Z_2 = H W_2 + b_2, \quad
#   \hat X = \sigma(Z_2), \quad \hat\rho_j = \frac{1}{m} \sum_i H_{ij}$$

# %%
W1, b1, W2, b2 = (model.params[k] for k in ("W1", "b1", "W2", "b2"))
H = sigmoid(X @ W1 + b1)
X_hat = sigmoid(H @ W2 + b2)
rho_hat = H.mean(axis=0)
loss = sse(X_hat, X) + beta * kl_divergence(rho, rho_hat).sum()
loss += lam / 2 * (np.sum(W1**2) + np.sum(W2**2))
print(f"H {H.shape}  X^ {X_hat.shape}  rho^ {rho_hat.shape}")
print(f"loss by hand {loss:.10f}   model.loss {model.loss(X)['total']:.10f}")

# %% [markdown]
# ## The backward pass, from the loss back to the inputs
#
# Each line is one application of the chain rule. Shapes follow the parameters: `dW1` has the
# shape of `W1`, and so on. Below, $dA$ stands for $\partial L / \partial A$ (the code's `dA`),
# $\odot$ is the element-wise product, and $\sigma'(Z) = \sigma(Z)\,(1 - \sigma(Z))$:
#
# $$\begin{aligned}
# &\text{1. the reconstruction error} & d\hat X &= (\hat X - X) / m
#   && (m, n_\text{in}) \\
# &\text{2. the output sigmoid} & dZ_2 &= d\hat X \odot \hat X (1 - \hat X)
#   && (m, n_\text{in}) \\
# &\text{3. the decoder, linear} & dW_2 &= H^\top dZ_2 + \lambda W_2, \quad
#   db_2 = \textstyle\sum_i dZ_{2,i} && \text{like } W_2, b_2 \\
# &\text{4. back to the code} & dH &= dZ_2\, W_2^\top
#   && (m, n_\text{hidden}) \\
# &\text{5. the sparsity term} & c_j &= \tfrac{\beta}{m}
#   \left(-\tfrac{\rho}{\hat\rho_j} + \tfrac{1 - \rho}{1 - \hat\rho_j}\right)
#   && (n_\text{hidden},) \\
# &\text{6. the hidden sigmoid} & dZ_1 &= (dH + c) \odot H (1 - H)
#   && (m, n_\text{hidden}) \\
# &\text{7. the encoder, linear} & dW_1 &= X^\top dZ_1 + \lambda W_1, \quad
#   db_1 = \textstyle\sum_i dZ_{1,i} && \text{like } W_1, b_1
# \end{aligned}$$
#
# Step 5 holds because the sparsity term touches $H$ only through
# $\hat\rho_j = \frac{1}{m} \sum_i H_{ij}$ (tutorial 03); $c$ is the same for every sample $i$.

# %%
# 1. The reconstruction error:  d sse / d X^ = (X^ - X) / m                        (m, n_in)
dX_hat = (X_hat - X) / m
# 2. Through the output sigmoid, sigma'(Z2) = X^ (1 - X^):  dZ2 = dX^ * X^ (1 - X^)  (m, n_in)
dZ2 = dX_hat * sigmoid_grad(X_hat)
# 3. Z2 = H W2 + b2 is linear:  dW2 = H^T dZ2 + lambda W2,  db2 = sum_i dZ2_i
dW2 = H.T @ dZ2 + lam * W2
db2 = dZ2.sum(axis=0)
# 4. Back to the hidden activations:  dH = dZ2 W2^T                                 (m, n_hidden)
dH = dZ2 @ W2.T
# 5. The sparsity term touches H through rho^_j = (1/m) sum_i H_ij only, so each sample gets
#    c_j = (beta / m) (-rho / rho^_j + (1 - rho) / (1 - rho^_j))                   (n_hidden,)
c = beta / m * kl_divergence_grad(rho, rho_hat)
# 6. Through the hidden sigmoid:  dZ1 = (dH + c) * H (1 - H)                        (m, n_hidden)
dZ1 = (dH + c) * sigmoid_grad(H)
# 7. Z1 = X W1 + b1 is linear:  dW1 = X^T dZ1 + lambda W1,  db1 = sum_i dZ1_i
dW1 = X.T @ dZ1 + lam * W1
db1 = dZ1.sum(axis=0)
by_hand = {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}
for name, g in {"dX^": dX_hat, "dZ2": dZ2, "dH": dH, "c": c, "dZ1": dZ1}.items():
    print(f"{name:<4} {g.shape}")
for name, g in by_hand.items():
    print(f"d{name:<3} {g.shape}  (the shape of {name}: {model.params[name].shape})")

# %%
# The model's backward pass (here its Numba kernels) must give the same numbers.
model_loss, grads = model.loss_and_grads(X)
print(f"{'param':<6}{'max |hand - model|':>20}")
for name, g in by_hand.items():
    diff = np.abs(g - grads[name]).max()
    print(f"{name:<6}{diff:20.2e}")
    assert diff < 1e-12
print("the hand-written backward pass equals model.loss_and_grads")

# %% [markdown]
# ## The gradient check
#
# Both could share the same mistake. The independent judge is the definition of a derivative,
# with $e_i$ the $i$-th unit vector and a small step $\varepsilon$ (`eps`):
#
# $$\frac{\partial L}{\partial \theta_i} \approx
#   \frac{L(\theta + \varepsilon e_i) - L(\theta - \varepsilon e_i)}{2 \varepsilon}$$
#
# one pair of loss evaluations per entry. Two ways to compare the analytic gradient $a$ with the
# numerical one $n$:
#
# * CS231n, entry-wise: $\max_i \dfrac{|a_i - n_i|}{\max(|a_i| + |n_i|, \text{tiny})}$, want
#   $\le 10^{-7}$ (`relative_error`);
# * UFLDL, whole vector: $\dfrac{\lVert n - a \rVert}{\lVert n + a \rVert}$, UFLDL expects about
#   $10^{-9}$ (`norm_error`).

# %%
# numerical_gradient perturbs the array in place, so the function may simply re-read the model.
eps = 1e-6
numeric_W1 = numerical_gradient(lambda _: model.loss(X)["total"], model.params["W1"], eps)
tiny = resolution_floor(model_loss["total"], eps)  # below this, finite differences cannot resolve
print("dW1 analytic [0, :4]", dW1[0, :4])
print("dW1 numeric  [0, :4]", numeric_W1[0, :4])
print(f"entry-wise relative error {relative_error(dW1, numeric_W1, tiny):.2e}")
print(f"norm error                {norm_error(dW1, numeric_W1):.2e}")

# %% [markdown]
# `gradient_check` does this for every parameter and every loss term on its own (so a failing
# line says which term is wrong), on a float64 copy of the model. Each term's gradient comes from
# npsae's NumPy reference, where steps 1-7 above are written once per term: `recon_grads`,
# `sparsity_grads` and `decay_grads` in `npsae/reference.py` (`model.term_grads(X)` returns all
# three); the total comes from the model's own backend.

# %%
result = gradient_check(model, X)
print(result)
assert result.passed

# %% [markdown]
# With ReLU units the derivative jumps at $z = 0$; a finite difference that straddles the kink is
# wrong, whatever the code does. `kink_free_batch` draws inputs whose pre-activations stay clear
# of 0.

# %%
relu_model = SparseAutoencoder(12, 5, hidden="relu", sparsity="l1", beta=0.01, dtype=np.float64)
relu_check = gradient_check(relu_model, kink_free_batch(relu_model, m=8))
print(f"ReLU + L1: {'PASSED' if relu_check.passed else 'FAILED'}, "
      f"largest relative error {relu_check.max_rel_error:.1e}")  # fmt: skip

# %% [markdown]
# ## What a wrong gradient looks like
#
# The same backward pass as above, packed into a function with two switches for two classic bugs:
#
# * forgetting the $1/m$ of the mean ($\partial L / \partial \hat X = \hat X - X$): every
#   reconstruction gradient $m$ times too big;
# * a sign error in the KL derivative ($c_j \to -c_j$): the penalty would push $\hat\rho$ *away*
#   from $\rho$.


# %%
def backprop(params, X, drop_mean=False, flip_kl=False):
    """The gradients of the total loss, as derived above, with two optional bugs."""
    W1, b1, W2, b2 = (params[k] for k in ("W1", "b1", "W2", "b2"))
    m = X.shape[0]
    H = sigmoid(X @ W1 + b1)
    X_hat = sigmoid(H @ W2 + b2)
    dZ2 = (X_hat - X) / (1 if drop_mean else m) * sigmoid_grad(X_hat)
    c = beta / m * kl_divergence_grad(rho, H.mean(axis=0)) * (-1 if flip_kl else 1)
    dZ1 = (dZ2 @ W2.T + c) * sigmoid_grad(H)
    return {
        "W1": X.T @ dZ1 + lam * W1,
        "b1": dZ1.sum(axis=0),
        "W2": H.T @ dZ2 + lam * W2,
        "b2": dZ2.sum(axis=0),
    }


# The numerical gradient of the (correct) loss, once for every parameter.
numeric = {
    k: numerical_gradient(lambda _: model.loss(X)["total"], p, eps) for k, p in model.params.items()
}
versions = {
    "correct": backprop(model.params, X),
    "no 1/m": backprop(model.params, X, drop_mean=True),
    "KL sign flipped": backprop(model.params, X, flip_kl=True),
}
print(f"{'version':<16} {'param':<5} {'rel error':>10} {'norm error':>10}  ok")
for label, analytic in versions.items():
    for k in analytic:
        rel = relative_error(analytic[k], numeric[k], tiny)
        ne = norm_error(analytic[k], numeric[k])
        print(f"{label:<16} {k:<5} {rel:10.2e} {ne:10.2e}  {'yes' if rel <= 1e-7 else 'NO'}")

# %% [markdown]
# What to read in the table:
#
# * "no 1/m": the decoder ($W_2$, $b_2$) fails with relative error
#   $(m - 1)/(m + 1) = 7/9 \approx 0.78$: the gradient is $m$ times too big, the signature of a
#   missing $1/m$. The encoder fails less clearly, because there the (correct) KL term dominates
#   the gradient at this starting point.
# * "KL sign flipped": $W_2$ and $b_2$ still pass (the KL term never reaches the decoder), $W_1$
#   and $b_1$ fail: the check points at the layer, and by elimination at the term, that is wrong.
#
# The same three versions as pictures: each dot is one entry of `dW1` (top) or `dW2` (bottom),
# analytic against numerical. A correct gradient lies on the diagonal. Without the $1/m$ the
# decoder gradient lies on a line of slope $m = 8$; with the KL sign flipped the encoder gradient
# is mirrored.

# %%
fig, axes = plt.subplots(2, 3, figsize=(12, 8))
for col, (label, analytic) in enumerate(versions.items()):
    for row, k in enumerate(("W1", "W2")):
        ax = axes[row, col]
        n, a = numeric[k].ravel(), analytic[k].ravel()
        lim = 1.1 * max(np.abs(n).max(), np.abs(a).max())
        ax.plot([-lim, lim], [-lim, lim], color="grey", lw=0.8, ls="--")
        ax.scatter(n, a, s=10)
        ax.set(xlim=(-lim, lim), ylim=(-lim, lim), xlabel=f"numerical dL/d{k}", aspect="equal")
        ax.set_title(f"{label}, d{k}: rel. error {relative_error(a, n, tiny):.1e}", fontsize=10)
    axes[0, col].set_ylabel("analytic dL/dW1")
    axes[1, col].set_ylabel("analytic dL/dW2")
fig.suptitle("Gradient check: a correct gradient lies on the diagonal")
fig.tight_layout()
save(fig, "04_gradient_check.png")

# %% [markdown]
# ## Try it yourself
#
# 1. Plant a third bug in `backprop`: forget the $\lambda W_2$ term of step 3. Before running the
#    check, predict which parameters fail and whether the error will be large or small (compare
#    $\lambda$ with the size of the other terms); then run it.
# 2. Change `eps` in the gradient check to $10^{-2}$, then to $10^{-10}$. Predict how the relative
#    error of the *correct* gradient moves in each case, and explain what you see.
# 3. With $m = 8$ the missing $1/m$ gave a relative error of $7/9$. What will it be for a batch of
#    $m = 32$? Change the batch and check your formula.
