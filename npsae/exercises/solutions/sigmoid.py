"""Solution of sigmoid: the logistic sigmoid."""

import numpy as np


def sigmoid(Z: np.ndarray) -> np.ndarray:
    # e^(-z) overflows to inf only for very negative z, where 1 / (1 + inf) = 0 is the limit.
    with np.errstate(over="ignore"):
        return 1 / (1 + np.exp(-Z))
