"""Solution of kl_penalty: the KL sparsity penalty."""

import numpy as np


def kl_penalty(H: np.ndarray, rho: float, beta: float) -> float:
    rho_hat = H.mean(axis=0, dtype=np.float64)
    kl = rho * np.log(rho / rho_hat) + (1 - rho) * np.log((1 - rho) / (1 - rho_hat))
    return float(beta * np.sum(kl))
