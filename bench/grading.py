"""What isolation costs the classroom autograder: grading one complete, correct submission.

    python bench/grading.py               # 3 rounds
    python bench/grading.py --repeats 5 --child-rounds 40

The submission is the instructor's solution of every exercise (``exercises solutions``). Each
round grades it four ways:

    isolated, jobs=1    ``grade_submission``: each exercise in a fresh interpreter, one at a time,
                        in the kernel's sandbox (``--sandbox auto``)
    unsandboxed, jobs=1 the same with ``--sandbox off``
    isolated, jobs=2    sandboxed, two processes at once (the default)
    in-process          each solution imported here and graded by ``exercises.check``: the same
                        cases and judging, no child process

The overhead of isolation per exercise is (isolated with jobs=1 - in-process) / exercises, and
that of the sandbox (isolated - unsandboxed, jobs=1) / exercises. A whole submission is too
noisy for a few milliseconds, so the sandbox is also timed on one exercise's process (the
sigmoid's), ``--child-rounds`` times each way, alternating; and ``sandbox.confine`` alone, in a
fresh interpreter. The per-exercise table gives each child's wall-clock seconds (start to exit)
from the last round. Goals: a complete submission graded in under 10 s; the sandbox adds at most
20 ms per exercise.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from npsae import exercises  # noqa: E402
from npsae.exercises import sandbox  # noqa: E402
from npsae.exercises.isolation import run_child  # noqa: E402
from npsae.exercises.loader import load_function  # noqa: E402
from npsae.exercises.protection import protection  # noqa: E402
from npsae.exercises.scoring import plan  # noqa: E402

SEED = 2026


def in_process(folder: str) -> float:
    start = time.perf_counter()
    for e in exercises.list_exercises():
        fn = load_function(os.path.join(folder, e.filename), e.name)
        assert exercises.check(e.name, fn, seed=SEED).passed, e.name
    return time.perf_counter() - start


def isolated(folder: str, jobs: int, mode: str = "auto") -> float:
    start = time.perf_counter()
    submission = exercises.grade_submission(folder, seed=SEED, jobs=jobs, timeout=60, sandbox=mode)
    assert submission.passed, [str(r) for r in submission.results if not r.passed]
    return time.perf_counter() - start


def child_seconds(folder: str, rounds: int) -> dict[str, list[float]]:
    """One exercise's process, sandboxed and not, alternating: wall-clock seconds of each."""
    e = exercises.get("sigmoid")
    cases = [p.case.args for p in plan(e, SEED)]
    ways = {"sandboxed": protection("auto"), "off": protection("off")}
    seconds: dict[str, list[float]] = {way: [] for way in ways}
    for i in range(rounds):
        for way in ways if i % 2 == 0 else reversed(ways):
            run = run_child(Path(folder) / e.filename, e.name, cases, 60, sandbox=ways[way])
            assert run.load_error is None and all(run.observations), run
            seconds[way].append(run.seconds)
    return seconds


def confine_ms(rounds: int) -> list[float]:
    """Milliseconds ``sandbox.confine`` takes in a fresh interpreter that imported NumPy."""
    level = protection("auto")
    code = (
        "import sys, time, numpy\n"
        f"sys.path.insert(0, {os.path.dirname(sandbox.__file__)!r})\n"
        "import sandbox\n"
        "start = time.perf_counter()\n"
        f"sandbox.confine({level.landlock_abi}, {level.seccomp}, sys.argv[1], sys.argv[2])\n"
        "print((time.perf_counter() - start) * 1000)\n"
    )
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    found = []
    for _ in range(rounds):
        with tempfile.TemporaryDirectory() as student, tempfile.TemporaryDirectory() as out:
            done = subprocess.run(
                [sys.executable, "-I", "-c", code, student, out],
                capture_output=True,
                text=True,
                env=env,
                check=True,
            )
            found.append(float(done.stdout))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--child-rounds", type=int, default=20)
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="npsae-bench-")
    exercises.write_solutions(folder)
    n = len(exercises.list_exercises())
    # The first reference evaluations import Numba-backed modules: warm them up once.
    isolated(folder, 2)
    times: dict[str, list[float]] = {
        "isolated, jobs=1": [],
        "unsandboxed, jobs=1": [],
        "isolated, jobs=2": [],
        "in-process": [],
    }
    for _ in range(args.repeats):
        times["isolated, jobs=1"].append(isolated(folder, 1))
        times["unsandboxed, jobs=1"].append(isolated(folder, 1, "off"))
        times["isolated, jobs=2"].append(isolated(folder, 2))
        times["in-process"].append(in_process(folder))
    level = protection("auto")
    print(f"sandbox: Landlock ABI {level.landlock_abi}, seccomp {level.seccomp}")
    print(f"grading {n} exercises, {args.repeats} rounds: median (min-max) seconds")
    for name, ts in times.items():
        print(f"  {name:<19} {statistics.median(ts):6.2f}  ({min(ts):.2f}-{max(ts):.2f})")
    median = {name: statistics.median(ts) for name, ts in times.items()}
    overhead = median["isolated, jobs=1"] - median["in-process"]
    print(f"isolation overhead per exercise: {overhead / n:.2f} s")
    cost = median["isolated, jobs=1"] - median["unsandboxed, jobs=1"]
    print(f"sandbox cost per exercise, whole submissions: {1000 * cost / n:+.1f} ms")
    child = child_seconds(folder, args.child_rounds)
    ms = {way: 1000 * statistics.median(ts) for way, ts in child.items()}
    pairs = [1000 * (a - b) for a, b in zip(child["sandboxed"], child["off"], strict=True)]
    print(
        f"one exercise's process, {args.child_rounds} rounds each, median: sandboxed "
        f"{ms['sandboxed']:.0f} ms, off {ms['off']:.0f} ms, difference "
        f"{statistics.median(pairs):+.1f} ms (median of the paired differences)"
    )
    inside = confine_ms(args.child_rounds)
    print(
        f"sandbox.confine itself: median {statistics.median(inside):.1f} ms "
        f"({min(inside):.1f}-{max(inside):.1f})"
    )
    print("seconds per exercise's process (start to exit), last round:")
    for e in exercises.list_exercises():
        planned = plan(e, SEED)
        run = run_child(Path(folder) / e.filename, e.name, [p.case.args for p in planned], 60)
        print(f"  {e.name:<20} {run.seconds:5.2f}  ({len(planned)} cases)")


if __name__ == "__main__":
    main()
