"""Every sparsity variant recovers the 16 true bars of Foldiak's bars problem from a fixed seed."""

import time
import warnings

import numpy as np
import pytest

from npsae import Adam, SparseAutoencoder, fit, make_bars
from npsae.metrics import features_recovered, max_cosine_similarity, mmcs

# 24 ReLU or sigmoid units for 16 bars, a linear output and UFLDL's sse: one recipe per variant.
COMMON = dict(n_in=64, n_hidden=24, output="linear", recon="sse", seed=0)
RECIPES = {
    "kl": (dict(hidden="sigmoid", sparsity="kl", rho=0.1, beta=1, unit_norm_decoder=1), 1e-2, 60),
    "l1": (dict(hidden="relu", sparsity="l1", beta=0.05, unit_norm_decoder=True), 3e-3, 30),
    "topk": (dict(hidden="relu", sparsity="topk", k=3), 3e-3, 30),
    "l1-decoder": (dict(hidden="relu", sparsity="l1-decoder", beta=0.05), 3e-3, 30),
}  # fmt: skip


@pytest.fixture(scope="module")
def bars():
    return make_bars(4000, seed=0)


@pytest.mark.parametrize("variant", list(RECIPES))
def test_variant_recovers_all_bars(bars, variant):
    X, features = bars
    config, lr, epochs = RECIPES[variant]
    model = SparseAutoencoder(**COMMON, **config)
    start = time.perf_counter()
    history = fit(model, X, epochs, batch_size=64, optimizer=Adam(lr=lr), verbose=0)
    seconds = time.perf_counter() - start
    W2 = model.params["W2"]
    score = mmcs(features, W2)
    print(f"{variant}: MMCS {score:.3f} after {epochs} epochs, {seconds:.1f} s")
    assert score >= 0.9
    assert features_recovered(features, W2, 0.9) == 16
    assert history["l0"][-1] < 6  # a sparse code: about two bars are on per image


def test_mmcs_of_the_bars_themselves_and_of_random_rows(bars):
    _, features = bars
    assert mmcs(features, features) == pytest.approx(1.0)
    assert features_recovered(features, features[:10]) == 10
    rng = np.random.default_rng(0)
    assert mmcs(features, rng.normal(size=(16, 64))) < 0.5
    # A scaled, shuffled copy is as good: cosine similarity ignores length and order.
    assert mmcs(features, 3.0 * features[::-1]) == pytest.approx(1.0)
    # A zero row matches nothing rather than dividing by zero.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert max_cosine_similarity(features[:1], np.zeros((2, 64)))[0] == 0.0
    with pytest.raises(ValueError, match="same number of columns"):
        mmcs(features, np.ones((3, 10)))
