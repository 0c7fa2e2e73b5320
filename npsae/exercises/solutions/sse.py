"""Solution of sse: UFLDL's squared error."""

import numpy as np


def sse(X_hat: np.ndarray, X: np.ndarray) -> float:
    return float(np.sum((X_hat - X) ** 2) / (2 * X.shape[0]))
