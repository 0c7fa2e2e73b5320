# %% [markdown]
# # 09 - Classroom exercises with a built-in autograder
#
# npsae ships eleven exercises, one function each, that together rebuild the sparse
# autoencoder: the sigmoid and its derivative, the forward pass, the mse and sse losses, the KL
# sparsity penalty and its gradient, backpropagation, an Adam step, the IDX header of MNIST's
# files and the numerical gradient. A student gets one stub file per exercise; the grader runs
# each function on random inputs (float32 and float64, several shapes) and edge cases, compares
# it with npsae's own implementation, and when it fails names the likely mistake.
#
# This script walks through a lesson as the instructor sees it, from `start` to an all-green
# `check`, with the same commands a student types:
#
#     python -m npsae exercises list
#     python -m npsae exercises start DIR
#     python -m npsae exercises check DIR [NAME ...]
#
# As a script: `python 09_classroom_exercises.py [FOLDER]`.
# The exercise files go to `FOLDER/classroom/` (a temporary folder without FOLDER), the gradebook
# figure to FOLDER (`figures/` beside the script without it).

# %%
import sys
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from _common import IN_NOTEBOOK, save
from matplotlib.colors import ListedColormap

from npsae import exercises
from npsae.cli import main

folders = [] if IN_NOTEBOOK else [a for a in sys.argv[1:] if not a.startswith("-")]
CLASS = Path(folders[0]) / "classroom" if folders else Path(tempfile.mkdtemp(prefix="npsae_"))
print(f"the student's folder: {CLASS}")

# The gradebook: each exercise's status after each round of checking, drawn at the end.
rounds: dict[str, dict[str, str]] = {}


def grade(round_name: str) -> None:
    """Record every exercise's status in the gradebook (the CLI prints them for the student)."""
    rounds[round_name] = {r.name: r.status for r in exercises.check_dir(CLASS)}


# %% [markdown]
# ## The exercises
#
# One line each: the name (also the function's name) and what it computes.

# %%
main(["exercises", "list"])

# %% [markdown]
# ## Step 1: the student starts
#
# `start` writes one stub per exercise. `--force` is here only so that this script starts afresh
# every run: without it `start` never overwrites a file that exists, since that file is the
# student's work (step 5 shows it).

# %%
main(["exercises", "start", str(CLASS), "--force"])

# %% [markdown]
# A stub holds the signature, a docstring with the maths, the shapes and a hint, and a body that
# raises NotImplementedError. No solution: the student writes the body.

# %%
print((CLASS / exercises.get("sigmoid").filename).read_text())

# %% [markdown]
# ## Step 2: check before writing anything
#
# Every exercise reports "not implemented yet" (TODO), and the exit status is 1: a CI job or a
# submission script can tell a complete set from an incomplete one.

# %%
status = main(["exercises", "check", str(CLASS)])
print(f"exit status: {status}")
grade("fresh stubs")

# %% [markdown]
# ## Step 3: a first attempt, with two classic mistakes
#
# The student writes the sigmoid the way the formula is often remembered, $e^z / (1 + e^z)$, and
# the mse as the UFLDL course's squared error, divided by $2m$. Both look right on small numbers.
# Look at the diagnostics: the sigmoid's NaN is traced to overflow at $z = 1000$, and the mse's
# divisor is named ("2m instead of m*n: that is the sse").

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
status = main(["exercises", "check", str(CLASS), "sigmoid", "mse"])
print(f"exit status: {status}")
grade("first attempt")

# %% [markdown]
# ## Step 4: fixed
#
# $1 / (1 + e^{-z})$ overflows only where the answer is 0 anyway, and the mse divides by
# $m\, n_\text{in}$.
# Checking just these two exercises now exits with 0.

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
status = main(["exercises", "check", str(CLASS), "sigmoid", "mse"])
print(f"exit status: {status}")
grade("fixed")

# %% [markdown]
# ## Step 5: `start` again keeps the student's work
#
# Running `start` a second time (say, after an update brought a new exercise) writes only the
# stubs that are missing and keeps every existing file.

# %%
main(["exercises", "start", str(CLASS)])
assert "1 / (1 + np.exp(-Z))" in (CLASS / exercises.get("sigmoid").filename).read_text()

# %% [markdown]
# ## From Python: grade a function without any file
#
# In a notebook the student can grade a function directly: `check(name, fn)` returns a Result
# with `.passed`, `.status`, `.message` (the diagnosis) and `.diagnostics` (the failing case).
# Here the classic slip of exercise 2: applying the sigmoid again to $A$, which is already
# $\sigma(z)$, instead of computing $\sigma'(z) = A (1 - A)$.


# %%
def sigmoid_grad(A):
    s = 1 / (1 + np.exp(-A))
    return s * (1 - s)


result = exercises.check("sigmoid_grad", sigmoid_grad)
print(f"passed: {result.passed}\nmessage: {result.message}\ndiagnostics: {result.diagnostics}")

# %% [markdown]
# ## Step 6: the answer key, all green
#
# To see the grader accept every exercise, fill the remaining files with the answer key:
# `reference_source(name)` is a file that hands the exercise over to npsae's own
# implementation (useful to an instructor checking an installation, useless to a student).
# Now `check` passes everything and exits with 0.

# %%
for exercise in exercises.list_exercises():
    if exercise.name not in ("sigmoid", "mse"):
        (CLASS / exercise.filename).write_text(exercises.reference_source(exercise.name))
status = main(["exercises", "check", str(CLASS)])
print(f"exit status: {status}")
grade("answer key")
assert status == 0

# %% [markdown]
# ## The gradebook
#
# Each exercise (a row) after each round of checking (a column). Look at the sigmoid and mse
# rows: red on the first attempt, green once fixed; the others stay grey until the answer key.

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
print(f"look at: the diagnostics of step 3, and the gradebook; exercise files in {CLASS}")

# %% [markdown]
# ## Try it yourself
#
# 1. Write a `kl_penalty` with $\log(\hat\rho / \rho)$ where $\log(\rho / \hat\rho)$ belongs.
#    Predict what `check` reports, then run it on that exercise alone.
# 2. Write a sigmoid that is right for $z \ge 0$ and uses $e^z / (1 + e^z)$ only for $z < 0$.
#    Will the grader accept it? Decide before you check.
# 3. Write an `mse` that divides by $m$ only (forgetting $n_\text{in}$). For a batch of $m = 4$
#    images of 784 pixels, by what factor will it be off? Predict it, then compare with the
#    grader's diagnosis.
