"""A 2-3-2 network worked out by hand, in scalar Python, independent of the package's NumPy code.

The scalar code below follows the chain rule one number at a time (no arrays, no vectorisation),
so it shares no code and no layout with ``npsae.reference``; the literal values were printed by it
once and are kept here so that a change to either side is caught.
"""

import math

import numpy as np
import pytest

from npsae.model import SparseAutoencoder

X = [[0.2, 0.9], [0.7, 0.1]]  # m = 2 samples, n_in = 2
W1 = [[0.1, -0.2, 0.3], [0.4, 0.5, -0.6]]  # (n_in, n_hidden)
B1 = [0.01, -0.02, 0.03]
W2 = [[0.7, -0.8], [0.9, 0.1], [-0.3, 0.2]]  # (n_hidden, n_in)
B2 = [-0.05, 0.04]
RHO, BETA, LAM = 0.2, 0.5, 0.01


def sig(z):
    return 1 / (1 + math.exp(-z))


def by_hand():
    m, n_in, n_h = 2, 2, 3
    h = [[sig(sum(X[i][k] * W1[k][j] for k in range(n_in)) + B1[j]) for j in range(n_h)]
         for i in range(m)]  # fmt: skip
    xh = [[sig(sum(h[i][j] * W2[j][k] for j in range(n_h)) + B2[k]) for k in range(n_in)]
          for i in range(m)]  # fmt: skip
    mse = sum((xh[i][k] - X[i][k]) ** 2 for i in range(m) for k in range(n_in)) / (m * n_in)
    rho_hat = [sum(h[i][j] for i in range(m)) / m for j in range(n_h)]
    kl = BETA * sum(
        RHO * math.log(RHO / r) + (1 - RHO) * math.log((1 - RHO) / (1 - r)) for r in rho_hat
    )
    decay = (
        LAM / 2 * (sum(w * w for row in W1 for w in row) + sum(w * w for row in W2 for w in row))
    )
    # Backward, one scalar at a time.
    d2 = [[2 * (xh[i][k] - X[i][k]) / (m * n_in) * xh[i][k] * (1 - xh[i][k]) for k in range(n_in)]
          for i in range(m)]  # fmt: skip
    gW2 = [[sum(h[i][j] * d2[i][k] for i in range(m)) + LAM * W2[j][k] for k in range(n_in)]
           for j in range(n_h)]  # fmt: skip
    gb2 = [sum(d2[i][k] for i in range(m)) for k in range(n_in)]
    dkl = [BETA / m * (-RHO / r + (1 - RHO) / (1 - r)) for r in rho_hat]
    d1 = [[(sum(d2[i][k] * W2[j][k] for k in range(n_in)) + dkl[j]) * h[i][j] * (1 - h[i][j])
           for j in range(n_h)] for i in range(m)]  # fmt: skip
    gW1 = [[sum(X[i][k] * d1[i][j] for i in range(m)) + LAM * W1[k][j] for j in range(n_h)]
           for k in range(n_in)]  # fmt: skip
    gb1 = [sum(d1[i][j] for i in range(m)) for j in range(n_h)]
    loss = {"recon": mse, "sparsity": kl, "decay": decay, "total": mse + kl + decay}
    return loss, {"W1": gW1, "b1": gb1, "W2": gW2, "b2": gb2}


# Printed once by by_hand() (repr of each float), for the record.
EXPECTED_LOSS = {
    "recon": 0.14591172809344202,
    "sparsity": 0.3344001348248798,
    "decay": 0.01495,  # 0.01 / 2 * (0.91 + 2.08), the squared weights summed by hand
    "total": 0.49526186291832186,
}
EXPECTED_B1 = [0.19112976855941, 0.17413153104085466, 0.12642311094030617]


def model_with_hand_params(backend):
    model = SparseAutoencoder(
        2, 3, sparsity="kl", rho=RHO, beta=BETA, weight_decay=LAM, dtype=np.float64, backend=backend
    )
    for name, value in (("W1", W1), ("b1", B1), ("W2", W2), ("b2", B2)):
        model.params[name] = np.array(value, dtype=np.float64)
    return model


def test_scalar_hand_computation_matches_the_recorded_numbers():
    loss, grads = by_hand()
    for term, value in EXPECTED_LOSS.items():
        assert loss[term] == pytest.approx(value, rel=1e-14)
    assert grads["b1"] == pytest.approx(EXPECTED_B1, rel=1e-12)


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_model_matches_the_hand_computation(backend):
    loss_hand, grads_hand = by_hand()
    loss, grads = model_with_hand_params(backend).loss_and_grads(np.array(X))
    for term in EXPECTED_LOSS:
        assert loss[term] == pytest.approx(loss_hand[term], rel=1e-13)
    for name, value in grads_hand.items():
        np.testing.assert_allclose(grads[name], np.array(value), rtol=1e-12, atol=0)
