"""Solution of backward: backpropagation for sigmoid units, the mse and KL sparsity."""

import numpy as np


def backward(X, W1, b1, W2, b2, rho, beta) -> dict:
    m, n_in = X.shape
    H = 1 / (1 + np.exp(-(X @ W1 + b1)))
    X_hat = 1 / (1 + np.exp(-(H @ W2 + b2)))
    dZ2 = 2 * (X_hat - X) / (m * n_in) * X_hat * (1 - X_hat)  # key
    rho_hat = H.mean(axis=0)
    c = beta / m * (-rho / rho_hat + (1 - rho) / (1 - rho_hat))
    dZ1 = (dZ2 @ W2.T + c) * H * (1 - H)
    return {"W1": X.T @ dZ1, "b1": dZ1.sum(axis=0), "W2": H.T @ dZ2, "b2": dZ2.sum(axis=0)}
