"""The autograder's judge: decide, from what a student's function did on a case, whether it
passed, and explain a failure.

Grading has two steps. *Observing* calls the function on a case, in the grader's process
(``observe``, for ``exercises.check``) or in a separate one (``isolation``), and keeps only data:
the value returned or the exception raised, and the array arguments as they are afterwards.
*Judging* (``judge``) happens in the grader's process, on that data alone. A case fails for the
first of these reasons, checked in order:

1. the function raised (``NotImplementedError`` means "not implemented yet");
2. it changed one of its array arguments and left it changed;
3. it returned the wrong kind of thing (None, a tuple of the wrong length, missing dict keys);
4. its values differ from the reference solution's beyond the tolerance of the input dtype;
5. its arrays are not in the input's dtype.

That reason gives the message; the values, the shapes and dtypes and the arguments are still
each judged apart (``Verdict``), one property for each test group of ``scoring``, and what
produced the message is named in ``Verdict.explainer`` (``EXPLAINERS``).

For 4, ``explainers`` ranks every explainer's candidate explanations: the first is the
message. When it says little (``Verdict.vague``), ``scoring`` may run ``probes``.
The reference is always evaluated on float64 copies of the inputs: it is the exact answer that
a float32 result must approach to within float32 precision.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from npsae.exercises.chain import Hidden, hidden_error
from npsae.exercises.diagnosis import GRADIENTS, Elsewhere, Explanation, explain
from npsae.exercises.mutants import Mutant
from npsae.exercises.runner import call, watching

# Largest allowed error, relative to the size of the expected values, per input dtype: a few
# hundred roundings of each precision, loose enough for any sound order of operations.
RTOL = {np.dtype(np.float32): 1e-4, np.dtype(np.float64): 1e-8}

PASSED, FAILED, NOT_IMPLEMENTED, ERROR = "passed", "failed", "not implemented", "error"
# An argument changed by at most this many units in the last place was changed by rounding.
_ROUNDING_ULPS = 4
#: The key under which a judge finds what the spec's ``watch`` function was given.
CALLS = "calls"


@dataclasses.dataclass(frozen=True)
class Case:
    """One call of the student's function.

    ``args`` are passed positionally; ``dtype`` sets the tolerance; ``m`` (the batch size, when
    the exercise has one) feeds the shape and factor-of-m diagnostics; with ``raises`` set the
    function must raise that exception type instead of returning. ``edge`` marks a degenerate
    or extreme case (one sample, all zeros, extreme values, empty arrays, bad input), where some
    mistakes cannot show: it scores in the edge group, never in the value groups, and is never
    drawn as a hidden case. Every other case is a value case, on which every catalogued mistake
    and every mutant of the solution that is wrong on ordinary inputs must fail.
    """

    label: str
    args: tuple
    dtype: np.dtype = np.dtype(np.float64)
    m: int | None = None
    raises: type[BaseException] | None = None
    edge: bool = False


@dataclasses.dataclass(frozen=True)
class Mistake:
    """A known mistake: ``output(case, expected)`` is what a function making it returns.

    ``expected`` is the reference's output as a dict (output name -> value); ``output`` returns
    the same kind of dict, or None when the mistake cannot be told apart on this case.
    """

    message: str
    output: Callable[[Case, dict], dict | None]


@dataclasses.dataclass(frozen=True)
class GroupScore:
    """The points of one test group of an exercise: ``passed`` of ``total`` cases, worth
    ``score`` of ``max_score`` points; ``hidden`` for the group of hidden cases; ``note`` says
    why passed cases scored nothing, when they did."""

    name: str
    passed: int
    total: int
    score: float
    max_score: float
    hidden: bool = False
    note: str = ""

    def __str__(self) -> str:
        return f"{self.name} {self.passed}/{self.total}" + (f" ({self.note})" if self.note else "")


@dataclasses.dataclass(frozen=True)
class Answer:
    """A written question of an exercise and the student's answer ("" when unanswered); graded
    by the instructor, never automatically."""

    question: str
    answer: str


@dataclasses.dataclass(frozen=True)
class Result:
    """The verdict on one exercise.

    ``status`` is "passed", "failed", "not implemented" or "error" (the file could not be
    loaded); ``message`` is the one-line diagnostic and ``diagnostics`` the details under it.
    ``score`` of ``max_score`` points, split by test group in ``groups``; ``output`` is what the
    student's code printed (its first few KB, when graded from a file) and ``answers`` the
    written questions with the student's answers. A failure's ``explainer`` names what produced
    its message (a key of ``EXPLAINERS``) and ``compared`` says what it compared, on which
    case; ``explanations`` holds the candidates considered, ranked
    (``explainers.Candidate.as_dict``), the first the message's.
    """

    name: str
    status: str
    message: str
    diagnostics: tuple[str, ...] = ()
    score: float = 0.0
    max_score: float = 0.0
    groups: tuple[GroupScore, ...] = ()
    output: str = ""
    answers: tuple[Answer, ...] = ()
    explainer: str = ""
    compared: str = ""
    explanations: tuple[dict, ...] = ()

    @property
    def passed(self) -> bool:
        return self.status == PASSED

    def __str__(self) -> str:
        return "\n".join([f"{self.name}: {self.message}", *(f"    {d}" for d in self.diagnostics)])


def scaled(message: str, factor: Callable[[Case], float | None]) -> Mistake:
    """The mistake of returning the expected output times ``factor(case)`` (None: not
    applicable to this case)."""

    def output(case: Case, expected: dict) -> dict | None:
        f = factor(case)
        if f is None or f == 1:
            return None
        return {k: np.multiply(v, f) if _is_numeric(v) else v for k, v in expected.items()}

    return Mistake(message, output)


def buggy(message: str, fn: Callable[..., Any], returns: Sequence[str] = ("result",)) -> Mistake:
    """The mistake made by ``fn``, a variant of the solution with the student's signature."""

    def output(case: Case, expected: dict) -> dict | None:
        return as_outputs(fn(*_float64(case.args)), returns)

    return Mistake(message, output)


def batch_size(case: Case) -> int | None:
    """The case's batch size m, or None when it has none or m = 1 (where a factor of m cannot
    show)."""
    return case.m if case.m and case.m > 1 else None


def over_batch_size(case: Case) -> float | None:
    """1/m, or None like ``batch_size``."""
    m = batch_size(case)
    return None if m is None else 1 / m


SIGN_FLIPPED = scaled("sign flipped: the result has the opposite sign", lambda c: -1)
TIMES_M = scaled(
    "off by a factor of m (the batch size): did you forget to average over the batch?",
    batch_size,
)
OVER_M = scaled(
    "off by a factor of 1/m: you divided by the batch size m where none was needed",
    over_batch_size,
)
TIMES_2 = scaled("off by a factor of 2: a 2 (or a 1/2) is missing or extra", lambda c: 2)
HALF = scaled("off by a factor of 1/2: a 2 (or a 1/2) is missing or extra", lambda c: 0.5)
# The mistakes any numeric result can make, and those of a result computed over a batch;
# exercises list them after their own.
SCALE_MISTAKES = (SIGN_FLIPPED, TIMES_2, HALF)
COMMON_MISTAKES = (*SCALE_MISTAKES, TIMES_M, OVER_M)


def as_outputs(out: Any, returns: Sequence[str]) -> dict:
    """The function's return value as a dict name -> value, following ``returns``: one name for
    a single value, several for a tuple; a dict is passed through. Raises TypeError with a
    student-facing message for a tuple of the wrong length."""
    if isinstance(out, Mapping):
        return dict(out)
    if len(returns) == 1:
        return {returns[0]: out}
    if not isinstance(out, (tuple, list)) or len(out) != len(returns):
        what = (
            f"a {type(out).__name__} of {len(out)} values"
            if isinstance(out, (tuple, list))
            else f"a value of type {type(out).__name__}"
        )
        raise TypeError(
            f"returned {what}; expected a tuple of {len(returns)}: {', '.join(returns)}"
        )
    return dict(zip(returns, out, strict=True))


@dataclasses.dataclass(frozen=True)
class Spec:
    """How an exercise is graded (the ``Exercise`` adds its name, stub and summary).

    ``returns`` names the outputs: one name for a single value, several for a tuple; with
    ``returns_dict`` the function returns a dict with these keys. ``keep_dtype`` requires array
    results in the dtype of the (float32 or float64) inputs. The hints are appended to the
    diagnostics of transposed shapes, NaN results and arguments changed in place.

    ``judge``, when set, replaces the comparison with the reference's output for exercises
    whose answer is not one array of values (a trained model, a gradient check's verdict):
    ``judge(case, got, expected)`` returns None when ``got`` is right, else the message.
    ``watch`` names a function the student's may call (a sibling exercise): the first argument
    of each call is recorded (``runner.watching``) and the judge finds the records, one array
    of row fingerprints per call, in ``got[CALLS]``. ``agree(cases, gots)``, when set, judges
    the cases together (a property no single call shows: the same seed gives the same result):
    ``gots`` holds each case's outputs (with ``got[CALLS]``), None where the case already
    failed; it returns a message or None per case.

    ``mutants()``, when set, gives the instructor solution's mutants (``mutants``): a wrong
    result that no catalogued mistake explains is compared with them. ``domain`` maps an array
    parameter to the closed interval its entries must lie in (as the stub states it): a probe
    (``probes``) never leaves it.
    """

    reference: Callable[..., Any]
    cases: Callable[[np.random.Generator], list[Case]]
    params: tuple[str, ...]
    returns: tuple[str, ...] = ("result",)
    returns_dict: bool = False
    mistakes: tuple[Mistake, ...] = COMMON_MISTAKES
    keep_dtype: bool = True
    transpose_hint: str = ""
    nan_hint: str = ""
    mutation_hint: str = "work on a copy, or build new arrays"
    seed: int = 0
    judge: Callable[[Case, dict, dict], str | None] | None = None
    watch: str = ""
    agree: Callable[[Sequence[Case], Sequence[dict | None]], Sequence[str | None]] | None = None
    mutants: Callable[[], Sequence[Mutant]] | None = None
    domain: Mapping[str, tuple[float, float]] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class Raised:
    """An exception raised by the student's function, as data: its type's name, the names of
    its classes (to match ``Case.raises``), its message and the line of the student's file."""

    type: str
    bases: tuple[str, ...]
    message: str
    where: str = ""

    def is_a(self, kind: type[BaseException]) -> bool:
        return kind.__name__ in self.bases


@dataclasses.dataclass(frozen=True)
class Observation:
    """What one call of the student's function did.

    ``value`` is what it returned, or ``raised`` what it raised; ``after`` holds each argument as
    it is after the call (the array arguments; None for others); ``calls`` the fingerprints
    of what the spec's ``watch`` function was given, one array per call. ``problem`` says why
    there is nothing to judge (the call never ended, or its result could not be read).
    """

    value: Any = None
    raised: Raised | None = None
    after: tuple = ()
    problem: str = ""
    calls: tuple = ()


@dataclasses.dataclass(frozen=True)
class Verdict:
    """The judgement of one case: ``failure`` is None or (status, message, details).

    Each test group reads one property of the case, judged apart from the others: ``right``
    (the values are the reference's, or the exception a case must raise was raised, whatever
    their dtype and whatever happened to the arguments), ``well_formed`` (right kind of result,
    shapes and dtypes) and ``unmodified`` (no argument left changed); None where not applicable
    (no result to measure, a call that never ended). ``vague`` names the wrong output whose
    values the diagnosis could only call wrong (no named mistake, no mutant, no shape of
    error, or a single number off by an unnamed factor): probes may tell more. ``explainer``
    names what produced the failure's message, a key of ``EXPLAINERS``; for wrong values,
    ``explanations`` holds every explainer's candidates, ranked (``explainers``), the first
    the message's."""

    failure: tuple | None
    well_formed: bool | None = False
    unmodified: bool | None = False
    vague: str = ""
    right: bool = False
    explainer: str = ""
    explanations: tuple = ()


#: What can produce a verdict's message, and what each compares.
EXPLAINERS = {
    "reference": "your values with the reference solution's, on every case",
    "rules": "the call's exception, arguments afterwards, kind of result, shapes and dtype, "
    "against the exercise's contract",
    "judge": "what the result does, by the exercise's own judge",
    "catalogue": "your outputs with those of each catalogued mistake of the exercise",
    "mutant": "your outputs with those of each one-change mutant of the solution, on this case "
    "and on up to 4 others",
    "pair": "your error with the sum of two catalogued mistakes' or mutants' errors, on this "
    "case and on up to 4 others",
    "chain": "the dZ1 read back from your dW1 with the expected dZ1",
    "probe": "your function's response to designed variants of the public case with the "
    "reference's",
    "diagnosis": "your values with the reference's: the shape of the difference",
}


def observe(fn: Callable[..., Any], case: Case, watch: str = "") -> Observation:
    """Call ``fn`` on ``case`` in this process, recording the calls of ``watch`` (see
    ``Spec``). The student gets the case's own arrays (a numerical gradient's f may read its x
    through a closure, so x must be the very array perturbed); ``after`` is then those same
    arrays."""
    code = getattr(fn, "__code__", None)
    with watching(fn, watch) as calls:
        seen = call(fn, case.args, code.co_filename if code is not None else "")
    if "raised" in seen:
        return Observation(
            raised=Raised(**{**seen["raised"], "bases": tuple(seen["raised"]["bases"])}),
            after=case.args,
        )
    return Observation(value=seen["value"], after=case.args, calls=tuple(calls))


def expected_outputs(spec: Spec, case: Case) -> dict | None:
    """The reference's outputs on ``case`` (None for a case that must raise)."""
    if case.raises is not None:
        return None
    with np.errstate(all="ignore"):
        return output_dict(spec, spec.reference(*_float64(case.args)))


def snapshot(case: Case) -> tuple:
    """Copies of the case's array arguments, to tell later whether the student changed them."""
    return tuple(a.copy() if isinstance(a, np.ndarray) else a for a in case.args)


def judge(
    spec: Spec,
    case: Case,
    seen: Observation,
    expected: dict | None,
    before: tuple,
    diagnose: bool = True,
    others: Sequence[tuple[Case, Observation, dict | None]] = (),
) -> Verdict:
    """Judge ``seen`` on ``case``; ``before`` is ``snapshot(case)`` taken before the call.
    Without ``diagnose``, a wrong value is only "wrong values" (naming the mistake costs the
    evaluation of every known mistake). ``others``, (case, observation, expected outputs) of
    other cases, corroborate a mutant that matches the student's result. Never raises: a
    result the judge cannot handle fails."""
    try:
        return _judge(spec, case, seen, expected, before, diagnose, others)
    except Exception as err:  # a value no exercise expects (a forged result, a strange object)
        return Verdict(
            (FAILED, f"the grader could not judge this result: {type(err).__name__}: {err}", ()),
            unmodified=None,
            explainer="rules",
        )


def _judge(
    spec: Spec,
    case: Case,
    seen: Observation,
    expected: dict | None,
    before: tuple,
    diagnose: bool,
    others: Sequence[tuple[Case, Observation, dict | None]],
) -> Verdict:
    if seen.problem:
        return Verdict((FAILED, seen.problem, ()), None, None, explainer="rules")
    changed = _changed_argument(spec, before, seen.after)
    raised = seen.raised
    if raised is not None:
        if raised.is_a(NotImplementedError):
            failure = (NOT_IMPLEMENTED, "not implemented yet", ())
            return Verdict(failure, None, not changed, explainer="rules")
        if case.raises is not None and raised.is_a(case.raises):
            return Verdict(None, None, not changed, right=True)
        message = f"raised {raised.type}: {raised.message}"
        if case.raises is not None:
            message += f" (expected {case.raises.__name__} for this input)"
        failure = (FAILED, message, (raised.where,) if raised.where else ())
        return Verdict(failure, None, not changed, explainer="rules")
    if case.raises is not None:
        message = f"returned {seen.value!r} instead of raising {case.raises.__name__}"
        return Verdict((FAILED, message, ()), None, not changed, explainer="rules")
    try:
        got = output_dict(spec, seen.value)
    except TypeError as err:
        got, kind_error = None, str(err)
    # Each group reads one property: the values are judged whatever else is wrong.
    if spec.watch and got is not None:
        got = {**got, CALLS: seen.calls}
    judged = spec.judge(case, got, expected) if spec.judge and got is not None else None
    right = got is not None and (judged is None if spec.judge else _matches(got, expected, case))
    # Right to float32's precision only, on a float64 case, and every number a float32: it was
    # computed in float32. A fault of the result's precision, which the dtype group scores, not
    # of its values.
    single = (
        not right
        and got is not None
        and spec.judge is None
        and case.dtype == np.float64
        and _matches(got, expected, case, np.dtype(np.float32))
        and _all_float32(got)
    )
    verdict = functools.partial(
        Verdict,
        well_formed=got is not None
        and not single
        and (spec.judge is not None or _form_failure(spec, got, expected, case) is None),
        unmodified=not changed,
        right=right or single,
    )
    if changed:
        i = spec.params.index(changed)
        how = _how_changed(before[i], seen.after[i])
        message = f"left its argument {changed} changed{how}: {spec.mutation_hint}"
        if right or single or got is None or spec.judge is not None or not diagnose:
            return verdict((FAILED, message, ()), explainer="rules")
        # Two faults, each scored by its own group: both are named, the input's first.
        from npsae.exercises.explainers import Candidate  # late, as in _explain_values

        ranked = _explain_values(spec, got, expected, case, others)
        rules = Candidate("rules", message, (), EXPLAINERS["rules"], 1.0)
        failure = (FAILED, f"{message}; and its values are wrong: {ranked[0].message}", ())
        return verdict(failure, explainer="rules", explanations=(rules, *ranked))
    if got is None:
        return verdict((FAILED, kind_error, ()), explainer="rules")
    if spec.judge is not None:
        return verdict(judged and (FAILED, judged, ()), explainer="judge" if judged else "")
    if single:
        message = (
            "right to float32's precision only, for float64 input: it computes in float32 (a "
            "dtype=np.float32, or a float32 array or constant?); keep the input's precision"
        )
        return verdict((FAILED, message, ()), explainer="rules")
    if verdict.keywords["right"]:
        failure = _form_failure(spec, got, expected, case)
        return verdict(failure, explainer="rules" if failure else "")
    if not diagnose:
        return verdict((FAILED, "wrong values", ()))
    ranked = _explain_values(spec, got, expected, case, others)
    best = ranked[0]
    failure = (FAILED, best.message, best.details)
    # A wrong dtype too: a second fault, the shapes group's, named after the values' one.
    dtype = _dtype_failure(spec, got, case)
    if dtype is not None:
        failure = (FAILED, f"{best.message}; and {dtype[1]}", best.details)
    return verdict(failure, vague=best.vague, explainer=best.explainer, explanations=ranked)


def _explain_values(
    spec: Spec,
    got: dict,
    expected: dict,
    case: Case,
    others: Sequence[tuple[Case, Observation, dict | None]],
) -> tuple:
    """Every explainer's candidates for wrong values on ``case``, ranked (``explainers``)."""
    # The explainers compare with grading's own measures, so they are imported here, late.
    from npsae.exercises.explainers import explain_values

    values = [(c, g, e) for c, o, e in others if (g := _values(spec, c, o, e)) is not None]
    with np.errstate(all="ignore"):  # a student's NaN or inf is evidence, not a warning
        return explain_values(spec, got, expected, case, values)


def _values(spec: Spec, case: Case, seen: Observation, expected: dict | None) -> dict | None:
    """The outputs of a call that returned well-formed values, else None."""
    if seen.problem or seen.raised is not None or expected is None or case.raises is not None:
        return None
    try:
        got = output_dict(spec, seen.value)
    except TypeError:
        return None
    return got if _form_failure(spec, got, expected, case) is None else None


def _form_failure(spec: Spec, got: dict, expected: dict, case: Case) -> tuple | None:
    """The failure of a result whose values may be right but whose form is not: an output of
    another shape (one number in an array where a number is asked), or not in the input's
    dtype."""
    for key, want in expected.items():
        if _is_numeric(want):
            g = _as_array(got[key])
            label = "" if len(got) == 1 else f"{key}: "
            if g is None:
                kind = type(got[key]).__name__
                return (FAILED, f"{label}a {kind} where numbers are expected", ())
            if g.shape != np.shape(want) and np.shape(want) == () and g.size == 1:
                message = f"the right number, in an array of shape {g.shape}: return the number"
                return (FAILED, f"{label}{message} itself (float(...))", ())
            if g.shape != np.shape(want):
                message = _shape_message(g.shape, np.shape(want), case, spec.transpose_hint)
                return (FAILED, label + message, ())
    return _dtype_failure(spec, got, case)


def output_dict(spec: Spec, out: Any) -> dict:
    """The student's return value as a dict name -> value; TypeError says what is wrong."""
    if out is None:
        raise TypeError("returned None: did you forget the return statement?")
    if isinstance(out, Mapping) != spec.returns_dict:
        keys = ", ".join(map(repr, spec.returns))
        expected = f"a dict with keys {keys}" if spec.returns_dict else "no dict"
        raise TypeError(f"returned a value of type {type(out).__name__}; expected {expected}")
    got = as_outputs(out, spec.returns)
    missing = [k for k in spec.returns if k not in got]
    if missing:
        raise TypeError(f"the returned dict lacks the key(s) {', '.join(map(repr, missing))}")
    return {k: got[k] for k in spec.returns}


def _all_float32(got: dict) -> bool:
    """Whether every number of the numeric outputs is a float32 (rounding to float32 keeps it)."""
    for value in got.values():
        g = _as_array(value)
        if g is not None and g.dtype.kind == "f":
            g = g.astype(np.float64)
            if not np.array_equal(g.astype(np.float32).astype(np.float64), g, equal_nan=True):
                return False
    return True


def _matches(got: dict, want: dict, case: Case, dtype: np.dtype | None = None) -> bool:
    """Whether every output is within the tolerance of ``dtype`` (default the case's)."""
    return all(_close(got[k], want[k], dtype or case.dtype) for k in want)


def _close(got: Any, want: Any, dtype: np.dtype) -> bool:
    if not _is_numeric(want):
        return _same(got, want)
    g, w = _as_array(got), np.asarray(want, dtype=np.float64)
    if g is not None and g.shape != w.shape and g.size == w.size:
        # The right count of numbers in another shape (one number in an array, a flattened
        # gradient): their values are judged here, in the expected order, and the shape apart.
        g = g.reshape(w.shape)
    if g is None or g.shape != w.shape:
        return False
    finite = np.isfinite(w)
    if not np.array_equal(np.isfinite(g), finite) or not np.array_equal(
        g[~finite], w[~finite], equal_nan=True
    ):
        return False
    scale = np.max(np.abs(w[finite]), initial=0.0)
    with np.errstate(invalid="ignore"):
        return bool(np.all(np.abs(g - w)[finite] <= RTOL[dtype] * (np.abs(w[finite]) + scale)))


def _same(got: Any, want: Any) -> bool:
    """Exact equality of non-numeric outputs, after converting ``got`` to the type of ``want``
    (so a list may stand for a tuple, a type code for a dtype)."""
    try:
        if isinstance(want, np.dtype):
            return np.dtype(got) == want
        if isinstance(want, tuple):
            return tuple(int(x) for x in got) == want
        return type(want)(got) == want
    except (TypeError, ValueError):
        return False


def _is_numeric(value: Any) -> bool:
    if isinstance(value, (bool, np.bool_)):
        return False
    if isinstance(value, (int, float, np.number)):
        return True
    return isinstance(value, np.ndarray) and np.issubdtype(value.dtype, np.number)


def _as_array(value: Any) -> np.ndarray | None:
    """``value`` as a float64 array, or None if it holds no numbers."""
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError):
        return None
    if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        return None
    return arr.astype(np.float64)


def _hidden_note(spec: Spec, got: dict, expected: dict, case: Case) -> Hidden | None:
    """For a backward pass with a wrong dW1: what is wrong with the dZ1 it was computed from
    (``chain``), if that can be told from finite gradients of the right shapes."""
    if tuple(expected) != GRADIENTS or not {"X", "W1", "b1"} <= set(spec.params):
        return None
    args = dict(zip(spec.params, case.args, strict=False))
    hidden = args.get("hidden", "sigmoid")
    g = {k: _as_array(got[k]) for k in GRADIENTS}
    if any(
        a is None or a.shape != np.shape(expected[k]) or not np.isfinite(a).all()
        for k, a in g.items()
    ):
        return None
    w = {k: np.asarray(v, np.float64) for k, v in expected.items()}
    return hidden_error(_inputs(spec, case), hidden, g, w, RTOL[case.dtype])


def _where_not_finite(bad: np.ndarray, inputs: dict[str, np.ndarray]) -> str:
    """Where the NaN or infinite entries lie, when that is exactly where an input is 0 (a
    division by 0, a log of 0)."""
    if bad.all():
        return ""
    for name, a in inputs.items():
        if a.shape == bad.shape and np.array_equal(bad, a == 0):
            return f" (exactly where {name} == 0: a division by 0, or a log of 0, there?)"
    return ""


def _output_note(
    spec: Spec, key: str, got: dict, expected: dict, case: Case, others: Sequence[tuple] = ()
) -> Explanation:
    """What is wrong with the output ``key``; ``others``, (case, the student's outputs, the
    expected ones) of other cases, where a factor named after the inputs must hold too."""
    want = expected[key]
    if not _is_numeric(want):
        return Explanation(f"got {got[key]!r}, expected {want!r}")
    g = _as_array(got[key])
    if g is None:
        return Explanation(f"returned a {type(got[key]).__name__} where numbers were expected")
    for other, value in expected.items():
        if other != key and _close(got[key], value, case.dtype):
            return Explanation(
                f"holds what {other} should be: outputs swapped or in the wrong order?"
            )
    w = np.asarray(want, dtype=np.float64)
    if g.shape != w.shape:
        message = _shape_message(g.shape, w.shape, case, spec.transpose_hint)
        return Explanation(message + _sizes(g.shape, w.shape, spec, case))
    if not np.isfinite(g).all() and np.isfinite(w).all():
        hint = f": {spec.nan_hint}" if spec.nan_hint else ""
        where = _where_not_finite(~np.isfinite(g), _inputs(spec, case))
        return Explanation(f"NaN or infinite values where all should be finite{where}{hint}")
    value = got[key]
    if isinstance(value, np.ndarray) and value.dtype.kind == "f" and value.dtype < case.dtype:
        return Explanation(
            f"{value.dtype} result for {case.dtype} input: precision was lost; compute in the "
            "input's dtype"
        )
    elsewhere = [
        Elsewhere(_as_array(g_o[key]), np.asarray(e_o[key], np.float64), _inputs(spec, c), c.m)
        for c, g_o, e_o in others
        if _is_numeric(e_o[key]) and _as_array(g_o[key]) is not None
    ]
    return explain(g, w, RTOL[case.dtype], _inputs(spec, case), case.m, elsewhere)


def _inputs(spec: Spec, case: Case) -> dict[str, np.ndarray]:
    """The case's float arguments: arrays, and scalars (beta, lr...) as 0-d arrays, to name a
    factor by."""
    return {
        name: np.asarray(a, np.float64)
        for name, a in zip(spec.params, case.args, strict=False)
        if (isinstance(a, np.ndarray) and np.issubdtype(a.dtype, np.floating))
        or isinstance(a, (float, np.floating))
    }


def _shape_message(got: tuple, want: tuple, case: Case, transpose_hint: str) -> str:
    """Name the likely cause of a result of shape ``got`` where ``want`` was expected."""
    message = f"shape {got} where {want} was expected"
    if want == () and got != ():
        return f"returned an array of shape {got} where a single number was expected: sum it all?"
    if len(want) == 2 and got == want[::-1]:
        return f"{message}: transposed?" + (f" {transpose_hint}" if transpose_hint else "")
    if case.m is not None and got == (case.m, *want):
        return f"{message}: not summed over the batch (the m samples, axis 0)?"
    if case.m is not None and len(want) >= 1 and want[0] == case.m and got == want[1:]:
        return f"{message}: one row per sample is needed; broadcast over the batch?"
    return message


def _sizes(got: tuple, want: tuple, spec: Spec, case: Case) -> str:
    """A wrong 2-d shape's sizes named after the inputs' (X.shape[0] x W1.shape[1]), so that
    the student can tell which of their arrays has it (an intermediate returned, say)."""
    if len(got) != 2 or len(want) != 2 or got in (want, want[::-1]):
        return ""
    axes: dict[int, str] = {}
    for name, a in zip(spec.params, case.args, strict=False):
        if isinstance(a, np.ndarray):
            for axis, size in enumerate(a.shape):
                axes.setdefault(size, f"{name}.shape[{axis}]")
    if not all(size in axes for size in got):
        return ""
    return f" (yours is {axes[got[0]]} x {axes[got[1]]}: which of your arrays has that shape?)"


def _dtype_failure(spec: Spec, got: dict, case: Case) -> tuple | None:
    if not spec.keep_dtype:
        return None
    for key, value in got.items():
        if isinstance(value, np.ndarray) and value.ndim and value.dtype != case.dtype:
            label = "" if len(got) == 1 else f"{key}: "
            return (
                FAILED,
                (
                    f"{label}{value.dtype} result for {case.dtype} input: keep the input's dtype "
                    "(an array made without dtype=, e.g. np.zeros(shape), is float64, and so is "
                    "a NumPy float64 scalar such as np.float64(2) or np.power(0.9, t): either "
                    "turns float32 arrays into float64)"
                ),
                (),
            )
    return None


def _changed_argument(spec: Spec, originals: tuple, passed: tuple) -> str | None:
    for name, before, after in zip(spec.params, originals, passed, strict=True):
        if isinstance(before, np.ndarray) and not np.array_equal(before, after, equal_nan=True):
            return name
    return None


def _how_changed(before: np.ndarray, after: Any) -> str:
    """How an argument was changed, when that tells the cause: by rounding only (restored by
    arithmetic, x + eps - eps, not by writing the saved value back), or in a few entries."""
    if not (
        isinstance(after, np.ndarray)
        and after.shape == before.shape
        and np.issubdtype(before.dtype, np.floating)
        and np.issubdtype(after.dtype, np.floating)
        and np.isfinite(before).all()
        and np.isfinite(after).all()
    ):
        return ""
    with np.errstate(all="ignore"):
        ulps = np.abs(after.astype(np.float64) - before) / np.spacing(np.abs(before))
    n = float(np.max(ulps))
    if n <= _ROUNDING_ULPS:
        return (
            f" by rounding only (by at most {n:.0f} unit{'s' if n > 1 else ''} in the last "
            "place): arithmetic such as x + eps - eps does not give back the exact value; save "
            "the entry and write the saved value back"
        )
    changed = int(np.sum(after != before))
    return f" ({changed} of {before.size} entries)" if changed < before.size else ""


def _float64(args: tuple) -> tuple:
    # Float64 arrays are passed as they are (not copied): a function may read its array
    # argument through a closure, as a numerical gradient's f does.
    return tuple(
        a.astype(np.float64) if isinstance(a, np.ndarray) and a.dtype == np.float32 else a
        for a in args
    )
