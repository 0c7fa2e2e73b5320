"""An exercise: the stub the student completes, and the ``Spec`` that grades it."""

from __future__ import annotations

import dataclasses
import textwrap
from collections.abc import Callable

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
{body}
'''
NOT_IMPLEMENTED_BODY = 'raise NotImplementedError("exercise {name}: not implemented yet")'


@dataclasses.dataclass(frozen=True)
class Exercise:
    """One exercise: the function ``name`` the student writes in ``filename``, graded by ``spec``.

    An exercise is known by its name (its files, the imports between exercises, the reports);
    its number is its place in a course (``catalogue.Course.number``), never stored here.
    ``signature`` is the stub's parameter list and return annotation, ``doc`` its docstring
    (the maths, the shapes and a hint; never the solution). ``difficulty`` is a key of
    ``DIFFICULTIES`` and sets the points; ``builds_on`` names the exercises whose functions
    this one reuses; ``derived`` marks an exercise whose answer the student derives (or, for
    debugging, finds): its solution marks the lines of that answer ``# key``, and neither its
    stub nor a tutorial may hold them; ``questions`` are short written questions answered in
    the stub's answer block, collected for the instructor and never graded automatically.
    ``body`` is the stub function's code: by default it raises NotImplementedError; a debugging
    exercise gives the buggy code the student must fix.
    """

    name: str
    summary: str
    signature: str
    doc: str
    spec: Spec
    imports: str = "import numpy as np"
    difficulty: int = 1
    builds_on: tuple[str, ...] = ()
    derived: bool = False
    questions: tuple[str, ...] = ()
    body: str = ""

    @property
    def points(self) -> int:
        return POINTS[self.difficulty]

    @property
    def filename(self) -> str:
        """The student's file, named after the exercise (so that another exercise's file
        imports its function as ``from NAME import NAME``)."""
        return f"{self.name}.py"

    def stub(self, number: int, total: int) -> str:
        """The source of the stub file of exercise ``number`` of ``total``: signature,
        docstring, a body that raises, and an answer block per written question."""
        doc = textwrap.indent(f'"""{self.doc.strip()}\n"""', "    ")
        source = STUB.format(
            number=number,
            total=total,
            name=self.name,
            summary=self.summary[:1].upper() + self.summary[1:],
            imports=self.imports,
            signature=self.signature,
            doc=doc,
            body=textwrap.indent(
                (self.body or NOT_IMPLEMENTED_BODY.format(name=self.name)).strip("\n"), "    "
            ),
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


def stub_function(name: str, params: tuple[str, ...], body: str, **names: Callable) -> Callable:
    """The function ``def name(*params): body``, compiled with NumPy as ``np`` and ``names``
    (the functions the stub imports from the student's earlier exercises) in its globals: a
    debugging stub's code, run by the grader exactly as the student received it."""
    source = f"def {name}({', '.join(params)}):\n{textwrap.indent(body.strip(), '    ')}\n"
    namespace: dict = {"np": np, **names}
    exec(compile(source, f"<stub of {name}>", "exec"), namespace)
    return namespace[name]
