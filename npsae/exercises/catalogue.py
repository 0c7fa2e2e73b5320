"""The registry of exercises, in the order of the course: from the sigmoid, through the
losses, the penalties and their gradients, gradient checking and backpropagation, to the
optimiser and a trained model."""

from __future__ import annotations

import dataclasses
import functools

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
from npsae.exercises.mutants import solution_mutants
from npsae.exercises.tool_exercises import (
    ADAM_STEP,
    DEBUG_ADAMW,
    NUMERICAL_GRADIENT,
    PARSE_IDX_HEADER,
)
from npsae.exercises.training_exercise import TRAIN

_ALL = (
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


def _numbered(exercise: Exercise, number: int) -> Exercise:
    """``exercise`` with its number, and (unless a judge decides it) its solution's mutants."""
    exercise = dataclasses.replace(exercise, number=number)
    if exercise.spec.judge is not None:
        return exercise
    # A debugging exercise's stub holds the buggy code a student starts from.
    stub = exercise.stub(total=len(_ALL)) if exercise.body else ""
    mutants = functools.partial(solution_mutants, exercise.filename, exercise.name, stub)
    return dataclasses.replace(exercise, spec=dataclasses.replace(exercise.spec, mutants=mutants))


#: The exercises by name, in the order of the course.
EXERCISES: dict[str, Exercise] = {e.name: _numbered(e, i) for i, e in enumerate(_ALL, 1)}


def get(name: str) -> Exercise:
    """The exercise called ``name``; ValueError listing the names for an unknown one."""
    if name not in EXERCISES:
        raise ValueError(f"no exercise {name!r}; the exercises are {', '.join(EXERCISES)}")
    return EXERCISES[name]
