"""TopK, decoder-norm-weighted L1 and the unit-norm decoder: maths, gradients, both backends."""

import numpy as np
import pytest

from npsae import kernels, reference
from npsae.gradcheck import gradient_check, kink_free_batch
from npsae.model import SparseAutoencoder
from npsae.penalties import decoder_norms


def test_keep_top_k_keeps_the_k_largest_and_breaks_ties_by_position():
    H = np.array([[0.5, 0.9, 0.5, 0.1], [0.0, 0.0, 0.0, 0.3], [2.0, 2.0, 2.0, 2.0]])
    expected = np.array([[0.5, 0.9, 0.0, 0.0], [0.0, 0.0, 0.0, 0.3], [2.0, 2.0, 0.0, 0.0]])
    np.testing.assert_array_equal(reference.keep_top_k(H, 2), expected)
    # The Numba backend's stage agrees, ties included, and sums the kept activations.
    H_fast, h_sum = kernels.hidden_activation(H.copy(), np.zeros(4), "relu", 2)
    np.testing.assert_array_equal(H_fast, expected)
    np.testing.assert_array_equal(h_sum, expected.sum(axis=0))


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_topk_codes_have_at_most_k_nonzeros_and_pass_the_gradient_check(backend):
    model = SparseAutoencoder(
        12, 6, hidden="relu", sparsity="topk", k=2, dtype=np.float64, backend=backend, seed=2
    )
    model.params["b1"][:] = 0.3  # most units positive, so the selection really binds
    X = kink_free_batch(model, 6, seed=3)
    H = model.encode(X)
    assert np.all((H > 0).sum(axis=1) <= 2)
    assert np.any((H > 0).sum(axis=1) == 2)
    assert model.loss(X)["sparsity"] == 0.0
    result = gradient_check(model, X)
    assert result.passed, str(result)
    # Units never kept get no gradient into their encoder weights.
    _, grads = model.loss_and_grads(X)
    never = ~(H > 0).any(axis=0)
    assert not grads["W1"][:, never].any()


@pytest.mark.parametrize("backend", ["numpy", "numba"])
@pytest.mark.parametrize("hidden", ["relu", "sigmoid"])
def test_l1_decoder_value_and_gradient_check(backend, hidden):
    model = SparseAutoencoder(
        10, 5, hidden=hidden, sparsity="l1-decoder", beta=0.7, dtype=np.float64,
        backend=backend, seed=4,
    )  # fmt: skip
    X = kink_free_batch(model, 6, seed=5)
    H = model.encode(X)
    expected = 0.7 * np.sum(H * decoder_norms(model.params["W2"])) / 6
    assert model.loss(X)["sparsity"] == pytest.approx(expected, rel=1e-12)
    result = gradient_check(model, X)
    assert result.passed, str(result)
    assert result.row("sparsity", "W2").norm_error < 1e-6  # the penalty reaches the decoder


def test_l1_decoder_cannot_be_dodged_by_rescaling():
    """Halving the codes and doubling the decoder leaves the penalty unchanged (plain L1 halves)."""
    base = dict(hidden="relu", dtype=np.float64, backend="numpy", seed=6, beta=1.0)
    X = np.random.default_rng(7).random((8, 10))
    for sparsity, ratio in (("l1-decoder", 1.0), ("l1", 0.5)):
        model = SparseAutoencoder(10, 4, sparsity=sparsity, **base)
        before = model.loss(X)["sparsity"]
        model.params["W1"] *= 0.5
        model.params["W2"] *= 2.0
        assert model.loss(X)["sparsity"] == pytest.approx(ratio * before, rel=1e-12)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(sparsity="topk"), "give k exactly when sparsity='topk'"),
        (dict(sparsity="kl", k=3), "give k exactly when sparsity='topk'"),
        (dict(sparsity="topk", k=3, hidden="sigmoid"), "use hidden='relu'"),
        (dict(sparsity="topk", k=0, hidden="relu"), "k=0 must be an integer between 1 and"),
        (dict(sparsity="topk", k=9, hidden="relu"), "n_hidden=4"),
    ],
)
def test_invalid_topk_settings(kwargs, match):
    with pytest.raises(ValueError, match=match):
        SparseAutoencoder(8, 4, **kwargs)


def test_unit_norm_decoder_keeps_rows_on_the_sphere_and_steps_tangentially():
    model = SparseAutoencoder(10, 4, hidden="relu", sparsity="l1", unit_norm_decoder=True, seed=8)
    np.testing.assert_allclose(decoder_norms(model.params["W2"]), 1.0, rtol=1e-6)
    X = np.random.default_rng(9).random((16, 10)).astype(np.float32)
    _, grads = model.loss_and_grads(X)
    model.constrain_grads(grads)
    # The projected gradient is orthogonal to each row ...
    np.testing.assert_allclose(np.sum(grads["W2"] * model.params["W2"], axis=1), 0, atol=1e-6)
    # ... and after a step the rows are renormalised.
    model.params["W2"] -= 0.5 * grads["W2"] + 0.1
    model.apply_constraints()
    np.testing.assert_allclose(decoder_norms(model.params["W2"]), 1.0, rtol=1e-6)


def test_constraints_are_no_ops_without_unit_norm_decoder():
    model = SparseAutoencoder(10, 4, seed=8)
    W2 = model.params["W2"].copy()
    grads = {"W2": np.ones_like(W2)}
    model.constrain_grads(grads)
    model.apply_constraints()
    assert np.array_equal(model.params["W2"], W2) and np.all(grads["W2"] == 1)


def test_variants_survive_save_and_load(tmp_path):
    model = SparseAutoencoder(8, 4, hidden="relu", sparsity="topk", k=2, unit_norm_decoder=True)
    model.save(tmp_path / "m.npz")
    loaded = SparseAutoencoder.load(tmp_path / "m.npz")
    assert loaded.config == model.config and loaded.sparsity.k == 2
