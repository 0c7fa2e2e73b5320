"""Run a student's function in a process of its own, with limits, and read back what it did.

One fresh interpreter per exercise (``sys.executable -I -B runner.py``, never a fork of the
grader), in a new session (its own process group, killed whole at the end), with:

- a wall-clock limit (``TIMEOUT`` seconds by default), and on POSIX an address-space limit
  (``MEMORY`` bytes), a file-size limit and a process limit, set by the runner before the
  student's code runs; its exchange folder may hold at most ``DISK`` bytes (watched from here);
- on Linux, the kernel's sandbox (``sandbox``, at the level ``protection`` decides): the
  student's process reads only Python, its own folder and its exchange folder, writes only the
  latter, and opens no socket;
- one BLAS thread, no stdin, its output captured to a file of which ``OUTPUT_BYTES`` are kept;
- the grading seed removed from its environment, and npsae not importable (see ``runner``).

Only data comes back (``wire``: ``.npz`` read without pickle, sizes checked first); a file that
cannot be read is that case's failure. The runner's own sources are read once, when this module
is imported, and copied next to the job: a student's file that rewrites the installed package
changes nothing for the next exercise. What the student's process can still do is return values
(or forge the files that carry them), which is no more than its function could do: every
comparison and every verdict is made in the grader's process.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from npsae.exercises import wire
from npsae.exercises.casefns import CaseFunction
from npsae.exercises.grading import Observation, Raised
from npsae.exercises.protection import Protection, protection

#: Wall-clock limit of one exercise's process, in seconds.
TIMEOUT = 10.0
#: Address-space limit of one exercise's process, in bytes (POSIX only).
MEMORY = 2 * 2**30
#: How much of the student's printed output is kept, per exercise.
OUTPUT_BYTES = 4096
#: What one exercise's process may leave in its exchange folder, in bytes.
DISK = 256 * 2**20

_HERE = Path(__file__).resolve().parent
_SOURCES = {
    name: (_HERE / f"{name}.py").read_bytes()
    for name in ("runner", "wire", "casefns", "loader", "sandbox")
}


@dataclasses.dataclass(frozen=True)
class ChildRun:
    """What one exercise's process did: ``load_error`` when the file could not provide the
    function; one Observation per case that finished (None for those that did not);
    ``stopped``, how the process ended early (None if it finished every case); ``output``, the
    first ``OUTPUT_BYTES`` it printed; ``seconds``, its wall-clock time."""

    load_error: str | None
    observations: tuple[Observation | None, ...]
    stopped: str | None
    output: str
    seconds: float


def run_child(
    path: Path,
    function: str,
    cases: list[tuple],
    timeout: float = TIMEOUT,
    memory: int = MEMORY,
    sandbox: Protection | None = None,
    watch: str = "",
) -> ChildRun:
    """Import ``function`` from ``path`` in a fresh interpreter and call it on each argument
    tuple of ``cases``, sandboxed as ``sandbox`` says (default: ``protection()``), recording
    the first argument of every call of the function ``watch`` (``runner.watching``)."""
    sandbox = protection() if sandbox is None else sandbox
    exchange = Path(tempfile.mkdtemp(prefix="npsae-grade-"))
    try:
        for name, source in _SOURCES.items():
            (exchange / f"{name}.py").write_bytes(source)
        # The folder is resolved, not the file: a file that links outside its folder is then
        # outside the sandbox too.
        file = Path(path).parent.resolve() / Path(path).name
        wire.write(
            exchange / "job.npz",
            {
                "file": str(file),
                "function": function,
                "cases": cases,
                "sandbox": [sandbox.landlock_abi, sandbox.seccomp],
                "watch": watch,
            },
            CaseFunction,
        )
        start = time.perf_counter()
        with open(exchange / "output.txt", "wb") as out:
            with _LOCK:  # a sweep for strays never mistakes this process for one
                proc = subprocess.Popen(
                    [
                        sys.executable,
                        "-I",
                        "-B",
                        str(exchange / "runner.py"),
                        str(exchange),
                        str(memory),
                    ],
                    cwd=exchange,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    env=_child_environment(exchange),
                    start_new_session=True,
                )
                _RUNNING.add(proc.pid)
            try:
                stopped = _wait(proc, timeout, exchange)
            finally:
                # The whole group: whatever the student's code forked dies with it.
                _kill_group(proc)
                with _LOCK:
                    _RUNNING.discard(proc.pid)
                    _reap_strays()
        seconds = time.perf_counter() - start
        return _collect(exchange, len(cases), proc.returncode, stopped, timeout, seconds)
    finally:
        shutil.rmtree(exchange, ignore_errors=True)


# The student processes running now (their pids), and the lock that guards starting one and
# sweeping for strays.
_RUNNING: set[int] = set()
_LOCK = threading.Lock()
_SUBREAPER = False


def become_subreaper() -> bool:
    """On Linux, make this process adopt its orphaned descendants (``PR_SET_CHILD_SUBREAPER``)
    instead of init: a student's process that escapes its process group (a double fork and
    ``setsid``) then becomes this process's child when its parent dies, and is killed after
    each exercise. Only for a process whose every child is a student's (the command line):
    every child it did not start is then killed. Returns whether it is on."""
    global _SUBREAPER
    # Not in a notebook's kernel: the kernel's own children are not students'.
    if sys.platform.startswith("linux") and not _SUBREAPER and "ipykernel" not in sys.modules:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        _SUBREAPER = libc.prctl(36, 1, 0, 0, 0) == 0  # 36: PR_SET_CHILD_SUBREAPER
    return _SUBREAPER


def _reap_strays() -> None:
    """Kill and reap this process's children that no running grading started: with the
    subreaper on, they are the orphaned descendants of a student's process."""
    if not _SUBREAPER:
        return
    me = str(os.getpid())
    for _ in range(20):  # killing a stray orphans its own children, which come to us next
        strays = [pid for pid in _children(me) if pid not in _RUNNING]
        if not strays:
            return
        for pid in strays:
            try:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass


def _children(parent: str) -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:  # gone meanwhile
                continue
            # "pid (command) state ppid ...": the command may hold spaces and parentheses.
            if stat[stat.rindex(")") + 2 :].split()[1] == parent:
                pids.append(int(entry))
    return pids


def _wait(proc: subprocess.Popen, timeout: float, exchange: Path) -> str | None:
    """Wait for ``proc`` to end: None when it did, "timeout" when ``timeout`` seconds passed
    first, "disk" as soon as its exchange folder holds more than ``DISK`` bytes."""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return "timeout"
        try:
            proc.wait(min(left, 0.05))
            return None
        except subprocess.TimeoutExpired:
            pass
        if _size(exchange) > DISK:
            return "disk"


def _size(folder: Path) -> int:
    """Bytes in the files of ``folder`` and its sub-folders (links not followed)."""
    total = 0
    try:
        for entry in os.scandir(folder):
            if entry.is_dir(follow_symlinks=False):
                total += _size(Path(entry.path))
            elif entry.is_file(follow_symlinks=False):
                total += entry.stat(follow_symlinks=False).st_size
    except OSError:  # changing under us: the next look counts it
        pass
    return total


def _child_environment(exchange: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NPSAE_")}
    # One thread each: a class's worth of processes must not fight over the cores (and the
    # sandbox confines a process that runs one thread).
    env.update(
        OPENBLAS_NUM_THREADS="1",
        OMP_NUM_THREADS="1",
        MKL_NUM_THREADS="1",
        PYTHONIOENCODING="utf-8",
        # The only folder it may write: its temporary files go there too.
        TMPDIR=str(exchange),
    )
    return env


def _kill_group(proc: subprocess.Popen) -> None:
    if hasattr(os, "killpg"):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    else:  # Windows: no process groups; the process itself
        proc.kill()
    proc.wait()


def _collect(
    exchange: Path,
    n_cases: int,
    returncode: int,
    stopped: str | None,
    timeout: float,
    seconds: float,
) -> ChildRun:
    output = _read_output(exchange / "output.txt")
    loaded = _read(exchange / "loaded.npz")
    if isinstance(loaded, dict) and loaded.get("error") is None and "error" in loaded:
        observations = tuple(_observation(exchange / f"case-{i}.npz") for i in range(n_cases))
        finished = next((i for i, seen in enumerate(observations) if seen is None), None)
        if finished is None:
            return ChildRun(None, observations, None, output, seconds)
        where = f"in case {finished + 1} of {n_cases}"
        return ChildRun(
            None, observations, _ending(returncode, stopped, timeout, where), output, seconds
        )
    if isinstance(loaded, dict) and isinstance(loaded.get("error"), str):
        return ChildRun(loaded["error"], (), None, output, seconds)
    ending = _ending(returncode, stopped, timeout, "while its file was being imported")
    return ChildRun(ending, (), ending, output, seconds)


def _ending(returncode: int, stopped: str | None, timeout: float, where: str) -> str:
    """How the student's process ended (``stopped``: "timeout", "disk" or None), for the
    student."""
    too_much = f"stopped {where}: it wrote more than the grader allows (printing in a loop?)"
    if stopped == "timeout":
        return f"timed out after {timeout:g} s {where}: an infinite loop?"
    if stopped == "disk":
        return too_much
    if returncode is not None and returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        if name == "SIGXFSZ":
            return too_much
        return f"the process was killed by {name} {where} (out of memory, or a crash?)"
    return (
        f"the process exited with status {returncode} {where}: exit(), sys.exit() or "
        "os._exit() ends the grading of this exercise"
    )


def _read(path: Path) -> object:
    if not path.exists():
        return None
    try:
        return wire.read(path, CaseFunction)
    except wire.WireError as err:
        return err


def _observation(path: Path) -> Observation | None:
    """The observation in ``path``; None when there is none; one with a ``problem`` when the
    file is not what the runner writes."""
    seen = _read(path)
    if seen is None:
        return None
    damaged = Observation(
        problem="the grader could not read this case's result (a damaged or forged file)"
    )
    if not isinstance(seen, dict):
        return damaged
    if isinstance(seen.get("unreadable"), str):
        return Observation(problem=f"returned a value the grader cannot read: {seen['unreadable']}")
    after, calls = seen.get("after"), seen.get("calls", [])
    if not isinstance(after, list) or not (
        isinstance(calls, list)
        and all(isinstance(c, np.ndarray) and c.dtype == np.float64 for c in calls)
    ):
        return damaged
    raised = seen.get("raised")
    if raised is not None:
        fields = ("type", "bases", "message", "where")
        if (
            not isinstance(raised, dict)
            or set(raised) != set(fields)
            or not isinstance(raised["bases"], list)
        ):
            return damaged
        if not all(
            isinstance(x, str)
            for x in (raised["type"], raised["message"], raised["where"], *raised["bases"])
        ):
            return damaged
        return Observation(
            raised=Raised(
                raised["type"], tuple(raised["bases"]), raised["message"], raised["where"]
            ),
            after=tuple(after),
        )
    if "value" not in seen:
        return damaged
    return Observation(value=seen["value"], after=tuple(after), calls=tuple(calls))


def _read_output(path: Path) -> str:
    """The first ``OUTPUT_BYTES`` the process printed, as text without control characters (a
    student's output may not move the cursor or fake the grader's lines)."""
    try:
        with open(path, "rb") as f:
            data = f.read(OUTPUT_BYTES + 1)
    except OSError:
        return ""
    text = data[:OUTPUT_BYTES].decode("utf-8", errors="replace")
    text = "".join(ch if ch in "\n\t" or ch.isprintable() else "?" for ch in text)
    if len(data) > OUTPUT_BYTES:
        text += f"\n[... cut: only the first {OUTPUT_BYTES} bytes are kept]"
    return text
