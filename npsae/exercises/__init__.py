"""Classroom exercises with a built-in autograder.

The student writes the sparse autoencoder's pieces, one function per file, climbing from the
sigmoid to a trained model: the forward pass, the losses, the KL, L1 and TopK gradients (derived,
not copied: a stub states the problem, never the answer), finite differences and a gradient
check of their own, two backward passes, two buggy functions to debug, Adam, the IDX header and
a training loop. The grader compares each with the package's own implementation on random
inputs of several shapes, in float32 and float64, and on edge cases (or, for a gradient check
and a trained model, judges what it does). A failure names the likely mistake ("off by a factor
of m", "sign flipped", "transposed?"...), and a mistake nobody catalogued gets a description
of the difference ("your dW1 is 2x the expected value everywhere", "only row 3 is wrong").
``write_solutions(DIR)`` writes the instructor's solutions, plain NumPy files.

    from npsae import exercises
    exercises.start("my_exercises")              # one stub file per exercise
    results = exercises.check_dir("my_exercises")
    exercises.check("sigmoid", my_sigmoid)        # or grade a function directly

``check_dir`` (and ``grade_submission``, which also gives the score and the seed) runs every
exercise's file in a separate process with a time and a memory limit, without npsae, on public
cases and on hidden cases drawn from a grading seed, and gives points per test group; on
Linux each process is sandboxed by the kernel (``sandbox=``, see ``protection``). ``check``
grades a function in this process, where no sandbox can hold it: the path for notebooks and
tests, for a function you trust.

The same from the command line: ``python -m npsae exercises list | start DIR | check DIR``,
and for instructors ``solutions DIR``, ``grade SUBMISSIONS_DIR --csv FILE`` and
``autograder OUT_DIR``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from importlib import resources
from pathlib import Path

from npsae._fileio import write_file
from npsae.exercises.catalogue import EXERCISES, get
from npsae.exercises.classroom import Submission, grade_submission, resolve_seed, select
from npsae.exercises.exercise import Exercise
from npsae.exercises.grading import (
    ERROR,
    FAILED,
    NOT_IMPLEMENTED,
    PASSED,
    Case,
    Result,
    observe,
)
from npsae.exercises.isolation import TIMEOUT
from npsae.exercises.protection import SANDBOX
from npsae.exercises.scoring import assess, plan

__all__ = [
    "ERROR",
    "EXERCISES",
    "FAILED",
    "NOT_IMPLEMENTED",
    "PASSED",
    "Exercise",
    "Result",
    "Submission",
    "check",
    "check_dir",
    "get",
    "grade_submission",
    "list_exercises",
    "reference_source",
    "solution_source",
    "start",
    "stub_source",
    "write_solutions",
]


def list_exercises() -> list[Exercise]:
    """Every exercise, in course order (``.name``, ``.summary``, ``.filename``, ``.number``)."""
    return list(EXERCISES.values())


def check(name: str, fn: Callable, seed: int | None = None) -> Result:
    """Grade ``fn`` as the solution of exercise ``name``, in this process.

    The public cases, then hidden cases drawn from ``seed`` (else ``$NPSAE_GRADING_SEED``,
    else a fresh seed). Returns a Result: ``.passed``, ``.status`` ("passed", "failed",
    "not implemented"), ``.message`` (the diagnosis, e.g. "sign flipped: ..."),
    ``.diagnostics`` (the failing case and details), ``.score`` of ``.max_score`` points and
    ``.groups``. The function runs here, in the caller's own process: no isolation and no
    sandbox can hold it, so whatever it does (read files, open connections) it may. Grade
    untrusted files with ``check_dir``.
    """
    exercise = get(name)
    planned = plan(exercise, resolve_seed(seed))

    def probe(calls: list[tuple]) -> list:
        return [observe(fn, Case("probe", args)) for args in calls]

    return assess(exercise, planned, [observe(fn, p.case) for p in planned], probe=probe)


def check_dir(
    directory: str | os.PathLike,
    names: Iterable[str] | None = None,
    *,
    seed: int | None = None,
    timeout: float = TIMEOUT,
    sandbox: str = SANDBOX,
) -> list[Result]:
    """Grade the student's files in ``directory``: every exercise, or those in ``names``.

    Each exercise's function is imported from its file (``Exercise.filename``) in a separate
    process (at most ``timeout`` seconds, without npsae); a missing file, one that fails to
    import, hangs or crashes gives that exercise the status "error" or "failed", without
    stopping the others. ``sandbox`` ("auto", "require", "off") confines each process as
    ``grade_submission`` says. ``grade_submission`` gives the same Results with the seed, the
    total and the sandbox reached.
    """
    return list(
        grade_submission(directory, names, seed=seed, timeout=timeout, sandbox=sandbox).results
    )


def stub_source(name: str) -> str:
    """The source of exercise ``name``'s stub: signature, docstring (maths, shapes, hint) and
    a body raising NotImplementedError."""
    return get(name).stub(total=len(EXERCISES))


def reference_source(name: str) -> str:
    """A solution file for exercise ``name`` that hands over to npsae's own implementation: the
    instructor's answer key for ``check(name, fn)`` in a notebook. It cannot pass ``check_dir``,
    which grades files without npsae."""
    exercise = get(name)
    return (
        f'"""Answer key for exercise {exercise.number}: npsae\'s own implementation."""\n\n'
        "from npsae.exercises import get\n\n"
        f"{exercise.name} = get({exercise.name!r}).spec.reference\n"
    )


def solution_source(name: str) -> str:
    """The instructor's solution file of exercise ``name``: plain NumPy, readable, never
    importing npsae; it may import the solutions of the exercises it builds on."""
    exercise = get(name)
    return (resources.files(__package__) / "solutions" / exercise.filename).read_text("utf-8")


def start(
    directory: str | os.PathLike, names: Iterable[str] | None = None, force: bool = False
) -> tuple[list[Path], list[Path]]:
    """Write the stub of every exercise (or of those in ``names``) into ``directory``.

    A file that already exists is the student's work: it is kept unless ``force``.
    Returns ``(written, kept)``, two lists of paths. A file that cannot be written raises
    ``npsae._fileio.WriteError`` (an OSError naming it); the files written before it stay.
    """
    return _write(directory, names, stub_source, force)


def write_solutions(
    directory: str | os.PathLike, names: Iterable[str] | None = None
) -> tuple[list[Path], list[Path]]:
    """Write the solution file of every exercise (or of those in ``names``) into ``directory``,
    under the names the stubs have, so that ``check_dir(directory)`` grades them.

    An existing file is never overwritten. Returns ``(written, kept)``, two lists of paths;
    raises ``WriteError`` as ``start`` does.
    """
    return _write(directory, names, solution_source, force=False)


def _write(
    directory: str | os.PathLike,
    names: Iterable[str] | None,
    source: Callable[[str], str],
    force: bool,
) -> tuple[list[Path], list[Path]]:
    exercises = select(names)
    written, kept = [], []
    for exercise in exercises:
        path = Path(directory) / exercise.filename
        if path.exists() and not force:
            kept.append(path)
            continue
        write_file(path, source(exercise.name))
        written.append(path)
    return written, kept
