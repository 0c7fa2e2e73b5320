"""Why wrong values are wrong: every explainer's candidates, ranked by one function.

When a case's values differ from the reference's, each explainer compares the student's
outputs with something of its own and returns candidate explanations (``Candidate``): the
message, the evidence it used, a confidence, and for a candidate that is a whole wrong
function, the outputs that function returns on the case (``predicts``).

    catalogue   the outputs of each catalogued mistake of the exercise (``Spec.mistakes``)
    mutant      the outputs of each one-change mutant of the solution (``mutants``), on the
                failing case and on up to 4 others
    pair        two of those at once: when no single one is the student's result, the error
                left after subtracting one candidate's is another's (two independent mistakes)
    chain       the dZ1 read back from a backward pass's dW1 with the expected dZ1 (``chain``)
    diagnosis   the shape of the difference (``diagnosis.explain``)
    probe       (``scoring``, after the points are settled) the function's response to
                designed variants of the case (``probes``)

``rank`` orders the candidates by confidence, and the first is the verdict's message; the
others stay in the result for a TA to read (``check --explain``).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from npsae.exercises.diagnosis import GRADIENTS, Explanation, locate
from npsae.exercises.grading import (
    COMMON_MISTAKES,
    RTOL,
    Case,
    Spec,
    _as_array,
    _close,
    _float64,
    _hidden_note,
    _is_numeric,
    _matches,
    _output_note,
    output_dict,
)
from npsae.exercises.mutants import BUDGET, evaluate, matching

# How far each kind of evidence goes. A function's outputs equal to the student's leave no
# doubt; on several cases (a mutant must match on others too) almost none; two functions'
# errors adding up to the student's exactly is rarer still by chance; a derivative read back
# through the chain rule names the mistake where it was made; a shape of the difference
# describes it; "wrong values" or an unnamed factor only says that it is there.
CONFIDENCE = {
    "catalogue": 1.0,
    "mutant": 0.9,
    "pair": 0.85,
    "chain": 0.8,
    "probe": 0.7,
    "diagnosis": 0.6,
    "vague": 0.1,
}
# In a backward pass the error flows from dZ2 to dZ1: the output nearest to it tells most.
_BACKWARDS = ("W2", "b2", "W1", "b1")
_KINDS = {"catalogue": "a catalogued mistake", "mutant": "a one-change mutant of the solution"}
# A mutant explains a wrong result when it is this much closer to it than the expected one.
_EXPLAINED = 0.05


@dataclasses.dataclass(frozen=True)
class Candidate:
    """One explanation of wrong values: by ``explainer`` (a key of ``grading.EXPLAINERS``),
    the ``message`` and ``details`` a student reads, the ``evidence`` it rests on, its
    ``confidence`` (``CONFIDENCE``), and the outputs a function making this mistake returns on
    the case (``predicts``; None for a description). ``vague`` names the output a description
    could only call wrong (probes may tell more)."""

    explainer: str
    message: str
    details: tuple[str, ...] = ()
    evidence: str = ""
    confidence: float = 0.0
    predicts: dict | None = dataclasses.field(default=None, compare=False, repr=False)
    vague: str = ""

    def as_dict(self) -> dict[str, Any]:
        """What a report shows of it."""
        return {
            "explainer": self.explainer,
            "message": self.message,
            "evidence": self.evidence,
            "confidence": self.confidence,
        }


def rank(candidates: Sequence[Candidate]) -> tuple[Candidate, ...]:
    """The candidates, most confident first; among equals, in the order given (the
    explainers' own order), without repeated messages."""
    seen: set[str] = set()
    unique = [c for c in candidates if not (c.message in seen or seen.add(c.message))]
    return tuple(sorted(unique, key=lambda c: -c.confidence))


def explain_values(
    spec: Spec, got: dict, expected: dict, case: Case, others: Sequence[tuple] = ()
) -> tuple[Candidate, ...]:
    """The ranked candidates for the student's outputs ``got`` on ``case``, which differ from
    ``expected``. ``others`` ((case, the student's outputs, the expected ones) of other cases)
    corroborate a mutant, a pair and a factor named after the inputs. A catalogued mistake
    that matches is named at once; when another case's error is more than it, what is left
    there is searched for a second mistake. The search for two mistakes on this case runs
    only when no single mutant is the student's function."""
    found = catalogue(spec, got, expected, case)
    if found:
        return rank([*_with_second(spec, found[0], others), *found])
    bad = [k for k, want in expected.items() if not _close(got[k], want, case.dtype)]
    label = _label(expected, bad)
    described = describe(spec, got, expected, case, bad, label, others)
    changes = _mutations(spec, got, expected, case, others)
    if changes:
        also = tuple(f"the same result also comes from: {c}" for c in changes[1:2])
        note = described.message.removeprefix(label)
        evidence = f"your outputs equal the mutant's on this case and on {len(others)} others"
        message = f"{label}your result equals, exactly on this case, {changes[0]}"
        details = (*also, note, *described.details)
        found.append(Candidate("mutant", message, details, evidence, CONFIDENCE["mutant"]))
    else:
        found += pairs(spec, got, expected, case, others, label, described)
    return rank([*found, described])


def _with_second(spec: Spec, first: Candidate, others: Sequence[tuple]) -> list[Candidate]:
    """The catalogued mistake ``first`` and a second one, when on some other case the
    student's error is not ``first``'s but ``first``'s plus another catalogued mistake's or
    mutant's: two mistakes, each showing where it can."""
    for other in others:
        errors = _Errors(spec, *other)
        left = errors.rest(first.message)
        if left is None or np.max(np.abs(left)) <= 1:
            continue  # the first mistake is the whole error here too, or cannot be measured
        for name in errors.equal_to(left, besides=first.message):
            message = f"two mistakes: {first.message}; and, seen on another case, {name}"
            evidence = (
                f"{first.evidence} on this case; on another case, your error minus that "
                f"mistake's equals the error of {_KINDS[errors.kinds[name]]}"
            )
            return [Candidate("pair", message, (), evidence, CONFIDENCE["catalogue"])]
    return []


def catalogue(spec: Spec, got: dict, expected: dict, case: Case) -> list[Candidate]:
    """The catalogued mistakes whose outputs on ``case`` are the student's."""
    found = []
    for mistake in spec.mistakes:
        with np.errstate(all="ignore"):
            wrong = mistake.output(case, expected)
        if (
            wrong is not None
            and not _matches(wrong, expected, case)
            and _matches(got, wrong, case)
            and _no_farther(got, wrong, expected, case)
        ):
            evidence = "your outputs equal this catalogued mistake's, within the tolerance"
            found.append(
                Candidate("catalogue", mistake.message, (), evidence, CONFIDENCE["catalogue"])
            )
    return found


def describe(
    spec: Spec,
    got: dict,
    expected: dict,
    case: Case,
    bad: list[str],
    label: str,
    others: Sequence[tuple] = (),
) -> Candidate:
    """What is wrong with the first output whose error has a recognisable shape, the first if
    none (after the list of wrong outputs when there are several): explainer "diagnosis", or
    "chain" when dW1's error is told from the dZ1 it came from."""
    notes = {key: _output_note(spec, key, got, expected, case, others) for key in bad}
    hidden = _hidden_note(spec, got, expected, case) if "W1" in bad else None
    chained = bool(hidden and (hidden.exact or not any(notes[k].specific for k in bad)))
    if chained:
        notes["W1"] = Explanation(hidden.message, notes["W1"].details)
    nearest = sorted(bad, key=_BACKWARDS.index) if tuple(expected) == GRADIENTS else bad
    key = next((k for k in nearest if notes[k].specific), nearest[0])
    note = f"{key}: {notes[key].message}" if len(expected) > 1 else notes[key].message
    explainer = "chain" if chained and key == "W1" else "diagnosis"
    specific = notes[key].specific
    evidence = (
        "the dZ1 read back from your dW1 against the expected dZ1"
        if explainer == "chain"
        else f"the difference between your {key} and the expected one"
    )
    return Candidate(
        explainer,
        f"{label}{note}",
        notes[key].details,
        evidence,
        CONFIDENCE[explainer if specific else "vague"],
        vague="" if specific else key,
    )


def pairs(
    spec: Spec,
    got: dict,
    expected: dict,
    case: Case,
    others: Sequence[tuple],
    label: str,
    described: Candidate,
) -> list[Candidate]:
    """Two mistakes at once: a catalogued mistake or mutant whose error, added to another's,
    is the student's error, on ``case`` and on each of ``others``. The one that removes more
    of the error comes first; what is left after subtracting it is the second."""
    errors = _Errors(spec, case, got, expected)
    elsewhere: list[_Errors] = []
    for first in sorted(errors.kinds, key=lambda name: np.max(np.abs(errors.rest(name)))):
        for second in errors.equal_to(errors.rest(first), besides=first):
            # The others' errors cost every mutant's evaluation there: only for a pair found.
            elsewhere = elsewhere or [_Errors(spec, *other) for other in others]
            if not all(e.adds_up(first, second) for e in elsewhere):
                continue
            message = (
                f"{label}two mistakes, whose errors add up to yours exactly on this case: "
                f"{first}; and {second}"
            )
            details = (described.message.removeprefix(label), *described.details)
            evidence = (
                f"your error minus that of {_KINDS[errors.kinds[first]]} equals that of "
                f"{_KINDS[errors.kinds[second]]}, on this case and on {len(others)} others"
            )
            return [Candidate("pair", message, details, evidence, CONFIDENCE["pair"])]
    return []


class _Errors:
    """On one case, the student's error and the error of each catalogued mistake and mutant
    that shows there (by what it is; ``kinds`` says which explainer's), as flat arrays in
    units of the grader's tolerance, so that an entry within +-1 is right. None of them when
    an output of the student's is not finite or not of the right shape: no error to split."""

    def __init__(self, spec: Spec, case: Case, got: dict, expected: dict) -> None:
        keys = [k for k, want in expected.items() if _is_numeric(want)]
        want = [np.ravel(np.asarray(expected[k], np.float64)) for k in keys]
        tolerance = [np.abs(w) + np.max(np.abs(w), initial=0.0) for w in want]
        scale = RTOL[case.dtype] * np.concatenate(tolerance or [[]]) + 1e-300

        def error(outputs: dict | None) -> np.ndarray | None:
            found = [_as_array(outputs.get(k)) for k in keys] if outputs else []
            if len(found) != len(keys) or any(
                a is None or a.shape != np.shape(expected[k])
                for a, k in zip(found, keys, strict=False)
            ):
                return None
            flat = np.concatenate([np.ravel(a) for a in found])
            return (flat - np.concatenate(want)) / scale if np.isfinite(flat).all() else None

        self.target = error(got) if keys else None  # nothing to split without numbers
        self.kinds: dict[str, str] = {}
        self.errors: dict[str, np.ndarray] = {}
        for name, kind, outputs in (
            _functions(spec, case, expected) if keys and self.target is not None else ()
        ):
            e = error(outputs)
            if e is not None and np.max(np.abs(e)) > 1 and name not in self.kinds:
                self.kinds[name], self.errors[name] = kind, e

    def rest(self, name: str) -> np.ndarray | None:
        """The student's error minus that of ``name`` (None: not measurable here)."""
        if self.target is None or name not in self.errors:
            return None
        return self.target - self.errors[name]

    def equal_to(self, left: np.ndarray, besides: str) -> list[str]:
        """The mistakes other than ``besides`` whose error is ``left``."""
        return [n for n, e in self.errors.items() if n != besides and np.max(np.abs(left - e)) <= 1]

    def adds_up(self, first: str, second: str) -> bool:
        """Whether the two mistakes' errors add up to the student's here."""
        rest = self.rest(first)
        return rest is not None and second in self.equal_to(rest, besides=first)


def _functions(spec: Spec, case: Case, expected: dict) -> list[tuple[str, str, dict | None]]:
    """(what, explainer, outputs on ``case``) of every catalogued mistake and mutant (the
    mutants within ``mutants.BUDGET`` seconds); outputs None where one cannot show or fails."""
    found = []
    # A factor on the whole result multiplies whatever else is wrong, so it never adds to
    # another mistake: a pair with one would split the error into the wrong two.
    for mistake in (m for m in spec.mistakes if m not in COMMON_MISTAKES):
        with np.errstate(all="ignore"):
            found.append((mistake.message, "catalogue", mistake.output(case, expected)))
    start = time.perf_counter()
    for mutant in spec.mutants() if spec.mutants else ():
        if time.perf_counter() - start > BUDGET:
            break
        try:
            out = _mutant_outputs(spec, evaluate(mutant, _float64(case.args)))
        except Exception:  # a mutant that fails on this case explains nothing there
            out = None
        found.append((mutant.description, "mutant", out))
    return found


def _label(expected: dict, bad: list[str]) -> str:
    """For several outputs: which are wrong, which right, and where that puts the error."""
    if len(expected) == 1:
        return ""
    right = [k for k in expected if k not in bad]
    label = f"wrong: {', '.join(bad)}" + (f" (right: {', '.join(right)})" if right else "")
    where = locate(tuple(expected), bad)
    return label + (f": {where}; " if where else "; ")


def _mutant_outputs(spec: Spec, out: Any) -> dict:
    # A mutant may compute a mask where numbers belong (a > 0 for a derivative).
    return {
        k: v.astype(np.float64) if isinstance(v, np.ndarray) and v.dtype == bool else v
        for k, v in output_dict(spec, out).items()
    }


def _mutations(
    spec: Spec, got: dict, expected: dict, case: Case, others: Sequence[tuple] = ()
) -> list[str]:
    """The descriptions of the solution's mutants whose output is the student's on ``case``,
    and on each of ``others`` ((case, the student's outputs, the expected ones)): a mutant that
    agrees with the student on one float32 case only may be a coincidence."""
    if spec.mutants is None:
        return []

    def explains(got: dict, expected: dict, case: Case) -> Callable[[Any], bool]:
        def same(out: Any) -> bool:
            # Within the tolerance of the student's result, and far closer to it than the
            # expected result is: a step of Adam may differ by less than p's tolerance.
            mutant = _mutant_outputs(spec, out)
            if not _matches(got, mutant, case) or not _no_farther(got, mutant, expected, case):
                return False
            for k, want in expected.items():
                if _is_numeric(want) and not _close(got[k], want, case.dtype):
                    g = _as_array(got[k])
                    error = np.max(np.abs(g - np.asarray(want, np.float64)), initial=0.0)
                    if np.max(np.abs(g - _as_array(mutant[k])), initial=0.0) > _EXPLAINED * error:
                        return False
            return True

        return same

    trials = [
        (
            _float64(case.args),
            explains(got, expected, case),
            lambda out: not _matches(_mutant_outputs(spec, out), expected, case),
        ),
        *((_float64(c.args), explains(g, e, c), None) for c, g, e in others),
    ]
    return matching(spec.mutants(), trials)


def _no_farther(got: dict, candidate: dict, expected: dict, case: Case) -> bool:
    """Whether ``candidate`` (a mistake's or a mutant's outputs) is, on every output, at least
    as close to the student's as the expected result is, up to rounding. Within the tolerance,
    a mistake may match an output the student has right (an AdamW step off by lr wd p, 1e-4 of
    p): then the student's result is not that mistake's."""
    for k, want in expected.items():
        g, c = _as_array(got[k]), _as_array(candidate[k])
        w = np.asarray(want, np.float64) if _is_numeric(want) else None
        if w is None or g is None or c is None or not (g.shape == c.shape == w.shape):
            continue
        if not (np.isfinite(g).all() and np.isfinite(c).all() and np.isfinite(w).all()):
            continue
        rounding = 8 * np.finfo(case.dtype).eps * (np.max(np.abs(w), initial=0.0) + 1e-300)
        if np.max(np.abs(g - c), initial=0.0) > np.max(np.abs(g - w), initial=0.0) + rounding:
            return False
    return True
