"""Solution of kl_penalty_grad: the KL penalty's gradient.

d KL / d rho^ = -rho / rho^ + (1 - rho) / (1 - rho^), and d rho^_j / d H_ij = 1/m, so every
sample i gets the same row (beta / m) d KL / d rho^_j.
"""

import numpy as np


def kl_penalty_grad(H: np.ndarray, rho: float, beta: float) -> np.ndarray:
    m = H.shape[0]
    rho_hat = H.mean(axis=0)
    c = beta / m * (-rho / rho_hat + (1 - rho) / (1 - rho_hat))  # key
    return np.broadcast_to(c, H.shape).astype(H.dtype)
