"""Check analytic gradients against finite differences.

Two error measures, one from each classic course:

* CS231n's assignments: the largest entry-wise relative error
  ``max_i |a_i - n_i| / max(|a_i| + |n_i|, tiny)`` (the course notes divide by max(|a_i|, |n_i|));
* UFLDL: the relative error of the whole vector ``||n - a|| / ||n + a||``.

Both are computed in float64: in float32 the finite differences themselves are wrong in the third
digit, whatever the gradient code does.

Why ``tiny`` matters. Rounding makes a centred difference wrong by about ``u |f| / eps`` in absolute
terms (``u`` = 2.2e-16, the float64 unit roundoff), however small the true gradient. With
``|f| = 0.3`` and ``eps = 1e-6`` that is 7e-11, so an entry of 3e-6 has a relative error near 1e-5
even when the analytic gradient is exact. ``gradient_check`` therefore floors the denominator at
``tiny = 10 u |f| / (eps threshold)`` by default: an entry too small for the finite differences to
resolve to ``threshold`` is judged by its absolute error instead, at the resolution they have.

Two parts of today's architectures are not derivatives and get their own treatment:

* JumpReLU's thresholds (``log_theta``) are trained by a pseudo-derivative, which finite
  differences cannot see (the loss is flat in theta between jumps). ``gradient_check`` compares
  it instead with its closed form (``npsae.penalties.JumpReLUSparsity``) evaluated from
  dL/dH found by finite differences of the decoder's loss in H: the lines marked "closed form".
* AuxK's dead units add to the main code's Z2 = H W2 + b2, which is a constant to its
  gradient, so its finite differences hold Z2 fixed at its value for the unperturbed
  parameters.
"""

from __future__ import annotations

import dataclasses
import math
import sys
from collections.abc import Callable

import numpy as np

from npsae import reference
from npsae.model import PARAM_NAMES, SparseAutoencoder

# Entry-wise relative errors above this fail (CS231n: "1e-7 or less, be happy").
THRESHOLD = 1e-7


def numerical_gradient(
    f: Callable[[np.ndarray], float],
    x: np.ndarray,
    eps: float = 1e-6,
    indices: np.ndarray | None = None,
) -> np.ndarray:
    """Centred differences of the scalar ``f(x)`` with respect to the array ``x``:

        df/dx_i ~ (f(x + eps e_i) - f(x - eps e_i)) / (2 eps)

    ``x`` is changed in place entry by entry (and always restored), so ``f`` may also ignore its
    argument and read ``x`` from elsewhere, e.g. a model's parameters. ``indices`` (flat) limits
    the work to some entries; the others are left 0. Returns an array shaped like ``x``.
    The error is O(eps^2) plus rounding O(u |f| / eps).
    """
    _check_eps(eps)
    grad = np.zeros(x.shape, dtype=np.float64)
    flat, gflat = x.reshape(-1), grad.reshape(-1)
    if not np.shares_memory(flat, x):
        raise ValueError("x must be contiguous so that it can be perturbed in place")
    for i in range(flat.size) if indices is None else indices:
        old = flat[i]
        try:
            flat[i] = old + eps
            f_plus = f(x)
            flat[i] = old - eps
            f_minus = f(x)
        finally:
            flat[i] = old
        gflat[i] = (f_plus - f_minus) / (2 * eps)
    return grad


def _check_eps(eps: float) -> None:
    if not (math.isfinite(eps) and eps > 0):
        raise ValueError(f"eps={eps!r} must be a finite number > 0")


# float64 unit roundoff
U = np.finfo(np.float64).eps / 2


def resolution_floor(f_value: float, eps: float, threshold: float = THRESHOLD) -> float:
    """The default ``tiny``: 10 u |f| / (eps threshold), see the module docstring."""
    return max(10 * U * abs(f_value) / (eps * threshold), 1e-300)


def relative_error(a: np.ndarray, n: np.ndarray, tiny: float = 1e-12) -> float:
    """The CS231n assignments' measure: max_i |a_i - n_i| / max(|a_i| + |n_i|, tiny); 0 for empty
    arrays."""
    a, n = np.asarray(a, np.float64), np.asarray(n, np.float64)
    if a.size == 0:
        return 0.0
    return float(np.max(np.abs(a - n) / np.maximum(np.abs(a) + np.abs(n), tiny)))


def norm_error(a: np.ndarray, n: np.ndarray) -> float:
    """UFLDL's measure: ||n - a|| / ||n + a||; 0 when both are zero, inf when n = -a != 0."""
    a, n = np.asarray(a, np.float64), np.asarray(n, np.float64)
    num, denom = np.linalg.norm(n - a), np.linalg.norm(n + a)
    if denom == 0:
        return 0.0 if num == 0 else float("inf")
    return float(num / denom)


@dataclasses.dataclass
class CheckRow:
    """One line of a gradient check: one loss term's gradient for one parameter."""

    term: str
    param: str
    rel_error: float
    norm_error: float
    n_checked: int
    passed: bool
    # What the analytic gradient was compared with: "finite differences" or "closed form".
    reference: str = "finite differences"


@dataclasses.dataclass
class GradCheckResult:
    """All the lines of a gradient check; ``passed`` when every line passed."""

    rows: list[CheckRow]
    threshold: float
    eps: float

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.rows)

    @property
    def max_rel_error(self) -> float:
        return max(r.rel_error for r in self.rows)

    def row(self, term: str, param: str) -> CheckRow:
        """The line of ``term`` ("recon", "sparsity", "decay" or "total") and ``param``."""
        for r in self.rows:
            if (r.term, r.param) == (term, param):
                return r
        raise KeyError(f"no line for term {term!r} and parameter {param!r}")

    def __str__(self) -> str:
        head = f"{'term':<9} {'param':<9} {'rel error':>10} {'norm error':>10} {'entries':>7}  ok"
        lines = [head, "-" * len(head)]
        for r in self.rows:
            note = "" if r.reference == "finite differences" else f"  ({r.reference})"
            lines.append(
                f"{r.term:<9} {r.param:<9} {r.rel_error:10.2e} {r.norm_error:10.2e} "
                f"{r.n_checked:7d}  {'yes' if r.passed else 'NO'}{note}"
            )
        verdict = "PASSED" if self.passed else "FAILED"
        lines.append(
            f"{verdict}: largest relative error {self.max_rel_error:.2e} "
            f"(threshold {self.threshold:.0e}, eps {self.eps:.0e})"
        )
        return "\n".join(lines)


def active_terms(model: SparseAutoencoder) -> tuple[str, ...]:
    """The loss terms the model's config switches on (recon always)."""
    c = model.config
    terms = ["recon"]
    if c["sparsity"] is not None and c["beta"] > 0:
        terms.append("sparsity")
    if c["weight_decay"] > 0:
        terms.append("decay")
    if c["aux_k"] and c["aux_alpha"] > 0:
        terms.append("aux")
    return tuple(terms)


def count_entries(model: SparseAutoencoder, max_entries: int | None = None) -> int:
    """How many gradient entries ``gradient_check(model, X, max_entries=...)`` compares by
    finite differences of the loss: for each checked line (every active term and the total)
    and each parameter of ``PARAM_NAMES``, its size or at most ``max_entries``. Each costs two
    evaluations of the loss. (JumpReLU's thresholds are checked against a closed form.)"""
    sizes = [
        n if max_entries is None else min(n, max_entries)
        for n in (model.params[name].size for name in PARAM_NAMES)
    ]
    return (len(active_terms(model)) + 1) * sum(sizes)


def gradient_check(
    model: SparseAutoencoder,
    X: np.ndarray,
    eps: float = 1e-6,
    threshold: float = THRESHOLD,
    max_entries: int | None = None,
    seed: int = 0,
    tiny: float | None = None,
    progress: bool = False,
) -> GradCheckResult:
    """Compare ``model``'s analytic gradients with centred differences, term by term.

    The check runs on a float64 copy of the model (same backend), so ``model`` is not changed.
    For every active loss term (its gradient from the NumPy reference, ``term_grads``) and for
    their total (from the model's backend), and for every parameter, it reports both error
    measures; a line passes when the entry-wise relative error is at most ``threshold``.

    Args:
        X: (m, n_in) batch; a few samples suffice and keep the check fast.
        eps: finite-difference step, a finite number > 0.
        max_entries: check at most this many randomly chosen entries per parameter (for big
            models), >= 1; None checks every entry.
        seed: chooses those entries.
        tiny: floor of the relative error's denominator; None picks the finite differences'
            resolution, ``resolution_floor(|term|, eps, threshold)`` (see the module docstring).
        progress: show a progress bar over the ``count_entries`` entries on stderr.
    """
    _check_eps(eps)
    if max_entries is not None and (
        isinstance(max_entries, bool)
        or not isinstance(max_entries, (int, np.integer))
        or max_entries < 1
    ):
        raise ValueError(f"max_entries={max_entries!r} must be a positive integer or None")
    check = model.copy(dtype=np.float64)
    X = check.as_input(X)
    rng = np.random.default_rng(seed)
    rows = []
    terms = active_terms(check)
    # Each term's gradient from the NumPy reference, their total from the model's backend.
    per_term = check.term_grads(X)
    loss, per_term["total"], cache = check.forward_backward(X)
    aux_base = None
    if "aux" in terms:  # the main code's Z2 is a constant to AuxK's gradient: hold it fixed
        aux_base = reference.main_preactivation(check.params, cache.H)
    bar = _progress_bar(count_entries(check, max_entries)) if progress else None
    evaluations = [0]
    try:
        for term in (*terms, "total"):
            analytic = per_term[term]
            floor = resolution_floor(loss[term], eps, threshold) if tiny is None else tiny
            if "log_theta" in analytic:
                rows.append(
                    _threshold_row(
                        check, X, term, analytic["log_theta"], loss[term], eps, threshold
                    )
                )
            for name in PARAM_NAMES:
                p = check.params[name]
                if max_entries is None or p.size <= max_entries:
                    idx = None
                    a = analytic[name].ravel()
                else:
                    idx = np.sort(rng.choice(p.size, max_entries, replace=False))
                    a = analytic[name].ravel()[idx]

                def f(_: np.ndarray, t: str = term) -> float:
                    evaluations[0] += 1
                    if bar is not None and evaluations[0] % 2 == 0:  # two per entry
                        bar.update()
                    return check.loss(X, aux_base)[t]

                n = numerical_gradient(f, p, eps, idx).ravel()
                n = n if idx is None else n[idx]
                rel = relative_error(a, n, floor)
                rows.append(CheckRow(term, name, rel, norm_error(a, n), a.size, rel <= threshold))
    finally:
        if bar is not None:
            bar.close()
    return GradCheckResult(rows, threshold, eps)


def _progress_bar(total: int):
    from tqdm import tqdm

    return tqdm(total=total, desc="gradient check", unit="entry", file=sys.stderr, leave=False)


def threshold_closed_form(
    model: SparseAutoencoder, X: np.ndarray, terms: tuple[str, ...], eps: float = 1e-6
) -> np.ndarray:
    """JumpReLU's dL/d log theta from its closed form, independently of the backward pass:

        dL/d log theta_j = theta_j ( -(theta_j / eps_K) sum_i K_ij dL/dH_ij
                                     - (beta / (m eps_K)) sum_i K_ij )

    with K = K((Z - theta) / eps_K) (eps_K the model's bandwidth), dL/dH of the reconstruction
    by centred differences (step ``eps``) of recon(g(H W2 + b2), X) in H, and the recon and
    sparsity parts included as ``terms`` says. X: (m, n_in), float64; returns (n_hidden,).
    """
    c = model.config
    Z, theta, K = _threshold_window(model, X)
    H = Z * (Z > theta)
    m, bw = X.shape[0], c["bandwidth"]
    d_theta = np.zeros_like(theta)
    if "recon" in terms:

        def recon(H_: np.ndarray) -> float:
            return reference.RECON_LOSSES[c["recon"]](model.decode(H_), X)

        dH = numerical_gradient(recon, H, eps, np.flatnonzero(K))
        d_theta -= theta / bw * np.sum(K * dH, axis=0)
    if "sparsity" in terms:
        d_theta -= c["beta"] / (m * bw) * K.sum(axis=0)
    return theta * d_theta


def _threshold_window(model: SparseAutoencoder, X: np.ndarray) -> tuple:
    """(Z, theta, K): JumpReLU's pre-activations (m, n_hidden), thresholds and window."""
    p, c = model.params, model.config
    theta = np.exp(p["log_theta"])
    Xe = X - p["b2"] if c["pre_bias"] else X
    Z = Xe @ p["W1"] + p["b1"]
    return Z, theta, reference.jumprelu_window(Z, theta, c["bandwidth"])


def _threshold_row(
    model: SparseAutoencoder,
    X: np.ndarray,
    term: str,
    analytic: np.ndarray,
    loss: float,
    eps: float,
    threshold: float,
) -> CheckRow:
    terms = active_terms(model) if term == "total" else (term,)
    closed = threshold_closed_form(model, X, terms, eps)
    # The closed form of unit j sums |w_j| differences dL/dH, each off by up to the finite
    # differences' resolution, times theta_j^2 / eps_K: its floor scales the same way.
    _, theta, K = _threshold_window(model, X)
    scale = np.max(theta**2 / model.config["bandwidth"] * np.maximum(K.sum(axis=0), 1))
    rel = relative_error(analytic, closed, resolution_floor(loss, eps, threshold) * scale)
    err = norm_error(analytic, closed)
    return CheckRow(term, "log_theta", rel, err, analytic.size, rel <= threshold, "closed form")


def kink_free_batch(
    model: SparseAutoencoder, m: int, seed: int = 0, margin: float = 1e-3, tries: int = 100
) -> np.ndarray:
    """A random batch ``X: (m, n_in)`` in [0, 1) whose pre-activations all stay ``margin`` away
    from 0, so that a ReLU's kink cannot spoil a finite difference (which would straddle it).
    For TopK the k-th and (k+1)-th largest pre-activations of each sample are also ``margin``
    apart, so that no perturbation changes which units are kept.

    BatchTopK's k m-th and (k m + 1)-th largest of the whole batch, JumpReLU's pre-activations
    and thresholds, and AuxK's k_aux-th and (k_aux + 1)-th largest of the dead units are kept
    apart the same way.

    Raises ValueError if ``m`` < 1, or if ``tries`` draws all come too close (try a smaller
    ``m`` or margin).
    """
    if isinstance(m, bool) or not isinstance(m, (int, np.integer)) or m < 1:
        raise ValueError(f"m={m!r} must be a positive number of samples")
    rng = np.random.default_rng(seed)
    k, c = model.sparsity.k, model.config
    p = {name: v.astype(np.float64) for name, v in model.params.items()}
    for _ in range(tries):
        X = rng.random((m, model.n_in))
        Xe = X - p["b2"] if c["pre_bias"] else X
        Z1 = Xe @ p["W1"] + p["b1"]
        gaps = [np.abs(Z1).min()]
        if model.sparsity.batch and k * m < Z1.size:
            gaps.append(_gap(Z1.ravel()[None, :], k * m))
        elif 0 < k < model.n_hidden:
            gaps.append(_gap(Z1, k))
        if "log_theta" in p:
            gaps.append(np.abs(Z1 - np.exp(p["log_theta"])).min())
        if c["aux_k"]:
            dead = Z1[:, model.dead_units()]
            if 0 < c["aux_k"] < dead.shape[1]:
                gaps.append(_gap(dead, c["aux_k"]))
        if min(gaps) > margin:
            return X
    raise ValueError(f"no batch of {m} samples kept its pre-activations {margin} away from 0")


def _gap(Z: np.ndarray, k: int) -> float:
    """The smallest gap, over the rows of Z, between the k-th and (k+1)-th largest entry."""
    ranked = -np.sort(-Z, axis=1)
    return float((ranked[:, k - 1] - ranked[:, k]).min())
