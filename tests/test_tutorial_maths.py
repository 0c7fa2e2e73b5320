"""Every piece of maths in the tutorials parses: each span of every notebook's Markdown cells
and of the tutorials' README, found as Jupyter finds it, rendered by MathJax 3 (JupyterLab's
engine, as JupyterLab configures it) and by KaTeX (VS Code's), both run by Node.js. A span that
either rejects would show a red error box to a student instead of the formula."""

from pathlib import Path

import nbformat
import pytest
from tex_maths import ENGINES, Span, math_spans, render

TUTORIALS = Path(__file__).resolve().parent.parent / "npsae" / "tutorials"
NOTEBOOKS = sorted(TUTORIALS.glob("[0-9][0-9]_*.ipynb"))


@pytest.mark.parametrize(
    ("markdown", "expected"),
    [
        ("a $x^2$ and $$\\sum_i x_i$$.", [Span("x^2", False), Span("\\sum_i x_i", True)]),
        # Dollars in code, or escaped, are text; the maths around them is still found.
        ("`$HOME` is $h$; `` a$b `` too", [Span("h", False)]),
        ("costs \\$5 or \\$6, and $k$", [Span("k", False)]),
        ("```bash\necho $PATH\n```\n$y$", [Span("y", False)]),
        # A code span inside maths stays in the TeX, as Jupyter leaves it for MathJax.
        ("$$\\text{(`rho_hat`)}$$", [Span("\\text{(`rho_hat`)}", True)]),
        # A span closes only where its braces balance, and never crosses a paragraph break.
        ("$\\text{a $b$ c}$", [Span("\\text{a $b$ c}", False)]),
        ("$5 a\n\nb and $c$", [Span("c", False)]),
        ("$$a\n= b$$", [Span("a\n= b", True)]),
        # An environment outside dollars is displayed maths, nested ones included.
        (
            "\\begin{aligned}a\\begin{aligned}b\\end{aligned}\\end{aligned} and $z$",
            [
                Span("\\begin{aligned}a\\begin{aligned}b\\end{aligned}\\end{aligned}", True),
                Span("z", False),
            ],
        ),
        (
            "$$\\begin{aligned}a &= b\\end{aligned}$$",
            [Span("\\begin{aligned}a &= b\\end{aligned}", True)],
        ),
        ("no maths: 5 $ and nothing", []),
    ],
)
def test_maths_spans_are_found_as_jupyter_finds_them(markdown, expected):
    assert math_spans(markdown) == expected


def test_both_parsers_reject_broken_tex_and_accept_sound_tex():
    spans = [
        Span("\\hat\\rho_j = \\frac{1}{m} \\sum_i H_{ij} \\quad \\text{(rho_hat[j])}", True),
        Span("\\frac{1}{", False),
        Span("\\undefinedmacro x", False),
        Span("\\begin{aligned} a &= b \\\\ c &= \\lVert W \\rVert^2 \\end{aligned}", True),
        Span("\\mathrm{KL}(\\rho \\,\\Vert\\, \\hat\\rho_j) \\odot \\tfrac{\\beta}{m}", False),
    ]
    results = render(spans)
    for broken in results[:3]:
        assert all(broken[engine] for engine in ENGINES), broken
    for sound in results[3:]:
        assert all(sound[engine] is None for engine in ENGINES), sound


def _markdown_sources() -> list[tuple[str, str]]:
    """(where, markdown) for every Markdown cell of every tutorial notebook, and the README."""
    sources = [("README.md", (TUTORIALS / "README.md").read_text(encoding="utf-8"))]
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        sources += [
            (f"{path.name}, cell {number}", cell.source)
            for number, cell in enumerate(nb.cells)
            if cell.cell_type == "markdown"
        ]
    return sources


def test_every_maths_span_of_the_tutorials_renders():
    located = [(where, span) for where, text in _markdown_sources() for span in math_spans(text)]
    assert len(NOTEBOOKS) >= 9 and len(located) > 200, len(located)
    results = render([span for _, span in located])
    errors = [
        f"{where}: {engine}: {result[engine]}\n    {'$$' if span.display else '$'}{span.tex}"
        for (where, span), result in zip(located, results, strict=True)
        for engine in ENGINES
        if result[engine] is not None
    ]
    assert not errors, f"{len(errors)} maths errors:\n" + "\n".join(errors)
