"""The IDX file format of MNIST: read, write, and reject malformed files quickly.

An IDX file is a header followed by the array's elements in C order, big-endian::

    bytes 0-1    0x00 0x00
    byte  2      element type: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32,
                 0x0D float32, 0x0E float64
    byte  3      number of dimensions, d
    then d big-endian uint32 sizes, then the elements

MNIST's training images, for instance, start ``00 00 08 03 | 00 00 EA 60 | 00 00 00 1C |
00 00 00 1C``: uint8, three dimensions, 60000 x 28 x 28. Files are often gzipped; gzip is
recognised by its magic bytes ``1f 8b``, whatever the file is called.

Every malformed file raises :class:`IDXFormatError` naming the file and the fault, before any
allocation the file's real size cannot justify.
"""

from __future__ import annotations

import gzip
import os
import struct
import zlib
from pathlib import Path

import numpy as np

from npsae._fileio import atomic_write

__all__ = [
    "IDXFormatError",
    "parse_idx_header",
    "read_idx",
    "read_idx_header",
    "write_idx",
]

#: Element type code -> big-endian dtype as stored on disk.
TYPE_CODES: dict[int, np.dtype] = {
    0x08: np.dtype("u1"),
    0x09: np.dtype("i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}

GZIP_MAGIC = b"\x1f\x8b"

#: The most dimensions a NumPy array can have (NPY_MAXDIMS: 64 since NumPy 2.0, 32 before).
MAX_NDIM = 64 if np.lib.NumpyVersion(np.__version__) >= "2.0.0" else 32

# Deflate cannot compress better than about 1032:1, so a gzip file of n bytes decompresses to at
# most this many bytes per byte; a header declaring more is lying, and we can say so at once.
_MAX_DEFLATE_RATIO = 1032

# Decompressed data is read this much at a time, so memory follows what the file really holds.
_CHUNK = 1 << 20

# Reading a gzip file can fail in any of these ways when the compressed stream is damaged.
_GZIP_ERRORS = (EOFError, zlib.error, gzip.BadGzipFile)


class IDXFormatError(ValueError):
    """A file is not a well-formed IDX file; the message names the file and the fault."""


def parse_idx_header(data: bytes, source: str = "<bytes>") -> tuple[np.dtype, tuple[int, ...], int]:
    """Parse the IDX header at the start of ``data``.

    ``data`` needs to hold at least the header (4 + 4*d bytes); anything after it is ignored.
    ``source`` names the data in error messages (a file name, say).

    Returns ``(dtype, shape, header_size)``: the element dtype as stored on disk (big-endian for
    multi-byte types), the shape as a tuple of ints (``()`` for d = 0, one element), and the
    header's length in bytes, where the elements start.

    Raises IDXFormatError for wrong leading bytes, an unknown type code, a header cut short, more
    dimensions than NumPy allows (``MAX_NDIM``), or sizes whose total byte count could not be
    addressed on this machine.
    """
    if len(data) < 4:
        raise IDXFormatError(
            f"{source}: header cut short: {len(data)} bytes, an IDX header needs at least 4"
        )
    if data[0] != 0 or data[1] != 0:
        hint = " (looks gzipped: decompress it first)" if data[:2] == GZIP_MAGIC else ""
        raise IDXFormatError(
            f"{source}: not an IDX file: the first two bytes are 0x{data[0]:02x} 0x{data[1]:02x}, "
            f"should be 0x00 0x00{hint}"
        )
    code, ndim = data[2], data[3]
    if code not in TYPE_CODES:
        known = ", ".join(f"0x{c:02X} {t.name}" for c, t in TYPE_CODES.items())
        raise IDXFormatError(f"{source}: unknown element type code 0x{code:02X} (known: {known})")
    header_size = 4 + 4 * ndim
    if len(data) < header_size:
        raise IDXFormatError(
            f"{source}: header cut short: {ndim} dimensions need a {header_size}-byte header, "
            f"only {len(data)} bytes present"
        )
    if ndim > MAX_NDIM:
        raise IDXFormatError(
            f"{source}: the header declares {ndim} dimensions; an array has at most {MAX_NDIM}"
        )
    shape = struct.unpack(f">{ndim}I", data[4:header_size])
    dtype = TYPE_CODES[code]
    nbytes = dtype.itemsize * _product(shape)
    if nbytes > np.iinfo(np.intp).max:
        raise IDXFormatError(
            f"{source}: dimensions {shape} declare {nbytes} bytes, more than this machine can "
            "address"
        )
    return dtype, tuple(shape), header_size


def read_idx_header(path: str | os.PathLike) -> tuple[np.dtype, tuple[int, ...], int]:
    """Read and parse the header of the IDX file at ``path`` (gzipped or not).

    Returns ``(dtype, shape, header_size)`` as :func:`parse_idx_header` does; the payload is
    neither read nor checked.
    """
    path = Path(path)
    with open(path, "rb") as raw:
        if raw.read(2) != GZIP_MAGIC:
            raw.seek(0)
            return _read_header(raw, str(path))
        raw.seek(0)
        try:
            with gzip.GzipFile(fileobj=raw, mode="rb") as f:
                return _read_header(f, str(path))
        except _GZIP_ERRORS as err:
            raise _gzip_error(path, err) from err


def read_idx(path: str | os.PathLike, mmap: bool = False) -> np.ndarray:
    """Read the IDX file at ``path``, gzipped or not.

    Returns an array of the shape and element type the header declares, in native byte order
    (uint8, int8, int16, int32, float32 or float64), writable and owning its memory.

    With ``mmap=True`` the (uncompressed) file is memory-mapped instead: a read-only
    ``np.memmap`` whose multi-byte dtypes stay big-endian as on disk (``>i2``, ``>f4``, ...);
    NumPy computes with them correctly, just a little slower, and ``np.asarray(a, a.dtype.
    newbyteorder("="))`` makes a native copy. An array with no elements cannot be mapped and
    comes back as an ordinary (read-only) empty array. A gzipped file cannot be mapped:
    ValueError.

    Raises FileNotFoundError for a missing file and IDXFormatError, naming the file and the
    fault, for a malformed one: wrong leading bytes, unknown type code, header cut short,
    payload shorter or longer than declared, or corrupt or truncated gzip data.
    """
    path = Path(path)
    name = str(path)
    with open(path, "rb") as raw:
        if raw.read(2) == GZIP_MAGIC:
            if mmap:
                raise ValueError(
                    f"{name}: a gzipped file cannot be memory-mapped; decompress it first "
                    f"(gunzip -k {name}) and map the result"
                )
            raw.seek(0)
            return _read_gzip(raw, name)
        raw.seek(0)
        dtype, shape, header_size = _read_header(raw, name)
        nbytes = dtype.itemsize * _product(shape)
        _check_payload(name, shape, nbytes, os.fstat(raw.fileno()).st_size - header_size)
        if mmap and nbytes > 0:
            return np.memmap(raw, dtype=dtype, mode="r", offset=header_size, shape=shape)
        # Native dtype from the start: after the raw bytes go in, one in-place byte swap fixes the
        # values, and the array owns its memory.
        out = np.empty(shape, dtype if mmap else dtype.newbyteorder("="))
        got = raw.readinto(out.reshape(-1).view(np.uint8))
        if got != nbytes:  # the file shrank since fstat
            raise IDXFormatError(f"{name}: payload cut short: read {got} of {nbytes} bytes")
    if mmap:  # an empty "map": read-only like any other
        out.flags.writeable = False
        return out
    return _swap_if_needed(out, dtype)


def write_idx(path: str | os.PathLike, array: np.ndarray) -> None:
    """Write ``array`` to ``path`` as an IDX file (gzipped when the name ends in ``.gz``).

    The exact inverse of :func:`read_idx`. The dtype must be one IDX holds (uint8, int8, int16,
    int32, float32, float64, any byte order) and every size below 2**32; otherwise ValueError
    naming the dtype or shape. The file is written atomically: a failure
    leaves ``path`` as it was.
    """
    path = Path(path)
    array = np.asarray(array)
    disk = next((t for t in TYPE_CODES.values() if t == array.dtype.newbyteorder(">")), None)
    if disk is None or array.dtype.kind not in "uif":
        names = ", ".join(t.name for t in TYPE_CODES.values())
        raise ValueError(f"IDX cannot hold dtype {array.dtype}; use one of {names}")
    if any(n >= 2**32 for n in array.shape):
        raise ValueError(f"IDX sizes must be below 2**32, the array's shape is {array.shape}")
    code = next(c for c, t in TYPE_CODES.items() if t == disk)
    header = struct.pack(f">BBBB{array.ndim}I", 0, 0, code, array.ndim, *array.shape)
    # Big-endian and C-contiguous, copying only when the array is not so already.
    payload = np.ascontiguousarray(array, dtype=disk).reshape(-1).view(np.uint8)
    with atomic_write(path, "wb") as f:
        if path.name.endswith(".gz"):
            # mtime=0 and no file name inside: the same array always gives the same bytes.
            with gzip.GzipFile(filename="", mode="wb", fileobj=f, mtime=0) as gz:
                gz.write(header)
                gz.write(payload)
        else:
            f.write(header)
            f.write(payload)


def _product(shape: tuple[int, ...]) -> int:
    # Python ints: no overflow, however many and however large the sizes.
    n = 1
    for s in shape:
        n *= s
    return n


def _read_exact(f, n: int) -> bytes:
    """Up to ``n`` bytes from ``f``, fewer only at end of file."""
    parts = []
    while n > 0:
        part = f.read(n)
        if not part:
            break
        parts.append(part)
        n -= len(part)
    return b"".join(parts)


def _read_header(f, name: str) -> tuple[np.dtype, tuple[int, ...], int]:
    start = _read_exact(f, 4)
    if len(start) < 4:
        return parse_idx_header(start, name)  # raises: cut short
    return parse_idx_header(start + _read_exact(f, 4 * start[3]), name)


def _check_payload(name: str, shape: tuple[int, ...], expected: int, actual: int) -> None:
    if actual < expected:
        raise IDXFormatError(
            f"{name}: payload cut short: the header declares shape {shape}, {expected} bytes, "
            f"but only {actual} follow it"
        )
    if actual > expected:
        raise IDXFormatError(
            f"{name}: payload too long: the header declares shape {shape}, {expected} bytes, "
            f"but {actual} follow it"
        )


def _gzip_error(path: str | os.PathLike, err: Exception) -> IDXFormatError:
    return IDXFormatError(f"{path}: corrupt or truncated gzip data ({type(err).__name__}: {err})")


def _read_gzip(raw, name: str) -> np.ndarray:
    compressed_size = os.fstat(raw.fileno()).st_size
    try:
        with gzip.GzipFile(fileobj=raw, mode="rb") as f:
            dtype, shape, header_size = _read_header(f, name)
            expected = dtype.itemsize * _product(shape)
            bound = _MAX_DEFLATE_RATIO * compressed_size
            if header_size + expected > bound:
                raise IDXFormatError(
                    f"{name}: payload cut short: the header declares shape {shape}, {expected} "
                    f"bytes, but {compressed_size} bytes of gzip hold at most {bound}"
                )
            # Read one byte past the declared end, in bounded chunks: a lying header costs only
            # the memory the data really fills, and reaching the end makes gzip check its CRC.
            chunks = []
            got = 0
            while got <= expected:
                chunk = f.read(min(_CHUNK, expected + 1 - got))
                if not chunk:
                    break
                chunks.append(chunk)
                got += len(chunk)
    except _GZIP_ERRORS as err:
        raise _gzip_error(name, err) from err
    if got > expected:
        raise IDXFormatError(
            f"{name}: payload too long: the header declares shape {shape}, {expected} bytes, "
            "but more follow it"
        )
    _check_payload(name, shape, expected, got)
    out = np.empty(shape, dtype.newbyteorder("="))
    flat = out.reshape(-1).view(np.uint8)
    pos = 0
    chunks.reverse()
    while chunks:  # popping as we copy keeps the peak near one copy of the data
        chunk = chunks.pop()
        flat[pos : pos + len(chunk)] = np.frombuffer(chunk, np.uint8)
        pos += len(chunk)
    return _swap_if_needed(out, dtype)


def _swap_if_needed(native: np.ndarray, disk: np.dtype) -> np.ndarray:
    """``native`` holds the raw bytes of ``disk`` elements; make its values right, in place."""
    if not disk.isnative:
        native.byteswap(inplace=True)
    return native
