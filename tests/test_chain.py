"""The dZ1 behind a student's dW1, read back through X^T's left inverse (``chain``)."""

import numpy as np

from npsae.exercises.chain import hidden_error


def _case(m=6, n_in=8, n_hidden=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.random((m, n_in))
    W1, b1 = rng.normal(0, 0.5, (n_in, n_hidden)), rng.normal(0, 0.1, n_hidden)
    Z1 = X @ W1 + b1
    H = 1 / (1 + np.exp(-Z1))
    dH = rng.normal(size=(m, n_hidden))
    return {"X": X, "W1": W1, "b1": b1}, Z1, H, dH


def _grads(X, dZ1, extra=0.0):
    return {"W1": X.T @ dZ1 + extra, "b1": dZ1.sum(axis=0)}


def test_a_wrong_local_derivative_is_named():
    inputs, Z1, H, dH = _case()
    want = _grads(inputs["X"], dH * H * (1 - H))
    got = _grads(inputs["X"], dH * Z1 * (1 - Z1))
    found = hidden_error(inputs, "sigmoid", got, want, 1e-8)
    assert "it is dH times Z1 (1 - Z1): Z1 where H belongs" in found.message
    assert found.exact  # one exact wrong derivative outweighs a description of dW1


def test_a_per_unit_term_of_dh_is_named():
    inputs, Z1, H, dH = _case()
    want = _grads(inputs["X"], dH * H * (1 - H))
    got = _grads(inputs["X"], (dH + np.array([0.3, -0.1, 0.2])) * H * (1 - H))
    found = hidden_error(inputs, "sigmoid", got, want, 1e-8)
    assert "the dH behind it: off by the same vector in every row" in found.message
    assert not found.exact


def test_an_error_outside_the_chain_and_a_db1_of_another_dz1_are_named():
    inputs, Z1, H, dH = _case()
    inputs["lam"] = np.float64(0.1)
    dZ1 = dH * H * (1 - H)
    want = _grads(inputs["X"], dZ1, 0.1 * inputs["W1"])
    got = _grads(inputs["X"], dZ1, 0.05 * inputs["W1"])
    assert "no dZ1 gives your dW1" in hidden_error(inputs, "sigmoid", got, want, 1e-8).message
    got = {"W1": inputs["X"].T @ dH + 0.1 * inputs["W1"], "b1": dZ1.sum(axis=0)}
    message = hidden_error(inputs, "sigmoid", got, want, 1e-8).message
    assert "1 everywhere: the sigmoid's derivative left out" in message
    assert "db1 is not the sum over the samples of that same dZ1" in message


def test_nothing_is_read_back_from_more_samples_than_inputs():
    inputs, Z1, H, dH = _case(m=10, n_in=8)
    want = _grads(inputs["X"], dH * H * (1 - H))
    got = _grads(inputs["X"], dH * Z1 * (1 - Z1))
    assert hidden_error(inputs, "sigmoid", got, want, 1e-8) is None


def test_relu_units_with_the_sigmoids_derivative_are_named():
    inputs, Z1, H, dH = _case()
    right = (Z1 > 0).astype(float)
    sig = 1 / (1 + np.exp(-Z1))
    want = _grads(inputs["X"], dH * right)
    got = _grads(inputs["X"], dH * sig * (1 - sig))
    message = hidden_error(inputs, "relu", got, want, 1e-8).message
    assert "the sigmoid's derivative sigma(Z1) (1 - sigma(Z1)), for ReLU units" in message


def test_nan_gradients_are_not_read_back():
    from npsae import exercises
    from npsae.exercises import grading
    from npsae.exercises.scoring import plan

    spec = exercises.get("backward").spec
    case = plan(exercises.get("backward"), 0)[0].case
    expected = grading.expected_outputs(spec, case)
    got = {k: np.asarray(v, np.float32) for k, v in expected.items()}
    got["W1"] = np.where(np.arange(got["W1"].size).reshape(got["W1"].shape) % 2, np.nan, 1.0)
    assert grading._hidden_note(spec, got, expected, case) is None
