"""The Numba kernels compute the same numbers as the NumPy reference, stage by stage and whole."""

import itertools

import numpy as np
import pytest

from npsae import kernels, reference
from npsae.model import SparseAutoencoder

# Agreement required between the backends (relative to the largest entry of each array).
RTOL = {np.float64: 1e-12, np.float32: 1e-5}
DTYPES = (np.float64, np.float32)


def rel_diff(a, b) -> float:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    scale = max(np.max(np.abs(a)), np.max(np.abs(b)), 1e-300)
    return float(np.max(np.abs(a - b)) / scale)


def random_batch(rng, m, n, dtype):
    return rng.random((m, n)).astype(dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("hidden", ["sigmoid", "relu"])
def test_hidden_activation_stage(dtype, hidden):
    rng = np.random.default_rng(1)
    Z1 = rng.normal(size=(33, 17)).astype(dtype)
    b1 = rng.normal(size=17).astype(dtype)
    H_ref, s_ref = reference.hidden_activation(Z1, b1, hidden)
    H, s = kernels.hidden_activation(Z1.copy(), b1, hidden)
    assert H.dtype == H_ref.dtype == dtype
    assert rel_diff(H, H_ref) <= RTOL[dtype]
    assert rel_diff(s, s_ref) <= RTOL[dtype]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    ("output", "recon"), list(itertools.product(["sigmoid", "linear"], ["mse", "sse"]))
)
@pytest.mark.parametrize("weight", [1.0, 0.5, 0.0])
def test_output_layer_stage(dtype, output, recon, weight):
    rng = np.random.default_rng(2)
    Z2 = rng.normal(size=(29, 23)).astype(dtype)
    b2 = rng.normal(size=23).astype(dtype)
    X = random_batch(rng, 29, 23, dtype)
    # The stage's equations, from the reference's (see reference.recon_grads).
    X_hat = reference.ACTIVATIONS[output](Z2 + b2)
    L_ref = reference.RECON_LOSSES[recon](X_hat, X)
    dZ_ref = weight * reference.RECON_GRADS[recon](X_hat, X)
    dZ_ref *= reference.ACTIVATION_GRADS[output](X_hat)
    db_ref = dZ_ref.sum(axis=0)
    L, dZ, db = kernels.output_layer(Z2.copy(), b2, X, output, recon, weight)
    assert abs(L - L_ref) <= RTOL[dtype] * abs(L_ref)
    assert dZ.dtype == db.dtype == dtype
    if weight:
        assert rel_diff(dZ, dZ_ref) <= RTOL[dtype]
        assert rel_diff(db, db_ref) <= RTOL[dtype]
    else:
        assert not dZ.any() and not db.any()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("hidden", ["sigmoid", "relu"])
def test_hidden_backward_stage(dtype, hidden):
    rng = np.random.default_rng(3)
    dH = rng.normal(size=(31, 11)).astype(dtype)
    H = reference.ACTIVATIONS[hidden](rng.normal(size=(31, 11))).astype(dtype)
    c = rng.normal(size=11)
    # The recon and sparsity parts, which the reference computes one by one, summed.
    f_prime = reference.ACTIVATION_GRADS[hidden](H)
    dZ_ref = dH * f_prime + c * f_prime
    db_ref = dZ_ref.sum(axis=0)
    dZ, db = kernels.hidden_backward(dH.copy(), H, c, hidden)
    assert rel_diff(dZ, dZ_ref) <= RTOL[dtype]
    assert rel_diff(db, db_ref) <= RTOL[dtype]


def test_stages_overwrite_their_first_argument_and_keep_the_rest():
    """The kernels' documented in-place contract: Z1 -> H, Z2 -> dZ2, dH -> dZ1."""
    rng = np.random.default_rng(4)
    Z1 = rng.normal(size=(5, 3))
    b1 = rng.normal(size=3)
    b1_before = b1.copy()
    H, _ = kernels.hidden_activation(Z1, b1, "sigmoid")
    assert H is Z1 and np.array_equal(b1, b1_before)


CONFIGS = [
    dict(hidden=h, output=o, recon=r, sparsity=s, weight_decay=wd)
    for h, o, r, s, wd in itertools.product(
        ["sigmoid", "relu"], ["sigmoid", "linear"], ["mse", "sse"], ["kl", "l1", None], [0.0, 1e-3]
    )
]


def make_pair(dtype, n_in=20, n_hidden=9, seed=0, **config):
    ref = SparseAutoencoder(n_in, n_hidden, dtype=dtype, backend="numpy", seed=seed, **config)
    return ref, ref.copy(backend="numba")


def assert_same_loss_and_grads(ref, fast, X, rtol):
    loss_ref, grads_ref = ref.loss_and_grads(X)
    loss, grads = fast.loss_and_grads(X)
    for term in loss_ref:
        assert loss[term] == pytest.approx(loss_ref[term], rel=rtol, abs=1e-300), term
    for name in grads_ref:
        assert grads[name].dtype == grads_ref[name].dtype
        assert rel_diff(grads[name], grads_ref[name]) <= rtol, name


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: "-".join(str(v) for v in c.values()))
def test_backends_agree_on_random_batches(dtype, config):
    ref, fast = make_pair(dtype, beta=0.3, rho=0.1, **config)
    X = random_batch(np.random.default_rng(5), 40, 20, dtype)
    assert_same_loss_and_grads(ref, fast, X, RTOL[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
def test_backends_agree_on_mnist(mnist_root, dtype):
    from npsae.datasets import load_mnist

    images, _ = load_mnist("train", root=mnist_root, download=False)
    ref, fast = make_pair(dtype, n_in=784, n_hidden=64, hidden="relu", sparsity="kl", seed=3)
    X = ref.as_input(images[:256])
    assert_same_loss_and_grads(ref, fast, X, RTOL[dtype])
    # Inference paths too
    assert rel_diff(fast.encode(X), ref.encode(X)) <= RTOL[dtype]
    assert rel_diff(fast.reconstruct(X), ref.reconstruct(X)) <= RTOL[dtype]
    for term, value in ref.loss(X).items():
        assert fast.loss(X)[term] == pytest.approx(value, rel=RTOL[dtype], abs=1e-300)


def test_numba_backend_reuses_buffers_between_batches_of_one_size():
    _, fast = make_pair(np.float32)
    X = random_batch(np.random.default_rng(6), 16, 20, np.float32)
    _, _, cache1 = fast.forward_backward(X)
    H1 = cache1.H
    _, _, cache2 = fast.forward_backward(X)
    assert cache2.H is H1  # no new allocation for the hidden layer
    _, _, cache3 = fast.forward_backward(X[:7])  # a last, smaller batch gets its own buffer
    assert cache3.H.shape == (7, 9)


def test_gradients_are_fresh_arrays_not_buffers():
    _, fast = make_pair(np.float32)
    X = random_batch(np.random.default_rng(7), 16, 20, np.float32)
    _, g1 = fast.loss_and_grads(X)
    kept = {k: v.copy() for k, v in g1.items()}
    fast.loss_and_grads(X[::-1] * 0.5)
    for k in kept:
        assert np.array_equal(g1[k], kept[k])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "config",
    [
        dict(hidden="relu", sparsity="topk", k=3),
        dict(hidden="relu", sparsity="l1-decoder"),
        dict(hidden="sigmoid", sparsity="l1-decoder", weight_decay=1e-3),
    ],
    ids=["topk", "l1-decoder-relu", "l1-decoder-sigmoid"],
)
def test_backends_agree_on_the_modern_variants(dtype, config):
    ref, fast = make_pair(dtype, **config)
    ref.params["b1"][:] = 0.2  # most ReLU units on, so TopK has a real choice to make
    fast.params["b1"][:] = 0.2
    X = random_batch(np.random.default_rng(8), 40, 20, dtype)
    assert_same_loss_and_grads(ref, fast, X, RTOL[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
def test_gather_pixels_is_bit_for_bit_as_float_of_the_picked_rows(dtype):
    from npsae.datasets import as_float

    pixels = np.arange(256 * 3, dtype=np.uint8).reshape(-1, 16)  # every byte value, twice over
    index = np.random.default_rng(4).permutation(len(pixels))[:37]
    out = np.full((37, 16), np.nan, dtype)
    assert kernels.gather_pixels(pixels, index, out) is out
    assert np.array_equal(out, as_float(pixels[index], dtype))


@pytest.mark.parametrize("dtype", DTYPES)
def test_add_weight_decay_grad_twins(dtype):
    from npsae import penalties

    rng = np.random.default_rng(5)
    W, grad = rng.normal(size=(2, 19, 7)).astype(dtype)
    ref, fast = grad.copy(), grad.copy()
    sq_ref = penalties.add_weight_decay_grad(ref, W, 3e-3)
    sq_fast = kernels.add_weight_decay_grad(fast, W, 3e-3)
    assert abs(sq_fast - sq_ref) <= RTOL[dtype] * sq_ref
    assert abs(sq_ref - np.sum(W.astype(np.float64) ** 2)) <= RTOL[dtype] * sq_ref
    assert rel_diff(fast, ref) <= RTOL[dtype]
    assert rel_diff(fast - grad, penalties.weight_decay_grad(W, 3e-3)) <= 10 * RTOL[dtype]


@pytest.mark.parametrize("dtype", DTYPES)
def test_add_fire_counts_adds_metrics_fire_counts(dtype):
    from npsae import metrics

    rng = np.random.default_rng(6)
    # 0.1 is not a float32: values at its float32 rounding must not count, as in NumPy.
    H = rng.choice([0.0, 0.1, 0.05, 0.7], size=(300, 11)).astype(dtype)
    counts = np.arange(11, dtype=np.int64)
    kernels.add_fire_counts(H, 0.1, counts)
    assert np.array_equal(counts - np.arange(11), metrics.fire_counts(H, 0.1))
    assert np.array_equal(metrics.fire_counts(H, 0.1), (H == dtype(0.7)).sum(axis=0))


@pytest.mark.parametrize("dtype", DTYPES)
def test_batch_moments_twins(dtype):
    from npsae import metrics

    rng = np.random.default_rng(7)
    X = (rng.random((70, 13)) + 1e3).astype(dtype)  # a large mean: the two-pass M2 matters
    X_hat = (X + rng.normal(scale=0.1, size=X.shape)).astype(dtype)
    fast, ref = kernels.batch_moments(X, X_hat), metrics.batch_moments_reference(X, X_hat)
    for a, b in zip(fast, ref, strict=True):
        assert rel_diff(a, b) <= 1e-12  # both sum float64 values; only the order differs
    assert (
        rel_diff(ref[2], ((X.astype(np.float64) - X.mean(axis=0, dtype=np.float64)) ** 2).sum(0))
        <= 1e-12
    )


def test_kl_terms_twins_the_penalty_clipped_units_included():
    from npsae.penalties import make_sparsity

    sparsity = make_sparsity({"sparsity": "kl", "rho": 0.05, "beta": 0.3})
    m = 40
    # Means inside (0, 1), and at or beyond its ends, where the clip makes the gradient 0.
    h_sum = np.concatenate([np.random.default_rng(8).random(20) * m, [0.0, m, 1.5 * m, -1.0]])
    W2 = np.ones((h_sum.size, 3))
    value, c = kernels.kl_terms(sparsity, h_sum, m)
    assert value == pytest.approx(sparsity.value(h_sum, m, W2), rel=1e-12)
    expected = sparsity.hidden_grad(h_sum, m, W2)
    assert rel_diff(c, expected) <= 1e-12
    assert np.array_equal(c == 0, expected == 0) and np.all(c[-4:] == 0)
