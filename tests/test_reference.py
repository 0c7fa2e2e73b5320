"""The NumPy reference's term-by-term gradients, and the named results every backend returns."""

import numpy as np
import pytest
from test_modern_architectures import VARIANTS, variant

from npsae import reference
from npsae.gradcheck import kink_free_batch
from npsae.model import SparseAutoencoder
from npsae.reference import ForwardBackward, LossAndGrads

CLASSIC = {
    "sigmoid-kl-decay": dict(hidden="sigmoid", sparsity="kl", weight_decay=1e-2),
    "relu-l1-sse": dict(hidden="relu", sparsity="l1", recon="sse", output="linear"),
    "l1-decoder-decay": dict(hidden="relu", sparsity="l1-decoder", weight_decay=1e-2),
    "topk": dict(hidden="relu", sparsity="topk", k=2),
    "none": dict(hidden="sigmoid", sparsity=None),
}


def classic(name, backend="numpy", dtype=np.float64):
    model = SparseAutoencoder(
        10, 6, dtype=dtype, backend=backend, seed=2, rho=0.2, beta=0.4, **CLASSIC[name]
    )
    model.params["b1"][:] = 0.2
    return model


def every_model(backend="numpy", dtype=np.float64):
    yield from ((name, classic(name, backend, dtype)) for name in CLASSIC)
    yield from ((name, variant(name, backend, dtype)) for name in VARIANTS)


@pytest.mark.parametrize("name", [*CLASSIC, *VARIANTS])
def test_the_terms_gradients_sum_to_the_total(name):
    model = dict(every_model())[name]
    X = kink_free_batch(model, 6, seed=1)
    parts = model.term_grads(X)
    assert tuple(parts) == model.terms
    loss, total = reference.loss_and_grads(model.params, X, model._current_objective())
    for key, g in total.items():
        np.testing.assert_allclose(sum(p[key] for p in parts.values()), g, rtol=1e-12, atol=1e-15)
    assert loss == model.loss(X)  # the same values, whichever path computes them


def test_each_term_moves_only_what_it_depends_on():
    X = kink_free_batch(classic("sigmoid-kl-decay"), 5)
    kl = classic("sigmoid-kl-decay").term_grads(X)
    assert not kl["sparsity"]["W2"].any() and not kl["sparsity"]["b2"].any()  # P(H) only
    assert not kl["decay"]["b1"].any() and not kl["decay"]["b2"].any()
    assert kl["recon"]["W1"].any() and kl["sparsity"]["W1"].any()
    l1_decoder = classic("l1-decoder-decay").term_grads(X)
    assert l1_decoder["sparsity"]["W2"].any()  # P weighs H by the decoder's norms
    prebias = variant("l1-prebias")
    parts = prebias.term_grads(kink_free_batch(prebias, 5))
    # Xe = X - b2: the penalty reaches b2 through the encoder, db2 = -W1 db1.
    sparsity = parts["sparsity"]
    np.testing.assert_allclose(sparsity["b2"], -prebias.params["W1"] @ sparsity["b1"], rtol=1e-12)
    assert not parts["decay"]["W1"].any()  # no weight decay in this variant


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_numba_model_takes_each_terms_gradient_from_the_reference(dtype):
    for _, fast in every_model("numba", dtype):
        ref = fast.copy(backend="numpy")
        X = np.random.default_rng(3).random((8, fast.n_in)).astype(dtype)
        fast_parts, ref_parts = fast.term_grads(X), ref.term_grads(X)
        for term, grads in ref_parts.items():
            for key, g in grads.items():
                assert fast_parts[term][key].dtype == g.dtype == dtype
                np.testing.assert_array_equal(fast_parts[term][key], g)
        _, some = fast.loss_and_grads(X, terms=("recon", "decay"))
        for key, g in some.items():
            np.testing.assert_array_equal(g, ref_parts["recon"][key] + ref_parts["decay"][key])


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_loss_and_grads_and_forward_backward_return_named_results(backend):
    model = variant("topk-auxk", backend)
    X = kink_free_batch(model, 5)
    result = model.loss_and_grads(X)
    assert isinstance(result, LossAndGrads) and len(result) == 2
    assert set(result.loss) == {"recon", "sparsity", "decay", "aux", "total"}
    assert set(result.grads) == set(model.params)
    step = model.forward_backward(X)
    assert isinstance(step, ForwardBackward) and step.cache.H.shape == (5, model.n_hidden)
    for key in result.grads:
        np.testing.assert_array_equal(step.grads[key], result.grads[key])
    objective = model._current_objective()
    assert isinstance(reference.loss_and_grads(model.params, X, objective), LossAndGrads)
    assert isinstance(model._engine.forward_backward(model.params, X, objective), ForwardBackward)
    assert model.loss_and_grads(X, terms=()).grads["W1"].shape == model.params["W1"].shape
    assert not model.loss_and_grads(X, terms=()).grads["W1"].any()
