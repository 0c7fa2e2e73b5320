"""Fixtures shared by the whole test suite."""

import os
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
# A cell must finish well within this even on a slow machine; a whole notebook takes < 1 min.
CELL_TIMEOUT = 300


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


class Kernels:
    """Runs notebooks in a Jupyter kernel of this very Python, in the tutorials' quick mode.

    The kernel's environment is set only while a notebook runs, so that the inline backend and
    the rest never leak into the tests that run after it."""

    def __init__(self, env: dict[str, str]):
        self.env = env

    def execute(self, nb, folder: Path, **env: str) -> None:
        """Execute ``nb`` in place, from ``folder``; an error in a cell raises
        CellExecutionError (with the cell and its traceback)."""
        from nbclient import NotebookClient

        with pytest.MonkeyPatch.context() as mp:
            mp.delenv("NPSAE_TUTORIAL_FULL", raising=False)
            for name, value in {**self.env, **env}.items():
                mp.setenv(name, value)
            NotebookClient(
                nb,
                timeout=CELL_TIMEOUT,
                kernel_name="python3",
                resources={"metadata": {"path": str(folder)}},
            ).execute()


@pytest.fixture(scope="session")
def kernels(tmp_path_factory, mnist_root) -> Kernels:
    """Kernels with MNIST, one BLAS thread, figures inline, and this very Python."""
    from ipykernel.kernelspec import write_kernel_spec

    # A kernel spec named python3 (what every notebook asks for) that runs sys.executable, first
    # on JUPYTER_PATH: a user's own python3 kernel elsewhere cannot take the run over.
    jupyter_path = tmp_path_factory.mktemp("jupyter")
    write_kernel_spec(jupyter_path / "kernels" / "python3")
    env = {
        "JUPYTER_PATH": str(jupyter_path),
        "NPSAE_DATA": str(mnist_root),
        "MPLBACKEND": "module://matplotlib_inline.backend_inline",
    }
    # One BLAS thread: the tutorials' matrices are small, and on a busy machine OpenBLAS threads
    # that wait for a core spin and slow a notebook severalfold.
    env |= dict.fromkeys(("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"), "1")
    return Kernels(env)


class Executed:
    """A notebook after its run: the executed cells, its figures and the seconds it took."""

    def __init__(self, nb, figures: Path, seconds: float):
        self.nb, self.figures, self.seconds = nb, figures, seconds

    @property
    def text(self) -> str:
        """Everything the notebook printed, in order."""
        return "".join(
            out.get("text", "")
            for cell in self.nb.cells
            if cell.cell_type == "code"
            for out in cell.outputs
            if out.output_type == "stream"
        )


@pytest.fixture(scope="session")
def run_notebook(kernels, tmp_path_factory):
    """run_notebook(stem) executes a tutorial's notebook once per session, from a copy of the
    tutorials, and returns it (an Executed)."""
    import nbformat

    from npsae.cli.tutorials import copy_tutorials

    done: dict[str, Executed] = {}

    def run(stem: str) -> Executed:
        if stem not in done:
            work = tmp_path_factory.mktemp(stem)
            copy_tutorials(work)
            figures = work / "figures-out"
            nb = nbformat.read(work / f"{stem}.ipynb", as_version=4)
            start = time.perf_counter()
            kernels.execute(nb, work, NPSAE_TUTORIAL_FIGURES=str(figures))
            done[stem] = Executed(nb, figures, time.perf_counter() - start)
            print(f"\n{stem}: executed in {done[stem].seconds:.1f} s")
        return done[stem]

    return run
