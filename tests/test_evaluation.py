"""npsae.evaluation: a model measured on a data set in batches (``evaluate``, ``measure``)."""

import tracemalloc

import numpy as np
import pytest

from npsae import metrics
from npsae.evaluation import evaluate, measure
from npsae.model import SparseAutoencoder
from npsae.training import fit


def small_model(**kwargs):
    args = dict(n_in=16, n_hidden=6, hidden="sigmoid", sparsity="kl", rho=0.1, seed=3) | kwargs
    return SparseAutoencoder(**args)


def pixels(n, width=16, seed=0):
    """Random uint8 "images" (n, width)."""
    return np.random.default_rng(seed).integers(0, 256, (n, width), dtype=np.uint8)


def test_evaluate_weights_batches_by_size_and_reports_mse():
    X = pixels(70)
    model = small_model(recon="sse", weight_decay=1e-2)
    whole = model.loss(X)
    ev = evaluate(model, X, batch_size=70, seed=None)
    assert ev["loss"] == pytest.approx(whole["total"]) and ev["recon"] == pytest.approx(
        whole["recon"]
    )
    ev = evaluate(model, X, batch_size=16)  # recon and decay do not depend on the batching
    assert ev["recon"] == pytest.approx(whole["recon"]) and ev["decay"] == whole["decay"]
    # The KL term does: batches of a fixed random order (the same each time), or of data order.
    assert evaluate(model, X, batch_size=16) == ev
    in_order = evaluate(model, X, batch_size=16, seed=None)
    chunks = [X[lo : lo + 16] for lo in range(0, 70, 16)]
    by_hand = sum(model.loss(c)["sparsity"] * len(c) for c in chunks) / 70
    assert in_order["sparsity"] == pytest.approx(by_hand) and in_order["sparsity"] != ev["sparsity"]
    x = X.astype(np.float64) / 255
    assert ev["mse"] == pytest.approx(np.mean((model.reconstruct(X) - x) ** 2), rel=1e-5)


def test_measure_equals_the_whole_array_measures_in_a_fraction_of_the_memory():
    model = small_model(n_in=784, n_hidden=8, hidden="relu", sparsity="l1")
    X = pixels(6000, 784)
    rows = model.as_input(X)
    H = model.encode(rows)
    threshold = metrics.firing_threshold("relu")
    measure(model, X[:10])  # compile outside the measurement
    tracemalloc.start()
    summary = measure(model, X, batch_size=256)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    # The same reconstructions, batch by batch (measure's batches are evaluate's, drawn in the
    # order of seed 0): equal to float64 summation accuracy...
    batches = np.array_split(np.random.default_rng(0).permutation(6000), range(256, 6000, 256))
    X_hat = np.concatenate([model.reconstruct(rows[b]) for b in batches])
    fve = old_fraction_variance_explained(rows[np.concatenate(batches)], X_hat)
    assert summary["fve"] == pytest.approx(fve, rel=1e-12)
    # ...and to float32 accuracy with the whole batch at once (BLAS blocks it differently).
    fve = old_fraction_variance_explained(rows, model.decode(H))
    assert summary["fve"] == pytest.approx(fve, abs=1e-6)
    assert summary["l0"] == pytest.approx(metrics.l0(H, threshold), rel=1e-12)
    assert summary["dead_fraction"] == metrics.dead_fraction(metrics.fire_counts(H, threshold))
    assert summary["mean_rho_hat"] == pytest.approx(float(H.mean()), rel=1e-6)
    # The whole-array formula made five float64 copies of X (5 x 38 MB); a batch's are 1.6 MB.
    assert peak < 0.25 * X.size * 8, f"peak {peak / 1e6:.1f} MB"


def old_fraction_variance_explained(X, X_hat):
    """The formula as it was before issue 16: five float64 copies of the data."""
    X, X_hat = np.asarray(X, np.float64), np.asarray(X_hat, np.float64)
    return 1.0 - np.sum(np.square(X - X_hat)) / np.sum(np.square(X - X.mean(axis=0)))


def test_batched_variance_explained_equals_the_whole_array_formula():
    rng = np.random.default_rng(0)
    X = rng.random((9000, 30)).astype(np.float32) + 5  # an offset tests the centring
    X_hat = (X + 0.3 * rng.standard_normal(X.shape)).astype(np.float32)
    expected = old_fraction_variance_explained(X, X_hat)
    assert metrics.fraction_variance_explained(X, X_hat) == pytest.approx(expected, rel=1e-12)
    for size in (1, 7, 1000, 9000):
        acc = metrics.VarianceExplained(30)
        for lo in range(0, len(X), size):
            acc.update(X[lo : lo + size], X_hat[lo : lo + size])
        assert acc.value == pytest.approx(expected, rel=1e-12)


class CountingEngine:
    """A model's backend that counts the rows it encodes, and otherwise does as the backend."""

    def __init__(self, engine):
        self.engine = engine
        self.rows = 0

    def __getattr__(self, name):
        return getattr(self.engine, name)

    def encode(self, params, X, *args, **kwargs):
        self.rows += len(X)
        return self.engine.encode(params, X, *args, **kwargs)


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_measure_encodes_each_sample_once_and_agrees_with_evaluate(backend):
    model = small_model(backend=backend)
    X = pixels(1000, seed=5)
    engine = model._engine = CountingEngine(model._engine)
    result = measure(model, X, batch_size=64)
    assert engine.rows == len(X)
    assert result["samples"] == len(X)
    # The loss terms are evaluate's, from the same batches, to the last bit.
    loss = evaluate(model, X, batch_size=64)
    assert {k: result[k] for k in loss} == loss
    # The code statistics are those of encode on the whole set.
    H = model.encode(X)
    threshold = metrics.firing_threshold("sigmoid")
    assert result["l0"] == pytest.approx(metrics.l0(H, threshold), rel=1e-12)
    assert result["mean_rho_hat"] == pytest.approx(float(H.mean()), rel=1e-6)
    fve = metrics.fraction_variance_explained(model.as_input(X), model.decode(H))
    assert result["fve"] == pytest.approx(fve, abs=1e-6)


def test_measure_of_batchtopk_gives_the_inference_code_and_the_training_loss():
    model = SparseAutoencoder(16, 8, hidden="relu", sparsity="batchtopk", k=2, seed=0)
    X = pixels(600, seed=2)
    fit(model, X, epochs=2, batch_size=50, verbose=0)
    assert np.isfinite(model.buffers["threshold"])  # inference now keeps H above it
    result = measure(model, X, batch_size=50)
    H = model.encode(X)
    threshold = metrics.firing_threshold("relu")
    assert result["l0"] == pytest.approx(metrics.l0(H, threshold), rel=1e-12)
    assert result["l0"] != 2.0  # the batch selection would keep exactly k per sample
    loss = evaluate(model, X, batch_size=50)
    assert {k: result[k] for k in loss} == loss


def test_measure_and_evaluate_refuse_bad_data():
    model = small_model()
    for function in (evaluate, measure):
        with pytest.raises(ValueError, match="X has samples of 15 values; the model takes 16"):
            function(model, pixels(10, width=15))
        with pytest.raises(ValueError, match="X contains NaN"):
            function(model, np.full((4, 16), np.nan))
