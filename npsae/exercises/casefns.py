"""Functions that exercise cases pass to a student's function, described as data.

Some exercises take a function as an argument (the ``f`` of a numerical gradient). A student's
code runs in a separate process that may import NumPy but not npsae, and only data crosses
between the processes; so such an argument is a ``CaseFunction``: the name of one of the plain
NumPy functions below plus the arrays it closes over. The grader sends the name and the arrays,
and the student's process rebuilds the same callable from this file, loaded by path.

This module imports NumPy only (never npsae), so that the student's process can load it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np


def sin_cubic(x: np.ndarray, w: np.ndarray, scale: float = 1.0) -> float:
    """f(x) = scale (sum(w sin(3x)) + sum(x^3) / 3), a smooth function with curvature
    everywhere; its gradient is scale (3 w cos(3x) + x^2)."""
    return float(scale * (np.sum(w * np.sin(3 * x)) + np.sum(x**3) / 3))


def tanh_square_of(_: np.ndarray, x: np.ndarray, w: np.ndarray) -> float:
    """f(.) = sum(w tanh(x)) + sum(x^2) with x the bound array, not the argument: a gradient
    checker's f, which ignores its argument and reads the model's own parameters."""
    return float(np.sum(w * np.tanh(x)) + np.sum(x**2))


def autoencoder_loss(
    _: np.ndarray,
    X: np.ndarray,
    W1: np.ndarray,
    b1: np.ndarray,
    W2: np.ndarray,
    b2: np.ndarray,
    rho: float,
    scale: float = 1.0,
) -> float:
    """``scale`` times the loss of a sparse autoencoder with sigmoid units: the mse plus
    KL(rho || rho^) with beta = 1, read from the bound parameters (a gradient checker's f
    perturbs one of them)."""
    H = 1 / (1 + np.exp(-(X @ W1 + b1)))
    X_hat = 1 / (1 + np.exp(-(H @ W2 + b2)))
    rho_hat = H.mean(axis=0)
    kl = rho * np.log(rho / rho_hat) + (1 - rho) * np.log((1 - rho) / (1 - rho_hat))
    return float(scale * (np.mean((X_hat - X) ** 2) + np.sum(kl)))


def tilted(arg: np.ndarray, x: np.ndarray, c: np.ndarray, of: str, **data) -> float:
    """f(arg) = g(x) + sum(c (arg - x)), g = FUNCTIONS[of] at x (with ``data``), x the bound
    array: a function that reads x itself. At arg = x its gradient is g's when x itself is
    perturbed, and c when a copy of x is."""
    return float(FUNCTIONS[of](x, **data) + np.sum(c * (arg - x)))


#: The functions a case may name, by name.
FUNCTIONS: dict[str, Callable[..., float]] = {
    f.__name__: f for f in (sin_cubic, tanh_square_of, autoencoder_loss, tilted)
}


@dataclasses.dataclass(frozen=True, eq=False)
class CaseFunction:
    """The callable ``FUNCTIONS[name](x, **data)``.

    ``data`` holds arrays (or numbers) that the function reads besides its argument; an entry
    may be the very array object passed to the student as another argument (a function that
    reads the array being perturbed), and the grader keeps that identity in the student's
    process.
    """

    name: str
    data: dict = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.name not in FUNCTIONS:
            raise ValueError(f"no case function {self.name!r}; known: {', '.join(FUNCTIONS)}")

    def __call__(self, x: np.ndarray) -> float:
        return FUNCTIONS[self.name](x, **self.data)
