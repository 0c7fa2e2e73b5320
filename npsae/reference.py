"""The NumPy reference backend: every equation of the sparse autoencoder, written to be read.

Notation, for a batch ``X: (m, n_in)`` of ``m`` samples::

    Z1 = X W1 + b1          W1: (n_in, n_hidden)   b1: (n_hidden,)
    H  = f(Z1)              H:  (m, n_hidden)      hidden activations
    Z2 = H W2 + b2          W2: (n_hidden, n_in)   b2: (n_in,)
    X^ = g(Z2)              X^: (m, n_in)          the reconstruction

With ``pre_bias`` the encoder reads the input relative to the decoder's bias, the usual
centring of today's sparse autoencoders:  Z1 = (X - b2) W1 + b1, and X^ = H W2 + b2 as before.

The fast backend (``npsae.kernels``) has a function of the same name and contract for each of
the three *stages* below (``hidden_activation``, ``output_layer``, ``hidden_backward``); a test
holds the two equal. The matrix products between the stages are plain BLAS calls in both backends.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from npsae.penalties import rectangle

# --------------------------------------------------------------------------- activations


def sigmoid(Z: np.ndarray) -> np.ndarray:
    """sigma(z) = 1 / (1 + e^(-z)), element-wise, in the dtype of ``Z``."""
    # e^(-z) overflows to inf for very negative z, and 1 / (1 + inf) = 0 is the correct limit.
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-Z))


def sigmoid_grad(A: np.ndarray) -> np.ndarray:
    """sigma'(z) written through the output A = sigma(z):  sigma'(z) = A (1 - A)."""
    return A * (1.0 - A)


def relu(Z: np.ndarray) -> np.ndarray:
    """relu(z) = max(z, 0), element-wise."""
    return np.maximum(Z, 0)


def relu_grad(A: np.ndarray) -> np.ndarray:
    """relu'(z) written through the output A = relu(z):  1 where A > 0, else 0.

    At z = 0 exactly the derivative is undefined; like every deep-learning library we take 0.
    """
    return (A > 0).astype(A.dtype)


def linear(Z: np.ndarray) -> np.ndarray:
    """The identity, for a linear output layer."""
    return Z


def linear_grad(A: np.ndarray) -> np.ndarray:
    """The identity's derivative: 1 everywhere."""
    return np.ones_like(A)


ACTIVATIONS = {"sigmoid": sigmoid, "relu": relu, "linear": linear}
ACTIVATION_GRADS = {"sigmoid": sigmoid_grad, "relu": relu_grad, "linear": linear_grad}

# --------------------------------------------------------------------------- reconstruction losses


def mse(X_hat: np.ndarray, X: np.ndarray) -> float:
    """Mean squared error, as Keras computes it:  sum((X^ - X)^2) / (m n_in)."""
    D = (X_hat - X).astype(np.float64)
    return float(np.sum(D * D) / X.size)


def mse_grad(X_hat: np.ndarray, X: np.ndarray) -> np.ndarray:
    """d mse / d X^ = 2 (X^ - X) / (m n_in)."""
    return (X_hat - X) * X_hat.dtype.type(2.0 / X.size)


def sse(X_hat: np.ndarray, X: np.ndarray) -> float:
    """UFLDL's squared error:  sum((X^ - X)^2) / (2 m), half the summed error per sample."""
    D = (X_hat - X).astype(np.float64)
    return float(np.sum(D * D) / (2 * X.shape[0]))


def sse_grad(X_hat: np.ndarray, X: np.ndarray) -> np.ndarray:
    """d sse / d X^ = (X^ - X) / m."""
    return (X_hat - X) * X_hat.dtype.type(1.0 / X.shape[0])


RECON_LOSSES = {"mse": mse, "sse": sse}
RECON_GRADS = {"mse": mse_grad, "sse": sse_grad}

# --------------------------------------------------------------------------- the three stages


def keep_top_k(H: np.ndarray, k: int) -> np.ndarray:
    """Zero all but the k largest entries of each row of ``H: (m, n_hidden)``.

    Ties are broken by position, the lower index kept first (a stable sort), so the result is
    the same on every machine. Gradients flow only through the kept entries.
    """
    kept = np.argsort(-H, axis=1, kind="stable")[:, :k]
    mask = np.zeros(H.shape, dtype=bool)
    np.put_along_axis(mask, kept, True, axis=1)
    return np.where(mask, H, 0).astype(H.dtype)


def keep_batch_top_k(H: np.ndarray, k: int) -> np.ndarray:
    """Zero all but the k m largest entries of the whole batch ``H: (m, n_hidden)`` (BatchTopK).

    Ties are broken by position in the flattened batch, the lower index kept first.
    """
    kept = np.argsort(-H, axis=None, kind="stable")[: k * H.shape[0]]
    mask = np.zeros(H.size, dtype=bool)
    mask[kept] = True
    return np.where(mask.reshape(H.shape), H, 0).astype(H.dtype)


def jump(H: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """Keep H_ij where it exceeds theta_j > 0, else 0;  theta: (n_hidden,).

    Applied to H = relu(Z) this is JumpReLU, H = Z H(Z - theta) (as theta > 0, relu(z) > theta
    exactly when z > theta), and BatchTopK's inference rule with one threshold for every unit.
    """
    return np.where(H > theta, H, 0).astype(H.dtype)


def hidden_activation(
    Z1: np.ndarray,
    b1: np.ndarray,
    hidden: str,
    k: int = 0,
    batch: bool = False,
    theta: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Encoder non-linearity:  H = f(Z1 + b1), and the column sums  h_j = sum_i H_ij.

    Args:
        Z1: (m, n_hidden), the product X W1 (bias not yet added).
        b1: (n_hidden,).
        hidden: "sigmoid" or "relu".
        k: with k > 0, keep only the k largest activations of each sample (TopK sparsity), or
            with ``batch`` the k m largest of the batch (BatchTopK).
        theta: (n_hidden,) positive thresholds: keep only activations above them (``jump``);
            replaces the selection by k.

    Returns:
        H: (m, n_hidden) in the dtype of Z1; h_sum: (n_hidden,) float64. The sparsity penalties
        use ``h_sum / m``, the mean activation rho^ of each unit.
    """
    H = ACTIVATIONS[hidden](Z1 + b1)
    if theta is not None:
        H = jump(H, theta)
    elif k:
        H = keep_batch_top_k(H, k) if batch else keep_top_k(H, k)
    return H, H.sum(axis=0, dtype=np.float64)


def jumprelu_window(Z: np.ndarray, theta: np.ndarray, bandwidth: float) -> np.ndarray:
    """K((Z - theta) / eps): 1 where the pre-activation ``Z: (m, n_hidden)`` lies within eps/2
    of its unit's threshold, the samples whose pseudo-derivative moves theta (see
    ``npsae.penalties.JumpReLUSparsity``)."""
    return rectangle((Z - theta) / Z.dtype.type(bandwidth))


def output_layer(
    Z2: np.ndarray,
    b2: np.ndarray,
    X: np.ndarray,
    output: str,
    recon: str,
    recon_scale: float = 1.0,
) -> tuple[float, np.ndarray, np.ndarray]:
    """Decoder non-linearity, reconstruction loss, and its gradient back through the decoder:

        X^ = g(Z2 + b2),   L = recon(X^, X),
        dZ2 = dL/dX^ * g'(Z2) ,   db2 = sum_i dZ2_i

    Args:
        Z2: (m, n_in), the product H W2 (bias not yet added).
        b2: (n_in,).
        X: (m, n_in), the batch to reconstruct.
        output: "sigmoid" or "linear"; recon: "mse" or "sse".
        recon_scale: multiplies the gradient (1 to train; 0 to differentiate other terms alone).

    Returns:
        (L, dZ2 (m, n_in), db2 (n_in,)).
    """
    X_hat = ACTIVATIONS[output](Z2 + b2)
    loss = RECON_LOSSES[recon](X_hat, X)
    dX_hat = RECON_GRADS[recon](X_hat, X) * X_hat.dtype.type(recon_scale)
    dZ2 = dX_hat * ACTIVATION_GRADS[output](X_hat)
    db2 = dZ2.sum(axis=0, dtype=np.float64).astype(dZ2.dtype)
    return loss, dZ2, db2


def hidden_backward(
    dH: np.ndarray, H: np.ndarray, c: np.ndarray, hidden: str
) -> tuple[np.ndarray, np.ndarray]:
    """Back through the encoder non-linearity, with the sparsity gradient added first:

        dZ1 = (dH + c) * f'(Z1),   db1 = sum_i dZ1_i

    Args:
        dH: (m, n_hidden), the reconstruction's gradient dZ2 W2^T.
        H: (m, n_hidden), the hidden activations (f' is written through them).
        c: (n_hidden,), the sparsity penalty's gradient dP/dH_ij, the same for every sample i
            (see ``npsae.sparsity``).
        hidden: "sigmoid" or "relu".

    Returns:
        (dZ1 (m, n_hidden), db1 (n_hidden,)).
    """
    dZ1 = (dH + c.astype(dH.dtype)) * ACTIVATION_GRADS[hidden](H)
    return dZ1, dZ1.sum(axis=0, dtype=np.float64).astype(dZ1.dtype)


# --------------------------------------------------------------------------- the whole model


class Cache(NamedTuple):
    """What the backward pass needs from the forward pass."""

    X: np.ndarray  # (m, n_in)
    H: np.ndarray  # (m, n_hidden)
    h_sum: np.ndarray  # (n_hidden,) float64


def encode(
    params: dict,
    X: np.ndarray,
    hidden: str,
    k: int = 0,
    batch: bool = False,
    theta: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """H = f(X W1 + b1), selected as ``hidden_activation`` says, and its column sums.

    X: (m, n_in) -> H: (m, n_hidden). With ``pre_bias`` the caller passes X - b2.
    """
    return hidden_activation(X @ params["W1"], params["b1"], hidden, k, batch, theta)


def decode(params: dict, H: np.ndarray, output: str) -> np.ndarray:
    """X^ = g(H W2 + b2); H: (m, n_hidden) -> X^: (m, n_in)."""
    return ACTIVATIONS[output](H @ params["W2"] + params["b2"])


def auxk(
    params: dict,
    Xe: np.ndarray,
    X: np.ndarray,
    H: np.ndarray,
    spec,
    grads: dict | None = None,
    stage: Callable = hidden_activation,
    output_stage: Callable = output_layer,
    decoder: Callable = decode,
) -> float:
    """AuxK, the auxiliary loss of dead units (Gao et al., 2024), and its gradient.

    The dead units D (``spec.dead``, those that have not fired for a while) try to model the
    main reconstruction's error e with their k_aux largest pre-activations (k_aux =
    ``spec.aux_k``, at most |D|) of each sample:

        e      = X - X^                          (a constant: no gradient flows through it)
        H_D    = topk_aux(Xe W1[:, D] + b1[D])                 (m, |D|), the rest set to 0
        e^     = H_D W2[D]                                       no bias
        L_aux  = alpha recon(e^, e)                              alpha = ``spec.aux_alpha``

    The pre-activations are taken as they are, without the ReLU (as SAELens and EleutherAI's
    sparsify do): a unit that died under a ReLU has only negative ones, and through a ReLU no
    gradient would reach it. e^ is a linear output layer without bias, so ``output_layer``
    gives L_aux / alpha and de^ = alpha recon'(e^, e); then dW2[D] += H_D^T de^,
    dZ_D = (de^ W2[D]^T) * 1[kept], dW1[:, D] += Xe^T dZ_D, db1[D] += sum_i dZ_D.

    Args:
        Xe: (m, n_in), the encoder's input (X, or X - b2 with pre_bias); X: (m, n_in), the
            batch; H: (m, n_hidden), the main code (for X^ = g(H W2 + b2)).
        grads: when given (and ``spec.aux_scale``), the gradient is added to it in place.
        stage, output_stage, decoder: the backend's ``hidden_activation``, ``output_layer``
            and ``decode``.

    Returns L_aux (0 when no unit is dead). ``spec.aux_residual``, when set, replaces e: a
    gradient check holds it fixed, as the gradient does.
    """
    dead = np.flatnonzero(spec.dead)
    if dead.size == 0:
        return 0.0
    W1_D, W2_D = params["W1"][:, dead], params["W2"][dead]
    e = X - decoder(params, H, spec.output) if spec.aux_residual is None else spec.aux_residual
    H_D, _ = stage(Xe @ W1_D, params["b1"][dead], "linear", min(spec.aux_k, dead.size))
    no_bias = np.zeros(X.shape[1], X.dtype)
    scale = spec.aux_alpha * spec.aux_scale if grads is not None else 0.0
    recon, de_hat, _ = output_stage(H_D @ W2_D, no_bias, e, "linear", spec.recon, scale)
    if scale:
        grads["W2"][dead] += H_D.T @ de_hat
        dZ_D = (de_hat @ W2_D.T) * (H_D != 0)  # the kept entries (a kept 0 has measure 0)
        grads["W1"][:, dead] += Xe.T @ dZ_D
        grads["b1"][dead] += dZ_D.sum(axis=0, dtype=np.float64).astype(dZ_D.dtype)
    return spec.aux_alpha * recon


def loss_and_grads(params: dict, X: np.ndarray, spec) -> tuple[dict, dict, Cache]:
    """Forward and backward pass of the sparse autoencoder on one batch.

    ``spec`` is the model's ``Spec`` (activations, losses, sparsity object, decay, and which terms
    to differentiate). Returns the loss terms, the gradients (keys of ``params``) and the cache.
    """
    W1, W2 = params["W1"], params["W2"]
    m = X.shape[0]
    sparsity = spec.sparsity
    # Forward
    Xe = X - params["b2"] if spec.pre_bias else X  # the encoder's input
    theta = np.exp(params["log_theta"]) if sparsity.threshold else None  # JumpReLU
    H, h_sum = hidden_activation(
        Xe @ W1, params["b1"], spec.hidden, sparsity.k, sparsity.batch, theta
    )
    recon, dZ2, db2 = output_layer(
        H @ W2, params["b2"], X, spec.output, spec.recon, spec.recon_scale
    )
    # Backward: decoder weights, then into the hidden layer, then encoder weights
    dW2 = H.T @ dZ2
    dH = dZ2 @ W2.T
    c, dW2_sparsity = spec.sparsity_grads(h_sum, m, W2)
    dZ1, db1 = hidden_backward(dH, H, c, spec.hidden)
    dW1 = Xe.T @ dZ1
    grads = {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}
    if theta is not None:  # the thresholds' pseudo-derivative
        K = jumprelu_window(Xe @ W1 + params["b1"], theta, sparsity.bandwidth)
        window_dH = (K * dH).sum(axis=0, dtype=np.float64)
        window_count = K.sum(axis=0, dtype=np.float64)
        grads["log_theta"] = sparsity.threshold_grad(
            window_dH, window_count, theta, m, spec.sparsity_scale
        )
    aux = auxk(params, Xe, X, H, spec, grads) if spec.aux_k else 0.0
    if spec.pre_bias:  # Xe = X - b2: the encoder's gradient reaches b2 too
        grads["b2"] -= W1 @ grads["b1"]
    # The loss comes last: adding the decay gradient also measures ||W||^2 for its value.
    sq_norm = spec.add_penalty_grads(grads, params, dW2_sparsity)
    loss = spec.loss_terms(recon, h_sum, m, params, sq_norm, H, aux)
    return loss, grads, Cache(X, H, h_sum)
