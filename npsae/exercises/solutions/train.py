"""Solution of train: mini-batch Adam on the bars, with the earlier exercises."""

import numpy as np
from adam_step import adam_step
from backward_decay import backward_decay

NAMES = ("W1", "b1", "W2", "b2")


def train(X, n_hidden, epochs, batch_size, lr, beta, lam, seed) -> dict:
    rng = np.random.default_rng(seed)
    n, n_in = X.shape
    params = {
        "W1": rng.normal(0, 1 / np.sqrt(n_in), (n_in, n_hidden)),
        "b1": np.zeros(n_hidden),
        "W2": rng.normal(0, 1 / np.sqrt(n_hidden), (n_hidden, n_in)),
        "b2": np.zeros(n_in),
    }
    moments = {k: (np.zeros_like(p), np.zeros_like(p)) for k, p in params.items()}
    t = 0
    for _ in range(epochs):
        order = rng.permutation(n)
        for start in range(0, n, batch_size):
            batch = X[order[start : start + batch_size]]
            grads = backward_decay(batch, *(params[k] for k in NAMES), "relu", beta, lam)
            t += 1
            for k in NAMES:
                m, v = moments[k]
                params[k], m, v = adam_step(params[k], grads[k], m, v, t, lr, 0.9, 0.999, 1e-8)
                moments[k] = (m, v)
    return params
