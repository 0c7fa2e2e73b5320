"""Solution of backward_decay: backpropagation with L1 sparsity, weight decay, sigmoid or ReLU.

Each term adds its own gradient: the mse through both layers; the L1 term c = beta / m on
every H_ij (H >= 0), added to dH before the hidden derivative; the decay lambda W to dW only.
"""

import numpy as np


def backward_decay(X, W1, b1, W2, b2, hidden, beta, lam) -> dict:
    m, n_in = X.shape
    Z1 = X @ W1 + b1
    H = np.maximum(Z1, 0) if hidden == "relu" else 1 / (1 + np.exp(-Z1))
    X_hat = 1 / (1 + np.exp(-(H @ W2 + b2)))
    dZ2 = 2 * (X_hat - X) / (m * n_in) * X_hat * (1 - X_hat)  # key
    f_prime = (H > 0).astype(H.dtype) if hidden == "relu" else H * (1 - H)  # key
    dZ1 = (dZ2 @ W2.T + beta / m) * f_prime  # key
    return {
        "W1": X.T @ dZ1 + lam * W1,
        "b1": dZ1.sum(axis=0),
        "W2": H.T @ dZ2 + lam * W2,
        "b2": dZ2.sum(axis=0),
    }
