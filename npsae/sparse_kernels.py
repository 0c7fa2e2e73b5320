"""Sparse training step for wide TopK and BatchTopK models: touch only the kept units.

With k of n units kept per sample, only one product of a training step is dense by nature,
Z1 = Xe W1 (every pre-activation is needed to choose the top k). The other four touch m k
n_in numbers instead of m n n_in when the code H is stored by its kept entries (``SparseCode``,
compressed rows)::

    X^_i      = sum_{j kept in i} H_ij W2_j                  (``sparse_decode``)
    dZ1_ij    = (dZ2_i . W2_j + c_j) f'(H_ij)   j kept in i   (``sparse_hidden_backward``)
    dW2_j     = sum_{i: j kept in i} H_ij dZ2_i              (``sparse_weight_grads``)
    dW1[:, j] = sum_{i: j kept in i} dZ1_ij Xe_i,   db1_j = sum_i dZ1_ij

The selections are the reference's, ties broken by the lower index (``reference.keep_top_k``
and ``keep_batch_top_k``), in O(m n):

* TopK: the largest entries of k runs of a row are k entries, so the smallest of them bounds
  the row's k-th largest from below; the few entries above it go through a min-heap of the k
  best (``_row_top_k``). Z1 is computed a block of columns at a time, each merged into the
  rows' heaps (``top_k_by_columns``; one vectorised pass counts a block's entries above the
  worst kept, ``_merge_row``), so the dense (m, n) pre-activations never exist whole.
* BatchTopK: the (k m)-th largest activation v of the batch by a radix select on the float's
  bits (a histogram of the top bits, then a partial sort of the entries from v's bucket up);
  the entries above v are kept, and of those equal to v the first ones in flat order. On the
  sparse path Z1 is computed in blocks too, each row keeping its 4 k largest entries, among
  which v lies but for the few rows that may hold more: those are computed again
  (``encode_batch_top_k_blocked``).
  The dense path's selections use the same kernels (``keep_selected``).

The weight gradients are built unit by unit from the code sorted by unit (``_by_unit``, a
counting sort that keeps the row order, so every sum runs in the same order on any number of
threads): a unit's row of dW2 is contiguous, and the encoder gradient is gathered for
``UNIT_BLOCK`` units at a time so that writing the columns of dW1: (n_in, n) fills whole cache
lines.

``npsae.kernels.NumbaBackend`` takes this path by itself for wide models (``use_sparse``);
tests hold it equal to the dense path. ``training_path(model, sparse)`` forces one path or the
other on a model (to compare them, as ``bench/wide.py`` does).
"""

from __future__ import annotations

import os

import numba
import numpy as np
from numba import njit, prange

from npsae.kernels import CACHE, FASTMATH
from npsae.sparse_code import SparseCode

# The compiled loops run over rows or units on Numba's threads. They alternate with OpenBLAS's
# threads (Z1 is computed in blocks between selections), which the OpenMP layer handles badly:
# on a 2-core machine the TopK step ran 1.5x slower with it than with Numba's own "workqueue"
# pool (measured here). So "workqueue", unless the user chose a layer (NUMBA_THREADING_LAYER);
# it serves one Python thread at a time, as npsae's trainer runs.
if "NUMBA_THREADING_LAYER" not in os.environ:
    numba.config.THREADING_LAYER = "workqueue"
pjit = njit(cache=CACHE, fastmath=FASTMATH, error_model="numpy", parallel=True)
sjit = njit(cache=CACHE, fastmath=FASTMATH, error_model="numpy")

# The sparse path pays when few units are kept and the model is wide (``use_sparse``).
SPARSE_MIN_HIDDEN = 1024
SPARSE_MAX_FRACTION = 1 / 16
# Entries of Z1 = Xe W1 computed at once (``column_block``): a block of columns of all rows,
# so that BLAS packs W1 once (a block of rows repacks all of W1 for each block: 1.6x slower
# here); 2^22 floats keep the block a small part of a wide model's memory.
BLOCK_ENTRIES = 1 << 22
# BatchTopK's rows that may hold more than their 4k best, computed again this many at a time.
ROWS_AGAIN = 256
# Blocks of rows with a histogram each in BatchTopK's select (one per thread would do; a few
# more balance the load).
HISTOGRAM_BLOCKS = 16
# Units whose encoder-gradient columns are gathered together: 16 float32 fill a cache line.
UNIT_BLOCK = 16


def training_path(model, sparse: bool | None) -> None:
    """Make ``model``'s TopK or BatchTopK training steps take the sparse path (True), the dense
    one (False), or the automatic choice of ``use_sparse`` (None, a new model's). Both paths
    compute the same step; the choice is not saved with the model. ``model``: a
    ``SparseAutoencoder`` with ``backend="numba"`` (ValueError otherwise)."""
    from npsae.kernels import NumbaBackend

    engine = model._engine
    if not isinstance(engine, NumbaBackend):
        raise ValueError(
            f"only the numba backend has a sparse path; this model's is {model.backend!r}"
        )
    engine.sparse = sparse


def use_sparse(k: int, n_hidden: int) -> bool:
    """The automatic choice: the sparse path when ``n_hidden >= SPARSE_MIN_HIDDEN`` and
    ``k <= SPARSE_MAX_FRACTION n_hidden`` (k: units kept per sample, on average for BatchTopK)."""
    return bool(k) and n_hidden >= SPARSE_MIN_HIDDEN and k <= SPARSE_MAX_FRACTION * n_hidden


# --------------------------------------------------------------------------- TopK


@sjit
def _worse(a, ia, b, ib):
    # The reference's order (a stable sort of -H): larger first, then the lower index; NaN
    # sorts after every number.
    if a != a:
        return b == b or ia > ib
    if b != b:
        return False
    return a < b or (a == b and ia > ib)


@sjit
def _sift_down(val, idx, r, size):
    # Restore the min-heap (the worst entry at the root) below position r.
    while True:
        child = 2 * r + 1
        if child >= size:
            return
        if child + 1 < size and _worse(val[child + 1], idx[child + 1], val[child], idx[child]):
            child += 1
        if not _worse(val[child], idx[child], val[r], idx[r]):
            return
        val[r], val[child] = val[child], val[r]
        idx[r], idx[child] = idx[child], idx[r]
        r = child


@sjit
def _offer(val, idx, filled, h, j):
    # Entry h of index j to the heap of the best val.size so far (filled of them); returns
    # the new count. Entries come in index order, so one equal to the worst kept loses to it.
    k = val.size
    if filled < k:
        val[filled] = h
        idx[filled] = j
        filled += 1
        if filled == k:
            for q in range(k // 2 - 1, -1, -1):
                _sift_down(val, idx, q, k)
    elif _worse(val[0], idx[0], h, j):
        val[0] = h
        idx[0] = j
        _sift_down(val, idx, 0, k)
    return filled


@sjit
def _heap_select(z, offset, val, idx, t, use_t):
    # The k = val.size best entries of z (indices offset + j) into (val, idx) by a min-heap
    # whose root is the worst kept; with use_t, among the entries >= t only. Returns how many
    # were found (k, unless fewer than k entries reach t).
    filled = 0
    for j in range(z.size):
        h = z[j]
        if use_t and not h >= t:
            continue
        filled = _offer(val, idx, filled, h, offset + j)
    return filled


@sjit
def _group_maxima(z, maxima):
    # maxima[g] = the largest of the g-th of maxima.size runs of z (the tail left out).
    size = z.size // maxima.size
    for g in range(maxima.size):
        best = z[g * size]
        for j in range(g * size + 1, (g + 1) * size):
            x = z[j]
            best = x if x > best else best
        maxima[g] = best


@sjit
def _activate(z, b, relu):
    zero = z.dtype.type(0.0)
    for j in range(z.size):
        h = z[j] + b[j]
        if relu:
            h = h if h > zero else zero * h
        z[j] = h


@sjit
def _row_top_k(z, z_bits, b, offset, relu, val, idx, maxima, maxima_bits):
    # H = f(z + b) in place (relu, or the identity for AuxK's pre-activations), and its
    # k = val.size best entries into (val, idx), in heap order. The largest entries of k runs
    # of the row are k entries, so the smallest of them, t, is at most the row's k-th largest:
    # only the entries >= t (a few k) reach the heap. After relu the runs' maxima are taken on
    # the IEEE bits (*_bits: the same memory as integers), which order as the values for
    # numbers >= 0 and vectorise (a float max does not, without fast-math's "no NaN"). With a
    # NaN in the row fewer than k entries may reach t: then the plain scan, which ranks NaN
    # last as the reference does.
    k = val.size
    _activate(z, b, relu)
    use_t = z.size >= k
    t = z.dtype.type(0.0)
    if use_t:
        if relu:
            _group_maxima(z_bits, maxima_bits)
        else:
            _group_maxima(z, maxima)
        t = maxima.min()
    if _heap_select(z, offset, val, idx, t, use_t) < k:
        _heap_select(z, offset, val, idx, t, False)


@sjit
def _merge_row(z, b, offset, relu, val, idx, filled):
    # The next columns z (indices offset + j) of a row into the heap of its best so far. Once
    # the heap is full, one vectorised pass applies f and counts the entries above the worst
    # kept; only if there are any is the row scanned again for them (an entry equal to the
    # worst loses to it: it has a higher index).
    k = val.size
    if filled < k or val[0] != val[0]:
        _activate(z, b, relu)
        for j in range(z.size):
            filled = _offer(val, idx, filled, z[j], offset + j)
        return filled
    worst = val[0]
    zero = z.dtype.type(0.0)
    above = 0
    for j in range(z.size):
        h = z[j] + b[j]
        if relu:
            h = h if h > zero else zero * h
        z[j] = h
        above += h > worst
    if above:
        for j in range(z.size):
            if z[j] > val[0]:
                filled = _offer(val, idx, filled, z[j], offset + j)
    return filled


@pjit
def _block_top_k(Z, Z_bits, b, offset, relu, val, idx, filled, maxima, maxima_bits):
    # Columns offset .. offset + Z.shape[1] of every row: the first block of a row by
    # _row_top_k, the next ones merged into its heap.
    for i in prange(Z.shape[0]):
        if filled[i] == 0 and Z.shape[1] >= val.shape[1]:
            _row_top_k(Z[i], Z_bits[i], b, offset, relu, val[i], idx[i], maxima[i], maxima_bits[i])
            filled[i] = val.shape[1]
        else:
            filled[i] = _merge_row(Z[i], b, offset, relu, val[i], idx[i], filled[i])


def _bits(a: np.ndarray) -> np.ndarray:
    """``a``'s memory read as signed integers of its width."""
    return a.view(np.int64 if a.dtype.itemsize == 8 else np.int32)


def select_rows(Z: np.ndarray, b: np.ndarray, relu: bool, values, indices, maxima) -> None:
    """The row selection of ``encode_top_k`` on pre-activations ``Z: (m, n)`` (without bias),
    overwritten with f(Z + b): the k best of each row into ``values, indices: (m, k)``;
    ``maxima: (m, k)`` is scratch."""
    filled = np.zeros(Z.shape[0], np.int64)
    _block_top_k(Z, _bits(Z), b, 0, relu, values, indices, filled, maxima, _bits(maxima))


def column_block(m: int, n: int, k: int) -> int:
    """Columns of Z1 computed at once: ``BLOCK_ENTRIES / m`` (at least k, at most n)."""
    return max(k, min(n, BLOCK_ENTRIES // m))


def top_k_by_columns(
    Xe: np.ndarray, W1: np.ndarray, b1: np.ndarray, k: int, block: np.ndarray, relu: bool
) -> tuple[np.ndarray, np.ndarray]:
    """The k best entries of each row of f(Xe W1 + b1), as (values, indices): (m, k) each in
    heap order, with Xe W1 computed a few columns at a time into ``block: (m, c)`` (c >= k):
    each block of columns is merged into every row's heap of the best so far."""
    m, n = Xe.shape[0], W1.shape[1]
    values, indices = np.empty((m, k), W1.dtype), np.empty((m, k), np.int32)
    filled, maxima = np.zeros(m, np.int64), np.empty((m, k), W1.dtype)
    flat = block.reshape(-1)
    for lo in range(0, n, block.shape[1]):
        hi = min(n, lo + block.shape[1])
        Z = np.dot(Xe, W1[:, lo:hi], out=flat[: m * (hi - lo)].reshape(m, hi - lo))
        _block_top_k(
            Z, _bits(Z), b1[lo:hi], lo, relu, values, indices, filled, maxima, _bits(maxima)
        )
    return values, indices


def encode_top_k(
    Xe: np.ndarray,
    W1: np.ndarray,
    b1: np.ndarray,
    k: int,
    block: np.ndarray,
    relu: bool = True,
) -> SparseCode:
    """TopK's code of ``Xe: (m, n_in)``: relu(Xe W1 + b1) with the k largest entries of each
    row kept (``reference.keep_top_k``), as a ``SparseCode`` with k entries per row; with
    ``relu=False``, of Xe W1 + b1 itself (AuxK's dead units). ``block: (m, c)`` is scratch
    for the pre-activations, computed c columns at a time (``top_k_by_columns``)."""
    m, n = Xe.shape[0], W1.shape[1]
    values, indices = top_k_by_columns(Xe, W1, b1, k, block, relu)
    indptr = np.arange(0, m * k + 1, k, dtype=np.int64)
    return SparseCode(indptr, indices.reshape(-1), values.reshape(-1), n)


# --------------------------------------------------------------------------- BatchTopK


@sjit
def _bucket(x, bits, shift):
    # Buckets ordered as the values: NaN 0 (after everything, as in the reference's sort),
    # +-0 1, a positive x 2 + the top bits of its IEEE pattern ``bits`` (for x > 0 they order
    # as x does). relu leaves no negative number.
    if x != x:
        return 0
    if not x > 0:
        return 1
    return 2 + (np.int64(bits) >> shift)


@pjit
def _relu_histogram(Z, bits, b, shift, counts):
    # Z = relu(Z + b) in place, and each block of rows' histogram of buckets in counts[block];
    # ``bits`` is Z read as integers of its width.
    m, n = Z.shape
    n_blocks = counts.shape[0]
    zero = Z.dtype.type(0.0)
    for c in prange(n_blocks):
        for i in range(c * m // n_blocks, (c + 1) * m // n_blocks):
            for j in range(n):
                h = Z[i, j] + b[j]
                Z[i, j] = h if h > zero else zero * h
            for j in range(n):
                counts[c, _bucket(Z[i, j], bits[i, j], shift)] += 1


@sjit
def _candidate(x, t, everything):
    return everything or x >= t


@pjit
def _count_candidates(Z, t, everything, counts):
    for i in prange(Z.shape[0]):
        c = 0
        for j in range(Z.shape[1]):
            c += _candidate(Z[i, j], t, everything)
        counts[i] = c


@pjit
def _gather_candidates(Z, t, everything, indptr, indices, values):
    for i in prange(Z.shape[0]):
        p = indptr[i]
        for j in range(Z.shape[1]):
            x = Z[i, j]
            if _candidate(x, t, everything):
                indices[p] = j
                values[p] = x
                p += 1


@sjit
def _kept(x, v, v_is_nan):
    # Strictly better than v: x > v for numbers; any number beats a NaN v.
    return x > v or (v_is_nan and x == x)


@sjit
def _same(x, v, v_is_nan):
    return x == v or (v_is_nan and x != x)


@pjit
def _count_kept(indptr, values, v, v_is_nan, above, equal):
    for i in prange(indptr.size - 1):
        a = 0
        e = 0
        for p in range(indptr[i], indptr[i + 1]):
            x = values[p]
            if _kept(x, v, v_is_nan):
                a += 1
            elif _same(x, v, v_is_nan):
                e += 1
        above[i] = a
        equal[i] = e


@pjit
def _fill_kept(src_ptr, src_idx, src_val, v, v_is_nan, ties, indptr, indices, values):
    # Row i keeps its entries above v and its first ties[i] entries equal to v.
    for i in prange(src_ptr.size - 1):
        p = indptr[i]
        t = ties[i]
        for q in range(src_ptr[i], src_ptr[i + 1]):
            x = src_val[q]
            keep = _kept(x, v, v_is_nan)
            if not keep and t > 0 and _same(x, v, v_is_nan):
                keep = True
                t -= 1
            if keep:
                indices[p] = src_idx[q]
                values[p] = x
                p += 1


def _prefix(counts: np.ndarray) -> np.ndarray:
    """[0, c0, c0 + c1, ...]: compressed rows' pointers from counts per row."""
    return np.concatenate(([0], np.cumsum(counts))).astype(np.int64)


def encode_batch_top_k(Z1: np.ndarray, b1: np.ndarray, k: int) -> SparseCode:
    """BatchTopK's code: relu(Z1 + b1) with the k m largest entries of the batch kept, ties by
    the lower flat index (``reference.keep_batch_top_k``), as a ``SparseCode``. ``Z1: (m, n)``,
    the product Xe W1, is overwritten with relu(Z1 + b1).

    The k m-th largest value v lies in one bucket of a histogram of the values' top bits
    (12 bits after the sign: 8 of exponent, 4 of mantissa; the counts stay in L1 cache). The
    entries from that bucket's floor up, a little more than k m, are gathered, v is found among
    them by a partial sort, and of them those above v are kept, and of those equal to v the
    first in flat order.
    """
    m, n = Z1.shape
    kept = min(k * m, m * n)
    shift = 8 * Z1.dtype.itemsize - 13  # the sign bit is 0 for the numbers binned
    bits = Z1.view(np.int64 if Z1.dtype.itemsize == 8 else np.int32)
    counts = np.zeros((min(m, HISTOGRAM_BLOCKS), 2 + (1 << 12)), np.int64)
    _relu_histogram(Z1, bits, b1, shift, counts)
    bucket, floor = _bucket_of_kth(counts, kept, shift, Z1.dtype)
    row_counts = np.empty(m, np.int64)
    _count_candidates(Z1, floor, bucket == 0, row_counts)
    cand_ptr = _prefix(row_counts)
    cand_idx = np.empty(int(cand_ptr[-1]), np.int32)
    cand_val = np.empty(int(cand_ptr[-1]), Z1.dtype)
    _gather_candidates(Z1, floor, bucket == 0, cand_ptr, cand_idx, cand_val)
    return _keep_from_candidates(cand_ptr, cand_idx, cand_val, kept, bucket == 0, n)


def _bucket_of_kth(counts: np.ndarray, kept: int, shift: int, dtype: np.dtype):
    """From the blocks' histograms, the bucket holding the kept-th largest value and that
    bucket's floor, the smallest value it holds (0 for the zeros; for NaN, bucket 0, any)."""
    from_top = np.cumsum(counts.sum(axis=0)[::-1])
    bucket = counts.shape[1] - 1 - int(np.searchsorted(from_top, kept))
    int_type = np.int64 if dtype.itemsize == 8 else np.int32
    floor = np.array((bucket - 2) << shift if bucket >= 2 else 0, int_type).view(dtype)
    return bucket, floor[()]


def _keep_from_candidates(cand_ptr, cand_idx, cand_val, kept, nan_bucket, n) -> SparseCode:
    """The kept largest of a batch from its candidates (compressed rows, each row's in index
    order, holding every entry of the batch from the bucket of the kept-th largest up)."""
    m = cand_ptr.size - 1
    if nan_bucket:
        v = cand_val.dtype.type(np.nan)
    else:  # no NaN among the candidates: v is their kept-th largest
        v = np.partition(cand_val, cand_val.size - kept)[cand_val.size - kept]
    v_is_nan = bool(v != v)
    above, equal = np.empty(m, np.int64), np.empty(m, np.int64)
    _count_kept(cand_ptr, cand_val, v, v_is_nan, above, equal)
    # The ties go to the first rows, in order: row i gets what the rows before it left.
    ties = np.clip(kept - int(above.sum()) - (np.cumsum(equal) - equal), 0, equal)
    indptr = _prefix(above + ties)
    indices = np.empty(int(indptr[-1]), np.int32)
    values = np.empty(int(indptr[-1]), cand_val.dtype)
    _fill_kept(cand_ptr, cand_idx, cand_val, v, v_is_nan, ties, indptr, indices, values)
    return SparseCode(indptr, indices, values, n)


@pjit
def _candidates_from_heaps(values, indices, floor, overflow, counts, cand_ptr, cand_idx, cand_val):
    # With cand_ptr empty: counts[i] = row i's kept entries >= floor. With it: those
    # entries, in index order, into the compressed rows (rows that overflow are filled apart).
    for i in prange(values.shape[0]):
        if overflow[i]:
            continue
        if cand_ptr.size == 0:
            c = 0
            for q in range(values.shape[1]):
                c += values[i, q] >= floor
            counts[i] = c
            continue
        p0 = cand_ptr[i]
        p = p0
        for q in range(values.shape[1]):
            if values[i, q] >= floor:
                j, x = indices[i, q], values[i, q]
                r = p
                while r > p0 and cand_idx[r - 1] > j:  # insertion by index
                    cand_idx[r] = cand_idx[r - 1]
                    cand_val[r] = cand_val[r - 1]
                    r -= 1
                cand_idx[r] = j
                cand_val[r] = x
                p += 1


def encode_batch_top_k_blocked(
    Xe: np.ndarray, W1: np.ndarray, b1: np.ndarray, k: int, block: np.ndarray, spare: int = 4
) -> SparseCode:
    """``encode_batch_top_k`` of Z1 = Xe W1 without Z1 ever whole.

    Z1 is computed in blocks of columns (``top_k_by_columns``), and each row keeps its
    w = ``spare k`` largest activations. The k m-th largest u of these m w entries is at
    most the batch's k m-th largest v (they are some of the batch's entries). A row whose w-th
    largest is below u holds no other entry >= u; the rows that may (their w-th largest >= u)
    are computed again. Then every entry >= u, so every kept one,
    is a candidate, and v and the kept entries are found among them. When u is 0 or NaN (few
    positive activations), Z1 is computed whole (``encode_batch_top_k``)."""
    m, n = Xe.shape[0], W1.shape[1]
    kept, width = min(k * m, m * n), min(n, spare * k)
    values, indices = top_k_by_columns(Xe, W1, b1, width, block, True)
    kept_values = values.reshape(-1)
    u = np.partition(kept_values, kept_values.size - kept)[kept_values.size - kept]
    if not u > 0 or np.isnan(kept_values).any():
        return encode_batch_top_k(np.dot(Xe, W1), b1, k)
    # A row overflows if its least kept entry (the heap's root) reaches u.
    overflow = (values[:, 0] >= u) & (width < n)
    row_counts = np.zeros(m, np.int64)
    none = (np.empty(0, np.int64), np.empty(0, np.int32), np.empty(0, W1.dtype))
    _candidates_from_heaps(values, indices, u, overflow, row_counts, *none)
    # The rows that overflow, computed again (ROWS_AGAIN at a time).
    full_rows = {}
    again = np.flatnonzero(overflow)
    for lo in range(0, again.size, ROWS_AGAIN):
        rows = again[lo : lo + ROWS_AGAIN]
        Z = np.maximum(Xe[rows] @ W1 + b1, 0)  # relu(Z + b1), as the kernels round it
        for r, i in enumerate(rows):
            cols = np.flatnonzero(Z[r] >= u)
            full_rows[i] = cols, Z[r, cols]
            row_counts[i] = cols.size
    if row_counts.sum() < kept:  # (a row computed again that rounded otherwise)
        return encode_batch_top_k(np.dot(Xe, W1), b1, k)
    cand_ptr = _prefix(row_counts)
    cand_idx = np.empty(int(cand_ptr[-1]), np.int32)
    cand_val = np.empty(int(cand_ptr[-1]), W1.dtype)
    _candidates_from_heaps(values, indices, u, overflow, row_counts, cand_ptr, cand_idx, cand_val)
    for i, (cols, z) in full_rows.items():
        cand_idx[cand_ptr[i] : cand_ptr[i + 1]] = cols
        cand_val[cand_ptr[i] : cand_ptr[i + 1]] = z
    return _keep_from_candidates(cand_ptr, cand_idx, cand_val, kept, False, n)


# --------------------------------------------------------------------------- dense codes


@pjit
def _scatter_rows(indptr, indices, values, H):
    zero = H.dtype.type(0.0)
    for i in prange(H.shape[0]):
        H[i, :] = zero
        for p in range(indptr[i], indptr[i + 1]):
            H[i, indices[p]] = values[p]


def keep_selected(H: np.ndarray, k: int, batch: bool) -> None:
    """Zero, in place, all but the k largest entries of each row of ``H: (m, n)`` or, with
    ``batch``, the k m largest of the whole batch (H >= 0 then, as after relu): the selections
    of ``reference.keep_top_k`` and ``keep_batch_top_k`` (ties by the lower index) in O(m n),
    for the dense path."""
    m, n = H.shape
    zeros = np.zeros(n, H.dtype)
    if batch:
        code = encode_batch_top_k(H, zeros, k)
    else:
        values, indices = np.empty((m, k), H.dtype), np.empty((m, k), np.int32)
        select_rows(H, zeros, False, values, indices, np.empty((m, k), H.dtype))
        code = SparseCode(np.arange(0, m * k + 1, k), indices.reshape(-1), values.reshape(-1), n)
    _scatter_rows(code.indptr, code.indices, code.values, H)


# --------------------------------------------------------------------------- decoder, backward


def column_sums(code: SparseCode) -> np.ndarray:
    """h_j = sum_i H_ij: (n_hidden,) float64, summed in row order as the dense path does."""
    return np.bincount(code.indices, weights=code.values, minlength=code.shape[1])


@pjit
def _decode(indptr, indices, values, W2, out):
    for i in prange(out.shape[0]):
        row = out[i]
        row[:] = 0.0
        for p in range(indptr[i], indptr[i + 1]):
            h = values[p]
            w = W2[indices[p]]
            for d in range(row.size):
                row[d] += h * w[d]


def sparse_decode(code: SparseCode, W2: np.ndarray, out: np.ndarray) -> np.ndarray:
    """Z2 = H W2 (no bias) from the kept entries: ``out: (m, n_in)``, written and returned."""
    _decode(code.indptr, code.indices, code.values, W2, out)
    return out


@pjit
def _hidden_backward(indptr, indices, values, dZ2, W2, c, relu, dZ1):
    zero = values.dtype.type(0.0)
    for i in prange(dZ2.shape[0]):
        g = dZ2[i]
        for p in range(indptr[i], indptr[i + 1]):
            j = indices[p]
            w = W2[j]
            s = zero
            for d in range(g.size):
                s += g[d] * w[d]
            # relu'(z) written through H, as the dense path: 1 where H > 0; without relu
            # (AuxK), the kept entries (a kept 0 has measure 0).
            live = values[p] > zero if relu else values[p] != zero
            dZ1[p] = s + c[j] if live else zero


def sparse_hidden_backward(
    code: SparseCode, dZ2: np.ndarray, W2: np.ndarray, c: np.ndarray, relu: bool = True
) -> np.ndarray:
    """dZ1 at the kept entries: (dZ2_i . W2_j + c_j) f'(H_ij), an array aligned with
    ``code.values``; dZ2: (m, n_in), W2: (n_hidden, n_in), c: (n_hidden,) the penalty's dP/dH;
    f is relu, or with ``relu=False`` the identity on the kept entries (AuxK). The entries
    left out have dZ1 = 0 (relu' = 0 there, or TopK dropped them)."""
    dZ1 = np.empty_like(code.values)
    args = (code.indptr, code.indices, code.values, dZ2, W2, c.astype(dZ1.dtype), relu, dZ1)
    _hidden_backward(*args)
    return dZ1


@sjit
def _by_unit(indptr, indices, n_hidden, unit_ptr, order):
    # Counting sort of the entries by unit, each unit's entries in row order; order[q] is the
    # entry p, rows[q] its row.
    counts = np.zeros(n_hidden + 1, np.int64)
    for p in range(indices.size):
        counts[indices[p] + 1] += 1
    for j in range(n_hidden):
        counts[j + 1] += counts[j]
    unit_ptr[:] = counts
    rows = np.empty(indices.size, np.int64)
    for i in range(indptr.size - 1):
        for p in range(indptr[i], indptr[i + 1]):
            q = counts[indices[p]]
            counts[indices[p]] += 1
            order[q] = p
            rows[q] = i
    return rows


@pjit
def _unit_grads(unit_ptr, order, rows, values, dZ1, Xe, dZ2, dW1, db1, dW2, block):
    n_in, n_hidden = dW1.shape
    n_blocks = (n_hidden + block - 1) // block
    zero = dW1.dtype.type(0.0)
    for u in prange(n_blocks):
        j0 = u * block
        width = min(block, n_hidden - j0)
        acc = np.zeros((width, n_in), dW1.dtype)
        for jj in range(width):
            j = j0 + jj
            w2 = dW2[j]
            w2[:] = zero
            a = acc[jj]
            db = 0.0
            for q in range(unit_ptr[j], unit_ptr[j + 1]):
                p, i = order[q], rows[q]
                h, g = values[p], dZ1[p]
                x, e = Xe[i], dZ2[i]
                for d in range(n_in):
                    a[d] += g * x[d]
                    w2[d] += h * e[d]
                db += g
            db1[j] = db
        # dW1's columns j0 .. j0 + width: each row of dW1 gets `width` contiguous numbers.
        for d in range(n_in):
            for jj in range(width):
                dW1[d, j0 + jj] = acc[jj, d]


def sparse_weight_grads(
    code: SparseCode, dZ1: np.ndarray, Xe: np.ndarray, dZ2: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The gradients the kept entries give:

        dW1 = Xe^T dZ1  (n_in, n),   db1 = sum_i dZ1_i  (n,),   dW2 = H^T dZ2  (n, n_in)

    with dZ1 from ``sparse_hidden_backward``; Xe, dZ2: (m, n_in). db1 is summed in float64 and
    returned in the weights' dtype, as the dense path does."""
    n_in, n = Xe.shape[1], code.shape[1]
    unit_ptr = np.empty(n + 1, np.int64)
    order = np.empty(code.indices.size, np.int64)
    rows = _by_unit(code.indptr, code.indices, n, unit_ptr, order)
    dW1 = np.empty((n_in, n), Xe.dtype)
    dW2 = np.empty((n, n_in), Xe.dtype)
    db1 = np.empty(n)
    _unit_grads(unit_ptr, order, rows, code.values, dZ1, Xe, dZ2, dW1, db1, dW2, UNIT_BLOCK)
    return dW1, db1.astype(Xe.dtype), dW2
