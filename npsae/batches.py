"""Data as the trainer and the evaluators take it: checked rows, and mini-batches of them.

``as_rows(X, n_in)`` views ``X`` as (N, n_in) rows without converting it (uint8 pixels stay
uint8, so a data set never exists in full as floats); ``Batches`` copies the rows of one
mini-batch into a reused buffer of the model's dtype, dividing pixels by 255 on the way.
"""

from __future__ import annotations

import numpy as np

from npsae.kernels import gather_pixels

# Rows of float data validated for NaN/inf per chunk, to bound the temporary boolean array.
_CHECK_CHUNK = 8192


def as_rows(X: np.ndarray, n_in: int, name: str = "X") -> np.ndarray:
    """``X`` as an (N, n_in) array without converting it: uint8 pixels or floats, checked.

    Raises ValueError, naming ``name``, for fewer than two dimensions, samples of another
    size than ``n_in``, no samples, another dtype, or NaN/infinite values.
    """
    X = np.asarray(X)
    if X.ndim < 2:
        raise ValueError(f"{name} must have one sample per row, got shape {X.shape}")
    rows = X.reshape(len(X), -1)
    if rows.shape[1] != n_in:
        raise ValueError(f"{name} has samples of {rows.shape[1]} values; the model takes {n_in}")
    if len(rows) == 0:
        raise ValueError(f"{name} is empty: it has no samples")
    if X.dtype != np.uint8:
        if X.dtype.kind != "f":
            raise ValueError(f"{name} must be uint8 images or float rows, not {X.dtype}")
        for lo in range(0, len(rows), _CHECK_CHUNK):
            if not np.isfinite(rows[lo : lo + _CHECK_CHUNK]).all():
                raise ValueError(f"{name} contains NaN or infinite values")
    return rows


class Batches:
    """Copies the chosen rows of X into one reused buffer of the model's dtype.

    ``batches(index)`` returns ``rows[index]`` as a (len(index), n_in) array of ``dtype``; it
    is a view of the buffer, overwritten by the next call. uint8 pixels are divided by 255 on
    the way, so the float data set never exists in full.
    """

    def __init__(self, rows: np.ndarray, dtype: np.dtype, batch_size: int) -> None:
        self.rows = rows
        self.dtype = dtype
        self.buffer = np.empty((min(batch_size, len(rows)), rows.shape[1]), dtype)

    def __call__(self, index: np.ndarray) -> np.ndarray:
        out = self.buffer[: len(index)]
        if self.rows.dtype == np.uint8:
            return gather_pixels(self.rows, index, out)  # one pass instead of copy then divide
        if self.rows.dtype == self.dtype:
            return np.take(self.rows, index, axis=0, out=out)
        out[...] = self.rows[index]
        return out
