"""What is wrong with a wrong array, for mistakes that no exercise catalogues.

The grader first looks for a *named* mistake of the exercise (``Spec.mistakes``). When none
matches, ``explain`` describes the difference ``D = got - expected`` between the student's array
and the expected one, in terms a student can act on, trying each shape of error in turn:

- all zeros;
- a uniform factor, ``got = r expected`` (``r = -1``: a sign flip), with r named when it is the
  batch size, another size of the inputs, 2 or 1/2;
- a transpose (``got = expected^T``) or a reversed order;
- a constant offset, ``D = c`` everywhere;
- a term proportional to an input, ``D = c A`` for an argument A of the same shape (a weight
  decay ``lambda W`` left out, for instance);
- the same vector added to every row (a per-column term, like a bias or a per-unit gradient)
  or to every column;
- an error confined to one row, one column, one entry, or a few of them (the rest right), with
  the same analysis applied to the wrong part;
- one factor per column (a per-unit factor, such as an activation's derivative) or per row;
- values close to the expected ones but beyond the tolerance (a small term, or precision).

The details always show the first mismatching entry, expected against got.
"""

from __future__ import annotations

import numpy as np

# A fitted pattern (a factor, an offset...) explains the difference when what remains is within
# this many times the grader's tolerance: loose enough for float32 rounding of the student's
# own arithmetic, far too tight for a chance fit.
_SLACK = 10.0
# A difference this small relative to the values is "close": a small term or lost precision.
_CLOSE = 2e-2


def explain(
    got: np.ndarray,
    want: np.ndarray,
    rtol: float,
    inputs: dict[str, np.ndarray] | None = None,
    m: int | None = None,
) -> tuple[str, tuple[str, ...]]:
    """(message, details) on ``got`` (float64, the shape of ``want``) differing from ``want``.

    ``rtol`` is the grader's tolerance for the inputs' dtype, ``inputs`` the case's array
    arguments by parameter name (sizes to name a factor by, arrays a difference may be
    proportional to), ``m`` the batch size, if any.
    """
    inputs = inputs or {}
    fit = _Fit(want, rtol)
    detail = (_first_mismatch(got, want, fit),)
    if got.ndim == 0:
        return _scalar(float(got), float(want), inputs, m), ()
    message = _pattern(got, want, fit, inputs, m) or _confined(got, want, fit, inputs, m)
    return message or _fallback(got, want, fit), detail


class _Fit:
    """Whether an array equals ``want`` up to the slackened tolerance (relative to want's size)."""

    def __init__(self, want: np.ndarray, rtol: float) -> None:
        self.scale = float(np.max(np.abs(want), initial=0.0))
        self.rtol = rtol

    def same(self, a: np.ndarray, b: np.ndarray) -> bool:
        bound = _SLACK * self.rtol * (np.abs(b) + self.scale) + 1e-300
        return bool(np.all(np.abs(a - b) <= bound))

    def wrong(self, got: np.ndarray, want: np.ndarray) -> np.ndarray:
        """The entries that differ beyond the grader's own tolerance."""
        return np.abs(got - want) > self.rtol * (np.abs(want) + self.scale)


def _pattern(got, want, fit: _Fit, inputs: dict, m: int | None) -> str | None:
    """A description of got as one simple function of want, or None."""
    if not got.any():
        return "all zeros: nothing was computed or accumulated into the result?"
    r = _factor(got, want)
    if r is not None and fit.same(got, r * want):
        return _factor_message(r, inputs, m)
    if got.ndim == 2 and got.shape[0] == got.shape[1] and fit.same(got, want.T):
        return "transposed: your [i, j] entry is the expected [j, i]"
    if got.ndim == 1 and got.size > 1 and fit.same(got, want[::-1]):
        return "in reverse order: your first entry is the expected last one"
    diff = got - want
    c = float(np.mean(diff))
    if fit.same(got, want + c):
        return f"off by a constant: got - expected = {c:.4g} in every entry"
    for name, a in inputs.items():
        k = _factor(diff, a) if a.shape == want.shape else None
        if k is not None and fit.same(got, want + k * a):
            return (
                f"off by {k:.4g} x {name}: a term proportional to {name} is missing, extra or "
                "has the wrong coefficient (got - expected = c {name})"
            )
    if got.ndim == 2 and got.shape[0] > 1 and fit.same(got, want + diff[:1]):
        return (
            "off by the same vector in every row: a term that is the same for every sample "
            "(one value per column: a bias, a per-unit gradient) is missing, extra or wrong"
        )
    if got.ndim == 2 and got.shape[1] > 1 and fit.same(got, want + diff[:, :1]):
        return "off by the same vector in every column: a term that is the same for every column"
    return None


def _confined(got, want, fit: _Fit, inputs: dict, m: int | None) -> str | None:
    """The error located (one row, one column, a few entries) and described there, or None."""
    wrong = fit.wrong(got, want)
    if not wrong.any():  # beyond the slack nowhere, yet not close: only the close test remains
        return None
    if got.ndim == 2:
        rows, cols = np.flatnonzero(wrong.any(axis=1)), np.flatnonzero(wrong.any(axis=0))
        n_rows, n_cols = got.shape
        if len(rows) == 1 and len(cols) == 1 and got.size > 1:
            i, j = int(rows[0]), int(cols[0])
            return (
                f"only entry ({i}, {j}) is wrong, every other entry is right: expected "
                f"{want[i, j]:.6g}, got {got[i, j]:.6g}"
            )
        if len(rows) == 1 and n_rows > 1:
            i = int(rows[0])
            return f"only row {i} is wrong, the others are right" + _part(got[i], want[i], fit)
        if len(cols) == 1 and n_cols > 1:
            j = int(cols[0])
            part = _part(got[:, j], want[:, j], fit)
            return f"only column {j} is wrong, the others are right" + part
        if len(rows) <= n_rows // 2 and n_rows > 2:
            return f"only rows {_list(rows)} are wrong, the other rows are right"
        if len(cols) <= n_cols // 2 and n_cols > 2:
            return f"only columns {_list(cols)} are wrong, the other columns are right"
        per_col = _per_axis_factors(got, want, fit, axis=0)
        if per_col is not None:
            return (
                f"each column is off by its own factor ({per_col}): a factor that differs from "
                "unit to unit (an activation's derivative?) is missing, extra or wrong"
            )
        per_row = _per_axis_factors(got, want, fit, axis=1)
        if per_row is not None:
            return (
                f"each row is off by its own factor ({per_row}): a factor that differs from "
                "sample to sample is missing, extra or wrong"
            )
        return None
    idx = np.flatnonzero(wrong.reshape(-1))
    if got.ndim == 1 and got.size > 1 and len(idx) == 1:
        i = int(idx[0])
        return (
            f"only entry {i} is wrong, every other entry is right: expected {want[i]:.6g}, "
            f"got {got[i]:.6g}"
        )
    if got.ndim == 1 and len(idx) <= got.size // 2 and got.size > 2:
        return f"only entries {_list(idx)} are wrong, the others are right"
    return None


def _part(got, want, fit: _Fit) -> str:
    """The wrong row or column described: a factor, a sign, an offset."""
    r = _factor(got, want)
    if r is not None and fit.same(got, r * want):
        return ": it is the opposite" if np.isclose(r, -1) else f": it is {r:.4g}x the expected"
    c = float(np.mean(got - want))
    if fit.same(got, want + c):
        return f": off by a constant {c:.4g}"
    return ""


def _per_axis_factors(got, want, fit: _Fit, axis: int) -> str | None:
    """The factors when every column (axis 0) or row (axis 1) is a multiple of the expected."""
    num = np.sum(got * want, axis=axis, keepdims=True)
    den = np.sum(want * want, axis=axis, keepdims=True)
    if np.any(den == 0):
        return None
    r = num / den
    if not fit.same(got, r * want):
        return None
    shown = ", ".join(f"{x:.3g}" for x in r.reshape(-1)[:4])
    return shown + (", ..." if r.size > 4 else "")


def _fallback(got, want, fit: _Fit) -> str:
    diff = np.abs(got - want)
    size = max(fit.scale, float(np.max(np.abs(got))), 1e-300)
    rel = float(np.max(diff)) / size
    if rel < _CLOSE:
        return (
            f"close, but beyond the tolerance (largest error {rel:.2g} of the values' size): a "
            "small term is missing or extra (eps, weight decay, one sample), or precision was lost"
        )
    share = float(np.mean(fit.wrong(got, want)))
    message = f"wrong values in {share:.0%} of the entries"
    if np.sum(got * want) < 0:
        message += ": mostly of the opposite sign, so a sign error in one of the terms?"
    return message


def _scalar(got: float, want: float, inputs: dict, m: int | None) -> str:
    if want == 0:
        return f"expected 0, got {got:.6g}"
    r = got / want
    return f"expected {want:.6g}, got {got:.6g}: " + _factor_message(r, inputs, m)


def _factor(got, want) -> float | None:
    den = float(np.sum(want * want))
    return None if den == 0 else float(np.sum(got * want)) / den


def _factor_message(r: float, inputs: dict, m: int | None) -> str:
    """``r`` as "the result is r x the expected value", naming what r is when it is simple."""
    if np.isclose(r, -1, rtol=1e-3):
        return "sign flipped: your result is -1 x the expected value everywhere"
    sign = "the opposite sign and " if r < 0 else ""
    name = _name_factor(abs(r), inputs, m)
    return f"your result is {r:.4g}x the expected value everywhere ({sign}{name})"


def _name_factor(r: float, inputs: dict, m: int | None) -> str:
    sizes: dict[int, str] = {}
    if m:
        sizes[m] = "m, the batch size: an average over the samples missing?"
    for name, a in inputs.items():
        for axis, n in enumerate(a.shape):
            sizes.setdefault(n, f"{name}.shape[{axis}]")
    for n, what in sizes.items():
        if n > 1 and np.isclose(r, n, rtol=1e-3):
            return f"a factor {n} = {what}"
        if n > 1 and np.isclose(r, 1 / n, rtol=1e-3):
            return f"a factor 1/{n}, 1/({what.split(':')[0]}): divided once too often?"
        if n > 1 and np.isclose(r, 2 * n, rtol=1e-3):
            return f"a factor 2 x {n} = 2 x {what.split(':')[0]}"
    if np.isclose(r, 2, rtol=1e-3) or np.isclose(r, 0.5, rtol=1e-3):
        return "a 2 or a 1/2 missing or extra"
    return "a factor missing or extra somewhere"


def _first_mismatch(got, want, fit: _Fit) -> str:
    if got.ndim == 0:
        return f"expected {float(want):.6g}, got {float(got):.6g}"
    flat = np.flatnonzero(fit.wrong(got, want).reshape(-1))
    i = np.unravel_index(int(flat[0]) if flat.size else 0, got.shape)
    where = tuple(int(j) for j in i)
    return f"first mismatch at index {where}: expected {want[i]:.6g}, got {got[i]:.6g}"


def _list(idx) -> str:
    shown = ", ".join(str(int(i)) for i in idx[:6])
    return shown + (", ..." if len(idx) > 6 else "")
