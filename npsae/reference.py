"""The NumPy reference backend: the sparse autoencoder's loss and gradient, written to be read.

For a batch ``X: (m, n_in)`` of ``m`` samples, the forward pass (``forward``) is::

    Xe = X                  (Xe = X - b2 with pre_bias: the decoder's bias centres the input)
    Z1 = Xe W1 + b1         W1: (n_in, n_hidden)   b1: (n_hidden,)
    H  = select(f(Z1))      H:  (m, n_hidden)      the code; select keeps what TopK, BatchTopK
                                                   or JumpReLU let through (``select``)
    Z2 = H W2 + b2          W2: (n_hidden, n_in)   b2: (n_in,)
    X^ = g(Z2)              X^: (m, n_in)          the reconstruction

and the loss is a sum of terms, each with its own function for the gradient::

    loss = recon(X^, X)                    recon_grads
         + sparsity(H)                     sparsity_grads    (npsae.penalties)
         + (lambda / 2) ||W||^2            decay_grads
         + alpha recon(X_aux, X)           aux_grads         (AuxK, only with aux_k)

``term_grads`` returns each term's gradient; ``loss_and_grads`` sums them. Every function works
in the parameters' dtype, except that the penalties' per-unit vectors are float64: each term's
gradient is cast to its parameters' dtypes once, as it is returned (``in_param_dtypes``).

The fast backend (``npsae.kernels``) fuses these equations into three compiled stages and
computes only the sum of the terms; tests hold it equal to this module.
"""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

import numpy as np

from npsae.penalties import WEIGHTS, Sparsity, rectangle, weight_decay, weight_decay_grad

# --------------------------------------------------------------------------- the objective


@dataclasses.dataclass(frozen=True)
class Objective:
    """The function a backend evaluates and differentiates, besides the parameters and data.

    ``hidden`` f and ``output`` g are activations, ``recon`` the reconstruction loss,
    ``sparsity`` the penalty (``npsae.penalties``; its attributes also say how H is selected),
    ``weight_decay`` lambda. ``pre_bias``: the encoder reads X - b2. ``aux_k``, ``aux_alpha``:
    AuxK's k_aux (0: off) and weight alpha; ``dead``: (n_hidden,) bool, the units AuxK counts
    as dead; ``aux_base``: a fixed Z2 = H W2 + b2 instead of the one of the batch's code (a
    gradient check's, see ``aux_forward``).
    """

    hidden: str
    output: str
    recon: str
    sparsity: Sparsity
    weight_decay: float
    pre_bias: bool = False
    aux_k: int = 0
    aux_alpha: float = 0.0
    dead: np.ndarray | None = None
    aux_base: np.ndarray | None = None


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


def _squared_error(X_hat: np.ndarray, X: np.ndarray) -> np.ndarray:
    """(X^ - X)^2 in float64, the difference taken in the data's dtype. Squared with
    ``dtype=``, which converts a buffer at a time: a float64 copy of the batch costs 14x more
    (its pages faulted in afresh at every call), for the same numbers."""
    return np.square(X_hat - X, dtype=np.float64)


def mse(X_hat: np.ndarray, X: np.ndarray) -> float:
    """Mean squared error, as Keras computes it:  sum((X^ - X)^2) / (m n_in)."""
    return float(np.sum(_squared_error(X_hat, X)) / X.size)


def mse_grad(X_hat: np.ndarray, X: np.ndarray) -> np.ndarray:
    """d mse / d X^ = 2 (X^ - X) / (m n_in)."""
    return (X_hat - X) * (2.0 / X.size)


def sse(X_hat: np.ndarray, X: np.ndarray) -> float:
    """UFLDL's squared error:  sum((X^ - X)^2) / (2 m), half the summed error per sample."""
    return float(np.sum(_squared_error(X_hat, X)) / (2 * X.shape[0]))


def sse_grad(X_hat: np.ndarray, X: np.ndarray) -> np.ndarray:
    """d sse / d X^ = (X^ - X) / m."""
    return (X_hat - X) * (1.0 / X.shape[0])


RECON_LOSSES = {"mse": mse, "sse": sse}
RECON_GRADS = {"mse": mse_grad, "sse": sse_grad}

# --------------------------------------------------------------------------- selections


def keep_top_k(H: np.ndarray, k: int) -> np.ndarray:
    """Zero all but the k largest entries of each row of ``H: (m, n_hidden)``.

    Ties are broken by position, the lower index kept first (a stable sort), so the result is
    the same on every machine. Gradients flow only through the kept entries.
    """
    kept = np.argsort(-H, axis=1, kind="stable")[:, :k]
    mask = np.zeros(H.shape, dtype=bool)
    np.put_along_axis(mask, kept, True, axis=1)
    return np.where(mask, H, 0)


def keep_batch_top_k(H: np.ndarray, k: int) -> np.ndarray:
    """Zero all but the k m largest entries of the whole batch ``H: (m, n_hidden)`` (BatchTopK).

    Ties are broken by position in the flattened batch, the lower index kept first.
    """
    kept = np.argsort(-H, axis=None, kind="stable")[: k * H.shape[0]]
    mask = np.zeros(H.size, dtype=bool)
    mask[kept] = True
    return np.where(mask.reshape(H.shape), H, 0)


def jump(H: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """Keep H_ij where it exceeds theta_j > 0, else 0;  theta: (n_hidden,).

    Applied to H = relu(Z) this is JumpReLU, H = Z H(Z - theta) (as theta > 0, relu(z) > theta
    exactly when z > theta), and BatchTopK's inference rule with one threshold for every unit.
    """
    return np.where(H > theta, H, 0)


def select(
    H: np.ndarray, k: int = 0, batch: bool = False, theta: np.ndarray | None = None
) -> np.ndarray:
    """The activations of ``H: (m, n_hidden)`` that survive: those above the thresholds
    ``theta`` (``jump``) if given, else with k > 0 the k largest of each sample
    (``keep_top_k``, TopK) or with ``batch`` the k m largest of the batch (BatchTopK), else
    all of them."""
    if theta is not None:
        return jump(H, theta)
    if k:
        return keep_batch_top_k(H, k) if batch else keep_top_k(H, k)
    return H


def column_sums(H: np.ndarray) -> np.ndarray:
    """h_j = sum_i H_ij: (n_hidden,), accumulated in float64 (the penalties' precision)."""
    return H.sum(axis=0, dtype=np.float64)


def jumprelu_window(Z: np.ndarray, theta: np.ndarray, bandwidth: float) -> np.ndarray:
    """K((Z - theta) / eps): 1 where the pre-activation ``Z: (m, n_hidden)`` lies within eps/2
    of its unit's threshold, the samples whose pseudo-derivative moves theta (see
    ``npsae.penalties.JumpReLUSparsity``)."""
    return rectangle((Z - theta) / bandwidth)


# --------------------------------------------------------------------------- encoder and decoder


def hidden_activation(
    Z1: np.ndarray,
    b1: np.ndarray,
    hidden: str,
    k: int = 0,
    batch: bool = False,
    theta: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The encoder's non-linearity:  H = select(f(Z1 + b1)), and its column sums h.

    ``Z1: (m, n_hidden)`` is the product X W1 (bias not yet added), ``b1: (n_hidden,)``;
    ``k``, ``batch`` and ``theta`` choose the selection (``select``). Returns H (m, n_hidden) in
    the dtype of Z1 and h (n_hidden,) float64. ``npsae.kernels`` has a fused twin.
    """
    H = select(ACTIVATIONS[hidden](Z1 + b1), k, batch, theta)
    return H, column_sums(H)


def encode(
    params: dict,
    X: np.ndarray,
    hidden: str,
    k: int = 0,
    batch: bool = False,
    theta: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """H = select(f(X W1 + b1)) and its column sums; X: (m, n_in) -> H: (m, n_hidden).

    With ``pre_bias`` the caller passes X - b2.
    """
    return hidden_activation(X @ params["W1"], params["b1"], hidden, k, batch, theta)


def decode(params: dict, H: np.ndarray, output: str) -> np.ndarray:
    """X^ = g(H W2 + b2); H: (m, n_hidden) -> X^: (m, n_in)."""
    return ACTIVATIONS[output](H @ params["W2"] + params["b2"])


# --------------------------------------------------------------------------- forward pass


class Forward(NamedTuple):
    """The forward pass's values, named as in the module docstring."""

    X: np.ndarray  # (m, n_in)
    Xe: np.ndarray  # (m, n_in), the encoder's input
    Z1: np.ndarray  # (m, n_hidden), with its bias
    H: np.ndarray  # (m, n_hidden)
    h_sum: np.ndarray  # (n_hidden,) float64
    X_hat: np.ndarray  # (m, n_in)
    theta: np.ndarray | None  # (n_hidden,), JumpReLU's thresholds
    window: np.ndarray | None  # (m, n_hidden), JumpReLU's K((Z1 - theta) / eps)


def forward(params: dict, X: np.ndarray, objective: Objective) -> Forward:
    """The forward pass of a training step on ``X: (m, n_in)`` (BatchTopK selects in X)."""
    sparsity = objective.sparsity
    Xe = X - params["b2"] if objective.pre_bias else X
    Z1 = Xe @ params["W1"] + params["b1"]
    theta = np.exp(params["log_theta"]) if sparsity.threshold else None
    H = select(ACTIVATIONS[objective.hidden](Z1), sparsity.k, sparsity.batch, theta)
    X_hat = ACTIVATIONS[objective.output](H @ params["W2"] + params["b2"])
    window = None if theta is None else jumprelu_window(Z1, theta, sparsity.bandwidth)
    return Forward(X, Xe, Z1, H, column_sums(H), X_hat, theta, window)


# --------------------------------------------------------------------------- loss values


def loss_terms(recon: float, sparsity: float, decay: float, aux: float = 0.0) -> dict:
    """The loss terms as floats, and their ``total`` = recon + sparsity + decay + aux."""
    terms = {"recon": float(recon), "sparsity": float(sparsity), "decay": float(decay)}
    terms["aux"] = float(aux)
    terms["total"] = terms["recon"] + terms["sparsity"] + terms["decay"] + terms["aux"]
    return terms


def assemble_losses(
    params: dict,
    objective: Objective,
    recon: float,
    H: np.ndarray,
    h_sum: np.ndarray,
    aux: float,
    sq_norm: float | None = None,
    sparsity: float | None = None,
) -> dict:
    """The loss terms of a forward pass whose code is ``H: (m, n_hidden)`` (column sums
    ``h_sum``), given its ``recon`` and ``aux`` terms, however a backend computed them; the
    one assembly of the terms, which this module, ``npsae.kernels`` and the model use:

        sparsity = P(H)                      the penalty's ``value``, unless given
        decay    = (lambda / 2) ||W||^2      from ``sq_norm`` = ||W1||^2 + ||W2||^2 if given
    """
    lam = objective.weight_decay
    if sparsity is None:
        sparsity = objective.sparsity.value(h_sum, H.shape[0], params["W2"], H)
    return loss_terms(
        recon=recon,
        sparsity=sparsity,
        decay=weight_decay(params, lam) if sq_norm is None else 0.5 * lam * sq_norm,
        aux=aux,
    )


def losses(params: dict, fw: Forward, objective: Objective) -> dict:
    """The loss terms of the forward pass ``fw`` (see ``loss_terms``)."""
    recon = RECON_LOSSES[objective.recon](fw.X_hat, fw.X)
    aux = aux_loss(params, fw.Xe, fw.X, fw.H, objective)
    return assemble_losses(params, objective, recon, fw.H, fw.h_sum, aux)


# ----------------------------------------------------------------- gradients, term by term


def zero_grads(params: dict) -> dict:
    """A gradient of 0 for every parameter: a term starts from it and fills in what it moves."""
    return {name: np.zeros_like(p) for name, p in params.items()}


def encoder_grads(params: dict, fw: Forward, dZ1: np.ndarray, objective: Objective) -> dict:
    """Back from ``dZ1`` = dL/dZ1: (m, n_hidden) to the encoder's parameters, Z1 = Xe W1 + b1:

        dW1 = Xe^T dZ1,    db1 = sum_i dZ1_i,    db2 = -W1 db1   (pre_bias: Xe = X - b2)

    and 0 for the other parameters.
    """
    grads = zero_grads(params)
    grads["W1"] = fw.Xe.T @ dZ1
    grads["b1"] = dZ1.sum(axis=0)
    if objective.pre_bias:
        grads["b2"] = -(params["W1"] @ grads["b1"])
    return grads


def recon_grads(params: dict, fw: Forward, objective: Objective) -> dict:
    """Gradient of recon(X^, X), back through the decoder and the encoder:

        dX^ = recon'(X^, X)           (m, n_in)
        dZ2 = dX^ * g'(Z2)            (m, n_in)
        dW2 = H^T dZ2,   db2 = sum_i dZ2_i
        dH  = dZ2 W2^T                (m, n_hidden)
        dZ1 = dH * f'(Z1)             (m, n_hidden), 0 where select dropped H_ij
        dW1, db1 (and db2 with pre_bias): ``encoder_grads``

    With JumpReLU, the thresholds' pseudo-derivative through H:
    d log theta_j = theta_j (-(theta_j / eps) sum_i K_ij dH_ij)  (``threshold_grad``).
    """
    dX_hat = RECON_GRADS[objective.recon](fw.X_hat, fw.X)
    dZ2 = dX_hat * ACTIVATION_GRADS[objective.output](fw.X_hat)
    dH = dZ2 @ params["W2"].T
    dZ1 = dH * ACTIVATION_GRADS[objective.hidden](fw.H)
    grads = encoder_grads(params, fw, dZ1, objective)
    grads["W2"] = fw.H.T @ dZ2
    grads["b2"] = grads["b2"] + dZ2.sum(axis=0)
    if fw.theta is not None:
        window_dH = (fw.window * dH).sum(axis=0)
        m = fw.X.shape[0]
        grads["log_theta"] = objective.sparsity.threshold_grad(
            window_dH=window_dH, window_count=0.0, theta=fw.theta, m=m
        )
    return grads


def sparsity_grads(params: dict, fw: Forward, objective: Objective) -> dict:
    """Gradient of the sparsity penalty P, which depends on H through its column sums h
    (``npsae.penalties``), so that dP/dH_ij = c_j for every sample i, or, for a ``per_entry``
    penalty, on every entry, dP/dH_ij = E_ij:

        c   = dP/dH                   (n_hidden,)     the penalty's ``hidden_grad``
        E   = dP/dH                   (m, n_hidden)   its ``entry_grad`` (per_entry only)
        dZ1 = (c + E) * f'(Z1)        (m, n_hidden)
        dW1, db1 (and db2 with pre_bias): ``encoder_grads``
        dW2 = dP/dW2                  the penalty's ``decoder_grad`` (L1-decoder only)

    With JumpReLU, the L0 penalty's pseudo-derivative in the thresholds:
    d log theta_j = theta_j (-(beta / (m eps)) sum_i K_ij)  (``threshold_grad``).
    """
    sparsity, W2, m = objective.sparsity, params["W2"], fw.X.shape[0]
    c = sparsity.hidden_grad(fw.h_sum, m, W2)
    E = sparsity.entry_grad(fw.H, m)
    dH = c if E is None else c + E
    dZ1 = dH * ACTIVATION_GRADS[objective.hidden](fw.H)
    grads = encoder_grads(params, fw, dZ1, objective)
    dW2 = sparsity.decoder_grad(fw.h_sum, m, W2)
    if dW2 is not None:
        grads["W2"] = dW2
    if fw.theta is not None:
        window_count = fw.window.sum(axis=0)
        grads["log_theta"] = sparsity.threshold_grad(
            window_dH=0.0, window_count=window_count, theta=fw.theta, m=m
        )
    return grads


def decay_grads(params: dict, fw: Forward, objective: Objective) -> dict:
    """Gradient of (lambda / 2) (||W1||^2 + ||W2||^2):  dW = lambda W; biases are not decayed."""
    grads = zero_grads(params)
    for name in WEIGHTS:
        grads[name] = weight_decay_grad(params[name], objective.weight_decay)
    return grads


class AuxForward(NamedTuple):
    """AuxK's forward pass (``aux_forward``)."""

    dead: np.ndarray  # (|D|,) the dead units' indices
    H_D: np.ndarray  # (m, |D|), the dead units' code
    X_aux: np.ndarray  # (m, n_in), g(Z2 + H_D W2[D]): the reconstruction with the dead units


def main_preactivation(params: dict, H: np.ndarray) -> np.ndarray:
    """Z2 = H W2 + b2: the decoder's input to its output activation g; H: (m, n_hidden)."""
    return H @ params["W2"] + params["b2"]


def aux_forward(
    params: dict, Xe: np.ndarray, H: np.ndarray, objective: Objective
) -> AuxForward | None:
    """AuxK (Gao et al., 2024): the dead units D (``objective.dead``, those that have not fired
    for a while) try to reduce the main reconstruction's error with their k_aux largest
    pre-activations (k_aux = ``objective.aux_k``, at most |D|) of each sample, added to the
    main code's contribution Z2 = H W2 + b2, which is held constant (no gradient flows
    through it):

        H_D    = topk_aux(Xe W1[:, D] + b1[D])   (m, |D|), the rest set to 0
        X_aux  = g(Z2 + H_D W2[D])               (m, n_in)
        L_aux  = alpha recon(X_aux, X)           alpha = ``objective.aux_alpha``

    With a linear output g this is Gao et al.'s loss exactly: X_aux - X = e^ - e with the
    residual e = X - X^ and its model e^ = H_D W2[D], so L_aux = alpha recon(e^, e) (SAELens
    computes the same, bench/auxk_vs_saelens.py). With a sigmoid output the dead units write,
    like the live ones, into the sigmoid's input: a linear model of the residual X - g(Z2), what
    npsae did before issue 30, trains decoder rows on the wrong scale (the sigmoid's slope is
    at most 1/4, and ~0 on MNIST's saturated background) and on MNIST left more units dead
    than no AuxK at all (``npsae.penalties.TopKSparsity``).

    The pre-activations are taken as they are, without the ReLU (as SAELens and EleutherAI's
    sparsify do): a unit that died under a ReLU has only negative ones, and through a ReLU no
    gradient would reach it. ``objective.aux_base``, when set, replaces Z2: a gradient check
    holds it fixed, as the gradient does. Xe: (m, n_in), the encoder's input; H: (m,
    n_hidden), the main code.

    Returns None when no unit is dead.
    """
    dead = np.flatnonzero(objective.dead)
    if dead.size == 0:
        return None
    Z2 = main_preactivation(params, H) if objective.aux_base is None else objective.aux_base
    Z_D = Xe @ params["W1"][:, dead] + params["b1"][dead]
    H_D = keep_top_k(Z_D, min(objective.aux_k, dead.size))
    X_aux = ACTIVATIONS[objective.output](Z2 + H_D @ params["W2"][dead])
    return AuxForward(dead, H_D, X_aux)


def aux_loss(
    params: dict, Xe: np.ndarray, X: np.ndarray, H: np.ndarray, objective: Objective
) -> float:
    """L_aux = alpha recon(X_aux, X) (``aux_forward``); 0 without AuxK or when no unit is dead."""
    aux = aux_forward(params, Xe, H, objective) if objective.aux_k else None
    if aux is None:
        return 0.0
    return objective.aux_alpha * RECON_LOSSES[objective.recon](aux.X_aux, X)


def aux_grads(params: dict, fw: Forward, objective: Objective) -> dict:
    """Gradient of L_aux (``aux_forward``), through the dead units D only:

        dZ_aux    = alpha recon'(X_aux, X) * g'(X_aux)   (m, n_in)
        dW2[D]    = H_D^T dZ_aux
        dZ1[:, D] = (dZ_aux W2[D]^T) * 1[kept]           (m, n_hidden)
        dW1, db1 (and db2 with pre_bias): ``encoder_grads``

    The live units' columns of dZ1, and their rows of dW2, are 0; so is db2 (Z2 is constant).
    """
    aux = aux_forward(params, fw.Xe, fw.H, objective)
    if aux is None:
        return zero_grads(params)
    dX_aux = objective.aux_alpha * RECON_GRADS[objective.recon](aux.X_aux, fw.X)
    dZ_aux = dX_aux * ACTIVATION_GRADS[objective.output](aux.X_aux)
    dZ1 = np.zeros_like(fw.Z1)
    dZ1[:, aux.dead] = (dZ_aux @ params["W2"][aux.dead].T) * (aux.H_D != 0)
    grads = encoder_grads(params, fw, dZ1, objective)
    grads["W2"][aux.dead] = aux.H_D.T @ dZ_aux
    return grads


TERM_GRADS = {
    "recon": recon_grads,
    "sparsity": sparsity_grads,
    "decay": decay_grads,
    "aux": aux_grads,
}
# Every loss term a model may have; "aux" (AuxK) only with aux_k.
TERMS = tuple(TERM_GRADS)


def objective_terms(objective: Objective) -> tuple[str, ...]:
    """The loss terms of ``objective``: recon, sparsity, decay, and aux with AuxK."""
    return TERMS if objective.aux_k else TERMS[:-1]


def term_grads(params: dict, X: np.ndarray, objective: Objective) -> dict[str, dict]:
    """Each loss term's gradient on its own, on the batch ``X: (m, n_in)``: {"recon": grads,
    "sparsity": ..., "decay": ..., and "aux" with AuxK}, each a dict with the keys, shapes and
    dtypes of ``params``."""
    return _term_grads(params, forward(params, X, objective), objective)


def _term_grads(params: dict, fw: Forward, objective: Objective) -> dict[str, dict]:
    terms = objective_terms(objective)
    return {t: in_param_dtypes(TERM_GRADS[t](params, fw, objective), params) for t in terms}


def in_param_dtypes(grads: dict, params: dict) -> dict:
    """Each gradient in its parameter's dtype: the one cast of the reference, at its boundary
    (the penalties' per-unit vectors are float64, and so are the gradients they reach)."""
    return {name: g.astype(params[name].dtype, copy=False) for name, g in grads.items()}


def sum_grads(parts: list[dict], params: dict) -> dict:
    """The sum of the gradients ``parts`` (0 for none), parameter by parameter."""
    return {name: sum((g[name] for g in parts), np.zeros_like(p)) for name, p in params.items()}


# --------------------------------------------------------------------------- the whole model


class Cache(NamedTuple):
    """What the trainer reads from a training step besides the loss and gradients."""

    X: np.ndarray  # (m, n_in)
    H: np.ndarray  # (m, n_hidden), the code; a SparseCode on the numba sparse path
    h_sum: np.ndarray  # (n_hidden,) float64, its column sums


class LossAndGrads(NamedTuple):
    """``loss``: the terms as floats (recon, sparsity, decay, aux, total); ``grads``: the
    gradient of the total, with the keys, shapes and dtypes of the parameters."""

    loss: dict
    grads: dict


class ForwardBackward(NamedTuple):
    """``LossAndGrads`` and the ``Cache``: what a backend's ``forward_backward`` returns."""

    loss: dict
    grads: dict
    cache: Cache


def loss_and_grads(params: dict, X: np.ndarray, objective: Objective) -> LossAndGrads:
    """The loss terms on the batch ``X: (m, n_in)`` and the gradient of their total, the sum
    of the terms' gradients (``term_grads``)."""
    loss, grads, _ = forward_backward(params, X, objective)
    return LossAndGrads(loss, grads)


def forward_backward(params: dict, X: np.ndarray, objective: Objective) -> ForwardBackward:
    """``loss_and_grads`` and the cache a trainer reads: the backend contract."""
    fw = forward(params, X, objective)
    grads = sum_grads(list(_term_grads(params, fw, objective).values()), params)
    return ForwardBackward(losses(params, fw, objective), grads, Cache(X, fw.H, fw.h_sum))
