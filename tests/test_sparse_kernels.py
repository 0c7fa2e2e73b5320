"""The sparse training step (npsae.sparse_kernels) against the dense one and the reference."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from npsae import reference
from npsae import sparse_kernels as sk
from npsae.kernels import NumbaBackend
from npsae.metrics import ActivationStats
from npsae.model import SparseAutoencoder
from npsae.optim import Adam
from npsae.sparse_code import SparseCode
from npsae.training import fit

DTYPES = (np.float64, np.float32)


def _pre_activations(m, n, dtype, seed, ties=False):
    """Z: (m, n) with, if asked, many exact ties (values on a coarse grid), rows of zeros and
    a row with a single positive entry."""
    rng = np.random.default_rng(seed)
    Z = rng.normal(size=(m, n))
    if ties:
        Z = np.round(Z * 2) / 2
        Z[1] = 0.0
        Z[2] = -1.0
        Z[2, n // 2] = 3.0
    return Z.astype(dtype)


def _relu(Z, b):
    return np.maximum(Z + b, 0)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n,k", [(1000, 1), (1000, 7), (517, 32), (64, 32), (40, 40)])
@pytest.mark.parametrize("ties", [False, True])
def test_top_k_selection_is_the_references(dtype, n, k, ties):
    # n not a multiple of k (the stride of the row maxima), and k = n.
    m = 37
    rng = np.random.default_rng(n + k)
    Z = _pre_activations(m, n, dtype, seed=k, ties=ties)
    # Xe W1 = Z exactly, with Xe the identity and W1 = Z.
    Xe = np.eye(m, dtype=dtype)
    b = rng.normal(size=n).astype(dtype) * (0 if ties else 0.1)
    block = np.empty((m, max(k, 90)), dtype)  # several blocks of columns, the last narrower
    code = sk.encode_top_k(Xe, Z, b, k, block)
    expected = reference.keep_top_k(_relu(Z, b), k)
    np.testing.assert_array_equal(code.toarray(), expected)
    assert np.all(np.diff(code.indptr) == k)
    # The kept units are the reference's even where their value is 0 (tied zeros).
    kept = np.argsort(-_relu(Z, b), axis=1, kind="stable")[:, :k]
    got = code.indices.reshape(m, k)
    np.testing.assert_array_equal(np.sort(got, axis=1), np.sort(kept, axis=1))


def test_top_k_selection_ranks_nan_last_as_the_reference():
    # The row kernel itself: a product with a NaN in W1 would spread it to every row.
    Z = _pre_activations(6, 300, np.float64, seed=3)
    Z[0, 5] = np.nan
    Z[1, :] = np.nan
    Z[1, 7] = 2.0
    H = np.maximum(Z, 0)
    H[np.isnan(Z)] = np.nan
    values, indices = np.empty((6, 4)), np.empty((6, 4), np.int32)
    sk.select_rows(Z, np.zeros(300), True, values, indices, np.empty((6, 4)))
    kept = np.argsort(-H, axis=1, kind="stable")[:, :4]
    np.testing.assert_array_equal(np.sort(indices, 1), np.sort(kept, 1))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize("k", [1, 3, 50])
def test_batch_top_k_selection_is_the_references(dtype, ties, k):
    m, n = 23, 301
    Z = _pre_activations(m, n, dtype, seed=k, ties=ties)
    b = np.zeros(n, dtype) if ties else np.linspace(-0.5, 0.5, n).astype(dtype)
    code = sk.encode_batch_top_k(Z.copy(), b, k)
    expected = reference.keep_batch_top_k(_relu(Z, b), k)
    np.testing.assert_array_equal(code.toarray(), expected)
    assert code.indices.size == k * m
    flat = np.argsort(-_relu(Z, b), axis=None, kind="stable")[: k * m]
    rows = np.repeat(np.arange(m), np.diff(code.indptr))
    np.testing.assert_array_equal(np.sort(rows * n + code.indices), np.sort(flat))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize("spare", [1, 4])
def test_blocked_batch_top_k_is_the_references(dtype, ties, spare):
    # Blocks of 40 columns and few entries kept per row: rows overflow and are computed again.
    m, n, k = 37, 301, 3
    Z = _pre_activations(m, n, dtype, seed=spare, ties=ties) + (0.5 if ties else 0.0)
    b = np.zeros(n, dtype) if ties else np.linspace(-0.5, 0.5, n).astype(dtype)
    code = sk.encode_batch_top_k_blocked(
        np.eye(m, dtype=dtype), Z, b, k, np.empty((m, 40), dtype), spare
    )
    np.testing.assert_array_equal(code.toarray(), reference.keep_batch_top_k(_relu(Z, b), k))
    assert code.indices.size == k * m


def test_batch_top_k_with_fewer_positives_than_kept_keeps_the_first_zeros():
    Z = -np.ones((4, 64))
    Z[2, 10] = 1.0
    expected_flat = np.argsort(-np.maximum(Z, 0), axis=None, kind="stable")[:8]
    block = np.empty((4, 16))
    for code in (  # 8 kept, 1 positive; the blocked select computes Z1 whole then
        sk.encode_batch_top_k(Z.copy(), np.zeros(64), 2),
        sk.encode_batch_top_k_blocked(np.eye(4), Z, np.zeros(64), 2, block),
    ):
        rows = np.repeat(np.arange(4), np.diff(code.indptr))
        np.testing.assert_array_equal(np.sort(rows * 64 + code.indices), np.sort(expected_flat))


def _model(sparsity, dtype, **options):
    return SparseAutoencoder(
        12, 80, hidden="relu", output="linear", recon="mse", sparsity=sparsity, k=3,
        dtype=dtype, seed=4, **options,
    )  # fmt: skip


CASES = [
    {},
    {"pre_bias": True, "weight_decay": 1e-3},
    {"aux_k": 6, "dead_after": 1},
]


@pytest.mark.parametrize("sparsity", ["topk", "batchtopk"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("options", CASES)
def test_sparse_step_equals_dense_step_and_reference(sparsity, dtype, options):
    model = _model(sparsity, dtype, **options)
    rng = np.random.default_rng(7)
    X = rng.normal(size=(29, 12)).astype(dtype)
    X[4] = 0.0  # a row whose code is all ties
    model.params["b1"][:] = rng.normal(size=80) * 0.1
    objective = model._current_objective()
    if options.get("aux_k"):
        objective = dataclasses.replace(objective, dead=rng.random(80) < 0.4)
    sparse = NumbaBackend(sparse=True).forward_backward(model.params, X, objective)
    dense = NumbaBackend(sparse=False).forward_backward(model.params, X, objective)
    ref = reference.forward_backward(model.params, X, objective)
    assert isinstance(sparse.cache.H, SparseCode)
    assert isinstance(dense.cache.H, np.ndarray)
    rtol = 1e-12 if dtype == np.float64 else 2e-5
    # The same units kept; their values differ at most by the rounding of X W1, which BLAS
    # may sum in another order for a block of columns or of rows.
    H = sparse.cache.H.toarray()
    for other in (dense.cache.H, ref.cache.H):
        np.testing.assert_array_equal(H != 0, other != 0)
        np.testing.assert_allclose(H, other, rtol=rtol, atol=0)
    np.testing.assert_allclose(sparse.cache.h_sum, dense.cache.h_sum, rtol=rtol, atol=0)
    for name, g in dense.grads.items():
        assert sparse.grads[name].dtype == g.dtype
        scale = np.max(np.abs(ref.grads[name])) + 1e-30
        assert np.max(np.abs(sparse.grads[name] - g)) <= rtol * scale, name
        assert np.max(np.abs(sparse.grads[name] - ref.grads[name])) <= rtol * scale, name
    for term, value in dense.loss.items():
        assert sparse.loss[term] == pytest.approx(value, rel=rtol, abs=1e-300), term
    if options.get("aux_k"):
        assert sparse.loss["aux"] > 0


def test_the_gradient_reaches_only_kept_units_and_live_weights():
    # A unit no sample keeps gets exactly zero gradient on both sides (no stale buffers).
    model = _model("topk", np.float64)
    X = np.random.default_rng(1).normal(size=(5, 12))
    model.params["b1"][17] = -1e6  # unit 17 is never kept
    step = NumbaBackend(sparse=True).forward_backward(model.params, X, model._current_objective())
    assert not step.grads["W1"][:, 17].any()
    assert not step.grads["W2"][17].any()
    assert step.grads["b1"][17] == 0.0


@pytest.mark.parametrize("sparsity", ["topk", "batchtopk"])
def test_statistics_from_a_sparse_code_equal_those_from_the_dense_code(sparsity):
    model = _model(sparsity, np.float32, aux_k=4, dead_after=40)
    twin = model.copy()
    X = np.random.default_rng(2).normal(size=(31, 12)).astype(np.float32)
    stats_sparse, stats_dense = ActivationStats(80, 0.0), ActivationStats(80, 0.0)
    for _ in range(3):
        code = NumbaBackend(sparse=True).forward_backward(
            model.params, X, model._current_objective()
        )
        dense = NumbaBackend(sparse=False).forward_backward(
            twin.params, X, twin._current_objective()
        )
        model.update_statistics(code.cache.H)
        twin.update_statistics(dense.cache.H)
        stats_sparse.update(code.cache.H, code.cache.h_sum)
        stats_dense.update(dense.cache.H, dense.cache.h_sum)
        X = X[::-1] * 1.5
    for name, buf in twin.buffers.items():
        np.testing.assert_array_equal(model.buffers[name], buf)
    assert model.buffers["since_fired"].max() > 0  # some unit did not fire: a real check
    np.testing.assert_array_equal(stats_sparse.fire_counts, stats_dense.fire_counts)
    assert stats_sparse.l0 == stats_dense.l0
    assert stats_sparse.dead_fraction == stats_dense.dead_fraction
    if sparsity == "batchtopk":
        assert np.isfinite(model.buffers["threshold"])


def test_sparse_code_counts_and_expands():
    code = SparseCode(
        np.array([0, 2, 3, 5]),
        np.array([1, 4, 1, 0, 4], np.int32),
        np.array([0.5, 0.0, 2.0, 0.25, 3.0]),
        6,
    )
    H = code.toarray()
    assert H.shape == (3, 6) and H[0, 1] == 0.5 and H[2, 4] == 3.0
    np.testing.assert_array_equal(code.fire_counts(0.0), (H > 0).sum(axis=0))
    np.testing.assert_array_equal(code.fire_counts(0.3), (H > 0.3).sum(axis=0))
    np.testing.assert_array_equal(code.fire_counts(-1.0), (H > -1.0).sum(axis=0))
    np.testing.assert_array_equal(code.fired(), (H > 0).any(axis=0))
    assert code.smallest_positive() == 0.25


def test_the_path_is_chosen_by_width_and_k():
    assert sk.use_sparse(32, 8192) and sk.use_sparse(64, 1024)
    assert not sk.use_sparse(65, 1024)  # more than n / 16 kept
    assert not sk.use_sparse(4, 512)  # too narrow to pay
    assert not sk.use_sparse(0, 8192)  # no selection
    X = np.random.default_rng(0).normal(size=(8, 10)).astype(np.float32)
    wide = SparseAutoencoder(10, 1024, hidden="relu", output="linear", sparsity="topk", k=8)
    narrow = SparseAutoencoder(10, 100, hidden="relu", output="linear", sparsity="topk", k=8)
    assert isinstance(wide.forward_backward(X).cache.H, SparseCode)
    assert isinstance(narrow.forward_backward(X).cache.H, np.ndarray)
    # The inference code stays a dense array, whichever path training takes, and the
    # training step's sparse code decodes as its dense twin does.
    assert isinstance(wide.encode(X), np.ndarray)
    code = wide.forward_backward(X).cache.H
    np.testing.assert_array_equal(wide.decode(code), wide.decode(code.toarray()))


@pytest.mark.parametrize("sparsity", ["topk", "batchtopk"])
def test_training_curves_of_the_two_paths_agree_for_200_steps(sparsity):
    # float32, as users train: the paths differ only by the rounding of their sums.
    rng = np.random.default_rng(5)
    F = rng.normal(size=(40, 16))
    data = (rng.exponential(size=(512, 40)) * (rng.random((512, 40)) < 0.1) @ F).astype(np.float32)
    curves = {}
    for sparse in (True, False):
        model = SparseAutoencoder(
            16, 128, hidden="relu", output="linear", sparsity=sparsity, k=4, seed=1,
            aux_k=16, dead_after=256,
        )  # fmt: skip
        model._engine = NumbaBackend(sparse=sparse)
        optimizer, rows = Adam(lr=3e-3), []
        for t in range(200):
            X = data[(t % 8) * 64 : (t % 8 + 1) * 64]
            loss, grads, cache = model.forward_backward(X, check=False)
            optimizer.step(model.params, grads)
            model.update_statistics(cache.H)
            stats = ActivationStats(128, 0.0)
            stats.update(cache.H, cache.h_sum)
            rows.append((loss["total"], stats.l0, model.dead_units().mean()))
        curves[sparse] = np.array(rows)
    sparse, dense = curves[True], curves[False]
    assert sparse[-1, 0] < 0.5 * sparse[0, 0]  # it trained
    np.testing.assert_allclose(sparse[:, 0], dense[:, 0], rtol=1e-4)
    np.testing.assert_array_equal(sparse[:, 1:], dense[:, 1:])


def test_the_trainer_runs_a_wide_model_on_the_sparse_path():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(96, 10)).astype(np.float32)
    model = SparseAutoencoder(
        10, 1024, hidden="relu", output="linear", sparsity="batchtopk", k=4, aux_k=8
    )
    assert isinstance(model.forward_backward(X).cache.H, SparseCode)
    history = fit(model, X, epochs=2, batch_size=32, verbose=0)
    assert len(history) == 2
    assert 0 < history["l0"][-1] <= 1024
    assert np.isfinite(model.buffers["threshold"])


def test_training_path_forces_either_path_and_gives_back_the_choice():
    X = np.random.default_rng(4).normal(size=(32, 10)).astype(np.float32)
    model = SparseAutoencoder(10, 1024, hidden="relu", output="linear", sparsity="topk", k=4)
    codes = []
    for sparse in (None, False, True, None):
        sk.training_path(model, sparse)
        codes.append(model.forward_backward(X, check=False).cache.H)
    assert [isinstance(H, SparseCode) for H in codes] == [True, False, True, True]
    np.testing.assert_array_equal(codes[2].toarray(), codes[1])
    sk.training_path(model, False)
    narrow = SparseAutoencoder(10, 64, hidden="relu", output="linear", sparsity="topk", k=4)
    sk.training_path(narrow, True)  # forced even where the automatic choice is dense
    assert isinstance(narrow.forward_backward(X, check=False).cache.H, SparseCode)
    with pytest.raises(ValueError, match="only the numba backend has a sparse path"):
        sk.training_path(model.copy(backend="numpy"), True)
