"""Solution of l1_penalty_grad: the L1 penalty's gradient.

d|h|/dh = -1 for h < 0 and +1 for h > 0; at h = 0 the subgradient 0, which np.sign gives.
"""

import numpy as np


def l1_penalty_grad(H: np.ndarray, beta: float) -> np.ndarray:
    dH = beta / H.shape[0] * np.sign(H)  # key
    return dH.astype(H.dtype)
