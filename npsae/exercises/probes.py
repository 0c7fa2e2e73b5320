"""Probes: how a wrong result *responds* to designed changes of its inputs, against how the
right one does.

A single wrong number (a loss, a penalty) can only be "off by a factor" on one case. Its
response to a change of the inputs tells more: a loss that stays the same when the batch is
given twice where the right one doubles, or that ignores a constant added to every entry, or
that grows as the first power of its input where the right one grows as the square. The grader
builds each probe's inputs from the public case that failed (``plan``, in its own process), has
the student's function called on them the same isolated way as on the cases, and compares the
two responses (``findings``).

Probes refine the message of an exercise that has already failed with a vague diagnosis; they
never change a verdict or points, and a probe the student's code fails on (raises, hangs,
returns nonsense) is simply left out.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable, Sequence

import numpy as np

from npsae.exercises.grading import (
    RTOL,
    Case,
    Observation,
    Spec,
    _is_numeric,
    expected_outputs,
    output_dict,
)

_SAME, _TIMES = "stays the same", "is multiplied by"
#: A response as a number: the ratio of the probe's output to the case's (1: the same), None
#: when the output changes otherwise.
Ratio = float | None


@dataclasses.dataclass(frozen=True)
class Probe:
    """A designed call: ``what`` the change is (for the student), the arguments and the
    reference's outputs on them; ``hint`` maps (expected response, student's response) to what
    that difference suggests. For a ``scaling`` probe (a repeated batch, a doubled input) a
    response by a different power of 2 tells something; for the others only a result that
    stays the same where the other does not."""

    what: str
    args: tuple
    expected: dict
    hint: Callable[[Ratio, Ratio], str]
    scaling: bool = False


def _arrays(spec: Spec, case: Case) -> list[tuple[int, str]]:
    """(position, name) of the case's float array arguments."""
    return [
        (i, name)
        for i, (name, a) in enumerate(zip(spec.params, case.args, strict=False))
        if isinstance(a, np.ndarray) and np.issubdtype(a.dtype, np.floating) and a.size
    ]


def _replaced(args: tuple, changes: dict[int, np.ndarray]) -> tuple:
    return tuple(changes.get(i, a) for i, a in enumerate(args))


def _twice(axis: int, what: str, size: str, unit: str):
    """The probe that gives every array twice along ``axis`` (the samples, or the columns): a
    mean over that axis stays the same, a sum doubles."""

    def make(spec, case, arrays):
        if axis == 0:  # the arrays with a row per sample
            chosen = [i for i, _ in arrays if case.m and case.args[i].shape[0] == case.m]
        else:  # every array, when all are the same matrix shape
            shapes = {case.args[i].shape for i, _ in arrays}
            one_matrix = len(shapes) == 1 and len(next(iter(shapes))) == 2
            chosen = [i for i, _ in arrays] if one_matrix else []
        if not chosen:
            return None

        def hint(want: Ratio, got: Ratio) -> str:
            if _is(want, 1) and _is(got, 2):
                return (
                    f"it grows with the number of {unit}: an average over the {unit} ({size}) "
                    "missing?"
                )
            if _is(want, 2) and _is(got, 1):
                return f"it should add up over the {unit}: divided by {size} once too often?"
            return ""

        changes = {i: np.concatenate([case.args[i]] * 2, axis=axis) for i in chosen}
        return what, changes, hint

    return make


_batch_twice = _twice(
    0, "every sample is given twice (the batch repeated, m doubled)", "m", "samples"
)
_columns_twice = _twice(
    1, "every row's entries are given twice (the columns repeated, n doubled)", "n", "columns"
)


def _shift(spec, case, arrays):
    i, name = arrays[0]
    # Only a single number (a loss) that ignores a shift points at a subtracted mean.
    single = len(spec.returns) == 1 and np.ndim(expected_outputs(spec, case)[spec.returns[0]]) == 0

    def hint(want: Ratio, got: Ratio) -> str:
        if single and _is(got, 1):
            return f"a uniform shift of {name} changes nothing in yours: is a mean subtracted?"
        return ""

    return f"0.1 is added to every entry of {name}", {i: case.args[i] + 0.1}, hint


def _swap(spec, case, arrays):
    if len(arrays) < 2 or case.args[arrays[0][0]].shape != case.args[arrays[1][0]].shape:
        return None
    (i, a), (j, b) = arrays[:2]

    def hint(want: Ratio, got: Ratio) -> str:
        if _is(want, 1):
            return f"the result does not depend on which of {a} and {b} comes first: yours does"
        return ""

    return f"{a} and {b} are swapped", {i: case.args[j], j: case.args[i]}, hint


def _alternate_signs(spec, case, arrays):
    """The first array reflected about the second at every other entry: the same sizes of
    differences, half of their signs flipped."""
    if len(arrays) < 2 or case.args[arrays[0][0]].shape != case.args[arrays[1][0]].shape:
        return None
    (i, a), (j, b) = arrays[:2]
    A, B = case.args[i], case.args[j]
    flip = (np.arange(A.size) % 2 == 1).reshape(A.shape)
    reflected = np.where(flip, 2 * B - A, A).astype(A.dtype)

    def hint(want: Ratio, got: Ratio) -> str:
        if _is(want, 1):
            return (
                f"yours depends on the signs of the differences {a} - {b}, not only on their "
                "sizes: are they combined before being squared?"
            )
        return ""

    return f"half of the differences {a} - {b} change sign (same sizes)", {i: reflected}, hint


def _double(spec, case, arrays):
    """Every array of the first one's shape doubled: a result homogeneous in them (a squared
    error, a sign) responds by a power of 2."""
    shape = case.args[arrays[0][0]].shape
    doubled = [(i, name) for i, name in arrays if case.args[i].shape == shape]
    what = " and ".join(name for _, name in doubled)
    name = what if len(doubled) == 1 else "them"

    def hint(want: Ratio, got: Ratio) -> str:
        w, g = _power(want), _power(got)
        if w is not None and g is not None:
            return f"the expected result grows as {_growth(w)} of {name}, yours as {_growth(g)}"
        return ""

    verb = "is" if len(doubled) == 1 else "are"
    return f"{what} {verb} doubled", {i: case.args[i] * 2 for i, _ in doubled}, hint


def _negate(spec, case, arrays):
    i, name = arrays[0]
    return f"{name} is negated", {i: -case.args[i]}, lambda want, got: ""


def _growth(k: float) -> str:
    """The k-th power, in words."""
    words = {0: "the 0th power (not at all)", 1: "the 1st power", 2: "the square", 3: "the cube"}
    return words.get(int(k), f"the power {k:g}")


def _is(r: Ratio, value: float) -> bool:
    return r is not None and bool(np.isclose(r, value, rtol=1e-2))


def _power(r: Ratio) -> float | None:
    """k when ``r`` is 2^k or -2^k (the response to a doubled input), k an integer from -4
    to 4."""
    k = np.log2(abs(r)) if r else None
    if k is None or abs(k - round(k)) > 1e-2 or abs(k) > 4:
        return None
    return float(round(k))


#: The probes, in the order their findings are reported, and whether each is a scaling one.
PROBES = (
    (_batch_twice, True),
    (_columns_twice, True),
    (_shift, False),
    (_swap, False),
    (_alternate_signs, False),
    (_double, True),
    (_negate, False),
)


def plan(spec: Spec, case: Case) -> list[Probe]:
    """The probes of ``case`` whose reference outputs are all finite."""
    arrays = _arrays(spec, case)
    if not arrays or spec.judge is not None:
        return []
    probes = []
    for make, scaling in PROBES:
        made = make(spec, case, arrays)
        if made is None:
            continue
        what, changes, hint = made
        # Copies: the student's function may write into them (the case's own arrays too);
        # one deep copy keeps an array a case function reads the same object as the argument.
        args = copy.deepcopy(_replaced(case.args, changes))
        if not _in_domain(spec, args):
            continue
        try:
            expected = expected_outputs(spec, dataclasses.replace(case, args=args))
        except Exception:  # inputs the reference refuses tell nothing
            continue
        numeric = [np.asarray(v, float) for v in expected.values() if _is_numeric(v)]
        if numeric and all(np.isfinite(v).all() for v in numeric):
            probes.append(Probe(what, args, expected, hint, scaling))
    return probes


def _in_domain(spec: Spec, args: tuple) -> bool:
    """Whether every argument the exercise bounds (``Spec.domain``) stays within its bounds."""
    for name, a in zip(spec.params, args, strict=False):
        if name in spec.domain and isinstance(a, np.ndarray):
            lo, hi = spec.domain[name]
            if a.size and (np.min(a) < lo or np.max(a) > hi):
                return False
    return True


def response(before, after, rtol: float) -> tuple[str, float | None]:
    """How ``after`` relates to ``before``, in words and as a Ratio: ("stays the same", 1),
    ("is multiplied by r", r), ("changes otherwise", None) or ("reshaped", None)."""
    b, a = np.asarray(before, float), np.asarray(after, float)
    if a.shape != b.shape:
        return "reshaped", None
    scale = max(float(np.max(np.abs(b), initial=0)), float(np.max(np.abs(a), initial=0)), 1e-300)
    if np.all(np.abs(a - b) <= 10 * rtol * scale):
        return _SAME, 1.0
    den = float(np.sum(b * b))
    if den > 0:
        r = float(np.sum(a * b)) / den
        if np.all(np.abs(a - r * b) <= 10 * rtol * scale):
            return f"{_TIMES} {r:.3g}", r
    return "changes otherwise", None


def findings(
    spec: Spec,
    case: Case,
    key: str,
    got: dict,
    expected: dict,
    probes: Sequence[Probe],
    seen: Sequence[Observation | None],
) -> list[str]:
    """What the student's responses to ``probes`` (``seen``, one observation each, None for a
    call that never ended) show against the reference's, for the output ``key``."""
    rtol = RTOL[case.dtype]
    found = []
    for probe, observation in zip(probes, seen, strict=False):
        if observation is None or observation.problem or observation.raised is not None:
            continue
        try:
            out = output_dict(spec, observation.value)
            want, r_want = response(expected[key], probe.expected[key], RTOL[np.dtype(np.float64)])
            mine, r_mine = response(got[key], out[key], rtol)
        except Exception:  # a result the grader cannot read: this probe tells nothing
            continue
        if "reshaped" in (want, mine):
            continue
        powers = _power(r_want), _power(r_mine)
        if _is(r_want, 1) == _is(r_mine, 1) and not (
            probe.scaling and None not in powers and powers[0] != powers[1]
        ):
            continue  # no difference, or one that tells nothing (a ratio of 1.6 against 1.5)
        hint = probe.hint(r_want, r_mine)
        label = f"{key}: " if len(expected) > 1 else ""
        found.append(
            f"{label}when {probe.what}, the expected result {want} but yours {mine}"
            + (f": {hint}" if hint else "")
        )
    return found
