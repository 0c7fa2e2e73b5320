"""Atomic file writing: a crash or an error never leaves a half-written file behind."""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import numpy as np


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "wb") -> Iterator[IO]:
    """Open a temporary file beside ``path``; on success rename it onto ``path``.

    The temporary file lives in the destination folder so that the final ``os.replace`` is a
    rename within one file system, which POSIX and Windows both make atomic. On any exception
    the temporary file is removed and ``path`` is left exactly as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=_TMP_SUFFIX, dir=path.parent)
    try:
        # mkstemp makes the file private (0600); give it the permissions open() would have.
        os.chmod(tmp, 0o666 & ~_umask())
        with os.fdopen(fd, mode, **({} if "b" in mode else {"encoding": "utf-8"})) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


class WriteError(OSError):
    """Writing ``path`` failed: ``str()`` is ``cannot write PATH: REASON``, naming the file the
    caller asked for (never the temporary file beside it). ``errno`` is the cause's."""

    def __init__(self, path: str | os.PathLike, cause: OSError) -> None:
        super().__init__(cause.errno, _reason(Path(path), cause), os.fspath(path))

    def __str__(self) -> str:
        return f"cannot write {self.filename}: {self.strerror}"


def _reason(path: Path, cause: OSError) -> str:
    """Why writing ``path`` failed, in words: the OS's reason, and the path it concerns when
    that is neither ``path`` nor its temporary file (a folder on the way, say)."""
    where = cause.filename
    if where is None or Path(where) == path or is_temporary(Path(where).name):
        return cause.strerror or str(cause) or type(cause).__name__
    if isinstance(cause, (FileExistsError, NotADirectoryError)):
        # A folder on the way could not be made: name the file that stands where it would be.
        blocking = next((p for p in (Path(where), *Path(where).parents) if p.is_file()), None)
        if blocking is not None:
            return f"{blocking} is a file, not a folder"
    return f"{cause.strerror or cause}: {where}"


def write_file(path: str | os.PathLike, data: str | bytes) -> None:
    """Write ``data`` (text as UTF-8, or bytes) to ``path`` through ``atomic_write``.

    Raises ``WriteError`` naming ``path`` for any OSError (no space, no permission, a folder in
    the way); ``path`` is then left as it was and no temporary file remains.
    """
    try:
        with atomic_write(path, "wb" if isinstance(data, bytes) else "w") as f:
            f.write(data)
    except OSError as err:
        raise WriteError(path, err) from err


# atomic_write's temporary files: "." + the target's name + "." + mkstemp's 8 random characters
# + ".tmp". A process killed between mkstemp and the rename leaves one behind.
_TMP_SUFFIX = ".tmp"
_TEMPORARY = re.compile(r"\..+\.[a-z0-9_]{8}" + re.escape(_TMP_SUFFIX))


def is_temporary(name: str) -> bool:
    """Whether a file name is one of ``atomic_write``'s temporary files."""
    return _TEMPORARY.fullmatch(name) is not None


def remove_temporaries(folder: str | os.PathLike) -> list[Path]:
    """Delete the temporary files ``atomic_write`` left in ``folder`` when a process writing
    there was killed; returns their paths. Only for a folder no other process writes to."""
    removed = []
    for path in Path(folder).iterdir():
        if is_temporary(path.name) and path.is_file():
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
            removed.append(path)
    return removed


def check_writable(folder: str | os.PathLike) -> None:
    """Check that files can be written into ``folder`` (made if needed), without making it.

    The probe creates and removes a hidden folder in ``folder``, or in its nearest existing
    ancestor when ``folder`` does not exist yet. Raises ValueError naming the folder and the
    reason (a file in the way, no permission, a read-only file system, ...).
    """
    folder = Path(folder)
    existing = next(p for p in (folder, *folder.absolute().parents) if p.exists())
    if not existing.is_dir():
        where = "is a file" if existing == folder else f"cannot be made: {existing} is a file"
        raise ValueError(f"{folder}: {where}, not a folder")
    try:
        os.rmdir(tempfile.mkdtemp(prefix=".npsae-probe-", dir=existing))
    except OSError as err:
        raise ValueError(f"{folder}: cannot be written ({err.strerror}: {existing})") from err


def _umask() -> int:
    # The umask can only be read by setting it; set it straight back.
    mask = os.umask(0)
    os.umask(mask)
    return mask


# Every .npz file is a zip archive, which starts with a local file header.
_ZIP_MAGIC = b"PK\x03\x04"


def save_npz(path: str | os.PathLike, arrays: dict) -> None:
    """Write ``arrays`` (name -> array) to an uncompressed ``.npz`` file, atomically."""
    with atomic_write(path, "wb") as f:
        np.savez(f, **arrays)


def load_npz(path: str | os.PathLike) -> dict:
    """Read every array of an ``.npz`` file written by ``save_npz``, never unpickling anything.

    Raises FileNotFoundError for a missing file and ValueError naming the file for one that is
    truncated, not an npz archive, or holds object arrays (which would need pickle).
    """
    path = Path(path)
    with open(path, "rb") as f:
        # np.load takes any other bytes for a pickle, and its error suggests unpickling them.
        if f.read(len(_ZIP_MAGIC)) != _ZIP_MAGIC:
            raise ValueError(f"{path}: not a readable npsae .npz file (not a zip archive)")
    try:
        with np.load(path, allow_pickle=False) as archive:
            return {name: archive[name] for name in archive.files}
    except FileNotFoundError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as err:
        # NumPy's word on object arrays is to load them with allow_pickle: never relay that.
        reason = (
            "it holds object arrays, which npsae never unpickles" if "pickle" in str(err) else err
        )
        raise ValueError(f"{path}: not a readable npsae .npz file ({reason})") from err


def check_finite(arrays: dict, what: str) -> None:
    """Raise ValueError when a float array of ``arrays`` (name -> array) holds NaN or infinity.

    The message names ``what`` (e.g. "model.npz: parameter") and the array, and counts the bad
    entries: numbers a run could never have produced, so training from them is pointless.
    """
    for name, array in arrays.items():
        array = np.asarray(array)
        if array.dtype.kind in "fc" and not np.isfinite(array).all():
            bad = array.size - np.count_nonzero(np.isfinite(array))
            raise ValueError(
                f"{what} {name!r} holds {bad} NaN or infinite values (of {array.size}): it was "
                "saved after training diverged, or the file was altered"
            )
