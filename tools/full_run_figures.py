"""Remake the committed figures of full-length tutorial runs, in npsae/tutorials/full_run/.

Some quick runs cannot show what a full-length run shows; their notebooks display these saved
figures beside their own. This runs each such tutorial with --full (a few minutes) into a
temporary folder and keeps the files listed below: figures as greyscale PNGs to keep the package
small (those in COLOUR keep their colours), CSV tables as they are.

    python tools/full_run_figures.py
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from PIL import Image

TUTORIALS = Path(__file__).resolve().parent.parent / "npsae" / "tutorials"
# tutorial script -> the files of its --full run that its notebook shows or reads
FIGURES = {
    "05_optimisers.py": ("05_learning_rate_grid.png",),
    "06_keras_article.py": ("06_rho_hat.png",),
    "07_ufldl_filters.py": ("07_filters.png", "07_rho_beta_sweep.png"),
    "10_modern_saes.py": ("10_pareto.png", "10_pareto_full.csv"),
}
# Figures whose lines are told apart by colour alone.
COLOUR = {"10_pareto.png"}


def main() -> int:
    out = TUTORIALS / "full_run"
    out.mkdir(exist_ok=True)
    env = dict(os.environ, MPLBACKEND="Agg")
    env.pop("NPSAE_TUTORIAL_FIGURES", None)
    for script, names in FIGURES.items():
        with tempfile.TemporaryDirectory() as tmp:
            print(f"running {script} --full ...", flush=True)
            subprocess.run(
                [sys.executable, str(TUTORIALS / script), tmp, "--full"], check=True, env=env
            )
            for name in names:
                source = Path(tmp) / name
                if source.suffix == ".csv":
                    (out / name).write_bytes(source.read_bytes())
                else:
                    image = Image.open(source)
                    image = image if name in COLOUR else image.convert("L")
                    image.save(out / name, optimize=True)
                print(f"wrote {out / name} ({(out / name).stat().st_size // 1024} KB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
