"""Points: an exercise's cases (public, hidden, edge), its test groups, and its Result.

An exercise is worth ``Exercise.points`` (set by its difficulty), split over five test groups
by the weights of ``GROUPS``. Each group scores one property of the cases, judged apart from
the others (``grading.Verdict``), so that its line in the breakdown is true of the code:

    shapes and dtypes        every case that returns: the right kind of result, shapes, dtype
                             (and precision: values right only to float32's on a float64
                             case, all of them float32s, fail here, not in the values)
    public values            the public value cases: the values are right (whatever their
                             dtype, and whatever the function did to its arguments)
    hidden values            the same on the hidden cases (drawn from the grading seed)
    edge cases               the edge cases: right values, or the exception asked for
    inputs left unmodified   every case that ended: no argument left changed

Value cases are ordinary inputs, each designed so that every catalogued mistake of the
exercise and every one-change mutant of its solution that is wrong on ordinary inputs fails
it (``tests/test_case_power.py``); degenerate inputs, where some mistakes cannot show (one
sample, all zeros, a single entry, one-byte elements), are edge cases.

A value group scores all its points when every one of its cases gives right values, else
none: a function wrong on ordinary inputs is wrong. The three other groups score their share
times the fraction of their cases passed (partial credit), and only once every public and
hidden case gives right values: a stub left as it is, zeros of the right shape, or a function
wrong on some ordinary inputs earns nothing for its form. So a function wrong on ordinary
inputs scores at most the one value group it passes, and one whose values are all right at
least the two value groups, 70 %.
A group without cases (an exercise with no edge cases, or no random cases to hide) is left out,
and the others share its weight: every exercise is always worth its full points.

The hidden cases are the random (non-edge) cases of ``spec.cases(rng)`` with ``rng`` drawn from
the grading seed and the exercise's name; one equal to a public case is dropped.
"""

from __future__ import annotations

import dataclasses
import secrets
import zlib
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from npsae.exercises import probes as probing
from npsae.exercises.exercise import Exercise
from npsae.exercises.explainers import CONFIDENCE, Candidate, rank
from npsae.exercises.grading import (
    CALLS,
    ERROR,
    EXPLAINERS,
    FAILED,
    NOT_IMPLEMENTED,
    PASSED,
    Answer,
    Case,
    GroupScore,
    Observation,
    Result,
    Spec,
    Verdict,
    expected_outputs,
    judge,
    output_dict,
    snapshot,
)

PUBLIC, HIDDEN, EDGE = "public", "hidden", "edge"
# The groups that score only once every public and hidden case gives right values.
GATED = ("shapes", EDGE, "unmodified")
# How many other cases a mutant matching the failing one must match too.
_CORROBORATING = 4


@dataclasses.dataclass(frozen=True)
class Group:
    key: str
    title: str
    weight: float
    hidden: bool = False


#: The test groups, in report order, with their share of an exercise's points.
GROUPS = (
    Group("shapes", "shapes and dtypes", 0.10),
    Group(PUBLIC, "public values", 0.35),
    Group(HIDDEN, "hidden values", 0.35, hidden=True),
    Group(EDGE, "edge cases", 0.10),
    Group("unmodified", "inputs left unmodified", 0.10),
)


def fresh_seed() -> int:
    """A new random grading seed (recorded in the results, to grade again the same way)."""
    return secrets.randbelow(2**31)


def hidden_rng(seed: int, name: str) -> np.random.Generator:
    """The generator of exercise ``name``'s hidden cases under grading seed ``seed``."""
    return np.random.default_rng([seed, zlib.crc32(name.encode())])


@dataclasses.dataclass(frozen=True)
class Planned:
    """A case to run: its kind (public, hidden, edge), its number among the cases shown with it,
    the reference's outputs and a snapshot of its arguments, both taken before any student code
    runs."""

    case: Case
    kind: str
    number: int
    of: int
    expected: dict | None
    before: tuple

    @property
    def heading(self) -> str:
        if self.kind == HIDDEN:
            # A hidden case is described, never shown: its inputs stay with the grader.
            return f"hidden case {self.number} of {self.of} ({self.case.label}): inputs not shown"
        return f"case {self.number} of {self.of}: {self.case.label}"


def plan(exercise: Exercise, seed: int) -> list[Planned]:
    """Every case of ``exercise`` to run: the public ones (edge cases among them), then the
    hidden ones drawn with ``seed``; reference outputs computed now, before any student code."""
    spec = exercise.spec
    public = spec.cases(np.random.default_rng(spec.seed))
    hidden = [
        c
        for c in spec.cases(hidden_rng(seed, exercise.name))
        if not c.edge and not any(_same_case(c, p) for p in public)
    ]
    # A drawn case the reference itself refuses (an exercise's generator gone out of range)
    # would be no test of the student: it is left out.
    hidden = [c for c in hidden if _reference_accepts(spec, c)]
    planned = []
    for cases, kind_of in (
        (public, lambda c: EDGE if c.edge else PUBLIC),
        (hidden, lambda c: HIDDEN),
    ):
        for number, case in enumerate(cases, 1):
            expected = expected_outputs(spec, case)
            planned.append(
                Planned(case, kind_of(case), number, len(cases), expected, snapshot(case))
            )
    return planned


def _reference_accepts(spec: Spec, case: Case) -> bool:
    try:
        expected_outputs(spec, case)
    except Exception:  # whatever the reference raises
        return False
    return True


def _same_case(a: Case, b: Case) -> bool:
    return a.label == b.label and len(a.args) == len(b.args) and all(map(_same, a.args, b.args))


def _same(x: Any, y: Any) -> bool:
    if isinstance(x, np.ndarray) or isinstance(y, np.ndarray):
        return isinstance(x, np.ndarray) and isinstance(y, np.ndarray) and np.array_equal(x, y)
    try:
        return bool(x == y)
    except ValueError:  # objects holding arrays
        return False


def assess(
    exercise: Exercise,
    planned: Sequence[Planned],
    observations: Sequence[Observation],
    output: str = "",
    answers: tuple[Answer, ...] = (),
    probe: Prober | None = None,
) -> Result:
    """The Result of ``exercise`` from one observation per planned case: the first failing
    case (public before hidden) gives the message, every case counts towards its groups.

    ``probe(list of argument tuples)``, when given, calls the student's function on each (as
    the cases were called) and returns an Observation per call, None for one that never
    ended: when a public case fails with a vague diagnosis, the probes of that case
    (``probes``) may then give a better message. The verdict and the points are settled
    before any probe runs."""
    spec = exercise.spec
    verdicts = [
        judge(spec, p.case, seen, p.expected, p.before, diagnose=False)
        for p, seen in zip(planned, observations, strict=True)
    ]
    disagree = _disagreements(spec, planned, observations, verdicts)
    for i, message in disagree.items():
        failure = (FAILED, message, ())
        verdicts[i] = dataclasses.replace(
            verdicts[i], failure=failure, right=False, explainer="judge"
        )
    groups = _group_scores(exercise.points, planned, verdicts)
    score = round(sum(g.score for g in groups), 6)
    common = {
        "score": score,
        "max_score": float(exercise.points),
        "groups": groups,
        "output": output,
        "answers": answers,
    }
    failing = next((i for i, v in enumerate(verdicts) if v.failure is not None), None)
    if failing is None:
        counts = f"{sum(p.kind != HIDDEN for p in planned)} public"
        n_hidden = sum(p.kind == HIDDEN for p in planned)
        message = (
            f"passed ({counts} and {n_hidden} hidden cases)"
            if n_hidden
            else f"passed ({counts} cases)"
        )
        explainer = "judge" if spec.judge else "reference"
        return Result(
            exercise.name,
            PASSED,
            message,
            explainer=explainer,
            compared=EXPLAINERS[explainer],
            **common,
        )
    p = planned[failing]
    # Named again with the diagnosis, which only the reported case needs.
    # A few other cases the student's function returned values on corroborate a mutant.
    others = [
        (q.case, seen, q.expected)
        for i, (q, seen) in enumerate(zip(planned, observations, strict=True))
        if i != failing and q.case.raises is None
    ][:_CORROBORATING]
    verdict = (
        verdicts[failing]
        if failing in disagree
        else judge(spec, p.case, observations[failing], p.expected, p.before, others=others)
    )
    status, message, details = verdict.failure
    explainer, ranked = verdict.explainer, verdict.explanations
    common.update(explainer=explainer, compared=f"{EXPLAINERS[explainer]} ({p.heading})")
    if status == NOT_IMPLEMENTED:
        return Result(exercise.name, status, message, **common)
    if p.kind == HIDDEN:
        details = ()
    elif verdict.vague and probe is not None:
        found = _probe(spec, p, observations[failing], verdict.vague, probe)
        if found and len(p.expected) == 1:
            # What the probes show leads; the description of the values stays below it.
            message, details = found[0], (*found[1:2], message, *details)
        elif found:  # several outputs: where the error lies stays first
            details = (*found[:2], *details)
        if found:
            evidence = "your function's outputs on variants of the case against the reference's"
            probed = Candidate("probe", message, details, evidence, CONFIDENCE["probe"])
            ranked = rank([probed, *ranked])
            common.update(explainer="probe", compared=f"{EXPLAINERS['probe']} ({p.heading})")
    # A verdict of the rules or the judge is the only candidate there is, and a certain one.
    ranked = ranked or (Candidate(explainer, message, details, EXPLAINERS[explainer], 1.0),)
    common.update(explanations=tuple(c.as_dict() for c in ranked))
    return Result(exercise.name, FAILED, message, (p.heading, *details), **common)


def _disagreements(
    spec: Spec,
    planned: Sequence[Planned],
    observations: Sequence[Observation],
    verdicts: Sequence[Verdict],
) -> dict[int, str]:
    """The messages of ``spec.agree`` on the cases judged right one by one, by case index."""
    if spec.agree is None:
        return {}
    gots = [
        {**output_dict(spec, seen.value), CALLS: seen.calls} if v.right else None
        for seen, v in zip(observations, verdicts, strict=True)
    ]
    try:
        messages = spec.agree([p.case for p in planned], gots)
    except Exception as err:  # a forged result cannot escape the check: it fails
        messages = [f"the grader could not compare your results across cases: {err}"] * len(gots)
    return {i: m for i, m in enumerate(messages) if m and gots[i] is not None}


#: Calls the student's function on argument tuples: an Observation per call, None if it
#: never ended.
Prober = Callable[[list[tuple]], Sequence[Observation | None]]


def _probe(spec: Spec, p: Planned, seen: Observation, key: str, probe: Prober) -> list[str]:
    """The findings of the probes of ``p``'s case; nothing if the student's code misbehaves."""
    probes = probing.plan(spec, p.case)
    if not probes:
        return []
    try:
        observations = list(probe([q.args for q in probes]))
        got = output_dict(spec, seen.value)
    except Exception:  # whatever the probes did, the verdict stands as it is
        return []
    return probing.findings(spec, p.case, key, got, p.expected, probes, observations)


def _group_scores(
    points: float, planned: Sequence[Planned], verdicts: Sequence[Verdict]
) -> tuple[GroupScore, ...]:
    tally: dict[str, list[int]] = {g.key: [0, 0] for g in GROUPS}

    def count(key: str, passed: bool | None) -> None:
        if passed is not None:
            tally[key][0] += bool(passed)
            tally[key][1] += 1

    for p, v in zip(planned, verdicts, strict=True):
        count(p.kind, v.right)
        count("shapes", v.well_formed)
        count("unmodified", v.unmodified)
    present = [g for g in GROUPS if tally[g.key][1]]
    total_weight = sum(g.weight for g in present)
    values_right = all(tally[k][0] == tally[k][1] for k in (PUBLIC, HIDDEN))
    scores = []
    for g in present:
        passed, total = tally[g.key]
        worth = points * g.weight / total_weight
        if g.key in GATED:
            fraction = passed / total if values_right else 0.0
            why = "no credit until every value case gives right values"
        else:
            fraction = float(passed == total)
            why = "no credit unless every case gives right values"
        note = why if passed and not fraction else ""
        scores.append(GroupScore(g.title, passed, total, worth * fraction, worth, g.hidden, note))
    return tuple(scores)


def error_result(
    exercise: Exercise, message: str, output: str = "", answers: tuple[Answer, ...] = ()
) -> Result:
    """The Result of an exercise that could not be graded at all (no file, no function...):
    every group scores 0."""
    return Result(
        exercise.name,
        ERROR,
        message,
        explainer="rules",
        compared="whether the file loads and defines the function",
        score=0.0,
        max_score=float(exercise.points),
        output=output,
        answers=answers,
    )
