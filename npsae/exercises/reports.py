"""A graded submission in the formats a course uses: text for the student's terminal, npsae's
own JSON, Gradescope's ``results.json``, and a gradebook row.

Gradescope's autograder format (https://gradescope-autograders.readthedocs.io/en/latest/specs/):
top-level ``score``, ``execution_time`` (seconds), ``output`` (shown to the student),
``visibility``, ``stdout_visibility``, ``extra_data`` and ``tests``, each test with ``name``,
``number``, ``score``, ``max_score``, ``status`` ("passed" / "failed"), ``output``, ``tags`` and
``visibility`` ("visible", "hidden", "after_due_date", "after_published"). Here a test is one test
group of one exercise; the hidden group is shown ``after_due_date``. A written question is a test
worth 0 automatic points, tagged "manual", that carries the student's answer for the instructor.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from npsae import __version__
from npsae.exercises.classroom import SEED_VARIABLE, Submission
from npsae.exercises.grading import FAILED, Result
from npsae.exercises.protection import Protection

#: The verdict column of the text report, by Result.status.
MARKS = {"passed": "PASS", "failed": "FAIL", "not implemented": "TODO", "error": "ERROR"}
#: Lines of a student's printed output shown in the text report (all of it is in the JSON).
OUTPUT_LINES = 8
# Candidate explanations shown under a verdict by `check --explain`: the verdict's, and the
# runners-up a TA may weigh against it.
EXPLANATIONS = 3


def points(x: float) -> str:
    """A score as people write it: 37.5, 4, 0.67."""
    return f"{x:.2f}".rstrip("0").rstrip(".")


def summary_lines(submission: Submission) -> list[str]:
    """The closing lines of every report: how many passed, the score, the seed, and what the
    sandbox did not protect, if anything."""
    results = submission.results
    lines = [
        f"{sum(r.passed for r in results)} of {len(results)} passed",
        f"score {points(submission.score)} / {points(submission.max_score)}",
        f"hidden cases drawn with seed {submission.seed} (grade again the same way with "
        f"--seed {submission.seed} or ${SEED_VARIABLE}={submission.seed})",
    ]
    questions = sum(len(r.answers) for r in results)
    if questions:
        answered = sum(bool(a.answer) for r in results for a in r.answers)
        lines.append(
            f"written questions: {answered} of {questions} answered, graded by your instructor "
            "(not in the score above)"
        )
    note = submission.sandbox.note() if submission.sandbox is not None else None
    return lines if note is None else [*lines, note]


def sandbox_json(submission: Submission) -> dict[str, Any] | None:
    """The sandbox the student's files ran in, as every structured result records it."""
    return None if submission.sandbox is None else submission.sandbox.as_dict()


def text(submission: Submission, explain: bool = False) -> str:
    """The report ``exercises check`` prints: a line per exercise, its diagnosis, the score;
    with ``explain``, under each verdict, the explainer that gave it and what it compared."""
    results = submission.results
    width = max((len(r.name) for r in results), default=0)
    pad = " " * (5 + 1 + width + 2)
    lines = []
    for r in results:
        score = f"{points(r.score)}/{points(r.max_score)}"
        lines.append(f"{MARKS[r.status]:<5} {r.name:<{width}}  {score:>9}  {r.message}")
        lines += [f"{pad}    {d}" for d in r.diagnostics]
        if r.status == FAILED and r.groups:
            lines.append(f"{pad}    " + ", ".join(map(str, r.groups)))
        if explain and r.explainer:
            lines.append(f"{pad}    verdict by {r.explainer}: compared {r.compared}")
            lines += [
                f"{pad}    {'evidence' if i == 0 else 'also considered'}: {c['explainer']} "
                f"(confidence {c['confidence']:.2f}): "
                + (c["evidence"] if i == 0 else c["message"])
                for i, c in enumerate(r.explanations[:EXPLANATIONS])
            ]
        if r.output:
            shown = r.output.splitlines()
            lines.append(f"{pad}    printed by your code:")
            lines += [f"{pad}    | {line}" for line in shown[:OUTPUT_LINES]]
            if len(shown) > OUTPUT_LINES:
                lines.append(f"{pad}    | ... ({len(shown) - OUTPUT_LINES} more lines)")
        for i, a in enumerate(r.answers, 1):
            state = f"answered ({len(a.answer)} characters)" if a.answer else "NOT ANSWERED"
            lines.append(f"{pad}    written question {i} (graded by your instructor): {state}")
    return "\n".join(lines + summary_lines(submission)) + "\n"


def as_json(submission: Submission) -> dict[str, Any]:
    """npsae's own structured result of a submission."""
    return {
        "npsae_version": __version__,
        "folder": str(submission.folder),
        "seed": submission.seed,
        "seconds": round(submission.seconds, 3),
        "score": submission.score,
        "max_score": submission.max_score,
        "passed": sum(r.passed for r in submission.results),
        "sandbox": sandbox_json(submission),
        "exercises": [_exercise_json(submission, r) for r in submission.results],
    }


def _exercise_json(submission: Submission, r: Result) -> dict[str, Any]:
    return {
        "number": submission.course.number(r.name),
        "name": r.name,
        "file": submission.files.get(r.name, submission.course.get(r.name).filename),
        "status": r.status,
        "message": r.message,
        "diagnostics": list(r.diagnostics),
        "explainer": {"name": r.explainer, "compared": r.compared},
        "explanations": list(r.explanations),
        "score": round(r.score, 6),
        "max_score": r.max_score,
        "groups": [
            {
                **dataclasses.asdict(g),
                "score": round(g.score, 6),
                "max_score": round(g.max_score, 6),
            }
            for g in r.groups
        ],
        "output": r.output,
        "written_questions": [
            {"question": a.question, "answer": a.answer, "graded": "manually"} for a in r.answers
        ],
    }


def gradescope(submission: Submission) -> dict[str, Any]:
    """Gradescope's ``results.json`` for a submission."""
    tests = []
    for r in submission.results:
        number = submission.course.number(r.name)
        head = f"{number:02d} {r.name}"
        verdict = "\n".join([f"{MARKS[r.status]}: {r.message}", *r.diagnostics])
        if r.output:
            verdict += f"\n\nPrinted by your code (first {len(r.output)} characters):\n{r.output}"
        if not r.groups:
            tests.append(_test(f"{head}", f"{number}.1", 0.0, r.max_score, verdict))
        for k, g in enumerate(r.groups, 1):
            detail = f"{g.passed} of {g.total} {'hidden ' if g.hidden else ''}cases passed"
            detail += f" ({g.note})" if g.note else ""
            tests.append(
                _test(
                    f"{head}: {g.name}",
                    f"{number}.{k}",
                    g.score,
                    g.max_score,
                    f"{detail}\n\n{verdict}" if k == 1 else detail,
                    "after_due_date" if g.hidden else "visible",
                )
            )
        for i, a in enumerate(r.answers, 1):
            test = _test(
                f"{head}: written question {i} (graded by your instructor)",
                f"{number}.q{i}",
                0.0,
                0.0,
                f"Question: {a.question}\n\nYour answer:\n{a.answer or '(not answered)'}",
            )
            del test["status"]
            tests.append({**test, "tags": ["manual"]})
    return {
        "score": submission.score,
        "execution_time": round(submission.seconds, 2),
        "output": "\n".join(summary_lines(submission)),
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": tests,
        "extra_data": {
            "seed": submission.seed,
            "npsae_version": __version__,
            "sandbox": sandbox_json(submission),
        },
    }


def _test(
    name: str, number: str, score: float, max_score: float, output: str, visibility: str = "visible"
) -> dict[str, Any]:
    return {
        "name": name,
        "number": number,
        "score": round(score, 4),
        "max_score": round(max_score, 4),
        "status": "passed" if score >= max_score else "failed",
        "output": output,
        "visibility": visibility,
    }


def gradebook_metadata(
    seed: int, names: list[str], timeout: float, sandbox: Protection
) -> dict[str, Any]:
    """How a gradebook was made, written beside it: npsae's version, the seed, the exercises,
    the time limit and the sandbox every student's files ran in."""
    return {
        "npsae_version": __version__,
        "seed": seed,
        "exercises": names,
        "timeout": timeout,
        "sandbox": sandbox.as_dict(),
    }


def gradebook_header(names: list[str]) -> list[str]:
    """The gradebook's columns: the student, each exercise's score, the total and its maximum."""
    return ["student", *names, "total", "max_score"]


def gradebook_row(student: str, submission: Submission) -> list[str]:
    """One student's row. A folder name a spreadsheet would run as a formula (=, +, -, @) is
    written with a leading apostrophe, which spreadsheets show as text."""
    return [
        f"'{student}" if student.startswith(("=", "+", "-", "@", "\t", "\r")) else student,
        *(points(r.score) for r in submission.results),
        points(submission.score),
        points(submission.max_score),
    ]
