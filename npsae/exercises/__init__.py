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
``write_solutions(DIR)`` writes the instructor's solutions, plain NumPy files. An exercise is
known by its name: its file is ``NAME.py`` (a handed-out ``exNN_NAME.py`` is still found).

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

An instructor's own exercises join the course from a folder of theirs: every function here
takes ``extra_exercises=DIR`` (the CLI: ``--extra-exercises DIR``; default
``$NPSAE_EXERCISES``), see ``catalogue`` and docs/adding-an-exercise.md.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path

from npsae._fileio import write_file
from npsae.exercises.catalogue import EXERCISES, Course, ExerciseFolderError, course, get
from npsae.exercises.classroom import Submission, grade_submission, resolve_seed, student_files
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
    "Course",
    "Exercise",
    "ExerciseFolderError",
    "Result",
    "Submission",
    "check",
    "check_dir",
    "course",
    "get",
    "grade_submission",
    "list_exercises",
    "reference_source",
    "solution_source",
    "start",
    "stub_source",
    "write_solutions",
]


def list_exercises(extra_exercises: str | os.PathLike | None = None) -> list[Exercise]:
    """Every exercise, in course order (``.name``, ``.summary``, ``.filename``); the number
    shown for one is ``course().number(name)``. ``extra_exercises`` is a folder of an
    instructor's own exercises (default ``$NPSAE_EXERCISES``)."""
    return list(course(extra_exercises).exercises.values())


def check(
    name: str,
    fn: Callable,
    seed: int | None = None,
    extra_exercises: str | os.PathLike | None = None,
) -> Result:
    """Grade ``fn`` as the solution of exercise ``name``, in this process.

    The public cases, then hidden cases drawn from ``seed`` (else ``$NPSAE_GRADING_SEED``,
    else a fresh seed). Returns a Result: ``.passed``, ``.status`` ("passed", "failed",
    "not implemented"), ``.message`` (the diagnosis, e.g. "sign flipped: ..."),
    ``.diagnostics`` (the failing case and details), ``.score`` of ``.max_score`` points and
    ``.groups``. The function runs here, in the caller's own process: no isolation and no
    sandbox can hold it, so whatever it does (read files, open connections) it may. Grade
    untrusted files with ``check_dir``.
    """
    exercise = get(name, extra_exercises)
    planned = plan(exercise, resolve_seed(seed))

    def probe(calls: list[tuple]) -> list:
        return [observe(fn, Case("probe", args), watch) for args in calls]

    watch = exercise.spec.watch
    observations = [observe(fn, p.case, watch) for p in planned]
    return assess(exercise, planned, observations, probe=probe)


def check_dir(
    directory: str | os.PathLike,
    names: Iterable[str] | None = None,
    *,
    seed: int | None = None,
    timeout: float = TIMEOUT,
    extra_exercises: str | os.PathLike | None = None,
    sandbox: str = SANDBOX,
) -> list[Result]:
    """Grade the student's files in ``directory``: every exercise, or those in ``names``.

    Each exercise's function is imported from its file (``NAME.py``, or a handed-out stub's
    ``exNN_NAME.py``) in a separate process (at most ``timeout`` seconds, without npsae); a
    missing file, one that fails to import, hangs or crashes gives that exercise the status
    "error" or "failed", without stopping the others. ``sandbox`` ("auto", "require", "off")
    confines each process as ``grade_submission`` says. ``grade_submission`` gives the same
    Results with the seed, the total and the sandbox reached.
    """
    submission = grade_submission(
        directory,
        names,
        seed=seed,
        timeout=timeout,
        extra_exercises=extra_exercises,
        sandbox=sandbox,
    )
    return list(submission.results)


def stub_source(name: str, extra_exercises: str | os.PathLike | None = None) -> str:
    """The source of exercise ``name``'s stub: signature, docstring (maths, shapes, hint) and
    a body raising NotImplementedError."""
    return course(extra_exercises).stub_source(name)


def reference_source(name: str, extra_exercises: str | os.PathLike | None = None) -> str:
    """A solution file for exercise ``name`` that hands over to npsae's own implementation: the
    instructor's answer key for ``check(name, fn)`` in a notebook. It cannot pass ``check_dir``,
    which grades files without npsae."""
    number = course(extra_exercises).number(name)
    return (
        f'"""Answer key for exercise {number}: npsae\'s own implementation."""\n\n'
        "from npsae.exercises import get\n\n"
        f"{name} = get({name!r}).spec.reference\n"
    )


def solution_source(name: str, extra_exercises: str | os.PathLike | None = None) -> str:
    """The instructor's solution file of exercise ``name``: plain NumPy, readable, never
    importing npsae; it may import the solutions of the exercises it builds on
    (``from NAME import NAME``)."""
    return course(extra_exercises).solution_source(name)


def start(
    directory: str | os.PathLike,
    names: Iterable[str] | None = None,
    force: bool = False,
    extra_exercises: str | os.PathLike | None = None,
) -> tuple[list[Path], list[Path]]:
    """Write the stub of every exercise (or of those in ``names``) into ``directory``, as
    ``NAME.py``.

    A file that already exists is the student's work: it is kept unless ``force``.
    Returns ``(written, kept)``, two lists of paths. A file that cannot be written raises
    ``npsae._fileio.WriteError`` (an OSError naming it); the files written before it stay.
    """
    chosen = course(extra_exercises)
    return _write(directory, chosen, names, chosen.stub_source, force)


def write_solutions(
    directory: str | os.PathLike,
    names: Iterable[str] | None = None,
    extra_exercises: str | os.PathLike | None = None,
) -> tuple[list[Path], list[Path]]:
    """Write the solution file of every exercise (or of those in ``names``) into ``directory``,
    under the names the stubs have, so that ``check_dir(directory)`` grades them.

    An existing file is never overwritten. Returns ``(written, kept)``, two lists of paths;
    raises ``WriteError`` as ``start`` does.
    """
    chosen = course(extra_exercises)
    return _write(directory, chosen, names, chosen.solution_source, force=False)


def _write(
    directory: str | os.PathLike,
    chosen: Course,
    names: Iterable[str] | None,
    source: Callable[[str], str],
    force: bool,
) -> tuple[list[Path], list[Path]]:
    written, kept = [], []
    for exercise in chosen.select(names):
        path = Path(directory) / exercise.filename
        # A handed-out stub's older name (exNN_NAME.py) holds the student's work too.
        mine = [path] if path.exists() else student_files(Path(directory), exercise.name)
        if mine and not force:
            kept += mine
            continue
        write_file(path, source(exercise.name))
        written.append(path)
    return written, kept
