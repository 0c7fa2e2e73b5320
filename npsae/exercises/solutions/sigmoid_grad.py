"""Solution of sigmoid_grad: the sigmoid's derivative through its output.

sigma'(z) = e^(-z) / (1 + e^(-z))^2 and e^(-z) = (1 - sigma) / sigma: sigma' = sigma (1 - sigma).
"""

import numpy as np


def sigmoid_grad(A: np.ndarray) -> np.ndarray:
    return A * (1 - A)  # key
