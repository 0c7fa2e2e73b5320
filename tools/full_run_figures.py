"""Remake the committed figures of full-length tutorial runs, in npsae/tutorials/full_run/.

Some quick runs cannot show what a full-length run shows; their notebooks display these saved
figures beside their own. This runs each such tutorial with --full (a few minutes) into a
temporary folder and keeps the figures listed below, as greyscale PNGs to keep the package small.

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
# tutorial script -> the figures of its --full run that its notebook shows
FIGURES = {
    "05_optimisers.py": ("05_learning_rate_grid.png",),
    "06_keras_article.py": ("06_rho_hat.png",),
    "07_ufldl_filters.py": ("07_filters.png", "07_rho_beta_sweep.png"),
}


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
                Image.open(Path(tmp) / name).convert("L").save(out / name, optimize=True)
                print(f"wrote {out / name} ({(out / name).stat().st_size // 1024} KB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
