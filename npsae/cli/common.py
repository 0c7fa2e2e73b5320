"""What every sub-command shares: checks of option values that name the flag, the memory check,
the error boundary that turns a bad argument or an allocation that cannot succeed into one
line on stderr, and the old spellings of renamed options.

A check raises ``UsageError``; ``guarded(command, run)`` prints it as
``npsae COMMAND: error: MESSAGE`` and returns exit status 2. A ``MemoryError`` that slips past
the estimates (they cannot foresee everything) becomes one line too, with status 1. Notes and
warnings are one line each too: ``npsae COMMAND: note: MESSAGE`` (worth knowing) and
``npsae COMMAND: warning: MESSAGE`` (to act on); ``warnings_as_notes`` shows the library's
warnings (KL with ReLU units, when training starts) as notes.

Exit statuses: 0 done; 1 the work failed (unreadable data, a file that could not be written,
a diverged run, a failed check); 2 a usage error, found before any work starts.

An option renamed for one vocabulary keeps its old spelling for one release (``add_renamed``):
the old spelling does what the new one does, and warns (``RenamedOption``, a FutureWarning,
which ``npsae.cli.main`` prints as one ``warning`` line naming the new spelling).
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import functools
import math
import sys
import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from npsae._memory import available_bytes, format_bytes

Run = Callable[[argparse.Namespace], int]


class UsageError(Exception):
    """A bad argument, caught before any work starts (exit status 2)."""


def flag(name: str, args: argparse.Namespace | None = None) -> str:
    """The option of a keyword: ``batch_size`` -> ``--batch-size``; or, when ``args`` say the
    user wrote an old spelling of it (see ``add_renamed``), that spelling, so that a message
    names what the user typed."""
    typed = getattr(args, SPELLINGS, {}).get(name) if args is not None else None
    return typed or "--" + name.replace("_", "-")


def error(command: str, message: object, lines: bool = False) -> None:
    """Print ``npsae COMMAND: error: MESSAGE`` on stderr, on one line; with ``lines``, a message
    laid out on several short lines keeps them (a missing data set's advice)."""
    text = str(message) if lines else " ".join(str(message).splitlines())
    print(f"npsae {command}: error: {text}", file=sys.stderr)


def data_error(command: str, err: Exception) -> None:
    """Print why the data could not be loaded: a missing data set as its short advice on a few
    lines (what is missing, the command that fetches it, where to put it), else one line."""
    brief = getattr(err, "brief", None)
    error(command, brief or err, lines=brief is not None)


def os_error_status(err: OSError) -> int:
    """The exit status of a file error: 2 when the path given is the wrong kind of thing (a
    file where a folder must be, or the reverse), a usage error; else 1, the work failed. The
    kind is read from the errno too, which ``npsae._fileio.WriteError`` keeps from its cause."""
    wrong_kind = (NotADirectoryError, IsADirectoryError, FileExistsError)
    return 2 if isinstance(err, wrong_kind) or err.errno in _WRONG_KIND else 1


_WRONG_KIND = {errno.ENOTDIR, errno.EISDIR, errno.EEXIST}


def note(command: str, message: object) -> None:
    """Print ``npsae COMMAND: note: MESSAGE`` on stderr: something worth knowing."""
    print(f"npsae {command}: note: {message}", file=sys.stderr)


def warning(command: str, message: object) -> None:
    """Print ``npsae COMMAND: warning: MESSAGE`` on stderr: something to act on."""
    print(f"npsae {command}: warning: {message}", file=sys.stderr)


def config_error(err: ValueError, args: argparse.Namespace | None = None) -> UsageError:
    """A ``npsae.config.ConfigError`` (or the optimiser's) as a usage error that names the flag:
    ``--rho 1.5: RULE``; a rule between several options keeps its own message."""
    option = getattr(err, "option", None)
    if option is None:
        return UsageError(str(err))
    return UsageError(f"{flag(option, args)} {err.value}: {err.rule}")


@contextlib.contextmanager
def warnings_as_notes(command: str) -> Iterator[None]:
    """Within: each Python warning, once per message, is one line ``npsae COMMAND: note:
    MESSAGE`` on stderr (even with --quiet), not Python's ``FILE:LINE: UserWarning: MESSAGE``.
    """
    seen = set()

    def show(message, *args, **kwargs) -> None:
        if str(message) not in seen:
            seen.add(str(message))
            note(command, message)

    with warnings.catch_warnings():
        warnings.simplefilter("always")  # "once per message" is done here, per command
        warnings.showwarning = show
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


def positive_int(
    name: str,
    value: int,
    rule: str = "must be a positive integer",
    args: argparse.Namespace | None = None,
) -> None:
    if value < 1:
        raise UsageError(f"{flag(name, args)} {value}: {rule}")


def positive_number(name: str, value: float, rule: str = "must be a finite number > 0") -> None:
    if not (math.isfinite(value) and value > 0):
        raise UsageError(f"{flag(name)} {value}: {rule}")


def fits_in_memory(
    name: str, value: int, needed: int, what: str, args: argparse.Namespace | None = None
) -> None:
    """Refuse ``--name value`` when ``what`` would need more than the free memory.

    ``needed`` is an estimate in bytes. Where the free memory cannot be read the check passes,
    and ``guarded`` catches the MemoryError instead.
    """
    free = available_bytes()
    if free is not None and needed > free:
        raise UsageError(
            f"{flag(name, args)} {value}: {what} would need about {format_bytes(needed)} of "
            f"memory, and {format_bytes(free)} is available"
        )


# --------------------------------------------------------------------------- renamed options

# The attribute of the parsed arguments that records the old spellings used: {dest: spelling}.
SPELLINGS = "_spellings"


class RenamedOption(FutureWarning):
    """An option was given in its old spelling, which the next release drops; ``command`` is
    the sub-command ("train", "exercises check") whose option it is."""

    def __init__(self, message: str, command: str) -> None:
        super().__init__(message)
        self.command = command


def renamed(
    parser: argparse.ArgumentParser,
    args: argparse.Namespace,
    old: str,
    new: str,
    dest: str,
    what: str = "",
) -> None:
    """Record that ``old`` was typed for ``dest`` (see ``flag``), and warn that it is ``new``
    now; ``what``, if given, says which use of ``old`` that is."""
    vars(args).setdefault(SPELLINGS, {}).setdefault(dest, old)
    command = parser.prog.removeprefix("npsae ")
    message = f"{old}{what} is now {new}; the old spelling works in this release only"
    warnings.warn(RenamedOption(message, command), stacklevel=2)


class _Renamed(argparse.Action):
    """The old spelling of an option: hidden from --help, it warns, then does what ``new``
    does."""

    def __init__(self, option_strings: list[str], dest: str, new: argparse.Action) -> None:
        super().__init__(
            option_strings,
            new.dest,
            nargs=new.nargs,
            const=new.const,
            default=argparse.SUPPRESS,
            type=new.type,
            choices=new.choices,
            metavar=new.metavar,
            help=argparse.SUPPRESS,
        )
        self.new = new

    def __call__(self, parser: Any, namespace: Any, values: Any, option_string: Any = None) -> None:
        renamed(parser, namespace, option_string, self.new.option_strings[0], self.dest)
        self.new(parser, namespace, values, option_string)


def add_renamed(parser: argparse.ArgumentParser, old: str, new: str) -> None:
    """Accept ``old``, the former spelling of ``parser``'s option ``new``, for one release."""
    target = next(a for a in parser._actions if new in a.option_strings)
    parser.add_argument(old, action=_Renamed, new=target)


def renamed_options(parser: argparse.ArgumentParser) -> dict[str, str]:
    """``{old spelling: new spelling}`` of the options ``add_renamed`` added to ``parser``."""
    return {
        s: a.new.option_strings[0]
        for a in parser._actions
        if isinstance(a, _Renamed)
        for s in a.option_strings
    }
