"""Exercises known by their names: an instructor's own exercise joins the course from a folder of
theirs, in the middle, with no file of npsae changed; the generic rules of the tests follow the
registry; students' files handed out under older names (``exNN_NAME.py``) are still graded."""

import csv
import hashlib
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from student_files import write_submission

from npsae import exercises
from npsae.cli import main
from npsae.exercises.catalogue import COURSE

ROOT = Path(__file__).resolve().parent.parent

SPEC = '''
import numpy as np

from npsae.exercises.exercise import FLOATS, Exercise, case_label
from npsae.exercises.grading import COMMON_MISTAKES, Case, Spec, buggy

AFTER = "sse"


def _reference(X_hat, X):
    return (X_hat - X) / X.shape[0]


def _cases(rng):
    cases = []
    for dt in FLOATS:
        for m, n in ((5, 7), (16, 3), (2, 4)):
            X = rng.random((m, n))
            X_hat = X + rng.normal(0, 0.2, (m, n))
            label = case_label(dt, X_hat=(m, n), X=(m, n))
            cases.append(Case(label, (X_hat.astype(dt), X.astype(dt)), dt, m))
    return cases


EXERCISE = Exercise(
    name="sse_grad",
    derived=True,
    difficulty=2,
    builds_on=("sse",),
    summary="the gradient of the sse with respect to the reconstruction",
    signature="(X_hat: np.ndarray, X: np.ndarray) -> np.ndarray",
    doc="""
The gradient dL/dX^ of L = sse(X^, X) = sum_ik (X^_ik - X_ik)^2 / (2 m): derive it.

Args:
    X_hat: (m, n), the reconstruction; X: (m, n), the batch. float32 or float64.

Returns:
    (m, n), the dtype of X.
""",
    spec=Spec(
        reference=_reference,
        cases=_cases,
        params=("X_hat", "X"),
        mistakes=(
            buggy("forgot the 1/m of the sse", lambda X_hat, X: X_hat - X),
            *COMMON_MISTAKES,
        ),
    ),
)
'''

SOLUTION = '''"""Solution of sse_grad: the sse's gradient."""

import numpy as np


def sse_grad(X_hat: np.ndarray, X: np.ndarray) -> np.ndarray:
    m = X.shape[0]
    return np.subtract(X_hat, X) / m  # key
'''


def extra_folder(folder: Path, spec: str = SPEC, solution: str = SOLUTION) -> Path:
    """A folder of an instructor's exercises holding ``sse_grad`` (after ``sse``)."""
    (folder / "sse_grad").mkdir(parents=True)
    (folder / "sse_grad" / "spec.py").write_text(spec)
    (folder / "sse_grad" / "solution.py").write_text(solution)
    return folder


def fingerprint(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` (no caches), by its path: its content's hash."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts and ".git" not in p.parts
    }


def run(argv, capsys):
    status = main(["exercises", *map(str, argv)])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_an_instructors_exercise_joins_the_middle_of_the_course(tmp_path, capsys, monkeypatch):
    before = {name: fingerprint(ROOT / name) for name in ("npsae", "tests")}
    extra = extra_folder(tmp_path / "my_exercises")
    course = exercises.course(extra)
    built_in = [e.name for e in COURSE]
    at = built_in.index("sse") + 1
    assert list(course.exercises) == [*built_in[:at], "sse_grad", *built_in[at:]]
    assert course.number("sse_grad") == at + 1 and course.number("train") == len(built_in) + 1
    # The built-in course is left as it was.
    assert "sse_grad" not in exercises.course().exercises

    # Listed, numbered by its place, "builds on" shown by number.
    status, out, _ = run(["list", "--extra-exercises", extra], capsys)
    lines = out.splitlines()
    assert status == 0 and len(lines) == len(built_in) + 1
    assert lines[at].split()[:2] == [f"{at + 1}.", "sse_grad"] and f"builds on {at} " in lines[at]

    # Its stub is written with the others, by its name, numbered in the new course.
    handout = tmp_path / "handout"
    status, out, _ = run(["start", handout, "--extra-exercises", extra], capsys)
    stub = (handout / "sse_grad.py").read_text()
    assert status == 0 and out.count("wrote ") == len(built_in) + 1
    assert stub.startswith(f'"""Exercise {at + 1} of {len(built_in) + 1}: sse_grad')
    assert "NotImplementedError" in stub and "np.subtract(X_hat, X) / m" not in stub

    # Its solution passes check (every exercise, in their own processes) and grade.
    answers = tmp_path / "class" / "alice"
    status, _, _ = run(["solutions", answers, "--extra-exercises", extra], capsys)
    assert status == 0 and (answers / "sse_grad.py").read_text() == SOLUTION
    status, out, _ = run(["check", answers, "sse", "sse_grad", "--extra-exercises", extra], capsys)
    assert status == 0 and "PASS  sse_grad" in out and "2 of 2 passed" in out, out
    gradebook = tmp_path / "gradebook.csv"
    argv = ["grade", tmp_path / "class", "sse_grad", "--csv", gradebook, "--seed", "3"]
    assert run([*argv, "--extra-exercises", extra], capsys)[0] == 0
    (row,) = csv.DictReader(gradebook.open())
    points = exercises.get("sse_grad", extra).points
    assert float(row["sse_grad"]) == points == float(row["max_score"])

    # $NPSAE_EXERCISES is the same option; Gradescope's report numbers it by its place.
    monkeypatch.setenv("NPSAE_EXERCISES", str(extra))
    results = tmp_path / "results.json"
    status, _, _ = run(
        ["check", answers, "sse_grad", "--format", "gradescope", "--out", results], capsys
    )
    tests = json.loads(results.read_text())["tests"]
    assert (
        status == 0 and tests and all(t["name"].startswith(f"{at + 1:02d} sse_grad") for t in tests)
    )
    assert sum(t["score"] for t in tests) == points

    # A wrong answer is graded like a built-in one: the catalogued mistake, then its mutants.
    wrong = tmp_path / "bob"
    (wrong / "sse_grad.py").parent.mkdir()
    (wrong / "sse_grad.py").write_text(SOLUTION.replace("/ m", "/ (2 * m)"))
    (result,) = exercises.check_dir(wrong, ["sse_grad"], seed=1)
    assert not result.passed and "factor of 1/2" in result.message, str(result)
    (wrong / "sse_grad.py").write_text(SOLUTION.replace("X.shape[0]", "X.shape[1]"))
    (result,) = exercises.check_dir(wrong, ["sse_grad"], seed=1)
    assert not result.passed and "X.shape[1] where X.shape[0] belongs" in str(result), str(result)
    assert exercises.get("sse_grad").spec.mutants()

    # No file of npsae (or of its tests) changed.
    assert {name: fingerprint(ROOT / name) for name in ("npsae", "tests")} == before


def test_the_autograder_carries_an_instructors_exercises(tmp_path, capsys):
    extra = extra_folder(tmp_path / "my_exercises")
    out = tmp_path / "autograder"
    argv = ["autograder", out, "sse", "sse_grad", "--seed", "5", "--timeout", "20"]
    assert run([*argv, "--extra-exercises", extra], capsys)[0] == 0
    assert (out / "extra-exercises" / "sse_grad" / "spec.py").read_text() == SPEC
    # Gradescope copies run_autograder out of the unzipped source: it finds the folder there.
    root = tmp_path / "gradescope"
    (root / "source").mkdir(parents=True)
    (root / "source" / "extra-exercises").symlink_to(out / "extra-exercises")
    (root / "run_autograder").write_text((out / "run_autograder").read_text())
    write_submission(root / "submission")
    env = {**os.environ, "NPSAE_AUTOGRADER_ROOT": str(root), "NPSAE_PYTHON": sys.executable}
    env.pop("NPSAE_EXERCISES", None)
    done = subprocess.run(
        ["bash", str(root / "run_autograder")], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    data = json.loads((root / "results" / "results.json").read_text())
    names = {t["name"].split(":")[0].split()[1] for t in data["tests"]}
    assert names == {"sse", "sse_grad"}, data
    # sse_grad.py is no file of the solutions: 0 points for it, full points for sse.
    assert data["score"] == exercises.get("sse").points


def test_generic_rules_follow_the_registry(tmp_path):
    """The tests of every exercise (solutions pass, stubs are not implemented, stub imports,
    ``# key`` lines kept out of stubs and tutorials, a correct answer apart from the reference)
    run on an instructor's exercise too: they iterate over the registry, not a count."""
    extra = extra_folder(tmp_path / "my_exercises")
    selection = [
        "tests/test_exercise_contents.py::test_derived_exercises_mark_their_key_expressions",
        "tests/test_exercise_contents.py::test_stub_does_not_contain_its_solution",
        "tests/test_exercise_contents.py::test_tutorials_do_not_contain_exercise_solutions",
        "tests/test_exercise_contents.py::test_solution_is_plain_numpy",
        "tests/test_exercise_contents.py::test_stub_imports_name_real_exercise_files",
        "tests/test_exercise_contents.py::test_progression_and_metadata",
        "tests/test_exercise_contents.py::test_solution_files_are_the_exercises",
        "tests/test_exercises.py::test_stub_is_not_implemented_and_holds_no_solution",
        "tests/test_exercises.py::test_reference_passes",
        "tests/test_exercises.py::test_right_covers_every_exercise",
        "tests/test_exercises.py::test_list_and_get",
    ]
    env = {**os.environ, "NPSAE_EXERCISES": str(extra)}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rA", "-p", "no:cacheprovider", *selection],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    out = done.stdout
    # The rules that name exercises ran on sse_grad, and every rule passed.
    for rule in (
        "test_stub_does_not_contain_its_solution[sse_grad]",
        "test_solution_is_plain_numpy[sse_grad]",
        "test_stub_imports_name_real_exercise_files[sse_grad]",
        "test_stub_is_not_implemented_and_holds_no_solution[sse_grad]",
        "test_reference_passes[sse_grad]",
    ):
        assert f"PASSED {rule}" in out.replace("tests/test_exercise_contents.py::", "").replace(
            "tests/test_exercises.py::", ""
        ), out
    assert done.returncode == 0 and " failed" not in out, out[-3000:]
    # A rule broken by the new exercise fails: its stub giving the derived answer away.
    leaky = SPEC.replace("derive it.", "it is np.subtract(X_hat, X) / m.")
    extra_folder(tmp_path / "leaky", spec=leaky)
    env["NPSAE_EXERCISES"] = str(tmp_path / "leaky")
    rule = "tests/test_exercise_contents.py::test_stub_does_not_contain_its_solution"
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"{rule}[sse_grad]"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 1 and "the stub of sse_grad holds" in done.stdout, done.stdout


@pytest.mark.parametrize(
    ("files", "words"),
    [
        ({"spec.py": "x = 1\n"}, "spec.py: defines no EXERCISE"),
        ({"spec.py": SPEC.replace('AFTER = "sse"', 'AFTER = "ssse"')}, "AFTER = 'ssse' names no"),
        ({"spec.py": SPEC.replace('name="sse_grad"', 'name="other"')}, "name the folder after"),
        ({"spec.py": SPEC.replace('("sse",)', '("train",)')}, "builds_on names 'train'"),
        ({"solution.py": "def other(X_hat, X):\n    pass\n"}, "defines no function sse_grad()"),
        ({"spec.py": "import no_such_module\n"}, "ModuleNotFoundError"),
    ],
    ids=[
        "no EXERCISE",
        "unknown AFTER",
        "misnamed",
        "builds on a later one",
        "no function",
        "failing import",
    ],  # fmt: skip
)
def test_a_broken_folder_is_a_one_line_error_naming_the_file(tmp_path, capsys, files, words):
    extra = extra_folder(tmp_path / "mine")
    for name, text in files.items():
        (extra / "sse_grad" / name).write_text(text)
    for argv in (["list"], ["start", tmp_path / "s"], ["check", tmp_path / "s"]):
        status, _, err = run([*argv, "--extra-exercises", extra], capsys)
        assert status == 2 and words in err and str(extra) in err, (argv, err)
        assert len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "s").exists()


@pytest.mark.parametrize(
    ("name", "words"),
    [("random", "would hide it"), ("sse", "has an exercise 'sse' already"), ("for", "Python")],
)
def test_an_exercise_name_must_be_a_module_name_of_its_own(tmp_path, capsys, name, words):
    extra = extra_folder(tmp_path / "mine")
    (extra / "sse_grad").rename(extra / name)
    spec = SPEC.replace('name="sse_grad"', f"name={name!r}")
    (extra / name / "spec.py").write_text(spec)
    (extra / name / "solution.py").write_text(SOLUTION.replace("sse_grad", name))
    status, _, err = run(["list", "--extra-exercises", extra], capsys)
    assert status == 2 and words in err, err


def test_built_in_names_shadow_no_module():
    for e in COURSE:
        assert e.name.isidentifier() and e.name not in sys.stdlib_module_names, e.name
        assert e.filename == f"{e.name}.py"


def test_files_of_stubs_handed_out_under_older_names_are_graded(tmp_path, capsys):
    """Stubs handed out as exNN_NAME.py (any number: the course may have changed since) keep
    working, sibling imports included; NAME.py wins over them; two old files are ambiguous."""
    folder = tmp_path / "alice"
    folder.mkdir()
    old = {"sigmoid": "ex01_sigmoid.py", "forward": "ex07_forward.py", "sse": "ex05_sse.py"}
    old["numerical_gradient"] = "ex10_numerical_gradient.py"
    for name, filename in old.items():
        source = exercises.solution_source(name).replace("from sigmoid ", "from ex01_sigmoid ")
        (folder / filename).write_text(source)
    # A stub handed out later imports an earlier exercise by its name: its older file is found.
    new = exercises.solution_source("gradient_check")
    assert "from numerical_gradient import numerical_gradient" in new
    (folder / "gradient_check.py").write_text(new)
    graded = [*old, "gradient_check"]
    submission = exercises.grade_submission(folder, graded, seed=4, timeout=20)
    assert all(r.passed for r in submission.results), [str(r) for r in submission.results]
    assert submission.files == {**old, "gradient_check": "gradient_check.py"}
    # start keeps the student's work under its older name: it writes no sigmoid.py over it.
    written, kept = exercises.start(folder, list(old))
    assert written == [] and sorted(kept) == sorted(folder / f for f in old.values())
    # NAME.py is the file graded when both exist.
    (folder / "sse.py").write_text("def sse(X_hat, X):\n    return 0.0\n")
    status, out, _ = run(["check", folder, "sse", "--format", "json"], capsys)
    (sse,) = json.loads(out)["exercises"]
    assert status == 1 and sse["file"] == "sse.py" and sse["status"] == "failed"
    (folder / "sse.py").unlink()
    (folder / "ex06_sse.py").write_text(exercises.solution_source("sse"))
    (result,) = exercises.check_dir(folder, ["sse"], seed=4)
    assert result.status == exercises.ERROR
    assert "2 files for sse: ex05_sse.py, ex06_sse.py" in result.message


def test_solution_imports_name_exercises_by_name():
    """A solution that reuses another exercise imports it by name, never by number."""
    source = textwrap.dedent(exercises.solution_source("train"))
    assert "from backward_decay import backward_decay" in source
    assert "from adam_step import adam_step" in source
