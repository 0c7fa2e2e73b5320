# %% [markdown]
# # 05 - Optimisers: gradient descent, momentum and Adam
#
# Backpropagation (tutorial 04) gives the gradient $g = \partial L / \partial p$ of every
# parameter $p$. An optimiser turns gradients into steps. Three classic rules, each a line or
# two, with the learning rate $\eta$ (`lr`) and the step number $t = 1, 2, \dots$:
#
# * SGD: $\quad p \leftarrow p - \eta\, g$
# * momentum ($\mu$ = `momentum`): $\quad v \leftarrow \mu v - \eta\, g, \quad p \leftarrow p + v$
# * Adam (Kingma & Ba 2015; $\beta_1$, $\beta_2$ = `beta1`, `beta2`; all operations
#   element-wise):
#
# $$m \leftarrow \beta_1 m + (1 - \beta_1)\, g, \qquad
#   s \leftarrow \beta_2 s + (1 - \beta_2)\, g^2, \qquad
#   p \leftarrow p - \eta\, \frac{m / (1 - \beta_1^t)}{\sqrt{s / (1 - \beta_2^t)} + \epsilon}$$
#
# You first write Adam's step yourself, then watch the three rules on a two-parameter valley,
# then train the same autoencoder on the same batches of MNIST digits (LeCun et al. 1998) with
# each, every rule at its own best learning rate, on three seeds.
#
# As a script: `python 05_optimisers.py [FIGURE_FOLDER] [--full]`

# %%
import matplotlib.pyplot as plt
import numpy as np
from _common import FULL, SEED, SEEDS, save, say

from npsae.datasets import as_float, load_mnist
from npsae.model import SparseAutoencoder
from npsae.optim import SGD, Adam, adam_step, sgd_step
from npsae.training import fit

# %% [markdown]
# ## Write the Adam step yourself
#
# Before reading the cell below, write `my_adam_step` from the three formulas above: it takes the
# parameter `p`, its gradient `g`, the two moments `m` and `s` (arrays shaped like `p`), the step
# number `t` (from 1) and the hyper-parameters, and returns the new `(p, m, s)` without changing
# its arguments. The cell below holds one answer, then compares it (or yours, once you put it
# in its place) with npsae's `adam_step` over five steps.


# %%
def my_adam_step(p, g, m, s, t, lr, beta1, beta2, eps):
    m = beta1 * m + (1 - beta1) * g  # running mean of the gradients
    s = beta2 * s + (1 - beta2) * g**2  # running mean of their squares
    m_hat = m / (1 - beta1**t)  # both start at 0: undo that bias
    s_hat = s / (1 - beta2**t)
    return p - lr * m_hat / (np.sqrt(s_hat) + eps), m, s


rng = np.random.default_rng(SEED)
mine = theirs = (rng.normal(size=(3, 4)), np.zeros((3, 4)), np.zeros((3, 4)))
for t in range(1, 6):
    g = rng.normal(size=(3, 4))
    mine = my_adam_step(*mine[:1], g, *mine[1:], t, lr=0.1, beta1=0.9, beta2=0.999, eps=1e-7)
    theirs = adam_step(*theirs[:1], g, *theirs[1:], t, lr=0.1, beta1=0.9, beta2=0.999, eps=1e-7)
    for yours, npsaes in zip(mine, theirs, strict=True):
        np.testing.assert_allclose(yours, npsaes, rtol=1e-12, atol=1e-15)
print("my_adam_step == npsae.optim.adam_step over 5 steps (p, m and s)")

# %% [markdown]
# ## A narrow valley
#
# $$f(p) = \tfrac{1}{2} \left(p_0^2 + 25\, p_1^2\right)$$
#
# is 25 times steeper across ($p_1$) than along ($p_0$), like many loss surfaces. Its gradient is
# $g = (p_0,\ 25\, p_1)$. Plain gradient descent needs a step small enough for the steep
# direction ($\eta < 2/25$, or it diverges), which is then tiny for the flat one. The valley has
# no randomness: every path below is the same on every seed.


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
        p, m, s = my_adam_step(p, g, m, s, t, lr=lr, beta1=0.9, beta2=0.999, eps=1e-7)  # yours
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
# These three rates were picked by hand, so first a fairer question: where does each rule end
# after 60 steps at the best rate of a small grid? (Each grid brackets its rule's best rate:
# the cell checks that it is not at either end. SGD's last rate, 0.085, is above its limit.)

# %%
valley_grids = {
    "SGD": ((0.01, 0.03, 0.07, 0.075, 0.085), lambda lr: sgd_rule(lr, 0.0)),
    "momentum (mu 0.8)": ((0.005, 0.01, 0.02, 0.04), lambda lr: sgd_rule(lr, 0.8)),
    "Adam": ((0.03, 0.1, 0.3, 1.0, 3.0), adam_rule),
}
valley_best = {}  # rule -> (its best rate, f after 60 steps at that rate)
for name, (grid, make_rule) in valley_grids.items():
    ends = {lr: valley(descend(make_rule(lr))[-1]) for lr in grid}
    print(f"{name:<18}" + "  ".join(f"lr {lr:<5g} f {f:.1e}" for lr, f in ends.items()))
    assert min(ends, key=ends.get) not in (grid[0], grid[-1]), f"{name}: widen the grid"
    valley_best[name] = min(ends.items(), key=lambda item: item[1])
last = max(valley_best, key=lambda name: valley_best[name][1])
adam_path = paths["Adam, lr 0.3"]
ends = ", ".join(f"{f:.1e} ({name}, lr {lr:g})" for name, (lr, f) in valley_best.items())
say(
    f"At its best rate of the grid each rule ends at f = {ends}: {last} ends farthest from the "
    f"minimum. At lr 0.3 Adam's path shoots across the valley floor to "
    f"$p_1 = {adam_path[:, 1].min():.2f}$ and past the minimum to "
    f"$p_0 = {adam_path[:, 0].max():.2f}$."
)

# %% [markdown]
# Two things in Adam's rule make it overshoot:
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
# that decays over time: on a real loss surface it settles into a region, not onto a point. What
# Adam buys is the other half of the story: every coordinate moves at about the same speed,
# however small its gradient. Whether that matters on the autoencoder is the next question.

# %% [markdown]
# ## The same rules on the autoencoder
#
# The optimiser classes apply these updates to every parameter array in place:
# `optimizer.step(model.params, grads)`. One SGD step from the classes equals the formula:

# %%
images, _ = load_mnist("train")
X = as_float(images[: 58000 if FULL else 10000])
X_val = as_float(images[-2000:])  # held out: the rates are compared on images never trained on
print("training data:", X.shape, " held out:", X_val.shape)

# Sigmoid hidden units with the article's loss (tutorial 06): mse + 0.1 * sum_j KL(0.05 || rho^_j),
# weights drawn as Glorot & Bengio (2010) propose.
model = SparseAutoencoder(784, 64, hidden="sigmoid", rho=0.05, beta=0.1, seed=SEED)
check = model.copy()
loss, grads = check.loss_and_grads(X[:256])
before = check.params["W1"].copy()
SGD(lr=0.5).step(check.params, grads)
sgd_matches = np.allclose(check.params["W1"], before - 0.5 * grads["W1"])
print("SGD class == p - lr g:", sgd_matches)

# %% [markdown]
# This loop is the heart of training:
#
# ```python
# for batch in batches:
#     loss, grads = model.loss_and_grads(batch)
#     optimizer.step(model.params, grads)
# ```
#
# A comparison of optimisers is only fair if each runs at its own best learning rate: the mse
# gradients are tiny (mse divides by $784\, m$), so SGD needs a large rate, and a rate that suits
# one rule says nothing about another. So each rule gets a grid of four rates, a factor of about
# 3 apart, and every run starts from the same initial model (Glorot's uniform draw; Glorot &
# Bengio 2010) and sees the same sequence of
# batches of 256 images; only the rule and its rate differ. Each setting runs on three seeds
# (initial weights and batch order), and is scored by its loss on 2000 held-out images after the
# last step. Momentum uses $\mu = 0.9$: in a steady state its velocity adds up to
# $\eta / (1 - \mu) = 10\, \eta$ per unit gradient, so its grid is SGD's divided by 10.

# %%
steps = 2000 if FULL else 300
grids = {
    "SGD": (1.0, 3.0, 10.0, 30.0),
    "momentum": (0.1, 0.3, 1.0, 3.0),
    "Adam": (1e-3, 3e-3, 1e-2, 3e-2),
}


def make_optimiser(name, lr):
    return {"SGD": SGD(lr), "momentum": SGD(lr, momentum=0.9), "Adam": Adam(lr)}[name]


# (rule, lr) -> per seed: the held-out (total, recon, sparsity) and the per-step training curve
scores, curves = {}, {}
for seed in SEEDS:
    rng = np.random.default_rng(seed)
    batches = [rng.integers(0, len(X), 256) for _ in range(steps)]
    start = SparseAutoencoder(784, 64, hidden="sigmoid", rho=0.05, beta=0.1, seed=seed)
    for name, grid in grids.items():
        for lr in grid:
            trained, opt, curve = start.copy(), make_optimiser(name, lr), []
            with np.errstate(all="ignore"):  # a rate past a rule's limit may overflow: scored inf
                for idx in batches:
                    loss, grads = trained.loss_and_grads(X[idx])
                    opt.step(trained.params, grads)
                    curve.append((loss["total"], loss["recon"], loss["sparsity"]))
                held_out = trained.loss(X_val)
            score = [held_out[key] for key in ("total", "recon", "sparsity")]
            scores.setdefault((name, lr), []).append(np.where(np.isfinite(score), score, np.inf))
            curves.setdefault((name, lr), []).append(np.array(curve))
scores = {key: np.array(rows) for key, rows in scores.items()}  # (seeds, 3)
TOTAL, RECON, SPARSITY = 0, 1, 2


def spread(values, fmt=".4f"):
    """'mean [min-max]' of one number over the seeds."""
    return f"{np.mean(values):{fmt}} [{np.min(values):{fmt}}-{np.max(values):{fmt}}]"


print(f"held-out loss after {steps} steps, mean [min-max] over seeds {SEEDS}")
for (name, lr), rows in scores.items():
    print(f"{name:<9} lr {lr:<6g} loss {spread(rows[:, TOTAL]):<24} = recon "
          f"{spread(rows[:, RECON]):<24} + sparsity {spread(rows[:, SPARSITY])}")  # fmt: skip
best = {
    name: min(grid, key=lambda lr: scores[name, lr][:, TOTAL].mean())
    for name, grid in grids.items()
}

# %% [markdown]
# The held-out loss against the learning rate, one line per rule (mean over the seeds, with the
# smallest and largest value as error bars); a ring marks each rule's best rate.

# %%
fig, ax = plt.subplots(figsize=(7, 4.2))
for (name, grid), marker in zip(grids.items(), "osD", strict=True):
    total = np.array([scores[name, lr][:, TOTAL] for lr in grid])  # (rates, seeds)
    mean = total.mean(axis=1)
    bars = (mean - total.min(axis=1), total.max(axis=1) - mean)
    ax.errorbar(grid, mean, yerr=bars, marker=marker, capsize=3, label=name)
    ax.plot(best[name], scores[name, best[name]][:, TOTAL].mean(), "o", ms=14, mfc="none",
            color="black")  # fmt: skip
ax.set(xscale="log", yscale="log", xlabel="learning rate", ylabel="held-out loss",
       title=f"Loss after {steps} steps, each rule over its grid of rates")  # fmt: skip
ax.legend()
save(fig, "05_learning_rate_grid.png")

# %% [markdown]
# What the grid says, in numbers from this run:

# %%
tuned = {name: scores[name, lr] for name, lr in best.items()}  # (seeds, 3) at each best rate
ranking = sorted(tuned, key=lambda name: tuned[name][:, RECON].mean())
winner, runner_up = tuned[ranking[0]][:, RECON], tuned[ranking[1]][:, RECON]
listed = "; ".join(
    f"{name} (lr {best[name]:g}) {spread(tuned[name][:, RECON])}" for name in ranking
)
overlap = "do not overlap" if winner.max() < runner_up.min() else "overlap: it may be seed noise"
say(
    f"Each rule at its best rate (lowest held-out loss, mean over the seeds), held-out "
    f"reconstruction error: {listed}. {ranking[0]} is lowest, "
    f"{runner_up.mean() / winner.mean():.1f} times below the next ({ranking[1]}); "
    f"the seeds' ranges {overlap}."
)
first_try = {"SGD": 1.0, "momentum": 0.1, "Adam": 1e-3}  # equal effective steps; Keras' Adam
listed = "; ".join(f"{name} {spread(scores[name, lr][:, RECON])}" for name, lr in first_try.items())
adam_default = scores["Adam", 1e-3][:, RECON].mean()
gap_first = scores["SGD", 1.0][:, RECON].mean() - adam_default  # SGD's excess over Adam at 0.001
gap_tuned = tuned["SGD"][:, RECON].mean() - adam_default
say(
    f"The rates a first comparison might pick (SGD 1; momentum 0.1, the same effective step; Adam "
    f"at Keras' default 0.001) give: {listed}. Against Adam at 0.001, SGD's excess error of "
    f"{gap_first:.4f} at lr 1 becomes {gap_tuned:+.4f} at its best rate: "
    f"{'most' if abs(gap_tuned) < 0.3 * gap_first else 'less than most'} of the first "
    f"comparison's gap was SGD's untuned rate, not its rule."
)

# %% [markdown]
# Why is SGD's best rate where it is? The argument "one learning rate must suit the largest
# gradients" predicts that the rate is capped by the KL term, whose gradients are far larger
# than the mse's. The grid's next rate up tests it:

# %%
sgd_grid = grids["SGD"]
above_best = sgd_grid[min(sgd_grid.index(best["SGD"]) + 1, len(sgd_grid) - 1)]
past, at = scores["SGD", above_best], tuned["SGD"]
kl_caps = past[:, SPARSITY].min() > 10 * at[:, SPARSITY].max()
mse_lower = past[:, RECON].mean() < at[:, RECON].mean()
if above_best == best["SGD"]:
    say("SGD's best rate is the largest of its grid: this run does not show where its limit is.")
else:
    verdict = (
        "in this grid the KL term, not the mse, is what limits SGD's rate."
        if kl_caps and mse_lower
        else "this run does not single out the KL term as the limit."
    )
    say(
        f"At lr {above_best:g}, one step past SGD's best, the reconstruction error is "
        f"{spread(past[:, RECON])} ({'lower' if mse_lower else 'not lower'} than at lr "
        f"{best['SGD']:g}), but the sparsity term is {spread(past[:, SPARSITY])} against "
        f"{spread(at[:, SPARSITY])}: {verdict}"
    )
for name, grid in grids.items():
    if best[name] in (grid[0], grid[-1]):
        say(
            f"{name}'s best rate, {best[name]:g}, is at the edge of its grid: a rate beyond it "
            "might do better still."
        )

# %% [markdown]
# Adam divides each parameter's step by its own gradient scale $\sqrt{s / (1 - \beta_2^t)}$, so
# the small mse gradients get steps as large as the KL term's, and one rate need not suit both
# scales. The grid is consistent with this (at its best rate Adam keeps the sparsity term below a
# hundredth of its starting value while its mse falls furthest), but it does not isolate it:
# that would take, say, Adam without the division, which is close to SGD with momentum.
#
# What this quick run cannot settle: it ranks the rules early in training (300 steps), not
# where each would end; the best rate for a few hundred steps need not be the best for 20000;
# and the rates are chosen and scored on the same held-out images and seeds, which flatters
# every rule's best a little, all in the same way.
#
# The same grid after the `--full` run (2000 steps on 58000 images, five seeds), saved when this
# tutorial was written (`full_run/` beside the notebook; `tools/full_run_figures.py` in npsae's
# repository remakes it). Compare where each rule's best rate lies, and the gaps between the
# rules, with the quick run's above.
#
# ![The learning-rate grid after the full run](full_run/05_learning_rate_grid.png)
#
# The training curves of each rule at its best rate, on the first seed. The dotted lines are two
# baselines (tutorial 06): the mse of predicting the mean training image, and of predicting an
# all-black image.

# %%
baselines = {"mean image": np.mean((X.mean(axis=0) - X) ** 2), "all black": np.mean(X**2)}
fig, (ax_total, ax_recon) = plt.subplots(1, 2, figsize=(12, 4.2))
for name, lr in best.items():
    curve = curves[name, lr][0]
    ax_total.plot(curve[:, 0], label=f"{name} (lr {lr:g})", lw=1)
    ax_recon.plot(curve[:, 1], label=f"{name} (lr {lr:g})", lw=1)
for label, value in baselines.items():
    ax_recon.axhline(value, color="grey", ls=":", lw=1)
    ax_recon.annotate(f"{label} {value:.3f}", (0, value), xytext=(2, 2), textcoords="offset points",
                      fontsize=8, color="grey")  # fmt: skip
ax_total.set(xlabel="step (batch of 256)", ylabel="total loss", yscale="log",
             title=r"total loss = mse + 0.1 $\sum_j$ KL")  # fmt: skip
ax_recon.set(xlabel="step (batch of 256)", ylabel="mse", title="reconstruction term (mse)")
ax_total.legend()
save(fig, "05_optimiser_curves.png")
start_curve = curves["Adam", best["Adam"]][0]  # step 1 is the same for every rule
first_mean = model.encode(X[:256]).mean()


def steps_to_fall(curve, level=0.1):
    """The first step at which the sparsity term is below ``level`` (None if never)."""
    below = np.flatnonzero(curve[:, 2] < level)
    return int(below[0]) + 1 if below.size else None


fell = ", ".join(f"{name} {steps_to_fall(curves[name, lr][0])}" for name, lr in best.items())
held_out_mean = np.mean((X.mean(axis=0) - X_val) ** 2)
below_mean = [name for name in best if tuned[name][:, RECON].max() < held_out_mean]
say(
    f"The sparsity term starts at {start_curve[0, 2]:.2f} (the untrained units' mean activation "
    f"is {first_mean:.2f}, far from $\\rho = 0.05$); the steps it takes to fall below 0.1: "
    f"{fell}. The untrained model's mse, {start_curve[0, 1]:.3f}, is worse than both baselines. "
    f"After {steps} steps, on the held-out images and on every seed, "
    f"{', '.join(below_mean) if below_mean else 'no rule'} beat the mean image "
    f"({held_out_mean:.4f})."
)

# %% [markdown]
# The trainer, `npsae.training.fit`, runs this loop over shuffled epochs and records one row of
# averages per epoch in a `History`. Two epochs with each rule at its best rate (fresh
# optimisers: their state, the velocities and moments, belongs to the parameters they were
# stepping):

# %%
epochs = 10 if FULL else 2
for name, lr in best.items():
    history = fit(model.copy(), X, epochs=epochs, batch_size=256, seed=SEED,
                  optimizer=make_optimiser(name, lr), verbose=0)  # fmt: skip
    print(f"{name:<9} (lr {lr:g}) per-epoch loss: {np.round(history['loss'], 4)}")

# %% [markdown]
# The claims of this notebook, checked on this run (they must hold on any seed:
# `NPSAE_TUTORIAL_SEED=1 python 05_optimisers.py`):

# %%
assert sgd_matches  # the SGD class takes the formula's step
assert start_curve[0, RECON] > max(baselines.values())  # untrained: worse than both baselines
assert last == "Adam"  # on the valley, at each rule's best rate, Adam ends farthest
# At lr 0.3 Adam overshoots the minimum; smaller rates overshoot less.
overshoot = [descend(adam_rule(lr))[:, 0].max() for lr in (0.3, 0.1, 0.03)]
assert overshoot[0] > 0 and overshoot[0] > overshoot[1] > overshoot[2]
assert best["SGD"] not in (sgd_grid[0], sgd_grid[-1])  # SGD's grid brackets its best rate
# ... and its next rate up breaks the KL term while the mse keeps falling.
assert scores["SGD", above_best][:, SPARSITY].min() > 10 * tuned["SGD"][:, SPARSITY].max()
assert scores["SGD", above_best][:, RECON].mean() < tuned["SGD"][:, RECON].mean()
# Tuned, Adam is lowest on every seed, with a clear margin.
assert ranking[0] == "Adam"
assert tuned["Adam"][:, SPARSITY].max() < 0.01 * start_curve[0, SPARSITY]
assert tuned["Adam"][:, RECON].max() < 0.8 * min(
    tuned[n][:, RECON].min() for n in ("SGD", "momentum")
)
# Most of the first comparison's gap (SGD at 1 against Adam at 0.001) was SGD's untuned rate.
assert gap_first > 0 and abs(gap_tuned) < 0.3 * gap_first
print("every claim of this notebook holds on seeds", SEEDS)

# %% [markdown]
# ## Try it yourself
#
# 1. On the valley, predict what plain SGD does with $\eta = 0.085$ (just above $2/25$), then run
#    `descend(sgd_rule(0.085, 0.0))` and look at $p_1$.
# 2. Give Adam a decaying rate on the valley: write a rule that calls `my_adam_step` with
#    $\eta_t = 0.3 / \sqrt{t}$. Predict whether it ends closer to the minimum than the constant
#    0.3, then check.
# 3. The grid ranked the rules after 300 steps. Predict whether each rule's best rate moves up or
#    down with 2000 steps, and whether Adam's lead grows or shrinks; then run with `--full`.

# %% [markdown]
# ## References
#
# - [Glorot & Bengio 2010] Xavier Glorot, Yoshua Bengio. "Understanding the difficulty of training
#   deep feedforward neural networks." AISTATS 2010.
# - [Kingma & Ba 2015] Diederik P. Kingma, Jimmy Ba. "Adam: A Method for Stochastic Optimization."
#   ICLR 2015. arXiv:1412.6980.
# - [LeCun et al. 1998] Yann LeCun, Léon Bottou, Yoshua Bengio, Patrick Haffner. "Gradient-based
#   learning applied to document recognition." Proc. IEEE 86(11), 1998. (MNIST.)
