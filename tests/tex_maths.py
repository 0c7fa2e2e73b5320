"""The maths of a Markdown text, found as Jupyter finds it, and parsed by real TeX parsers.

``math_spans(markdown)`` returns the spans that JupyterLab hands to MathJax: ``$...$`` (inline),
``$$...$$`` and ``\\begin{env}...\\end{env}`` (display). Dollars inside code (fenced blocks and
`code spans`) and escaped ones (``\\$``) are text, as in Jupyter; a span never crosses a blank
line (a paragraph break) and closes only where its braces balance.

``render(spans)`` parses every span with MathJax 3, configured as JupyterLab configures it but
with its two error-hiding packages left out, and with KaTeX, the parser of VS Code's notebooks
(tests/maths/render.js, run by Node.js). Both are pinned in tests/maths/package-lock.json;
``.ci/run`` installs them with ``npm ci --prefix tests/maths``, and ``renderer()`` does the
same the first time it finds them missing.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

MATHS = Path(__file__).resolve().parent / "maths"
ENGINES = ("mathjax", "katex")

# A fenced code block: three or more backticks or tildes, up to a closing fence of the same kind.
_FENCE = re.compile(
    r"^[ ]{0,3}(?P<fence>`{3,}|~{3,})[^\n]*\n.*?(?:^[ ]{0,3}(?P=fence)[`~]*[ \t]*$|\Z)", re.M | re.S
)
# A code span: a run of backticks (not escaped), its text on one line, the same run again.
_CODE_SPAN = re.compile(r"(?<![\\`])(?P<ticks>`+)(?!`)(?P<code>[^\n]*?[^`\n])(?P=ticks)(?!`)")
# What the scanner stops at: a TeX escape (\$, \{, \\ ...) unless it begins or ends an
# environment, a dollar or two, a brace, a paragraph break.
_TOKEN = re.compile(
    r"\\(?P<edge>begin|end)\{(?P<env>[A-Za-z]+\*?)\}|\\.|\$\$|\$|[{}]|\n[ \t]*(?:\n[ \t]*)+",
    re.S,
)
_HIDDEN_DOLLAR = "\x00"  # a dollar inside code, restored in any maths that contains it


@dataclass(frozen=True)
class Span:
    """One piece of maths: its TeX (without the delimiters) and whether it is displayed."""

    tex: str
    display: bool


def _hide_code_dollars(markdown: str) -> str:
    def hide(match: re.Match) -> str:
        return match.group(0).replace("$", _HIDDEN_DOLLAR)

    return _CODE_SPAN.sub(hide, _FENCE.sub(hide, markdown))


def math_spans(markdown: str) -> list[Span]:
    """The maths spans of ``markdown``, in order, as Jupyter delimits them."""
    text = _hide_code_dollars(markdown)
    spans: list[Span] = []
    opening = None  # the open delimiter: "$", "$$" or an environment's name
    start = braces = depth = 0
    for token in _TOKEN.finditer(text):
        word = token.group(0)
        if opening is None:
            if word in ("$", "$$"):
                opening, start, braces = word, token.end(), 0
            elif token.group("edge") == "begin":
                opening, start, depth = token.group("env"), token.start(), 1
            continue
        if word.startswith("\n"):  # a paragraph break: the opening was plain text
            opening = None
        elif opening in ("$", "$$"):
            if word == "{":
                braces += 1
            elif word == "}":
                braces -= 1
            elif word in ("$", "$$") and braces == 0:
                if word == "$$" and opening == "$":  # "$a$$b$": the first dollar closes
                    spans.append(Span(text[start : token.start()], False))
                    opening, start = "$", token.start() + 1
                    continue
                if word == opening:
                    spans.append(Span(text[start : token.start()], opening == "$$"))
                    opening = None
        elif token.group("env") == opening:
            depth += 1 if token.group("edge") == "begin" else -1
            if depth == 0:
                spans.append(Span(text[start : token.end()], True))
                opening = None
    return [Span(s.tex.replace(_HIDDEN_DOLLAR, "$"), s.display) for s in spans]


def renderer() -> Path:
    """tests/maths with its Node.js packages installed (``npm ci`` if they are missing); fails
    with what to do when Node.js or npm is missing or the install fails."""
    import pytest

    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.fail("the maths test needs Node.js and npm (node >= 18) on PATH")
    if (
        not (MATHS / "node_modules" / "katex").is_dir()
        or not (MATHS / "node_modules" / "mathjax-full").is_dir()
    ):
        proc = subprocess.run(
            ["npm", "ci", "--prefix", str(MATHS), "--no-audit", "--no-fund"],
            capture_output=True,
            text=True,
        )
        if proc.returncode != 0:
            pytest.fail(f"npm ci --prefix {MATHS} failed:\n{proc.stdout}\n{proc.stderr}")
    return MATHS


def render(spans: list[Span]) -> list[dict[str, str | None]]:
    """For each span, in order, each engine's error message, or None where it parsed."""
    proc = subprocess.run(
        ["node", str(renderer() / "render.js")],
        input=json.dumps([{"tex": s.tex, "display": s.display} for s in spans]),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    results = json.loads(proc.stdout)
    assert len(results) == len(spans)
    return results
