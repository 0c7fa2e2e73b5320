"""What is wrong with a wrong array, for mistakes that no exercise catalogues.

The grader first looks for a *named* mistake of the exercise (``Spec.mistakes``). When none
matches, ``explain`` describes the difference ``D = got - expected`` between the student's array
and the expected one, in terms a student can act on, trying each shape of error in turn:

- all zeros; every entry the same number (one value broadcast where each entry needs its own);
- a uniform factor, ``got = r expected`` (``r = -1``: a sign flip), with r named when it is the
  batch size, another size of the inputs, a scalar argument (beta, lr...) or its inverse, 2 or
  1/2;
- a transpose (``got = expected^T``) or a reversed order;
- a constant offset, ``D = c`` everywhere (named even when it is small);
- a constant plus a term proportional to an input, ``D = c + k A`` (a number where an array
  was meant);
- a term proportional to an input, ``D = c A`` for an argument A of the same shape (a weight
  decay ``lambda W`` left out, for instance);
- an extra or missing factor A, or (1 - A), of an input: ``got = expected A``;
- an update off by a factor: ``got - A = r (expected - A)`` (a step of an optimiser, for A = p);
- the same vector added to every row (a per-column term, like a bias or a per-unit gradient)
  or to every column;
- an error confined to one row, one column, one entry, or a few of them (the rest right), with
  the same analysis applied to the wrong part; or to where an input is negative, zero,
  positive, or not positive or not negative (a derivative or subgradient wrong on one side of
  0), or beyond a threshold (a clip, an overflow); or entries left at 0 (never assigned, or
  masked out);
- one factor per column (a per-unit factor, such as an activation's derivative) or per row;
- the right values on the wrong entries: a mask (which entries pass) that is wrong;
- the right values in the wrong places (a reshape or repeat in the wrong order);
- values close to the expected ones but beyond the tolerance (a small term, or precision);
- roughly a uniform factor, but not exactly (a factor and a small term besides).

The details always show the first mismatching entry, expected against got.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Callable, Sequence
from typing import NamedTuple

import numpy as np

# A fitted pattern (a factor, an offset...) explains the difference when what remains is within
# this many times the grader's tolerance: loose enough for float32 rounding of the student's
# own arithmetic, far too tight for a chance fit.
_SLACK = 10.0
# A difference this small relative to the values is "close": a small term or lost precision.
_CLOSE = 2e-2
# A uniform factor this close to 1 is named only when no small term explains the difference.
_NEAR_ONE = 5e-2
# A factor that explains the difference only roughly (within this share of the values' size)
# is still worth naming, as "roughly": a one-sided difference is half a centred one plus O(eps).
_ROUGH = 5e-2
# A pattern that chance alone would give at least this often is not named.
_CHANCE = 0.1
# What a factor that is nothing simple is called.
_UNNAMED = "a factor missing or extra somewhere"


class Elsewhere(NamedTuple):
    """Another case of the same output: the student's array, the expected one, the inputs and
    the batch size, as ``explain`` takes them. A factor named after the inputs (m, a size, a
    scalar argument) must be the same function of them on every such case."""

    got: np.ndarray
    want: np.ndarray
    inputs: dict
    m: int | None


@dataclasses.dataclass(frozen=True)
class Explanation:
    """A diagnosis: the one-line ``message``, the ``details`` under it, and whether it names a
    shape of the error (``specific``) rather than only saying that values differ."""

    message: str
    details: tuple[str, ...] = ()
    specific: bool = True


def explain(
    got: np.ndarray,
    want: np.ndarray,
    rtol: float,
    inputs: dict[str, np.ndarray] | None = None,
    m: int | None = None,
    elsewhere: Sequence[Elsewhere] = (),
) -> Explanation:
    """What is wrong with ``got`` (float64, finite, the shape of ``want``) against ``want``.

    ``rtol`` is the grader's tolerance for the inputs' dtype, ``inputs`` the case's float
    arguments by parameter name (sizes and scalars to name a factor by, as 0-d arrays for the
    scalars; arrays a difference may be proportional to), ``m`` the batch size, if any.
    ``elsewhere``: the same output on other cases, where a factor's name must hold too (a
    factor 10 is "2 x p.shape[1]" on one case only by chance).
    """
    inputs = inputs or {}
    fit = _Fit(want, rtol)
    if got.ndim == 0:
        message = _scalar(float(got), float(want), inputs, m, elsewhere)
        return Explanation(message, specific=_UNNAMED not in message and want != 0)
    detail = (_first_mismatch(got, want, fit),)
    # A difference within the slack fits every pattern, so none of them tells anything; where
    # the wrong entries lie still may (a clip at 1e-7 is wrong only for large inputs).
    pattern = functools.partial(_pattern, elsewhere=elsewhere)
    patterns = (_large,) if fit.same(got, want) else (pattern, _confined, _one_number)
    message = next((msg for find in patterns if (msg := find(got, want, fit, inputs, m))), None)
    if message:
        return Explanation(message, detail)
    # "Close" and "wrong values" describe no shape of error: another output's may tell more.
    return Explanation(_fallback(got, want, fit), detail, specific=False)


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


def _pattern(
    got, want, fit: _Fit, inputs: dict, m: int | None, elsewhere: Sequence[Elsewhere] = ()
) -> str | None:
    """A description of got as one simple function of want (and the inputs), or None."""
    if not got.any():
        return "all zeros: nothing was computed or accumulated into the result?"
    r = _factor(got, want)
    # A factor within a few percent of 1 is more often a small term or lost precision: those
    # are looked for first, and the factor is named only if nothing else explains the error.
    near_one = r is not None and abs(r - 1) < _NEAR_ONE
    if r is not None and not near_one and fit.same(got, r * want):
        return _factor_message(r, inputs, m, elsewhere)
    if got.ndim == 2 and got.shape[0] == got.shape[1] and fit.same(got, want.T):
        return "transposed: your [i, j] entry is the expected [j, i]"
    if got.ndim == 1 and got.size > 1 and fit.same(got, want[::-1]):
        return "in reverse order: your first entry is the expected last one"
    diff = got - want
    c = float(np.mean(diff))
    if fit.same(got, want + c):
        return f"off by a constant: got - expected = {c:.4g} in every entry"
    same_shape = {name: a for name, a in inputs.items() if a.shape == want.shape}
    for name, a in same_shape.items():
        k = _factor(diff, a)
        if k is not None and fit.same(got, want + k * a):
            return (
                f"off by {k:.4g} x {name}: a term proportional to {name} is missing, extra or "
                f"has the wrong coefficient (got - expected = c {name})"
            )
    for name, a in same_shape.items():
        # D = c + k A: a scalar where the array A was meant (sum(A) for A, say), or the reverse.
        (c, k), *_ = np.linalg.lstsq(
            np.stack([np.ones(a.size), a.reshape(-1)], axis=1), diff.reshape(-1), rcond=None
        )
        if not np.isclose(c, 0) and not np.isclose(k, 0) and fit.same(got, want + c + k * a):
            return (
                f"off by a constant plus a multiple of {name} (got - expected = {c:.4g} + "
                f"{k:.4g} x {name}): a constant term and a term in {name} are missing, extra "
                f"or wrong (a single number where the array {name} was meant, for instance)"
            )
    for name, a in same_shape.items():
        for what, f in ((name, a), (f"(1 - {name})", 1 - a)):
            if fit.same(got, want * f):
                return f"your result is the expected one times {what}: an extra factor {what}"
            if np.all(f != 0) and fit.same(got, want / f):
                return f"your result is the expected one divided by {what}: a factor {what} missing"
    for name, a in same_shape.items():
        k = _factor(got - a, want - a)
        if k is not None and not np.isclose(k, 1) and fit.same(got - a, k * (want - a)):
            return (
                f"your change from {name} is {k:.4g}x the expected change (got - {name} = "
                f"{k:.4g} (expected - {name})): a factor of the step is wrong"
            )
    if near_one and not _is_close(got, want, fit) and fit.same(got, r * want):
        return _factor_message(r, inputs, m, elsewhere)
    if got.ndim == 2 and got.shape[0] > 1 and fit.same(got, want + diff[:1]):
        return (
            "off by the same vector in every row: a term that is the same for every sample "
            "(one value per column: a bias, a per-unit gradient) is missing, extra or wrong"
        )
    if got.ndim == 2 and got.shape[1] > 1 and fit.same(got, want + diff[:, :1]):
        return "off by the same vector in every column: a term that is the same for every column"
    return None


def _one_number(got, want, fit: _Fit, inputs: dict, m: int | None) -> str | None:
    """Every entry the same number where the expected entries differ: one value computed for
    the whole array (a shift of every entry at once, a reduction too early) and broadcast.
    Looked for last: a constant that is right on part of the entries is better told there."""
    if got.size < 2 or not fit.same(got, np.full_like(got, got.flat[0])):
        return None
    if fit.same(want, np.full_like(want, want.flat[0])):
        return None
    v = float(got.flat[0])
    related = next(
        (what for what, x in (("sum", want.sum()), ("mean", want.mean())) if np.isclose(v, x)),
        None,
    )
    tail = f" (it is the {related} of the expected entries)" if related else ""
    return (
        f"every entry of your result is the same number, {v:.6g}{tail}, where each entry should "
        "have its own value: one number computed for the whole array and broadcast (every "
        "entry changed at once, or a sum or mean taken too early)?"
    )


def _selection(got, want, fit: _Fit) -> str | None:
    """The error of a mask: values right wherever both arrays are nonzero, but the nonzero
    entries are not the expected ones (a ReLU, TopK or dropout mask, a wrong axis)."""
    both = (got != 0) & (want != 0)
    extra = int(np.sum((got != 0) & (want == 0)))
    missing = int(np.sum((got == 0) & (want != 0)))
    if not both.any() or not (extra or missing) or fit.wrong(got, want)[both].any():
        return None
    return (
        f"the selection of entries is wrong: the values are right where both results are "
        f"nonzero, but {extra} entries are nonzero where 0 was expected and {missing} are 0 "
        "where a value was expected" + _selection_axis(got != 0, want != 0)
    )


def _selection_axis(kept: np.ndarray, wanted: np.ndarray) -> str:
    """What the counts of the kept entries tell of a selection's axis."""
    if kept.ndim == 2 and kept.sum() == wanted.sum():
        rows, want_rows = kept.sum(axis=1), wanted.sum(axis=1)
        if not np.array_equal(rows, want_rows):
            return (
                f": as many entries pass in all, but not row by row (your rows keep "
                f"{rows.min()} to {rows.max()}, the expected {want_rows.min()} to "
                f"{want_rows.max()}): chosen over the whole array, or along the wrong axis?"
            )
    return " (which entries pass: a mask, its axis, its condition?)"


def _confined(got, want, fit: _Fit, inputs: dict, m: int | None) -> str | None:
    """The error located (one row, column or entry; a sign region of an input; entries left
    at 0; a wrong mask; a few rows, columns or entries; a permutation) and described there, or
    None."""
    wrong = fit.wrong(got, want)
    if not wrong.any():  # beyond the slack nowhere, yet not close: only the close test remains
        return None
    single = _single_2d(got, want, wrong, fit) if got.ndim == 2 else None
    if single:
        return single
    for name, a in inputs.items():
        if a.shape != want.shape:
            continue
        regions = (
            ("< 0", a < 0), ("== 0", a == 0), ("> 0", a > 0), ("<= 0", a <= 0), (">= 0", a >= 0)
        )  # fmt: skip
        for where, region in regions:
            if region.any() and not region.all() and np.array_equal(wrong, region):
                return (
                    f"wrong only where {name} {where}, right everywhere else: what does your "
                    "formula give on that side of 0 (a branch for it, a derivative, a "
                    "subgradient, a sign)?"
                )
        beyond = _beyond(name, a, wrong, tried=len(inputs))
        if beyond:
            return beyond
    if np.all(got[wrong] == 0):
        return (
            f"{int(wrong.sum())} of {wrong.size} entries are 0 where values were expected, the "
            "rest are right: were those entries never computed or assigned, or does a mask "
            "(which entries pass) leave them out?"
        )
    selection = _selection(got, want, fit)
    if selection:
        return selection
    few = _few(wrong)
    if few:
        return few
    if got.ndim == 2:
        for axis, what, means in (
            (0, "column", "differs from unit to unit (an activation's derivative?)"),
            (1, "row", "differs from sample to sample"),
        ):
            factors = _per_axis_factors(got, want, fit, axis)
            if factors is not None:
                return (
                    f"each {what} is off by its own factor ({factors}): a factor that {means} "
                    "is missing, extra or wrong"
                )
    if got.size > 1 and fit.same(np.sort(got, axis=None), np.sort(want, axis=None)):
        return (
            "the right values in the wrong places: your entries are the expected ones, "
            "rearranged (a reshape, repeat, tile or transpose in the wrong order?)"
        )
    return None


def _large(got, want, fit: _Fit, inputs: dict, m: int | None) -> str | None:
    """The error confined beyond a threshold of an input, for an error within the slack."""
    wrong = fit.wrong(got, want)
    same_shape = {name: a for name, a in inputs.items() if a.shape == want.shape}
    return next(
        (msg for name, a in same_shape.items() if (msg := _beyond(name, a, wrong, len(inputs)))),
        None,
    )


def _beyond(name: str, a: np.ndarray, wrong: np.ndarray, tried: int = 1) -> str | None:
    """The error confined to the largest (or smallest) entries of an input: beyond a threshold
    on |A| or on A (a clip, a saturating or overflowing formula, a cut-off). ``tried``: how
    many inputs are tried; a threshold that chance would give that often is not named."""
    k, n = int(wrong.sum()), wrong.size
    if k < 2 or n - k < 2 or 3 * tried / math.comb(n, k) > _CHANCE:
        return None
    for what, x in ((f"|{name}|", np.abs(a)), (name, a)):
        lo, hi = float(np.min(x[wrong])), float(np.max(x[~wrong]))
        if lo > hi:
            return (
                f"wrong only where {what} >= {lo:.4g}, right wherever {what} <= {hi:.4g}: "
                "what does your formula do differently for large inputs (a clip, an overflow, "
                "a step or a term that grows with them)?"
            )
    lo, hi = float(np.min(a[~wrong])), float(np.max(a[wrong]))
    if hi < lo:
        return (
            f"wrong only where {name} <= {hi:.4g}, right wherever {name} >= {lo:.4g}: what "
            f"does your formula do differently for the smallest values of {name} (a clip, an "
            "overflow)?"
        )
    return None


def _single_2d(got, want, wrong, fit: _Fit) -> str | None:
    """The error confined to one entry, one row or one column of a matrix."""
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
    return None


def _few(wrong: np.ndarray) -> str | None:
    """The error confined to a minority of the rows or columns (a matrix) or entries."""
    if wrong.ndim == 2:
        rows, cols = np.flatnonzero(wrong.any(axis=1)), np.flatnonzero(wrong.any(axis=0))
        n_rows, n_cols = wrong.shape
        if len(rows) <= n_rows // 2 and n_rows > 2:
            return f"only rows {_list(rows)} are wrong, the other rows are right"
        if len(cols) <= n_cols // 2 and n_cols > 2:
            return f"only columns {_list(cols)} are wrong, the other columns are right"
        return None
    idx = np.flatnonzero(wrong.reshape(-1))
    if wrong.ndim == 1 and wrong.size > 1 and len(idx) == 1:
        return f"only entry {int(idx[0])} is wrong, every other entry is right"
    if wrong.ndim == 1 and len(idx) <= wrong.size // 2 and wrong.size > 2:
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
    kept, wanted = int(np.count_nonzero(got)), int(np.count_nonzero(want))
    if kept != wanted and (want == 0).any():
        return f": {kept} nonzero entries where {wanted} were expected (which entries pass?)"
    if (want == 0).any() and not np.array_equal(got != 0, want != 0):
        return ": as many nonzero entries as expected, in other places (which entries pass?)"
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


def _is_close(got, want, fit: _Fit, within: float = _CLOSE) -> bool:
    size = max(fit.scale, float(np.max(np.abs(got))), 1e-300)
    return float(np.max(np.abs(got - want))) / size < within


def _fallback(got, want, fit: _Fit) -> str:
    if _is_close(got, want, fit):
        diff = got - want
        c = float(np.mean(diff))
        # Within the slack every pattern fits; a spread far below the offset still shows one.
        if got.size > 1 and np.ptp(diff) < 0.1 * abs(c):
            return (
                f"close, but off by a constant: got - expected = {c:.4g} in every entry: a small "
                "term (a constant such as eps) added in the wrong place?"
            )
        size = max(fit.scale, float(np.max(np.abs(got))), 1e-300)
        rel = float(np.max(np.abs(diff))) / size
        return (
            f"close, but beyond the tolerance (largest error {rel:.2g} of the values' size): a "
            "small term is missing or extra (eps, weight decay, one sample), or precision was lost"
        )
    share = float(np.mean(fit.wrong(got, want)))
    message = f"wrong values in {share:.0%} of the entries"
    r = _factor(got, want)
    if r is not None and abs(r - 1) > _ROUGH and _is_close(got, r * want, fit, _ROUGH):
        return message + (
            f": roughly {r:.3g}x the expected values everywhere, but not exactly (within "
            f"{_ROUGH:.0%}): a factor {r:.2g} missing or extra, and a small term besides?"
        )
    if np.sum(got * want) < 0:
        message += ": mostly of the opposite sign, so a sign error in one of the terms?"
    return message


def _scalar(
    got: float, want: float, inputs: dict, m: int | None, elsewhere: Sequence[Elsewhere]
) -> str:
    if want == 0:
        return f"expected 0, got {got:.6g}"
    factor = _factor_message(got / want, inputs, m, elsewhere)
    return f"expected {want:.6g}, got {got:.6g}: {factor}"


def _factor(got, want) -> float | None:
    den = float(np.sum(want * want))
    return None if den == 0 else float(np.sum(got * want)) / den


def _factor_message(
    r: float, inputs: dict, m: int | None, elsewhere: Sequence[Elsewhere] = ()
) -> str:
    """``r`` as "the result is r x the expected value", naming what r is when it is simple."""
    if np.isclose(r, -1, rtol=1e-3):
        return "sign flipped: your result is -1 x the expected value everywhere"
    sign = "the opposite sign and " if r < 0 else ""
    name = _name_factor(abs(r), inputs, m, elsewhere)
    return f"your result is {r:.4g}x the expected value everywhere ({sign}{name})"


# How a factor's value follows from a quantity q of the inputs, and what it then says.
_FORMS = {
    "size": (
        (lambda q: q, "a factor {n:.4g} = {what}: a division by it missing?"),
        (lambda q: 1 / q, "a factor 1/{n:.4g} = 1/({what}): divided by it once too often?"),
        (lambda q: 2 * q, "a factor 2 x {n:.4g} = 2 x {what}"),
    ),
    "scalar": (
        (
            lambda q: q,
            "a factor {what} = {n:.4g}: {what} applied twice, or multiplied for divided?",
        ),
        (
            lambda q: 1 / q,
            "a factor 1/{what} = 1/{n:.4g}: {what} left out, or divided for multiplied?",
        ),
    ),
}


def _quantities(inputs: dict, m: int | None) -> dict[tuple, tuple[str, str, float]]:
    """The inputs' quantities a factor may be named after: key -> (kind, name, value); the
    key finds the same quantity on another case."""
    found: dict[tuple, tuple[str, str, float]] = {}
    sizes: set[int] = set()
    if m and m > 1:
        found[("m",)] = ("size", "m, the batch size", m)
        sizes.add(m)
    for name, a in inputs.items():
        for axis, n in enumerate(a.shape):
            if n > 1 and n not in sizes:
                found[("shape", name, axis)] = ("size", f"{name}.shape[{axis}]", n)
                sizes.add(n)
    # A scalar argument of 2 or 1/2 would be told from a stray 2 by chance only.
    for name, a in inputs.items():
        if a.ndim == 0 and float(a) not in (0, 1, 2, 0.5):
            found[("scalar", name)] = ("scalar", name, abs(float(a)))
    return found


def _value(key: tuple, inputs: dict, m: int | None) -> float | None:
    """The quantity ``key`` (see ``_quantities``) on another case, None if it has none."""
    if key == ("m",):
        return m
    if key[0] == "shape":
        a = inputs.get(key[1])
        return None if a is None or a.ndim <= key[2] else a.shape[key[2]]
    a = inputs.get(key[1])
    return None if a is None or a.ndim else abs(float(a))


def _name_factor(r: float, inputs: dict, m: int | None, elsewhere: Sequence[Elsewhere] = ()) -> str:
    ratios = []
    for e in elsewhere:
        r_e = _factor(e.got, e.want)
        if r_e is not None:
            ratios.append((abs(r_e), e))

    def holds(key: tuple, form: Callable[[float], float]) -> bool:
        for r_e, e in ratios:
            q = _value(key, e.inputs, e.m)
            if q is None or q == 0 or not np.isclose(r_e, form(q), rtol=1e-3):
                return False
        return True

    for key, (kind, what, q) in _quantities(inputs, m).items():
        for form, text in _FORMS[kind]:
            if np.isclose(r, form(q), rtol=1e-3) and holds(key, form):
                return text.format(n=q, what=what)
    differs = next((r_e for r_e, _ in ratios if not np.isclose(r_e, r, rtol=1e-3)), None)
    if differs is not None:
        return (
            f"{_UNNAMED}, one that depends on the inputs: {differs:.4g}x on another case (a "
            "power or a step count, say, rather than a constant)"
        )
    if np.isclose(r, 2, rtol=1e-3) or np.isclose(r, 0.5, rtol=1e-3):
        return "a 2 or a 1/2 missing or extra"
    for base, log in (("10", np.log(10)), ("2", np.log(2))):
        if np.isclose(r, 1 / log, rtol=1e-3):
            return (
                f"a factor 1/ln({base}) = {1 / log:.4g}: a log in base {base} where the natural "
                "log belongs?"
            )
        if np.isclose(r, log, rtol=1e-3):
            return (
                f"a factor ln({base}) = {log:.4g}: the natural log where a log in base {base} "
                "belongs?"
            )
    return _UNNAMED


def _first_mismatch(got, want, fit: _Fit) -> str:
    flat = np.flatnonzero(fit.wrong(got, want).reshape(-1))
    i = np.unravel_index(int(flat[0]) if flat.size else 0, got.shape)
    where = tuple(int(j) for j in i)
    return f"first mismatch at index {where}: expected {want[i]:.6g}, got {got[i]:.6g}"


def _list(idx) -> str:
    shown = ", ".join(str(int(i)) for i in idx[:6])
    return shown + (", ..." if len(idx) > 6 else "")


#: The gradients of the autoencoder's parameters, as a backward pass returns them.
GRADIENTS = ("W1", "b1", "W2", "b2")
#: What an optimiser's step returns: the parameter and the two moments.
ADAM_STATE = ("p", "m", "v")


def locate(outputs: tuple[str, ...], wrong: list[str]) -> str:
    """Where the error lies, from which outputs are wrong, for the results whose outputs depend
    on one another in a known way (a backward pass, an Adam step); else empty."""
    if outputs == GRADIENTS:
        return _locate_in_backprop(set(wrong))
    if outputs == ADAM_STATE:
        return _locate_in_adam(set(wrong))
    return ""


def _locate_in_backprop(wrong: set[str]) -> str:
    """dW2 and db2 read only dZ2 (and H), dW1 and db1 only dZ1 (and X); dZ1 comes from dZ2."""
    if wrong == set(GRADIENTS):
        return (
            "dW2 and db2 are wrong, and they read only H and dZ2: the error is in dZ2 (the loss's "
            "gradient, the output unit's derivative) or in the forward pass"
        )
    if wrong == {"W1", "b1"}:
        return (
            "dW2 and db2 are right, so the dZ2 they read is: the error lies between dZ2 and "
            "dZ1 (dH: is it computed from that same dZ2?; the penalty's gradient; the hidden "
            "unit's derivative)"
        )
    if len(wrong) == 1:
        (key,) = wrong
        other = {"W1": "b1", "b1": "W1", "W2": "b2", "b2": "W2"}[key]
        return f"d{other} is right, so the error is in the line that computes d{key} itself"
    return ""


def _locate_in_adam(wrong: set[str]) -> str:
    """m and v are running averages of g and g^2; p's step reads them, bias-corrected."""
    if wrong == {"p"}:
        return "m and v are right: the error is in the bias correction or in the step on p"
    if "m" in wrong and "v" not in wrong:
        return "v is right and m is not: look at the update of m (what it averages, its weights)"
    if "v" in wrong and "m" not in wrong:
        return "m is right and v is not: look at the update of v (what it averages, its weights)"
    if wrong == {"m", "v"}:
        return (
            "m and v are wrong but p is right: do you return the moments themselves (not the "
            "bias-corrected m^ and v^), and do they average g itself (nothing added to it, such "
            "as a decay)?"
        )
    if {"m", "v"} <= wrong:
        return (
            "m and v are both wrong, and both average the gradient: is the g they are given "
            "the gradient itself (nothing added to it, such as a decay), with the right weights?"
        )
    return ""
