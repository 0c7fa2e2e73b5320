"""Solution of mse: the mean squared error."""

import numpy as np


def mse(X_hat: np.ndarray, X: np.ndarray) -> float:
    return float(np.sum((X_hat - X) ** 2) / X.size)
