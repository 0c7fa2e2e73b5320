"""Regenerate every tutorial notebook (npsae/tutorials/NN_*.ipynb) from its ``# %%`` script.

The scripts are the single source; the notebooks are generated with jupytext, without outputs,
with fixed cell ids and plain metadata, so that the same script always gives the same bytes
(tests/test_tutorials.py fails when a committed notebook differs from what this produces).

    python tools/sync_notebooks.py           # rewrite the notebooks that are out of date
    python tools/sync_notebooks.py --check   # only report them; exit 1 if any
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import jupytext
import nbformat

TUTORIALS = Path(__file__).resolve().parent.parent / "npsae" / "tutorials"
# The kernel every notebook asks for: the Python that opens it (ipykernel's own name for it).
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}


def scripts(folder: Path = TUTORIALS) -> list[Path]:
    """The tutorial scripts, in order: NN_name.py."""
    return sorted(folder.glob("[0-9][0-9]_*.py"))


def render(script: Path) -> str:
    """The notebook (.ipynb JSON text) generated from ``script``, a ``# %%`` percent script."""
    nb = jupytext.read(script, fmt="py:percent")
    # No jupytext pairing metadata (it names jupytext's version): the notebook stands alone.
    nb.metadata = nbformat.NotebookNode(kernelspec=KERNELSPEC, language_info={"name": "python"})
    for number, cell in enumerate(nb.cells):
        cell.id = f"cell-{number:02d}"  # random ids would change the file at every run
        cell.metadata = nbformat.NotebookNode()
    nbformat.validate(nb)
    return nbformat.writes(nb) + "\n"


def out_of_date(folder: Path = TUTORIALS) -> list[Path]:
    """The notebooks that are missing or differ from what their script generates."""
    return [
        script.with_suffix(".ipynb")
        for script in scripts(folder)
        if not script.with_suffix(".ipynb").exists()
        or script.with_suffix(".ipynb").read_text(encoding="utf-8") != render(script)
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="report, do not write; exit 1")
    args = parser.parse_args(argv)
    stale = out_of_date()
    for notebook in stale:
        if args.check:
            print(f"out of date: {notebook}")
        else:
            notebook.write_text(render(notebook.with_suffix(".py")), encoding="utf-8")
            print(f"wrote {notebook}")
    if not stale:
        print(f"all {len(scripts())} notebooks are up to date")
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
