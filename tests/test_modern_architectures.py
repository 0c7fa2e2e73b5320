"""JumpReLU, BatchTopK, AuxK and the pre-encoder bias: maths, gradients, both backends, files."""

import argparse

import numpy as np
import pytest
from test_backends import DTYPES, RTOL, assert_same_loss_and_grads, rel_diff

from npsae import kernels, reference
from npsae.checkpoint import read_checkpoint
from npsae.cli import gradcheck as gradcheck_cli
from npsae.cli import train as train_cli
from npsae.gradcheck import gradient_check, kink_free_batch, threshold_closed_form
from npsae.model import SparseAutoencoder
from npsae.optim import Adam
from npsae.penalties import THRESHOLD_MOMENTUM, JumpReLUSparsity
from npsae.training import fit, resume

VARIANTS = {
    "jumprelu": dict(sparsity="jumprelu", beta=0.3, bandwidth=0.5),
    "batchtopk": dict(sparsity="batchtopk", k=2),
    "topk-auxk": dict(sparsity="topk", k=3, aux_k=2, aux_alpha=0.5),
    "batchtopk-auxk-prebias": dict(
        sparsity="batchtopk", k=2, aux_k=3, aux_alpha=0.5, pre_bias=True, output="linear"
    ),
    "jumprelu-prebias-decay": dict(
        sparsity="jumprelu", beta=0.3, bandwidth=0.5, pre_bias=True, output="linear",
        weight_decay=1e-2, recon="sse",
    ),
    "l1-prebias": dict(sparsity="l1", beta=0.3, pre_bias=True, output="linear"),
}  # fmt: skip


def variant(name, backend="numpy", dtype=np.float64, n_in=12, n_hidden=8, seed=1):
    """A small model of the variant, set up so that every part of it has work to do: most
    units on, thresholds inside the pre-activations' range, the last four units dead."""
    model = SparseAutoencoder(
        n_in, n_hidden, hidden="relu", dtype=dtype, backend=backend, seed=seed, **VARIANTS[name]
    )
    model.params["b1"][:] = 0.3
    model.params["b2"][:] = 0.1
    if "log_theta" in model.params:
        model.params["log_theta"][:] = np.log(0.6)
    if "since_fired" in model.buffers:
        model.buffers["since_fired"][n_hidden // 2 :] = model.config["dead_after"]
    return model


# --------------------------------------------------------------------------- the selections


def test_keep_batch_top_k_keeps_the_k_m_largest_of_the_batch_ties_by_position():
    H = np.array([[0.5, 0.9, 0.0], [2.0, 0.5, 0.5], [0.1, 0.0, 0.5]])
    # k = 1, m = 3: the 3 largest of all 9 entries are 2.0, 0.9 and one of the four 0.5s,
    # the first in flat order.
    got = reference.keep_batch_top_k(H, 1)
    assert np.count_nonzero(got) == 3
    np.testing.assert_array_equal(got, [[0.5, 0.9, 0.0], [2.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    H_fast, h_sum = kernels.hidden_activation(H.copy(), np.zeros(3), "relu", 1, batch=True)
    np.testing.assert_array_equal(H_fast, got)
    np.testing.assert_array_equal(h_sum, got.sum(axis=0))


@pytest.mark.parametrize("dtype", DTYPES)
def test_batch_top_k_stage_agrees_and_lets_samples_differ(dtype):
    rng = np.random.default_rng(0)
    Z1 = rng.normal(size=(40, 16)).astype(dtype)
    b1 = rng.normal(size=16).astype(dtype)
    H, s = reference.hidden_activation(Z1, b1, "relu", 3, batch=True)
    H_fast, s_fast = kernels.hidden_activation(Z1.copy(), b1, "relu", 3, batch=True)
    np.testing.assert_array_equal(H_fast, H)
    assert rel_diff(s_fast, s) <= RTOL[dtype]
    per_sample = np.count_nonzero(H, axis=1)
    assert per_sample.sum() == 3 * 40 and per_sample.min() < 3 < per_sample.max()
    # What is kept is exactly what exceeds the (k m + 1)-th largest activation.
    relu = np.maximum(Z1 + b1, 0)
    cut = np.sort(relu, axis=None)[-3 * 40 - 1]
    np.testing.assert_array_equal(H, np.where(relu > cut, relu, 0))


@pytest.mark.parametrize("dtype", DTYPES)
def test_jumprelu_is_z_times_a_step_and_the_stages_agree(dtype):
    rng = np.random.default_rng(1)
    Z1 = rng.normal(size=(30, 10)).astype(dtype)
    b1 = rng.normal(size=10).astype(dtype)
    theta = rng.uniform(0.1, 1.0, 10).astype(dtype)
    Z = Z1 + b1
    H, _ = reference.hidden_activation(Z1, b1, "relu", theta=theta)
    np.testing.assert_array_equal(H, Z * (Z > theta))
    window = np.empty((30, 10), bool)
    H_fast, h_sum = kernels.jumprelu_activation(Z1.copy(), b1, theta, 0.4, window)
    np.testing.assert_array_equal(H_fast, H)
    np.testing.assert_array_equal(window, reference.jumprelu_window(Z, theta, 0.4) == 1)
    assert window.any() and not window.all()
    H_inf, _ = kernels.hidden_activation(Z1.copy(), b1, "relu", theta=theta)
    np.testing.assert_array_equal(H_inf, H)


def test_l0_penalty_counts_the_units_above_their_thresholds():
    model = variant("jumprelu")
    X = kink_free_batch(model, 7, seed=3)
    Z = X @ model.params["W1"] + model.params["b1"]
    theta = np.exp(model.params["log_theta"])
    assert 0 < np.count_nonzero(Z > theta) < Z.size
    expected = 0.3 * np.count_nonzero(Z > theta) / 7
    assert model.loss(X)["sparsity"] == pytest.approx(expected, rel=1e-12)
    np.testing.assert_allclose(model.encode(X), Z * (Z > theta), rtol=1e-12)


# --------------------------------------------------------------------------- gradients


@pytest.mark.parametrize("backend", ["numpy", "numba"])
@pytest.mark.parametrize("name", VARIANTS)
def test_every_variant_passes_the_gradient_check(name, backend):
    model = variant(name, backend)
    X = kink_free_batch(model, 6, seed=2)
    result = gradient_check(model, X)
    assert result.passed, str(result)
    params = {row.param for row in result.rows}
    assert params == {"W1", "b1", "W2", "b2"} | ({"log_theta"} if "jumprelu" in name else set())
    if "auxk" in name:  # the dead units have work, and the gradient reaches them only
        assert result.row("aux", "W2").norm_error < 1e-6
        _, grads = model.loss_and_grads(X, terms=("aux",))
        dead = model.dead_units()
        assert np.abs(grads["W2"][dead]).sum() > 0 and not grads["W2"][~dead].any()
        assert not grads["W1"][:, ~dead].any()


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_threshold_pseudo_derivative_matches_its_closed_form(backend):
    model = variant("jumprelu", backend)
    X = kink_free_batch(model, 8, seed=4)
    for terms in (("recon",), ("sparsity",), ("recon", "sparsity")):
        _, grads = model.loss_and_grads(X, terms=terms)
        closed = threshold_closed_form(model, X, terms)
        assert np.count_nonzero(closed) >= 4  # most units have samples in their window
        np.testing.assert_allclose(grads["log_theta"], closed, rtol=1e-7)
    # The L0 part alone, by hand: d/dlog theta = -theta beta |w| / (m eps).
    theta = np.exp(model.params["log_theta"])
    Z = X @ model.params["W1"] + model.params["b1"]
    count = (np.abs(Z - theta) < 0.25).sum(axis=0)
    _, grads = model.loss_and_grads(X, terms=("sparsity",))
    np.testing.assert_allclose(grads["log_theta"], -theta * 0.3 * count / (8 * 0.5), rtol=1e-12)
    # The finite differences see none of it: the loss is flat in theta between jumps.
    assert not grads["W1"].any()


def test_checker_catches_a_wrong_threshold_pseudo_derivative(monkeypatch):
    model = variant("jumprelu")
    X = kink_free_batch(model, 6, seed=2)
    real = JumpReLUSparsity.threshold_grad
    monkeypatch.setattr(
        JumpReLUSparsity, "threshold_grad", lambda self, *a, **k: -real(self, *a, **k)
    )
    result = gradient_check(model, X)
    assert not result.passed
    assert not result.row("recon", "log_theta").passed
    assert result.row("recon", "W1").passed and "closed form" in str(result)


@pytest.mark.parametrize("output", ["sigmoid", "linear"])
def test_auxk_value_by_hand(output):
    model = variant("topk-auxk")
    model = SparseAutoencoder.from_config(model.config.replace(output=output))
    model.params["b1"][:] = 0.3
    model.buffers["since_fired"][4:] = model.config["dead_after"]
    X = kink_free_batch(model, 5, seed=6)
    p = model.params
    H = model.forward_backward(X)[2].H
    Z2 = H @ p["W2"] + p["b2"]
    Z_D = X @ p["W1"][:, 4:] + p["b1"][4:]  # pre-activations, no ReLU
    H_D = reference.keep_top_k(Z_D, 2)
    # The dead units add to the main code's Z2, before the output activation g.
    g = reference.ACTIVATIONS[output]
    expected = 0.5 * np.mean((g(Z2 + H_D @ p["W2"][4:]) - X) ** 2)
    assert model.loss(X)["aux"] == pytest.approx(expected, rel=1e-12)
    if output == "linear":  # Gao et al.'s form: e^ = H_D W2[D] models the residual e = X - X^
        e = X - Z2
        linear = 0.5 * np.mean((H_D @ p["W2"][4:] - e) ** 2)
        assert model.loss(X)["aux"] == pytest.approx(linear, rel=1e-12)
    else:  # not a linear model of X - sigmoid(Z2), which revives no unit (bench/ksparse.py)
        e = X - reference.sigmoid(Z2)
        linear = 0.5 * np.mean((H_D @ p["W2"][4:] - e) ** 2)
        assert model.loss(X)["aux"] != pytest.approx(linear, rel=1e-3)
    model.buffers["since_fired"][:] = 0  # nobody dead: no auxiliary loss
    assert model.loss(X)["aux"] == 0.0


def test_pre_bias_encodes_x_minus_b2():
    model = variant("l1-prebias")
    X = kink_free_batch(model, 5, seed=7)
    p = model.params
    H = np.maximum((X - p["b2"]) @ p["W1"] + p["b1"], 0)
    np.testing.assert_allclose(model.encode(X), H, rtol=1e-12)
    np.testing.assert_allclose(model.reconstruct(X), H @ p["W2"] + p["b2"], rtol=1e-12)


# --------------------------------------------------------------------------- backends


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", VARIANTS)
def test_backends_agree_on_the_new_architectures(name, dtype):
    ref = variant(name, "numpy", dtype, n_in=20, n_hidden=9)
    fast = ref.copy(backend="numba")
    X = np.random.default_rng(8).random((40, 20)).astype(dtype)
    assert_same_loss_and_grads(ref, fast, X, RTOL[dtype])
    assert rel_diff(fast.encode(X), ref.encode(X)) <= RTOL[dtype]
    for term, value in ref.loss(X).items():
        assert fast.loss(X)[term] == pytest.approx(value, rel=RTOL[dtype], abs=1e-300)


# --------------------------------------------------------------------------- training state


def test_batchtopk_learns_its_inference_threshold_from_the_smallest_kept_activations():
    model = SparseAutoencoder(10, 6, hidden="relu", sparsity="batchtopk", k=2, seed=0)
    X = np.random.default_rng(0).random((32, 10)).astype(np.float32)
    assert np.isnan(model.buffers["threshold"])
    # Before any training step there is no threshold: encode selects within the batch.
    np.testing.assert_array_equal(np.count_nonzero(model.encode(X)), 2 * 32)
    H = model.forward_backward(X)[2].H.copy()
    model.update_statistics(H)
    first = float(H[H > 0].min())
    assert model.buffers["threshold"] == first
    model.update_statistics(H * 2)
    expected = THRESHOLD_MOMENTUM * first + (1 - THRESHOLD_MOMENTUM) * 2 * first
    assert model.buffers["threshold"] == pytest.approx(expected, rel=1e-12)
    # At inference each sample is coded alone: relu(Z) above the threshold.
    relu = np.maximum(X @ model.params["W1"] + model.params["b1"], 0)
    theta = np.float32(model.buffers["threshold"])
    np.testing.assert_array_equal(model.encode(X), np.where(relu > theta, relu, 0))
    np.testing.assert_allclose(model.encode(X[:1]), model.encode(X)[:1], rtol=1e-6)


def test_trainer_counts_samples_since_each_unit_fired():
    model = SparseAutoencoder(
        10, 6, hidden="relu", sparsity="topk", k=1, aux_k=2, dead_after=64, seed=0
    )
    X = np.random.default_rng(1).random((64, 10)).astype(np.float32)
    H = np.zeros((16, 6), np.float32)
    H[3, 0] = 1.0
    model.update_statistics(H)
    np.testing.assert_array_equal(model.buffers["since_fired"], [0, 16, 16, 16, 16, 16])
    for _ in range(3):
        model.update_statistics(H)
    np.testing.assert_array_equal(model.dead_units(), [False] + [True] * 5)
    fit(model, X, 2, batch_size=16, verbose=0)
    assert model.buffers["since_fired"].max() <= 2 * 64 + 64


@pytest.mark.parametrize("backend", ["numba", "numpy"])
@pytest.mark.parametrize("name", ["batchtopk-auxk-prebias", "jumprelu", "topk-auxk-schedule"])
def test_resume_is_bit_exact_with_thresholds_and_dead_units(tmp_path, name, backend):
    X = np.random.default_rng(2).random((96, 12)).astype(np.float32)
    # Makhzani & Frey's schedule of k: from 6 units down to k=3 over 3 epochs, step by step.
    schedule = {"k_schedule": (6, 3)} if name == "topk-auxk-schedule" else {}

    def new():
        model = variant(name.replace("-schedule", ""), backend, np.float32)
        # Units die quickly enough to matter in a short run (the config is frozen: a new one).
        return SparseAutoencoder.from_config(model.config.replace(dead_after=32, **schedule))

    straight = new()
    fit(straight, X, 4, batch_size=16, optimizer=Adam(1e-2), run_dir=tmp_path / "a", verbose=0)
    fit(new(), X, 2, batch_size=16, optimizer=Adam(1e-2), run_dir=tmp_path / "b", verbose=0)
    resumed, _ = resume(tmp_path / "b", X, epochs=4, verbose=0)
    for k in straight.params:
        assert np.array_equal(resumed.params[k], straight.params[k]), k
    for k in straight.buffers:
        assert np.array_equal(resumed.buffers[k], straight.buffers[k]), k
    if "since_fired" in straight.buffers and not schedule:
        assert straight.dead_units().any()  # AuxK had dead units to work on
    if schedule:  # the resumed epochs 3 and 4 kept the scheduled k, then the target k
        l0 = read_checkpoint(tmp_path / "a").history["l0"]
        assert l0[0] > 4 and l0[-1] <= 3
        assert read_checkpoint(tmp_path / "b").model.config.k_schedule == (6, 3)


def test_new_parameters_and_buffers_survive_save_and_load(tmp_path):
    for name in ("jumprelu", "batchtopk-auxk-prebias"):
        model = variant(name, dtype=np.float32)
        model.buffers.get("threshold", np.zeros(()))[...] = 0.25
        model.save(tmp_path / "m.npz")
        loaded = SparseAutoencoder.load(tmp_path / "m.npz")
        assert loaded.config == model.config
        for k in model.params:
            assert np.array_equal(loaded.params[k], model.params[k])
        for k in model.buffers:
            assert np.array_equal(loaded.buffers[k], model.buffers[k])
    arrays = dict(np.load(tmp_path / "m.npz"))
    del arrays["buffer/since_fired"]
    with pytest.raises(ValueError, match="buffer 'since_fired' is missing"):
        SparseAutoencoder.from_arrays(arrays, source="m.npz")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(sparsity="batchtopk"), "give k exactly when sparsity='topk' or 'batchtopk'"),
        (dict(sparsity="jumprelu", k=2, hidden="relu"), "give k exactly"),
        (dict(sparsity="jumprelu"), "use hidden='relu'"),
        (dict(sparsity="jumprelu", hidden="relu", bandwidth=0.0), "bandwidth=0.0 must be"),
        (dict(sparsity="l1", hidden="relu", aux_k=2), "aux_k \\(AuxK\\) needs sparsity='topk'"),
        (dict(sparsity="topk", k=1, hidden="relu", aux_k=9), "aux_k=9 must be an integer"),
        (dict(sparsity="topk", k=1, hidden="relu", aux_k=2, aux_alpha=-1), "aux_alpha=-1"),
        (dict(dead_after=0), "dead_after=0 must be a positive number"),
        (dict(pre_bias=True), "use output='linear'"),
    ],
)
def test_invalid_settings(kwargs, match):
    with pytest.raises(ValueError, match=match):
        SparseAutoencoder(8, 4, **kwargs)


# --------------------------------------------------------------------------- command line


def run_cli(module, argv, capsys):
    parser = argparse.ArgumentParser(prog="npsae")
    module.register(parser.add_subparsers())
    args = parser.parse_args([module.__name__.rsplit(".", 1)[1], *map(str, argv)])
    return args.func(args), capsys.readouterr()


@pytest.mark.parametrize(
    "argv",
    [
        ["--sparsity", "jumprelu"],
        ["--sparsity", "batchtopk", "--k", 2, "--aux-k", 2, "--aux-alpha", 0.5],
        ["--sparsity", "topk", "--k", 2, "--aux-k", 2, "--pre-bias", "--output", "linear"],
    ],
    ids=["jumprelu", "batchtopk-auxk", "topk-auxk-prebias"],
)
def test_gradcheck_command_checks_the_new_architectures(argv, capsys):
    status, out = run_cli(gradcheck_cli, ["--hidden", "relu", "--backend", "numpy", *argv], capsys)
    assert status == 0 and "PASSED" in out.out
    if "jumprelu" in argv:
        assert "log_theta" in out.out and "(closed form)" in out.out
    if "--aux-k" in argv:
        assert "\naux " in out.out


def test_train_command_refuses_a_bad_architecture_before_any_work(capsys):
    status, out = run_cli(train_cli, ["--dataset", "bars", "--aux-k", 3], capsys)
    assert status == 2 and "aux_k (AuxK) needs sparsity='topk' or 'batchtopk'" in out.err
    status, out = run_cli(train_cli, ["--dataset", "bars", "--pre-bias"], capsys)
    assert status == 2 and "use output='linear'" in out.err


def test_train_command_runs_batchtopk_with_auxk_on_bars(tmp_path, capsys):
    argv = ["--preset", "bars-batchtopk", "--epochs", 2, "--limit", 500, "--out", tmp_path / "r"]
    status, out = run_cli(train_cli, [*argv, "--quiet"], capsys)
    assert status == 0, out.err
    loaded = SparseAutoencoder.load(tmp_path / "r" / "model.npz")
    assert loaded.config["sparsity"] == "batchtopk" and loaded.config["aux_k"] == 8
    assert np.isfinite(loaded.buffers["threshold"])
    assert "aux" in (tmp_path / "r" / "history.csv").read_text().splitlines()[0].split(",")
