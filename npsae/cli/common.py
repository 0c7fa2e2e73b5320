"""What every sub-command shares: checks of option values that name the flag, the memory check,
and the error boundary that turns a bad argument or an allocation that cannot succeed into one
line on stderr.

A check raises ``UsageError``; ``guarded(command, run)`` prints it as
``npsae COMMAND: error: MESSAGE`` and returns exit status 2. ``warnings_as_notes`` shows the
library's warnings as one-line notes. A ``MemoryError`` that slips past
the estimates (they cannot foresee everything) becomes one line too, with status 1.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import math
import sys
import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from npsae._memory import available_bytes, format_bytes

Run = Callable[[argparse.Namespace], int]


class UsageError(Exception):
    """A bad argument, caught before any work starts (exit status 2)."""


def flag(name: str) -> str:
    """The option of a keyword: ``batch_size`` -> ``--batch-size``."""
    return "--" + name.replace("_", "-")


def error(command: str, message: object) -> None:
    """Print ``npsae COMMAND: error: MESSAGE`` on stderr, on one line."""
    text = " ".join(str(message).splitlines())
    print(f"npsae {command}: error: {text}", file=sys.stderr)


@contextlib.contextmanager
def warnings_as_notes() -> Iterator[None]:
    """Within: each Python warning, once per message, is one line ``note: MESSAGE`` on stderr
    (even with --quiet) instead of Python's ``FILE:LINE: UserWarning: MESSAGE`` and source line.
    """
    seen = set()

    def note(message, *args, **kwargs) -> None:
        if str(message) not in seen:
            seen.add(str(message))
            print(f"note: {message}", file=sys.stderr, flush=True)

    with warnings.catch_warnings():
        warnings.simplefilter("always")  # "once per message" is done here, per command
        warnings.showwarning = note
        yield


def report_files(written: Sequence[Path], kept: Sequence[Path], kept_note: str) -> None:
    """Print ``wrote PATH`` and ``kept  PATH`` lines, then ``(kept_note)`` if a file was kept."""
    for path in written:
        print(f"wrote {path}")
    for path in kept:
        print(f"kept  {path}")
    if kept:
        print(f"({kept_note})")


def guarded(command: str, run: Run) -> Run:
    """``run`` with the command line's error boundary around it (see the module docstring)."""

    @functools.wraps(run)
    def wrapper(args: argparse.Namespace) -> int:
        try:
            return run(args)
        except UsageError as err:
            error(command, err)
            return 2
        except MemoryError as err:
            error(command, f"out of memory ({err or 'an allocation failed'}); use smaller sizes")
            return 1

    return wrapper


# --------------------------------------------------------------------------- value checks


def positive_int(name: str, value: int, rule: str = "must be a positive integer") -> None:
    if value < 1:
        raise UsageError(f"{flag(name)} {value}: {rule}")


def non_negative_int(name: str, value: int) -> None:
    if value < 0:
        raise UsageError(f"{flag(name)} {value}: must be an integer >= 0")


def non_negative_number(name: str, value: float) -> None:
    if not (math.isfinite(value) and value >= 0):
        raise UsageError(f"{flag(name)} {value}: must be a finite number >= 0")


def positive_number(name: str, value: float, rule: str = "must be a finite number > 0") -> None:
    if not (math.isfinite(value) and value > 0):
        raise UsageError(f"{flag(name)} {value}: {rule}")


def target_activation(name: str, value: float) -> None:
    if not 0 < value < 1:
        raise UsageError(f"{flag(name)} {value}: a target mean activation lies in (0, 1)")


def fits_in_memory(name: str, value: int, needed: int, what: str) -> None:
    """Refuse ``--name value`` when ``what`` would need more than the free memory.

    ``needed`` is an estimate in bytes. Where the free memory cannot be read the check passes,
    and ``guarded`` catches the MemoryError instead.
    """
    free = available_bytes()
    if free is not None and needed > free:
        raise UsageError(
            f"{flag(name)} {value}: {what} would need about {format_bytes(needed)} of memory, "
            f"and {format_bytes(free)} is available"
        )
