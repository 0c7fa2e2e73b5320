"""``SparseCode``: a code H: (m, n_hidden) stored by its kept entries, in compressed rows.

The numba backend's sparse path (``npsae.sparse_kernels``) returns one in its cache; the
trainer's statistics (``SparseAutoencoder.update_statistics``, ``npsae.metrics``) read it as
they read a dense H, through the methods below.
"""

from __future__ import annotations

import numpy as np


class SparseCode:
    """The code H: (m, n_hidden) stored by its kept entries, in compressed rows: row i's units
    are ``indices[indptr[i]:indptr[i + 1]]`` with the values ``values[...]`` (kept entries may
    be 0 when a row has fewer than k positive activations, as in the dense code).

    The trainer's statistics read it as they read a dense H (``fire_counts``, ``fired``,
    ``smallest_positive``); ``toarray`` gives the dense H.
    """

    def __init__(
        self, indptr: np.ndarray, indices: np.ndarray, values: np.ndarray, n_hidden: int
    ) -> None:
        self.indptr, self.indices, self.values = indptr, indices, values
        self.shape = (indptr.size - 1, n_hidden)
        self.dtype = values.dtype

    def toarray(self) -> np.ndarray:
        """The dense H: (m, n_hidden)."""
        H = np.zeros(self.shape, self.dtype)
        rows = np.repeat(np.arange(self.shape[0]), np.diff(self.indptr))
        H[rows, self.indices] = self.values
        return H

    def fire_counts(self, threshold: float) -> np.ndarray:
        """n_j = #{i : H_ij > threshold}: (n_hidden,) int64 (``npsae.metrics.fire_counts``)."""
        if threshold >= 0:  # the entries left out are 0, which never exceed it
            above = self.indices[self.values > threshold]
            return np.bincount(above, minlength=self.shape[1]).astype(np.int64)
        return (self.toarray() > threshold).sum(axis=0, dtype=np.int64)

    def fired(self) -> np.ndarray:
        """(n_hidden,) bool: the units with some H_ij > 0."""
        return self.fire_counts(0.0) > 0

    def smallest_positive(self) -> float:
        """min{H_ij : H_ij > 0}, inf if there is none."""
        return float(np.min(self.values, initial=np.inf, where=self.values > 0))
