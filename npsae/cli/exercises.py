"""``npsae exercises``: classroom exercises with an autograder (list, start, check, and for
instructors solutions, grade, autograder)."""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from npsae.cli import common

if TYPE_CHECKING:
    from npsae.exercises.classroom import Submission


def register(subparsers: argparse._SubParsersAction) -> None:
    from npsae.exercises.catalogue import VARIABLE
    from npsae.exercises.classroom import JOBS, SEED_VARIABLE
    from npsae.exercises.isolation import TIMEOUT
    from npsae.exercises.protection import MODES, SANDBOX

    p = subparsers.add_parser(
        "exercises",
        help="classroom exercises with an autograder",
        description="Write the sparse autoencoder's pieces yourself, one function per file, and "
        "have them graded against npsae's own implementation: 'start DIR' writes the stubs, "
        "'check DIR' grades them and names the likely mistake of each failure. For "
        "instructors: 'solutions DIR' writes the solutions, 'grade' a class's gradebook, "
        "'autograder' a Gradescope autograder.",
    )
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    # Every action works on the course: npsae's exercises and an instructor's own.
    extra = argparse.ArgumentParser(add_help=False)
    extra.add_argument(
        "--extra-exercises",
        type=Path,
        metavar="DIR",
        help=f"add the exercises of DIR (NAME/spec.py, NAME/solution.py each) to the course "
        f"(default: ${VARIABLE}); see docs/adding-an-exercise.md",
    )
    actions.add_parser("list", parents=[extra], help="the exercises, one a line").set_defaults(
        func=run_list
    )
    start = actions.add_parser(
        "start",
        parents=[extra],
        help="write one stub file per exercise into DIR",
        description="Write one stub file per exercise into DIR (created if needed): the "
        "function's signature, a docstring with the maths, the shapes and a hint, and a body "
        "that raises NotImplementedError. Existing files are kept unless --force.",
    )
    start.add_argument("dir", type=Path, metavar="DIR")
    start.add_argument("names", nargs="*", metavar="NAME", help="only these exercises")
    start.add_argument("--force", action="store_true", help="overwrite existing files (stubs)")
    start.set_defaults(func=run_start)

    # The options of every command that grades (and of the autograder it writes).
    limit = argparse.ArgumentParser(add_help=False, parents=[extra])
    limit.add_argument(
        "--timeout",
        type=float,
        default=TIMEOUT,
        metavar="S",
        help=f"wall-clock limit of each exercise, in seconds (default {TIMEOUT:g})",
    )
    limit.add_argument(
        "--sandbox",
        choices=MODES,
        default=SANDBOX,
        help="confine each student's process with the kernel (Linux: Landlock and seccomp): "
        "auto (default) as far as the kernel allows, saying once what is not protected; "
        "require refuses to grade unless everything is; off runs without it",
    )
    grading = argparse.ArgumentParser(add_help=False, parents=[limit])
    grading.add_argument(
        "--seed",
        type=int,
        help=f"seed of the hidden cases (default: ${SEED_VARIABLE}, else a fresh random seed, "
        "which the results record)",
    )
    grading.add_argument(
        "--jobs",
        type=int,
        default=JOBS,
        metavar="N",
        help=f"exercises graded at once, each in its own process (default {JOBS})",
    )
    grading.add_argument(
        "--force",
        action="store_true",
        help="overwrite existing files (the report; the gradebook and --json-dir's files)",
    )

    check = actions.add_parser(
        "check",
        parents=[grading],
        help="grade the solutions in DIR",
        description="Grade each exercise's function from its file in DIR, in a separate "
        "process without npsae, on public cases (shown on failure), hidden cases (drawn from "
        "the seed, never shown) and edge cases, with points per test group. Exits with status "
        "0 when every exercise checked passes, 1 otherwise, 2 on a usage error.",
    )
    check.add_argument("dir", type=Path, metavar="DIR")
    check.add_argument("names", nargs="*", metavar="NAME", help="only these exercises")
    check.add_argument(
        "--format",
        choices=("text", "json", "gradescope"),
        default="text",
        help="text (default), npsae's JSON, or Gradescope's results.json",
    )
    check.add_argument(
        "--out", type=Path, metavar="FILE", help="write the report there (default: stdout)"
    )
    check.add_argument(
        "--explain",
        action="store_true",
        help="under each verdict, name the explainer that gave it (catalogue of mistakes, "
        "mutant, chain, probe, diagnosis, judge, rules) and what it compared",
    )
    common.add_renamed(check, "--output", "--out")
    check.set_defaults(func=run_check)
    solutions = actions.add_parser(
        "solutions",
        parents=[extra],
        help="write the instructor's solution files into DIR",
        description="Write the instructor's solution of every exercise into DIR (created if "
        "needed), one plain NumPy file each, under the names the stubs have: 'check DIR' "
        "grades them all green. Existing files are never overwritten.",
    )
    solutions.add_argument("dir", type=Path, metavar="DIR")
    solutions.add_argument("names", nargs="*", metavar="NAME", help="only these exercises")
    solutions.set_defaults(func=run_solutions)

    grade = actions.add_parser(
        "grade",
        parents=[grading],
        help="grade a class: one sub-folder per student, into a CSV gradebook",
        description="Grade every sub-folder of SUBMISSIONS_DIR (one per student, named by the "
        "student's id) with the same seed, and write one row per student (each exercise's "
        "score, the total) to the CSV file, and when all are graded, beside it "
        "NAME.meta.json: the seed, the exercises, the time limit and the sandbox the "
        "students' files ran in. A broken submission gets its zeros; grading goes on.",
    )
    grade.add_argument("submissions", type=Path, metavar="SUBMISSIONS_DIR")
    grade.add_argument("names", nargs="*", metavar="NAME", help="only these exercises")
    grade.add_argument(
        "--csv", type=Path, required=True, metavar="FILE", help="the gradebook to write"
    )
    grade.add_argument(
        "--json-dir",
        type=Path,
        metavar="DIR",
        help="also write each student's full result (diagnoses, answers) as DIR/STUDENT.json",
    )
    grade.set_defaults(func=run_grade)

    autograder = actions.add_parser(
        "autograder",
        parents=[limit],
        help="write a Gradescope autograder into OUT_DIR",
        description="Write a ready Gradescope autograder into OUT_DIR (new or empty): "
        "setup.sh, run_autograder, npsae's source, a README for instructors, and all of it "
        "zipped as autograder.zip. The hidden cases' seed is fixed now (--seed, else "
        f"${SEED_VARIABLE}, else random).",
    )
    autograder.add_argument("out", type=Path, metavar="OUT_DIR")
    autograder.add_argument("names", nargs="*", metavar="NAME", help="only these exercises")
    autograder.add_argument(
        "--seed",
        type=int,
        help=f"seed of the hidden cases (default: ${SEED_VARIABLE}, else a fresh random seed)",
    )
    autograder.set_defaults(func=run_autograder)


def _usage_error(args: argparse.Namespace, message: object) -> int:
    common.error(f"exercises {args.action}", message)
    return 2


def _timeout_error(args: argparse.Namespace) -> str | None:
    # NaN or infinity would let a student's process run for ever: the grader must not hang.
    if not (math.isfinite(args.timeout) and args.timeout > 0):
        return f"--timeout must be positive (a finite number of seconds), not {args.timeout:g}"
    return None


def _check_options(args: argparse.Namespace, *outputs: Path | None) -> str | None:
    """The usage error in the grading options, if any: checked before any grading, so that a
    report that could not be written is said at once, not after the class is graded."""
    from npsae._fileio import check_writable
    from npsae.exercises.catalogue import course
    from npsae.exercises.classroom import resolve_seed
    from npsae.exercises.protection import protection

    if message := _timeout_error(args):
        return message
    try:
        args.protection = protection(args.sandbox)
    except ValueError as err:  # --sandbox require on a kernel that cannot
        return str(err)
    if getattr(args, "jobs", 1) < 1:
        return f"--jobs must be at least 1, not {args.jobs}"
    if message := _overwrite_error(args, outputs):
        return message
    folders = [p.parent for p in outputs if p is not None]
    json_dir = getattr(args, "json_dir", None)
    try:
        for folder in folders if json_dir is None else [*folders, json_dir]:
            check_writable(folder)
        course(args.extra_exercises).select(args.names)
        args.seed = resolve_seed(args.seed)
    except ValueError as err:
        return str(err)
    return None


def _overwrite_error(args: argparse.Namespace, outputs: Iterable[Path | None]) -> str | None:
    """Why one of ``outputs`` may not be written, if one may not: a folder is in the way, or a
    file exists and ``--force`` was not given. Every file the commands write follows this."""
    for path in outputs:
        if path is not None and path.is_dir():
            return f"{path} is a folder: name a file to write"
        if path is not None and path.exists() and not args.force:
            return f"{path} exists: choose another file, or --force to overwrite it"
    return None


def _failed(args: argparse.Namespace, message: object) -> int:
    """Say why the work failed after the grading began (a file that cannot be written, the
    grader's own temporary files on a full disk): one line, exit status 1."""
    common.error(f"exercises {args.action}", message)
    return 1


def _grade(args: argparse.Namespace, folder: Path) -> Submission:
    """``grade_submission`` of ``folder`` with the command's options. An OSError is the
    grader's own (no room for its temporary files, say), raised again as one that says which
    folder was being graded."""
    from npsae.exercises import grade_submission

    try:
        return grade_submission(
            folder,
            args.names,
            seed=args.seed,
            timeout=args.timeout,
            jobs=args.jobs,
            extra_exercises=args.extra_exercises,
            sandbox=args.sandbox,
        )
    except OSError as err:
        raise OSError(f"cannot grade {folder}: {err}") from err


def _metadata_file(gradebook: Path) -> Path:
    """Where ``grade`` says how its gradebook was made: ``NAME.meta.json`` beside ``NAME.csv``."""
    return gradebook.with_name(f"{gradebook.stem}.meta.json")


def _say_sandbox(args: argparse.Namespace) -> None:
    """The one line on what the sandbox does not protect here, on stderr; nothing when it
    protects everything."""
    note = args.protection.note()
    if note is not None:
        print(f"npsae exercises {args.action}: {note}", file=sys.stderr)


def run_list(args: argparse.Namespace) -> int:
    from npsae.exercises.catalogue import course
    from npsae.exercises.exercise import DIFFICULTIES

    try:
        chosen = course(args.extra_exercises)
    except ValueError as err:
        return _usage_error(args, err)
    exercises = chosen.exercises.values()
    width = max(len(e.name) for e in exercises)
    level = max(len(d) for d in DIFFICULTIES.values())
    for e in exercises:
        after = ", ".join(str(chosen.number(n)) for n in e.builds_on) or "-"
        print(
            f"{chosen.number(e.name):2d}. {e.name:<{width}}  {e.points:>2} pts  "
            f"{DIFFICULTIES[e.difficulty]:<{level}}  builds on {after:<11}  {e.summary}"
        )
    return 0


def run_start(args: argparse.Namespace) -> int:
    from npsae.exercises import start

    status = _write(
        "start",
        lambda: start(args.dir, args.names, args.force, args.extra_exercises),
        "existing files are your work: start never overwrites them without --force",
    )
    if status == 0:
        print(f"Next: fill in the functions, then run  python -m npsae exercises check {args.dir}")
    return status


def run_solutions(args: argparse.Namespace) -> int:
    from npsae.exercises import write_solutions

    return _write(
        "solutions",
        lambda: write_solutions(args.dir, args.names, args.extra_exercises),
        "existing files are never overwritten",
    )


def _write(action: str, write: Callable[[], tuple[list, list]], kept_note: str) -> int:
    """Run ``write()`` (-> written paths, kept paths) and say what it wrote and kept."""
    try:
        written, kept = write()
    except ValueError as err:
        common.error(f"exercises {action}", err)
        return 2
    except OSError as err:
        common.error(f"exercises {action}", err)
        return common.os_error_status(err)
    common.report_files(written, kept, kept_note)
    return 0


def run_check(args: argparse.Namespace) -> int:
    from npsae._fileio import write_file
    from npsae.exercises import reports
    from npsae.exercises.isolation import become_subreaper

    error = _check_options(args, args.out)
    if error:
        return _usage_error(args, error)
    become_subreaper()
    try:
        submission = _grade(args, args.dir)
    except OSError as err:
        return _failed(args, err)
    report = text = reports.text(submission, explain=args.explain)
    if args.format != "text":
        data = (
            reports.as_json(submission) if args.format == "json" else reports.gradescope(submission)
        )
        report = json.dumps(data, indent=2) + "\n"
    if args.out is None:
        sys.stdout.write(report)
        if args.format != "text":  # the text report's line, where no text report is shown
            _say_sandbox(args)
        return 0 if submission.passed else 1
    # The file holds the chosen format; the terminal (or Gradescope's log) the text, which is
    # shown even when the file cannot be written: the grading is not lost.
    sys.stdout.write(text)
    try:
        write_file(args.out, report)
    except OSError as err:
        return _failed(args, err)
    print(f"wrote {args.out}")
    return 0 if submission.passed else 1


def run_grade(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from npsae._fileio import write_file
    from npsae.exercises import reports
    from npsae.exercises.catalogue import course
    from npsae.exercises.classroom import student_folders
    from npsae.exercises.isolation import become_subreaper

    error = _check_options(args, args.csv)
    if error:
        return _usage_error(args, error)
    become_subreaper()
    if not args.submissions.is_dir():
        return _usage_error(args, f"{args.submissions} is not a folder")
    students = student_folders(args.submissions)
    if not students:
        return _usage_error(args, f"{args.submissions} holds no student folders")
    json_files = {
        s: None if args.json_dir is None else args.json_dir / f"{s.name}.json" for s in students
    }
    if message := _overwrite_error(args, [_metadata_file(args.csv), *json_files.values()]):
        return _usage_error(args, message)
    _say_sandbox(args)
    names = [e.name for e in course(args.extra_exercises).select(args.names)]
    header = reports.gradebook_header(names)
    meta = reports.gradebook_metadata(args.seed, names, args.timeout, args.protection)
    rows = []
    start = time.perf_counter()
    # Closed before an error is said, so that the error is a line of its own, not the bar's end.
    with tqdm(students, unit="student", file=sys.stderr, desc="grading") as progress:
        try:
            for folder in progress:
                submission = _grade(args, folder)
                rows.append(reports.gradebook_row(folder.name, submission))
                # Rewritten after every student: an interrupted run keeps those graded so far.
                text = io.StringIO()
                csv.writer(text, lineterminator="\n").writerows([header, *rows])
                write_file(args.csv, text.getvalue())
                if json_files[folder] is not None:
                    result = json.dumps(reports.as_json(submission), indent=2)
                    write_file(json_files[folder], result)
            # Once the class is graded: how the gradebook was made.
            meta["students"] = len(rows)
            write_file(_metadata_file(args.csv), json.dumps(meta, indent=2) + "\n")
        except OSError as err:
            # No point grading on: the gradebook keeps the students written before.
            failed: OSError | None = err
        else:
            failed = None
    if failed is not None:
        return _failed(args, failed)
    seconds = time.perf_counter() - start
    print(
        f"graded {len(students)} students in {seconds:.1f} s (seed {args.seed}); "
        f"gradebook: {args.csv} (how it was made: {_metadata_file(args.csv).name})"
    )
    return 0


def run_autograder(args: argparse.Namespace) -> int:
    from npsae.exercises.autograder import write_autograder
    from npsae.exercises.classroom import resolve_seed

    if message := _timeout_error(args):
        return _usage_error(args, message)
    try:
        seed = resolve_seed(args.seed)
        files = write_autograder(
            args.out, seed, args.timeout, args.names, args.extra_exercises, args.sandbox
        )
    except ValueError as err:
        return _usage_error(args, err)
    except OSError as err:
        common.error(f"exercises {args.action}", err)
        return common.os_error_status(err)
    print(f"wrote {len(files)} files into {args.out} (hidden cases: seed {seed})")
    print(f"Upload {args.out / 'autograder.zip'} to Gradescope; see {args.out / 'README.md'}.")
    return 0
