"""The log penalty, Olshausen & Field's sparse-coding cost: one class in npsae.penalties, and it
works everywhere a penalty does (both backends, gradient check, train, sweep, report, export)."""

import json

import numpy as np
import pytest

from npsae import kernels, reference
from npsae.cli import main
from npsae.config import ConfigError, ModelConfig
from npsae.gradcheck import gradient_check, kink_free_batch
from npsae.model import SparseAutoencoder
from npsae.penalties import SPARSITY, LogSparsity, Sparsity

RTOL = {np.float64: 1e-12, np.float32: 1e-5}


def rel_diff(a, b) -> float:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(a)), np.max(np.abs(b)), 1e-300))


def test_value_and_entry_gradient_are_the_formulas():
    H = np.array([[0.0, 0.5, 2.0], [1.0, 0.0, 3.0]])
    P = LogSparsity(beta=0.3, log_eps=0.2)
    expected = 0.3 * np.sum(np.log(1 + H**2 / 0.2)) / 2
    assert P.value(H.sum(axis=0), 2, np.empty((3, 0)), H) == pytest.approx(expected, rel=1e-14)
    np.testing.assert_allclose(P.entry_grad(H, 2), 0.3 / 2 * 2 * H / (0.2 + H**2), rtol=1e-14)
    assert not P.hidden_grad(H.sum(axis=0), 2, np.empty((3, 0))).any()  # all per entry
    # Every other penalty depends on the column sums only.
    assert [n for n, cls in SPARSITY.items() if cls.per_entry] == ["log"]
    assert Sparsity().entry_grad(H, 2) is None


@pytest.mark.parametrize("backend", ["numpy", "numba"])
@pytest.mark.parametrize("hidden", ["relu", "sigmoid"])
def test_gradient_check(backend, hidden):
    model = SparseAutoencoder(10, 5, hidden=hidden, sparsity="log", beta=0.5, log_eps=0.05,
                              dtype=np.float64, backend=backend, seed=4)  # fmt: skip
    X = kink_free_batch(model, 6, seed=5)
    result = gradient_check(model, X)
    assert result.passed, str(result)
    assert result.row("sparsity", "W1").norm_error < 1e-6  # the penalty reaches the encoder
    assert model.loss(X)["sparsity"] > 0


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("hidden", ["relu", "sigmoid"])
def test_numba_equals_numpy(dtype, hidden):
    ref = SparseAutoencoder(20, 9, hidden=hidden, sparsity="log", beta=0.3, log_eps=0.1,
                            dtype=dtype, backend="numpy", seed=2)  # fmt: skip
    fast = ref.copy(backend="numba")
    X = np.random.default_rng(5).random((40, 20)).astype(dtype)
    loss_ref, grads_ref = ref.loss_and_grads(X)
    loss, grads = fast.loss_and_grads(X)
    for term in loss_ref:
        assert loss[term] == pytest.approx(loss_ref[term], rel=RTOL[dtype], abs=1e-300), term
    for name in grads_ref:
        assert grads[name].dtype == grads_ref[name].dtype
        assert rel_diff(grads[name], grads_ref[name]) <= RTOL[dtype], name


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_the_fused_stage_adds_the_per_entry_term(dtype):
    rng = np.random.default_rng(3)
    dH = rng.normal(size=(31, 11)).astype(dtype)
    H = reference.relu(rng.normal(size=(31, 11))).astype(dtype)
    c, E = rng.normal(size=11), rng.normal(size=(31, 11)).astype(dtype)
    f_prime = reference.relu_grad(H)
    dZ_ref = (dH + c + E) * f_prime
    dZ, db = kernels.hidden_backward(dH.copy(), H, c, "relu", E)
    assert rel_diff(dZ, dZ_ref) <= RTOL[dtype]
    assert rel_diff(db, dZ_ref.sum(axis=0)) <= RTOL[dtype]


def test_its_setting_is_checked_recorded_only_for_it_and_loaded(tmp_path):
    with pytest.raises(ConfigError, match="log_eps=0.0 must be a finite number > 0"):
        ModelConfig(8, 3, sparsity="log", log_eps=0.0)
    model = SparseAutoencoder(8, 3, sparsity="log", log_eps=0.5)
    assert model.config.file_dict()["log_eps"] == 0.5
    assert "log_eps" not in ModelConfig(8, 3).file_dict()  # a KL model does not record it
    model.save(tmp_path / "m.npz")
    assert SparseAutoencoder.load(tmp_path / "m.npz").config == model.config


def test_a_penalty_the_fast_backend_cannot_run_is_refused_by_name(monkeypatch):
    monkeypatch.setattr(LogSparsity, "numba", False)
    with pytest.raises(ConfigError, match="sparsity='log' has no Numba kernels"):
        SparseAutoencoder(8, 3, sparsity="log")
    assert SparseAutoencoder(8, 3, sparsity="log", backend="numpy").sparsity.name == "log"


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_train_gradcheck_report_and_export_from_the_command_line(tmp_path, capsys, backend):
    out = tmp_path / "run"
    argv = ["train", "--dataset", "bars", "--limit", "300", "--epochs", "1", "--quiet"]
    argv += ["--hidden", "relu", "--output", "linear", "--sparsity", "log", "--log-eps", "0.3"]
    assert main([*argv, "--backend", backend, "--out", str(out)]) == 0
    config = json.loads((out / "config.json").read_text())["model"]
    assert config["sparsity"] == "log" and config["log_eps"] == 0.3
    grad = ["gradcheck", "--sparsity", "log", "--log-eps", "0.2", "--backend", backend]
    assert main(grad) == 0  # status 1 when a check fails
    assert main(["report", str(out)]) == 0
    assert main(["export", str(out), str(tmp_path / "saelens")]) == 0
    cfg = json.loads((tmp_path / "saelens" / "cfg.json").read_text())
    assert cfg["architecture"] == "standard"  # a penalty shapes training only


def test_sweep(tmp_path, capsys):
    argv = ["sweep", str(tmp_path), "--variants", "log", "--dataset", "superposition"]
    argv += ["--grid", "log=0.001,0.01", "--epochs", "1", "--limit", "500", "--quiet"]
    assert main(argv) == 0
    rows = (tmp_path / "results.csv").read_text().splitlines()
    assert len(rows) == 3 and all(r.startswith("log,beta,") for r in rows[1:])
