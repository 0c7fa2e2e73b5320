"""Makhzani & Frey's k-sparse autoencoder (issue 30): the schedule of k, encoding with alpha k
units, Gao et al.'s tied initialisation, the preset, the probe's protocol, and dead-unit advice
that names the cause fitting the model."""

import json
import warnings

import numpy as np
import pytest
from test_backends import RTOL, rel_diff

from npsae import presets, reference
from npsae.cli import main
from npsae.config import ConfigError, ModelConfig
from npsae.datasets import bars_split, make_bars
from npsae.history import diagnose
from npsae.model import SparseAutoencoder
from npsae.optim import Adam
from npsae.penalties import scheduled_k
from npsae.probe import encoding, protocol
from npsae.training import fit

TOPK = dict(hidden="relu", sparsity="topk")


# --------------------------------------------------------------------------- the schedule of k


def test_scheduled_k_falls_linearly_from_start_to_k_then_stays():
    assert [scheduled_k(25, (100, 5), t) for t in (0, 1, 2.5, 5, 50)] == [100, 85, 63, 25, 25]
    ks = [scheduled_k(3, (9, 2), t / 10) for t in range(40)]
    assert ks[0] == 9 and ks[-1] == 3 and all(a >= b for a, b in zip(ks, ks[1:], strict=False))
    assert scheduled_k(7, None, 0.0) == 7


def test_training_keeps_the_scheduled_number_of_units_step_by_step():
    model = SparseAutoencoder(16, 12, k=2, k_schedule=(10, 2), seed=0, **TOPK)
    model.params["b1"][:] = 5.0  # every ReLU positive: the code keeps exactly k units
    X = np.random.default_rng(0).random((8, 16)).astype(np.float32)
    for progress, k in ((0.0, 10), (1.0, 6), (1.5, 4), (2.0, 2), (9.0, 2)):
        H = model.forward_backward(X, progress=progress).cache.H
        assert (np.count_nonzero(H, axis=1) == k).all(), progress
    # Without progress (a plain call), and at inference, the target k.
    assert (np.count_nonzero(model.forward_backward(X).cache.H, axis=1) == 2).all()
    assert (np.count_nonzero(model.encode(X), axis=1) == 2).all()


def test_k_schedule_and_encode_k_are_checked_and_saved(tmp_path):
    config = ModelConfig(784, 100, k=5, k_schedule="50:3", encode_k=15, **TOPK)
    assert config.k_schedule == (50, 3) and config.to_dict()["k_schedule"] == [50, 3]
    assert config == json.loads(json.dumps(config.to_dict()))
    assert ModelConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config
    model = SparseAutoencoder.from_config(config)
    model.save(tmp_path / "m.npz")
    assert SparseAutoencoder.load(tmp_path / "m.npz").config == config
    bad = [
        (dict(k_schedule=(3, 3)), "its start 3 must lie between k=5 and n_hidden=100"),
        (dict(k_schedule=(500, 3)), "its start 500 must lie between"),
        (dict(k_schedule="50"), "must be \\(START, EPOCHS\\)"),
        (dict(k_schedule=(50, 0)), "two positive integers"),
        (dict(encode_k=0), "encode_k=0 must be an integer between 1 and n_hidden"),
    ]
    for kwargs, match in bad:
        with pytest.raises(ConfigError, match=match):
            ModelConfig(784, 100, k=5, **TOPK, **kwargs)
    with pytest.raises(ConfigError, match="k_schedule needs sparsity='topk' or 'batchtopk'"):
        ModelConfig(784, 100, hidden="relu", sparsity="l1", k_schedule=(50, 2))
    with pytest.raises(ConfigError, match="encode_k .* needs sparsity='topk'"):
        ModelConfig(784, 100, hidden="relu", sparsity="batchtopk", k=5, encode_k=10)


def test_train_command_takes_k_schedule_and_encode_k(tmp_path, capsys):
    argv = ["train", "--dataset", "bars", "--limit", "200", "--epochs", "2", "--quiet"]
    argv += ["--hidden", "relu", "--output", "linear", "--sparsity", "topk", "--k", "2"]
    assert main([*argv, "--k-schedule", "8:1", "--encode-k", "6", "--out", str(tmp_path)]) == 0
    config = json.loads((tmp_path / "config.json").read_text())["model"]
    assert config["k_schedule"] == [8, 1] and config["encode_k"] == 6
    with pytest.raises(SystemExit) as exit_:
        main([*argv, "--k-schedule", "8"])
    assert exit_.value.code == 2
    assert "--k-schedule: '8' is not START:EPOCHS" in capsys.readouterr().err
    assert main([*argv, "--k-schedule", "1:3"]) == 2
    assert "--k-schedule 1:3: must start between k=2 and n_hidden" in capsys.readouterr().err


# --------------------------------------------------------------------------- alpha k at inference


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_encode_keeps_encode_k_units_and_training_keeps_k(dtype):
    ref = SparseAutoencoder(16, 12, k=2, encode_k=6, seed=0, dtype=dtype, backend="numpy", **TOPK)
    ref.params["b1"][:] = 5.0
    fast = ref.copy(backend="numba")
    X = np.random.default_rng(1).random((10, 16)).astype(dtype)
    for model in (ref, fast):
        assert (np.count_nonzero(model.encode(X), axis=1) == 6).all()
        assert (np.count_nonzero(model.forward(X)[1], axis=1) == 2).all()
    assert rel_diff(fast.encode(X), ref.encode(X)) <= RTOL[dtype]
    relu = np.maximum(X @ ref.params["W1"] + ref.params["b1"], 0)
    np.testing.assert_array_equal(ref.encode(X), reference.keep_top_k(relu, 6))


def test_tied_initialisation_has_unit_decoder_rows_and_their_transpose_as_encoder():
    model = SparseAutoencoder(20, 7, init="tied", seed=3, dtype=np.float64, **TOPK, k=2)
    W1, W2 = model.params["W1"], model.params["W2"]
    np.testing.assert_allclose(np.linalg.norm(W2, axis=1), 1.0, rtol=1e-12)
    np.testing.assert_array_equal(W1, W2.T)
    other = SparseAutoencoder(20, 7, init="tied", seed=4, dtype=np.float64, **TOPK, k=2)
    assert not np.array_equal(other.params["W2"], W2)


# --------------------------------------------------------------------------- the preset


def test_ksparse_mnist_preset_is_makhzani_and_freys_setting():
    preset = presets.get("ksparse-mnist")
    config = preset.config(784)
    assert (config.n_hidden, config.k, config.encode_k) == (1000, 25, 75)
    start, epochs = config.k_schedule
    assert start == 100 and epochs < preset.epochs  # down from 100, then k for the rest
    assert config.sparsity == "topk" and config.output == "linear" and preset.dataset == "mnist"


# --------------------------------------------------------------------------- the probe


def test_probe_protocol_names_samples_classifier_regularisation_and_encoding():
    config = presets.get("ksparse-mnist").config(784)
    text = protocol(60000, encoding(config))
    assert "logistic regression" in text and "60000 training samples" in text
    assert "C=1" in text and "the 75 largest relu activations of each sample (3 k" in text
    kl = ModelConfig(784, 64)
    assert encoding(kl) == "all 64 sigmoid activations"


# --------------------------------------------------------------------------- dead-unit advice


def _bars_run(epochs=4, lr=3e-3, n_hidden=48, samples=None, batch_size=32, **options):
    """A short run on the bars problem; returns (history, model)."""
    X = make_bars(600, seed=0)[0] if samples is None else bars_split("train")[0][:samples]
    defaults = dict(output="linear", recon="sse") if samples is None else {}
    model = SparseAutoencoder(64, n_hidden, seed=0, **(defaults | options))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # KL with ReLU units is warned of; here it is the point
        history = fit(model, X, epochs, batch_size=batch_size, optimizer=Adam(lr), verbose=0)
    return history, model


def test_topk_dead_units_are_blamed_on_the_selection_not_the_rate():
    history, model = _bars_run(**TOPK, k=1)
    assert history["loss"][-1] < history["loss"][0]
    (warning,) = diagnose(history, 3e-3, model.config)
    assert "never fired" in warning and "topk keeps k=1 units per sample" in warning
    assert "the loss fell" in warning and "is not to blame" in warning
    assert "--k-schedule" in warning and "--aux-k" in warning and "--init tied" in warning
    assert "too high" not in warning
    # Without the model's options, the old generic advice.
    assert "lr=0.003 is probably too high" in diagnose(history, 3e-3)[0]


def test_topk_with_auxk_dead_units_ask_for_a_stronger_auxk():
    history, model = _bars_run(**TOPK, k=1, aux_k=4, aux_alpha=1e-6, init="tied")
    (warning,) = diagnose(history, 3e-3, model.config)
    assert "a stronger AuxK than aux_alpha=1e-06 and dead_after=10000" in warning
    assert "--aux-k" not in warning and "--init tied" not in warning  # it has them both
    assert "--k-schedule" in warning and "too high" not in warning


def test_kl_with_relu_dead_units_are_blamed_on_the_clip():
    history, model = _bars_run(epochs=6, lr=0.1, hidden="relu", sparsity="kl", beta=3.0)
    assert history["dead_fraction"][-1] > 0.5 and history["loss"][-1] < history["loss"][0]
    (warning,) = diagnose(history, 0.1, model.config)
    assert "KL sparsity with ReLU units" in warning and "clipped to 1e-6" in warning
    assert "hidden='sigmoid'" in warning and "too high" not in warning


def test_a_diverging_rate_is_blamed_when_the_loss_rose():
    # npsae train --dataset bars --n-hidden 16 --hidden relu --limit 1000 --lr 100: KL with ReLU
    # units, but the loss rose, and that points at the rate first.
    history, model = _bars_run(5, 100.0, 16, 1000, 256, hidden="relu", sparsity="kl")
    assert history["loss"][-1] > history["loss"][0] and history["dead_fraction"][-1] > 0.5
    dead, rose = diagnose(history, 100.0, model.config)
    assert "lr=100 is probably too high" in dead and "(the loss rose, from" in dead
    assert "clipped" not in dead
    assert rose.startswith("the loss rose over the run") and "lr=100 is probably too high" in rose


def test_the_probe_can_fit_raw_features_and_says_so():
    from npsae.probe import linear_probe

    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 600)
    # The label lives in a column a million times smaller than the noise: standardising finds
    # it, the L2 penalty on raw features does not.
    X = np.column_stack([(y + 0.1 * rng.standard_normal(600)) * 1e-6, rng.standard_normal(600)])
    split = (X[:400], y[:400], X[400:], y[400:])
    assert linear_probe(*split) > 0.95
    assert linear_probe(*split, standardise=False) < 0.7
    assert "on raw features of 400" in protocol(400, "codes", standardise=False)
