"""What a wrong dW1 says about the dZ1 it was computed from.

A backward pass ends with ``dW1 = X^T dZ1 (+ lambda W1)`` and ``db1 = sum_i dZ1_i``. When a
batch has no more samples than inputs (m <= n_in) and X has full rank, X^T has a left inverse,
so the student's dZ1 can be read back from their dW1: ``dZ1 = pinv(X^T) (dW1 - lambda W1)``.
Comparing it with the expected dZ1 names the error where it was made, in dZ1's own terms (a
factor H (1 - H) too many, a per-unit term, a sign), instead of through the product with X.
And when no dZ1 at all gives the student's dW1, the error lies outside the chain through dZ1:
in the decay term, or in what multiplies dZ1.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from npsae.exercises.diagnosis import explain

# The left inverse is trusted only on a well-conditioned X: beyond this, rounding in the
# student's float32 dW1 would come back as a pattern of its own.
_MAX_CONDITION = 1e3
# A residual of dW1 outside X^T's range counts when it exceeds this many times the tolerance.
_SLACK = 10.0


class Hidden(NamedTuple):
    """What is wrong with the dZ1 behind a dW1: ``message``, and whether it names one exact
    wrong derivative (``exact``), which outweighs any description of dW1 itself."""

    message: str
    exact: bool = False


def hidden_error(
    inputs: dict[str, np.ndarray], hidden: str, got: dict, want: dict, rtol: float
) -> Hidden | None:
    """What is wrong with the dZ1 behind the student's ``got["W1"]``, or None when it cannot
    be told (too many samples, a singular X) or says nothing new.

    ``inputs``: the case's arrays by name (X: (m, n_in), W1: (n_in, n_hidden), b1, and the
    scalar ``lam`` when the loss has a weight decay); ``hidden``: the hidden units' activation,
    "sigmoid" or "relu"; ``got`` / ``want``: the student's and the expected gradients (float64).
    """
    X, W1, b1 = inputs["X"], inputs["W1"], inputs["b1"]
    m, n_in = X.shape
    if m > n_in or np.linalg.cond(X) > _MAX_CONDITION:
        return None
    term = " + lambda W1" if "lam" in inputs else ""
    decay = float(inputs["lam"]) * W1 if "lam" in inputs else np.zeros_like(W1)
    left = np.linalg.pinv(X.T)
    dz1_want = left @ (want["W1"] - decay)
    dz1_got = left @ (got["W1"] - decay)
    scale = float(np.max(np.abs(want["W1"]), initial=0.0)) + 1e-300
    outside = got["W1"] - decay - X.T @ dz1_got
    if np.max(np.abs(outside)) > _SLACK * rtol * scale:
        where = (
            " (in the weight-decay term?)" if "lam" in inputs else " (is X^T what multiplies dZ1?)"
        )
        return Hidden(
            f"no dZ1 gives your dW1 as X^T dZ1{term}: the error is outside the chain through "
            f"dZ1{where}"
        )
    Z1 = X @ W1 + b1
    derivative = _derivative(Z1, hidden, dz1_got, dz1_want, rtol)
    found = derivative or _through(Z1, hidden, dz1_got, dz1_want, rtol, m)
    if found is None:
        return None
    message = f"your dW1 is X^T dZ1{term} for a dZ1 (read back from it) that is wrong: {found}"
    if not np.allclose(
        got["b1"], dz1_got.sum(axis=0), rtol=_SLACK * rtol, atol=_SLACK * rtol * scale
    ):
        message += "; and your db1 is not the sum over the samples of that same dZ1"
    return Hidden(message, exact=derivative is not None)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-z))


def _derivatives(Z1: np.ndarray, hidden: str) -> tuple[np.ndarray, list[tuple[str, np.ndarray]]]:
    """The hidden unit's right derivative f'(Z1), and the wrong ones students use instead."""
    sigmoid = _sigmoid(Z1)
    relu = np.maximum(Z1, 0)
    as_sigmoid = sigmoid * (1 - sigmoid)
    twice = _sigmoid(sigmoid) * (1 - _sigmoid(sigmoid))
    if hidden == "relu":
        right = (Z1 > 0).astype(np.float64)
        wrong = [
            ("the sigmoid's derivative sigma(Z1) (1 - sigma(Z1)), for ReLU units", as_sigmoid),
            ("relu(Z1) itself, the activation, where its derivative belongs", relu),
            ("1 everywhere: the derivative left out", np.ones_like(Z1)),
            ("relu'(Z1) with >= where > belongs", (Z1 >= 0).astype(np.float64)),
        ]
        return right, wrong
    H = sigmoid
    wrong = [
        ("1 everywhere: the sigmoid's derivative left out", np.ones_like(Z1)),
        ("sigma'(H), the derivative taken at H = sigma(Z1) instead of at Z1", twice),
        ("H alone, where H (1 - H) belongs", H),
        ("(1 - H) alone, where H (1 - H) belongs", 1 - H),
        ("Z1 (1 - Z1): Z1 where H belongs", Z1 * (1 - Z1)),
        ("1 - H^2, tanh's derivative", 1 - H**2),
        ("relu'(Z1), the ReLU's derivative, for sigmoid units", (Z1 > 0).astype(np.float64)),
        ("H (1 - H) twice: the derivative applied two times", as_sigmoid**2),
    ]
    return as_sigmoid, wrong


def _derivative(Z1, hidden: str, dz1_got, dz1_want, rtol: float) -> str | None:
    """The student's dZ1 is dH times a wrong local derivative: which one. Where the right
    derivative is 0 (a ReLU's Z1 <= 0), dH cannot be read back: there a wrong derivative that
    is not 0 must at least have let something through."""
    right, wrong = _derivatives(Z1, hidden)
    known = right != 0
    if not known.all() and hidden != "relu":
        return None
    dh = np.where(known, dz1_want / np.where(known, right, 1.0), 0.0)
    bound = _SLACK * rtol * (float(np.max(np.abs(dz1_want), initial=0.0)) + 1e-300)
    for what, f in wrong:
        fits = np.abs(dh * f - dz1_got)[known].max(initial=0.0) <= bound
        passed = np.abs(dz1_got[~known]) > bound
        unknown = np.array_equal(passed, f[~known] != 0)
        if fits and unknown and not np.allclose(dh * f, dz1_want):
            return f"it is dH times {what}"
    return None


def _through(Z1, hidden: str, dz1_got, dz1_want, rtol: float, m: int) -> str | None:
    """For sigmoid units (whose derivative is never 0), what is wrong with the dH behind the
    student's dZ1 = dH * sigma'(Z1); else with dZ1 itself."""
    H = _sigmoid(Z1) if hidden != "relu" else np.maximum(Z1, 0)
    if hidden != "relu":
        local = H * (1 - H)
        note = explain(dz1_got / local, dz1_want / local, rtol, {"H": H}, m)
        if note.specific:
            return f"read back through dZ1 = dH * H (1 - H), the dH behind it: {note.message}"
    note = explain(dz1_got, dz1_want, rtol, {"H": H}, m)
    return note.message if note.specific else None
