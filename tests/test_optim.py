"""Adam and SGD: steps worked out by hand, convergence, kernel == reference, state round trip."""

import math

import numpy as np
import pytest

from npsae._fileio import load_npz, save_npz
from npsae.optim import SGD, Adam, adam_step, from_config, sgd_step


def test_three_adam_steps_match_the_arithmetic_done_by_hand():
    lr, b1, b2, eps = 0.1, 0.9, 0.999, 1e-7
    grads = [2.0, -1.0, 0.5]  # one scalar parameter, three steps
    # Step 1: m = 0.1 * 2 = 0.2, v = 0.001 * 4 = 0.004;
    #   m^ = 0.2 / (1 - 0.9) = 2, v^ = 0.004 / (1 - 0.999) = 4;  p = 1 - 0.1 * 2 / (2 + eps)
    m1, v1 = 0.1 * 2.0, 0.001 * 4.0
    p1 = 1.0 - lr * (m1 / 0.1) / (math.sqrt(v1 / 0.001) + eps)
    # Step 2: m = 0.9 * 0.2 + 0.1 * (-1) = 0.08, v = 0.999 * 0.004 + 0.001 * 1 = 0.004996;
    #   bias corrections 1 - 0.9^2 = 0.19 and 1 - 0.999^2 = 0.001999
    m2, v2 = 0.9 * m1 + 0.1 * -1.0, 0.999 * v1 + 0.001 * 1.0
    p2 = p1 - lr * (m2 / 0.19) / (math.sqrt(v2 / 0.001999) + eps)
    # Step 3: m = 0.9 * 0.08 + 0.1 * 0.5 = 0.122, v = 0.999 * 0.004996 + 0.001 * 0.25;
    #   bias corrections 1 - 0.9^3 = 0.271 and 1 - 0.999^3 = 0.002997001
    m3, v3 = 0.9 * m2 + 0.1 * 0.5, 0.999 * v2 + 0.001 * 0.25
    p3 = p2 - lr * (m3 / 0.271) / (math.sqrt(v3 / 0.002997001) + eps)
    assert p1 == pytest.approx(0.9, abs=1e-7)  # the first step is lr * sign(g)
    assert (m2, v2, m3) == pytest.approx((0.08, 0.004996, 0.122))

    expected = [(p1, m1, v1), (p2, m2, v2), (p3, m3, v3)]
    p, m, v = np.array([1.0]), np.zeros(1), np.zeros(1)
    opt_p = np.array([1.0])
    opt = Adam(lr=lr, beta1=b1, beta2=b2, eps=eps)
    for t, (g, want) in enumerate(zip(grads, expected, strict=True), start=1):
        p, m, v = adam_step(p, np.array([g]), m, v, t, lr, b1, b2, eps)
        np.testing.assert_allclose(np.concatenate([p, m, v]), want, rtol=1e-12)
        opt.step({"p": opt_p}, {"p": np.array([g])})
        np.testing.assert_allclose(opt_p, want[0], rtol=1e-12)
    assert opt.t == 3


def test_sgd_steps_by_hand_with_and_without_momentum():
    lr, grads = 0.5, [2.0, -1.0, 4.0]
    # Without momentum: p = 3 - 0.5 * 2 = 2, then 2 + 0.5 = 2.5, then 2.5 - 2 = 0.5
    plain = SGD(lr=lr)
    p = np.array([3.0])
    for g, want in zip(grads, [2.0, 2.5, 0.5], strict=True):
        plain.step({"p": p}, {"p": np.array([g])})
        assert p[0] == want
    # Momentum 0.9: velocity -1, then 0.9 * -1 + 0.5 = -0.4, then 0.9 * -0.4 - 2 = -2.36;
    # p = 3 - 1 = 2, then 2 - 0.4 = 1.6, then 1.6 - 2.36 = -0.76
    heavy = SGD(lr=lr, momentum=0.9)
    p = np.array([3.0])
    velocity = np.zeros(1)
    q = np.array([3.0])
    for g, want in zip(grads, [2.0, 1.6, -0.76], strict=True):
        heavy.step({"p": p}, {"p": np.array([g])})
        q, velocity = sgd_step(q, np.array([g]), velocity, lr, 0.9)
        assert p[0] == pytest.approx(want, abs=1e-12) and q[0] == pytest.approx(want, abs=1e-12)
    assert velocity[0] == pytest.approx(-2.36)


@pytest.mark.parametrize(
    "opt",
    [Adam(lr=0.05), SGD(lr=0.1), SGD(lr=0.05, momentum=0.9)],
    ids=["adam", "sgd", "sgd-momentum"],
)
def test_optimisers_converge_on_a_quadratic(opt):
    # f(p) = 1/2 sum_i a_i (p_i - c_i)^2, gradient a (p - c), minimum at c; curvatures differ
    a = np.array([[1.0, 4.0], [0.5, 2.0]])
    c = np.array([[1.0, -2.0], [3.0, 0.5]])
    p = np.zeros((2, 2))
    for _ in range(2000):
        opt.step({"W": p}, {"W": a * (p - c)})
    np.testing.assert_allclose(p, c, atol=1e-3)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_kernels_equal_the_numpy_reference_bit_for_bit(dtype):
    rng = np.random.default_rng(1)
    shapes = {"W1": (13, 5), "b1": (5,)}
    params = {k: rng.standard_normal(s).astype(dtype) for k, s in shapes.items()}
    adam, sgd = Adam(lr=0.01), SGD(lr=0.03, momentum=0.8)
    p_adam = {k: v.copy() for k, v in params.items()}
    p_sgd = {k: v.copy() for k, v in params.items()}
    ref = {k: (v.copy(), np.zeros_like(v), np.zeros_like(v), v.copy(), np.zeros_like(v))
           for k, v in params.items()}  # fmt: skip
    for t in range(1, 6):
        grads = {k: rng.standard_normal(s).astype(dtype) for k, s in shapes.items()}
        adam.step(p_adam, grads)
        sgd.step(p_sgd, grads)
        for k, (p, m, v, q, vel) in ref.items():
            p, m, v = adam_step(p, grads[k], m, v, t, 0.01, 0.9, 0.999, 1e-7)
            q, vel = sgd_step(q, grads[k], vel, 0.03, 0.8)
            ref[k] = (p, m, v, q, vel)
            assert p.dtype == m.dtype == dtype  # the reference keeps the parameter's dtype
            assert np.array_equal(p_adam[k], p)
            assert np.array_equal(adam.state["m"][k], m) and np.array_equal(adam.state["v"][k], v)
            assert np.array_equal(p_sgd[k], q)
            assert np.array_equal(sgd.state["velocity"][k], vel)
            assert adam.state["m"][k].dtype == dtype


def test_step_updates_the_arrays_in_place_and_leaves_the_reference_inputs_alone():
    W = np.ones((3, 2), np.float32)
    same = W
    Adam().step({"W": W}, {"W": np.ones((3, 2), np.float32)})
    assert same is W and W[0, 0] < 1
    p, g, m, v = (np.ones(2) for _ in range(4))
    adam_step(p, g, m, v, 1, 0.1, 0.9, 0.999, 1e-7)
    sgd_step(p, g, v, 0.1, 0.9)
    assert all((a == 1).all() for a in (p, g, m, v))


def test_a_non_contiguous_parameter_is_refused():
    W = np.ones((4, 4))[:, ::2]
    with pytest.raises(ValueError, match="C-contiguous"):
        SGD().step({"W": W}, {"W": np.ones((4, 2))})


@pytest.mark.parametrize("make", [lambda: Adam(lr=0.02), lambda: SGD(lr=0.1, momentum=0.5)])
def test_state_round_trips_through_a_file(tmp_path, make):
    rng = np.random.default_rng(2)
    params = {"W1": rng.standard_normal((4, 3)).astype(np.float32), "b1": np.zeros(3, np.float32)}
    grads = [{k: rng.standard_normal(v.shape).astype(v.dtype) for k, v in params.items()}
             for _ in range(5)]  # fmt: skip
    a = make()
    for g in grads[:3]:
        a.step(params, g)
    path = tmp_path / "opt.npz"
    save_npz(path, {"state/optim/" + k: v for k, v in a.state_dict().items()})
    loaded = {k[len("state/optim/") :]: v for k, v in load_npz(path).items()}
    b = from_config(a.config)
    b.load_state_dict(loaded, params=params)
    assert b.t == 3 and b.config == a.config
    params_b = {k: v.copy() for k, v in params.items()}
    for g in grads[3:]:
        a.step(params, g)
        b.step(params_b, g)
    assert all(np.array_equal(params[k], params_b[k]) for k in params)
    assert all(np.array_equal(v, b.state_dict()[k]) for k, v in a.state_dict().items())


def test_state_dict_names_are_flat_and_copies():
    opt = Adam()
    W = np.zeros((2, 2), np.float32)
    opt.step({"W1": W}, {"W1": np.ones((2, 2), np.float32)})
    state = opt.state_dict()
    assert sorted(state) == ["m/W1", "t", "v/W1"] and int(state["t"]) == 1
    state["m/W1"][:] = 99
    assert opt.state["m"]["W1"][0, 0] != 99


def test_bad_states_and_hyper_parameters_are_refused():
    params = {"W1": np.zeros((2, 2), np.float32)}
    good = {"t": np.array(1), "m/W1": np.zeros((2, 2), np.float32),
            "v/W1": np.zeros((2, 2), np.float32)}  # fmt: skip
    with pytest.raises(ValueError, match="'m/W1' is float32 \\(3, 2\\)"):
        Adam().load_state_dict({**good, "m/W1": np.zeros((3, 2), np.float32)}, params)
    with pytest.raises(ValueError, match="'velocity/W1' is not one adam keeps"):
        Adam().load_state_dict({**good, "velocity/W1": np.zeros((2, 2))})
    with pytest.raises(ValueError, match="needs m, v for every parameter"):
        Adam().load_state_dict({"t": np.array(1), "m/W1": good["m/W1"]})
    with pytest.raises(ValueError, match="integer scalar 't'"):
        Adam().load_state_dict({"m/W1": good["m/W1"]})
    with pytest.raises(ValueError, match=r"lr=-1.0 must lie in \(0, inf\)"):
        Adam(lr=-1)
    with pytest.raises(ValueError, match=r"beta2=1.0 must lie in \[0, 1\)"):
        Adam(beta2=1.0)
    with pytest.raises(ValueError, match="momentum=nan"):
        SGD(momentum=float("nan"))
    with pytest.raises(ValueError, match="optimiser 'rmsprop' is not known"):
        from_config({"name": "rmsprop"})
    with pytest.raises(ValueError, match="does not fit adam"):
        from_config({"name": "adam", "momentum": 0.9})
