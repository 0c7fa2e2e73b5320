"""Fixtures shared by the whole test suite."""

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def mnist_root() -> Path:
    """The data root holding ``mnist/`` with the four canonical files; fails (never skips) if not.

    The root npsae itself finds from the repository (``npsae.datasets.locate_data``):
    ``$NPSAE_DATA`` if set, else the repository's ``data/`` if it holds data, else the per-user
    data folder, where ``python -m npsae data`` downloads MNIST (the README's test command runs
    it first).
    """
    from npsae.datasets import FILES, find_idx_file, locate_data

    cwd = os.getcwd()
    os.chdir(REPO)
    try:
        location = locate_data()
    finally:
        os.chdir(cwd)
    root = location.root
    missing = [
        name
        for names in FILES.values()
        for name in names
        if find_idx_file(root / "mnist", name) is None
    ]
    if missing:
        pytest.fail(
            f"MNIST not found: {root / 'mnist'} (used because {location.reason}) lacks "
            f"{', '.join(missing)} (gzipped or not). "
            "Run `python -m npsae data` to download it, or set NPSAE_DATA to a folder whose "
            "mnist/ subfolder holds the four canonical IDX files; the MNIST tests must run, so "
            "they fail rather than skip.",
            pytrace=False,
        )
    return root


@pytest.fixture
def user_dirs(tmp_path, monkeypatch) -> dict[str, Path]:
    """A fresh user: $HOME, $XDG_CACHE_HOME and the working folder in ``tmp_path``, no
    $NPSAE_DATA. Returns the folders: home, xdg, cache (the per-user data folder, xdg/npsae)
    and work (the working folder)."""
    dirs = {
        "home": tmp_path / "home",
        "xdg": tmp_path / "xdg",
        "cache": tmp_path / "xdg" / "npsae",
        "work": tmp_path / "work",
    }
    dirs["home"].mkdir()
    dirs["work"].mkdir()
    monkeypatch.delenv("NPSAE_DATA", raising=False)
    monkeypatch.setenv("HOME", str(dirs["home"]))
    monkeypatch.setenv("XDG_CACHE_HOME", str(dirs["xdg"]))
    monkeypatch.chdir(dirs["work"])
    return dirs
