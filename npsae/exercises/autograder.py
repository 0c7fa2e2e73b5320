"""A ready Gradescope autograder: ``setup.sh``, ``run_autograder``, npsae's own source, a README
for the instructor, and the same zipped as Gradescope takes it.

Gradescope builds an image once with ``setup.sh`` (here: a virtual environment with this very
version of npsae, installed from the bundled source), then for every submission runs
``run_autograder`` in ``/autograder``, with the student's files in ``/autograder/submission``; it
reads ``/autograder/results/results.json``. The seed of the hidden cases is fixed when the
autograder is written, so every student of the assignment gets the same hidden cases and a
regrade gives the same score. ``$NPSAE_AUTOGRADER_ROOT`` replaces ``/autograder`` and
``$NPSAE_PYTHON`` the interpreter, to try the autograder outside Gradescope. An instructor's own
exercises (``extra_exercises``) travel in the zip as ``extra-exercises/``, beside the scripts.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import io
import json
import os
import shlex
import shutil
import stat
import time
import zipfile
from collections.abc import Iterable
from pathlib import Path

import npsae
from npsae._fileio import WriteError, write_file
from npsae.exercises.catalogue import course
from npsae.exercises.protection import MODES, SANDBOX

SETUP = """#!/usr/bin/env bash
# Gradescope runs this once, when it builds the autograder's image: Python and npsae {version}.
set -euo pipefail
apt-get update
apt-get install -y python3 python3-venv python3-pip
python3 -m venv /autograder/npsae-venv
/autograder/npsae-venv/bin/python -m pip install --upgrade pip
/autograder/npsae-venv/bin/python -m pip install /autograder/source/npsae-package
"""

RUN = """#!/usr/bin/env bash
# Gradescope runs this for every submission: grade the student's files into results.json.
# NPSAE_AUTOGRADER_ROOT (default /autograder) and NPSAE_PYTHON let you try it elsewhere.
set -u
ROOT="${{NPSAE_AUTOGRADER_ROOT:-/autograder}}"
PYTHON="${{NPSAE_PYTHON:-/autograder/npsae-venv/bin/python}}"
{extra}mkdir -p "$ROOT/results"
rm -f "$ROOT/results/results.json"
cd "$ROOT"
# The exercises graded are those this autograder was written for, whatever the environment.
NPSAE_EXERCISES= "$PYTHON" -m npsae exercises check "$ROOT/submission" {names}\\
    --format gradescope --out "$ROOT/results/results.json" --force --seed {seed} \\
    --timeout {timeout:g} --sandbox {sandbox}{extra_option}
status=$?
# Exit status 1 only means "not everything passed". Anything worse, and no results: say so.
if [ ! -s "$ROOT/results/results.json" ]; then
    message="The autograder itself failed (status $status): please tell your instructor."
    printf '{{"score": 0, "output": "%s"}}\\n' "$message" > "$ROOT/results/results.json"
fi
exit 0
"""

README = """# npsae autograder for Gradescope

Written by `npsae exercises autograder` (npsae {version}). Exercises graded: {count}, worth
{points} points: {names}.
Hidden cases: seed {seed}. Time limit: {timeout:g} s per exercise.

## Set it up

1. On Gradescope, create a *Programming Assignment* worth {points} points (or more, if you
   add points by hand for the written questions).
2. In *Configure Autograder*, choose an Ubuntu base image and upload `autograder.zip` from
   this folder (it holds `setup.sh`, `run_autograder` and `npsae-package/` at its root; to
   rebuild it: `cd` into this folder and `zip -r autograder.zip setup.sh run_autograder
   npsae-package`).
3. Test it with *Test Autograder*: upload a student's files (`sigmoid.py`, ...; files of
   stubs handed out under older names, `ex01_sigmoid.py`, are graded too). Students submit the
   exercise files themselves, or one folder holding them.

## What students see

One test per test group of each exercise (shapes and dtypes, public values, hidden values, edge
cases, inputs left unmodified): a values group scores when all its cases are right, the
others with partial credit once every value case is right. The hidden values group is shown
*after the due date*, and a failure there never shows the hidden inputs. Written questions
appear as tests worth 0 points, tagged "manual", carrying the student's answer: grade them by
hand (for example in a separate, manually graded question).

## Safety

Each exercise runs in its own Python process, without npsae, under a {timeout:g} s time limit and
a 2 GiB memory limit; every comparison happens in the grader's process. A file that hangs,
crashes, exits or prints fake results gets a verdict and 0 points for that exercise; the
others are graded. Inside Gradescope's container each process is also sandboxed as far as its
kernel allows (`--sandbox {sandbox}`: Landlock and seccomp, as with `npsae exercises grade`);
the level reached is in each results.json's `extra_data.sandbox`.

## Try it on your machine

    mkdir -p /tmp/ag/submission && cp my_solutions/*.py /tmp/ag/submission/
    NPSAE_AUTOGRADER_ROOT=/tmp/ag NPSAE_PYTHON=$(which python) bash run_autograder
    cat /tmp/ag/results/results.json
"""


#: The extra exercises' folder, found beside run_autograder (on your machine) or in the
#: unzipped source (on Gradescope, which copies run_autograder out of it).
EXTRA = """HERE="$(cd "$(dirname "$0")" && pwd)"
EXTRA="$HERE/extra-exercises"
[ -d "$EXTRA" ] || EXTRA="$ROOT/source/extra-exercises"
"""

#: The files Gradescope runs, made executable.
SCRIPTS = ("setup.sh", "run_autograder")
README_FILE = "README.md"
EXTRA_FOLDER = "extra-exercises"


def write_autograder(
    directory: str | os.PathLike,
    seed: int,
    timeout: float,
    names: Iterable[str] | None = None,
    extra_exercises: str | os.PathLike | None = None,
    sandbox: str = SANDBOX,
) -> list[Path]:
    """Write the autograder into ``directory`` (new, or empty) and zip it there as
    ``autograder.zip``, with the instructor's ``extra_exercises`` (default
    ``$NPSAE_EXERCISES``) if any; ``run_autograder`` grades with ``--sandbox sandbox``. Returns
    the files written. ValueError if ``directory`` holds files, the extra exercises cannot be
    used, or ``sandbox`` is no mode.

    Every file is written whole or not at all (``write_file``). When one cannot be written
    (``WriteError``, an OSError naming it), what was written is removed first: ``directory`` is
    left as it was, absent or empty, and writing it again is not refused.
    """
    out = Path(directory)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ValueError(f"{out} already exists and is not an empty folder")
    if sandbox not in MODES:
        raise ValueError(f"--sandbox must be one of {', '.join(MODES)}, not {sandbox!r}")
    graded = course(extra_exercises)
    exercises = graded.select(names)
    chosen = " ".join(shlex.quote(e.name) for e in exercises) + " " if names else ""
    extra = {} if graded.folder is None else _folder_files(graded.folder, EXTRA_FOLDER)
    total = sum(e.points for e in exercises)
    version = npsae.__version__
    files = {
        "setup.sh": SETUP.format(version=version),
        "run_autograder": RUN.format(
            names=chosen,
            seed=seed,
            timeout=timeout,
            sandbox=sandbox,
            extra=EXTRA if extra else "",
            extra_option=' --extra-exercises "$EXTRA"' if extra else "",
        ),
        README_FILE: README.format(
            version=version,
            count=len(exercises),
            points=total,
            names=", ".join(e.name for e in exercises),
            seed=seed,
            timeout=timeout,
            sandbox=sandbox,
        ),
        "npsae-package/pyproject.toml": _pyproject(),
        **_folder_files(Path(npsae.__file__).resolve().parent, "npsae-package/npsae"),
        **extra,
    }
    existed = out.exists()
    try:
        for name, data in files.items():
            write_file(out / name, data)
        for name in SCRIPTS:
            try:
                (out / name).chmod(0o755)
            except OSError as err:
                raise WriteError(out / name, err) from err
        # Gradescope takes the scripts and the package at the zip's root; the README is for you.
        write_file(
            out / "autograder.zip", _zip({k: v for k, v in files.items() if k != README_FILE})
        )
    except BaseException:
        _remove_contents(out, remove_folder=not existed)
        raise
    return sorted(p for p in out.rglob("*") if p.is_file())


def _folder_files(source: Path, prefix: str) -> dict[str, bytes]:
    """The files of ``source`` (npsae's own, or an instructor's exercises; no caches), by their
    path under ``prefix``."""
    return {
        f"{prefix}/{path.relative_to(source).as_posix()}": path.read_bytes()
        for path in sorted(source.rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    }


def _pyproject() -> str:
    """A ``pyproject.toml`` that installs the bundled source with the installed distribution's
    own requirements; ValueError when npsae is not installed."""
    try:
        requires = importlib.metadata.requires("npsae") or []
    except importlib.metadata.PackageNotFoundError:
        raise ValueError(
            "npsae is not installed (pip install npsae, or pip install -e . in its source): "
            "the autograder installs the same requirements"
        ) from None
    core = [r for r in requires if "extra ==" not in r]
    return (
        "[build-system]\n"
        'requires = ["setuptools>=61"]\n'
        'build-backend = "setuptools.build_meta"\n\n'
        "[project]\n"
        'name = "npsae"\n'
        f'version = "{npsae.__version__}"\n'
        'requires-python = ">=3.10"\n'
        f"dependencies = {json.dumps(core)}\n\n"
        "[tool.setuptools.packages.find]\n"
        'include = ["npsae*"]\n\n'
        "[tool.setuptools.package-data]\n"
        '"*" = ["*"]\n'
    )


def _zip(files: dict[str, str | bytes]) -> bytes:
    """A zip of ``files`` (path in the archive -> content), the ``SCRIPTS`` executable."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in files.items():
            info = zipfile.ZipInfo(name, date_time=time.localtime()[:6])
            mode = 0o755 if name in SCRIPTS else 0o644
            info.external_attr = (stat.S_IFREG | mode) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, data)
    return buffer.getvalue()


def _remove_contents(folder: Path, remove_folder: bool) -> None:
    """Remove what was written into ``folder`` (empty before): all of it, or ``folder`` too.
    Best effort: the error that brought us here is the one to report."""
    if remove_folder:
        shutil.rmtree(folder, ignore_errors=True)
        return
    with contextlib.suppress(OSError):
        for child in folder.iterdir():
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child, ignore_errors=True)
            else:
                child.unlink()
