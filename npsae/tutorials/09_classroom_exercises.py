# %% [markdown]
# # 09 - Classroom exercises: write the pieces yourself, and have them checked
#
# Reading a derivation is not the same as writing it. npsae ships eighteen exercises, one
# function each, that together rebuild the sparse autoencoder: the sigmoid and its derivative,
# the forward pass, the mse and sse losses, the KL penalty and its gradient (Ng 2011), the L1 and
# TopK gradients, the numerical gradient and a gradient check, backpropagation (plain, then with
# L1 and weight decay), two bugs to find in a colleague's code, an Adam step (Kingma & Ba 2015),
# the IDX header of MNIST's files (LeCun et al. 1998), and a training loop on the bars. Each
# stub states the problem, never the answer; `check` runs your function on public cases, on
# hidden cases drawn from a seed and on edge cases, compares it with npsae's own, and, when it is
# wrong, names the likely mistake.
#
# This tutorial goes through one lesson as a student sees it: start, write two functions, make
# the two classic mistakes, read what the checker says, fix them. Grading a whole class (one
# gradebook row per student, Gradescope, what a student's file can and cannot do to the grader)
# is the instructor's part: see the instructor's guide (docs/instructors.md, on npsae's site).
#
#     python -m npsae exercises list
#     python -m npsae exercises start DIR
#     python -m npsae exercises check DIR [NAME ...]
#
# As a script: `python 09_classroom_exercises.py [FOLDER]`.
# The exercise files go to `FOLDER/classroom/` (a temporary folder without FOLDER), the gradebook
# figure to FOLDER (`figures/` beside the script without it).

# %%
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from _common import FOLDER, SEED, save, say
from matplotlib.colors import ListedColormap

from npsae import exercises
from npsae.cli import main
from npsae.exercises import reports

WORK = FOLDER or Path(tempfile.mkdtemp(prefix="npsae_"))
CLASS = WORK / "classroom"
print(f"the student's folder: {CLASS}")
# The seed of the hidden cases, from the tutorial's: every run with the same SEED draws the same.
HIDDEN_SEED = 2026 + SEED

# The gradebook: each exercise's status after each round of checking, drawn at the end.
rounds: dict[str, dict[str, str]] = {}


def check(round_name: str, names: list[str] | None = None) -> exercises.Submission:
    """Check the exercises ``names`` (all if None) as `check DIR [NAME ...]` does, print its
    report, and record their statuses in the gradebook (the others keep theirs: their files did
    not change)."""
    submission = exercises.grade_submission(CLASS, names, seed=HIDDEN_SEED)
    print(reports.text(submission))
    previous = list(rounds.values())[-1] if rounds else {}
    rounds[round_name] = {**previous, **{r.name: r.status for r in submission.results}}
    return submission


# %% [markdown]
# ## The exercises
#
# One line each: the name (also the function's name) and what it computes.

# %%
assert main(["exercises", "list"]) == 0

# %% [markdown]
# ## Starting
#
# `start` writes one stub per exercise. It never overwrites a file that exists, since that file
# is the student's work; `--force` is here only so that this notebook starts afresh every run.

# %%
assert main(["exercises", "start", str(CLASS), "--force"]) == 0

# %% [markdown]
# A stub holds the signature, a docstring with the maths, the shapes and a hint, and a body that
# raises NotImplementedError. The student writes the body.

# %%
print((CLASS / exercises.get("sigmoid").filename).read_text())

# %% [markdown]
# ## Checking before writing anything
#
# Every exercise scores 0 points, and `check` would exit with status 1. Below, the Python function
# behind `check DIR --seed N` prints the same report. Each exercise runs in a Python process of its
# own, without npsae (a file that only imports npsae's sigmoid gets an error, not the points), with
# a time limit.

# %%
fresh = check("fresh stubs")
print(f"exit status of check: {0 if fresh.passed else 1}")
written = [r.name for r in fresh.results if r.status != exercises.NOT_IMPLEMENTED]
say(f"{len(fresh.results) - len(written)} of the {len(fresh.results)} exercises report \"not "
    f"implemented yet\" (TODO). The rest ({', '.join(f'`{n}`' for n in written)}) hand the "
    "student a colleague's code to debug, code that runs and is wrong.")  # fmt: skip

# %% [markdown]
# ## A first attempt, with two classic mistakes
#
# The student writes the sigmoid the way the formula is often remembered, $e^z / (1 + e^z)$, and
# the mse as the squared error of Ng's notes (Ng 2011), divided by $2m$. Both look right on small
# numbers. What does the checker make of them?

# %%
SIGMOID_OVERFLOWS = """import numpy as np


def sigmoid(Z):
    return np.exp(Z) / (1 + np.exp(Z))
"""
MSE_DIVIDED_BY_2M = """import numpy as np


def mse(X_hat, X):
    return float(np.sum((X_hat - X) ** 2) / (2 * X.shape[0]))
"""
(CLASS / exercises.get("sigmoid").filename).write_text(SIGMOID_OVERFLOWS)
(CLASS / exercises.get("mse").filename).write_text(MSE_DIVIDED_BY_2M)
first = check("first attempt", ["sigmoid", "mse"])
diagnosis = {r.name: r.message for r in first.results}
say(f"The sigmoid fails: `{diagnosis['sigmoid']}`. The mse fails: `{diagnosis['mse']}`.")

# %% [markdown]
# ## Fixed
#
# $1 / (1 + e^{-z})$ overflows only where the answer is 0 anyway, and the mse divides by
# $m\, n_\text{in}$, the number of entries.

# %%
SIGMOID = """import numpy as np


def sigmoid(Z):
    return 1 / (1 + np.exp(-Z))
"""
MSE = """import numpy as np


def mse(X_hat, X):
    return float(np.sum((X_hat - X) ** 2) / X.size)
"""
(CLASS / exercises.get("sigmoid").filename).write_text(SIGMOID)
(CLASS / exercises.get("mse").filename).write_text(MSE)
fixed = check("fixed", ["sigmoid", "mse"])
say(f"Both pass now, with {fixed.score:g} of {fixed.max_score:g} points: `check DIR sigmoid mse` "
    f"exits with status {0 if fixed.passed else 1}.")  # fmt: skip

# %% [markdown]
# ## From Python: check a function without any file
#
# In a notebook a function can be checked directly: `check(name, fn)` returns a Result with
# `.passed`, `.status`, `.message` (the diagnosis), `.diagnostics` (the failing case) and
# `.score` of `.max_score` points. It runs the function in the notebook's own process: that is
# for the student's own work. Here the classic slip of exercise 2: applying the sigmoid again to
# $A$, which is already $\sigma(z)$, instead of computing $\sigma'(z) = A (1 - A)$.


# %%
def sigmoid_grad(A):
    s = 1 / (1 + np.exp(-A))
    return s * (1 - s)


result = exercises.check("sigmoid_grad", sigmoid_grad, seed=HIDDEN_SEED)
print(f"passed: {result.passed}\nmessage: {result.message}\ndiagnostics: {result.diagnostics}")
print(f"score: {result.score:.2f} of {result.max_score:g}")

# %% [markdown]
# ## The gradebook
#
# Each exercise (a row) after each round of checking (a column): the sigmoid and mse rows go
# from TODO to FAIL to PASS; the others keep the status of their stubs.

# %%
# status -> (colour, the mark `check` prints)
STATUS_STYLE = {
    exercises.NOT_IMPLEMENTED: ("#bbbbbb", "TODO"),
    exercises.FAILED: ("#d62728", "FAIL"),
    exercises.ERROR: ("#ff7f0e", "ERROR"),
    exercises.PASSED: ("#2ca02c", "PASS"),
}
statuses = list(STATUS_STYLE)
names = [e.name for e in exercises.list_exercises()]
grid = np.array([[statuses.index(rounds[r][n]) for r in rounds] for n in names])
colours = ListedColormap([colour for colour, _ in STATUS_STYLE.values()])
fig, ax = plt.subplots(figsize=(7, 5))
ax.imshow(grid, cmap=colours, vmin=0, vmax=len(statuses) - 1, aspect="auto")
for (i, j), code in np.ndenumerate(grid):
    ax.text(j, i, STATUS_STYLE[statuses[code]][1], ha="center", va="center", fontsize=8)
ax.set_xticks(range(len(rounds)), [r.replace(" ", "\n") for r in rounds])
ax.set_yticks(range(len(names)), names)
ax.set_title("Gradebook: each exercise after each check")
fig.tight_layout()
save(fig, "09_gradebook.png")

# %% [markdown]
# ## For the instructor
#
# Grading a class (`npsae exercises grade SUBMISSIONS_DIR --csv gradebook.csv`), the reference
# solutions (`exercises solutions DIR`), Gradescope (`check --format gradescope`,
# `exercises autograder OUT_DIR`), how points are split, and what a student's file can and cannot
# do to the grader are described in the instructor's guide (docs/instructors.md).

# %%
# The claims of the text above, checked on this run.
assert fresh.score == 0 and len(fresh.results) == len(names) and not fresh.passed
assert all(n.startswith("debug_") for n in written)  # only the debugging stubs run at all
assert all(r.status == exercises.FAILED for r in fresh.results if r.name in written)
assert all(r.status == exercises.FAILED for r in first.results)
assert "overflow" in diagnosis["sigmoid"] and "2m" in diagnosis["mse"]
assert fixed.passed and fixed.score == fixed.max_score > 0
assert not result.passed and result.score < result.max_score
assert all(rounds["fixed"][n] == rounds["fresh stubs"][n] for n in names if n not in diagnosis)

# %% [markdown]
# ## Try it yourself
#
# 1. Write a `kl_penalty` with $\log(\hat\rho / \rho)$ where $\log(\rho / \hat\rho)$ belongs.
#    Predict what `check` reports, then run it on that exercise alone.
# 2. Write a sigmoid that is right for $z \ge 0$ and uses $e^z / (1 + e^z)$ only for $z < 0$.
#    Will the checker accept it? Decide before you check.
# 3. Write an `mse` that divides by $m$ only (forgetting $n_\text{in}$). For a batch of $m = 4$
#    images of 784 pixels, by what factor will it be off? Predict it, then compare with the
#    checker's diagnosis.

# %% [markdown]
# ## References
#
# - [Ng 2011] Andrew Ng. "Sparse autoencoder." CS294A Lecture notes, Stanford University, 2011.
# - [Kingma & Ba 2015] Diederik P. Kingma, Jimmy Ba. "Adam: A Method for Stochastic Optimization."
#   ICLR 2015. arXiv:1412.6980.
# - [LeCun et al. 1998] Yann LeCun, Léon Bottou, Yoshua Bengio, Patrick Haffner. "Gradient-based
#   learning applied to document recognition." Proc. IEEE 86(11), 1998. (MNIST.)
