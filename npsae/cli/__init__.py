"""The command line: ``python -m npsae COMMAND`` (or the ``npsae`` console script).

Each sub-command lives in its own module of this package with two functions:
``register(subparsers)`` adds its parser (and sets ``func`` to its ``run(args) -> int``), and
``run`` does the work. Heavy imports (Numba, matplotlib) happen inside ``run`` so that
``--help`` answers at once.
"""

from __future__ import annotations

import argparse
import functools
import importlib
import os
import sys
import warnings
from collections.abc import Sequence

from npsae import __version__
from npsae.cli import common

# The options several sub-commands share; each means the same in all of them, and is spelled as
# the Python keyword it sets (docs/cli.md has the whole table, old spellings included).
VOCABULARY = """\
options that mean the same in every command (as the Python keywords):
  --n-hidden UNITS     hidden units (n_hidden)
  --hidden ACT         hidden activation, {hidden} (hidden)
  --output ACT         output activation, {output} (output)
  --batch-size N       samples per step, or in the checked batch (batch_size)
  --seed N             seeds what the command draws: weights, batch order, hidden test cases
  --data-root DIR      the data folder (root of mnist/ and fashion-mnist/)
  --limit N            use only the first N training samples
  --out PATH           where the results go (train: the run folder; exercises check: a file)
  --force              overwrite existing files
old spellings (--activation, --root, --samples in gradcheck, --output in exercises check,
--hidden N) still work in this release, with a warning naming the new one."""

# Sub-command modules, in the order ``--help`` lists them.
COMMANDS = ("train", "sweep", "report", "export", "data", "gradcheck", "exercises", "tutorials")


def build_parser() -> argparse.ArgumentParser:
    from npsae.config import CHOICES

    parser = argparse.ArgumentParser(
        prog="npsae",
        description="Sparse autoencoders from scratch: NumPy reference, Numba kernels.",
        epilog=VOCABULARY.format(**{k: " or ".join(CHOICES[k]) for k in ("hidden", "output")}),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"npsae {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"npsae.cli.{name}").register(subparsers)
    return parser


def _show_warning(show, message, category, *args, **kwargs) -> None:
    """``warnings.showwarning`` that prints a renamed option as one ``warning`` line."""
    if isinstance(message, common.RenamedOption):
        common.warning(message.command, message)
    else:
        show(message, category, *args, **kwargs)


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` and run the chosen sub-command; returns the process exit status."""
    parser = build_parser()
    with warnings.catch_warnings():
        # An old spelling of an option: one line, at once (before any error in what follows).
        warnings.simplefilter("always", common.RenamedOption)
        warnings.showwarning = functools.partial(_show_warning, warnings.showwarning)
        args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        # Each command guards itself; this catches what a command without the guard lets out.
        status = int(common.guarded(args.command, args.func)(args) or 0)
        sys.stdout.flush()  # a closed pipe shows here, where it is handled, not at exit
        return status
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (npsae ... | head): stop quietly, as Unix tools do, with stdout
        # pointed at /dev/null so that the interpreter's last flush cannot fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
