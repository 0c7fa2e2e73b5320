"""The compiled kernels' on-disk cache: reused by a second process, harmless on a read-only
install, and switched off by NPSAE_NUMBA_CACHE=0. Every check runs fresh Python processes, since
the cache matters only across processes."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import npsae

# One training step of a tiny float32 model on the Numba backend, through the public API, on
# uint8 pixels (so the batch gather is compiled and cached too).
TRAIN_ONE_STEP = """
import numpy as np
import npsae
model = npsae.SparseAutoencoder(6, 3, dtype=np.float32, backend="numba", weight_decay=1e-3)
X = np.random.default_rng(0).integers(0, 256, size=(8, 6), dtype=np.uint8)
npsae.fit(model, X, epochs=1, batch_size=8, verbose=0)
assert all(np.isfinite(p).all() for p in model.params.values())
print("npsae from", npsae.__file__)
"""


def run_python(code: str, cwd: Path, env_changes: dict, unset: tuple[str, ...] = ()) -> str:
    """Run ``code`` in a fresh interpreter in ``cwd``; return its stdout and stderr (checked).

    ``cwd`` matters: ``python -c`` puts it first on sys.path, so it must not hold an npsae.
    """
    env = {k: v for k, v in os.environ.items() if k not in unset}
    env.update(env_changes)
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


def snapshot(folder: Path) -> dict:
    """Every file under ``folder`` with its modification time (ns) and size."""
    return {
        str(p.relative_to(folder)): (p.stat().st_mtime_ns, p.stat().st_size)
        for p in folder.rglob("*")
        if p.is_file()
    }


def test_a_second_process_loads_the_kernels_instead_of_compiling_them(tmp_path):
    cache = tmp_path / "cache"
    env = {"NUMBA_CACHE_DIR": str(cache), "NUMBA_DEBUG_CACHE": "1"}
    first = run_python(TRAIN_ONE_STEP, tmp_path, env, unset=("NPSAE_NUMBA_CACHE",))
    assert "data saved to" in first
    assert list(cache.rglob("*.nbi")), "the first process wrote no cache index"
    before = snapshot(cache)

    second = run_python(TRAIN_ONE_STEP, tmp_path, env, unset=("NPSAE_NUMBA_CACHE",))
    assert "data loaded from" in second
    assert "data saved to" not in second, "the second process compiled again"
    assert snapshot(cache) == before


def make_read_only(root: Path) -> bool:
    """Forbid writes under ``root``; True if that holds even for this user.

    chmod is enough for an ordinary user but not for root, who writes anyway; for root the
    immutable attribute (chattr +i, ext4 and similar) does the job where the file system has it.
    """
    paths = [root, *root.rglob("*")]
    for p in paths:
        p.chmod(0o555 if p.is_dir() else 0o444)
    if os.geteuid() == 0 and shutil.which("chattr"):
        subprocess.run(["chattr", "-R", "+i", str(root)], capture_output=True)
    try:
        (root / "probe").touch()
    except OSError:
        return True
    (root / "probe").unlink()
    return False


def make_writable(root: Path) -> None:
    if os.geteuid() == 0 and shutil.which("chattr"):
        subprocess.run(["chattr", "-R", "-i", str(root)], capture_output=True)
    for p in [root, *root.rglob("*")]:
        p.chmod(0o755 if p.is_dir() else 0o644)


@pytest.fixture
def read_only_install(tmp_path):
    """A copy of the npsae package in a folder nobody may write to; yields (folder, truly)."""
    site = tmp_path / "site"
    shutil.copytree(
        Path(npsae.__file__).parent, site / "npsae", ignore=shutil.ignore_patterns("__pycache__")
    )
    truly = make_read_only(site)
    yield site, truly
    make_writable(site)


def test_a_read_only_install_trains_with_the_user_wide_cache(tmp_path, read_only_install):
    site, truly_read_only = read_only_install
    home = tmp_path / "home"
    home.mkdir()
    out = run_python(
        TRAIN_ONE_STEP,
        tmp_path,
        {"PYTHONPATH": str(site), "HOME": str(home), "PYTHONDONTWRITEBYTECODE": "1"},
        unset=("NUMBA_CACHE_DIR", "XDG_CACHE_HOME", "NPSAE_NUMBA_CACHE"),
    )
    assert f"npsae from {site}" in out
    if truly_read_only:
        # Numba could not write beside the sources, so it used the per-user cache folder.
        assert list((home / ".cache").rglob("*.nbi"))
        assert not list(site.rglob("*.nbi"))


def test_npsae_numba_cache_0_writes_no_cache_files(tmp_path):
    cache = tmp_path / "cache"
    env = {"NUMBA_CACHE_DIR": str(cache), "NPSAE_NUMBA_CACHE": "0"}
    run_python(TRAIN_ONE_STEP, tmp_path, env)
    assert not cache.exists() or not any(cache.rglob("*"))
