"""Every sparsity variant recovers the 16 true bars of Foldiak's bars problem from a fixed seed."""

import time
import warnings

import numpy as np
import pytest

from npsae import Adam, fit, make_bars, presets
from npsae.metrics import features_recovered, max_cosine_similarity, mmcs

VARIANTS = [
    "bars-kl",
    "bars-l1",
    "bars-topk",
    "bars-l1-decoder",
    "bars-batchtopk",
    "bars-topk-auxk",
    "bars-jumprelu",
]


@pytest.fixture(scope="module")
def bars():
    return make_bars(4000, seed=0)


@pytest.mark.parametrize("variant", VARIANTS)
def test_variant_recovers_all_bars(bars, variant):
    """The preset of each sparsity variant, from seed 0, on 4000 images."""
    X, features = bars
    preset = presets.get(variant)
    model = presets.build(variant, X.shape[1], seed=0)
    start = time.perf_counter()
    history = fit(
        model, X, preset.epochs, batch_size=preset.batch_size, optimizer=Adam(preset.lr), verbose=0
    )
    seconds = time.perf_counter() - start
    W2 = model.params["W2"]
    score = mmcs(features, W2)
    print(f"{variant}: MMCS {score:.3f} after {preset.epochs} epochs, {seconds:.1f} s")
    assert score >= 0.9
    assert features_recovered(features, W2, 0.9) == 16
    assert history["l0"][-1] < 6  # a sparse code: about two bars are on per image


def test_auxk_revives_the_units_batchtopk_leaves_dead(bars):
    """The same recipe without AuxK ends with dead units and misses bars; AuxK revives them."""
    X, features = bars
    preset = presets.get("bars-batchtopk")
    results = {}
    for aux_k in (8, None):
        model = presets.build("bars-batchtopk", X.shape[1], seed=0, aux_k=aux_k)
        history = fit(model, X, preset.epochs, batch_size=64, optimizer=Adam(preset.lr), verbose=0)
        W2 = model.params["W2"]
        results[aux_k] = (history["dead_fraction"][-1], features_recovered(features, W2, 0.9))
    assert results[8] == (0.0, 16)
    assert results[None][0] > 0.25 and results[None][1] < 16


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


def test_every_preset_builds_a_valid_model():
    for name, preset in presets.PRESETS.items():
        model = presets.build(name, 64 if preset.dataset == "bars" else 784)
        assert model.n_hidden == preset.model["n_hidden"]
    with pytest.raises(ValueError, match="preset 'nope' is not known; choose one of keras"):
        presets.get("nope")
