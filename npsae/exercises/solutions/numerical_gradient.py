"""Solution of numerical_gradient: the centred-difference gradient."""

from collections.abc import Callable

import numpy as np


def numerical_gradient(f: Callable[[np.ndarray], float], x: np.ndarray, eps: float) -> np.ndarray:
    grad = np.zeros(x.shape)
    flat = x.reshape(-1)  # a view: writing into it perturbs x itself
    for i in range(flat.size):
        old = flat[i]
        try:
            flat[i] = old + eps
            f_plus = f(x)
            flat[i] = old - eps
            f_minus = f(x)
        finally:
            flat[i] = old
        grad.flat[i] = (f_plus - f_minus) / (2 * eps)
    return grad
