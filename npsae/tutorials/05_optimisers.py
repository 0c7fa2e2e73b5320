# %% [markdown]
# # 05 - Optimisers: gradient descent, momentum and Adam
#
# Backpropagation (tutorial 04) gives the gradient $g = \partial L / \partial p$ of every
# parameter $p$. An optimiser turns gradients into steps. Three classic rules, each a line or
# two, with the learning rate $\eta$ (`lr`) and the step number $t = 1, 2, \dots$:
#
# * SGD: $\quad p \leftarrow p - \eta\, g$
# * momentum ($\mu$ = `momentum`): $\quad v \leftarrow \mu v - \eta\, g, \quad p \leftarrow p + v$
# * Adam ($\beta_1$, $\beta_2$ = `beta1`, `beta2`; all operations element-wise):
#
# $$m \leftarrow \beta_1 m + (1 - \beta_1)\, g, \qquad
#   s \leftarrow \beta_2 s + (1 - \beta_2)\, g^2, \qquad
#   p \leftarrow p - \eta\, \frac{m / (1 - \beta_1^t)}{\sqrt{s / (1 - \beta_2^t)} + \epsilon}$$
#
# We first watch them on a two-parameter valley, then train the same autoencoder on the same
# MNIST batches with each and compare the loss curves.
#
# As a script: `python 05_optimisers.py [FIGURE_FOLDER] [--full]`

# %%
import matplotlib.pyplot as plt
import numpy as np
from _common import FULL, save

from npsae.datasets import as_float, load_mnist
from npsae.model import SparseAutoencoder
from npsae.optim import SGD, Adam, adam_step, sgd_step
from npsae.training import fit

# %% [markdown]
# ## A narrow valley
#
# $$f(p) = \tfrac{1}{2} \left(p_0^2 + 25\, p_1^2\right)$$
#
# is 25 times steeper across ($p_1$) than along ($p_0$), like many loss surfaces. Its gradient is
# $g = (p_0,\ 25\, p_1)$. Plain gradient descent needs a step small enough for the steep
# direction ($\eta < 2/25$, or it diverges), which is then tiny for the flat one.


# %%
def valley(p):
    return 0.5 * (p[0] ** 2 + 25 * p[1] ** 2)


def valley_grad(p):
    return np.array([p[0], 25 * p[1]])


def descend(rule, steps=60, start=(-4.0, 1.5)):
    """The path of p from ``start`` under ``rule(p, g, state, t) -> (p, state)``."""
    p, state, path = np.array(start), None, [np.array(start)]
    for t in range(1, steps + 1):
        p, state = rule(p, valley_grad(p), state, t)
        path.append(p)
    return np.array(path)


def sgd_rule(lr, mu):
    def rule(p, g, velocity, t):
        velocity = np.zeros_like(p) if velocity is None else velocity
        return sgd_step(p, g, velocity, lr=lr, momentum=mu)  # npsae's reference update

    return rule


def adam_rule(lr):
    def rule(p, g, moments, t):
        m, s = (np.zeros_like(p), np.zeros_like(p)) if moments is None else moments
        p, m, s = adam_step(p, g, m, s, t, lr=lr, beta1=0.9, beta2=0.999, eps=1e-7)
        return p, (m, s)

    return rule


paths = {
    "SGD, lr 0.07": descend(sgd_rule(0.07, 0.0)),
    "momentum, lr 0.02, mu 0.8": descend(sgd_rule(0.02, 0.8)),
    "Adam, lr 0.3": descend(adam_rule(0.3)),
}
for label, path in paths.items():
    print(f"{label:<27} after 60 steps p = {np.round(path[-1], 4)},  f = {valley(path[-1]):.2e}")

# %% [markdown]
# The three paths on the contour lines of $f$. SGD zig-zags across the valley and crawls along
# it; momentum builds up speed along the valley floor; Adam divides each coordinate's step by the
# size of its recent gradients, so both coordinates move at about $\eta$ per step.

# %%
g0, g1 = np.meshgrid(np.linspace(-4.5, 1.5, 200), np.linspace(-1.8, 1.8, 200))
fig, axes = plt.subplots(1, 3, figsize=(14, 3.8), sharey=True)
for ax, (label, path) in zip(axes, paths.items(), strict=True):
    ax.contour(g0, g1, valley((g0, g1)), levels=np.geomspace(0.05, 60, 12), colors="grey",
               linewidths=0.6)  # fmt: skip
    ax.plot(path[:, 0], path[:, 1], "o-", ms=3, lw=1, color="tab:red")
    ax.plot(0, 0, "k*", ms=10)
    ax.set(title=label, xlabel="$p_0$", xlim=(-4.5, 1.5), ylim=(-1.8, 1.8))
axes[0].set_ylabel("$p_1$")
fig.suptitle(r"60 steps on $f(p) = (p_0^2 + 25 p_1^2) / 2$, from (-4, 1.5) towards the minimum *")
fig.tight_layout()
save(fig, "05_valley_paths.png")

# %% [markdown]
# ## Adam overshoots, and finishes last
#
# Look again at the numbers: Adam ends *farthest* from the minimum. Its path shoots across the
# valley floor to $p_1 \approx -0.6$, later past the minimum to $p_0 \approx 0.85$, and is still
# circling at step 60. Two things in its rule cause this:
#
# * its step does not shrink as the gradient does. While the gradient of a coordinate keeps its
#   sign, $m / \sqrt{s}$ is close to $\pm 1$ (after the bias corrections), so every step is about
#   $\eta$ long, near the minimum as far from it. Gradient descent, whose step is $\eta\, g$,
#   slows down by itself as $g \to 0$; Adam does not;
# * $m$ is a running mean of the gradients ($\beta_1 = 0.9$ remembers about ten steps): a
#   momentum, which keeps the parameters moving after the gradient has changed sign.
#
# So $\eta$ sets both how fast Adam travels and how closely it can settle. A smaller rate
# overshoots less but travels slower:

# %%
for lr in (0.3, 0.1, 0.03):
    path = descend(adam_rule(lr))
    print(f"Adam, lr {lr:<4}: f after 60 steps {valley(path[-1]):.2e},  largest p_0 "
          f"{path[:, 0].max():+.2f},  smallest p_1 {path[:, 1].min():+.2f}")  # fmt: skip

# %% [markdown]
# At $\eta = 0.03$ sixty steps of about $0.03$ cannot even cover the distance 4 to the minimum.
# In training this is why Adam is run with a small rate (Keras' default is 0.001) or with a rate
# that decays over time, and why its loss curve keeps a little noise at the end: on a real loss
# surface it settles into a region, not onto a point. What Adam buys is the other half of the
# story: every coordinate moves, however small its gradient, as the autoencoder shows next.

# %% [markdown]
# ## The same rules on the autoencoder
#
# The optimiser classes apply these updates to every parameter array in place:
# `optimizer.step(model.params, grads)`. One SGD step from the classes equals the formula:

# %%
n_train = 60000 if FULL else 10000
images, _ = load_mnist("train")
X = as_float(images[:n_train])
print("training data:", X.shape)

# Sigmoid hidden units with the article's loss: mse + 0.1 * sum_j KL(0.05 || rho^_j).
model = SparseAutoencoder(784, 64, hidden="sigmoid", rho=0.05, beta=0.1, seed=0)
check = model.copy()
loss, grads = check.loss_and_grads(X[:256])
before = check.params["W1"].copy()
SGD(lr=0.5).step(check.params, grads)
print("SGD class == p - lr g:", np.allclose(check.params["W1"], before - 0.5 * grads["W1"]))

# %% [markdown]
# Now train three copies of the same initial model on the same sequence of mini-batches of 256
# images, so that only the update rule differs. This loop is the heart of training:
#
# ```python
# for batch in batches:
#     loss, grads = model.loss_and_grads(batch)
#     optimizer.step(model.params, grads)
# ```
#
# Learning rates: SGD 1.0; momentum 0.1 with $\mu = 0.9$ (in a steady state the velocity adds up
# to $\eta / (1 - \mu) = 1.0$ per unit gradient, the same effective step); Adam 0.001 (Keras'
# default). The mse gradients are tiny (mse divides by $784\, m$), hence SGD's large rate.

# %%
steps = 2000 if FULL else 600
rng = np.random.default_rng(0)
batches = [rng.integers(0, len(X), 256) for _ in range(steps)]
optimisers = {
    "SGD (lr 1)": SGD(lr=1.0),
    "momentum (lr 0.1, mu 0.9)": SGD(lr=0.1, momentum=0.9),
    "Adam (lr 0.001)": Adam(lr=1e-3),
}
curves = {}
for label, opt in optimisers.items():
    trained = model.copy()
    losses = []
    for idx in batches:
        loss, grads = trained.loss_and_grads(X[idx])
        opt.step(trained.params, grads)
        losses.append((loss["total"], loss["recon"], loss["sparsity"]))
    curves[label] = np.array(losses)
    total, recon, sparsity = curves[label][-20:].mean(axis=0)
    print(f"{label:<26} last 20 steps: loss {total:.4f} = recon {recon:.4f} + sparsity "
          f"{sparsity:.4f}")  # fmt: skip

# %% [markdown]
# Loss curves side by side. What to look for:
#
# * the sparsity term starts near 3.2 (untrained sigmoid units sit near 0.5, far from
#   $\rho = 0.05$) and falls within a few dozen steps under every rule; momentum overshoots once
#   (the bump);
# * the reconstruction error is where the rules differ. Its gradients are far smaller than the
#   KL term's, and one learning rate for all parameters must suit the largest gradients, so SGD
#   and momentum crawl. Adam divides each parameter's step by its own gradient scale
#   $\sqrt{s / (1 - \beta_2^t)}$, so the small mse gradients get full-size steps too;
# * the dotted lines are two baselines (tutorial 06): the mse of predicting the mean training
#   image, and of predicting an all-black image. An untrained model (every output near 0.5) is
#   worse than both; after these few hundred steps only Adam has come below the all-black one.
#   Tutorial 06 trains for ten epochs and ends far below both.

# %%
fig, (ax_total, ax_recon) = plt.subplots(1, 2, figsize=(12, 4.2))
for label, curve in curves.items():
    ax_total.plot(curve[:, 0], label=label, lw=1)
    ax_recon.plot(curve[:, 1], label=label, lw=1)
for name, value in (
    ("mean image", np.mean((X.mean(axis=0) - X) ** 2)),
    ("all black", np.mean(X**2)),
):
    ax_recon.axhline(value, color="grey", ls=":", lw=1)
    ax_recon.annotate(f"{name} {value:.3f}", (0, value), xytext=(2, 2), textcoords="offset points",
                      fontsize=8, color="grey")  # fmt: skip
ax_total.set(xlabel="step (batch of 256)", ylabel="total loss", yscale="log",
             title=r"total loss = mse + 0.1 $\sum_j$ KL")  # fmt: skip
ax_recon.set(xlabel="step (batch of 256)", ylabel="mse", title="reconstruction term (mse)")
ax_total.legend()
save(fig, "05_optimiser_curves.png")

# %% [markdown]
# The trainer, `npsae.training.fit`, runs this loop over shuffled epochs and records one row of
# averages per epoch in a `History`. Two epochs with each optimiser (fresh ones: their state, the
# velocities and moments, belongs to the parameters they were stepping):

# %%
epochs = 10 if FULL else 2
for label, opt in (("SGD", SGD(lr=1.0)), ("momentum", SGD(0.1, 0.9)), ("Adam", Adam())):
    history = fit(model.copy(), X, epochs=epochs, batch_size=256, optimizer=opt, verbose=0)
    print(f"{label:<9} per-epoch loss: {np.round(history['loss'], 4)}")

# %% [markdown]
# ## Try it yourself
#
# 1. On the valley, predict what plain SGD does with $\eta = 0.085$ (just above $2/25$), then run
#    `descend(sgd_rule(0.085, 0.0))` and look at $p_1$.
# 2. Give Adam a decaying rate on the valley: write a rule that calls `adam_step` with
#    $\eta_t = 0.3 / \sqrt{t}$. Predict whether it ends closer to the minimum than the constant
#    0.3, then check.
# 3. Train the autoencoder with SGD at $\eta = 10$ instead of 1. Predict the shape of the
#    reconstruction curve before you look.
