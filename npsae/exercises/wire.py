"""Values as data between the grader and a student's process: one ``.npz`` file per message.

A value (a case's arguments, what a student's function returned) is written as a JSON
skeleton plus its arrays. Arrays go into the ``.npz`` (``np.save`` format, never pickled);
everything else is JSON: ``{"t": kind, ...}`` nodes for None, bools, ints, floats (as
``float.hex``, so NaN, inf and every bit survive), strings, bytes, NumPy scalars and dtypes,
tuples, lists, dicts, and the case functions of ``casefns`` (by name, with their data). The same
array object reached twice is stored once and comes back as one object, so a case function
still reads the very array passed to the student. Anything else a student returns becomes an
``Opaque`` (its type's name and a short repr): the grader can say what came back, never run it.

Reading is defensive: the file may have been written (or forged) by the student's code. Sizes
are checked before anything is allocated, ``allow_pickle`` is never on, and any surprise is a
``WireError``.

This module imports only the standard library and NumPy: the student's process loads it by path,
without npsae.
"""

from __future__ import annotations

import io
import json
import math
import os
import zipfile
from typing import Any

import numpy as np

#: Largest message accepted, in bytes (arrays and JSON together).
MAX_BYTES = 256 * 2**20
_SKELETON = "__skeleton__"
_MAX_DEPTH = 32
_MAX_TEXT = 2000


class WireError(ValueError):
    """A message that is not what the grader writes: damaged, forged, or too large."""


class Opaque:
    """A value the grader cannot carry as data: its type's name and a shortened repr."""

    def __init__(self, type_name: str, text: str) -> None:
        self.type_name, self.text = type_name, text

    def __repr__(self) -> str:
        return self.text


def encode(value: Any, case_function: type | None = None) -> tuple[dict, dict]:
    """(skeleton, arrays): ``value`` as JSON-ready data plus the arrays it holds by key.

    ``case_function`` is the ``CaseFunction`` class (instances are written by name and data).
    """
    arrays: dict[str, np.ndarray] = {}
    seen: dict[int, str] = {}

    def array_node(kind: str, a: np.ndarray) -> dict:
        key = seen.get(id(a))
        if key is None:
            if a.dtype.hasobject:
                return _opaque(a)
            key = seen[id(a)] = f"a{len(arrays)}"
            # A subclass (np.matrix, a masked array) travels as its plain data.
            arrays[key] = np.asarray(a) if type(a) is not np.ndarray else a
        return {"t": kind, "a": key}

    def node(v: Any, depth: int) -> dict:
        if depth > _MAX_DEPTH:
            return _opaque(v)
        if v is None:
            return {"t": "none"}
        if isinstance(v, bool):
            return {"t": "bool", "v": v}
        if isinstance(v, int) and type(v) is int:
            return {"t": "int", "v": str(v)}
        if isinstance(v, float) and type(v) is float:
            return {"t": "float", "v": v.hex()}
        if isinstance(v, str) and type(v) is str:
            return {"t": "str", "v": v[:_MAX_TEXT]}
        if isinstance(v, bytes) and type(v) is bytes:
            return {"t": "bytes", "a": array_node("array", np.frombuffer(v, np.uint8))["a"]}
        if isinstance(v, np.ndarray):
            return array_node("array", v)
        if isinstance(v, np.generic):
            return array_node("scalar", np.asarray(v))
        if isinstance(v, np.dtype) and not v.hasobject and not v.fields:
            return {"t": "dtype", "v": v.str}
        if type(v) in (tuple, list):
            return {"t": type(v).__name__, "v": [node(x, depth + 1) for x in v]}
        if type(v) is dict:
            return {
                "t": "dict",
                "v": [[node(k, depth + 1), node(x, depth + 1)] for k, x in v.items()],
            }
        if case_function is not None and type(v) is case_function:
            return {"t": "casefn", "name": v.name, "data": node(dict(v.data), depth + 1)}
        return _opaque(v)

    return node(value, 0), arrays


def _opaque(v: Any) -> dict:
    try:
        text = repr(v)[:200]
    except Exception:  # a student's object may fail even at repr
        text = "<unprintable>"
    return {"t": "opaque", "type": type(v).__name__[:100], "v": text}


def decode(skeleton: Any, arrays: dict, case_function: type | None = None) -> Any:
    """The value ``encode`` described; WireError for anything ``encode`` never writes."""
    made: dict[str, Any] = {}

    def array(key: Any) -> np.ndarray:
        if not isinstance(key, str) or key not in arrays:
            raise WireError(f"no array {key!r}")
        return arrays[key]

    def value(n: Any, depth: int) -> Any:
        if depth > _MAX_DEPTH + 1 or not isinstance(n, dict) or not isinstance(n.get("t"), str):
            raise WireError("malformed value")
        t, v = n["t"], n.get("v")
        if t == "none":
            return None
        if t == "bool" and isinstance(v, bool):
            return v
        if t == "int" and isinstance(v, str) and len(v) < 400:
            return int(v)
        if t == "float" and isinstance(v, str) and len(v) < 40:
            return float.fromhex(v)
        if t == "str" and isinstance(v, str):
            return v
        if t == "bytes":
            return array(n.get("a")).tobytes()
        if t == "array":
            key = n.get("a")
            if key not in made:
                made[key] = array(key)
            return made[key]
        if t == "scalar":
            return array(n.get("a"))[()]
        if t == "dtype" and isinstance(v, str) and len(v) < 20:
            return np.dtype(v)
        if t in ("tuple", "list") and isinstance(v, list):
            items = [value(x, depth + 1) for x in v]
            return tuple(items) if t == "tuple" else items
        if t == "dict" and isinstance(v, list):
            pairs = [(value(k, depth + 1), value(x, depth + 1)) for k, x in _pairs(v)]
            return dict(pairs)
        if t == "casefn" and case_function is not None and isinstance(n.get("name"), str):
            return case_function(n["name"], value(n.get("data"), depth + 1))
        if t == "opaque" and isinstance(n.get("type"), str) and isinstance(v, str):
            return Opaque(n["type"][:100], v[:200])
        raise WireError(f"malformed value of kind {t!r}")

    try:
        return value(skeleton, 0)
    except WireError:
        raise
    except Exception as err:  # int("x"), float.fromhex("?"), np.dtype("?"), unhashable keys...
        raise WireError(f"malformed value: {type(err).__name__}: {err}") from None


def _pairs(items: list) -> list:
    if not all(isinstance(p, list) and len(p) == 2 for p in items):
        raise WireError("malformed dict")
    return items


def write(path: str | os.PathLike, message: Any, case_function: type | None = None) -> None:
    """Write ``message`` (any value ``encode`` takes) to ``path`` atomically: a reader sees the
    whole file or none (written beside it, then renamed)."""
    skeleton, arrays = encode(message, case_function)
    text = json.dumps(skeleton, allow_nan=False).encode()
    tmp = f"{os.fspath(path)}.{os.getpid()}.tmp"
    with open(tmp, "wb") as f:
        np.savez(f, **arrays, **{_SKELETON: np.frombuffer(text, np.uint8)})
    os.replace(tmp, path)


def read(path: str | os.PathLike, case_function: type | None = None) -> Any:
    """The message in the file ``path``; WireError when it is missing, damaged, forged or too
    large. Nothing is unpickled and no array larger than its file is allocated."""
    try:
        if os.path.islink(path) or os.path.getsize(path) > MAX_BYTES:
            raise WireError(f"{os.fspath(path)} is a link or larger than {MAX_BYTES} bytes")
        with zipfile.ZipFile(path) as z:
            arrays = {}
            for info in z.infolist():
                if not info.filename.endswith(".npy") or info.file_size > MAX_BYTES:
                    raise WireError(f"unexpected member {info.filename!r}")
                with z.open(info) as f:
                    arrays[info.filename[:-4]] = _read_array(f, info.file_size)
    except WireError:
        raise
    except Exception as err:  # not a zip, truncated, bad headers, I/O errors
        raise WireError(f"cannot read {os.fspath(path)}: {type(err).__name__}: {err}") from None
    skeleton = arrays.pop(_SKELETON, None)
    if skeleton is None or skeleton.dtype != np.uint8 or skeleton.ndim != 1:
        raise WireError("no skeleton")
    try:
        tree = json.loads(skeleton.tobytes().decode())
    except (ValueError, RecursionError) as err:
        raise WireError(f"bad skeleton: {err}") from None
    return decode(tree, arrays, case_function)


def _read_array(f: io.BufferedIOBase, size: int) -> np.ndarray:
    """One ``.npy`` member, its header checked against the member's size before reading."""
    version = np.lib.format.read_magic(f)
    if version == (1, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
    elif version == (2, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
    else:
        raise WireError(f"unsupported .npy version {version}")
    if dtype.hasobject:
        raise WireError("object array")
    count = math.prod(shape)
    if count * dtype.itemsize > size:
        raise WireError("array larger than its data")
    data = f.read(count * dtype.itemsize)
    if len(data) != count * dtype.itemsize:
        raise WireError("array data cut short")
    order = "F" if fortran else "C"
    return np.frombuffer(data, dtype).reshape(shape, order=order).copy(order=order)
