"""Check analytic gradients against finite differences.

Two error measures, one from each classic course:

* CS231n: the largest entry-wise relative error ``max_i |a_i - n_i| / max(|a_i| + |n_i|, tiny)``;
* UFLDL: the relative error of the whole vector ``||n - a|| / ||n + a||``.

Both are computed in float64: in float32 the finite differences themselves are wrong in the third
digit, whatever the gradient code does.

Why ``tiny`` matters. Rounding makes a centred difference wrong by about ``u |f| / eps`` in absolute
terms (``u`` = 2.2e-16, the float64 unit roundoff), however small the true gradient. With
``|f| = 0.3`` and ``eps = 1e-6`` that is 7e-11, so an entry of 3e-6 has a relative error near 1e-5
even when the analytic gradient is exact. ``gradient_check`` therefore floors the denominator at
``tiny = 10 u |f| / (eps threshold)`` by default: an entry too small for the finite differences to
resolve to ``threshold`` is judged by its absolute error instead, at the resolution they have.
"""

from __future__ import annotations

import dataclasses
import math
import sys
from collections.abc import Callable

import numpy as np

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
    """CS231n's measure: max_i |a_i - n_i| / max(|a_i| + |n_i|, tiny); 0 for empty arrays."""
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
        head = f"{'term':<9} {'param':<5} {'rel error':>10} {'norm error':>10} {'entries':>7}  ok"
        lines = [head, "-" * len(head)]
        for r in self.rows:
            lines.append(
                f"{r.term:<9} {r.param:<5} {r.rel_error:10.2e} {r.norm_error:10.2e} "
                f"{r.n_checked:7d}  {'yes' if r.passed else 'NO'}"
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
    return tuple(terms)


def count_entries(model: SparseAutoencoder, max_entries: int | None = None) -> int:
    """How many gradient entries ``gradient_check(model, X, max_entries=...)`` compares: for
    each checked line (every active term and the total) and parameter, its size or at most
    ``max_entries``. Each entry costs two evaluations of the loss."""
    sizes = [
        p.size if max_entries is None else min(p.size, max_entries) for p in model.params.values()
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
    For every active loss term and for their total, and for every parameter, it reports both
    error measures; a line passes when the entry-wise relative error is at most ``threshold``.

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
    bar = _progress_bar(count_entries(check, max_entries)) if progress else None
    evaluations = [0]
    try:
        for term in (*terms, "total"):
            selected = terms if term == "total" else (term,)
            loss, analytic = check.loss_and_grads(X, terms=selected)
            floor = resolution_floor(loss[term], eps, threshold) if tiny is None else tiny
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
                    return check.loss(X)[t]

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


def kink_free_batch(
    model: SparseAutoencoder, m: int, seed: int = 0, margin: float = 1e-3, tries: int = 100
) -> np.ndarray:
    """A random batch ``X: (m, n_in)`` in [0, 1) whose pre-activations all stay ``margin`` away
    from 0, so that a ReLU's kink cannot spoil a finite difference (which would straddle it).
    For TopK the k-th and (k+1)-th largest pre-activations of each sample are also ``margin``
    apart, so that no perturbation changes which units are kept.

    Raises ValueError if ``m`` < 1, or if ``tries`` draws all come too close (try a smaller
    ``m`` or margin).
    """
    if isinstance(m, bool) or not isinstance(m, (int, np.integer)) or m < 1:
        raise ValueError(f"m={m!r} must be a positive number of samples")
    rng = np.random.default_rng(seed)
    k = model.sparsity.k
    for _ in range(tries):
        X = rng.random((m, model.n_in))
        Z1 = X @ model.params["W1"].astype(np.float64) + model.params["b1"]
        gaps = [np.abs(Z1).min()]
        if 0 < k < model.n_hidden:
            ranked = -np.sort(-Z1, axis=1)
            gaps.append((ranked[:, k - 1] - ranked[:, k]).min())
        if min(gaps) > margin:
            return X
    raise ValueError(f"no batch of {m} samples kept its pre-activations {margin} away from 0")
