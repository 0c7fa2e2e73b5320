"""The penalty terms added to the reconstruction loss: sparsity (pluggable) and weight decay.

Every sparsity penalty here depends on the hidden activations ``H: (m, n_hidden)`` only through
their column sums ``h_j = sum_i H_ij`` (activations are non-negative, so ``sum_i |H_ij| = h_j``).
Its gradient is therefore the same for every sample,

    dP / dH_ij = c_j ,

a vector ``c: (n_hidden,)``, which goes back through the activation derivative as the
reconstruction's dL/dH does (``npsae.reference.sparsity_grads``).
A new penalty implements ``value``, ``hidden_grad`` and, if it involves the decoder weights,
``decoder_grad``; ``make_sparsity`` maps a name to its class.

Three variants choose which activations survive instead of (or besides) penalising them: TopK
(k per sample), BatchTopK (k m per batch of m, Bussmann et al. 2024) and JumpReLU (a learned
threshold per unit and an L0 penalty, Rajamanoharan et al. 2024); their selection is a step of
the forward pass (``npsae.reference.select``), their attributes say which.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

# rho^ is clipped into [RHO_HAT_EPS, 1 - RHO_HAT_EPS] before the logarithms of the KL divergence.
RHO_HAT_EPS = 1e-6


def kl_divergence(rho: float, rho_hat: np.ndarray) -> np.ndarray:
    """KL(rho || rho^) between Bernoulli distributions, element-wise over rho^:

    KL = rho log(rho / rho^) + (1 - rho) log((1 - rho) / (1 - rho^))
    """
    return rho * np.log(rho / rho_hat) + (1 - rho) * np.log((1 - rho) / (1 - rho_hat))


def kl_divergence_grad(rho: float, rho_hat: np.ndarray) -> np.ndarray:
    """d KL(rho || rho^) / d rho^ = -rho / rho^ + (1 - rho) / (1 - rho^)."""
    return -rho / rho_hat + (1 - rho) / (1 - rho_hat)


def rho_hat(h_sum: np.ndarray, m: int) -> np.ndarray:
    """rho^_j = (1/m) sum_i H_ij, each unit's mean activation over the batch, from the column
    sums ``h_sum: (n_hidden,)``. (n_hidden,)"""
    return h_sum / m


class Sparsity:
    """No sparsity penalty; the base class of the others."""

    name: str | None = None
    # k > 0 keeps only the k largest hidden activations of each sample (see TopKSparsity) or,
    # with batch, the k m largest of a batch of m samples (see BatchTopKSparsity).
    k: int = 0
    batch: bool = False
    # A learned threshold per unit, the parameter "log_theta" (see JumpReLUSparsity).
    threshold: bool = False

    def __init__(self, beta: float = 0.0) -> None:
        self.beta = float(beta)

    def value(
        self, h_sum: np.ndarray, m: int, W2: np.ndarray, H: np.ndarray | None = None
    ) -> float:
        """The penalty P for a batch of m samples whose activations ``H: (m, n_hidden)`` sum to
        ``h_sum``; only an L0 penalty needs H itself."""
        return 0.0

    def hidden_grad(self, h_sum: np.ndarray, m: int, W2: np.ndarray) -> np.ndarray:
        """c: (n_hidden,) float64, with dP/dH_ij = c_j for every sample i."""
        return np.zeros(W2.shape[0])

    def decoder_grad(self, h_sum: np.ndarray, m: int, W2: np.ndarray) -> np.ndarray | None:
        """dP/dW2: (n_hidden, n_in), or None when P does not involve the decoder."""
        return None


class KLSparsity(Sparsity):
    """P = beta sum_j KL(rho || rho^_j),  rho^_j = (1/m) sum_i H_ij  (Ng's sparse autoencoder).

    Gradient. rho^_j depends on H_ij with d rho^_j / d H_ij = 1/m, so by the chain rule

        dP / dH_ij = (beta / m) (-rho / rho^_j + (1 - rho) / (1 - rho^_j)) = c_j ,

    the same for every sample i; the backward pass adds c_j to dH_ij before multiplying by the
    activation derivative f'(Z1_ij).

    KL needs rho^ in (0, 1). Sigmoid units guarantee it; ReLU units do not (their mean can be 0 or
    exceed 1), so rho^ is clipped into [eps, 1 - eps] with eps = ``RHO_HAT_EPS``. Where the clip is
    active the penalty is flat in rho^_j, so that unit's gradient c_j is exactly 0: the honest
    derivative of the clipped function, which a gradient check confirms. It also means a ReLU unit
    whose mean activation passes 1 feels no sparsity pressure at all.
    """

    name = "kl"

    def __init__(self, beta: float = 0.1, rho: float = 0.05) -> None:
        super().__init__(beta)
        self.rho = float(rho)

    def _rho_hat(self, h_sum: np.ndarray, m: int) -> tuple[np.ndarray, np.ndarray]:
        raw = rho_hat(h_sum, m)
        clipped = np.clip(raw, RHO_HAT_EPS, 1 - RHO_HAT_EPS)
        return clipped, clipped != raw

    def value(self, h_sum: np.ndarray, m: int, W2: np.ndarray, H=None) -> float:
        rho_hat, _ = self._rho_hat(h_sum, m)
        return self.beta * float(np.sum(kl_divergence(self.rho, rho_hat)))

    def hidden_grad(self, h_sum: np.ndarray, m: int, W2: np.ndarray) -> np.ndarray:
        rho_hat, clipped = self._rho_hat(h_sum, m)
        c = self.beta / m * kl_divergence_grad(self.rho, rho_hat)
        c[clipped] = 0.0
        return c


class L1Sparsity(Sparsity):
    """P = beta sum_ij |H_ij| / m;  with H >= 0,  dP/dH_ij = beta / m  (0 where H_ij = 0 for ReLU,
    which the activation derivative enforces anyway)."""

    name = "l1"

    def value(self, h_sum: np.ndarray, m: int, W2: np.ndarray, H=None) -> float:
        return self.beta * float(np.sum(h_sum)) / m

    def hidden_grad(self, h_sum: np.ndarray, m: int, W2: np.ndarray) -> np.ndarray:
        return np.full(W2.shape[0], self.beta / m)


class L1DecoderSparsity(Sparsity):
    """L1 weighted by each unit's decoder norm:  P = beta sum_ij |H_ij| ||W2_j|| / m.

    Plain L1 can be dodged: halve every code and double the decoder rows, and the reconstruction
    is unchanged while the penalty halves. Weighting unit j by the norm of its decoder row W2_j
    (the direction it writes into the input space) closes that loophole. With H >= 0,

        dP/dH_ij = beta ||W2_j|| / m = c_j,     dP/dW2_j = (beta h_j / m) W2_j / ||W2_j||,

    where h_j = sum_i H_ij; a row of norm 0 gets the subgradient 0.
    """

    name = "l1-decoder"

    def value(self, h_sum: np.ndarray, m: int, W2: np.ndarray, H=None) -> float:
        return self.beta * float(np.dot(h_sum, decoder_norms(W2))) / m

    def hidden_grad(self, h_sum: np.ndarray, m: int, W2: np.ndarray) -> np.ndarray:
        return self.beta / m * decoder_norms(W2)

    def decoder_grad(self, h_sum: np.ndarray, m: int, W2: np.ndarray) -> np.ndarray:
        norms = decoder_norms(W2)
        scale = np.divide(self.beta / m * h_sum, norms, out=np.zeros_like(norms), where=norms > 0)
        return scale[:, None] * W2


class TopKSparsity(Sparsity):
    """TopK: each sample keeps its k largest ReLU activations and the rest are set to 0
    (Makhzani & Frey's k-sparse autoencoder, 2014, arXiv:1312.5663).

    Sparsity is enforced by the architecture, not by a penalty: P = 0, and the gradient flows
    only through the kept units (the ReLU derivative, 1 where H > 0, already says so).

    A unit that never wins one of the k places gets no gradient and never will: it is dead,
    whatever the learning rate. Three remedies, each an option of the model:

    - Makhzani & Frey's schedule of k (``k_schedule``, ``scheduled_k``): keep many units at
      first, so that every one learns, and lower the number to k over the first epochs.
    - AuxK (Gao et al. 2024, arXiv:2406.04093, ``aux_k``): the dead units' largest
      pre-activations also reconstruct the main code's error, which gives them a gradient
      (``npsae.reference.aux_forward``). npsae adds the dead units' decoder output to the main
      code's, before the output activation; with a linear output that is Gao et al.'s
      alpha ||e - e^||^2 with e = X - X^ exactly, and SAELens computes the same up to its
      conventions (its e^ carries b_dec; the loss is scaled by min(|D| / k_aux, 1); see
      bench/auxk_vs_saelens.py, which compares the two step by step: the same code, loss and
      gradients to rounding in float64). Before issue 30 npsae fitted e^ = H_D W2[D] to
      e = X - g(Z2) under a sigmoid output g too: decoder rows trained to write into pixel
      space but used in the sigmoid's input, where a revived unit hardly moves X^ and loses its
      place again. On MNIST (k 25, 1000 ReLU units, aux_k 256, 4 epochs) that left 89.8 % of
      the units dead on the test split against 87.2 % without AuxK; adding the dead units
      before the sigmoid leaves 60.8 % (bench/README.md, "k-sparse autoencoders").
    - Gao et al.'s initialisation, encoder = decoder transpose with unit-norm decoder rows
      (``init="tied"``), which starts every unit aligned with what it writes.

    At inference Makhzani & Frey keep alpha k units (``encode_k``), more than in training.
    """

    name = "topk"

    def __init__(self, k: int) -> None:
        super().__init__(0.0)
        self.k = int(k)


def scheduled_k(k: int, schedule: tuple[int, int] | None, progress: float) -> int:
    """The k of a training step under Makhzani & Frey's schedule ``schedule = (start,
    epochs)``: linear from ``start`` at the first step to ``k`` after ``epochs`` epochs, and
    ``k`` from then on,

        k_t = round(start + (k - start) min(t / epochs, 1)),

    ``progress`` t the epochs done so far (fractional: epoch - 1 + step / steps). It depends
    on t only, so a resumed run replays the same ks. Without a schedule, ``k``.
    """
    if schedule is None:
        return k
    start, epochs = schedule
    return int(np.floor(start + (k - start) * min(progress / epochs, 1.0) + 0.5))


class BatchTopKSparsity(TopKSparsity):
    """BatchTopK (Bussmann et al., 2024): the k m largest ReLU activations of the whole batch of
    m samples survive, so samples share a budget of k m units and each may use more or fewer
    than k. Like TopK, P = 0 and the gradient flows only through the kept units.

    The selection needs a batch, so at inference a sample is coded alone with a threshold
    theta learned during training (a buffer of the model, not a parameter):

        training:   H = relu(Z) kept where it is among the k m largest of the batch
        inference:  H = relu(Z) 1[relu(Z) > theta]
        theta <- mu theta + (1 - mu) min{H_ij : H_ij > 0}   after every training step,

    the running mean (momentum mu = ``THRESHOLD_MOMENTUM``) of the smallest kept activation,
    started at the first batch's value (the paper's estimate of the expected minimum).
    """

    name = "batchtopk"
    batch = True


# BatchTopK's inference threshold moves this much toward each batch's smallest kept activation.
THRESHOLD_MOMENTUM = 0.99


def rectangle(u: np.ndarray) -> np.ndarray:
    """The rectangle kernel K(u) = 1 if -1/2 < u < 1/2 else 0, element-wise (in u's dtype)."""
    return ((u > -0.5) & (u < 0.5)).astype(u.dtype)


class JumpReLUSparsity(Sparsity):
    """JumpReLU (Rajamanoharan et al., 2024, "Jumping Ahead") with its L0 penalty.

    Each unit j has a learned threshold theta_j > 0, stored as the parameter log theta_j (so it
    stays positive whatever step the optimiser takes), and the activation jumps from 0 to theta_j:

        H_ij = Z_ij H(Z_ij - theta_j),        H the Heaviside step, Z = X W1 + b1
        P    = beta sum_ij H(Z_ij - theta_j) / m      (beta times the mean L0 of a sample)

    Neither step has a useful derivative in theta (0 almost everywhere), so training uses the
    straight-through estimator: with the kernel K = ``rectangle`` of bandwidth eps, the paper's
    pseudo-derivatives are

        d/d theta  Z H(Z - theta) := -(theta / eps) K((Z - theta) / eps)
        d/d theta  H(Z - theta)   := -(1 / eps) K((Z - theta) / eps)
        d/d Z      H(Z - theta)   := 0          (the L0 term moves only the thresholds)

    while d/dZ of Z H(Z - theta) is H(Z - theta), the true derivative away from the jump. For a
    batch, with dH_ij = dL/dH_ij from the reconstruction and w_j the set of samples whose Z_ij
    lies in the window |Z_ij - theta_j| < eps/2,

        dL/d theta_j     = -(theta_j / eps) sum_{i in w_j} dH_ij  -  (beta / (m eps)) |w_j|
        dL/d log theta_j = theta_j dL/d theta_j

    (``threshold_grad``). The model's ``theta_init`` and ``bandwidth`` set theta's start and
    eps (the paper sets both to 0.001).
    """

    name = "jumprelu"
    threshold = True

    def __init__(self, beta: float, bandwidth: float) -> None:
        super().__init__(beta)
        self.bandwidth = float(bandwidth)

    def value(self, h_sum: np.ndarray, m: int, W2: np.ndarray, H=None) -> float:
        # theta > 0, so H_ij != 0 exactly where Z_ij > theta_j: the L0 term counts those.
        return self.beta * np.count_nonzero(H) / m

    def threshold_grad(
        self,
        window_dH: np.ndarray | float,
        window_count: np.ndarray | float,
        theta: np.ndarray,
        m: int,
    ) -> np.ndarray:
        """dL/d log theta: (n_hidden,), from the window sums of the batch (see the class):

        ``window_dH_j`` = sum_{i in w_j} dH_ij (the reconstruction's gradient on H; 0 for the
        L0 term alone) and ``window_count_j`` = |w_j| (0 for the reconstruction's part alone).
        """
        eps = self.bandwidth
        d_theta = -(theta / eps) * window_dH - self.beta / (m * eps) * window_count
        return (theta * d_theta).astype(theta.dtype)


def decoder_norms(W2: np.ndarray) -> np.ndarray:
    """||W2_j||: the Euclidean norm of each decoder row; W2: (n_hidden, n_in) -> (n_hidden,)."""
    return np.sqrt(np.square(W2, dtype=np.float64).sum(axis=1))


SPARSITY = {
    None: Sparsity,
    "kl": KLSparsity,
    "l1": L1Sparsity,
    "l1-decoder": L1DecoderSparsity,
    "topk": TopKSparsity,
    "batchtopk": BatchTopKSparsity,
    "jumprelu": JumpReLUSparsity,
}


def make_sparsity(config: Mapping[str, Any]) -> Sparsity:
    """The sparsity term of a checked model configuration (``npsae.config.ModelConfig``, which
    holds the rules between its options): ``SPARSITY`` maps ``config["sparsity"]`` to its class."""
    name, beta = config["sparsity"], config["beta"]
    if name in ("topk", "batchtopk"):
        return SPARSITY[name](config["k"])
    if name == "jumprelu":
        return JumpReLUSparsity(beta=beta, bandwidth=config["bandwidth"])
    if name == "kl":
        return KLSparsity(beta=beta, rho=config["rho"])
    return SPARSITY[name](beta=beta) if name else Sparsity()


def caveats(hidden: str, sparsity: str | None) -> list[str]:
    """What is allowed but questionable about a model's ``hidden`` units and ``sparsity``
    penalty, one sentence each: ``npsae.training.fit`` warns of them when training starts.

    KL with ReLU units is one (see ``KLSparsity``): it trains, as in the Keras article, but
    fragilely.
    """
    if sparsity == "kl" and hidden == "relu":
        return [
            "KL sparsity assumes hidden activations in (0, 1), but ReLU units are unbounded: "
            "their mean activation rho^ is clipped into (0, 1), and a unit whose mean leaves "
            "that interval gets no sparsity gradient. Prefer hidden='sigmoid' with KL, or "
            "sparsity='l1' with ReLU."
        ]
    return []


def squared_norm(W: np.ndarray) -> float:
    """||W||^2 = sum_ij W_ij^2, as one BLAS dot product in the weights' own dtype: a float64 copy
    of the weights at every step would cost more than the rest of the penalty's work."""
    return float(np.dot(W.ravel(), W.ravel()))


def weight_decay(params: dict, lam: float) -> float:
    """(lambda / 2) (||W1||^2 + ||W2||^2), biases not decayed; exactly 0 when lambda = 0."""
    if not lam:
        return 0.0
    return 0.5 * lam * sum(squared_norm(params[k]) for k in WEIGHTS)


def weight_decay_grad(W: np.ndarray, lam: float) -> np.ndarray:
    """d/dW of (lambda / 2) ||W||^2 = lambda W."""
    return W * W.dtype.type(lam)


def add_weight_decay_grad(grad: np.ndarray, W: np.ndarray, lam: float) -> float:
    """grad += lambda W in place, and return ||W||^2, which the decay value needs.

    ``npsae.kernels`` has a twin that does both in one pass over W, with no temporary.
    """
    grad += weight_decay_grad(W, lam)
    return squared_norm(W)


WEIGHTS = ("W1", "W2")
