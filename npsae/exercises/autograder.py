"""A ready Gradescope autograder: ``setup.sh``, ``run_autograder``, npsae's own source, a README
for the instructor, and the same zipped as Gradescope takes it.

Gradescope builds an image once with ``setup.sh`` (here: a virtual environment with this very
version of npsae, installed from the bundled source), then for every submission runs
``run_autograder`` in ``/autograder``, with the student's files in ``/autograder/submission``; it
reads ``/autograder/results/results.json``. The seed of the hidden cases is fixed when the
autograder is written, so every student of the assignment gets the same hidden cases and a
regrade gives the same score. ``$NPSAE_AUTOGRADER_ROOT`` replaces ``/autograder`` and
``$NPSAE_PYTHON`` the interpreter, to try the autograder outside Gradescope.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import shlex
import shutil
import stat
import zipfile
from collections.abc import Iterable
from pathlib import Path

import npsae
from npsae.exercises.classroom import select

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
mkdir -p "$ROOT/results"
rm -f "$ROOT/results/results.json"
cd "$ROOT"
"$PYTHON" -m npsae exercises check "$ROOT/submission" {names}--format gradescope \\
    --out "$ROOT/results/results.json" --force --seed {seed} --timeout {timeout:g}
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
3. Test it with *Test Autograder*: upload a student's files (`ex01_sigmoid.py`, ...). Students
   submit the exercise files themselves, or one folder holding them.

## What students see

One test per test group of each exercise (shapes and dtypes, public values, hidden values, edge
cases, inputs left unmodified), with partial credit. The hidden values group is shown
*after the due date*, and a failure there never shows the hidden inputs. Written questions
appear as tests worth 0 points, tagged "manual", carrying the student's answer: grade them by
hand (for example in a separate, manually graded question).

## Safety

Each exercise runs in its own Python process, without npsae, under a {timeout:g} s time limit and
a 2 GiB memory limit; every comparison happens in the grader's process. A file that hangs,
crashes, exits or prints fake results gets a verdict and 0 points for that exercise; the
others are graded.

## Try it on your machine

    mkdir -p /tmp/ag/submission && cp my_solutions/ex*.py /tmp/ag/submission/
    NPSAE_AUTOGRADER_ROOT=/tmp/ag NPSAE_PYTHON=$(which python) bash run_autograder
    cat /tmp/ag/results/results.json
"""


def write_autograder(
    directory: str | os.PathLike,
    seed: int,
    timeout: float,
    names: Iterable[str] | None = None,
) -> list[Path]:
    """Write the autograder into ``directory`` (new, or empty) and zip it there as
    ``autograder.zip``. Returns the files written. ValueError if ``directory`` holds files."""
    out = Path(directory)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ValueError(f"{out} already exists and is not an empty folder")
    exercises = select(names)
    chosen = " ".join(shlex.quote(e.name) for e in exercises) + " " if names else ""
    total = sum(e.points for e in exercises)
    version = npsae.__version__
    out.mkdir(parents=True, exist_ok=True)
    files = {
        "setup.sh": SETUP.format(version=version),
        "run_autograder": RUN.format(names=chosen, seed=seed, timeout=timeout),
        "README.md": README.format(
            version=version,
            count=len(exercises),
            points=total,
            names=", ".join(e.name for e in exercises),
            seed=seed,
            timeout=timeout,
        ),
    }
    for name, text in files.items():
        (out / name).write_text(text)
    for name in ("setup.sh", "run_autograder"):
        (out / name).chmod(0o755)
    _copy_package(out / "npsae-package")
    _zip(out, out / "autograder.zip", ["setup.sh", "run_autograder", "npsae-package"])
    return sorted(p for p in out.rglob("*") if p.is_file())


def _copy_package(target: Path) -> None:
    """npsae's source as an installable project: the package and a ``pyproject.toml`` with the
    installed distribution's own requirements."""
    source = Path(npsae.__file__).resolve().parent
    shutil.copytree(source, target / "npsae", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    try:
        requires = importlib.metadata.requires("npsae") or []
    except importlib.metadata.PackageNotFoundError:
        raise ValueError(
            "npsae is not installed (pip install npsae, or pip install -e . in its source): "
            "the autograder installs the same requirements"
        ) from None
    core = [r for r in requires if "extra ==" not in r]
    (target / "pyproject.toml").write_text(
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


def _zip(root: Path, zip_path: Path, members: list[str]) -> None:
    """Zip ``members`` of ``root`` at the archive's root, keeping the scripts executable."""
    with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED) as z:
        for member in members:
            path = root / member
            for f in sorted([path] if path.is_file() else path.rglob("*")):
                if f.is_file():
                    info = zipfile.ZipInfo.from_file(f, f.relative_to(root).as_posix())
                    info.external_attr = (stat.S_IFREG | (f.stat().st_mode & 0o777)) << 16
                    info.compress_type = zipfile.ZIP_DEFLATED
                    z.writestr(info, f.read_bytes())
