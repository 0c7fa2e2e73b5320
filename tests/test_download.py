"""Downloading: bad mirrors are skipped, only verified files land, and failure says what to do.

A real HTTP server on 127.0.0.1 plays every mirror. Its first path component picks the
behaviour: ``good`` serves the real MNIST test files, ``corrupt`` damages them, ``wrong`` serves
another (valid) file, ``truncated`` stops halfway through the declared length, ``huge`` sends
far too much, ``missing`` answers 404.
"""

import gzip
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from npsae.datasets import DatasetError, DatasetNotFoundError, find_idx_file, load_mnist

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
