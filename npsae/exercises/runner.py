"""The student's side of grading: run one exercise's function on its cases, in a process of its own.

The grader starts ``python -I -B runner.py EXCHANGE MEMORY`` in a fresh interpreter, with a copy
of this file, ``wire.py``, ``casefns.py``, ``loader.py`` and ``sandbox.py`` in the folder
EXCHANGE, and the job (the student's file, the function's name, every case's arguments, the
sandbox's level) in ``EXCHANGE/job.npz``. The runner limits its own address space to MEMORY
bytes (and the size of its files and its number of processes), makes ``npsae`` unimportable,
confines itself (``sandbox.confine``: exactly the level asked, or the student's file is not
run), imports the student's file and calls the function once per case. What each call did (the
value returned or the exception raised, the array arguments as they are afterwards, and what
the job's ``watch`` function was given: ``watching``) is written to ``EXCHANGE/case-<i>.npz``
as soon as the call ends, so that a later hang or crash still leaves the finished cases. It
never judges anything: the grader compares and decides.

``call`` is shared with the in-process grader (``exercises.check``), so that a function graded
in a notebook and the same function graded from a file are observed the same way.

This file imports only the standard library and NumPy: it runs without npsae.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import sys
import traceback
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

#: Raised in the student's process by any import of npsae.
NO_NPSAE = "exercises are graded without npsae: write the function yourself"
#: Largest file the student's process may write, in bytes (its output and its results).
MAX_FILE = 64 * 2**20
#: Processes (and threads) the student's process may add to the tasks running on the machine.
PROCESSES = 32


def call(fn: Callable, args: tuple, where: str, catch: type = Exception) -> dict:
    """Call ``fn(*args)``: ``{"value": v}`` if it returned, ``{"raised": {...}}`` if it raised
    one of ``catch`` (the exception's type, its classes' names, message and the line of the
    file ``where`` it was raised from). Floating-point warnings are silenced: overflow and the
    like are the student's to find, through the values."""
    try:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return {"value": fn(*args)}
    except catch as err:
        return {"raised": describe(err, where)}


def fingerprint(rows: Any) -> np.ndarray:
    """One number per row of ``rows``: its dot product with fixed integer weights, exact for
    rows of 0s and 1s (sums below 2^53), so a row of X and its copy in a batch agree."""
    rows = np.asarray(rows, dtype=np.float64)
    rows = rows.reshape(len(rows), -1) if rows.ndim else rows.reshape(1, 1)
    weights = (np.arange(rows.shape[1], dtype=np.int64) * 2654435761 % 1000003 + 1).astype(float)
    return rows @ weights


@contextlib.contextmanager
def watching(fn: Callable, name: str) -> Iterator[list]:
    """While the block runs, every call of a function called ``name`` that ``fn`` reaches
    (a name of its module, or of a module loaded from its folder: a sibling exercise, however
    imported) appends the ``fingerprint`` of its first argument to the list yielded. A
    training loop's batches are seen this way, whatever the loop's own variables."""
    calls: list = []
    if not name:
        yield calls
        return
    folder = os.path.dirname(getattr(getattr(fn, "__code__", None), "co_filename", "") or ".")
    spaces = [getattr(fn, "__globals__", {})] + [
        vars(m)
        for m in list(sys.modules.values())
        if os.path.dirname(getattr(m, "__file__", None) or "") == folder
    ]
    patched = []
    for space in {id(s): s for s in spaces}.values():
        original = space.get(name)
        if callable(original) and getattr(original, "__name__", "") == name:

            def watched(*args: Any, _original: Callable = original, **kwargs: Any) -> Any:
                first = args[0] if args else next(iter(kwargs.values()), None)
                calls.append(fingerprint(first))
                return _original(*args, **kwargs)

            watched.__name__ = name
            space[name] = watched
            patched.append((space, original))
    try:
        yield calls
    finally:
        for space, original in patched:
            space[name] = original


def describe(err: BaseException, where: str) -> dict:
    """An exception as data: type name, the names of its classes, message, where it was raised."""
    try:
        message = str(err)[:1000]
    except Exception:  # a student's exception may fail even at str()
        message = "<unprintable message>"
    frames = [f for f in traceback.extract_tb(err.__traceback__) if where and f.filename == where]
    line = (
        f"at {frames[-1].filename}, line {frames[-1].lineno}: {frames[-1].line}" if frames else ""
    )
    if line:
        line += _empty_locals(err, where)
    names = [c.__name__ for c in type(err).__mro__ if c not in (object, BaseException)]
    return {"type": type(err).__name__, "bases": names, "message": message, "where": line}


def _empty_locals(err: BaseException, where: str) -> str:
    """The empty arrays among the local variables of the last frame of the file ``where`` that
    the exception went through: a crash is often an empty batch or slice, not the line's fault."""
    frame = None
    tb = err.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == where:
            frame = tb.tb_frame
        tb = tb.tb_next
    if frame is None:
        return ""
    try:
        empty = [
            f"{name[:40]} {value.shape}"
            for name, value in frame.f_locals.items()
            if type(value) is np.ndarray and value.size == 0
        ][:3]
    except Exception:  # the student's locals are theirs: never let them break the report
        return ""
    if not empty:
        return ""
    return f" (empty arrays there: {', '.join(empty)}: a slice or batch with no rows?)"


class _NoNpsae:
    """A meta path finder that refuses npsae and its submodules, however they are imported."""

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> None:
        if name == "npsae" or name.startswith("npsae."):
            raise ImportError(NO_NPSAE, name=name)


def _limit(memory: int) -> None:
    try:
        import resource
    except ImportError:  # not on POSIX: the wall-clock limit still holds
        return
    for limit, value in (
        (getattr(resource, "RLIMIT_AS", None), memory),
        (resource.RLIMIT_FSIZE, MAX_FILE),
        (getattr(resource, "RLIMIT_NPROC", None), _tasks() and _tasks() + PROCESSES),
    ):
        if limit is not None and value > 0:
            try:
                hard = resource.getrlimit(limit)[1]
                value = value if hard == resource.RLIM_INFINITY else min(value, hard)
                resource.setrlimit(limit, (value, value))
            except (ValueError, OSError):  # e.g. macOS refuses RLIMIT_AS
                pass


def _tasks() -> int:
    """The tasks running on the machine (Linux; 0 elsewhere): the kernel counts those of this
    process's real uid against ``RLIMIT_NPROC``, and the machine's total bounds them at the
    cost of one read (``sandbox`` makes the count hold for root, to which the kernel applies
    no such limit)."""
    try:
        with open("/proc/loadavg") as f:
            return int(f.read().split()[3].split("/")[1])
    except (OSError, ValueError, IndexError):
        return 0


def _load(folder: str, name: str) -> Any:
    """The module ``name`` of the exchange folder, loaded by path under a private name."""
    spec = importlib.util.spec_from_file_location(
        f"_npsae_grader_{name}", os.path.join(folder, f"{name}.py")
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def main(exchange: str, memory: int) -> None:
    _limit(memory)
    # The exchange folder (this script's) is not the student's to import from; neither is npsae.
    sys.path[:] = [p for p in sys.path if p and os.path.abspath(p) != exchange]
    for name in [m for m in sys.modules if m == "npsae" or m.startswith("npsae.")]:
        del sys.modules[name]
    sys.meta_path.insert(0, _NoNpsae())
    wire, casefns, loader, sandbox = (
        _load(exchange, n) for n in ("wire", "casefns", "loader", "sandbox")
    )
    job = wire.read(os.path.join(exchange, "job.npz"), casefns.CaseFunction)
    path, name = job["file"], job["function"]
    loaded = os.path.join(exchange, "loaded.npz")
    # Last, once everything the runner needs is loaded: from here on it reads only Python, the
    # student's folder and this one.
    abi, seccomp = job["sandbox"]
    try:
        sandbox.confine(abi, seccomp, os.path.dirname(path), exchange)
    except sandbox.SandboxError as err:
        wire.write(
            loaded, {"error": f"the grader could not sandbox this file, so it did not run: {err}"}
        )
        return
    # The student's folder stays importable while the function runs: it may import a sibling.
    sys.path.insert(0, os.path.dirname(path))
    try:
        fn = loader.load_function(path, name)
    except loader.LoadError as err:
        wire.write(loaded, {"error": str(err)})
        return
    except BaseException as err:  # exit() or KeyboardInterrupt at import: a verdict too
        what = "exit() or sys.exit()" if isinstance(err, SystemExit) else type(err).__name__
        message = f"cannot import {os.path.basename(path)}: {what} at import ends its grading"
        wire.write(loaded, {"error": message})
        return
    wire.write(loaded, {"error": None})
    where = getattr(getattr(fn, "__code__", None), "co_filename", "")
    for i, args in enumerate(job["cases"]):
        with watching(fn, job["watch"]) as calls:
            seen = call(fn, args, where, BaseException)
        seen["after"] = [a if isinstance(a, np.ndarray) else None for a in args]
        seen["calls"] = calls
        try:
            wire.write(os.path.join(exchange, f"case-{i}.npz"), seen, casefns.CaseFunction)
        except Exception as err:  # e.g. an array of Python objects: say so, as data
            wire.write(
                os.path.join(exchange, f"case-{i}.npz"),
                {"unreadable": f"{type(err).__name__}: {err}"},
            )
    # Done: leave now, without waiting for the student's threads or running their atexit hooks.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    main(os.path.abspath(sys.argv[1]), int(sys.argv[2]))
