"""What every tutorial shares: the --full switch, the seed, the figure folder, saving a figure, and
saying what a run found.

    python 06_keras_article.py             # quick; figures in figures/ beside the script
    python 06_keras_article.py OUT --full  # full length; figures in OUT/
    NPSAE_TUTORIAL_FULL=1 python 06_keras_article.py
    NPSAE_TUTORIAL_FIGURES=OUT python 06_keras_article.py
    NPSAE_TUTORIAL_SEED=7 python 06_keras_article.py   # the same lessons on other seeds

In a Jupyter kernel the command line belongs to the kernel, so it is ignored there: the two
environment variables still choose the mode and the folder, and each saved figure is shown
below its cell.
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
# The folder given on the command line (its first argument that is not an option), if any.
FOLDER = next((Path(a) for a in _ARGS if not a.startswith("-")), None)

# True for the full-length run (all of MNIST, every epoch): --full or NPSAE_TUTORIAL_FULL=1.
FULL = "--full" in _ARGS or os.environ.get("NPSAE_TUTORIAL_FULL", "") not in ("", "0")
# Where figures go: the first command-line argument, else $NPSAE_TUTORIAL_FIGURES, else figures/
# beside the tutorials.
OUT = FOLDER or Path(
    os.environ.get("NPSAE_TUTORIAL_FIGURES") or Path(__file__).resolve().parent / "figures"
)
# The first seed of every run and data set a tutorial makes ($NPSAE_TUTORIAL_SEED, default 0): a
# tutorial's closing assertions must hold on any seed, not only on the one its text was written on.
SEED = int(os.environ.get("NPSAE_TUTORIAL_SEED") or 0)
# The seeds of a comparison whose difference could be seed noise: three in quick mode, five in full.
SEEDS = tuple(range(SEED, SEED + (5 if FULL else 3)))


def save(fig: plt.Figure, name: str) -> None:
    """Write ``fig`` to OUT/name (a PNG), print the path, and close it; a notebook shows the PNG."""
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / name
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)
    print(f"[figure] {path}")
    if IN_NOTEBOOK:
        # The saved file itself, once: npsae.plotting's figures bypass pyplot, which the
        # notebook would not show, and a pyplot figure is closed so it is not shown twice.
        from IPython.display import Image, display

        display(Image(filename=path))


def say(markdown: str) -> None:
    """Show a sentence built from a run's numbers: formatted Markdown in a notebook, plain text in a
    script. Prose that quotes a result goes through here, so the text cannot drift from the run."""
    if IN_NOTEBOOK:
        from IPython.display import Markdown, display

        display(Markdown(markdown))
    else:
        print(markdown)
