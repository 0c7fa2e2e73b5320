"""The IDX format: exact round trips, and quick, clear failures on every kind of malformed file."""

import gzip
import re
import struct
import time
import tracemalloc

import numpy as np
import pytest

from npsae.idx import IDXFormatError, parse_idx_header, read_idx, read_idx_header, write_idx

DTYPES = ["uint8", "int8", ">i2", "<i4", "float32", ">f8"]
SHAPES = [(7,), (0,), (3, 5), (2, 3, 4), (2, 1, 3, 2), (0, 28, 28)]
CODES = {
    "uint8": 0x08,
    "int8": 0x09,
    "int16": 0x0B,
    "int32": 0x0C,
    "float32": 0x0D,
    "float64": 0x0E,
}


def header(code: int, *dims: int) -> bytes:
    return struct.pack(f">BBBB{len(dims)}I", 0, 0, code, len(dims), *dims)


def sample(dtype: str, shape: tuple) -> np.ndarray:
    """Values that use the whole range of the type: sign, large magnitudes, NaN and infinities."""
    rng = np.random.default_rng(0)
    dtype = np.dtype(dtype)
    n = int(np.prod(shape))
    if dtype.kind == "f":
        a = rng.standard_normal(n) * 1e30
        a[: min(n, 3)] = [np.nan, np.inf, -np.inf][: min(n, 3)]
    else:
        info = np.iinfo(dtype)
        a = rng.integers(info.min, info.max, n, endpoint=True)
    return a.astype(dtype).reshape(shape)


def write_bytes(path, data: bytes, gz: bool = False):
    path.write_bytes(gzip.compress(data, mtime=0) if gz else data)
    return path


def raises_fast(path, match: str, **kwargs) -> IDXFormatError:
    """read_idx(path) raises IDXFormatError naming the file and matching ``match``, quickly."""
    start = time.perf_counter()
    with pytest.raises(IDXFormatError, match=match) as info:
        read_idx(path, **kwargs)
    assert time.perf_counter() - start < 1.0
    assert str(path) in str(info.value)
    return info.value


@pytest.mark.parametrize("gz", [False, True], ids=["raw", "gz"])
@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("dtype", DTYPES)
def test_round_trip_is_exact(tmp_path, dtype, shape, gz):
    a = sample(dtype, shape)
    path = tmp_path / ("a.idx.gz" if gz else "a.idx")
    write_idx(path, a)
    assert (path.read_bytes()[:2] == b"\x1f\x8b") == gz
    b = read_idx(path)
    assert b.shape == a.shape and b.dtype == a.dtype.newbyteorder("=") and b.dtype.isnative
    assert b.tobytes() == a.astype(b.dtype).tobytes()  # bit for bit, NaNs included
    assert b.flags.writeable and b.flags.owndata
    assert read_idx_header(path) == (np.dtype(dtype).newbyteorder(">"), shape, 4 + 4 * len(shape))
    if not gz:
        m = read_idx(path, mmap=True)
        assert m.shape == a.shape and not m.flags.writeable
        assert np.array_equal(m, a, equal_nan=True)
        if a.size:
            assert isinstance(m, np.memmap)


def test_the_bytes_on_disk_are_the_documented_format(tmp_path):
    write_idx(tmp_path / "a", np.array([[1, -2, 258]], dtype=np.int16))
    expected = header(0x0B, 1, 3) + b"\x00\x01\xff\xfe\x01\x02"
    assert (tmp_path / "a").read_bytes() == expected
    write_idx(tmp_path / "a.gz", np.array([[1, -2, 258]], dtype=np.int16))
    assert gzip.decompress((tmp_path / "a.gz").read_bytes()) == expected
    assert (tmp_path / "a.gz").read_bytes() == (tmp_path / "a.gz").read_bytes()  # reproducible


def test_zero_dimensional_file_holds_one_element(tmp_path):
    path = write_bytes(tmp_path / "scalar", header(0x0D) + struct.pack(">f", 1.5))
    a = read_idx(path)
    assert a.shape == () and a.dtype == np.float32 and a == 1.5
    write_idx(tmp_path / "again", a)
    assert (tmp_path / "again").read_bytes() == path.read_bytes()


def test_gzip_is_recognised_by_content_not_name(tmp_path):
    a = sample("int32", (4, 3))
    write_idx(tmp_path / "x.gz", a)
    (tmp_path / "x.gz").rename(tmp_path / "plain-name")
    write_idx(tmp_path / "y", a)
    (tmp_path / "y").rename(tmp_path / "looks.gz")
    assert np.array_equal(read_idx(tmp_path / "plain-name"), a)
    assert np.array_equal(read_idx(tmp_path / "looks.gz"), a)


def test_parse_idx_header_is_a_pure_function_of_the_bytes():
    mnist = bytes.fromhex("00000803 0000ea60 0000001c 0000001c")
    assert parse_idx_header(mnist) == (np.dtype("u1"), (60000, 28, 28), 16)
    assert parse_idx_header(mnist + b"pixels...") == (np.dtype("u1"), (60000, 28, 28), 16)
    dtype, shape, size = parse_idx_header(header(0x0E, 5))
    assert dtype == np.dtype(">f8") and shape == (5,) and size == 8
    assert parse_idx_header(header(0x09)) == (np.dtype("i1"), (), 4)
    with pytest.raises(IDXFormatError, match="labels.idx: unknown element type code 0x07"):
        parse_idx_header(b"\x00\x00\x07\x01", "labels.idx")
    with pytest.raises(IDXFormatError, match="<bytes>: header cut short"):
        parse_idx_header(b"\x00\x00\x08")


def test_mmap_of_a_gzipped_file_says_to_decompress_first(tmp_path):
    write_idx(tmp_path / "a.gz", np.arange(5, dtype=np.uint8))
    with pytest.raises(ValueError, match="decompress it first") as info:
        read_idx(tmp_path / "a.gz", mmap=True)
    assert str(tmp_path / "a.gz") in str(info.value)


def test_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_idx(tmp_path / "nothing")


@pytest.mark.parametrize(
    "dtype", [bool, np.float16, np.int64, np.uint16, np.uint32, np.complex64, object, "M8[s]"]
)
def test_write_rejects_what_idx_cannot_hold_naming_the_dtype(tmp_path, dtype):
    a = np.zeros(3, dtype)
    with pytest.raises(ValueError, match=re.escape(f"IDX cannot hold dtype {a.dtype};")):
        write_idx(tmp_path / "a", a)
    assert not list(tmp_path.iterdir())


def test_write_rejects_sizes_beyond_32_bits(tmp_path):
    with pytest.raises(ValueError, match="below 2\\*\\*32"):
        write_idx(tmp_path / "a", np.empty((0, 2**32), np.uint8))


# Every malformed file: (name, content, what the message says). The gzipped variants of each
# are checked too, where gzip does not change the point.
MALFORMED = [
    ("empty", b"", "header cut short"),
    ("three-bytes", b"\x00\x00\x08", "header cut short"),
    ("leading-bytes", b"\x01\x00\x08\x01" + b"\x00\x00\x00\x01" + b"x", "first two bytes"),
    ("leading-byte-2", b"\x00\x07\x08\x01" + b"\x00\x00\x00\x01" + b"x", "first two bytes"),
    ("type-code", header(0x0A, 2) + b"xx", "unknown element type code 0x0A"),
    ("dims-cut-short", b"\x00\x00\x08\x03" + b"\x00\x00\x00\x02", "header cut short"),
    ("payload-short", header(0x08, 10) + bytes(9), "payload cut short"),
    ("payload-short-int32", header(0x0C, 2, 3) + bytes(23), "payload cut short"),
    ("payload-long", header(0x08, 10) + bytes(11), "payload too long"),
    ("payload-long-float64", header(0x0E, 2) + bytes(17), "payload too long"),
    ("absurd", header(0x08, 2**32 - 1, 2**16) + bytes(10), "payload cut short"),
    ("overflow", header(0x0E, *[2**32 - 1] * 8) + bytes(10), "more than this machine"),
    ("huge-ndim", b"\x00\x00\x08\xff" + bytes(40), "header cut short"),
]


@pytest.mark.parametrize("gz", [False, True], ids=["raw", "gz"])
@pytest.mark.parametrize(("name", "content", "match"), MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_file_raises_idx_format_error_fast(tmp_path, name, content, match, gz):
    path = write_bytes(tmp_path / name, content, gz)
    raises_fast(path, match)
    if not gz:
        raises_fast(path, match, mmap=True)
    if match in ("first two bytes", "unknown element type code 0x0A", "header cut short"):
        with pytest.raises(IDXFormatError, match=match):
            read_idx_header(path)


def test_gzip_claiming_2_to_the_40_elements_fails_fast_without_memory_error(tmp_path):
    path = write_bytes(tmp_path / "liar.gz", header(0x08, 2**20, 2**20) + bytes(1000), gz=True)
    error = raises_fast(path, "payload cut short")
    assert not isinstance(error.__context__, MemoryError)


def test_lying_gzip_header_costs_only_the_memory_the_data_fills(tmp_path):
    # Incompressible, so the header's claim (64 MB) is within what deflate could hold.
    payload = np.random.default_rng(0).integers(0, 256, 200_000, dtype=np.uint8).tobytes()
    path = write_bytes(tmp_path / "liar.gz", header(0x08, 64_000_000) + payload, gz=True)
    tracemalloc.start()
    try:
        raises_fast(path, "payload cut short: the header declares shape \\(64000000,\\)")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8_000_000


def gzipped_idx(tmp_path) -> bytes:
    write_idx(tmp_path / "good.gz", sample("float32", (50, 40)))
    return (tmp_path / "good.gz").read_bytes()


def test_truncated_gzip_is_a_format_error(tmp_path):
    data = gzipped_idx(tmp_path)
    for cut in (2, 10, len(data) // 2, len(data) - 4):
        path = tmp_path / f"cut{cut}.gz"
        path.write_bytes(data[:cut])
        raises_fast(path, "corrupt or truncated gzip")


def test_corrupt_gzip_stream_is_a_format_error(tmp_path):
    data = bytearray(gzipped_idx(tmp_path))
    data[len(data) // 2 : len(data) // 2 + 8] = b"\xff" * 8
    raises_fast(write_bytes(tmp_path / "corrupt.gz", bytes(data)), "corrupt or truncated gzip")


def test_gzip_crc_mismatch_is_a_format_error(tmp_path):
    data = bytearray(gzipped_idx(tmp_path))
    data[-8] ^= 0xFF  # the CRC-32 of the content, in the trailer
    raises_fast(write_bytes(tmp_path / "crc.gz", bytes(data)), "corrupt or truncated gzip")


def test_gzip_magic_followed_by_garbage_is_a_format_error(tmp_path):
    raises_fast(write_bytes(tmp_path / "junk", b"\x1f\x8b" + b"not gzip at all"), "gzip")


def test_gzipped_text_is_not_an_idx_file(tmp_path):
    raises_fast(write_bytes(tmp_path / "text.gz", b"hello, world\n", gz=True), "first two bytes")


@pytest.mark.parametrize("gzipped", [False, True], ids=["raw", "gzip"])
@pytest.mark.parametrize("mmap", [False, True])
def test_more_dimensions_than_numpy_allows_is_a_format_error_naming_the_file(
    tmp_path, gzipped, mmap
):
    data = bytes([0, 0, 0x08, 255]) + struct.pack(">255I", *[1] * 255) + b"x"
    path = tmp_path / ("many.idx.gz" if gzipped else "many.idx")
    path.write_bytes(gzip.compress(data) if gzipped else data)
    message = f"{re.escape(str(path))}: the header declares 255 dimensions; an array has at most"
    with pytest.raises(IDXFormatError, match=message):
        read_idx(path, mmap=mmap and not gzipped)
    with pytest.raises(IDXFormatError, match=message):
        read_idx_header(path)
