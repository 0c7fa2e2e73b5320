"""Every tutorial runs top to bottom in its default (quick) mode and saves sound PNG figures.

Each script runs in a fresh interpreter, from an empty working folder, with that folder as its
figure folder (argv[1]). A failure shows the script's output.
"""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from matplotlib.image import imread

TUTORIALS = Path(__file__).resolve().parent.parent / "tutorials"
SCRIPTS = sorted(TUTORIALS.glob("[0-9]*.py"))
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# A tutorial must finish well within this even on a slow machine; its default mode takes < 1 min.
TIMEOUT = 300


def test_tutorials_are_found():
    assert len(SCRIPTS) >= 9, [s.name for s in SCRIPTS]


@pytest.mark.parametrize("script", SCRIPTS, ids=[s.stem for s in SCRIPTS])
def test_tutorial_runs_and_saves_figures(script, tmp_path, mnist_root):
    out = tmp_path / "figures"
    env = {k: v for k, v in os.environ.items() if k != "NPSAE_TUTORIAL_FULL"}
    env.update(MPLBACKEND="Agg", NPSAE_DATA=str(mnist_root))
    # One BLAS thread: the tutorials' matrices are small, and on a busy machine (other tests,
    # other processes) OpenBLAS threads that wait for a core spin and slow a script severalfold.
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env.setdefault(var, "1")
    try:
        proc = subprocess.run(
            [sys.executable, str(script), str(out)],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
        )
    except subprocess.TimeoutExpired as err:
        pytest.fail(f"{script.name} did not finish within {TIMEOUT} s:\n{err.stdout}\n{err.stderr}")
    assert proc.returncode == 0, (
        f"{script.name} exited with {proc.returncode}\n--- stdout\n{proc.stdout}\n"
        f"--- stderr\n{proc.stderr}"
    )
    pngs = sorted(out.glob("*.png"))
    assert pngs, f"{script.name} saved no PNG in {out}\n--- stdout\n{proc.stdout}"
    for png in pngs:
        assert png.read_bytes()[:8] == PNG_SIGNATURE, f"{png.name} is not a PNG file"
        pixels = imread(png)
        assert pixels.ndim == 3 and min(pixels.shape[:2]) >= 50, f"{png.name}: {pixels.shape}"
        rgb = pixels[..., :3]
        assert np.ptp(rgb) > 0.1, f"{png.name} is blank: one colour everywhere"
        # Something beyond the background colour covers a fair part of the image.
        background = np.median(rgb.reshape(-1, 3), axis=0)
        drawn = np.mean(np.abs(rgb - background).max(axis=-1) > 0.05)
        assert drawn > 0.01, f"{png.name} is nearly blank ({drawn:.1%} of pixels drawn)"
