"""Solution of gradient_check: a gradient check.

CS231n's relative error, entry by entry: scale-free, and every entry must agree. The floor
``tiny`` keeps entries where both gradients are 0 from dividing 0 by 0.
"""

from collections.abc import Callable

import numpy as np
from numerical_gradient import numerical_gradient


def gradient_check(
    f: Callable[[np.ndarray], float], x: np.ndarray, analytic: np.ndarray, eps: float
) -> float:
    numeric = numerical_gradient(f, x, eps)
    tiny = 1e-12
    error = np.abs(analytic - numeric) / np.maximum(np.abs(analytic) + np.abs(numeric), tiny)  # key
    return float(np.max(error))
