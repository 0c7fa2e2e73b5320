"""Solution of debug_adamw: AdamW, fixed.

The bug: g = g + wd * p fed the decay into m and v (Adam with L2 regularisation). AdamW's
moments see the loss's gradient only; the decay shrinks p in the step itself.
"""

import numpy as np


def debug_adamw(p, g, m, v, t, lr, beta1, beta2, eps, wd):
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g * g
    m_hat = m / (1 - beta1**t)
    v_hat = v / (1 - beta2**t)
    p = p - lr * (m_hat / (np.sqrt(v_hat) + eps) + wd * p)  # key
    return p, m, v
