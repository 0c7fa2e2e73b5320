"""The kernel sandbox of a student's process: each attack a student's file makes on the machine
fails (read another's files, the instructor's or ~; write, delete, link or rename outside its
folder; sockets of every kind; signals; a fork bomb; filling the disk), with ``grade`` and with
the Gradescope ``run_autograder``, and the honest students of the same class keep their points.
Then the fallback: on a kernel without Landlock (simulated) grading goes on and says once what
is not protected, ``--sandbox require`` refuses, and every result records the level."""

import csv
import json
import os
import socket
import subprocess
import sys
import tempfile
import textwrap
import uuid
from pathlib import Path

import pytest
from student_files import write_submission

import npsae.exercises.isolation
from npsae import exercises
from npsae.cli import main
from npsae.exercises import runner, sandbox
from npsae.exercises.answers import PLACEHOLDER, answer_blocks
from npsae.exercises.protection import Protection, SandboxUnavailable, protection

ABI = sandbox.landlock_abi()
needs_sandbox = pytest.mark.skipif(
    ABI < sandbox.SCOPE_ABI or not sandbox.seccomp_available(),
    reason=f"the kernel offers Landlock ABI {ABI} (6 needed) or no seccomp filter",
)
NAMES = ["sigmoid", "sigmoid_grad", "forward", "mse", "sse", "kl_penalty"]
TIMEOUT = "20"

# The student's side of every attack: each attempt prints one line, REFUSED or ALLOWED (with
# what it got), so that the test sees that the attack ran and how it ended.
ATTEMPT = """\
import os, signal, socket

def _attempt(label, action):
    try:
        got = action()
    except BaseException as err:
        print(f"{label}: REFUSED {type(err).__name__}")
    else:
        print(f"{label}: ALLOWED {str(got)[:80]!r}")

"""


def filename(name):
    return exercises.get(name).filename


def attacking(name, attempts):
    """Exercise ``name``'s solution, preceded at import time by ``attempts`` (label ->
    expression), each run through ``_attempt``."""
    lines = [f"_attempt({label!r}, lambda: {code})" for label, code in attempts.items()]
    return ATTEMPT + "\n".join(lines) + "\n\n" + exercises.solution_source(name)


class Machine:
    """What an attacker would want on the instructor's machine, and ways to see it was reached:
    another student's folder, the instructor's solutions and files, a secret in ~, listeners
    on localhost (TCP, UDP, a Unix socket at a path and an abstract one) and a process to kill."""

    def __init__(self, root: Path):
        self.token = uuid.uuid4().hex
        # alice's written answers, which a link to her file must not bring into another's report
        blocks = answer_blocks(exercises.get("sigmoid_grad").questions)
        answered = blocks.replace(PLACEHOLDER, f"alice's answer {self.token}")
        self.alice = write_submission(
            root / "class" / "alice",
            {"sigmoid_grad": f"{exercises.solution_source('sigmoid_grad')}\n\n{answered}"},
        )
        (self.alice / "notes.txt").write_text(f"alice's notes {self.token}")
        self.instructor = root / "instructor"
        exercises.write_solutions(self.instructor / "solutions")
        (self.instructor / "keep.txt").write_text("the instructor's file")
        self.home_secret = Path.home() / f".npsae-sandbox-test-{self.token}"
        self.home_secret.write_text(f"home secret {self.token}")
        self.tcp = socket.socket()
        self.tcp.bind(("127.0.0.1", 0))
        self.tcp.listen(8)
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.1", 0))
        self.unix_path = str(root / "grader.sock")
        self.unix = socket.socket(socket.AF_UNIX)
        self.unix.bind(self.unix_path)
        self.unix.listen(8)
        self.abstract_name = f"\0npsae-test-{self.token}"
        self.abstract = socket.socket(socket.AF_UNIX)
        self.abstract.bind(self.abstract_name)
        self.abstract.listen(8)
        self.victim = subprocess.Popen(["sleep", "120"])
        self.outside = [
            self.instructor / "pwned.txt",
            root / "class" / "pwned.txt",
            Path(f"/dev/shm/npsae-pwned-{self.token}"),
            Path(tempfile.gettempdir()) / f"npsae-pwned-{self.token}",
        ]

    def attempts(self) -> dict[str, dict[str, str]]:
        """Exercise name -> the attempts its file makes at import time (label -> expression;
        ``here`` is the student's folder)."""
        alice, instructor, tok = self.alice, self.instructor, self.token
        here = "os.path.dirname(os.path.abspath(__file__))"
        grader_file = npsae.exercises.isolation.__file__
        return {
            "sigmoid": {
                "read sibling": f"open({str(alice / filename('sigmoid'))!r}).read()",
                "read sibling by ..": f"open(os.path.join({here}, '..', 'alice', "
                "'notes.txt')).read()",
                "list sibling": f"os.listdir({str(alice)!r})",
                "read solutions": "open("
                f"{str(instructor / 'solutions' / filename('sigmoid'))!r}).read()",
                "read home": f"open({str(self.home_secret)!r}).read()",
                "list home": "os.listdir(os.path.expanduser('~'))",
                "read grader environ": "open(f'/proc/{os.getppid()}/environ').read()",
                "read by planted link": f"open(os.path.join({here}, 'escape', 'keep.txt')).read()",
            },
            "mse": {
                "write absolute": f"open({str(self.outside[0])!r}, 'w').write('x')",
                "write by ..": f"open(os.path.join({here}, '..', 'pwned.txt'), 'w').write('x')",
                "write by planted link": f"open(os.path.join({here}, 'escape', "
                "'pwned.txt'), 'w').write('x')",
                "write /dev/shm": f"open({str(self.outside[2])!r}, 'w').write('x')",
                "write by /proc/self/cwd": f"open('/proc/self/cwd/../npsae-pwned-{tok}', "
                "'w').write('x')",
                "write by /proc/self/root": "open("
                f"'/proc/self/root{self.outside[0]}', 'w').write('x')",
                "overwrite own file": f"open(os.path.join({here}, {filename('sse')!r}), "
                "'a').write('x')",
                "delete instructor's": f"os.remove({str(instructor / 'keep.txt')!r})",
                "delete sibling's": f"os.remove({str(alice / 'notes.txt')!r})",
            },
            "sse": {
                "hard link here": f"os.link({str(alice / 'notes.txt')!r}, "
                "os.path.join(os.getcwd(), 'stolen'))",
                "hard link in own folder": f"os.link({str(alice / 'notes.txt')!r}, "
                f"os.path.join({here}, 'stolen'))",
                "rename sibling": f"os.rename({str(alice)!r}, {str(alice) + '-gone'!r})",
                "rename instructor's": f"os.rename({str(instructor / 'keep.txt')!r}, "
                f"{str(instructor / 'gone.txt')!r})",
                "rename grader's": f"os.rename({grader_file!r}, {grader_file + '.gone'!r})",
                "symlink out": f"os.symlink('/', os.path.join(os.getcwd(), 'root-{tok}'))",
            },
            "forward": {
                "tcp connect": "socket.create_connection("
                f"{self.tcp.getsockname()!r}, timeout=2).send(b'x')",
                "tcp listen": "socket.create_server(('127.0.0.1', 0))",
                "udp send": "socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto("
                f"b'x', {self.udp.getsockname()!r})",
                "unix connect": f"socket.socket(socket.AF_UNIX).connect({self.unix_path!r})",
                "abstract connect": "socket.socket(socket.AF_UNIX).connect("
                f"{self.abstract_name!r})",
                "raw socket": "socket.socket(socket.AF_PACKET, socket.SOCK_RAW)",
                "memory file": "os.memfd_create('x')",
            },
            "kl_penalty": {
                "kill a process": f"os.kill({self.victim.pid}, signal.SIGKILL)",
                "signal the grader": "os.kill(os.getppid(), signal.SIGUSR1)",
                "kill the grader's group": "os.killpg(os.getpgid(os.getppid()), signal.SIGUSR1)",
            },
        }

    def plant(self, folder: Path) -> None:
        """``folder``: the attacker's submission, with a link planted to the instructor's."""
        folder.mkdir(parents=True, exist_ok=True)
        for name, attempts in self.attempts().items():
            (folder / filename(name)).write_text(attacking(name, attempts))
        # A file that is a link to a classmate's: the copy is not read.
        (folder / filename("sigmoid_grad")).symlink_to(self.alice / filename("sigmoid_grad"))
        (folder / "escape").symlink_to(self.instructor)

    def assert_untouched(self) -> None:
        assert (self.instructor / "keep.txt").read_text() == "the instructor's file"
        assert (self.alice / "notes.txt").read_text() == f"alice's notes {self.token}"
        assert self.alice.is_dir() and not Path(f"{self.alice}-gone").exists()
        assert Path(npsae.exercises.isolation.__file__).is_file()
        for path in self.outside:
            assert not path.exists(), path
        for listener in (self.tcp, self.unix, self.abstract):
            listener.settimeout(0.3)
            with pytest.raises(TimeoutError):
                listener.accept()
        self.udp.settimeout(0.3)
        with pytest.raises(TimeoutError):
            self.udp.recvfrom(16)
        assert self.victim.poll() is None

    def close(self) -> None:
        self.victim.kill()
        self.victim.wait()
        for s in (self.tcp, self.udp, self.unix, self.abstract):
            s.close()
        self.home_secret.unlink(missing_ok=True)
        for path in self.outside:
            path.unlink(missing_ok=True)
        grader_file = Path(npsae.exercises.isolation.__file__)
        if Path(f"{grader_file}.gone").exists():  # only if the attack worked: undo it
            Path(f"{grader_file}.gone").rename(grader_file)


@pytest.fixture
def machine(tmp_path):
    m = Machine(tmp_path)
    yield m
    m.close()


def assert_every_attempt_refused(machine, printed):
    attempts = {label for tries in machine.attempts().values() for label in tries}
    lines = [line for line in printed.splitlines() if ": REFUSED " in line or ": ALLOWED" in line]
    assert not [line for line in lines if ": ALLOWED" in line], printed
    assert {line.split(": REFUSED")[0].strip(" |") for line in lines} == attempts
    assert machine.token not in printed


def points(names):
    return sum(exercises.get(n).points for n in names)


@needs_sandbox
def test_grade_refuses_every_attack_and_alice_keeps_her_points(tmp_path, machine):
    # As the instructor runs it: a command of its own, whose every child is a student's.
    mallory = tmp_path / "class" / "mallory"
    machine.plant(mallory)
    command = ["exercises", "grade", str(tmp_path / "class"), *NAMES, "--seed", "3"]
    command += ["--csv", str(tmp_path / "book.csv"), "--json-dir", str(tmp_path / "json")]
    done = subprocess.run(
        [sys.executable, "-m", "npsae", *command, "--timeout", TIMEOUT],
        capture_output=True,
        text=True,
        timeout=300,
        start_new_session=True,  # its process group is the grader's, not this test's
    )
    assert done.returncode == 0, done.stderr
    assert "not sandboxed" not in done.stderr
    machine.assert_untouched()
    rows = {r["student"]: r for r in csv.DictReader((tmp_path / "book.csv").open())}
    assert float(rows["alice"]["total"]) == points(NAMES)
    meta = json.loads((tmp_path / "book.meta.json").read_text())
    assert meta["sandbox"]["landlock_abi"] == ABI and meta["sandbox"]["complete"]
    assert meta["students"] == 2 and meta["seed"] == 3 and meta["exercises"] == NAMES
    result = json.loads((tmp_path / "json" / "mallory.json").read_text())
    assert result["sandbox"]["complete"] and result["sandbox"]["not_protected"] == []
    by_name = {e["name"]: e for e in result["exercises"]}
    # The link to alice's file does not import; every attacking file still works.
    assert by_name["sigmoid_grad"]["score"] == 0
    assert "a link to a file outside mallory/" in by_name["sigmoid_grad"]["message"]
    assert {q["answer"] for q in by_name["sigmoid_grad"]["written_questions"]} == {""}
    assert float(rows["mallory"]["total"]) == points(NAMES) - points(["sigmoid_grad"])
    printed = "\n".join(e["output"] for e in result["exercises"])
    assert_every_attempt_refused(machine, printed)
    assert machine.token not in (tmp_path / "json" / "mallory.json").read_text()


@needs_sandbox
def test_run_autograder_refuses_every_attack(tmp_path, machine):
    out = tmp_path / "autograder"
    assert main(["exercises", "autograder", str(out), *NAMES, "--seed", "4"]) == 0
    root = tmp_path / "gradescope"
    machine.plant(root / "submission")
    env = {**os.environ, "NPSAE_AUTOGRADER_ROOT": str(root), "NPSAE_PYTHON": sys.executable}
    done = subprocess.run(
        ["bash", str(out / "run_autograder")],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        start_new_session=True,
    )
    assert done.returncode == 0, done.stderr
    machine.assert_untouched()
    data = json.loads((root / "results" / "results.json").read_text())
    assert data["extra_data"]["sandbox"]["landlock_abi"] == ABI
    assert data["extra_data"]["sandbox"]["seccomp"] is True
    assert data["score"] == points(NAMES) - points(["sigmoid_grad"])
    printed = "\n".join(t["output"] for t in data["tests"])
    assert_every_attempt_refused(machine, printed)


def bomb(forks):
    return textwrap.dedent(
        f"""\
        import os
        made, stopped = 0, "nothing"
        for _ in range({forks}):
            try:
                pid = os.fork()
            except OSError as err:
                stopped = type(err).__name__
                break
            if pid == 0:
                os._exit(0)  # a zombie until its parent ends: each one holds its place
            made += 1
        print(f"forked {{made}}, stopped by {{stopped}}")

        """
    )


@needs_sandbox
def test_a_fork_bomb_is_stopped_and_the_class_is_graded(tmp_path):
    alice = write_submission(tmp_path / "class" / "alice")
    forks = 5000
    write_submission(
        tmp_path / "class" / "mallory",
        {"sigmoid": bomb(forks) + exercises.solution_source("sigmoid")},
    )
    graded = {
        f.name: exercises.grade_submission(f, ["sigmoid", "mse"], seed=1, timeout=20)
        for f in (alice, tmp_path / "class" / "mallory")
    }
    assert graded["alice"].passed
    (sigmoid, _) = graded["mallory"].results
    assert "stopped by BlockingIOError" in sigmoid.output, sigmoid.output
    made = int(sigmoid.output.split("forked ")[1].split(",")[0])
    with open("/proc/loadavg") as f:
        tasks = int(f.read().split()[3].split("/")[1])
    assert made < forks and made <= tasks + runner.PROCESSES + 200


@needs_sandbox
def test_filling_the_disk_is_stopped(tmp_path, monkeypatch):
    exchanges = tmp_path / "tmp"  # where the grader makes the exchange folders, for this test
    exchanges.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(exchanges))
    fill = textwrap.dedent(
        """\
        import os
        chunk = b"x" * 2**23
        for i in range(400):  # 3.2 GB, if nothing stopped it
            with open(f"fill-{i}", "wb") as f:
                f.write(chunk)

        """
    )
    folder = write_submission(tmp_path / "sub", {"mse": fill + exercises.solution_source("mse")})
    submission = exercises.grade_submission(folder, ["mse", "sse"], seed=1, timeout=20)
    mse, sse = submission.results
    assert mse.score == 0 and "wrote more than the grader allows" in mse.message
    assert sse.passed
    # What it wrote went with its exchange folder.
    assert list(exchanges.iterdir()) == []


# --------------------------------------------------------------------------- without Landlock


@pytest.fixture
def old_kernel(monkeypatch):
    """The grader's view of a kernel without Landlock or seccomp (the student's process then
    applies neither)."""
    monkeypatch.setattr(sandbox, "landlock_abi", lambda: 0)
    monkeypatch.setattr(sandbox, "seccomp_available", lambda: False)


def test_without_landlock_grading_goes_on_and_says_so_once(tmp_path, old_kernel, capsys):
    write_submission(tmp_path / "class" / "alice")
    book = tmp_path / "book.csv"
    command = ["exercises", "grade", str(tmp_path / "class"), "sigmoid", "--seed", "1"]
    assert main([*command, "--csv", str(book), "--json-dir", str(tmp_path / "json")]) == 0
    err = capsys.readouterr().err
    notes = [line for line in err.splitlines() if "not sandboxed here" in line]
    assert len(notes) == 1
    assert "no Landlock" in notes[0] and "network" in notes[0] and "signals" in notes[0]
    assert "Gradescope or in a container" in notes[0]
    (row,) = csv.DictReader(book.open())
    assert float(row["total"]) == points(["sigmoid"])
    meta = json.loads((tmp_path / "book.meta.json").read_text())
    assert meta["sandbox"]["landlock_abi"] == 0 and not meta["sandbox"]["seccomp"]
    assert meta["sandbox"]["not_protected"] == Protection("auto", 0, False).missing()
    result = json.loads((tmp_path / "json" / "alice.json").read_text())
    assert result["sandbox"]["landlock_abi"] == 0 and not result["sandbox"]["complete"]
    # check's text report says it once too, in its closing lines.
    assert main(["exercises", "check", str(tmp_path / "class" / "alice"), "sigmoid"]) == 0
    out = capsys.readouterr().out
    assert out.count("not sandboxed here") == 1
    assert out.strip().splitlines()[-1].startswith("not sandboxed here")


def test_require_refuses_to_grade_without_landlock(tmp_path, old_kernel, capsys):
    write_submission(tmp_path / "class" / "alice")
    book = tmp_path / "book.csv"
    command = ["exercises", "grade", str(tmp_path / "class"), "--csv", str(book)]
    assert main([*command, "--sandbox", "require"]) == 2
    err = capsys.readouterr().err
    assert "--sandbox require" in err and "no Landlock" in err and "Traceback" not in err
    assert not book.exists()
    with pytest.raises(SandboxUnavailable):
        exercises.grade_submission(tmp_path / "class" / "alice", ["sigmoid"], sandbox="require")


def test_gradescope_results_record_the_level(tmp_path, old_kernel, capsys):
    folder = write_submission(tmp_path / "sub")
    out = tmp_path / "results.json"
    command = ["exercises", "check", str(folder), "sigmoid", "--format", "gradescope"]
    assert main([*command, "--out", str(out), "--sandbox", "off"]) == 0
    data = json.loads(out.read_text())
    assert data["extra_data"]["sandbox"]["mode"] == "off"
    assert data["output"].splitlines()[-1].startswith("sandbox off: files:")
    assert capsys.readouterr().out.count("sandbox off") == 1


@pytest.mark.skipif(ABI < 1, reason=f"the kernel offers no Landlock (ABI {ABI})")
def test_an_older_abi_still_confines_files(tmp_path, monkeypatch):
    # Landlock ABI 3 (Linux 6.2): the files are confined, TCP and signals are not; the seccomp
    # filter still refuses sockets.
    monkeypatch.setattr(sandbox, "landlock_abi", lambda: 3)
    secret = tmp_path / "secret.txt"
    secret.write_text("the secret")
    attack = attacking(
        "sigmoid",
        {
            "read outside": f"open({str(secret)!r}).read()",
            "udp": "socket.socket(socket.AF_INET, socket.SOCK_DGRAM)",
        },
    )
    folder = write_submission(tmp_path / "sub", {"sigmoid": attack})
    submission = exercises.grade_submission(folder, ["sigmoid"], seed=1, timeout=20)
    assert submission.sandbox == protection() and submission.sandbox.landlock_abi == 3
    (r,) = submission.results
    assert r.passed and "the secret" not in r.output
    assert "read outside: REFUSED PermissionError" in r.output
    if sandbox.seccomp_available():
        assert "udp: REFUSED PermissionError" in r.output
    assert "signals to your other processes" in submission.sandbox.note()


def test_what_each_level_says(monkeypatch):
    full = Protection("auto", 7, True)
    assert full.complete and full.note() is None and full.missing() == []
    assert Protection("auto", 6, True).complete
    tcp_only = Protection("auto", 4, False)
    assert tcp_only.missing() == ["UDP and Unix sockets", "signals to your other processes"]
    assert Protection("auto", 3, True).missing() == ["signals to your other processes"]
    assert Protection("auto", 2, True).missing()[0].startswith("truncate(): a student's file")
    nothing = Protection("auto", 0, False)
    assert len(nothing.missing()) == 3 and "no Landlock" in nothing.missing()[0]
    assert "network connections" in nothing.note()
    assert Protection("off", 0, False).note().startswith("sandbox off: files:")
    with monkeypatch.context() as elsewhere:
        elsewhere.setattr(sys, "platform", "darwin")
        assert nothing.missing()[0].startswith("no kernel sandbox on macOS: a student's file")
    with pytest.raises(ValueError, match="--sandbox must be one of auto, require, off"):
        protection("on")


def test_the_sandbox_option_is_the_same_everywhere(tmp_path, capsys):
    for action in (["check", str(tmp_path)], ["autograder", str(tmp_path / "ag")]):
        with pytest.raises(SystemExit) as usage:
            main(["exercises", *action, "--sandbox", "on"])
        assert usage.value.code == 2
        assert "invalid choice: 'on'" in capsys.readouterr().err
    assert main(["exercises", "autograder", str(tmp_path / "ag"), "--sandbox", "require"]) == 0
    assert "--sandbox require" in (tmp_path / "ag" / "run_autograder").read_text()
