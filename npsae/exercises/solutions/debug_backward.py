"""Solution of debug_backward: the linear decoder's backward pass, fixed.

The bug: dZ2 = dX_hat * sigmoid_grad(X_hat) multiplies by the derivative of a sigmoid output,
but this model's output is linear, whose derivative is 1: dZ2 = dX_hat.
"""

import numpy as np
from kl_penalty_grad import kl_penalty_grad
from sigmoid_grad import sigmoid_grad


def debug_backward(X, W1, b1, W2, b2, rho, beta) -> dict:
    m = X.shape[0]
    Z1 = X @ W1 + b1
    H = 1 / (1 + np.exp(-Z1))
    X_hat = H @ W2 + b2
    dX_hat = (X_hat - X) / m
    dZ2 = dX_hat  # key
    dW2 = H.T @ dZ2
    db2 = dZ2.sum(axis=0)
    dH = dZ2 @ W2.T + kl_penalty_grad(H, rho, beta)
    dZ1 = dH * sigmoid_grad(H)
    dW1 = X.T @ dZ1
    db1 = dZ1.sum(axis=0)
    return {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}
