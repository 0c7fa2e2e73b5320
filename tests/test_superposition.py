"""make_superposition: sparse features along known directions, and an SAE that recovers them."""

import numpy as np
import pytest

from npsae import Adam, SparseAutoencoder, fit, make_superposition
from npsae.metrics import features_recovered, mmcs


def test_shapes_unit_directions_and_reproducibility():
    X, F = make_superposition(3000, 40, 20, 0.1, seed=3)
    assert X.shape == (3000, 20) and F.shape == (40, 20)
    assert X.dtype == F.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(F, axis=1), 1.0, rtol=1e-6)
    X2, F2 = make_superposition(3000, 40, 20, 0.1, seed=3)
    assert np.array_equal(X, X2) and np.array_equal(F, F2)
    assert not np.array_equal(X, make_superposition(3000, 40, 20, 0.1, seed=4)[0])
    # The directions come first from the seed: other sample counts or p share them.
    assert np.array_equal(F, make_superposition(10, 40, 20, 0.5, seed=3)[1])
    assert make_superposition(5, 4, 3, 0.5, dtype=np.float64)[0].dtype == np.float64


def test_samples_are_sparse_nonnegative_combinations_of_the_directions():
    X, F = make_superposition(4000, 24, 12, 0.05, seed=0)
    # The codes cannot be solved back from X (more features than dimensions): rebuild them
    # from the documented definition with the same random stream.
    rng = np.random.default_rng(0)
    G = rng.standard_normal((24, 12))
    G /= np.linalg.norm(G, axis=1, keepdims=True)
    S = rng.random((4000, 24))
    S *= rng.random((4000, 24)) < 0.05
    np.testing.assert_allclose(X, S @ G, atol=1e-6)
    np.testing.assert_allclose(F, G, atol=1e-7)
    on = (S > 0).sum(axis=1)
    assert on.mean() == pytest.approx(24 * 0.05, rel=0.1)  # p * n_features per sample
    assert S.max() <= 1 and S.min() >= 0
    assert np.count_nonzero(~X.any(axis=1)) == np.count_nonzero(on == 0)  # empty rows stay 0


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"p": 0.0}, "p must be a probability in \\(0, 1\\]"),
        ({"p": 1.5}, "p must be a probability"),
        ({"p": True}, "p must be a probability"),
        ({"n_features": 0}, "n_features must be an integer >= 1"),
        ({"n_dims": 2.5}, "n_dims must be an integer >= 1"),
        ({"n_samples": -1}, "n_samples must be an integer >= 1"),
        ({"dtype": np.int32}, "dtype must be a float dtype"),
    ],
)
def test_bad_arguments_are_named(kwargs, message):
    args = {"n_samples": 10, "n_features": 8, "n_dims": 4, "p": 0.1, **kwargs}
    with pytest.raises(ValueError, match=message):
        make_superposition(**args)


def test_an_l1_autoencoder_recovers_features_at_twice_the_dimensions():
    """The issue's goal, small: 32 features in 16 dimensions, MMCS >= 0.9."""
    X, F = make_superposition(8000, 32, 16, 0.08, seed=0)
    model = SparseAutoencoder(16, 32, hidden="relu", output="linear", recon="sse",
                              sparsity="l1-decoder", beta=0.1, seed=0)  # fmt: skip
    assert mmcs(F, model.params["W2"]) < 0.6  # random rows are far from the directions
    fit(model, X, 15, batch_size=64, optimizer=Adam(3e-3), verbose=0)
    assert mmcs(F, model.params["W2"]) >= 0.9
    assert features_recovered(F, model.params["W2"]) >= 28
