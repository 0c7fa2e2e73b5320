"""The classroom autograder: each attack a student file can make gets less than full marks within
the time limit, a correct submission gets full marks, seeds, points, the formats a course uses
(Gradescope's results.json, the gradebook CSV, the autograder folder) and written questions."""

import csv
import json
import os
import subprocess
import sys
import time

import numpy as np
import pytest
from student_files import write_submission

from npsae import exercises
from npsae.cli import main
from npsae.exercises import wire
from npsae.exercises.answers import PLACEHOLDER, answer_blocks
from npsae.exercises.casefns import CaseFunction
from npsae.exercises.scoring import plan

NAMES = [e.name for e in exercises.list_exercises()]
TOTAL = sum(e.points for e in exercises.list_exercises())
# Short limits keep the suite fast; a busy machine still starts Python and NumPy in this time.
TIMEOUT = 4.0
# Time allowed beyond the limit: starting processes, planning, judging, on a shared machine.
SLACK = 12.0


def grade(folder, names=None, seed=0, timeout=TIMEOUT):
    start = time.perf_counter()
    submission = exercises.grade_submission(folder, names, seed=seed, timeout=timeout)
    return submission, time.perf_counter() - start


def importers(module):
    """The exercises whose solution file imports the student's file ``module``."""
    return {
        e.name
        for e in exercises.list_exercises()
        if f"from {module} " in exercises.solution_source(e.name)
    }


def result(submission, name):
    (found,) = [r for r in submission.results if r.name == name]
    return found


# --------------------------------------------------------------------------- correct work


def test_correct_submission_gets_full_marks(tmp_path):
    submission, seconds = grade(write_submission(tmp_path), seed=5, timeout=20)
    assert all(r.passed for r in submission.results), [str(r) for r in submission.results]
    assert submission.score == submission.max_score == TOTAL
    for r in submission.results:
        assert r.score == r.max_score == exercises.get(r.name).points
        assert {g.name for g in r.groups} >= {"public values", "shapes and dtypes"}
        assert all(g.passed == g.total for g in r.groups)
    assert seconds < 60


def test_same_seed_same_score_and_other_seed_other_hidden_cases(tmp_path):
    # A classic mistake, wrong on every case: the score depends on the hidden cases only
    # through their number, so compare the hidden inputs themselves too.
    write_submission(
        tmp_path, {"mse": exercises.solution_source("sse").replace("def sse", "def mse")}
    )
    first, _ = grade(tmp_path, ["sigmoid", "mse"], seed=11)
    again, _ = grade(tmp_path, ["sigmoid", "mse"], seed=11)
    assert [(r.status, r.score, r.message) for r in first.results] == [
        (r.status, r.score, r.message) for r in again.results
    ]
    assert first.seed == 11 and result(first, "mse").score < 2
    sigmoid = exercises.get("sigmoid")
    hidden = {s: [p.case.args[0] for p in plan(sigmoid, s) if p.kind == "hidden"] for s in (1, 2)}
    public = [p.case.args[0] for p in plan(sigmoid, 1) if p.kind != "hidden"]
    assert len(hidden[1]) == len(hidden[2]) > 0
    assert not any(np.array_equal(a, b) for a, b in zip(hidden[1], hidden[2], strict=True))
    again = [p.case.args[0] for p in plan(sigmoid, 1) if p.kind == "hidden"]
    assert all(np.array_equal(a, b) for a, b in zip(hidden[1], again, strict=True))
    assert not any(np.array_equal(a, b) for a in hidden[1] for b in public if a.shape == b.shape)


def test_seed_from_environment_is_used_and_recorded(tmp_path, monkeypatch):
    monkeypatch.setenv("NPSAE_GRADING_SEED", "1234")
    submission, _ = grade(tmp_path, ["sigmoid"], seed=None)
    assert submission.seed == 1234
    monkeypatch.delenv("NPSAE_GRADING_SEED")
    # Without either, a fresh seed each time (two draws of 2^31 values: equal once in 2e9).
    seeds = {grade(tmp_path, ["sigmoid"], seed=None)[0].seed for _ in range(2)}
    assert len(seeds) == 2


def test_the_autograder_takes_the_seed_from_the_environment(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("NPSAE_GRADING_SEED", "4321")
    assert main(["exercises", "autograder", str(tmp_path / "ag"), "sigmoid"]) == 0
    assert "seed 4321" in capsys.readouterr().out
    assert "--seed 4321 " in (tmp_path / "ag" / "run_autograder").read_text()


# --------------------------------------------------------------------------- the attacks

SIGMOID_OK = exercises.solution_source("sigmoid")


@pytest.mark.parametrize(
    "source",
    [
        "def sigmoid(Z):\n    while True:\n        pass\n",
        "while True:\n    pass\n",
    ],
    ids=["in-function", "at-import"],
)
def test_a_hang_is_a_verdict_within_the_limit(tmp_path, source):
    write_submission(tmp_path, {"sigmoid": source})
    submission, seconds = grade(tmp_path, ["sigmoid", "mse"], timeout=TIMEOUT)
    assert seconds < TIMEOUT + SLACK
    r = result(submission, "sigmoid")
    assert not r.passed and r.score == 0
    assert f"timed out after {TIMEOUT:g} s" in r.message and "infinite loop" in r.message
    assert result(submission, "mse").passed


def test_a_timeout_keeps_the_cases_finished_before_it(tmp_path):
    # Hangs on the float64 cases only: the float32 cases before them still earn points.
    write_submission(
        tmp_path,
        {
            "sigmoid": SIGMOID_OK + "\n_ok = sigmoid\n\ndef sigmoid(Z):\n"
            "    while Z.dtype == 'float64':\n        pass\n    return _ok(Z)\n"
        },
    )
    submission, seconds = grade(tmp_path, ["sigmoid"])
    r = result(submission, "sigmoid")
    assert seconds < TIMEOUT + SLACK
    # The finished cases count; a function that never ends on some value cases is wrong on
    # them, and scores no values group.
    public = next(g for g in r.groups if g.name == "public values")
    assert "timed out" in r.message and 0 < public.passed < public.total
    assert r.score < r.max_score
    assert r.diagnostics[0].startswith("case 4 of 9: float64")


@pytest.mark.parametrize(
    "source",
    [
        "exit()\n",
        "import sys\nsys.exit(0)\n",
        "import os\nos._exit(0)\n",
        "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)\n",
        "raise KeyboardInterrupt\n",
    ],
    ids=["exit", "sys.exit", "os._exit", "SIGKILL", "KeyboardInterrupt"],
)
def test_leaving_at_import_is_a_verdict_and_grading_goes_on(tmp_path, source, capsys):
    write_submission(tmp_path, {"sigmoid": source + SIGMOID_OK})
    names = ["sigmoid", "forward", "mse", "sse"]
    status = main(["exercises", "check", str(tmp_path), *names, "--seed", "1", "--timeout", "20"])
    out = capsys.readouterr().out
    assert status == 1
    assert out.splitlines()[0].startswith("ERROR sigmoid") and " 0/2 " in out.splitlines()[0]
    # forward imports sigmoid.py, as a student's may: it fails with it; the others pass.
    assert "forward" in importers("sigmoid")
    assert "2 of 4 passed" in out
    points = sum(exercises.get(n).points for n in ("mse", "sse"))
    assert f"score {points} / {sum(exercises.get(n).points for n in names)}" in out


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ("import sys\n    sys.exit(0)", "SystemExit"),
        ("import os\n    os._exit(0)", "exited with status 0 in case 1"),
        ("import os, signal\n    os.kill(os.getpid(), signal.SIGSEGV)", "killed by SIGSEGV"),
        ("raise KeyboardInterrupt", "raised KeyboardInterrupt"),
        ("import numpy as np\n    return np.ones(2**31) * Z.sum()", "MemoryError"),
    ],
    ids=["sys.exit", "os._exit", "SIGSEGV", "KeyboardInterrupt", "MemoryError"],
)
def test_leaving_during_a_call_is_a_verdict(tmp_path, body, words):
    write_submission(tmp_path, {"mse": f"def mse(X_hat, X):\n    {body}\n"})
    submission, seconds = grade(tmp_path, ["mse", "sse"])
    assert seconds < TIMEOUT + SLACK
    r = result(submission, "mse")
    assert not r.passed and r.score < r.max_score and words in r.message, str(r)
    assert result(submission, "sse").passed


def test_patching_the_grader_changes_nothing(tmp_path):
    # mse returns 42 and tries to turn every comparison into a pass: in its own process it can
    # only patch its own copies (and npsae is not there to patch).
    attack = """import numpy as np
import sys

np.allclose = np.array_equal = lambda *a, **k: True
for name, module in list(sys.modules.items()):
    for attr in ("_matches", "_close", "judge", "grade"):
        if hasattr(module, attr):
            setattr(module, attr, lambda *a, **k: True)


def mse(X_hat, X):
    return 42.0
"""
    write_submission(tmp_path, {"mse": attack})
    submission, _ = grade(tmp_path, ["mse"])
    r = result(submission, "mse")
    assert not r.passed and r.score < r.max_score / 2


@pytest.mark.parametrize(
    "source",
    [
        "from npsae.reference import sigmoid\n",
        "import importlib\nsigmoid = importlib.import_module('npsae.reference').sigmoid\n",
        "sigmoid = __import__('npsae.reference', fromlist=['x']).sigmoid\n",
        "from reexport import sigmoid\n",
    ],
    ids=["import", "importlib", "__import__", "re-export"],
)
def test_no_answers_by_import(tmp_path, source):
    write_submission(tmp_path, {"sigmoid": source})
    (tmp_path / "reexport.py").write_text("from npsae.reference import sigmoid\n")
    submission, _ = grade(tmp_path, ["sigmoid", "forward"])
    r = result(submission, "sigmoid")
    assert r.status == exercises.ERROR and r.score == 0
    assert "exercises are graded without npsae: write the function yourself" in r.message
    # The student's own sibling files stay importable: forward imports sigmoid.py.
    assert result(submission, "forward").status != exercises.PASSED
    write_submission(tmp_path, {})
    assert result(grade(tmp_path, ["forward"])[0], "forward").passed


def test_fitting_the_public_cases_fails_the_hidden_ones(tmp_path):
    # The student memorised the answer of every public case, and returns zeros elsewhere.
    sigmoid = exercises.get("sigmoid")
    table = {
        str(p.case.args[0].shape) + p.case.args[0].tobytes().hex(): sigmoid.spec.reference(
            p.case.args[0]
        ).tolist()
        for p in plan(sigmoid, 0)
        if p.kind != "hidden"
    }
    source = f"""import numpy as np

TABLE = {table!r}


def sigmoid(Z):
    known = TABLE.get(str(Z.shape) + Z.tobytes().hex())
    return np.zeros_like(Z) if known is None else np.array(known, dtype=Z.dtype).reshape(Z.shape)
"""
    write_submission(tmp_path, {"sigmoid": source})
    r = result(grade(tmp_path, ["sigmoid"], seed=3)[0], "sigmoid")
    groups = {g.name: g for g in r.groups}
    assert groups["public values"].passed == groups["public values"].total
    assert groups["hidden values"].passed == 0 and groups["hidden values"].hidden
    assert not r.passed and r.score < r.max_score
    # The failure says it is hidden, and shows neither inputs nor expected values.
    assert (
        r.diagnostics[0].startswith("hidden case 1 of") and "inputs not shown" in r.diagnostics[0]
    )
    assert len(r.diagnostics) == 1


def test_form_without_right_values_scores_nothing(tmp_path):
    # Zeros of the right shape and dtype (right only on the empty edge case), and a debugging
    # stub handed in as it was given: right in form, wrong in value, they score nothing.
    zeros = "import numpy as np\n\n\ndef sigmoid(Z):\n    return np.zeros_like(Z)\n"
    stub = exercises.stub_source("debug_adamw")
    write_submission(tmp_path, {"sigmoid": zeros, "debug_adamw": stub})
    submission, _ = grade(tmp_path, ["sigmoid", "debug_adamw"], seed=2)
    for r in submission.results:
        groups = {g.name: g for g in r.groups}
        assert groups["shapes and dtypes"].passed == groups["shapes and dtypes"].total, r.name
        assert groups["shapes and dtypes"].note and r.score == 0.0, (r.name, r.groups)
    assert submission.score == 0.0


def test_fake_pass_lines_in_the_output_change_nothing(tmp_path, capsys):
    fake = "\\n".join(f"PASS  {n}  2/2  passed" for n in NAMES) + f"\\nscore {TOTAL} / {TOTAL}"
    source = f"""import atexit
import sys

print("{fake}")
print("\\x1b[2J\\x1b[H", end="")
atexit.register(lambda: print("{fake}"))


def mse(X_hat, X):
    print("{fake}")
    sys.stdout.flush()
    return 42.0
"""
    write_submission(tmp_path, {"mse": source})
    status = main(["exercises", "check", str(tmp_path), "mse", "--seed", "1"])
    out = capsys.readouterr().out
    assert status == 1
    assert [line for line in out.splitlines() if line.startswith("PASS")] == []
    assert out.splitlines()[0].startswith("FAIL  mse")
    assert "score 0 / 2" in out and "\x1b" not in out
    # What the student printed is shown apart, every line marked, and only its first few KB.
    shown = [line for line in out.splitlines() if line.lstrip().startswith("| ")]
    assert shown and all("| " in line for line in shown)


def test_exit_in_an_atexit_hook_changes_nothing(tmp_path):
    source = "import atexit, os, sys\natexit.register(lambda: sys.exit(3))\n"
    write_submission(
        tmp_path,
        {"sigmoid": source + SIGMOID_OK, "mse": source + "def mse(a, b):\n    return 42.0\n"},
    )
    submission, _ = grade(tmp_path, ["sigmoid", "mse"])
    assert result(submission, "sigmoid").passed
    assert not result(submission, "mse").passed


def test_fake_result_files_in_the_exchange_folder_are_not_results(tmp_path):
    # The student's process runs in the exchange folder: it forges every result file there,
    # then leaves before the runner can write the real ones.
    source = """import os

for i in range(50):
    with open(f"case-{i}.npz", "wb") as f:
        f.write(b"PK\\x03\\x04 all passed")


def mse(X_hat, X):
    os._exit(0)
"""
    write_submission(tmp_path, {"mse": source})
    r = result(grade(tmp_path, ["mse"])[0], "mse")
    assert not r.passed and r.score == 0
    assert "could not read" in r.message


def outliving(marker, escape=""):
    """A correct sigmoid file that first forks a process which, 3 s later, creates ``marker``;
    ``escape`` runs in the fork first (e.g. setsid and a second fork)."""
    return f"""import os
import time

if os.fork() == 0:
    {escape}
    time.sleep(3)
    open({str(marker)!r}, "w").close()
    os._exit(0)

{SIGMOID_OK}"""


def test_a_forked_process_dies_with_the_exercise(tmp_path):
    marker = tmp_path / "still-alive"
    write_submission(tmp_path, {"sigmoid": outliving(marker)})
    r = result(grade(tmp_path, ["sigmoid"])[0], "sigmoid")
    assert r.passed
    time.sleep(4)
    assert not marker.exists()


def test_a_process_that_leaves_its_group_dies_with_the_command(tmp_path):
    # A double fork and setsid escape the process group; the command adopts the orphan (Linux's
    # child subreaper) and kills it. Run as a command, in a process of its own.
    marker = tmp_path / "still-alive"
    escape = "os.setsid()\n    if os.fork():\n        os._exit(0)"
    write_submission(tmp_path, {"sigmoid": outliving(marker, escape)})
    command = ["exercises", "check", str(tmp_path), "sigmoid", "--seed", "1"]
    done = subprocess.run(
        [sys.executable, "-m", "npsae", *command], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stdout + done.stderr
    time.sleep(4)
    assert not marker.exists()


def test_printing_forever_is_cut(tmp_path):
    source = "def mse(X_hat, X):\n    while True:\n        print('x' * 1000)\n"
    write_submission(tmp_path, {"mse": source})
    submission, seconds = grade(tmp_path, ["mse"])
    r = result(submission, "mse")
    assert seconds < TIMEOUT + SLACK and not r.passed
    assert len(r.output) < 4096 + 100 and "only the first 4096 bytes" in r.output


# --------------------------------------------------------------------------- never dies


def test_broken_submissions_get_verdicts_and_the_summary_prints(tmp_path, capsys):
    folder = tmp_path / "student"
    write_submission(folder)
    (folder / "sigmoid.py").write_text("def sigmoid(Z):\n    return 1 / (1 +\n")
    (folder / "sigmoid_grad.py").unlink()
    (folder / "forward.py").write_text("def forwards(X, W1, b1, W2, b2):\n    pass\n")
    (folder / "mse.py").write_bytes(b'def mse(X_hat, X):\n    return "caf\xe9"\n')
    status = main(["exercises", "check", str(folder), "--seed", "2", "--timeout", "20"])
    out = capsys.readouterr().out
    assert status == 1
    lines = {
        line.split()[1]: line for line in out.splitlines() if line[:5].strip() in ("ERROR", "FAIL")
    }
    assert "SyntaxError at sigmoid.py, line 2" in lines["sigmoid"]
    assert "sigmoid_grad.py not found" in lines["sigmoid_grad"]
    assert "defines no function forward()" in lines["forward"]
    assert "mse.py" in lines["mse"] and "utf-8" in lines["mse"].lower()
    # So do the exercises whose files import the broken ones.
    failing = {"sigmoid", "sigmoid_grad", "forward", "mse"}
    failing |= importers("sigmoid") | importers("sigmoid_grad")
    assert set(lines) == failing and f"{len(NAMES) - len(failing)} of {len(NAMES)} passed" in out
    empty = tmp_path / "empty"
    empty.mkdir()
    status = main(["exercises", "check", str(empty), "--seed", "2"])
    out = capsys.readouterr().out
    assert status == 1 and out.count("not found") == len(NAMES) and f"score 0 / {TOTAL}" in out


def test_a_submitted_folder_inside_the_submission_is_found(tmp_path):
    write_submission(tmp_path / "upload" / "my_exercises")
    submission, _ = grade(tmp_path / "upload", ["sigmoid"])
    assert submission.folder == tmp_path / "upload" / "my_exercises"
    assert result(submission, "sigmoid").passed


# --------------------------------------------------------------------------- formats

# Gradescope's results.json: the fields it reads, and their types.
TOP_FIELDS = {"score": (int, float), "execution_time": (int, float), "output": str, "tests": list}
OPTIONAL_TOP = {
    "visibility": str,
    "stdout_visibility": str,
    "extra_data": dict,
    "output_format": str,
}
TEST_FIELDS = {
    "name": str,
    "number": str,
    "score": (int, float),
    "max_score": (int, float),
    "output": str,
    "visibility": str,
}
OPTIONAL_TEST = {"status": str, "tags": list}
VISIBILITIES = {"visible", "hidden", "after_due_date", "after_published"}


def validate_results_json(data):
    """Assert that ``data`` is a results.json as Gradescope documents it."""
    for field, kind in TOP_FIELDS.items():
        assert isinstance(data[field], kind), field
    for field, kind in OPTIONAL_TOP.items():
        assert field not in data or isinstance(data[field], kind), field
    assert set(data) <= set(TOP_FIELDS) | set(OPTIONAL_TOP)
    assert data.get("visibility", "visible") in VISIBILITIES
    numbers = []
    for test in data["tests"]:
        for field, kind in TEST_FIELDS.items():
            assert isinstance(test[field], kind), (field, test)
        for field, kind in OPTIONAL_TEST.items():
            assert field not in test or isinstance(test[field], kind), (field, test)
        assert set(test) <= set(TEST_FIELDS) | set(OPTIONAL_TEST)
        assert test["visibility"] in VISIBILITIES
        assert test.get("status", "passed") in ("passed", "failed")
        assert 0 <= test["score"] <= test["max_score"] + 1e-9
        numbers.append(test["number"])
    assert len(numbers) == len(set(numbers))
    auto = sum(t["score"] for t in data["tests"])
    assert abs(auto - data["score"]) < 0.01


def test_gradescope_results_json(tmp_path, capsys):
    folder = write_submission(tmp_path / "sub", {"mse": "def mse(X_hat, X):\n    return 42.0\n"})
    (folder / exercises.get("sigmoid").filename).write_text(
        answered("sigmoid", "Because log(0) is -inf.")
    )
    out_file = tmp_path / "results.json"
    names = ["sigmoid", "sigmoid_grad", "mse", "parse_idx_header", "gradient_check"]
    status = main(
        [
            "exercises",
            "check",
            str(folder),
            *names,
            "--format",
            "gradescope",
            "--output",
            str(out_file),
            "--seed",
            "9",
            "--timeout",
            "20",
        ]
    )
    capsys.readouterr()
    assert status == 1
    data = json.loads(out_file.read_text())
    validate_results_json(data)
    total = sum(exercises.get(n).points for n in names)
    # mse returning 42 is right in form only: it loses all its points, the rest are kept.
    assert data["score"] == total - exercises.get("mse").points
    hidden = [t for t in data["tests"] if "hidden values" in t["name"]]
    assert hidden and all(t["visibility"] == "after_due_date" for t in hidden)
    mse_tests = [t for t in data["tests"] if " mse: " in t["name"]]
    assert any(t["status"] == "failed" for t in mse_tests)
    questions = [t for t in data["tests"] if "written question" in t["name"]]
    assert len(questions) == sum(len(exercises.get(n).questions) for n in names)
    assert all(q["max_score"] == 0 and q["tags"] == ["manual"] for q in questions)
    (sigmoid,) = [q for q in questions if " sigmoid: " in q["name"]]
    assert "Because log(0) is -inf." in sigmoid["output"]
    assert sum("(not answered)" in q["output"] for q in questions) == len(questions) - 1
    assert data["extra_data"]["seed"] == 9 and "seed 9" in data["output"]


def test_json_format(tmp_path, capsys):
    folder = write_submission(
        tmp_path, {"sse": "def sse(X_hat, X):\n    raise NotImplementedError\n"}
    )
    status = main(
        ["exercises", "check", str(folder), "sse", "mse", "--format", "json", "--seed", "4"]
    )
    data = json.loads(capsys.readouterr().out)
    assert status == 1
    assert data["seed"] == 4 and data["max_score"] == 4 and data["score"] == 2
    by_name = {e["name"]: e for e in data["exercises"]}
    assert by_name["sse"]["status"] == "not implemented" and by_name["sse"]["score"] == 0
    assert by_name["mse"]["file"] == "mse.py"
    assert {g["name"] for g in by_name["mse"]["groups"]} == {
        "shapes and dtypes",
        "public values",
        "hidden values",
        "edge cases",
        "inputs left unmodified",
    }


def test_gradebook_of_three_students(tmp_path, capsys):
    class_dir = tmp_path / "submissions"
    write_submission(class_dir / "alice")
    write_submission(
        class_dir / "bob", {"mse": exercises.solution_source("sse").replace("def sse", "def mse")}
    )
    write_submission(
        class_dir / "carol", {"sigmoid": "def sigmoid(Z):\n    while True:\n        pass\n"}
    )
    (class_dir / ".git").mkdir()
    gradebook = tmp_path / "gradebook.csv"
    # Every exercise but the training loop, which takes seconds by design: a short limit then
    # stops only carol's hang.
    names = [n for n in NAMES if n != "train"]
    start = time.perf_counter()
    status = main(
        ["exercises", "grade", str(class_dir), *names, "--csv", str(gradebook), "--seed", "7"]
        + ["--timeout", "3", "--json-dir", str(tmp_path / "json")]
    )
    seconds = time.perf_counter() - start
    out = capsys.readouterr().out
    assert status == 0 and seconds < 60 and "graded 3 students" in out
    rows = list(csv.DictReader(gradebook.open()))
    assert [r["student"] for r in rows] == ["alice", "bob", "carol"]
    assert list(rows[0]) == ["student", *names, "total", "max_score"]
    total = sum(exercises.get(n).points for n in names)
    assert {float(r["max_score"]) for r in rows} == {total}
    scores = {r["student"]: float(r["total"]) for r in rows}
    assert scores["alice"] == total
    # bob's mse is the sse, wrong on every case: right in form only, worth nothing.
    assert float(rows[1]["mse"]) == 0 and scores["bob"] == total - exercises.get("mse").points
    # carol's hanging sigmoid costs her its points, and those of forward, which imports it.
    assert float(rows[2]["sigmoid"]) == 0 and float(rows[2]["forward"]) == 0
    assert (
        scores["carol"] == total - exercises.get("sigmoid").points - exercises.get("forward").points
    )
    carol = json.loads((tmp_path / "json" / "carol.json").read_text())
    assert carol["seed"] == 7 and "timed out after 3 s" in carol["exercises"][0]["message"]


def test_run_autograder_like_gradescope(tmp_path, capsys):
    out = tmp_path / "autograder"
    names = ["sigmoid", "forward", "sse", "parse_idx_header"]
    assert (
        main(["exercises", "autograder", str(out), *names, "--seed", "21", "--timeout", "20"]) == 0
    )
    capsys.readouterr()
    for name in (
        "setup.sh",
        "run_autograder",
        "README.md",
        "autograder.zip",
        "npsae-package/pyproject.toml",
        "npsae-package/npsae/exercises/runner.py",
    ):
        assert (out / name).is_file(), name
    assert os.access(out / "run_autograder", os.X_OK)
    root = tmp_path / "gradescope"
    write_submission(root / "submission", {"sse": "def sse(X_hat, X):\n    return 0.0\n"})
    env = {**os.environ, "NPSAE_AUTOGRADER_ROOT": str(root), "NPSAE_PYTHON": sys.executable}
    done = subprocess.run(
        ["bash", str(out / "run_autograder")], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    data = json.loads((root / "results" / "results.json").read_text())
    validate_results_json(data)
    assert data["extra_data"]["seed"] == 21
    assert {t["name"].split(":")[0].split()[1] for t in data["tests"]} == set(names)
    total = sum(exercises.get(n).points for n in names)
    assert total - exercises.get("sse").points <= data["score"] < total
    # Writing over an existing autograder is refused.
    assert main(["exercises", "autograder", str(out)]) == 2


# --------------------------------------------------------------------------- written questions


def answered(name, *answers):
    """The solution of exercise ``name`` with its answer blocks, filled with ``answers``."""
    blocks = answer_blocks(exercises.get(name).questions)
    for answer in answers:
        blocks = blocks.replace(PLACEHOLDER, answer, 1)
    return f"{exercises.solution_source(name)}\n\n{blocks}"


def test_written_questions_are_collected_not_graded(tmp_path):
    exercise = exercises.get("sigmoid_grad")
    assert exercise.questions
    stub = exercises.stub_source(exercise.name)
    assert "ANSWER_1 = " in stub and "graded by your instructor" in stub
    path = tmp_path / exercise.filename
    path.write_text(stub)
    r = exercises.check_dir(tmp_path, [exercise.name], seed=1)[0]
    assert r.status == exercises.NOT_IMPLEMENTED and r.answers[0].answer == ""
    answer = "At z = 0, where it is 1/4.\nA saturated unit gets almost no gradient."
    path.write_text(answered(exercise.name, answer) + "\nthis line is not Python\n")
    # A syntax error elsewhere does not hide the answers: they are read as text.
    r = exercises.check_dir(tmp_path, [exercise.name], seed=1)[0]
    assert r.status == exercises.ERROR and r.answers[0].answer == answer
    path.write_text(answered(exercise.name, answer))
    r = exercises.check_dir(tmp_path, [exercise.name], seed=1)[0]
    assert r.passed and r.score == r.max_score == exercise.points
    assert r.answers[0].question == exercise.questions[0]


# --------------------------------------------------------------------------- the wire format


def test_wire_round_trip_keeps_values_types_and_identity(tmp_path):
    x = np.arange(6.0).reshape(2, 3)
    f = CaseFunction("sin_cubic", {"w": np.ones(3)})
    g = CaseFunction("tanh_square_of", {"x": x, "w": x * 2})
    message = [
        np.ma.masked_array(x),
        x,
        np.float32(1.5),
        float("nan"),
        -0.0,
        10**30,
        True,
        None,
        "text",
        b"\x00\x01",
        np.dtype(">i4"),
        (1, [2, 3]),
        {"a": x},
        f,
        g,
    ]
    wire.write(tmp_path / "m.npz", message, CaseFunction)
    back = wire.read(tmp_path / "m.npz", CaseFunction)
    assert type(back.pop(0)) is np.ndarray  # a subclass comes back as its plain data
    assert np.array_equal(back[0], x) and back[1] == np.float32(1.5) and type(back[1]) is np.float32
    assert np.isnan(back[2]) and np.copysign(1, back[3]) == -1 and back[4] == 10**30
    assert back[5:10] == [True, None, "text", b"\x00\x01", np.dtype(">i4")]
    assert back[10] == (1, [2, 3])
    # One array object in, one array object out: the case function reads the array itself.
    assert back[11]["a"] is back[0] and back[13].data["x"] is back[0]
    assert back[12](np.zeros(3)) == f(np.zeros(3))


def test_wire_refuses_forged_files(tmp_path):
    bad = tmp_path / "bad.npz"
    np.savez(bad, a=np.array([object()], dtype=object))
    with pytest.raises(wire.WireError):
        wire.read(bad)
    bad.write_bytes(b"PK not a zip")
    with pytest.raises(wire.WireError):
        wire.read(bad)
    # A header that claims far more data than the file holds is refused before allocating.
    import io
    import zipfile

    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buffer, {"descr": "<f8", "fortran_order": False, "shape": (10**9, 10**3)}
    )
    with zipfile.ZipFile(bad, "w") as z:
        z.writestr("__skeleton__.npy", buffer.getvalue())
    with pytest.raises(wire.WireError, match="larger than its data"):
        wire.read(bad)
    assert isinstance(
        wire.decode({"t": "opaque", "type": "Thing", "v": "Thing()"}, {}), wire.Opaque
    )
    with pytest.raises(wire.WireError):
        wire.decode({"t": "array", "a": "a9"}, {})


def test_the_batches_a_training_loop_gives_backward_decay_are_seen_from_its_process(tmp_path):
    # Graded apart, a loop that shuffles once, before its epochs, is seen doing so.
    exercises.write_solutions(tmp_path)
    path = tmp_path / exercises.get("train").filename
    source = path.read_text()
    once = "    order = rng.permutation(n)\n    for _ in range(epochs):\n"
    every = "    for _ in range(epochs):\n        order = rng.permutation(n)\n"
    path.write_text(source.replace(every, once))
    (found,) = exercises.check_dir(tmp_path, ["train"], seed=0, timeout=60)
    assert "the same order every epoch" in found.message and found.score == 0
    # What the runner writes of those calls is checked like the rest: arrays of floats only.
    from npsae.exercises.isolation import _observation

    case = tmp_path / "case-0.npz"
    for calls, damaged in (([np.arange(3.0)], False), (["rows"], True), ("rows", True)):
        wire.write(case, {"value": 1.0, "after": [], "calls": calls})
        seen = _observation(case)
        assert bool(seen.problem) == damaged, calls
        assert damaged or seen.calls[0].tolist() == [0.0, 1.0, 2.0]


def test_gradebook_rows_never_hold_a_formula(tmp_path):
    from npsae.exercises import reports
    from npsae.exercises.classroom import Submission
    from npsae.exercises.grading import Result

    done = Submission(
        tmp_path, (Result("mse", "passed", "passed", score=2.0, max_score=2.0),), 0, 1
    )
    for name in ('=HYPERLINK("x")', "+1", "-2", "@SUM(A1)"):
        assert reports.gradebook_row(name, done) == [f"'{name}", "2", "2", "2"]
    assert reports.gradebook_row("alice", done)[0] == "alice"
