"""Solution of parse_idx_header: the IDX header."""

import struct

import numpy as np

TYPES = {0x08: "u1", 0x09: "i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def parse_idx_header(data: bytes):
    if len(data) < 4:
        raise ValueError(f"an IDX header has at least 4 bytes, got {len(data)}")
    if data[0] != 0 or data[1] != 0:
        raise ValueError("an IDX file starts with two zero bytes")
    if data[2] not in TYPES:
        raise ValueError(f"unknown element type code 0x{data[2]:02X}")
    d = data[3]
    length = 4 + 4 * d
    if len(data) < length:
        raise ValueError(f"the header of {d} dimensions needs {length} bytes, got {len(data)}")
    shape = struct.unpack(f">{d}I", data[4:length])
    return np.dtype(TYPES[data[2]]), tuple(shape), length
