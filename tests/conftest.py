"""Fixtures shared by the whole test suite."""

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def mnist_root() -> Path:
    """The data root holding ``mnist/`` with the four canonical files; fails (never skips) if not.

    ``$NPSAE_DATA`` if set, else the repository's ``data/`` folder, where
    ``python -m npsae data`` downloads MNIST (the README's test command runs it first).
    """
    from npsae.datasets import FILES, find_idx_file

    env = os.environ.get("NPSAE_DATA")
    root = Path(env) if env else REPO / "data"
    missing = [
        name
        for names in FILES.values()
        for name in names
        if find_idx_file(root / "mnist", name) is None
    ]
    if missing:
        pytest.fail(
            f"MNIST not found: {root / 'mnist'} lacks {', '.join(missing)} (gzipped or not). "
            "Run `python -m npsae data` to download it, or set NPSAE_DATA to a folder whose "
            "mnist/ subfolder holds the four canonical IDX files; the MNIST tests must run, so "
            "they fail rather than skip.",
            pytrace=False,
        )
    return root
