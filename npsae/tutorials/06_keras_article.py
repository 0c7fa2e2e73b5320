# %% [markdown]
# # 06 - The Keras sparse-autoencoder article, end to end, with npsae
#
# The article builds a sparse autoencoder for MNIST in eleven steps. Here is each step again,
# written with npsae, followed by a look at one weak spot of its recipe: a KL penalty on ReLU
# units. The article's settings:
#
# * 784 inputs $\to$ 64 ReLU units $\to$ 784 sigmoid outputs;
# * the loss $\mathrm{mse}(\hat X, X) + 0.1 \sum_j \mathrm{KL}(0.05 \,\Vert\, \hat\rho_j)$;
# * Adam (learning rate 0.001), batches of 256, 50 shuffled epochs; the article reports a loss
#   near 0.028.
#
# By default this tutorial trains on all 60000 training images for 10 epochs (about ten
# seconds); `--full` (or `NPSAE_TUTORIAL_FULL=1`) runs the article's 50 epochs.
#
# As a script: `python 06_keras_article.py [FIGURE_FOLDER] [--full]`

# %%
import matplotlib.pyplot as plt
import numpy as np
from _common import FULL, save

from npsae import plotting
from npsae.datasets import as_float, load_mnist
from npsae.evaluation import evaluate
from npsae.model import SparseAutoencoder
from npsae.optim import Adam
from npsae.penalties import RHO_HAT_EPS, kl_divergence
from npsae.training import fit

# %% [markdown]
# ## Steps 1-2: load MNIST and scale the pixels to [0, 1]
#
# Each $28 \times 28$ image becomes a row of 784 numbers, $x = \text{pixels} / 255$.

# %%
train_images, train_labels = load_mnist("train")
test_images, test_labels = load_mnist("test")
x_train = as_float(train_images)
x_test = as_float(test_images)
print(f"x_train {x_train.shape} {x_train.dtype}, x_test {x_test.shape}, "
      f"pixel range [{x_train.min()}, {x_train.max()}]")  # fmt: skip

# %% [markdown]
# ## Steps 3-5: the model and its sparse loss
#
# $$H = \mathrm{relu}(X W_1 + b_1), \qquad \hat X = \sigma(H W_2 + b_2)$$
#
# $$\text{loss} = \frac{1}{784\, m} \sum_{i,k} (\hat X_{ik} - X_{ik})^2
#   + 0.1 \sum_j \mathrm{KL}(0.05 \,\Vert\, \hat\rho_j),
#   \qquad \hat\rho_j = \frac{1}{m} \sum_i H_{ij}$$
#
# $\hat\rho_j$ (`rho_hat[j]`) is the mean activation of unit $j$ over the batch; in the code
# the article's names are kept: `sparsity_level` is $\rho = 0.05$ and `lambda_sparse` the
# weight $0.1$ (npsae calls them `rho` and `beta`). npsae knows this combination is delicate
# (tutorial 03): `model.caveats` says why, and `fit` warns of it when training starts.

# %%
input_dim, hidden_dim, sparsity_level, lambda_sparse = 784, 64, 0.05, 0.1
model = SparseAutoencoder(
    input_dim,
    hidden_dim,
    hidden="relu",
    output="sigmoid",
    recon="mse",
    sparsity="kl",
    rho=sparsity_level,
    beta=lambda_sparse,
    seed=0,
)
print(model)
for caveat in model.caveats:
    print("caveat:", caveat)

# %%
# The loss on one batch, by hand and from the model. (The article adds 1e-10 inside the logs;
# npsae clips rho_hat into [1e-6, 1 - 1e-6] instead. Both agree while every rho_hat is in (0, 1).)
batch = x_train[:256]
H = model.encode(batch)
rho_hat = H.mean(axis=0)
by_hand = np.mean((model.reconstruct(batch) - batch) ** 2)
by_hand += lambda_sparse * kl_divergence(sparsity_level, rho_hat.astype(np.float64)).sum()
print(f"loss by hand {by_hand:.6f}   model.loss {model.loss(batch)['total']:.6f}")

# %% [markdown]
# ## Steps 6-7: Adam, and training
#
# `fit` shuffles the samples each epoch, takes batches of 256, and for each computes the loss and
# its gradients and lets Adam update the parameters. It prints one line per epoch.

# %%
epochs = 50 if FULL else 10
history = fit(
    model,
    x_train,
    epochs=epochs,
    batch_size=256,
    optimizer=Adam(lr=1e-3),
    shuffle=True,
    validation=x_test,
)
print(f"final training loss {history['loss'][-1]:.4f} (the article reports about 0.028 after "
      f"50 epochs on 60000 images)")  # fmt: skip
save(plotting.history(history, title=f"Training history ({len(x_train)} images)"), "06_history.png")

# %% [markdown]
# ## Step 8: reconstruct the test set, and compare with two baselines
#
# A number such as "test mse 0.03" means little alone. Before trusting a model, compute what
# trivial predictors score, predictors that ignore the input entirely:
#
# * the all-black image, $\hat x = 0$: its mse is the mean squared pixel,
#   $\frac{1}{N \cdot 784} \sum_{i,k} X_{ik}^2$;
# * the mean training image, $\hat x = \bar x = \frac{1}{N_\text{train}} \sum_i x_i$, the best
#   constant prediction in squared error: its mse is the pixels' variance around $\bar x$.
#
# A model that does not beat the mean image has learned nothing about individual digits. (Early
# in training this one does not: its first epochs sit near a blurred average digit, the easy
# part of the loss, before the code starts to carry which digit it is.)

# %%
reconstructed = model.reconstruct(x_test)
test = evaluate(model, x_test)
mean_image = x_train.mean(axis=0)
baselines = {
    "mean image": np.mean((mean_image - x_test) ** 2),
    "all black": np.mean(x_test**2),
}
print(f"reconstructed {reconstructed.shape}; test loss {test['loss']:.4f}")
print(f"test mse, model      : {test['mse']:.4f}")
for name, value in baselines.items():
    print(f"test mse, {name:<11}: {value:.4f}")

# %% [markdown]
# ## Step 9: originals against reconstructions

# %%
fig = plotting.reconstructions(x_test, reconstructed, n=10, title="Test digits (top) and their "
                               f"reconstructions (bottom), after {epochs} epochs")  # fmt: skip
save(fig, "06_reconstructions.png")

# %% [markdown]
# ## Step 10: the encoded representations, done for 64 units
#
# The article scatters code dimensions 0 and 1, "assuming hidden_dim is 2". With 64 units, two
# arbitrary units show little. Three better views of the codes $H$:
#
# * the two units whose activations vary most over the test set;
# * the first two principal components of the 64-number codes (the plane along which the codes
#   spread most), coloured by digit;
# * the mean code of each digit class: which units respond to which digit.
#
# In the first view most points lie on the axes: a sparse ReLU code has most units at exactly 0,
# so of two units, usually at most one is active.

# %%
encoded = model.encode(x_test)
print("encoded test set:", encoded.shape)
busiest = np.argsort(encoded.var(axis=0))[::-1][:2]
centred = encoded - encoded.mean(axis=0)
_, _, Vt = np.linalg.svd(centred, full_matrices=False)
pcs = centred @ Vt[:2].T  # (m, 2): each code projected on the two principal directions
class_means = np.array([encoded[test_labels == d].mean(axis=0) for d in range(10)])

fig, axes = plt.subplots(1, 3, figsize=(18, 5), gridspec_kw={"width_ratios": [1, 1, 1.4]})
plotting.codes(encoded[:3000], test_labels[:3000], units=tuple(int(u) for u in busiest),
               ax=axes[0], title="the two most variable units")  # fmt: skip
plotting.codes(pcs[:3000], test_labels[:3000], units=(0, 1), ax=axes[1],
               title="first two principal components of H")  # fmt: skip
axes[1].set(xlabel="principal component 1", ylabel="principal component 2")
im = axes[2].imshow(class_means, aspect="auto", cmap="viridis")
axes[2].set(xlabel="hidden unit j", ylabel="digit", yticks=range(10),
            title="mean activation of each unit, per digit")  # fmt: skip
fig.colorbar(im, ax=axes[2])
fig.tight_layout()
save(fig, "06_codes.png")

# %% [markdown]
# ## Step 11: mean activation of each unit against the target $\rho = 0.05$
#
# $\hat\rho_j$ over the whole test set, one bar per unit.

# %%
rho_hat_test = encoded.mean(axis=0)
print(f"rho^ over the test set: mean {rho_hat_test.mean():.4f}, "
      f"range [{rho_hat_test.min():.4f}, {rho_hat_test.max():.4f}]")  # fmt: skip
save(plotting.rho_hat(encoded, rho=sparsity_level), "06_rho_hat.png")

# %% [markdown]
# ## The fragility of KL on ReLU units, shown
#
# $\mathrm{KL}(\rho \,\Vert\, \hat\rho)$ is a divergence between probabilities: it needs
# $0 < \hat\rho < 1$. ReLU units give no such guarantee. npsae clips $\hat\rho$ into
# $[\varepsilon, 1 - \varepsilon]$ (`RHO_HAT_EPS`); where the clip acts, the penalty is flat and
# the unit's sparsity gradient $c_j$ is exactly 0 (tutorial 03). Two ways to fall out:
#
# * a unit that stops firing on a whole batch ($\hat\rho_j = 0$): a "dead" ReLU. KL would push
#   it back up, but the clip zeroes $c_j$, and $\mathrm{relu}'(z) = 0$ there anyway: it never
#   comes back;
# * a unit whose mean passes 1: no sparsity pressure at all, and the penalty reports a constant.
#
# First, the mechanism on the model just trained. Force unit 0 above 1 (add 3 to its bias, so
# $H_{i0} \ge 3$ on every image) and ask for the gradient of the sparsity term alone:

# %%
probe = model.copy()
probe.params["b1"][0] += 3.0
rho_hat_probe = probe.encode(batch).mean(axis=0)
_, grads = probe.loss_and_grads(batch, terms=("sparsity",))
column_norms = np.linalg.norm(grads["W1"], axis=0)  # how hard the penalty pulls each unit
print(f"unit 0: rho^ = {rho_hat_probe[0]:.2f}, |dP/dW1[:, 0]| = {column_norms[0]:.1e}, "
      f"dP/db1[0] = {grads['b1'][0]:.1e}")  # fmt: skip
print(f"units 1..63: |dP/dW1[:, j]| from {column_norms[1:].min():.1e} to "
      f"{column_norms[1:].max():.1e}")  # fmt: skip
assert column_norms[0] == 0.0 and grads["b1"][0] == 0.0
# The article's own formula (no clip, +1e-10 in the logs) is no better: log of a negative number.
with np.errstate(invalid="ignore"):
    r = rho_hat_probe.astype(np.float64)
    article_kl = np.sum(
        sparsity_level * np.log(sparsity_level / (r + 1e-10))
        + (1 - sparsity_level) * np.log((1 - sparsity_level) / (1 - r + 1e-10))
    )
print(f"the article's KL sum on this batch: {article_kl}  (TensorFlow would train on NaN)")

# %% [markdown]
# Does it happen in training? With the article's step size it did not in our runs (the 50-epoch
# `--full` run included: every unit stays in range). With a larger step it happens at once.
# Train ReLU + KL and sigmoid + KL (sigmoid units cannot leave $(0, 1)$) with Adam at three
# learning rates on the same 10000 images for 3 epochs, then sort the 64 units by their mean
# activation over those images:
#
# * dead: $\hat\rho_j \le \varepsilon$;
# * above 1: $\hat\rho_j \ge 1 - \varepsilon$;
# * in range: everything else. Only these units feel the sparsity penalty.

# %%
x_small = x_train[:10000]
lrs = (1e-3, 1e-2, 3e-2)
runs = {}
for hidden in ("relu", "sigmoid"):
    for lr in lrs:
        m = SparseAutoencoder(784, 64, hidden=hidden, rho=sparsity_level, beta=lambda_sparse)
        h = fit(m, x_small, epochs=3, batch_size=256, optimizer=Adam(lr=lr), verbose=0)
        r = m.encode(x_small).mean(axis=0)
        dead, above = int(np.sum(r <= RHO_HAT_EPS)), int(np.sum(r >= 1 - RHO_HAT_EPS))
        runs[(hidden, lr)] = {"dead": dead, "above": above, "history": h}
        print(f"{hidden:<8} lr {lr:<6g} in range {64 - dead - above:2d}  dead {dead:2d}  above 1 "
              f"{above:2d}   sparsity term per epoch {np.round(h['sparsity'], 4)}  "
              f"recon {h['recon'][-1]:.4f}")  # fmt: skip

# %% [markdown]
# What to read in the table and the figure below:
#
# * sigmoid units stay in range at every learning rate, and their sparsity term falls by two
#   orders of magnitude within three epochs;
# * at the article's rate, 0.001, ReLU units behave just as well: every unit in range, the
#   sparsity term falls like the sigmoid's. The recipe works, with this step size;
# * at 0.01 about half the ReLU units die in the first epoch and stay dead; the penalty stalls
#   high (it can only act on the units still in range);
# * at 0.03 every unit is out of range: the sparsity term is a constant (the same value epoch
#   after epoch) that no parameter can change. The model is in effect trained with no sparsity
#   penalty at all while its loss reports a large one, which is also why its reconstruction
#   error is the lowest in the table: nothing holds the code sparse any more.
#
# (Three epochs on 10000 images measure where the units end up, not how well the models
# reconstruct: at lr 0.001 both are still far from the mean-image baseline of step 8.)

# %%
fig, (ax_units, ax_sparsity) = plt.subplots(1, 2, figsize=(13, 4.5))
labels = [f"{hidden}\nlr {lr:g}" for hidden, lr in runs]
dead = np.array([run["dead"] for run in runs.values()])
above = np.array([run["above"] for run in runs.values()])
in_range = 64 - dead - above
x = np.arange(len(runs))
ax_units.bar(x, in_range, label="in range: feel the penalty", color="tab:green")
ax_units.bar(
    x, dead, bottom=in_range, label=r"dead ($\hat\rho_j = 0$): $c_j = 0$", color="tab:grey"
)
ax_units.bar(
    x, above, bottom=in_range + dead, label=r"$\hat\rho_j \geq 1$: $c_j = 0$", color="tab:red"
)
ax_units.set_xticks(x, labels)
ax_units.set(ylabel="hidden units (of 64)", title="Where the 64 units end up after 3 epochs")
ax_units.set_ylim(0, 80)
ax_units.legend(loc="upper center", ncol=3, fontsize=8)
for (hidden, lr), run in runs.items():
    style = "-" if hidden == "relu" else "--"
    ax_sparsity.plot(run["history"]["epoch"], run["history"]["sparsity"], style, marker="o",
                     label=f"{hidden}, lr {lr:g}")  # fmt: skip
ax_sparsity.set(xlabel="epoch", ylabel=r"sparsity term $0.1 \sum_j$ KL", yscale="log",
                title="Sparsity term: ReLU stalls at lr 0.01, freezes at 0.03")  # fmt: skip
ax_sparsity.set_xticks([1, 2, 3])
ax_sparsity.legend(fontsize=8)
fig.tight_layout()
save(fig, "06_relu_kl_fragility.png")

# %% [markdown]
# The remedies: sigmoid hidden units with KL (tutorial 07), or keep ReLU and use a penalty that
# needs no probabilities, such as L1 on the activations (`sparsity="l1"`), or TopK (tutorial 08).
#
# ## Try it yourself
#
# 1. Before running it, predict the test mse of the mean-image baseline computed from the
#    *test* images instead of the training images: higher or lower than the one above? Then
#    compute it, and the mse of a model trained for a single epoch.
# 2. Train the article's model with `lambda_sparse = 0` for the same 10 epochs. How do the test
#    mse and the mean activations $\hat\rho_j$ of step 11 change, and what does that say about
#    the price of sparsity?
# 3. Find the largest Adam learning rate at which all 64 ReLU units stay in range for 3 epochs
#    (try values between 0.001 and 0.01). Does it depend on the seed?
