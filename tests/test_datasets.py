"""The data sets: canonical MNIST, checksums, where files are looked for, float rows, the bars
problem, IDX folders, and the ``npsae data`` command."""

import gzip
import os
import shutil
import subprocess
import sys
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from npsae import datasets
from npsae.cli import main
from npsae.datasets import (
    BARS_SAMPLES,
    DatasetError,
    DatasetNotFoundError,
    as_float,
    bars_split,
    data_root,
    find_idx_file,
    load_idx_folder,
    load_mnist,
    locate_data,
    make_bars,
)
from npsae.idx import write_idx

TEST_FILES = ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


def content(mnist_root: Path, name: str) -> bytes:
    """The decompressed content of one of the shared MNIST files."""
    path = find_idx_file(mnist_root / "mnist", name)
    data = path.read_bytes()
    return gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data


@pytest.fixture(scope="module")
def mnist_test(mnist_root):
    return load_mnist("test", root=mnist_root, download=False)


def test_canonical_mnist_loads_with_the_documented_shapes(mnist_root, mnist_test):
    images, labels = load_mnist("train", root=mnist_root, download=False)
    assert images.shape == (60000, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (60000,) and labels.dtype == np.uint8
    assert labels[:5].tolist() == [5, 0, 4, 1, 9]
    assert np.bincount(labels).tolist()[:3] == [5923, 6742, 5958]
    test_images, test_labels = mnist_test
    assert test_images.shape == (10000, 28, 28) and test_labels.shape == (10000,)
    assert test_labels[:5].tolist() == [7, 2, 1, 0, 4]
    assert images.max() == 255 and images.min() == 0


def test_recompressed_and_uncompressed_copies_verify(tmp_path, mnist_root, mnist_test):
    folder = tmp_path / "mnist"
    folder.mkdir()
    images, labels = (content(mnist_root, name) for name in TEST_FILES)
    (folder / TEST_FILES[0]).write_bytes(images)
    recompressed = gzip.compress(labels, compresslevel=1, mtime=123)
    original = (mnist_root / "mnist" / f"{TEST_FILES[1]}.gz").read_bytes()
    assert recompressed != original
    (folder / f"{TEST_FILES[1]}.gz").write_bytes(recompressed)
    got_images, got_labels = load_mnist("test", root=tmp_path, download=False)
    assert np.array_equal(got_images, mnist_test[0])
    assert np.array_equal(got_labels, mnist_test[1])


def copy_test_split(mnist_root: Path, root: Path) -> Path:
    folder = root / "mnist"
    folder.mkdir(parents=True)
    for name in TEST_FILES:
        shutil.copy(find_idx_file(mnist_root / "mnist", name), folder)
    return folder


def test_corrupted_copy_gives_a_checksum_error_naming_the_file(tmp_path, mnist_root):
    folder = copy_test_split(mnist_root, tmp_path)
    labels = bytearray(content(mnist_root, TEST_FILES[1]))
    labels[8] = (labels[8] + 1) % 10  # one label changed: still a valid IDX file
    target = folder / f"{TEST_FILES[1]}.gz"
    target.write_bytes(gzip.compress(bytes(labels)))
    with pytest.raises(DatasetError, match="MD5 of its content") as info:
        load_mnist("test", root=tmp_path, download=False)
    assert str(target) in str(info.value)
    assert "should be 27ae3e4e09519cfbb04c329615203637" in str(info.value)


def test_truncated_gzip_copy_gives_a_dataset_error_naming_the_file(tmp_path, mnist_root):
    folder = copy_test_split(mnist_root, tmp_path)
    target = folder / f"{TEST_FILES[0]}.gz"
    target.write_bytes(target.read_bytes()[:50_000])
    with pytest.raises(DatasetError, match="cannot decompress") as info:
        load_mnist("test", root=tmp_path, download=False)
    assert str(target) in str(info.value)


def test_each_file_is_verified_once_until_it_changes(tmp_path, mnist_root, monkeypatch):
    folder = copy_test_split(mnist_root, tmp_path)
    calls = []
    real = datasets._content_md5
    monkeypatch.setattr(datasets, "_content_md5", lambda f: calls.append(1) or real(f))
    load_mnist("test", root=tmp_path, download=False)
    assert len(calls) == 2
    load_mnist("test", root=tmp_path, download=False)
    assert len(calls) == 2
    labels = folder / f"{TEST_FILES[1]}.gz"
    stat = labels.stat()
    os.utime(labels, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    load_mnist("test", root=tmp_path, download=False)
    assert len(calls) == 3


def test_missing_files_without_download_say_what_to_put_where(tmp_path):
    with pytest.raises(DatasetNotFoundError) as info:
        load_mnist("train", root=tmp_path, kind="fashion-mnist", download=False)
    message = str(info.value)
    assert isinstance(info.value, FileNotFoundError) and isinstance(info.value, ValueError)
    assert f"in {tmp_path / 'fashion-mnist'}{os.sep}:" in message
    assert "train-images-idx3-ubyte.gz" in message and "train-labels-idx1-ubyte.gz" in message
    assert "fashion-mnist.s3-website.eu-central-1.amazonaws.com" in message
    assert not (tmp_path / "fashion-mnist").exists()  # nothing written


def test_unknown_split_or_kind_is_a_value_error(tmp_path):
    with pytest.raises(ValueError, match="split='valid' is not known"):
        load_mnist("valid", root=tmp_path)
    with pytest.raises(ValueError, match="kind='emnist' is not known"):
        load_mnist("train", root=tmp_path, kind="emnist")


def test_data_root_argument_then_environment_then_dot_data_then_the_user_folder(
    user_dirs, monkeypatch, tmp_path, mnist_root
):
    monkeypatch.setenv("NPSAE_DATA", str(tmp_path))
    assert data_root() == tmp_path
    assert data_root("elsewhere") == Path("elsewhere")
    assert data_root("~/d") == Path.home() / "d" == user_dirs["home"] / "d"
    monkeypatch.setenv("NPSAE_DATA", "")
    assert data_root() == user_dirs["cache"]
    monkeypatch.delenv("NPSAE_DATA")
    assert data_root() == user_dirs["cache"]
    copy_test_split(mnist_root, user_dirs["work"] / "data")
    assert data_root() == user_dirs["work"] / "data"
    assert not user_dirs["xdg"].exists()  # finding out creates nothing


def test_locate_data_says_which_rule_chose_the_folder(user_dirs, monkeypatch, tmp_path):
    work, cache = user_dirs["work"], user_dirs["cache"]
    location = locate_data()
    assert (location.root, location.rule) == (cache, "per-user")
    assert location.looked_in == (work / "data", cache)
    assert "per-user data folder ($XDG_CACHE_HOME/npsae)" in location.reason
    assert locate_data(tmp_path).rule == "argument"
    monkeypatch.setenv("NPSAE_DATA", "~/shared")
    location = locate_data()
    assert (location.root, location.rule) == (user_dirs["home"] / "shared", "environment")
    assert location.reason == "$NPSAE_DATA is set" and location.looked_in == (location.root,)
    (work / "data" / "fashion-mnist").mkdir(parents=True)
    (work / "data" / "fashion-mnist" / "t10k-labels-idx1-ubyte.gz").touch()
    monkeypatch.delenv("NPSAE_DATA")
    assert locate_data() == datasets.DataLocation(
        work / "data", "working directory", "./data already holds data set files", (work / "data",)
    )


@pytest.mark.parametrize(
    ("platform", "env", "expected", "rule"),
    [
        ("linux", {"XDG_CACHE_HOME": "{tmp}/xdg"}, "{tmp}/xdg/npsae", "$XDG_CACHE_HOME/npsae"),
        ("linux", {"XDG_CACHE_HOME": ""}, "{home}/.cache/npsae", "~/.cache/npsae"),
        # The XDG specification: a relative $XDG_CACHE_HOME is invalid and ignored.
        ("linux", {"XDG_CACHE_HOME": "rel"}, "{home}/.cache/npsae", "~/.cache/npsae"),
        ("darwin", {}, "{home}/Library/Caches/npsae", "~/Library/Caches/npsae"),
        ("win32", {"LOCALAPPDATA": "{tmp}/L"}, "{tmp}/L/npsae/Cache", "%LOCALAPPDATA%"),
        ("win32", {"LOCALAPPDATA": ""}, "{home}/AppData/Local/npsae/Cache", "%LOCALAPPDATA%"),
    ],
)
def test_the_per_user_folder_follows_each_platform(
    user_dirs, monkeypatch, tmp_path, platform, env, expected, rule
):
    monkeypatch.setattr(sys, "platform", platform)
    for name, value in env.items():
        monkeypatch.setenv(name, value.format(tmp=tmp_path))
    location = locate_data()
    assert location.rule == "per-user"
    assert location.root == Path(expected.format(tmp=tmp_path, home=user_dirs["home"]))
    assert f"per-user data folder ({rule}" in location.reason


def test_a_read_only_home_falls_back_to_dot_data_naming_npsae_data(user_dirs, monkeypatch):
    # Tests may run as root, which chmod does not stop: a home the OS reports read-only.
    home = user_dirs["home"]
    monkeypatch.delenv("XDG_CACHE_HOME")
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: Path(p) != home and real_access(p, mode))
    location = locate_data()
    assert (location.root, location.rule) == (user_dirs["work"] / "data", "fallback")
    assert location.reason == (
        f"the per-user data folder {home / '.cache' / 'npsae'} cannot be written ({home} is "
        "read-only); set $NPSAE_DATA to a writable folder to keep one copy of the data for every "
        "working folder"
    )
    # A read-only per-user folder that already holds the data is used as it is.
    (home / ".cache" / "npsae" / "mnist").mkdir(parents=True)
    (home / ".cache" / "npsae" / "mnist" / "t10k-images-idx3-ubyte").touch()
    assert locate_data().rule == "per-user"


def test_not_found_lists_the_folders_looked_in(user_dirs):
    with pytest.raises(DatasetNotFoundError) as info:
        load_mnist("test", download=False)
    folder = user_dirs["cache"] / "mnist"
    assert (
        f"Looked in {user_dirs['work'] / 'data' / 'mnist'}, then {folder}; {folder} is used "
        "because it is the per-user data folder ($XDG_CACHE_HOME/npsae)"
    ) in str(info.value)
    assert not user_dirs["xdg"].exists()


def test_find_idx_file_prefers_the_uncompressed_file(tmp_path):
    assert find_idx_file(tmp_path, "x") is None
    (tmp_path / "x.gz").touch()
    assert find_idx_file(tmp_path, "x") == tmp_path / "x.gz"
    (tmp_path / "x").touch()
    assert find_idx_file(tmp_path, "x") == tmp_path / "x"


# as_float


def test_as_float_scales_uint8_images_to_rows_in_0_1(mnist_test):
    images = mnist_test[0][:500]
    X = as_float(images)
    assert X.shape == (500, 784) and X.dtype == np.float32 and X.flags.c_contiguous
    assert np.array_equal(X, (images.reshape(500, -1) / 255.0).astype(np.float32))
    assert X.min() == 0 and X.max() == 1
    X64 = as_float(images.reshape(500, 784), dtype=np.float64)
    assert X64.dtype == np.float64 and np.array_equal(X64, images.reshape(500, -1) / 255.0)


def test_as_float_fills_a_given_buffer_batch_after_batch(mnist_test):
    images = mnist_test[0]
    out = np.empty((100, 784), np.float32)
    for start in (0, 100, 200):
        got = as_float(images[start : start + 100], out=out)
        assert got is out
        assert np.array_equal(out, as_float(images[start : start + 100]))


def test_as_float_makes_no_float64_temporary():
    images = np.random.default_rng(0).integers(0, 256, (2000, 784), dtype=np.uint8)
    out = np.empty((2000, 784), np.float32)
    tracemalloc.start()
    try:
        as_float(images, out=out)
        _, peak_with_out = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        as_float(images)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak_with_out < 500_000  # ufunc buffers only
    assert peak < 1.2 * out.nbytes  # the float32 result and nothing the size of a float64 copy


def test_as_float_passes_float_images_in_0_1_through():
    rng = np.random.default_rng(1)
    X = rng.random((10, 4, 4), dtype=np.float32)
    rows = as_float(X)
    assert rows.shape == (10, 16) and np.shares_memory(rows, X)
    rows64 = as_float(X, dtype=np.float64)
    assert rows64.dtype == np.float64 and np.array_equal(rows64, X.reshape(10, 16))
    out = np.empty((10, 16), np.float32)
    assert as_float(X.astype(np.float64), out=out) is out and np.array_equal(out, rows)


@pytest.mark.parametrize(
    ("images", "kwargs", "match"),
    [
        (np.zeros((2, 3), np.int32), {}, "uint8 \\(0..255\\) or float in \\[0, 1\\], not int32"),
        (np.zeros((2, 3), bool), {}, "not bool"),
        (np.zeros(5, np.uint8), {}, "shape \\(N, H, W\\) or \\(N, D\\), not \\(5,\\)"),
        (np.zeros((1, 2, 3, 4), np.uint8), {}, "not \\(1, 2, 3, 4\\)"),
        (np.full((2, 3), 1.5), {}, "should lie in \\[0, 1\\]"),
        (np.full((2, 3), -0.1), {}, "should lie in \\[0, 1\\]"),
        (np.full((2, 3), np.nan), {}, "should lie in \\[0, 1\\]"),
        (np.zeros((2, 3), np.uint8), {"dtype": np.int32}, "float32 or float64, not int32"),
        (np.zeros((2, 3), np.uint8), {"out": np.empty((2, 4), np.float32)}, "shape \\(2, 3\\)"),
        (np.zeros((2, 3), np.uint8), {"out": np.empty((2, 3))}, "float32 array"),
        (np.zeros((2, 3), np.uint8), {"out": np.empty((3, 2), np.float32).T}, "C-contiguous"),
    ],
)
def test_as_float_rejects_other_dtypes_shapes_and_buffers(images, kwargs, match):
    with pytest.raises(ValueError, match=match):
        as_float(images, **kwargs)


# make_bars


def test_bars_are_ors_of_horizontal_and_vertical_bars():
    X, features = make_bars(2000, size=6, seed=3)
    assert X.shape == (2000, 36) and X.dtype == np.float32 and features.shape == (12, 36)
    assert set(np.unique(X)) <= {0.0, 1.0}
    bars = features.reshape(12, 6, 6)
    for i in range(6):
        assert bars[i, i].all() and bars[i].sum() == 6  # horizontal bar i: row i
        assert bars[6 + i, :, i].all() and bars[6 + i].sum() == 6  # vertical bar i: column i
    # An OR of bars has a pixel on exactly where its row or its column is fully on.
    images = X.reshape(-1, 6, 6).astype(bool)
    full_rows = images.all(axis=2)[:, :, None]
    full_cols = images.all(axis=1)[:, None, :]
    assert np.array_equal(images, full_rows | full_cols)
    # Each pixel is off only when both its bars are: probability (1 - 1/6)**2.
    assert X.mean() == pytest.approx(1 - (5 / 6) ** 2, abs=0.01)


def test_bars_are_reproducible_and_respect_p_and_dtype():
    a, fa = make_bars(50, seed=7)
    b, fb = make_bars(50, seed=7)
    assert np.array_equal(a, b) and np.array_equal(fa, fb)
    assert not np.array_equal(a, make_bars(50, seed=8)[0])
    assert not make_bars(20, p=0.0)[0].any()
    assert make_bars(20, p=1.0)[0].all()
    X, features = make_bars(5, size=3, dtype=np.float64)
    assert X.dtype == features.dtype == np.float64 and X.shape == (5, 9)


def test_bars_splits_are_the_standard_draws():
    X, features = bars_split("train")
    assert X.shape == (BARS_SAMPLES["train"], 64) == (10_000, 64)
    assert np.array_equal(X, make_bars(10_000, seed=0)[0])
    X, _ = bars_split("test", size=6)
    assert np.array_equal(X, make_bars(2_000, size=6, seed=1)[0])
    with pytest.raises(ValueError, match="split='val': the bars splits are train, test"):
        bars_split("val")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_samples": 0}, "n_samples must be an integer >= 1"),
        ({"n_samples": 2.5}, "n_samples must be an integer >= 1"),
        ({"n_samples": True}, "n_samples must be an integer >= 1"),
        ({"size": 1}, "size must be an integer >= 2"),
        ({"p": 1.5}, "p must be a probability"),
        ({"p": -0.1}, "p must be a probability"),
        ({"p": "half"}, "p must be a probability"),
        ({"dtype": np.int32}, "dtype must be a float dtype"),
    ],
)
def test_bars_validate_their_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_bars(**{"n_samples": 10, **kwargs})


# load_idx_folder


def test_load_idx_folder_reads_canonically_named_files_without_checksums(tmp_path):
    images = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", images)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.array([3, 1], np.uint8))
    got_images, got_labels = load_idx_folder(tmp_path, "test")
    assert np.array_equal(got_images, images) and got_labels.tolist() == [3, 1]
    with pytest.raises(DatasetNotFoundError, match="no train-images-idx3-ubyte or train-labels"):
        load_idx_folder(tmp_path, "train")
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.array([3, 1, 2], np.uint8))
    with pytest.raises(DatasetError, match="do not fit 2 images"):
        load_idx_folder(tmp_path, "test")


# The command line


def test_data_command_summarises_mnist(mnist_root, capsys):
    assert main(["data", "--root", str(mnist_root), "--no-download"]) == 0
    out = capsys.readouterr().out
    assert str((mnist_root / "mnist").resolve()) in out
    assert "used because root= (--root, --data-root) was given" in out
    assert "images (60000, 28, 28) uint8" in out and "images (10000, 28, 28) uint8" in out
    assert "0:5923 1:6742" in out and "pixel mean 0.1307" in out


def test_data_command_reports_missing_files_without_a_traceback(tmp_path, capsys):
    assert main(["data", "--data-root", str(tmp_path), "--no-download"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("npsae data: error: MNIST files missing in")
    assert "Traceback" not in captured.err


def test_data_command_says_which_folder_and_why(user_dirs, mnist_root, monkeypatch, capsys):
    monkeypatch.setenv("NPSAE_DATA", str(mnist_root))
    assert main(["data", "--no-download"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"mnist: {(mnist_root / 'mnist').resolve()} (checksums verified)\n")
    assert "used because $NPSAE_DATA is set" in out
    copy_test_split(mnist_root, user_dirs["cache"])
    monkeypatch.delenv("NPSAE_DATA")
    assert main(["data", "--no-download"]) == 1  # the per-user folder holds the test split only
    err = capsys.readouterr().err
    assert f"files missing in {user_dirs['cache'] / 'mnist'}" in err
    assert f"Looked in {user_dirs['work'] / 'data' / 'mnist'}, then " in err


def test_data_command_describes_the_bars(capsys):
    assert main(["data", "--dataset", "bars"]) == 0
    assert "X (10000, 64) float32, bars (16, 64)" in capsys.readouterr().out


def test_python_m_npsae_data_help_answers():
    result = subprocess.run(
        [sys.executable, "-m", "npsae", "data", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0
    assert "--no-download" in result.stdout and "fashion-mnist" in result.stdout
