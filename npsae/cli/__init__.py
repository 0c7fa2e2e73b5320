"""The command line: ``python -m npsae COMMAND`` (or the ``npsae`` console script).

Each sub-command lives in its own module of this package with two functions:
``register(subparsers)`` adds its parser (and sets ``func`` to its ``run(args) -> int``), and
``run`` does the work. Heavy imports (Numba, matplotlib) happen inside ``run`` so that
``--help`` answers at once.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import warnings
from collections.abc import Sequence

from npsae import __version__
from npsae.cli import common

# Sub-command modules, in the order ``--help`` lists them.
COMMANDS = ("train", "sweep", "report", "export", "data", "gradcheck", "exercises", "tutorials")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="npsae",
        description="Sparse autoencoders from scratch: NumPy reference, Numba kernels.",
    )
    parser.add_argument("--version", action="version", version=f"npsae {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"npsae.cli.{name}").register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` and run the chosen sub-command; returns the process exit status."""
    parser = build_parser()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", common.RenamedOption)
        try:
            args = parser.parse_args(argv)
        finally:
            # An old spelling of an option: one line each, even when parsing then fails.
            for w in caught:
                if isinstance(w.message, common.RenamedOption):
                    common.warning(w.message.command, w.message)
                else:
                    warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
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
