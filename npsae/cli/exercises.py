"""``npsae exercises``: classroom exercises with an autograder (list, start, check)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

# The verdict column of ``check``, by Result.status.
_MARKS = {"passed": "PASS", "failed": "FAIL", "not implemented": "TODO", "error": "ERROR"}


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "exercises",
        help="classroom exercises with an autograder",
        description="Write the sparse autoencoder's pieces yourself, one function per file, and "
        "have them graded against npsae's own implementation: 'start DIR' writes the stubs, "
        "'check DIR' grades them and names the likely mistake of each failure; 'solutions DIR' "
        "writes the instructor's solutions.",
    )
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    actions.add_parser("list", help="the exercises, one a line").set_defaults(func=run_list)
    start = actions.add_parser(
        "start",
        help="write one stub file per exercise into DIR",
        description="Write one stub file per exercise into DIR (created if needed): the "
        "function's signature, a docstring with the maths, the shapes and a hint, and a body "
        "that raises NotImplementedError. Existing files are kept unless --force.",
    )
    start.add_argument("dir", type=Path, metavar="DIR")
    start.add_argument("names", nargs="*", metavar="NAME", help="only these exercises")
    start.add_argument("--force", action="store_true", help="overwrite existing files")
    start.set_defaults(func=run_start)
    check = actions.add_parser(
        "check",
        help="grade the solutions in DIR",
        description="Import each exercise's function from its file in DIR and grade it on "
        "random inputs (float32 and float64, several shapes) and edge cases. Exits with status "
        "0 when every exercise checked passes, 1 otherwise.",
    )
    check.add_argument("dir", type=Path, metavar="DIR")
    check.add_argument("names", nargs="*", metavar="NAME", help="only these exercises")
    check.set_defaults(func=run_check)
    solutions = actions.add_parser(
        "solutions",
        help="write the instructor's solution files into DIR",
        description="Write the instructor's solution of every exercise into DIR (created if "
        "needed), one plain NumPy file each, under the names the stubs have: 'check DIR' "
        "grades them all green. Existing files are never overwritten.",
    )
    solutions.add_argument("dir", type=Path, metavar="DIR")
    solutions.add_argument("names", nargs="*", metavar="NAME", help="only these exercises")
    solutions.set_defaults(func=run_solutions)


def run_list(args: argparse.Namespace) -> int:
    from npsae.exercises import list_exercises
    from npsae.exercises.exercise import DIFFICULTIES

    exercises = list_exercises()
    numbers = {e.name: e.number for e in exercises}
    width = max(len(e.name) for e in exercises)
    level = max(len(d) for d in DIFFICULTIES.values())
    for e in exercises:
        after = ", ".join(str(numbers[n]) for n in e.builds_on) or "-"
        print(
            f"{e.number:2d}. {e.name:<{width}}  {e.points:>2} pts  "
            f"{DIFFICULTIES[e.difficulty]:<{level}}  builds on {after:<11}  {e.summary}"
        )
    return 0


def run_start(args: argparse.Namespace) -> int:
    from npsae.exercises import start

    status = _write(
        "start",
        lambda: start(args.dir, args.names, force=args.force),
        "existing files are your work: start never overwrites them without --force",
    )
    if status == 0:
        print(f"Next: fill in the functions, then run  python -m npsae exercises check {args.dir}")
    return status


def run_solutions(args: argparse.Namespace) -> int:
    from npsae.exercises import write_solutions

    return _write(
        "solutions",
        lambda: write_solutions(args.dir, args.names),
        "existing files are never overwritten",
    )


def _write(action: str, write: Callable[[], tuple[list, list]], kept_note: str) -> int:
    """Run ``write()`` (-> written paths, kept paths) and say what it wrote and kept."""
    try:
        written, kept = write()
    except (ValueError, OSError) as err:
        print(f"npsae exercises {action}: {err}")
        return 2
    for path in written:
        print(f"wrote {path}")
    for path in kept:
        print(f"kept  {path}")
    if kept:
        print(f"({kept_note})")
    return 0


def run_check(args: argparse.Namespace) -> int:
    from npsae.exercises import check_dir

    if not args.dir.is_dir():
        print(f"npsae exercises check: {args.dir} is not a folder (run 'start' first)")
        return 2
    try:
        results = check_dir(args.dir, args.names)
    except ValueError as err:
        print(f"npsae exercises check: {err}")
        return 2
    width = max(len(r.name) for r in results)
    for r in results:
        print(f"{_MARKS[r.status]:<5} {r.name:<{width}}  {r.message}")
        for line in r.diagnostics:
            print(f"{'':<5} {'':<{width}}    {line}")
    passed = sum(r.passed for r in results)
    print(f"{passed} of {len(results)} passed")
    return 0 if passed == len(results) else 1
