"""Solution of forward: the forward pass."""

import numpy as np
from sigmoid import sigmoid


def forward(X: np.ndarray, W1: np.ndarray, b1: np.ndarray, W2: np.ndarray, b2: np.ndarray):
    H = sigmoid(X @ W1 + b1)
    return sigmoid(H @ W2 + b2)
