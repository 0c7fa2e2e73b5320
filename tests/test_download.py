"""Downloading: bad mirrors are skipped, only verified files land, and failure says what to do.

A real HTTP server on 127.0.0.1 plays every mirror. Its first path component picks the
behaviour: ``good`` serves the real MNIST test files, ``corrupt`` damages them, ``wrong`` serves
another (valid) file, ``truncated`` stops halfway through the declared length, ``huge`` sends
far too much, ``missing`` answers 404.

Where downloads land (issue 19) is tested here too, with ``user_dirs`` (conftest) standing in
for a fresh user's home, per-user cache folder and working folder.
"""

import gzip
import os
import shutil
import socket
import subprocess
import sys
import textwrap
import threading
import time
import warnings
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from npsae import datasets
from npsae.cli import main
from npsae.datasets import (
    DatasetError,
    DatasetNotFoundError,
    find_idx_file,
    load_mnist,
    locate_data,
)

NAMES = ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


class MirrorHandler(BaseHTTPRequestHandler):
    def do_GET(self):
        self.server.requests.append(self.path)
        behaviour, _, filename = self.path.lstrip("/").partition("/")
        data = self.server.files.get(filename.removesuffix(".gz"))
        if behaviour == "missing" or data is None:
            self.send_error(404)
            return
        if behaviour == "corrupt":
            middle = len(data) // 2
            data = data[:middle] + bytes(64) + data[middle + 64 :]
        elif behaviour == "wrong":
            data = gzip.compress(b"\x00\x00\x08\x01\x00\x00\x00\x02\x07\x07", mtime=0)
        elif behaviour == "huge":
            data = bytes(9_000_000)  # more than any MNIST test file, even uncompressed
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        try:
            self.wfile.write(data[: len(data) // 2] if behaviour == "truncated" else data)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client stopped reading a "huge" answer, as it should

    def log_message(self, *args):  # keep the test output clean
        pass


@pytest.fixture(scope="module")
def served_files(mnist_root):
    """The gzipped bytes of the real MNIST test files, by name."""
    files = {}
    for name in NAMES:
        data = find_idx_file(mnist_root / "mnist", name).read_bytes()
        files[name] = data if data[:2] == b"\x1f\x8b" else gzip.compress(data, mtime=0)
    return files


@pytest.fixture
def server(served_files):
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), MirrorHandler)
    httpd.files = served_files
    httpd.requests = []
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield httpd
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


def url(server, behaviour: str) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}/{behaviour}/"


@pytest.fixture
def dead_mirror():
    """The URL of a closed port: connections are refused at once."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/mnist/"


@pytest.fixture
def silent_mirror():
    """A server that accepts connections and never answers; yields (url, connections)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.settimeout(0.05)
    connections = []
    stop = threading.Event()

    def accept():
        while not stop.is_set():
            try:
                connections.append(listener.accept()[0])
            except TimeoutError:
                pass

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/", connections
    finally:
        stop.set()
        thread.join()
        for conn in connections:
            conn.close()
        listener.close()


def folder_contents(root):
    return sorted(p.name for p in (root / "mnist").iterdir()) if (root / "mnist").exists() else []


def test_bad_mirrors_are_skipped_and_only_verified_files_land(
    tmp_path, server, dead_mirror, served_files, mnist_root, capsys
):
    bad = ["missing", "corrupt", "wrong", "truncated", "huge"]
    mirrors = [dead_mirror] + [url(server, b) for b in bad] + [url(server, "good")]
    images, labels = load_mnist("test", root=tmp_path, mirrors=mirrors, timeout=5)
    expected_images, expected_labels = load_mnist("test", root=mnist_root, download=False)
    assert np.array_equal(images, expected_images) and np.array_equal(labels, expected_labels)
    assert folder_contents(tmp_path) == sorted(f"{name}.gz" for name in NAMES)
    for name in NAMES:
        assert (tmp_path / "mnist" / f"{name}.gz").read_bytes() == served_files[name]
        assert server.requests.count(f"/good/{name}.gz") == 1
        # Every bad mirror was asked, in order, before the good one.
        asked = [p for p in server.requests if p.endswith(f"/{name}.gz")]
        assert [p.split("/")[1] for p in asked] == [*bad, "good"]
    assert capsys.readouterr() == ("", "")  # quiet unless progress=True
    load_mnist("test", root=tmp_path, mirrors=mirrors)
    assert len(server.requests) == 2 * (len(bad) + 1)  # present files are not fetched again


def test_every_mirror_failing_gives_the_helpful_error_and_leaves_nothing(
    tmp_path, server, dead_mirror
):
    bad = ["missing", "corrupt", "wrong", "truncated", "huge"]
    mirrors = [dead_mirror] + [url(server, b) for b in bad]
    with pytest.raises(DatasetNotFoundError) as info:
        load_mnist("test", root=tmp_path, mirrors=mirrors, timeout=5)
    message = str(info.value)
    folder = tmp_path / "mnist"
    assert f"could not download MNIST into {folder}" in message
    assert f"Put these files, gzipped or not, in {folder}" in message
    for name in NAMES:
        assert f"  {name}.gz" in message
        assert f"{url(server, 'missing')}{name}.gz: HTTPError: HTTP Error 404" in message
        assert f"{url(server, 'corrupt')}{name}.gz: " in message
        assert f"{url(server, 'wrong')}{name}.gz: DatasetError: MD5 of the content" in message
        assert f"{url(server, 'truncated')}{name}.gz: OSError: transfer cut short" in message
        assert f"{url(server, 'huge')}{name}.gz: OSError: sent more than" in message
    assert f"{dead_mirror}{NAMES[0]}.gz: URLError" in message
    assert f"{dead_mirror}{NAMES[1]}.gz: skipped, unreachable for {NAMES[0]}.gz" in message
    assert folder_contents(tmp_path) == []  # no temporary or half-written file
    assert not folder.exists()  # nor the folder the download made for them


def test_a_mirror_that_never_answers_times_out_once(tmp_path, server, silent_mirror):
    silent, connections = silent_mirror
    start = time.perf_counter()
    load_mnist("test", root=tmp_path, mirrors=[silent, url(server, "good")], timeout=0.3)
    assert time.perf_counter() - start < 5
    assert len(connections) == 1  # not asked again for the second file
    assert folder_contents(tmp_path) == sorted(f"{name}.gz" for name in NAMES)


def test_progress_reports_on_stderr_only(tmp_path, server, capsys):
    load_mnist("test", root=tmp_path, mirrors=[url(server, "good")], progress=True)
    captured = capsys.readouterr()
    assert captured.out == ""
    for name in NAMES:
        expected = f"{tmp_path / 'mnist' / name}.gz: downloaded from {url(server, 'good')}{name}"
        assert expected in captured.err


def test_a_damaged_local_file_is_reported_not_replaced(tmp_path, server, served_files):
    folder = tmp_path / "mnist"
    folder.mkdir()
    (folder / f"{NAMES[0]}.gz").write_bytes(served_files[NAMES[0]])
    (folder / f"{NAMES[1]}.gz").write_bytes(served_files[NAMES[1]][:1000])
    with pytest.raises(DatasetError, match=f"{NAMES[1]}.gz: damaged") as info:
        load_mnist("test", root=tmp_path, mirrors=[url(server, "good")])
    assert "delete it and load again" in str(info.value)
    assert server.requests == []


# Where downloads land, and what is left behind when they fail


def test_a_failed_download_removes_the_folders_it_created(tmp_path, server, dead_mirror):
    # Issue 16: a failed Fashion-MNIST download left an empty root/fashion-mnist/ behind.
    root = tmp_path / "new" / "root"
    with pytest.raises(DatasetNotFoundError, match="could not download Fashion-MNIST"):
        load_mnist("test", root=root, kind="fashion-mnist", mirrors=[dead_mirror], timeout=5)
    assert list(tmp_path.iterdir()) == []
    # Folders that were there before stay, even when empty.
    (tmp_path / "mine" / "fashion-mnist").mkdir(parents=True)
    with pytest.raises(DatasetNotFoundError):
        load_mnist("test", root=tmp_path / "mine", kind="fashion-mnist", mirrors=[dead_mirror])
    assert [p.name for p in (tmp_path / "mine").iterdir()] == ["fashion-mnist"]
    assert list((tmp_path / "mine" / "fashion-mnist").iterdir()) == []


def test_a_root_that_cannot_be_created_is_named_before_any_download(tmp_path, server):
    (tmp_path / "file").write_text("mine")
    root = tmp_path / "file" / "root"
    with pytest.raises(DatasetNotFoundError) as info:
        load_mnist("test", root=root, mirrors=[url(server, "good")])
    message = str(info.value)
    assert f"could not download MNIST into {root / 'mnist'}:" in message
    assert (
        f"    cannot create the folder: {tmp_path / 'file'} exists and is not a folder" in message
    )
    assert server.requests == []
    assert (tmp_path / "file").read_text() == "mine"


def test_an_interrupted_download_removes_its_folders_too(tmp_path, server, monkeypatch):
    def interrupted(url, f, size, timeout, progress):
        f.write(b"\x1f\x8b half a file")
        raise KeyboardInterrupt

    monkeypatch.setattr(datasets, "_fetch", interrupted)
    with pytest.raises(KeyboardInterrupt):
        load_mnist("test", root=tmp_path / "root", mirrors=[url(server, "good")])
    assert list(tmp_path.iterdir()) == []


def test_a_folder_that_holds_a_downloaded_file_stays(tmp_path, server, served_files):
    # The images download, the labels do not: the verified images stay for next time.
    only_images = {NAMES[0]: served_files[NAMES[0]]}
    server.files = only_images
    with pytest.raises(DatasetNotFoundError) as info:
        load_mnist("test", root=tmp_path / "root", mirrors=[url(server, "good")])
    assert f"  {NAMES[1]}.gz:" in str(info.value) and f"  {NAMES[0]}.gz:" not in str(info.value)
    assert folder_contents(tmp_path / "root") == [f"{NAMES[0]}.gz"]


def test_a_download_lands_in_the_per_user_folder_and_serves_every_working_folder(
    user_dirs, server, served_files
):
    images, labels = load_mnist("test", mirrors=[url(server, "good")])
    assert folder_contents(user_dirs["cache"]) == sorted(f"{name}.gz" for name in NAMES)
    assert (user_dirs["cache"] / "mnist" / f"{NAMES[0]}.gz").read_bytes() == served_files[NAMES[0]]
    assert list(user_dirs["work"].iterdir()) == []  # no ./data
    assert len(server.requests) == 2
    # Another process, in another working folder, finds the files without downloading them.
    elsewhere = user_dirs["home"] / "course" / "week1"
    elsewhere.mkdir(parents=True)
    script = textwrap.dedent(
        f"""
        from npsae.datasets import load_mnist, locate_data
        images, labels = load_mnist("test", mirrors=[{url(server, "good")!r}])
        location = locate_data()
        print(location.rule, location.root, images.shape, int(images.sum()), int(labels.sum()))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=elsewhere,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    expected = f"per-user {user_dirs['cache']} {images.shape} {int(images.sum())} {labels.sum()}"
    assert result.stdout.strip() == expected
    assert len(server.requests) == 2  # not one more
    assert list(elsewhere.iterdir()) == []


def test_dot_data_wins_when_it_holds_the_files(user_dirs, server, mnist_root, dead_mirror):
    local = user_dirs["work"] / "data" / "mnist"
    local.mkdir(parents=True)
    for name in NAMES:
        shutil.copy(find_idx_file(mnist_root / "mnist", name), local)
    load_mnist("test", mirrors=[url(server, "good")])
    assert server.requests == []
    assert not user_dirs["xdg"].exists()  # the per-user folder is not even created
    assert locate_data().rule == "working directory"
    # A ./data in use serves every data set: Fashion-MNIST would be downloaded there too.
    with pytest.raises(DatasetNotFoundError) as info:
        load_mnist("test", kind="fashion-mnist", mirrors=[dead_mirror])
    folder = user_dirs["work"] / "data" / "fashion-mnist"
    assert f"could not download Fashion-MNIST into {folder}:" in str(info.value)
    assert f"Looked in {folder}; {folder} is used because ./data already holds" in str(info.value)
    assert not folder.exists() and not user_dirs["xdg"].exists()


def test_an_empty_dot_data_does_not_count(user_dirs, server):
    (user_dirs["work"] / "data" / "mnist").mkdir(parents=True)
    load_mnist("test", mirrors=[url(server, "good")])
    assert folder_contents(user_dirs["cache"]) == sorted(f"{name}.gz" for name in NAMES)
    assert folder_contents(user_dirs["work"] / "data") == []


def test_npsae_data_wins_over_dot_data_and_the_per_user_folder(
    user_dirs, server, mnist_root, monkeypatch
):
    for root in (user_dirs["work"] / "data", user_dirs["cache"]):
        (root / "mnist").mkdir(parents=True)
        for name in NAMES:
            shutil.copy(find_idx_file(mnist_root / "mnist", name), root / "mnist")
    chosen = user_dirs["home"] / "chosen"
    monkeypatch.setenv("NPSAE_DATA", str(chosen))
    load_mnist("test", mirrors=[url(server, "good")])
    assert len(server.requests) == 2  # downloaded, although two other folders hold the files
    assert folder_contents(chosen) == sorted(f"{name}.gz" for name in NAMES)
    # and root= wins over $NPSAE_DATA
    load_mnist("test", root=user_dirs["cache"], mirrors=[url(server, "good")])
    assert len(server.requests) == 2


def test_an_unwritable_per_user_folder_falls_back_to_dot_data_saying_so(
    user_dirs, server, monkeypatch
):
    # A home whose .cache cannot hold folders; a regular file stops even root, unlike chmod.
    monkeypatch.delenv("XDG_CACHE_HOME")
    (user_dirs["home"] / ".cache").write_text("not a folder")
    with pytest.warns(UserWarning, match="downloading into .*data.mnist because") as caught:
        load_mnist("test", mirrors=[url(server, "good")])
    message = str(caught[0].message)
    assert f"the per-user data folder {user_dirs['home'] / '.cache' / 'npsae'}" in message
    assert "is not a folder" in message and "set $NPSAE_DATA to a writable folder" in message
    assert folder_contents(user_dirs["work"] / "data") == sorted(f"{name}.gz" for name in NAMES)
    # Now ./data holds the files, so it is simply used: no warning, no download.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_mnist("test", mirrors=[url(server, "good")])
    assert len(server.requests) == 2


@pytest.mark.filterwarnings("error")  # the command says it once, as a note, not as a warning
def test_npsae_data_notes_the_fallback_before_downloading(
    user_dirs, dead_mirror, monkeypatch, capsys
):
    monkeypatch.delenv("XDG_CACHE_HOME")
    cache = user_dirs["home"] / ".cache"
    cache.write_text("not a folder")
    monkeypatch.setitem(datasets.MIRRORS, "fashion-mnist", (dead_mirror,))
    assert main(["data", "--dataset", "fashion-mnist"]) == 1
    captured = capsys.readouterr()
    folder = user_dirs["work"] / "data" / "fashion-mnist"
    why = (
        f"the per-user data folder {cache / 'npsae'} cannot be written ({cache} is not a folder); "
        "set $NPSAE_DATA to a writable folder to keep one copy of the data for every working folder"
    )
    lines = captured.err.splitlines()
    assert lines[0] == f"npsae data: note: using {folder} because {why}"
    assert lines[1] == f"npsae data: error: could not download Fashion-MNIST into {folder}:"
    assert f"{folder} is used because {why}." in captured.err
    assert captured.out == "" and "Traceback" not in captured.err
    assert not folder.parent.exists()  # the failed download took its folders away again


@pytest.mark.parametrize("command", ["train", "sweep"])
def test_offline_a_command_says_on_a_few_short_lines_how_to_get_the_data(
    command, tmp_path, dead_mirror, monkeypatch, capsys
):
    # Issue 27: this was one 1,500-character line holding three URLs per file.
    monkeypatch.setitem(datasets.MIRRORS, "mnist", (dead_mirror,))
    monkeypatch.setenv("NPSAE_DATA", str(tmp_path / "root"))
    out_dir = str(tmp_path / "run")
    assert main([command, out_dir, "--epochs", "1"] if command == "sweep" else [command]) == 1
    err = capsys.readouterr().err
    folder = tmp_path / "root" / "mnist"
    lines = err.splitlines()
    assert lines[0] == (
        f"npsae {command}: error: MNIST is missing from {folder} "
        "(no download mirror could be reached: offline?)"
    )
    assert "  Fetch it when online:  npsae data" in lines
    assert f"  Or put these files in {folder}{os.sep}:" in lines
    assert "    train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz (from " in err
    assert "  Or set $NPSAE_DATA to a folder whose mnist/ subfolder holds them." in lines
    # Short lines: at most the folder's path and 100 characters (the mirror's URL included).
    assert 4 <= len(lines) <= 6 and max(len(line.replace(str(folder), "")) for line in lines) < 100
    assert err.count(dead_mirror) == 1 and "Traceback" not in err
