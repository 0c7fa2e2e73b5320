"""``npsae tutorials DIR``: copy the tutorial notebooks and scripts out of the package into DIR."""

from __future__ import annotations

import argparse
import filecmp
import os
import shutil
from importlib import resources
from pathlib import Path

from npsae._fileio import atomic_write
from npsae.cli import common

# What a student gets, relative to the package's tutorials folder: the notebooks, the scripts
# they are generated from, the helper both import, the README and the committed figures and
# tables of full-length runs that some notebooks show or read.
PATTERNS = (
    "[0-9]*.ipynb", "[0-9]*.py", "_common.py", "README.md", "full_run/*.png", "full_run/*.csv",
)  # fmt: skip


def tutorials_folder() -> Path:
    """The folder of the installed package that holds the tutorials."""
    return Path(str(resources.files("npsae") / "tutorials"))


def tutorial_files(folder: Path | None = None) -> list[Path]:
    """Every file ``copy_tutorials`` copies, relative to ``folder`` (the package's by default)."""
    folder = tutorials_folder() if folder is None else folder
    found = {p.relative_to(folder) for pattern in PATTERNS for p in folder.glob(pattern)}
    return sorted(found, key=lambda p: (len(p.parts), str(p)))


def copy_tutorials(directory: str | os.PathLike, force: bool = False) -> dict[str, list[Path]]:
    """Copy the tutorials into ``directory`` (created if needed); never lose a student's change.

    A file missing from ``directory`` is written; one identical to npsae's is left alone; one
    that differs is the student's work and is kept, unless ``force``, which replaces it.
    Returns ``{"written": [...], "unchanged": [...], "kept": [...]}``, lists of destination paths.
    Raises NotADirectoryError when ``directory`` (or a folder inside it) is a file.
    """
    source, directory = tutorials_folder(), Path(directory)
    if directory.exists() and not directory.is_dir():
        raise NotADirectoryError(f"{directory} exists and is not a folder")
    done: dict[str, list[Path]] = {"written": [], "unchanged": [], "kept": []}
    for relative in tutorial_files(source):
        src, dest = source / relative, directory / relative
        if dest.is_dir():
            raise IsADirectoryError(f"{dest} is a folder, where npsae's {relative} would go")
        if dest.exists() and filecmp.cmp(src, dest, shallow=False):
            done["unchanged"].append(dest)
        elif dest.exists() and not force:
            done["kept"].append(dest)
        else:
            with atomic_write(dest, "wb") as out, src.open("rb") as data:
                shutil.copyfileobj(data, out)
            done["written"].append(dest)
    return done


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "tutorials",
        help="copy the tutorial notebooks and scripts into DIR",
        description="Copy npsae's numbered tutorials (Jupyter notebooks, the # %% scripts they "
        "are made from, and the helper they import) into DIR, created if needed, and say how to "
        "open them. A file you changed is kept unless --force; identical files are left alone.",
    )
    p.add_argument("dir", type=Path, metavar="DIR")
    p.add_argument(
        "--force",
        action="store_true",
        help="overwrite existing files (those that differ from npsae's)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        done = copy_tutorials(args.dir, force=args.force)
    except OSError as err:
        common.error("tutorials", err)
        return common.os_error_status(err)
    common.report_files(
        done["written"],
        done["kept"],
        "kept files differ from npsae's: they are your work; --force replaces them",
    )
    print(
        f"{len(done['written'])} written, {len(done['unchanged'])} already up to date, "
        f"{len(done['kept'])} kept as they were."
    )
    first = next(args.dir.glob("01_*.ipynb"), args.dir / "01_idx_format.ipynb")
    print(
        f"""
Open the notebooks (each runs in under a minute; MNIST is downloaded on first use into the
folder 'python -m npsae data' names, or found under $NPSAE_DATA):
  JupyterLab   python -m pip install "npsae[notebooks]"  then  jupyter lab {args.dir}
  VS Code      open {args.dir}, open {first.name}, choose this Python as the kernel
  Colab        File > Upload notebook; upload _common.py beside it (Files panel) and install
               npsae in the runtime with !pip install before running the cells
Or run a script (figures saved as PNGs, --full for the full-length run):
  cd {args.dir} && python {first.stem}.py [FIGURE_FOLDER] [--full]"""
    )
    return 0
