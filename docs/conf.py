"""Sphinx configuration of npsae's documentation site.

Build it with ``python -m sphinx -W --keep-going -b html docs docs/_build/html`` after
``pip install ".[docs]"``. The tutorials are the package's notebooks, copied here at build time
and executed in quick mode, their outputs cached in ``docs/_build/.jupyter_cache``.
"""

import os
import shutil
from pathlib import Path

import npsae
from npsae.cli.tutorials import tutorial_files

DOCS = Path(__file__).resolve().parent
REPO = DOCS.parent
TUTORIALS = REPO / "npsae" / "tutorials"
# The tutorials' copy that Sphinx reads (git ignores it): the notebooks, and what they load
# beside them (_common.py, the committed figures and tables of full-length runs).
COPY = DOCS / "tutorials"


def _copy_tutorials() -> None:
    """Mirror what ``npsae tutorials DIR`` hands out into COPY (its README aside: the tutorials'
    index includes it), rewriting only what changed, so that Sphinx's incremental build and the
    execution cache see unchanged files as unchanged."""
    wanted = set(tutorial_files(TUTORIALS)) - {Path("README.md")}
    for stale in COPY.glob("[0-9][0-9]_*.ipynb"):
        if stale.relative_to(COPY) not in wanted:
            stale.unlink()
    for relative in sorted(wanted):
        source, target = TUTORIALS / relative, COPY / relative
        if not target.exists() or target.read_bytes() != source.read_bytes():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)


_copy_tutorials()

# The kernels that execute the notebooks inherit this environment: quick mode, figures saved
# outside the source tree (a copy shows each inline), one BLAS thread (the matrices are small,
# and waiting threads spin on a busy machine), figures drawn inline rather than by Agg.
os.environ.pop("NPSAE_TUTORIAL_FULL", None)
os.environ.setdefault("NPSAE_TUTORIAL_FIGURES", str(DOCS / "_build" / "tutorial-figures"))
os.environ["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

project = "npsae"
author = "npsae's authors"
copyright = "npsae's authors, MIT licence"
release = version = npsae.__version__

extensions = [
    "myst_nb",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "sphinxarg.ext",
    "sphinx_copybutton",
]
exclude_patterns = ["_build", "**/.ipynb_checkpoints"]
source_suffix = {".md": "myst-nb", ".ipynb": "myst-nb"}

# MyST: $...$ and $$...$$ maths, as the notebooks write it; headings get anchors for links.
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist"]
myst_heading_anchors = 3

# Notebooks: executed when their code changed (jupyter-cache), in their own folder (they import
# _common.py), failing the build on an error. The Markdown a cell shows from its run's numbers
# (``_common.say``) is parsed as MyST, so its maths is typeset like the text's.
nb_execution_mode = "cache"
nb_execution_cache_path = str(DOCS / "_build" / ".jupyter_cache")
nb_execution_timeout = 300
nb_execution_raise_on_error = True
nb_execution_show_tb = True
nb_render_markdown_format = "myst"
nb_merge_streams = True
# A notebook may go from its title to ### sections, as Jupyter allows; MyST would warn of it.
suppress_warnings = ["myst.header"]

# API pages from the docstrings, in source order, with signatures' type hints in the text.
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {"members": True, "show-inheritance": True}
# The docstrings write code as `x`, as Markdown does.
default_role = "code"

# Maths by the MathJax bundled in _static (tex-svg-full: every TeX extension and the SVG fonts
# in one file, so that nothing is fetched, from any host).
mathjax_path = "mathjax/tex-svg-full.js"

html_theme = "pydata_sphinx_theme"
html_title = f"npsae {version}"
html_static_path = ["_static"]
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc"],
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
}
html_show_sourcelink = False
# The search's result snippets are fetched page by page, which browsers refuse from file://;
# without them the search works from the files too.
html_show_search_summary = False


def _escape_bars(app, what, name, obj, options, lines: list[str]) -> None:
    """The docstrings write |x| for an absolute value or a norm, which reStructuredText reads as
    a substitution: escape the bars, except in ``literals`` and in literal blocks (after ::)."""
    block_indent = None  # the indentation of the line that opened a literal block
    for i, line in enumerate(lines):
        indent = len(line) - len(line.lstrip())
        if block_indent is not None and (not line.strip() or indent > block_indent):
            continue
        block_indent = None
        parts = line.split("``")
        lines[i] = "``".join(p if k % 2 else p.replace("|", r"\|") for k, p in enumerate(parts))
        if line.rstrip().endswith("::"):
            block_indent = indent


def setup(app) -> None:
    app.connect("autodoc-process-docstring", _escape_bars)
