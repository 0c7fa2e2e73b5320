"""The registry of exercises: the course, in one ordered list, and an instructor's own exercises.

An exercise is known by its name everywhere: its stub and the student's file are ``NAME.py``,
its solution ``solutions/NAME.py``, and an exercise that reuses another's function imports it
``from NAME import NAME``. Its number is its place in ``COURSE`` (or in a ``Course`` with an
instructor's exercises), computed when shown, never stored.

An instructor adds exercises without touching npsae: a folder (``extra_exercises=DIR``, the
``--extra-exercises DIR`` option, or ``$NPSAE_EXERCISES``) holding one sub-folder per exercise,

    DIR/NAME/spec.py       defines EXERCISE, an Exercise called NAME (its stub text and its
                           Spec), and optionally AFTER = "other_name", the exercise it follows
                           (default: the end of the course)
    DIR/NAME/solution.py   the instructor's solution, plain NumPy, as a student would write it

The folder is the instructor's own code, run as such (students' files never are);
docs/adding-an-exercise.md is the guide.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib.util
import keyword
import os
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path

from npsae.exercises.exercise import Exercise
from npsae.exercises.gradient_exercises import (
    BACKWARD_DECAY,
    DEBUG_BACKWARD,
    GRADIENT_CHECK,
    L1_PENALTY_GRAD,
    TOPK_GRAD,
)
from npsae.exercises.model_exercises import (
    BACKWARD,
    FORWARD,
    KL_PENALTY,
    KL_PENALTY_GRAD,
    MSE,
    SIGMOID,
    SIGMOID_GRAD,
    SSE,
)
from npsae.exercises.mutants import built_in_solution, solution_mutants
from npsae.exercises.tool_exercises import (
    ADAM_STEP,
    DEBUG_ADAMW,
    NUMERICAL_GRADIENT,
    PARSE_IDX_HEADER,
)
from npsae.exercises.training_exercise import TRAIN

#: The course, in the order it is taught: from the sigmoid, through the losses, the penalties
#: and their gradients, gradient checking and backpropagation, to the optimiser and a trained
#: model. The one list that orders (and so numbers) the built-in exercises.
COURSE = (
    SIGMOID,
    SIGMOID_GRAD,
    FORWARD,
    MSE,
    SSE,
    KL_PENALTY,
    KL_PENALTY_GRAD,
    L1_PENALTY_GRAD,
    TOPK_GRAD,
    NUMERICAL_GRADIENT,
    GRADIENT_CHECK,
    BACKWARD,
    BACKWARD_DECAY,
    DEBUG_BACKWARD,
    ADAM_STEP,
    DEBUG_ADAMW,
    PARSE_IDX_HEADER,
    TRAIN,
)

#: The environment variable naming a folder of an instructor's own exercises.
VARIABLE = "NPSAE_EXERCISES"
#: Module names a student's ``NAME.py`` must not shadow: it sits first on the path when graded.
_TAKEN = frozenset(sys.stdlib_module_names) | {"numpy", "npsae", "scipy", "numba"}


class ExerciseFolderError(ValueError):
    """A folder of an instructor's exercises that cannot be used; the message names the file."""


@dataclasses.dataclass(frozen=True)
class Solutions:
    """Where the solutions are: npsae's own (``solutions/NAME.py``) and an instructor's files
    (``files``: name -> path). Called with a module's name, gives that exercise's solution
    source, or None when the module is no exercise. Hashable: mutants are cached per value."""

    files: tuple[tuple[str, Path], ...] = ()

    def __call__(self, name: str) -> str | None:
        path = dict(self.files).get(name)
        return built_in_solution(name) if path is None else path.read_text("utf-8")


@dataclasses.dataclass(frozen=True)
class Course:
    """The exercises of a course by name, in order, their ``solutions``, and the instructor's
    ``folder`` the extra exercises came from (None: npsae's exercises only)."""

    exercises: Mapping[str, Exercise]
    solutions: Solutions = Solutions()
    folder: Path | None = None

    def get(self, name: str) -> Exercise:
        """The exercise called ``name``; ValueError listing the names for an unknown one."""
        if name not in self.exercises:
            raise ValueError(f"no exercise {name!r}; the exercises are {', '.join(self.exercises)}")
        return self.exercises[name]

    def number(self, name: str) -> int:
        """The exercise's place in the course, from 1: shown to people, never stored."""
        return list(self.exercises).index(self.get(name).name) + 1

    def select(self, names: Iterable[str] | None) -> list[Exercise]:
        """The exercises called ``names`` (all when None or empty), in course order; ValueError
        naming an unknown one."""
        names = list(names or ())
        for name in names:
            self.get(name)
        return [e for e in self.exercises.values() if not names or e.name in names]

    def stub_source(self, name: str) -> str:
        """The source of exercise ``name``'s stub, numbered by its place in the course."""
        return self.get(name).stub(self.number(name), len(self.exercises))

    def solution_source(self, name: str) -> str:
        """The source of exercise ``name``'s solution."""
        return self.solutions(self.get(name).name)


def course(extra_exercises: str | os.PathLike | None = None) -> Course:
    """The course: npsae's exercises, with those of the folder ``extra_exercises`` (else
    ``$NPSAE_EXERCISES``; none when unset or empty) placed where each one says. Raises
    ExerciseFolderError naming the file for a folder that cannot be used."""
    if extra_exercises is None:
        extra_exercises = os.environ.get(VARIABLE, "").strip() or None
    return _course(None if extra_exercises is None else Path(extra_exercises).resolve())


@functools.cache
def _course(folder: Path | None) -> Course:
    order = [e.name for e in COURSE]
    exercises = {e.name: e for e in COURSE}
    files = {}
    if folder is not None:
        for exercise, solution in _placed(_read_folder(folder), order):
            exercises[exercise.name] = exercise
            files[exercise.name] = solution
            _check_builds_on(exercise, order, solution)
    solutions = Solutions(tuple(files.items()))
    return Course(
        {n: _with_mutants(exercises[n], solutions, len(order)) for n in order}, solutions, folder
    )


def _with_mutants(exercise: Exercise, solutions: Solutions, total: int) -> Exercise:
    """``exercise`` with its solution's mutants, unless a judge decides it."""
    if exercise.spec.judge is not None:
        return exercise
    # A debugging exercise's stub holds the buggy code a student starts from (its number
    # changes nothing of the code).
    stub = exercise.stub(0, total) if exercise.body else ""
    mutants = functools.partial(solution_mutants, exercise.filename, exercise.name, stub, solutions)
    return dataclasses.replace(exercise, spec=dataclasses.replace(exercise.spec, mutants=mutants))


def _read_folder(folder: Path) -> list[tuple[Exercise, str | None, Path]]:
    """Each exercise of the instructor's ``folder``: (the Exercise, the name it follows or None,
    its solution file), in the order of the sub-folders' names."""
    if not folder.is_dir():
        raise ExerciseFolderError(f"{folder}: not a folder of exercises (NAME/spec.py, ...)")
    found = []
    for sub in sorted(p for p in folder.iterdir() if p.is_dir()):
        if sub.name.startswith((".", "_")):
            continue
        spec, solution = sub / "spec.py", sub / "solution.py"
        for path in (spec, solution):
            if not path.is_file():
                raise ExerciseFolderError(f"{path}: missing (a folder NAME holds both files)")
        module = _run(spec)
        exercise, after = getattr(module, "EXERCISE", None), getattr(module, "AFTER", None)
        if not isinstance(exercise, Exercise):
            raise ExerciseFolderError(f"{spec}: defines no EXERCISE = Exercise(...)")
        if exercise.name != sub.name:
            raise ExerciseFolderError(
                f"{spec}: the exercise is called {exercise.name!r}, its folder {sub.name!r}: "
                "name the folder after the exercise"
            )
        if after is not None and not isinstance(after, str):
            raise ExerciseFolderError(f"{spec}: AFTER must be an exercise's name, not {after!r}")
        _check_name(exercise.name, spec)
        if f"def {exercise.name}(" not in solution.read_text("utf-8"):
            raise ExerciseFolderError(f"{solution}: defines no function {exercise.name}()")
        found.append((exercise, after, solution))
    if not found:
        raise ExerciseFolderError(f"{folder}: holds no exercise (a folder NAME with spec.py)")
    return found


def _run(path: Path):
    """The module of the instructor's ``path``, run (their own code)."""
    spec = importlib.util.spec_from_file_location(f"_npsae_extra_{path.parent.name}", path)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as err:  # the instructor's file: say which one, and what went wrong
        raise ExerciseFolderError(f"{path}: {type(err).__name__}: {err}") from err
    return module


def _check_name(name: str, where: Path) -> None:
    """A name fit for ``NAME.py`` and ``from NAME import NAME``, that shadows no module."""
    if not name.isidentifier() or keyword.iskeyword(name):
        raise ExerciseFolderError(f"{where}: {name!r} is not a Python name (letters, digits, _)")
    if name in _TAKEN:
        raise ExerciseFolderError(
            f"{where}: {name!r} is the name of a module the graded files import: {name}.py "
            "would hide it; choose another name"
        )
    if name in {e.name for e in COURSE}:
        raise ExerciseFolderError(f"{where}: npsae has an exercise {name!r} already")


def _placed(
    found: list[tuple[Exercise, str | None, Path]], order: list[str]
) -> list[tuple[Exercise, Path]]:
    """Insert each exercise's name into ``order`` (in place) right after the one it follows,
    after those placed there before it; one that follows another extra exercise waits for it.
    Returns (exercise, solution) in the order placed."""
    waiting, placed, follows = list(found), [], {}
    while waiting:
        ready = [w for w in waiting if w[1] is None or w[1] in order]
        if not ready:
            exercise, after, solution = waiting[0]
            names = ", ".join(order + [w[0].name for w in waiting])
            raise ExerciseFolderError(
                f"{solution.with_name('spec.py')}: AFTER = {after!r} names no exercise; the "
                f"exercises are {names}"
            )
        for item in ready:
            exercise, after, solution = item
            at = len(order) if after is None else order.index(after) + 1
            while after is not None and at < len(order) and follows.get(order[at]) == after:
                at += 1
            order.insert(at, exercise.name)
            follows[exercise.name] = after
            placed.append((exercise, solution))
            waiting.remove(item)
    return placed


def _check_builds_on(exercise: Exercise, order: list[str], solution: Path) -> None:
    """An instructor's exercise builds only on exercises that come before it in ``order``."""
    for name in exercise.builds_on:
        if name not in order or order.index(name) > order.index(exercise.name):
            raise ExerciseFolderError(
                f"{solution.with_name('spec.py')}: builds_on names {name!r}, which is not an "
                "exercise that comes before it"
            )


#: The built-in course (``$NPSAE_EXERCISES`` aside), by name.
EXERCISES: dict[str, Exercise] = dict(_course(None).exercises)


def get(name: str, extra_exercises: str | os.PathLike | None = None) -> Exercise:
    """The exercise called ``name``; ValueError listing the names for an unknown one."""
    return course(extra_exercises).get(name)
