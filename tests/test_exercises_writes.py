"""Every file the exercises commands write (reports, results.json, the gradebook, the JSON
results, stubs, solutions, the autograder) is written whole or not at all: a full disk, a
read-only folder or a folder where the file should be gives one line ``npsae exercises CMD:
error: cannot write PATH: REASON`` and exit status 1, never a traceback, a half-written file, a
temporary file left behind, or a user's file overwritten."""

import csv
import errno
import json
import os
import tempfile
from pathlib import Path

import pytest
from student_files import write_submission

from npsae import exercises
from npsae._fileio import WriteError, is_temporary, write_file
from npsae.cli import main

NO_SPACE = os.strerror(errno.ENOSPC)
DENIED = os.strerror(errno.EACCES)


class FullDisk:
    """``os.fdopen`` (through which ``atomic_write`` writes its temporary file) gives files that
    take ``room`` more bytes in all, write what fits, then raise ENOSPC, as a full disk does."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, room: int = 0) -> None:
        self.room = room
        real = os.fdopen
        monkeypatch.setattr(os, "fdopen", lambda *a, **k: _Filling(self, real(*a, **k)))


class _Filling:
    def __init__(self, disk: FullDisk, f) -> None:
        self.disk, self.f = disk, f

    def write(self, data):
        fits = data[: self.disk.room]
        self.f.write(fits)
        self.f.flush()  # what fitted is on the disk: the temporary file is half-written
        self.disk.room -= len(fits)
        if len(fits) < len(data):
            raise OSError(errno.ENOSPC, NO_SPACE)
        return len(data)

    def __getattr__(self, name):
        return getattr(self.f, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.f.close()


def make_read_only(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make ``folder`` read-only; where that does not stop writing (root), refuse the temporary
    files there as the OS would, by monkeypatching ``tempfile``."""
    folder.chmod(0o555)
    try:
        (folder / "probe").touch()
    except PermissionError:
        return
    (folder / "probe").unlink()

    def refuse(real):
        def make(*args, dir=None, prefix="tmp", suffix="", **kwargs):
            if dir is not None and Path(dir).resolve() == folder.resolve():
                name = os.path.join(dir, f"{prefix}abcd1234{suffix}")
                raise PermissionError(errno.EACCES, DENIED, name)
            return real(*args, dir=dir, prefix=prefix, suffix=suffix, **kwargs)

        return make

    monkeypatch.setattr(tempfile, "mkstemp", refuse(tempfile.mkstemp))
    monkeypatch.setattr(tempfile, "mkdtemp", refuse(tempfile.mkdtemp))


@pytest.fixture
def writable_again(tmp_path):
    """Whatever a test made read-only under ``tmp_path`` is made writable again, for cleanup."""
    yield
    for path in [tmp_path, *tmp_path.rglob("*")]:
        if path.is_dir():
            path.chmod(0o755)


def files_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def no_temporaries(folder: Path) -> bool:
    return not [p for p in folder.rglob("*") if is_temporary(p.name)]


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """One real grading of a right sigmoid (status passed), handed out again by the tests'
    ``grade_submission``: the failures here are the writes' alone."""
    folder = write_submission(tmp_path_factory.mktemp("student"))
    submission = exercises.grade_submission(folder, ["sigmoid"], seed=3, timeout=20)
    assert submission.passed
    return submission


def fake_grading(monkeypatch, submission, then=None):
    """``exercises.grade_submission`` returns ``submission`` at once, after calling ``then(k)``
    (k: the calls so far, from 1) if given: what happens to the disk while grading."""
    calls = []

    def grade_submission(*args, **kwargs):
        calls.append(args)
        if then is not None:
            then(len(calls))
        return submission

    monkeypatch.setattr(exercises, "grade_submission", grade_submission)
    return calls


def run(argv, capsys):
    status = main(["exercises", *map(str, argv)])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def error_line(err: str) -> str:
    """The error line, which must be a line of its own (after any progress bar)."""
    lines = [line for line in err.replace("\r", "\n").splitlines() if ": error: " in line]
    assert len(lines) == 1, err
    assert lines[0].startswith("npsae exercises "), err
    return lines[0]


# --------------------------------------------------------------------------- write_file


def test_write_file_on_a_full_disk_names_the_file_and_leaves_the_old_one(tmp_path, monkeypatch):
    path = tmp_path / "report.txt"
    path.write_text("mine")
    FullDisk(monkeypatch, room=10)
    with pytest.raises(WriteError) as caught:
        write_file(path, "x" * 100)
    assert str(caught.value) == f"cannot write {path}: {NO_SPACE}"
    assert caught.value.errno == errno.ENOSPC and isinstance(caught.value, OSError)
    assert files_in(tmp_path) == ["report.txt"] and path.read_text() == "mine"


def test_write_file_names_what_is_in_the_way(tmp_path):
    (tmp_path / "afile").write_text("mine")
    with pytest.raises(WriteError, match=f"{tmp_path / 'afile'} is a file, not a folder"):
        write_file(tmp_path / "afile" / "sub" / "r.txt", "x")
    (tmp_path / "folder").mkdir()
    with pytest.raises(WriteError) as caught:
        write_file(tmp_path / "folder", b"x")
    assert str(caught.value) == f"cannot write {tmp_path / 'folder'}: {os.strerror(errno.EISDIR)}"
    assert files_in(tmp_path) == ["afile", "folder"] and files_in(tmp_path / "folder") == []


# --------------------------------------------------------------------------- check --out


@pytest.mark.parametrize("fmt", ["text", "json", "gradescope"])
def test_check_on_a_full_disk(fmt, tmp_path, monkeypatch, capsys, graded):
    out = tmp_path / "results" / "report"
    fake_grading(monkeypatch, graded, then=lambda k: FullDisk(monkeypatch, room=50))
    status, stdout, err = run(["check", tmp_path, "--format", fmt, "--out", out], capsys)
    assert status == 1
    assert err == f"npsae exercises check: error: cannot write {out}: {NO_SPACE}\n"
    # The grading is not lost: the terminal has the text report; the file is not half there.
    assert "PASS  sigmoid" in stdout and "wrote" not in stdout
    assert files_in(out.parent) == []


def test_check_on_a_full_disk_keeps_the_file_it_was_to_replace(
    tmp_path, monkeypatch, capsys, graded
):
    out = tmp_path / "results.json"
    out.write_text("mine")
    fake_grading(monkeypatch, graded, then=lambda k: FullDisk(monkeypatch))
    argv = ["check", tmp_path, "--format", "gradescope", "--out", out, "--force"]
    status, _, err = run(argv, capsys)
    assert (status, err) == (1, f"npsae exercises check: error: cannot write {out}: {NO_SPACE}\n")
    assert out.read_text() == "mine" and no_temporaries(tmp_path)


def test_check_when_a_folder_takes_the_reports_place(tmp_path, monkeypatch, capsys, graded):
    out = tmp_path / "report.json"
    fake_grading(monkeypatch, graded, then=lambda k: out.mkdir())
    status, _, err = run(["check", tmp_path, "--format", "json", "--out", out], capsys)
    assert status == 1
    assert err == f"npsae exercises check: error: cannot write {out}: {os.strerror(errno.EISDIR)}\n"
    assert out.is_dir() and files_in(out) == [] and no_temporaries(tmp_path)
    # Named before grading, the folder is a usage error, found before any work.
    status, _, err = run(["check", tmp_path, "--out", out, "--force"], capsys)
    assert status == 2 and err.endswith("is a folder: name a file to write\n")


def test_check_into_a_folder_made_read_only(tmp_path, monkeypatch, capsys, graded, writable_again):
    folder = tmp_path / "results"
    folder.mkdir()
    out = folder / "results.json"
    fake_grading(monkeypatch, graded, then=lambda k: make_read_only(folder, monkeypatch))
    status, stdout, err = run(["check", tmp_path, "--format", "json", "--out", out], capsys)
    assert (status, err) == (1, f"npsae exercises check: error: cannot write {out}: {DENIED}\n")
    assert "PASS  sigmoid" in stdout and files_in(folder) == []


def test_check_writes_the_report_whole_when_it_can(tmp_path, monkeypatch, capsys, graded):
    out = tmp_path / "results.json"
    fake_grading(monkeypatch, graded)
    status, stdout, err = run(["check", tmp_path, "--format", "json", "--out", out], capsys)
    assert (status, err) == (0, "") and f"wrote {out}" in stdout
    assert json.loads(out.read_text())["seed"] == graded.seed and files_in(tmp_path) == [
        "results.json"
    ]


# --------------------------------------------------------------------------- grade


def class_folder(tmp_path: Path, *students: str) -> Path:
    for student in students:
        (tmp_path / "class" / student).mkdir(parents=True)
    return tmp_path / "class"


def test_grade_stops_at_a_full_disk_and_keeps_the_gradebook_so_far(
    tmp_path, monkeypatch, capsys, graded
):
    folder = class_folder(tmp_path, "ann", "bob", "cy")
    book = tmp_path / "book.csv"
    # The disk fills while bob is graded: ann's row was written, bob's cannot be.
    calls = fake_grading(
        monkeypatch, graded, then=lambda k: k == 2 and FullDisk(monkeypatch, room=20)
    )
    status, stdout, err = run(["grade", folder, "sigmoid", "--csv", book], capsys)
    assert status == 1 and len(calls) == 2  # no point grading cy
    assert error_line(err) == f"npsae exercises grade: error: cannot write {book}: {NO_SPACE}"
    assert "graded" not in stdout
    rows = list(csv.reader(book.open()))
    points = str(exercises.get("sigmoid").points)
    assert rows == [["student", "sigmoid", "total", "max_score"], ["ann", *[points] * 3]]
    assert files_in(tmp_path) == ["book.csv", "class"]


def test_grade_json_results_into_a_folder_made_read_only(
    tmp_path, monkeypatch, capsys, graded, writable_again
):
    folder = class_folder(tmp_path, "ann", "bob")
    results = tmp_path / "json"
    results.mkdir()
    fake_grading(monkeypatch, graded, then=lambda k: make_read_only(results, monkeypatch))
    argv = ["grade", folder, "sigmoid", "--csv", tmp_path / "book.csv", "--json-dir", results]
    status, _, err = run(argv, capsys)
    assert status == 1
    expected = f"npsae exercises grade: error: cannot write {results / 'ann.json'}: {DENIED}"
    assert error_line(err) == expected
    assert files_in(results) == [] and no_temporaries(tmp_path)


def test_grade_overwrites_json_results_only_with_force(tmp_path, monkeypatch, capsys, graded):
    folder = class_folder(tmp_path, "ann", "bob")
    results = tmp_path / "json"
    results.mkdir()
    (results / "bob.json").write_text("mine")
    fake_grading(monkeypatch, graded)
    argv = ["grade", folder, "sigmoid", "--csv", tmp_path / "book.csv", "--json-dir", results]
    status, _, err = run(argv, capsys)
    assert status == 2 and f"{results / 'bob.json'} exists" in err and "--force" in err
    assert (results / "bob.json").read_text() == "mine" and files_in(results) == ["bob.json"]
    assert not (tmp_path / "book.csv").exists()
    status, _, err = run([*argv, "--force"], capsys)
    assert status == 0 and files_in(results) == ["ann.json", "bob.json"]
    assert json.loads((results / "bob.json").read_text())["seed"] == graded.seed
    # A folder where a student's results would go is refused, --force or not, before grading.
    (results / "ann.json").unlink()
    (results / "ann.json").mkdir()
    status, _, err = run([*argv, "--force"], capsys)
    assert status == 2 and err.endswith(
        f"{results / 'ann.json'} is a folder: name a file to write\n"
    )


# --------------------------------------------------------------------------- start, solutions


@pytest.mark.parametrize("action", ["start", "solutions"])
def test_start_and_solutions_into_a_read_only_folder(
    action, tmp_path, monkeypatch, capsys, writable_again
):
    folder = tmp_path / "mine"
    folder.mkdir()
    make_read_only(folder, monkeypatch)
    status, stdout, err = run([action, folder], capsys)
    first = folder / exercises.list_exercises()[0].filename
    assert (status, stdout) == (1, "")
    assert err == f"npsae exercises {action}: error: cannot write {first}: {DENIED}\n"
    assert files_in(folder) == []


def test_start_on_a_full_disk_keeps_the_whole_files_before_it(tmp_path, monkeypatch, capsys):
    names = [e.name for e in exercises.list_exercises()[:3]]
    sizes = [len(exercises.stub_source(n)) for n in names]
    FullDisk(monkeypatch, room=sizes[0] + sizes[1] + 10)
    status, _, err = run(["start", tmp_path, *names], capsys)
    third = tmp_path / exercises.get(names[2]).filename
    assert status == 1
    assert err == f"npsae exercises start: error: cannot write {third}: {NO_SPACE}\n"
    assert files_in(tmp_path) == sorted(exercises.get(n).filename for n in names[:2])
    for name in names[:2]:
        path = tmp_path / exercises.get(name).filename
        assert path.read_text() == exercises.stub_source(name)


# --------------------------------------------------------------------------- autograder


@pytest.mark.parametrize("existed", [False, True])
def test_autograder_on_a_full_disk_leaves_its_folder_as_it_was(
    existed, tmp_path, monkeypatch, capsys
):
    out = tmp_path / "ag"
    if existed:
        out.mkdir()
    FullDisk(monkeypatch, room=100_000)  # the scripts and part of npsae's source fit
    status, stdout, err = run(["autograder", out, "--seed", "1"], capsys)
    assert status == 1 and stdout == ""
    assert err.startswith(f"npsae exercises autograder: error: cannot write {out}/")
    assert err.endswith(f": {NO_SPACE}\n") and err.count("\n") == 1
    assert files_in(tmp_path) == (["ag"] if existed else [])
    assert not existed or files_in(out) == []
    # Nothing is left to refuse the next try.
    monkeypatch.undo()
    status, _, _ = run(["autograder", out, "--seed", "1"], capsys)
    assert status == 0 and (out / "autograder.zip").is_file()


# --------------------------------------------------------------------------- the grader's own files


def no_room_to_grade(monkeypatch):
    """The grader's temporary folders (one per exercise) cannot be made: the disk is full."""
    real = tempfile.mkdtemp

    def mkdtemp(*args, prefix=None, **kwargs):
        if prefix == "npsae-grade-":
            raise OSError(errno.ENOSPC, NO_SPACE)
        return real(*args, prefix=prefix, **kwargs)

    monkeypatch.setattr(tempfile, "mkdtemp", mkdtemp)


def test_check_without_room_for_the_graders_files(tmp_path, monkeypatch, capsys):
    folder = write_submission(tmp_path / "mine")
    no_room_to_grade(monkeypatch)
    status, stdout, err = run(["check", folder, "sigmoid", "--out", tmp_path / "r.txt"], capsys)
    assert (status, stdout) == (1, "")
    assert err == f"npsae exercises check: error: cannot grade {folder}: [Errno 28] {NO_SPACE}\n"
    assert files_in(tmp_path) == ["mine"]


def test_grade_without_room_for_the_graders_files(tmp_path, monkeypatch, capsys):
    write_submission(tmp_path / "class" / "ann")
    no_room_to_grade(monkeypatch)
    argv = ["grade", tmp_path / "class", "sigmoid", "--csv", tmp_path / "book.csv"]
    status, _, err = run(argv, capsys)
    ann = tmp_path / "class" / "ann"
    assert status == 1
    assert (
        error_line(err)
        == f"npsae exercises grade: error: cannot grade {ann}: [Errno 28] {NO_SPACE}"
    )
    assert files_in(tmp_path) == ["class"]
