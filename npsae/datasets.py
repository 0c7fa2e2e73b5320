"""Data sets: MNIST and Fashion-MNIST from IDX files (checked, downloaded when missing), the
bars problem (and its standard splits, ``bars_split``), sparse features in superposition,
and the conversion of uint8 images to float
rows.

Where the files are looked for
------------------------------
:func:`locate_data` picks the data root, and says which rule picked it, by the first rule that
applies: the ``root`` argument (``--data-root`` on the command line);
``$NPSAE_DATA``; ``./data`` when it already holds files of a data set; the per-user data folder
(``$XDG_CACHE_HOME/npsae`` or ``~/.cache/npsae`` on Linux, ``~/Library/Caches/npsae`` on macOS,
``%LOCALAPPDATA%\\npsae\\Cache`` on Windows), so that one download serves every working folder;
and ``./data`` again, with a warning, when the per-user folder cannot be created or written.
Missing files are downloaded into the chosen root.

MNIST lives in ``<root>/mnist/``, Fashion-MNIST in ``<root>/fashion-mnist/``, as the four
canonical files ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
``t10k-images-idx3-ubyte`` and ``t10k-labels-idx1-ubyte``, each gzipped (``.gz``) or not. Every
file's decompressed content is checked against the MD5 of the canonical file, so a recompressed
copy is as good as the original.

Errors
------
:class:`DatasetError` (a ValueError) for a file whose content is not the canonical one, and its
subclass :class:`DatasetNotFoundError` (also a FileNotFoundError) when files are missing and
cannot be downloaded; both name the files and folders concerned.
"""

from __future__ import annotations

import gzip
import hashlib
import http.client
import operator
import os
import sys
import urllib.error
import urllib.request
import warnings
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from npsae._fileio import atomic_write
from npsae.idx import GZIP_MAGIC, read_idx

__all__ = [
    "FASHION_MNIST_MIRRORS",
    "MNIST_MIRRORS",
    "DataLocation",
    "DatasetError",
    "DatasetNotFoundError",
    "as_float",
    "data_root",
    "find_idx_file",
    "load_idx_folder",
    "load_mnist",
    "locate_data",
    "make_bars",
    "make_superposition",
]

#: The canonical file names (without ``.gz``) of each split: (images, labels).
FILES: dict[str, tuple[str, str]] = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}

#: Decompressed size in bytes of each canonical file; the same for MNIST and Fashion-MNIST.
SIZES: dict[str, int] = {
    "train-images-idx3-ubyte": 47_040_016,
    "train-labels-idx1-ubyte": 60_008,
    "t10k-images-idx3-ubyte": 7_840_016,
    "t10k-labels-idx1-ubyte": 10_008,
}

#: MD5 of each canonical file's decompressed content, per kind of data set.
MD5: dict[str, dict[str, str]] = {
    "mnist": {
        "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
        "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
        "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
        "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
    },
    "fashion-mnist": {
        "train-images-idx3-ubyte": "f4a8712d7a061bf5bd6d2ca38dc4d50a",
        "train-labels-idx1-ubyte": "9018921c3c673c538a1fc5bad174d6f9",
        "t10k-images-idx3-ubyte": "8181f5470baa50b63fa0f6fddb340f0a",
        "t10k-labels-idx1-ubyte": "15d484375f8d13e6eb1aabb0c3f46965",
    },
}

#: Public mirrors of MNIST's ``.gz`` files, tried in turn.
MNIST_MIRRORS: tuple[str, ...] = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)

#: Fashion-MNIST's official download site.
FASHION_MNIST_MIRRORS: tuple[str, ...] = (
    "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
)

MIRRORS: dict[str, tuple[str, ...]] = {
    "mnist": MNIST_MIRRORS,
    "fashion-mnist": FASHION_MNIST_MIRRORS,
}

_TITLES = {"mnist": "MNIST", "fashion-mnist": "Fashion-MNIST"}

_CHUNK = 1 << 20

# Files already checked in this process, keyed by (path, size, mtime): a changed file is checked
# again, an unchanged one is not, so that loading the same split repeatedly costs one read.
_verified: set[tuple[str, int, int, str]] = set()


class DatasetError(ValueError):
    """A data set file is damaged or not the expected one; the message names the file."""


class DatasetNotFoundError(DatasetError, FileNotFoundError):
    """Data set files are missing and cannot be downloaded; the message says what to put where,
    and every download attempt. ``brief`` is the same advice in a few short lines, without the
    attempts, for the command line."""

    def __init__(self, message: str, brief: str | None = None) -> None:
        super().__init__(message)
        self.brief = brief or message


@dataclass(frozen=True)
class DataLocation:
    """Where the data sets live, and why: the answer of :func:`locate_data`.

    Attributes
    ----------
    root : the data root; MNIST is in ``root / "mnist"``, Fashion-MNIST in
        ``root / "fashion-mnist"``. It need not exist yet.
    rule : the rule that chose it: "argument", "environment", "working directory", "per-user" or
        "fallback" (see :func:`locate_data`).
    reason : that rule in words, a clause that follows "because", for messages.
    looked_in : the roots considered, in order; the last is ``root``.
    """

    root: Path
    rule: str
    reason: str
    looked_in: tuple[Path, ...]


def locate_data(root: str | os.PathLike | None = None) -> DataLocation:
    """Where the data sets live, by the first rule that applies, and which rule that was.

    1. "argument": ``root``, when given (``--data-root`` on the command line).
    2. "environment": ``$NPSAE_DATA``, when set and not empty.
    3. "working directory": ``./data``, when ``./data/mnist/`` or ``./data/fashion-mnist/``
       already holds one of the canonical files (gzipped or not), as it does where an earlier
       npsae, which downloaded there, has run: existing folders keep working.
    4. "per-user": the per-user data folder, found from any working folder: on Linux
       ``$XDG_CACHE_HOME/npsae`` (when that is an absolute path) or ``~/.cache/npsae``; on macOS
       ``~/Library/Caches/npsae``; on Windows ``%LOCALAPPDATA%\\npsae\\Cache`` (the folder
       ``platformdirs.user_cache_dir("npsae", appauthor=False)`` names). Chosen when it holds
       data already or can be created and written.
    5. "fallback": ``./data``, when the per-user folder cannot be created or written (a read-only
       home, as in some containers); ``reason`` says why and names ``$NPSAE_DATA``.

    ``~`` is expanded in ``root`` and ``$NPSAE_DATA``; nothing is created or written.
    """
    if root is not None:
        root = Path(root).expanduser()
        return DataLocation(root, "argument", "root= (--root, --data-root) was given", (root,))
    env = os.environ.get("NPSAE_DATA")
    if env:
        root = Path(env).expanduser()
        return DataLocation(root, "environment", "$NPSAE_DATA is set", (root,))
    local = Path("data").absolute()
    if _holds_data(local):
        return DataLocation(
            local, "working directory", "./data already holds data set files", (local,)
        )
    try:
        user, rule = _user_folder()
    except RuntimeError as err:  # Path.home() without $HOME and without a password entry
        looked_in, problem = (local,), f"there is no home folder: {err}"
        user = Path("~/.cache/npsae")
    else:
        looked_in = (local, user)
        problem = None if _holds_data(user) else _unwritable(user)
        if problem is None:
            reason = (
                f"it is the per-user data folder ({rule}): root= was not given, $NPSAE_DATA is "
                "not set and ./data holds no data set"
            )
            return DataLocation(user, "per-user", reason, looked_in)
    reason = (
        f"the per-user data folder {user} cannot be written ({problem}); set $NPSAE_DATA to a "
        "writable folder to keep one copy of the data for every working folder"
    )
    return DataLocation(local, "fallback", reason, looked_in)


def data_root(root: str | os.PathLike | None = None) -> Path:
    """The folder holding the data sets: ``locate_data(root).root`` (which see for the rules).

    ``~`` is expanded; the folder need not exist.
    """
    return locate_data(root).root


def _user_folder() -> tuple[Path, str]:
    """The per-user data folder of this platform, and the rule that names it, for messages."""
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA", "")
        if not os.path.isabs(base):  # unset: its standard value
            base = Path.home() / "AppData" / "Local"
        return Path(base) / "npsae" / "Cache", "%LOCALAPPDATA%\\npsae\\Cache"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "npsae", "~/Library/Caches/npsae"
    # The XDG specification: a relative path in $XDG_CACHE_HOME is invalid and ignored.
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    if os.path.isabs(xdg):
        return Path(xdg) / "npsae", "$XDG_CACHE_HOME/npsae"
    return Path.home() / ".cache" / "npsae", "~/.cache/npsae"


def _holds_data(root: Path) -> bool:
    """True when ``root/mnist/`` or ``root/fashion-mnist/`` holds any canonical file."""
    try:
        return any(
            find_idx_file(root / kind, name)
            for kind in MD5
            for names in FILES.values()
            for name in names
        )
    except OSError:  # an unreadable folder holds nothing we can use
        return False


def _unwritable(folder: Path) -> str | None:
    """Why ``folder`` cannot be created (if need be) and written, or None when it can.

    Asks the nearest existing ancestor, so nothing is created just to find out.
    """
    try:
        existing = folder
        while not existing.exists():
            existing = existing.parent
        if not existing.is_dir():
            return f"{existing} is not a folder"
        if not os.access(existing, os.W_OK | os.X_OK):
            return f"{existing} is read-only"
    except OSError as err:
        return str(err)
    return None


def _make_folders(folder: Path) -> list[Path]:
    """Create ``folder`` and its missing parents; return the folders created, outermost first."""
    absent = []
    while not folder.is_dir():
        absent.append(folder)
        folder = folder.parent
    created: list[Path] = []
    try:
        for path in reversed(absent):
            try:
                path.mkdir()
            except FileExistsError:
                if not path.is_dir():
                    raise NotADirectoryError(f"{path} exists and is not a folder") from None
                continue  # made by another process meanwhile: not ours to remove
            created.append(path)
    except OSError:
        _remove_empty(created)
        raise
    return created


def _remove_empty(created: Sequence[Path]) -> None:
    """Remove the folders in ``created`` (outermost first), innermost first, while empty."""
    for path in reversed(created):
        try:
            path.rmdir()
        except OSError:  # not empty (a file landed), or gone: leave it and its parents
            return


def find_idx_file(folder: str | os.PathLike, name: str) -> Path | None:
    """``folder/name`` if it exists, else ``folder/name.gz`` if that does, else None.

    The uncompressed file wins when both exist because it is quicker to read.
    """
    for candidate in (Path(folder) / name, Path(folder) / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    return None


def load_mnist(
    split: str = "train",
    root: str | os.PathLike | None = None,
    kind: str = "mnist",
    download: bool = True,
    mirrors: Sequence[str] | None = None,
    timeout: float = 10.0,
    progress: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Load a split of MNIST or Fashion-MNIST, downloading missing files.

    Parameters
    ----------
    split : "train" (60000 images) or "test" (10000 images).
    root : the data root, see :func:`data_root`; the files live in ``root/<kind>/``.
    kind : "mnist" or "fashion-mnist".
    download : fetch missing files from ``mirrors``; with False a missing file is an error.
    mirrors : URL prefixes (or one) to fetch ``<prefix>/<name>.gz`` from, tried in turn; by default
        :data:`MNIST_MIRRORS` or :data:`FASHION_MNIST_MIRRORS`.
    timeout : seconds to wait for each connection or read before moving to the next mirror.
    progress : report downloads on stderr; otherwise nothing is printed.

    Returns
    -------
    images : uint8 array (N, 28, 28), pixel values 0..255 (0 is background).
    labels : uint8 array (N,), the class 0..9 of each image.

    Raises
    ------
    DatasetNotFoundError : files are missing and could not be downloaded (the message says which
        files to put in which folder, and what each mirror answered).
    DatasetError : a file's decompressed content does not have the canonical MD5.
    """
    if split not in FILES:
        raise ValueError(f"split={split!r} is not known; choose 'train' or 'test'")
    if kind not in MD5:
        raise ValueError(f"kind={kind!r} is not known; choose one of {', '.join(MD5)}")
    location = locate_data(root)
    folder = location.root / kind
    if mirrors is None:
        mirrors = MIRRORS[kind]
    mirrors = (mirrors,) if isinstance(mirrors, str) else tuple(mirrors)
    names = FILES[split]
    missing = [name for name in names if find_idx_file(folder, name) is None]
    if missing and not download:
        raise _not_found(kind, location, missing, mirrors, {})
    if missing:
        if location.rule == "fallback":
            warnings.warn(f"downloading into {folder} because {location.reason}", stacklevel=2)
        _download_all(kind, location, missing, mirrors, timeout, progress)
    images_path, labels_path = (find_idx_file(folder, name) for name in names)
    for path, name in ((images_path, names[0]), (labels_path, names[1])):
        _verify(path, MD5[kind][name])
    return read_idx(images_path), read_idx(labels_path)


def load_idx_folder(path: str | os.PathLike, split: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """Load a split from a folder of IDX files named as MNIST's are, without any checksum.

    For data sets in MNIST's format other than MNIST itself: ``path`` holds
    ``train-images-idx3-ubyte`` and ``train-labels-idx1-ubyte`` (split "train") or
    ``t10k-images-idx3-ubyte`` and ``t10k-labels-idx1-ubyte`` (split "test"), gzipped or not.

    Returns ``(images, labels)``: images (N, H, W) of the file's dtype, labels (N,) likewise.
    Raises DatasetNotFoundError for missing files, DatasetError when the shapes do not fit
    together, IDXFormatError for a malformed file.
    """
    if split not in FILES:
        raise ValueError(f"split={split!r} is not known; choose 'train' or 'test'")
    folder = Path(path)
    found = [find_idx_file(folder, name) for name in FILES[split]]
    missing = [name for name, p in zip(FILES[split], found, strict=True) if p is None]
    if missing:
        raise DatasetNotFoundError(
            f"{folder}: no {' or '.join(missing)} (gzipped or not) for the {split} split"
        )
    images, labels = read_idx(found[0]), read_idx(found[1])
    if images.ndim != 3:
        raise DatasetError(f"{found[0]}: images should have shape (N, H, W), not {images.shape}")
    if labels.shape != images.shape[:1]:
        raise DatasetError(
            f"{found[1]}: labels of shape {labels.shape} do not fit {len(images)} images "
            f"in {found[0]}"
        )
    return images, labels


def as_float(
    images: np.ndarray, dtype: np.dtype | type = np.float32, out: np.ndarray | None = None
) -> np.ndarray:
    """Images as float rows in [0, 1], one image per row: what the autoencoder eats.

    ``images`` is uint8 (N, H, W) or (N, D), divided by 255 straight into ``dtype`` (float32
    or float64) with no float64 temporary; or float (N, H, W) or (N, D) already in [0, 1], which
    is only cast (no copy when it is already ``dtype`` and contiguous: the result may then be
    ``images`` itself, reshaped).

    ``out``, a C-contiguous writable (N, D) array of ``dtype``, receives the result, so that
    training can convert batch after batch into one buffer; it is returned.

    Returns a ``dtype`` array (N, D), D = H * W. Raises ValueError for other dtypes or shapes,
    float values outside [0, 1] (or NaN), or an unsuitable ``out``.
    """
    images = np.asarray(images)
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise ValueError(f"dtype must be float32 or float64, not {dtype}")
    if images.ndim not in (2, 3):
        raise ValueError(f"images should have shape (N, H, W) or (N, D), not {images.shape}")
    rows = images.reshape(len(images), -1)
    if out is not None:
        if not isinstance(out, np.ndarray) or out.shape != rows.shape or out.dtype != dtype:
            got = f"{out.dtype} {out.shape}" if isinstance(out, np.ndarray) else type(out).__name__
            raise ValueError(f"out should be a {dtype} array of shape {rows.shape}, not {got}")
        if not (out.flags.c_contiguous and out.flags.writeable):
            raise ValueError("out should be C-contiguous and writable")
    if images.dtype == np.uint8:
        if out is None:
            out = np.empty(rows.shape, dtype)
        # dtype= picks the float32 loop for float32: no float64 detour, correctly rounded k/255.
        return np.divide(rows, dtype.type(255), out=out, dtype=dtype)
    if images.dtype.kind != "f":
        raise ValueError(f"images should be uint8 (0..255) or float in [0, 1], not {images.dtype}")
    if rows.size and not (rows.min() >= 0 and rows.max() <= 1):  # false for NaN too
        raise ValueError(
            f"float images should lie in [0, 1]; these range over [{rows.min()}, {rows.max()}]"
        )
    if out is None:
        return np.ascontiguousarray(rows, dtype=dtype)
    np.copyto(out, rows, casting="same_kind")
    return out


def make_bars(
    n_samples: int,
    size: int = 8,
    p: float | None = None,
    seed: int | None = 0,
    dtype: np.dtype | type = np.float32,
) -> tuple[np.ndarray, np.ndarray]:
    """Foldiak's bars problem: images made of randomly chosen horizontal and vertical bars.

    Each image is ``size`` x ``size``; each of its 2*size bars (every row and every column) is
    on independently with probability ``p`` (default 1/size, so two bars on average); a pixel is
    1 when any bar through it is on (logical OR), else 0. A good sparse code learns the bars.

    Returns
    -------
    X : ``dtype`` array (n_samples, size*size) of 0s and 1s, images as rows.
    features : ``dtype`` array (2*size, size*size), the bars: rows 0..size-1 the horizontal bars
        (bar i is image row i), rows size..2*size-1 the vertical ones (bar size+j is column j).

    The same ``seed`` always gives the same data (``np.random.default_rng(seed)``).
    """
    n_samples = _positive_int("n_samples", n_samples, 1)
    size = _positive_int("size", size, 2)
    if p is None:
        p = 1 / size
    if isinstance(p, bool) or not isinstance(p, (int, float, np.integer, np.floating)):
        raise ValueError(f"p must be a probability in [0, 1], not {p!r}")
    if not 0 <= p <= 1:
        raise ValueError(f"p must be a probability in [0, 1], not {p!r}")
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise ValueError(f"dtype must be a float dtype, not {dtype}")
    rng = np.random.default_rng(seed)
    on = rng.random((n_samples, 2 * size)) < p
    X = on[:, :size, None] | on[:, None, size:]  # row i or column j on -> pixel (i, j) on
    features = np.zeros((2 * size, size, size), dtype)
    for i in range(size):
        features[i, i, :] = 1
        features[size + i, :, i] = 1
    return X.reshape(n_samples, size * size).astype(dtype), features.reshape(2 * size, -1)


# The bars problem is generated, not stored: its standard splits, as ``npsae train``, ``npsae
# data`` and the run report draw them, are these many images from these seeds.
BARS_SAMPLES = {"train": 10_000, "test": 2_000}
BARS_SEEDS = {"train": 0, "test": 1}


def bars_split(split: str, size: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """The bars problem's standard ``split``, "train" or "test": ``make_bars`` of
    ``BARS_SAMPLES[split]`` images of ``size`` x ``size`` with seed ``BARS_SEEDS[split]``.
    Returns (X, features) as ``make_bars`` does."""
    if split not in BARS_SAMPLES:
        raise ValueError(f"split={split!r}: the bars splits are {', '.join(BARS_SAMPLES)}")
    return make_bars(BARS_SAMPLES[split], size=size, seed=BARS_SEEDS[split])


def make_superposition(
    n_samples: int,
    n_features: int,
    n_dims: int,
    p: float,
    seed: int | None = 0,
    dtype: np.dtype | type = np.float32,
) -> tuple[np.ndarray, np.ndarray]:
    """Sparse features in superposition: more features than dimensions, with a known answer.

    Each of ``n_features`` true features is a random unit direction ``F_f`` in ``n_dims``
    dimensions (a normalised Gaussian vector; with ``n_features > n_dims`` they cannot all be
    orthogonal). Each sample switches every feature on independently with probability ``p``, with
    a magnitude drawn uniformly from [0, 1], and adds up the directions of those that are on::

        S_if = u_if * [r_if < p],   u, r ~ U(0, 1)      (the true sparse code, S: (m, n_features))
        X = S F                                          (X: (m, n_dims), F: (n_features, n_dims))

    so a sample holds ``p * n_features`` features on average. This is the setting of Elhage et
    al.'s "Toy Models of Superposition" and of Sharkey et al.'s feature-recovery experiments: a
    sparse autoencoder that works should find decoder rows along the ``F_f``, which
    ``npsae.metrics.mmcs(features, model.params["W2"])`` measures.

    Returns
    -------
    X : ``dtype`` array (n_samples, n_dims), one sample per row.
    features : ``dtype`` array (n_features, n_dims), the true directions, unit rows.

    The same ``seed`` always gives the same data (``np.random.default_rng(seed)``); the
    directions are drawn first, so a given seed and ``n_features, n_dims`` give the same
    directions whatever ``n_samples`` and ``p``.
    """
    n_samples = _positive_int("n_samples", n_samples, 1)
    n_features = _positive_int("n_features", n_features, 1)
    n_dims = _positive_int("n_dims", n_dims, 1)
    if isinstance(p, bool) or not isinstance(p, (int, float, np.integer, np.floating)):
        raise ValueError(f"p must be a probability in (0, 1], not {p!r}")
    if not 0 < p <= 1:
        raise ValueError(f"p must be a probability in (0, 1], not {p!r}")
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise ValueError(f"dtype must be a float dtype, not {dtype}")
    rng = np.random.default_rng(seed)
    F = rng.standard_normal((n_features, n_dims))
    F /= np.linalg.norm(F, axis=1, keepdims=True)
    S = rng.random((n_samples, n_features))
    S *= rng.random((n_samples, n_features)) < p
    return (S @ F).astype(dtype), F.astype(dtype)


def _positive_int(name: str, value: object, least: int) -> int:
    if isinstance(value, bool):
        raise ValueError(f"{name} must be an integer >= {least}, not {value!r}")
    try:
        value = operator.index(value)
    except TypeError:
        raise ValueError(f"{name} must be an integer >= {least}, not {value!r}") from None
    if value < least:
        raise ValueError(f"{name} must be an integer >= {least}, not {value!r}")
    return value


def _content_md5(source) -> str:
    """MD5 of the decompressed content of ``source``, a binary file object at its start."""
    md5 = hashlib.md5()
    start = source.read(2)
    source.seek(0)
    stream = gzip.GzipFile(fileobj=source, mode="rb") if start == GZIP_MAGIC else source
    while chunk := stream.read(_CHUNK):
        md5.update(chunk)
    return md5.hexdigest()


def _verified_key(path: Path, expected: str) -> tuple[str, int, int, str]:
    stat = path.stat()
    return str(path.resolve()), stat.st_size, stat.st_mtime_ns, expected


def _verify(path: Path, expected: str) -> None:
    """Check that ``path``'s decompressed content has MD5 ``expected``, once per process."""
    key = _verified_key(path, expected)
    if key in _verified:
        return
    try:
        with open(path, "rb") as f:
            digest = _content_md5(f)
    except (EOFError, OSError, zlib.error) as err:
        raise DatasetError(
            f"{path}: damaged, not the canonical file (cannot decompress it: {err}); delete it "
            "and load again to download a fresh copy"
        ) from err
    if digest != expected:
        raise DatasetError(
            f"{path}: damaged, not the canonical file (MD5 of its content is {digest}, should be "
            f"{expected}); delete it and load again to download a fresh copy"
        )
    _verified.add(key)


def _download_all(
    kind: str,
    location: DataLocation,
    missing: Sequence[str],
    mirrors: Sequence[str],
    timeout: float,
    progress: bool,
) -> None:
    """Download the ``missing`` files of ``kind`` into ``location``; DatasetNotFoundError if any
    cannot be. Folders this creates are removed again when nothing lands in them."""
    folder = location.root / kind
    try:
        created = _make_folders(folder)
    except OSError as err:
        failures = {name: [f"cannot create the folder: {err}"] for name in missing}
        raise _not_found(kind, location, missing, mirrors, failures) from err
    failures = {}
    unreachable: dict[str, str] = {}
    try:
        for name in missing:
            failures[name] = _download(
                name, folder, MD5[kind][name], mirrors, unreachable, timeout, progress
            )
    finally:  # also on Ctrl-C: a failed download leaves no empty folder behind
        _remove_empty(created)
    still = [name for name in missing if failures[name]]
    if still:
        raise _not_found(kind, location, still, mirrors, failures)


def _download(
    name: str,
    folder: Path,
    expected_md5: str,
    mirrors: Sequence[str],
    unreachable: dict[str, str],
    timeout: float,
    progress: bool,
) -> list[str]:
    """Fetch ``name.gz`` into ``folder`` from the first mirror that serves the canonical file.

    Returns the empty list on success, else one "url: what went wrong" line per mirror. A file
    appears in ``folder`` only once its content is verified. ``unreachable`` maps mirrors that
    could not be reached (or timed out) to the reason; they are skipped, and this adds to it, so
    that without a network each mirror costs one timeout, not one per file.
    """
    if not mirrors:
        return ["no mirror to download from"]
    failures = []
    for mirror in mirrors:
        url = mirror.rstrip("/") + f"/{name}.gz"
        if mirror in unreachable:
            failures.append(f"{url}: skipped, {unreachable[mirror]}")
            continue
        try:
            # "w+b": the temporary file is read back for the check before it is renamed.
            with atomic_write(folder / f"{name}.gz", "w+b") as f:
                _fetch(url, f, SIZES[name], timeout, progress)
                f.flush()
                f.seek(0)
                digest = _content_md5(f)
                if digest != expected_md5:
                    raise DatasetError(f"MD5 of the content is {digest}, should be {expected_md5}")
        except (OSError, EOFError, ValueError, http.client.HTTPException, zlib.error) as err:
            failures.append(f"{url}: {type(err).__name__}: {err}")
            no_answer = isinstance(err, urllib.error.URLError) and not isinstance(
                err, urllib.error.HTTPError
            )
            if no_answer or isinstance(err, TimeoutError):
                unreachable[mirror] = f"unreachable for {name}.gz"
            continue
        _verified.add(_verified_key(folder / f"{name}.gz", expected_md5))
        if progress:
            print(f"{folder / name}.gz: downloaded from {url}", file=sys.stderr)
        return []
    return failures


def _fetch(url: str, f, size: int, timeout: float, progress: bool) -> None:
    """Copy the body at ``url`` into ``f``; OSError for a cut-short or oversized answer."""
    # gzip never grows content by more than a few bytes per 16 KiB block; a mirror sending much
    # more than the decompressed size is misbehaving, and we stop before the disk fills.
    limit = size + size // 100 + 4096
    request = urllib.request.Request(url, headers={"User-Agent": "npsae"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        declared = response.headers.get("Content-Length")
        declared = int(declared) if declared and declared.isdigit() else None
        bar = None
        if progress:
            from tqdm import tqdm

            bar = tqdm(total=declared, unit="B", unit_scale=True, desc=url, file=sys.stderr)
        try:
            got = 0
            while chunk := response.read(_CHUNK):
                got += len(chunk)
                if got > limit:
                    raise OSError(f"sent more than {limit} bytes, too many for this file")
                f.write(chunk)
                if bar is not None:
                    bar.update(len(chunk))
        finally:
            if bar is not None:
                bar.close()
    if declared is not None and got != declared:
        raise OSError(f"transfer cut short: received {got} of {declared} bytes")


def _not_found(
    kind: str,
    location: DataLocation,
    missing: Sequence[str],
    mirrors: Sequence[str],
    failures: dict[str, list[str]],
) -> DatasetNotFoundError:
    """The error for ``missing`` files of ``kind``: every attempt in the message, the advice in
    ``brief``."""
    return DatasetNotFoundError(
        _missing_message(kind, location, missing, mirrors, failures),
        _missing_brief(kind, location, missing, mirrors, failures),
    )


def _missing_brief(
    kind: str,
    location: DataLocation,
    missing: Sequence[str],
    mirrors: Sequence[str],
    failures: dict[str, list[str]],
) -> str:
    """What is missing, why it was not downloaded, and the three ways to provide it, in short
    lines: the command that fetches it, the folder to put it in, ``$NPSAE_DATA``."""
    title, folder = _TITLES[kind], location.root / kind
    attempts = [line for name in missing for line in failures.get(name, ())]
    if not failures:
        why = "downloading is off"
    elif attempts and all("URLError" in a or "skipped, unreachable" in a for a in attempts):
        why = "no download mirror could be reached: offline?"
    else:
        why = "every download failed: `npsae data` shows each attempt"
    command = "npsae data" + ("" if kind == "mnist" else f" --dataset {kind}")
    if location.rule == "argument":
        command += f" --data-root {location.root}"
    lines = [
        f"{title} is missing from {folder} ({why})",
        f"  Fetch it when online:  {command}",
        f"  Or put these files in {folder}{os.sep}:",
        "    " + ", ".join(f"{name}.gz" for name in missing),
    ]
    if mirrors:
        lines[-1] += f" (from {mirrors[0].rstrip('/')}/)"
    lines.append(f"  Or set $NPSAE_DATA to a folder whose {kind}{os.sep} subfolder holds them.")
    return "\n".join(lines)


def _missing_message(
    kind: str,
    location: DataLocation,
    missing: Sequence[str],
    mirrors: Sequence[str],
    failures: dict[str, list[str]],
) -> str:
    title = _TITLES[kind]
    folder = location.root / kind
    if failures:
        lines = [f"could not download {title} into {folder}:"]
        for name in missing:
            lines.append(f"  {name}.gz:")
            lines += [f"    {line}" for line in failures[name]]
    else:
        lines = [f"{title} files missing in {folder} (downloading is off):"]
        lines += [f"  {name}" for name in missing]
    looked = ", then ".join(str(root / kind) for root in location.looked_in)
    lines.append(f"Looked in {looked}; {folder} is used because {location.reason}.")
    lines.append(f"Put these files, gzipped or not, in {folder}{os.sep}:")
    for name in missing:
        where = f" (e.g. from {mirrors[0].rstrip('/')}/{name}.gz)" if mirrors else ""
        lines.append(f"  {name}.gz{where}")
    lines.append(
        f"or point $NPSAE_DATA (or root=) at a folder whose {kind}{os.sep} subfolder holds them."
    )
    return "\n".join(lines)
