"""Grade a student's folder of exercise files, or a class's folder of student folders.

Every exercise runs in a process of its own (``isolation``) and is judged here; whatever one
file does (hang, crash, exit, print, fail to import), the others are graded and the Submission
is complete. The reference outputs of every case are computed before any student code runs.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from npsae.exercises.answers import read_answers
from npsae.exercises.catalogue import Course, course
from npsae.exercises.exercise import Exercise
from npsae.exercises.grading import Observation, Result
from npsae.exercises.isolation import MEMORY, TIMEOUT, run_child
from npsae.exercises.loader import older_files
from npsae.exercises.protection import SANDBOX, Protection, protection
from npsae.exercises.scoring import assess, error_result, fresh_seed, plan

#: Student processes run at once: two keeps a 2-core laptop responsive and halves the time.
JOBS = 2
#: The environment variable holding the grading seed when none is given.
SEED_VARIABLE = "NPSAE_GRADING_SEED"


@dataclasses.dataclass(frozen=True)
class Submission:
    """The grading of one folder: a Result per exercise, the seed of the hidden cases, the
    wall-clock seconds it took, the ``course`` it was graded in (its exercises' numbers), the
    ``files`` graded (exercise name -> file name, for those found) and the ``sandbox`` the
    student's files ran in."""

    folder: Path
    results: tuple[Result, ...]
    seed: int
    seconds: float
    course: Course = dataclasses.field(default_factory=course)
    files: dict[str, str] = dataclasses.field(default_factory=dict)
    sandbox: Protection | None = None

    @property
    def score(self) -> float:
        return round(sum(r.score for r in self.results), 6)

    @property
    def max_score(self) -> float:
        return float(sum(r.max_score for r in self.results))

    @property
    def passed(self) -> bool:
        """Every exercise graded passed (written questions are graded by hand, apart)."""
        return all(r.passed for r in self.results)


def resolve_seed(seed: int | None) -> int:
    """``seed``, else ``$NPSAE_GRADING_SEED``, else a fresh random seed; ValueError for one
    that is not a non-negative integer."""
    if seed is None:
        value = os.environ.get(SEED_VARIABLE, "").strip()
        if not value:
            return fresh_seed()
        try:
            seed = int(value)
        except ValueError:
            raise ValueError(f"${SEED_VARIABLE} must be an integer, not {value!r}") from None
    if int(seed) < 0:
        raise ValueError(f"the grading seed must be 0 or more, not {seed}")
    return int(seed)


def student_files(folder: Path, name: str) -> list[Path]:
    """The student's file of exercise ``name`` in ``folder``: ``[NAME.py]``, else those under
    a handed-out stub's older name, ``exNN_NAME.py`` (``loader.older_files``); [] for none."""
    path = folder / f"{name}.py"
    return [path] if path.is_file() else older_files(folder, name)


def submission_folder(folder: Path, chosen: Course) -> Path:
    """``folder``, or its only sub-folder when the exercise files are there (a student who
    uploaded a folder rather than its files)."""
    if not folder.is_dir() or any(student_files(folder, n) for n in chosen.exercises):
        return folder
    inner = student_folders(folder)
    if len(inner) == 1 and any(student_files(inner[0], n) for n in chosen.exercises):
        return inner[0]
    return folder


def grade_submission(
    directory: str | os.PathLike,
    names: Iterable[str] | None = None,
    *,
    seed: int | None = None,
    timeout: float = TIMEOUT,
    memory: int = MEMORY,
    jobs: int = JOBS,
    extra_exercises: str | os.PathLike | None = None,
    sandbox: str = SANDBOX,
) -> Submission:
    """Grade the exercise files in ``directory`` (every exercise, or those in ``names``), each
    in its own process limited to ``timeout`` seconds and ``memory`` bytes, ``jobs`` at once,
    sandboxed as ``sandbox`` ("auto", "require", "off": see ``protection``) says.
    SandboxUnavailable (a ValueError) for "require" where the kernel cannot, before any grading.

    ``seed`` draws the hidden cases (else ``$NPSAE_GRADING_SEED``, else a fresh seed, kept in
    the Submission). An exercise's file is ``NAME.py`` or ``exNN_NAME.py`` (``student_file``);
    ``extra_exercises`` adds an instructor's exercises (``catalogue.course``). A missing folder
    or file, a file that does not import, a function that hangs or kills its process: each is
    that exercise's verdict, with 0 points.
    """
    chosen = course(extra_exercises)
    exercises = chosen.select(names)
    seed = resolve_seed(seed)
    confined = protection(sandbox)
    start = time.perf_counter()
    folder = submission_folder(Path(directory), chosen)
    files: dict[str, Path] = {}
    missing: dict[str, str] = {}
    for e in exercises:
        found = student_files(folder, e.name)
        if len(found) == 1:
            files[e.name] = found[0]
        elif found:
            names = ", ".join(p.name for p in found)
            missing[e.name] = f"{len(found)} files for {e.name}: {names}; keep one, {e.filename}"
        else:
            missing[e.name] = f"{e.filename} not found in {folder}"
    # Every reference output first: nothing a student's file does can reach them.
    plans = {e.name: plan(e, seed) for e in exercises if e.name in files}

    def grade_one(exercise: Exercise) -> Result:
        path = files.get(exercise.name, folder / exercise.filename)
        # Someone else's file: neither its code nor its written answers are this student's.
        linked_out = confined.landlock_abi and _links_out(path, folder)
        source = os.devnull if linked_out else path
        answers = read_answers(source, exercise.questions) if exercise.questions else ()
        if linked_out:
            return error_result(
                exercise,
                f"{path.name} is a link to a file outside {folder.name}/: the sandbox "
                "lets a student's file read only its own folder",
                answers=answers,
            )
        if not folder.is_dir():
            return error_result(
                exercise, f"{folder} is not a folder: nothing to grade", answers=answers
            )
        if exercise.name in missing:
            return error_result(exercise, missing[exercise.name], answers=answers)
        planned = plans[exercise.name]
        watch = exercise.spec.watch
        cases = [p.case.args for p in planned]
        run = run_child(path, exercise.name, cases, timeout, memory, confined, watch)
        if run.load_error is not None:
            return error_result(exercise, run.load_error, run.output, answers)
        # The case that was running when the process stopped says how; those after it never ran.
        first = _first_missing(run.observations)
        observations = [
            seen
            if seen is not None
            else Observation(problem=run.stopped if i == first else f"not run: {run.stopped}")
            for i, seen in enumerate(run.observations)
        ]
        # Probes run in a process of their own, with the same limits (the time limit no longer
        # than three times what the cases took): whatever they do, the verdict is made already.
        probe_timeout = min(timeout, max(1.0, 3 * run.seconds))

        def probe(calls: list[tuple]) -> tuple:
            return run_child(
                path, exercise.name, calls, probe_timeout, memory, confined, watch
            ).observations

        return assess(exercise, planned, observations, run.output, answers, probe)

    with ThreadPoolExecutor(max(1, jobs)) as pool:
        results = tuple(pool.map(grade_one, exercises))
    graded = {n: p.name for n, p in files.items()}
    seconds = time.perf_counter() - start
    return Submission(folder, results, seed, seconds, chosen, graded, confined)


def _links_out(path: Path, folder: Path) -> bool:
    """Whether ``path`` is a link whose file lies outside ``folder``."""
    return path.is_symlink() and path.resolve().parent != folder.resolve()


def _first_missing(observations: tuple) -> int | None:
    return next((i for i, seen in enumerate(observations) if seen is None), None)


def student_folders(directory: str | os.PathLike) -> list[Path]:
    """The sub-folders of ``directory``, one per student (named by the student's id), sorted;
    hidden ones (``.git``, ``__MACOSX``) are not students."""
    return sorted(
        p for p in Path(directory).iterdir() if p.is_dir() and not p.name.startswith((".", "_"))
    )
