"""Written questions: the answer blocks of a stub, and reading the student's answers back.

Each question of ``Exercise.questions`` gets a marked block at the end of the stub:

    # ---- written question 1 of 2: graded by your instructor, not by the autograder ----
    # Why does the KL penalty need hidden activations strictly between 0 and 1?
    ANSWER_1 = \"\"\"
    (write your answer here)
    \"\"\"

The answers are read from the file as text (a pattern per block), never by running the file, so
that a file with a syntax error, or one that never finishes importing, still has its answers
collected. An answer left as the placeholder, or removed, is "" (unanswered).
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

from npsae.exercises.grading import Answer

PLACEHOLDER = "(write your answer here)"
_MARK = "# ---- written question {i} of {n}: graded by your instructor, not by the autograder ----"


def answer_blocks(questions: tuple[str, ...]) -> str:
    """The stub's answer blocks for ``questions`` ("" when there are none)."""
    blocks = []
    for i, question in enumerate(questions, 1):
        asked = textwrap.fill(question, 96, initial_indent="# ", subsequent_indent="# ")
        marker = _MARK.format(i=i, n=len(questions))
        blocks.append(f'{marker}\n{asked}\nANSWER_{i} = """\n{PLACEHOLDER}\n"""\n')
    return "\n\n".join(blocks)


def read_answers(path: str | Path, questions: tuple[str, ...]) -> tuple[Answer, ...]:
    """The student's answer to each of ``questions`` in the file ``path`` (missing or
    unreadable file: every answer "")."""
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        text = ""
    answers = []
    for i, question in enumerate(questions, 1):
        found = re.search(rf'^ANSWER_{i}\s*=\s*[rRuU]?("""|\'\'\')(.*?)\1', text, re.S | re.M)
        answer = found.group(2).strip() if found else ""
        answers.append(Answer(question, "" if answer == PLACEHOLDER else answer))
    return tuple(answers)
