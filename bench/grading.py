"""What isolation costs the classroom autograder: grading one complete, correct submission.

    python bench/grading.py               # 3 rounds
    python bench/grading.py --repeats 5

The submission is the instructor's solution of every exercise (``exercises solutions``). Each
round grades it three ways:

    isolated, jobs=1    ``grade_submission``: each exercise in a fresh interpreter, one at a time
    isolated, jobs=2    the same, two processes at once (the default)
    in-process          each solution imported here and graded by ``exercises.check``: the same
                        cases and judging, no child process

The overhead of isolation per exercise is (isolated with jobs=1 - in-process) / exercises; the
per-exercise table gives each child's wall-clock seconds (start to exit) from the last round.
Goal: a complete submission graded in under 10 s.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from npsae import exercises  # noqa: E402
from npsae.exercises.isolation import run_child  # noqa: E402
from npsae.exercises.loader import load_function  # noqa: E402
from npsae.exercises.scoring import plan  # noqa: E402

SEED = 2026


def in_process(folder: str) -> float:
    start = time.perf_counter()
    for e in exercises.list_exercises():
        fn = load_function(os.path.join(folder, e.filename), e.name)
        assert exercises.check(e.name, fn, seed=SEED).passed, e.name
    return time.perf_counter() - start


def isolated(folder: str, jobs: int) -> float:
    start = time.perf_counter()
    submission = exercises.grade_submission(folder, seed=SEED, jobs=jobs, timeout=60)
    assert submission.passed, [str(r) for r in submission.results if not r.passed]
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="npsae-bench-")
    exercises.write_solutions(folder)
    n = len(exercises.list_exercises())
    # The first reference evaluations import Numba-backed modules: warm them up once.
    isolated(folder, 2)
    times: dict[str, list[float]] = {
        "isolated, jobs=1": [],
        "isolated, jobs=2": [],
        "in-process": [],
    }
    for _ in range(args.repeats):
        times["isolated, jobs=1"].append(isolated(folder, 1))
        times["isolated, jobs=2"].append(isolated(folder, 2))
        times["in-process"].append(in_process(folder))
    print(f"grading {n} exercises, {args.repeats} rounds: median (min-max) seconds")
    for name, ts in times.items():
        print(f"  {name:<18} {statistics.median(ts):6.2f}  ({min(ts):.2f}-{max(ts):.2f})")
    overhead = statistics.median(times["isolated, jobs=1"]) - statistics.median(times["in-process"])
    print(f"isolation overhead per exercise: {overhead / n:.2f} s")
    print("seconds per exercise's process (start to exit), last round:")
    for e in exercises.list_exercises():
        planned = plan(e, SEED)
        run = run_child(Path(folder) / e.filename, e.name, [p.case.args for p in planned], 60)
        print(f"  {e.name:<20} {run.seconds:5.2f}  ({len(planned)} cases)")


if __name__ == "__main__":
    main()
