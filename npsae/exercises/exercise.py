"""An exercise: the stub the student completes, and the ``Spec`` that grades it."""

from __future__ import annotations

import dataclasses
import textwrap

import numpy as np

from npsae.exercises.answers import answer_blocks
from npsae.exercises.grading import Spec

FLOATS = (np.dtype(np.float32), np.dtype(np.float64))

#: What each difficulty is called, and the points an exercise of that difficulty is worth.
DIFFICULTIES = {1: "warm-up", 2: "core", 3: "challenge"}
POINTS = {1: 2, 2: 4, 3: 6}

STUB = '''"""Exercise {number} of {total}: {name}

{summary}.

Write the function below, then grade it (DIR is the folder holding this file):

    python -m npsae exercises check DIR {name}
"""

{imports}


def {name}{signature}:
{doc}
    raise NotImplementedError("exercise {name}: not implemented yet")
'''


@dataclasses.dataclass(frozen=True)
class Exercise:
    """One exercise: the function ``name`` the student writes in ``filename``, graded by ``spec``.

    ``signature`` is the stub's parameter list and return annotation, ``doc`` its docstring
    (the maths, the shapes and a hint; never the solution). ``difficulty`` is a key of
    ``DIFFICULTIES`` and sets the points; ``builds_on`` names the exercises whose functions
    this one reuses; ``questions`` are short written questions answered in the stub's answer
    block, collected for the instructor and never graded automatically.
    """

    name: str
    summary: str
    signature: str
    doc: str
    spec: Spec
    imports: str = "import numpy as np"
    number: int = 0
    difficulty: int = 1
    builds_on: tuple[str, ...] = ()
    questions: tuple[str, ...] = ()

    @property
    def points(self) -> int:
        return POINTS[self.difficulty]

    @property
    def filename(self) -> str:
        return f"ex{self.number:02d}_{self.name}.py"

    def stub(self, total: int) -> str:
        """The source of the stub file: signature, docstring, a body that raises, and an answer
        block per written question."""
        doc = textwrap.indent(f'"""{self.doc.strip()}\n"""', "    ")
        source = STUB.format(
            number=self.number,
            total=total,
            name=self.name,
            summary=self.summary[:1].upper() + self.summary[1:],
            imports=self.imports,
            signature=self.signature,
            doc=doc,
        )
        # Written questions follow the function, each in its marked answer block.
        return f"{source}\n\n{answer_blocks(self.questions)}" if self.questions else source


def stub_signature(*params: str, returns: str) -> str:
    """The stub's ``(params) -> returns``, one parameter a line when one line would be long."""
    one_line = f"({', '.join(params)}) -> {returns}"
    if len(one_line) <= 70:
        return one_line
    return "(\n" + "".join(f"    {p},\n" for p in params) + f") -> {returns}"


def case_label(dtype: np.dtype, **shapes: tuple) -> str:
    """A case's description for the student, e.g. "float32, X (5, 7)"."""
    return ", ".join([dtype.name, *(f"{k} {v}" for k, v in shapes.items())])
