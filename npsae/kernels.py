"""The Numba backend: the reference's three stages as fused, compiled loops.

Each public function here has the name and contract of its twin in ``npsae.reference`` (a test
holds them equal), with two differences that buy speed:

* one pass over the data does the whole stage (bias, activation, loss, derivative and bias
  gradient), instead of one temporary array per equation;
* the stage writes its result over its first argument (Z1 becomes H, Z2 becomes dZ2, dH becomes
  dZ1), so a training step allocates nothing but the gradients it returns.

Matrix products stay in BLAS (``np.dot`` with ``out=``): a hand-written loop cannot beat it.
Sums are accumulated in float64, as the reference does, so the backends agree to rounding.

Compiled code is cached on disk (``cache=True``) so a second process starts fast; set
``NPSAE_NUMBA_CACHE=0`` to turn the cache off. Numba itself falls back to a per-user cache folder
when the installed package is read-only.
"""

from __future__ import annotations

import math
import os

import numpy as np
from numba import njit

from npsae.reference import Cache

CACHE = os.environ.get("NPSAE_NUMBA_CACHE", "1") != "0"

# Integer codes for the compiled loops (Numba specialises a loop on an int cheaply).
SIGMOID, RELU, LINEAR = 0, 1, 2
CODES = {"sigmoid": SIGMOID, "relu": RELU, "linear": LINEAR}


@njit(cache=CACHE)
def _activate(z, code):
    if code == SIGMOID:
        return 1.0 / (1.0 + math.exp(-z))
    if code == RELU:
        return z if z > 0.0 else 0.0 * z
    return z


@njit(cache=CACHE)
def _activation_grad(a, code):
    # Written through the output a = f(z), as in the reference.
    if code == SIGMOID:
        return a * (1.0 - a)
    if code == RELU:
        return 1.0 if a > 0.0 else 0.0
    return 1.0


@njit(cache=CACHE)
def _hidden_activation(Z, b, code, h_sum):
    m, n = Z.shape
    h_sum[:] = 0.0
    for i in range(m):
        for j in range(n):
            a = _activate(Z[i, j] + b[j], code)
            Z[i, j] = a
            h_sum[j] += a


@njit(cache=CACHE)
def _keep_top_k(H, k, h_sum):
    m, n = H.shape
    h_sum[:] = 0.0
    for i in range(m):
        # A stable sort breaks ties by position, as the reference's does.
        order = np.argsort(-H[i], kind="mergesort")
        for r in range(k, n):
            H[i, order[r]] = 0.0
        for j in range(n):
            h_sum[j] += H[i, j]


@njit(cache=CACHE)
def _output_activation(Z, b, code):
    m, n = Z.shape
    for i in range(m):
        for j in range(n):
            Z[i, j] = _activate(Z[i, j] + b[j], code)


@njit(cache=CACHE)
def _output_layer(Z, b, X, code, grad_scale, db):
    m, n = Z.shape
    db[:] = 0.0
    sq_err = 0.0
    for i in range(m):
        for j in range(n):
            x_hat = _activate(Z[i, j] + b[j], code)
            d = x_hat - X[i, j]
            sq_err += np.float64(d) * np.float64(d)
            g = d * grad_scale * _activation_grad(x_hat, code)
            Z[i, j] = g
            db[j] += g
    return sq_err


@njit(cache=CACHE)
def _hidden_backward(dH, H, c, code, db):
    m, n = dH.shape
    db[:] = 0.0
    for i in range(m):
        for j in range(n):
            g = (dH[i, j] + c[j]) * _activation_grad(H[i, j], code)
            dH[i, j] = g
            db[j] += g


# --------------------------------------------------------------------------- the three stages


def hidden_activation(
    Z1: np.ndarray, b1: np.ndarray, hidden: str, k: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """H = f(Z1 + b1) (top k per sample when k > 0) and h_sum = column sums of H, as
    ``reference.hidden_activation``. Overwrites ``Z1: (m, n_hidden)`` with H and returns it.
    """
    h_sum = np.empty(Z1.shape[1])
    _hidden_activation(Z1, b1, CODES[hidden], h_sum)
    if k:
        _keep_top_k(Z1, k, h_sum)
    return Z1, h_sum


def output_layer(
    Z2: np.ndarray,
    b2: np.ndarray,
    X: np.ndarray,
    output: str,
    recon: str,
    recon_scale: float = 1.0,
) -> tuple[float, np.ndarray, np.ndarray]:
    """(L, dZ2, db2) as ``reference.output_layer``; overwrites ``Z2: (m, n_in)`` with dZ2."""
    m = X.shape[0]
    # d recon / d X^ = grad_scale (X^ - X):  2 / (m n_in) for mse, 1 / m for sse.
    norm = X.size if recon == "mse" else 2 * m
    grad_scale = Z2.dtype.type(2.0 / norm * recon_scale)
    db = np.empty(Z2.shape[1])
    sq_err = _output_layer(Z2, b2, X, CODES[output], grad_scale, db)
    return sq_err / norm, Z2, db.astype(Z2.dtype)


def hidden_backward(
    dH: np.ndarray, H: np.ndarray, c: np.ndarray, hidden: str
) -> tuple[np.ndarray, np.ndarray]:
    """(dZ1, db1) as ``reference.hidden_backward``; overwrites ``dH: (m, n_hidden)`` with dZ1."""
    db = np.empty(dH.shape[1])
    _hidden_backward(dH, H, c.astype(dH.dtype), CODES[hidden], db)
    return dH, db.astype(dH.dtype)


# --------------------------------------------------------------------------- the whole model


class NumbaBackend:
    """The fast backend: BLAS products, fused stages, and buffers reused between batches.

    The cache returned by ``loss_and_grads`` points into those buffers, so it is valid until the
    next call on the same backend.
    """

    def __init__(self) -> None:
        self._buffers: dict[str, np.ndarray] = {}

    def _buffer(self, name: str, shape: tuple[int, int], dtype: np.dtype) -> np.ndarray:
        buf = self._buffers.get(name)
        if buf is None or buf.shape != shape or buf.dtype != dtype:
            buf = self._buffers[name] = np.empty(shape, dtype)
        return buf

    def encode(
        self, params: dict, X: np.ndarray, hidden: str, k: int = 0
    ) -> tuple[np.ndarray, np.ndarray]:
        """H = f(X W1 + b1) (top k per sample when k > 0) and its column sums (H fresh)."""
        return hidden_activation(X @ params["W1"], params["b1"], hidden, k)

    def decode(self, params: dict, H: np.ndarray, output: str) -> np.ndarray:
        """X^ = g(H W2 + b2) (freshly allocated)."""
        Z2 = H @ params["W2"]
        _output_activation(Z2, params["b2"], CODES[output])
        return Z2

    def loss_and_grads(self, params: dict, X: np.ndarray, spec) -> tuple[dict, dict, Cache]:
        """Same contract as ``npsae.reference.loss_and_grads``."""
        W1, W2 = params["W1"], params["W2"]
        m, n_in = X.shape
        n_hidden = W1.shape[1]
        dtype = W1.dtype
        # Forward
        H = np.dot(X, W1, out=self._buffer("H", (m, n_hidden), dtype))
        H, h_sum = hidden_activation(H, params["b1"], spec.hidden, spec.sparsity.k)
        dZ2 = np.dot(H, W2, out=self._buffer("Z2", (m, n_in), dtype))
        recon, dZ2, db2 = output_layer(
            dZ2, params["b2"], X, spec.output, spec.recon, spec.recon_scale
        )
        loss = spec.loss_terms(recon, h_sum, m, params)
        # Backward
        dW2 = H.T @ dZ2
        dH = np.dot(dZ2, W2.T, out=self._buffer("dH", (m, n_hidden), dtype))
        c, dW2_sparsity = spec.sparsity_grads(h_sum, m, W2)
        dZ1, db1 = hidden_backward(dH, H, c, spec.hidden)
        dW1 = X.T @ dZ1
        grads = {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}
        spec.add_penalty_grads(grads, params, dW2_sparsity)
        return loss, grads, Cache(X, H, h_sum)
