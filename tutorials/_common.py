"""What every tutorial shares: the --full switch, the figure folder, and saving a figure.

    python tutorials/06_keras_article.py             # quick; figures in tutorials/figures/
    python tutorials/06_keras_article.py OUT --full  # full length; figures in OUT/
    NPSAE_TUTORIAL_FULL=1 python tutorials/06_keras_article.py

In a Jupyter kernel the command line belongs to the kernel, so it is ignored there (figures then
go to tutorials/figures/ and also show inline).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import matplotlib

IN_NOTEBOOK = "ipykernel" in sys.modules
if not IN_NOTEBOOK:
    matplotlib.use("Agg")  # draw into files only: a script never opens a window

import matplotlib.pyplot as plt

_ARGS = [] if IN_NOTEBOOK else sys.argv[1:]
_FOLDERS = [a for a in _ARGS if not a.startswith("-")]

# True for the full-length run (all of MNIST, every epoch): --full or NPSAE_TUTORIAL_FULL=1.
FULL = "--full" in _ARGS or os.environ.get("NPSAE_TUTORIAL_FULL", "") not in ("", "0")
# Where figures go: the first command-line argument, else tutorials/figures/.
OUT = Path(_FOLDERS[0]) if _FOLDERS else Path(__file__).resolve().parent / "figures"


def save(fig: plt.Figure, name: str) -> Path:
    """Write ``fig`` to OUT/name (a PNG), close it (unless in a notebook) and print the path."""
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / name
    fig.savefig(path, dpi=100, bbox_inches="tight")
    if not IN_NOTEBOOK:
        plt.close(fig)
    print(f"[figure] {path}")
    return path
