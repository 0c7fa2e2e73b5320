"""The registry of exercises, in the order of the course."""

from __future__ import annotations

import dataclasses

from npsae.exercises.exercise import Exercise
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
from npsae.exercises.tool_exercises import ADAM_STEP, NUMERICAL_GRADIENT, PARSE_IDX_HEADER

_ALL = (
    SIGMOID,
    SIGMOID_GRAD,
    FORWARD,
    MSE,
    SSE,
    KL_PENALTY,
    KL_PENALTY_GRAD,
    BACKWARD,
    ADAM_STEP,
    PARSE_IDX_HEADER,
    NUMERICAL_GRADIENT,
)
#: The exercises by name, in the order of the course.
EXERCISES: dict[str, Exercise] = {
    e.name: dataclasses.replace(e, number=i) for i, e in enumerate(_ALL, 1)
}
