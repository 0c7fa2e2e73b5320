"""Measures of a trained code: how sparse it is, how many units it uses, how well it
reconstructs. Small pure functions on arrays, plus ``ActivationStats`` and ``VarianceExplained``,
which accumulate the hidden-layer statistics and the reconstruction's variance explained batch by
batch, so that neither the trainer nor a final summary ever keeps all of H or X^.

Notation: ``H: (m, n_hidden)`` hidden activations, ``X, X^: (m, n_in)`` inputs and their
reconstructions. A unit *fires* on a sample when its activation exceeds the threshold given by
``firing_threshold``. rho^_j = (1/N) sum_i H_ij is unit j's mean activation (``rho_hat``, a
vector (n_hidden,), the quantity the KL penalty holds near rho); ``mean_rho_hat`` is one number,
its mean over the units.
"""

from __future__ import annotations

import numpy as np

from npsae.sparse_code import SparseCode

# Sigmoid units never output exactly 0; below this they count as silent (see firing_threshold).
SIGMOID_FIRING_THRESHOLD = 0.1


def firing_threshold(hidden: str) -> float:
    """The activation above which a unit of kind ``hidden`` counts as firing: H > threshold.

    A ReLU unit is either exactly 0 or firing, so its threshold is 0. A sigmoid unit never
    outputs exactly 0 (sigma(z) > 0 for every z), so "H > 0" would call every unit always active.
    A unit trained toward a small mean activation such as rho = 0.05 outputs small positive values
    on most samples; counting it as firing only above 0.1 (sigma(z) > 0.1 means z > -2.2) keeps
    that background out of the counts, at the price of a threshold that is a convention.
    """
    if hidden == "relu":
        return 0.0
    if hidden == "sigmoid":
        return SIGMOID_FIRING_THRESHOLD
    raise ValueError(f"hidden={hidden!r} is not known; choose 'sigmoid' or 'relu'")


def fire_counts(H: np.ndarray, threshold: float) -> np.ndarray:
    """How many samples each unit fires on:  n_j = #{i : H_ij > threshold}.

    H: (m, n_hidden) -> (n_hidden,) int64; H may be a ``SparseCode`` (the numba backend's
    sparse training step), which counts its kept entries.
    """
    if isinstance(H, SparseCode):
        return H.fire_counts(threshold)
    # The trainer adds these up every step with the compiled twin, ``kernels.add_fire_counts``.
    return np.count_nonzero(H > threshold, axis=0).astype(np.int64)


def l0(H: np.ndarray, threshold: float) -> float:
    """L0 "norm" of the code: the mean number of firing units per sample,
    (1/m) sum_i #{j : H_ij > threshold}. H: (m, n_hidden)."""
    H = np.asarray(H)
    return float(np.count_nonzero(H > threshold)) / H.shape[0]


def dead_fraction(fire_counts: np.ndarray) -> float:
    """The fraction of units that never fired:  #{j : n_j = 0} / n_hidden.

    ``fire_counts: (n_hidden,)`` holds n_j, the number of samples unit j fired on.
    """
    fire_counts = np.asarray(fire_counts)
    return float(np.count_nonzero(fire_counts == 0)) / fire_counts.size


def feature_density(fire_counts: np.ndarray, n_samples: int) -> np.ndarray:
    """How often each unit fires:  d_j = n_j / n_samples, in [0, 1]. (n_hidden,) float64."""
    if n_samples <= 0:
        raise ValueError(f"n_samples={n_samples!r} must be positive")
    return np.asarray(fire_counts, dtype=np.float64) / n_samples


def fraction_variance_explained(X: np.ndarray, X_hat: np.ndarray) -> float:
    """FVE = 1 - sum_i ||x_i - x^_i||^2 / sum_i ||x_i - xbar||^2,  xbar = (1/m) sum_i x_i.

    1 for a perfect reconstruction, 0 for one no better than predicting the mean image, negative
    for a worse one. X, X^: (m, n_in); computed in float64 by ``VarianceExplained``, a block of
    rows at a time, so memory stays near one block whatever m. NaN when X has no variance at all.
    """
    X, X_hat = np.asarray(X), np.asarray(X_hat)
    if X.shape != X_hat.shape or X.ndim != 2:
        raise ValueError(f"X {X.shape} and X_hat {X_hat.shape} must have the same 2-d shape")
    fve = VarianceExplained(X.shape[1])
    for lo in range(0, len(X), _BLOCK):
        fve.update(X[lo : lo + _BLOCK], X_hat[lo : lo + _BLOCK])
    return fve.value


# Rows per block of fraction_variance_explained: 4096 x 784 float64 values are 25 MB.
_BLOCK = 4096


def batch_moments_reference(
    X: np.ndarray, X_hat: np.ndarray
) -> tuple[float, np.ndarray, np.ndarray]:
    """What ``VarianceExplained.update`` adds from a batch X, X^: (m, n_in), in float64:

        residual = sum_ij (x_ij - x^_ij)^2,   mean_j = (1/m) sum_i x_ij,
        M2_j = sum_i (x_ij - mean_j)^2

    (``kernels.batch_moments`` is the compiled twin the trainer uses: one float64 value at a
    time instead of float64 copies of the batch)."""
    X = np.asarray(X, dtype=np.float64)
    residual = float(np.sum(np.square(X - np.asarray(X_hat, dtype=np.float64))))
    mean = X.mean(axis=0)
    return residual, mean, np.sum(np.square(X - mean), axis=0)


class VarianceExplained:
    """Accumulates the fraction of variance explained batch by batch, with float64 sums.

    ``update(X, X^)`` adds a batch's residual sum of squares, sum_i ||x_i - x^_i||^2, and
    merges its per-column mean and sum of squared deviations M2 into the running ones (Chan,
    Golub and LeVeque's pairwise update, as stable as the two-pass formula):

        delta = mean_b - mean,  M2 <- M2 + M2_b + delta^2 n n_b / (n + n_b),
        mean <- mean + delta n_b / (n + n_b)

    so that ``value`` = 1 - residual / sum_j M2_j equals ``fraction_variance_explained`` on all
    the rows at once, up to float64 rounding.
    """

    def __init__(self, n_in: int) -> None:
        self.n_samples = 0
        self.mean = np.zeros(n_in)
        self.m2 = np.zeros(n_in)
        self.residual = 0.0

    def update(self, X: np.ndarray, X_hat: np.ndarray) -> None:
        """Add a batch: X, X^ (m, n_in), any float dtype (each value taken to float64)."""
        X, X_hat = np.asarray(X), np.asarray(X_hat)
        if len(X) == 0:
            return
        if X.dtype == X_hat.dtype and X.dtype in (np.float32, np.float64):
            from npsae.kernels import batch_moments  # Numba, loaded by the trainer anyway

            residual, mean_b, m2_b = batch_moments(X, X_hat)
        else:
            residual, mean_b, m2_b = batch_moments_reference(X, X_hat)
        self.residual += residual
        n, n_b = self.n_samples, len(X)
        delta = mean_b - self.mean
        self.m2 += m2_b + np.square(delta) * (n * n_b / (n + n_b))
        self.mean += delta * (n_b / (n + n_b))
        self.n_samples = n + n_b

    @property
    def value(self) -> float:
        total = float(np.sum(self.m2))
        return float(1.0 - self.residual / total) if total > 0 else float("nan")


class ActivationStats:
    """Accumulates, batch by batch, what the per-epoch hidden-layer metrics need.

    ``update(H)`` adds each unit's activation sum (float64) and firing count; the properties
    are then the metrics over every sample seen so far::

        mean_rho_hat    = (1 / (N n_hidden)) sum_ij H_ij   (the mean of rho^_j over units)
        l0              = (1 / N) sum_j n_j                (firing units per sample)
        dead_fraction   = #{j : n_j = 0} / n_hidden
    """

    def __init__(self, n_hidden: int, threshold: float) -> None:
        self.threshold = float(threshold)
        self.n_samples = 0
        self.h_sum = np.zeros(n_hidden)
        self.fire_counts = np.zeros(n_hidden, np.int64)

    def update(self, H: np.ndarray, h_sum: np.ndarray | None = None) -> None:
        """Add a batch ``H: (m, n_hidden)``; pass its column sums ``h_sum`` if already known."""
        self.n_samples += H.shape[0]
        self.h_sum += H.sum(axis=0, dtype=np.float64) if h_sum is None else h_sum
        if isinstance(H, SparseCode):
            self.fire_counts += H.fire_counts(self.threshold)
        else:
            from npsae.kernels import add_fire_counts  # Numba, loaded by the trainer anyway

            add_fire_counts(H, self.threshold, self.fire_counts)

    @property
    def rho_hat(self) -> np.ndarray:
        """rho^_j = (1/N) sum_i H_ij, each unit's mean activation. (n_hidden,) float64."""
        return self.h_sum / max(self.n_samples, 1)

    @property
    def mean_rho_hat(self) -> float:
        return float(self.rho_hat.mean())

    @property
    def l0(self) -> float:
        return float(self.fire_counts.sum()) / max(self.n_samples, 1)

    @property
    def dead_fraction(self) -> float:
        return dead_fraction(self.fire_counts)

    @property
    def feature_density(self) -> np.ndarray:
        return feature_density(self.fire_counts, max(self.n_samples, 1))


def max_cosine_similarity(features: np.ndarray, W2: np.ndarray) -> np.ndarray:
    """For each true feature, its cosine similarity with the best-matching decoder row:

        s_f = max_j  <F_f, W2_j> / (||F_f|| ||W2_j||)

    features: (n_features, n_in), W2: (n_hidden, n_in) -> (n_features,) in [-1, 1]. A row of
    norm 0 matches nothing (similarity 0).
    """
    F = np.asarray(features, np.float64)
    D = np.asarray(W2, np.float64)
    if F.ndim != 2 or D.ndim != 2 or F.shape[1] != D.shape[1]:
        raise ValueError(
            f"features {F.shape} and W2 {D.shape} must be 2-d with the same number of columns"
        )
    F = F / np.maximum(np.linalg.norm(F, axis=1, keepdims=True), 1e-300)
    D = D / np.maximum(np.linalg.norm(D, axis=1, keepdims=True), 1e-300)
    return (F @ D.T).max(axis=1)


def mmcs(features: np.ndarray, W2: np.ndarray) -> float:
    """Mean max cosine similarity: the mean over true features of ``max_cosine_similarity``.

    1 when every true feature is some decoder row's direction exactly; near 0 for random rows
    in many dimensions.
    """
    return float(np.mean(max_cosine_similarity(features, W2)))


def features_recovered(features: np.ndarray, W2: np.ndarray, threshold: float = 0.9) -> int:
    """How many true features have a decoder row with cosine similarity above ``threshold``."""
    return int(np.count_nonzero(max_cosine_similarity(features, W2) > threshold))
