# %% [markdown]
# # 04 - Backpropagation term by term, and the gradient check
#
# Training needs the gradient of the loss with respect to every parameter ($W_1, b_1, W_2, b_2$).
# Here we derive it with the chain rule, one line of NumPy per equation, compare with what the
# model computes, and then check both against finite differences, the test every hand-written
# gradient must pass. Finally we plant two classic bugs and watch the check catch them.
#
# Setting (Ng's sparse autoencoder, Ng 2011): sigmoid hidden and output units, the sse
# reconstruction error, a KL sparsity penalty and weight decay:
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
from _common import SEED, save, say

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
model = SparseAutoencoder(n_in=12, n_hidden=5, recon="sse", rho=rho, beta=beta, weight_decay=lam,
                          dtype=np.float64, seed=SEED)  # fmt: skip
rng = np.random.default_rng(SEED)
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
# one pair of loss evaluations per entry. Try writing it yourself before reading the next cell: a
# loop over the entries of `W1`, each nudged up and down by $\varepsilon$ and restored, the loss
# evaluated each time. Then compare yours with npsae's `numerical_gradient`.


# %%
def centred_differences(loss, A, eps):
    """dL/dA by centred differences, one entry at a time; A is changed in place and restored."""
    grad = np.zeros_like(A)
    for index in np.ndindex(A.shape):
        saved = A[index]
        A[index] = saved + eps
        up = loss()
        A[index] = saved - eps
        down = loss()
        A[index] = saved
        grad[index] = (up - down) / (2 * eps)
    return grad


eps = 1e-6
numeric_W1 = centred_differences(lambda: model.loss(X)["total"], model.params["W1"], eps)
print("dW1 analytic [0, :4]", dW1[0, :4])
print("dW1 numeric  [0, :4]", numeric_W1[0, :4])
# npsae's numerical_gradient is the same loop (it passes the array to the function, which may
# ignore it and simply re-read the model).
package_W1 = numerical_gradient(lambda _: model.loss(X)["total"], model.params["W1"], eps)
print("max |yours - numerical_gradient| =", np.abs(numeric_W1 - package_W1).max())
assert np.allclose(numeric_W1, package_W1, rtol=0, atol=1e-12)

# %% [markdown]
# Two ways to compare the analytic gradient $a$ with the numerical one $n$:
#
# * entry-wise, as the CS231n course measures it (CS231n):
#   $\max_i \dfrac{|a_i - n_i|}{\max(|a_i| + |n_i|, \text{tiny})}$, want $\le 10^{-7}$
#   (`relative_error`). This is the form of the course's assignment code; its notes divide by
#   $\max(|a_i|, |n_i|)$ instead, which gives between one and two times this value. `tiny` keeps
#   an entry whose gradient is 0 on both sides from dividing 0 by 0: below it, finite differences
#   cannot tell a gradient from rounding (`resolution_floor`);
# * the whole vector at once, as in Ng's notes (Ng 2011):
#   $\dfrac{\lVert n - a \rVert}{\lVert n + a \rVert}$, expected to be about $10^{-9}$
#   (`norm_error`).
#
# Both by hand (try them first), then with npsae's functions:

# %%
tiny = resolution_floor(model_loss["total"], eps)  # below this, finite differences cannot resolve
a, n = dW1, numeric_W1
rel_by_hand = np.max(np.abs(a - n) / np.maximum(np.abs(a) + np.abs(n), tiny))
norm_by_hand = np.linalg.norm(n - a) / np.linalg.norm(n + a)
rel_npsae, norm_npsae = relative_error(a, n, tiny), norm_error(a, n)
print(f"entry-wise relative error {rel_by_hand:.2e}   relative_error {rel_npsae:.2e}")
print(f"norm error                {norm_by_hand:.2e}   norm_error     {norm_npsae:.2e}")
assert np.isclose(rel_by_hand, rel_npsae) and np.isclose(norm_by_hand, norm_npsae)
assert rel_by_hand <= 1e-7

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
relu_model = SparseAutoencoder(12, 5, hidden="relu", sparsity="l1", beta=0.01, dtype=np.float64,
                               seed=SEED)  # fmt: skip
relu_check = gradient_check(relu_model, kink_free_batch(relu_model, m=8, seed=SEED))
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
errors = {}  # (version, parameter) -> relative error
for label, analytic in versions.items():
    for k in analytic:
        errors[label, k] = relative_error(analytic[k], numeric[k], tiny)
        ne = norm_error(analytic[k], numeric[k])
        ok = "yes" if errors[label, k] <= 1e-7 else "NO"
        print(f"{label:<16} {k:<5} {errors[label, k]:10.2e} {ne:10.2e}  {ok}")
say(f"Without the $1/m$ the decoder's relative errors are {errors['no 1/m', 'b2']:.3f} ($b_2$) "
    f"and {errors['no 1/m', 'W2']:.3f} ($W_2$), and $(m - 1)/(m + 1) = {(m - 1) / (m + 1):.3f}$ "
    f"for $m = {m}$; the encoder's are {errors['no 1/m', 'W1']:.3f} and "
    f"{errors['no 1/m', 'b1']:.3f}. With the KL sign flipped, $W_2$ and $b_2$ pass (relative "
    f"errors {errors['KL sign flipped', 'W2']:.0e} and {errors['KL sign flipped', 'b2']:.0e}), "
    f"$W_1$ and $b_1$ fail ({errors['KL sign flipped', 'W1']:.2f} and "
    f"{errors['KL sign flipped', 'b1']:.2f}).")  # fmt: skip

# %% [markdown]
# What to read in the table:
#
# * "no 1/m": the decoder ($W_2$, $b_2$) fails with relative error close to $(m - 1)/(m + 1)$:
#   an analytic gradient $m$ times the numerical one gives $|m n - n| / (|m n| + |n|)$ in every
#   entry, the signature of a missing $1/m$. Exactly so for $b_2$; $W_2$'s differs a little,
#   because its weight-decay part $\lambda W_2$ is not multiplied by $m$. The encoder fails less
#   clearly, because there the (correct) KL term, which the bug leaves alone, makes up part of
#   the gradient.
# * "KL sign flipped": $W_2$ and $b_2$ still pass (the KL term never reaches the decoder), $W_1$
#   and $b_1$ fail: the check points at the layer, and by elimination at the term, that is wrong.
#
# The run's numbers are printed under the table.
#
# The same three versions as pictures: each dot is one entry of `dW1` (top) or `dW2` (bottom),
# analytic against numerical. A correct gradient lies on the diagonal. Without the $1/m$ the
# decoder gradient lies on a line of slope $m$ (here 8); with the KL sign flipped the encoder
# gradient moves off the diagonal.

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

# %%
# The claims of the text above, checked on this run.
assert result.passed and relu_check.passed
assert all(errors["correct", k] <= 1e-7 for k in ("W1", "b1", "W2", "b2"))
# No 1/m: the decoder's error is (m - 1)/(m + 1), exactly for b2, nearly for W2 (weight decay).
assert np.isclose(errors["no 1/m", "b2"], (m - 1) / (m + 1), rtol=1e-4)
assert np.allclose(versions["no 1/m"]["b2"], m * numeric["b2"], rtol=1e-5, atol=1e-9)  # slope m
assert abs(errors["no 1/m", "W2"] - (m - 1) / (m + 1)) < 0.05
assert 1e-7 < errors["no 1/m", "W1"] < (m - 1) / (m + 1)  # fails, less clearly
assert errors["KL sign flipped", "W2"] <= 1e-7 and errors["KL sign flipped", "b2"] <= 1e-7
assert errors["KL sign flipped", "W1"] > 1e-2 and errors["KL sign flipped", "b1"] > 1e-2

# %% [markdown]
# ## Try it yourself
#
# 1. Plant a third bug in `backprop`: forget the $\lambda W_2$ term of step 3. Before running the
#    check, predict which parameters fail and whether the error will be large or small (compare
#    $\lambda$ with the size of the other terms); then run it. 2. Change `eps` in the gradient check
#    to $10^{-2}$, then to $10^{-10}$. Predict how the relative error of the *correct* gradient
#    moves in each case, and explain what you see. 3. With $m = 8$ the missing $1/m$ gave a relative
#    error of $(m - 1)/(m + 1) = 7/9$. What will it be for a batch of $m = 32$? Change the batch and
#    check your formula.

# %% [markdown]
# ## References
#
# - [Ng 2011] Andrew Ng. "Sparse autoencoder." CS294A Lecture notes, Stanford University, 2011.
# - [CS231n] Stanford CS231n: Convolutional Neural Networks for Visual Recognition, course notes,
#   "Neural Networks Part 3: Learning and Evaluation" (gradient checks: the notes' relative error
#   divides by max(|a|, |n|); the assignments' code divides by |a| + |n|).
