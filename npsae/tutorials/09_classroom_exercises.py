# %% [markdown]
# # 09 - Classroom exercises with a built-in autograder
#
# npsae ships eighteen exercises, one function each, that together rebuild the sparse
# autoencoder: the sigmoid and its derivative, the forward pass, the mse and sse losses, the KL
# penalty and its gradient, the L1 and TopK gradients, the numerical gradient and a gradient
# check, backpropagation (plain, then with L1 and weight decay), two bugs to find in a
# colleague's code, an Adam step, the IDX header of MNIST's files, and a training loop on the
# bars (`npsae exercises list` shows them). A student gets one stub file per exercise; the
# grader runs each function on public cases (float32 and float64, several shapes), hidden cases
# drawn from a seed, and edge cases, compares it with npsae's own implementation, names the
# likely mistake when it fails, and gives points.
#
# This script walks through a lesson as the student sees it, from `start` to a first `check`,
# then as the instructor grading a class sees it, with the same commands they type:
#
#     python -m npsae exercises list
#     python -m npsae exercises start DIR
#     python -m npsae exercises check DIR [NAME ...] [--format text|json|gradescope]
#     python -m npsae exercises grade SUBMISSIONS_DIR --csv gradebook.csv
#     python -m npsae exercises solutions DIR
#     python -m npsae exercises autograder OUT_DIR
#
# As a script: `python 09_classroom_exercises.py [FOLDER]`.
# The exercise files go to `FOLDER/classroom/` (a temporary folder without FOLDER), the gradebook
# figure to FOLDER (`figures/` beside the script without it).

# %%
import json
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from _common import FOLDER, save
from matplotlib.colors import ListedColormap

from npsae import exercises
from npsae.cli import main
from npsae.exercises import reports

WORK = FOLDER or Path(tempfile.mkdtemp(prefix="npsae_"))
CLASS = WORK / "classroom"
print(f"the student's folder: {CLASS}")
# The seed of the hidden cases: fixed here so that every run of this script draws the same.
SEED = "2026"

# The gradebook: each exercise's status after each round of checking, drawn at the end.
rounds: dict[str, dict[str, str]] = {}


def grade(round_name: str, show: bool = False) -> exercises.Submission:
    """Grade every exercise as `check` does (printing its report if ``show``), and record each
    exercise's status in the gradebook."""
    submission = exercises.grade_submission(CLASS, seed=int(SEED))
    if show:
        print(reports.text(submission))
    rounds[round_name] = {r.name: r.status for r in submission.results}
    return submission


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
# Every exercise reports "not implemented yet" (TODO) and 0 points, and `check` exits with
# status 1: a CI job or a submission script can tell a complete set from an incomplete one.
# (Here the Python function behind `check DIR --seed 2026` prints the report.) Each
# exercise runs in a Python process of its own, without npsae (a file that only says
# `from npsae.reference import sigmoid` gets an error, not the points), with a time limit
# (`--timeout`, 10 s by default): a function that loops forever is a verdict, not a hang.

# %%
submission = grade("fresh stubs", show=True)
print(f"exit status of check: {0 if submission.passed else 1}")

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
status = main(["exercises", "check", str(CLASS), "sigmoid", "mse", "--seed", SEED])
print(f"exit status: {status}")
grade("first attempt")

# %% [markdown]
# ## Step 4: fixed
#
# $1 / (1 + e^{-z})$ overflows only where the answer is 0 anyway, and the mse divides by
# $m\, n_\text{in}$.
# Checking just these two exercises now exits with 0, with full points: every test group
# (shapes and dtypes, public values, hidden values, edge cases, inputs left unmodified) passed.

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
status = main(["exercises", "check", str(CLASS), "sigmoid", "mse", "--seed", SEED])
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
# with `.passed`, `.status`, `.message` (the diagnosis), `.diagnostics` (the failing case) and
# `.score` of `.max_score` points. It runs the function in the notebook's own process: that is
# for the student's own work; files handed in are graded with `check` from the command line.
# Here the classic slip of exercise 2: applying the sigmoid again to $A$, which is already
# $\sigma(z)$, instead of computing $\sigma'(z) = A (1 - A)$.


# %%
def sigmoid_grad(A):
    s = 1 / (1 + np.exp(-A))
    return s * (1 - s)


result = exercises.check("sigmoid_grad", sigmoid_grad, seed=int(SEED))
print(f"passed: {result.passed}\nmessage: {result.message}\ndiagnostics: {result.diagnostics}")
print(f"score: {result.score:.2f} of {result.max_score:g}")

# %% [markdown]
# ## Step 6: the instructor grades a class
#
# One folder per student, named by the student's id. `grade` checks every folder with the same
# seed and writes one gradebook row per student: each exercise's points and the total. Here
# three students hand in the two exercises of the lesson: one correct, one with the classic
# mse mistake, and one whose sigmoid never returns; with a 2 s limit, that costs 2 s, not the
# afternoon. A submission that crashes, exits or does not import gets its zero and grading
# goes on.

# %%
SUBMISSIONS = WORK / "submissions"
students = {
    "alice": {"sigmoid": SIGMOID, "mse": MSE},
    "bob": {"sigmoid": SIGMOID, "mse": MSE_DIVIDED_BY_2M},
    "carol": {"sigmoid": "def sigmoid(Z):\n    while True:\n        pass\n", "mse": MSE},
}
for student, files in students.items():
    (SUBMISSIONS / student).mkdir(parents=True, exist_ok=True)
    for name, source in files.items():
        (SUBMISSIONS / student / exercises.get(name).filename).write_text(source)
GRADEBOOK = WORK / "gradebook.csv"
main(
    ["exercises", "grade", str(SUBMISSIONS), "sigmoid", "mse", "--csv", str(GRADEBOOK)]
    + ["--seed", SEED, "--timeout", "2", "--force"]
)
print(GRADEBOOK.read_text())

# %% [markdown]
# ## Step 7: Gradescope
#
# `check --format gradescope --out results.json` writes Gradescope's autograder results: a
# test per test group with its points, the hidden values shown only after the due date, the
# student's printed output and any written answers. `autograder OUT_DIR` writes the whole
# autograder to upload (`setup.sh`, `run_autograder`, npsae's source, a README, and the zip);
# its seed is fixed when it is written, so that every student gets the same hidden cases.

# %%
RESULTS = WORK / "results.json"
main(
    ["exercises", "check", str(SUBMISSIONS / "bob"), "sigmoid", "mse", "--format", "gradescope"]
    + ["--out", str(RESULTS), "--seed", SEED, "--force"]
)
results = json.loads(RESULTS.read_text())
for test in results["tests"]:
    print(f"{test['number']:>5} {test['name']:<40} {test['score']:5.2f} / {test['max_score']:.2f}")
AUTOGRADER = WORK / "autograder"
if not AUTOGRADER.exists():
    main(["exercises", "autograder", str(AUTOGRADER), "sigmoid", "mse", "--seed", SEED])
print(sorted(p.name for p in AUTOGRADER.iterdir()))

# %% [markdown]
# ## The gradebook
#
# Each exercise (a row) after each round of checking (a column). Look at the sigmoid and mse
# rows: red on the first attempt, green once fixed; the others stay grey, not written yet.

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
