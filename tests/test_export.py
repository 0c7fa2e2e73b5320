"""``npsae export --format saelens``: the files SAELens loads, reloaded and recomputed in NumPy."""

import argparse
import json
import sys

import numpy as np
import pytest
from safetensors.numpy import load_file

from npsae import Adam, SparseAutoencoder, fit, make_superposition
from npsae._extras import MissingExtraError
from npsae.cli import export as export_cli
from npsae.export import ExportError, export_saelens


def run_export(*argv) -> int:
    parser = argparse.ArgumentParser(prog="npsae")
    export_cli.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["export", *map(str, argv)])
    return args.func(args)


def saelens_forward(tensors: dict, cfg: dict, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """SAELens's encode and decode (standard, topk and jumprelu architectures), in NumPy."""
    sae_in = x - tensors["b_dec"] * cfg["apply_b_dec_to_input"]
    hidden_pre = sae_in @ tensors["W_enc"] + tensors["b_enc"]
    if cfg["architecture"] == "topk":
        keep = np.argsort(-hidden_pre, axis=1, kind="stable")[:, : cfg["k"]]
        acts = np.zeros_like(hidden_pre)
        np.put_along_axis(acts, keep, np.maximum(np.take_along_axis(hidden_pre, keep, 1), 0), 1)
    elif cfg["architecture"] == "jumprelu":
        acts = np.maximum(hidden_pre, 0) * (hidden_pre > tensors["threshold"])
    else:
        assert cfg["architecture"] == "standard"
        acts = np.maximum(hidden_pre, 0)
    return acts, acts @ tensors["W_dec"] + tensors["b_dec"]


@pytest.fixture(scope="module")
def data():
    return make_superposition(2000, 16, 8, 0.1, seed=0)[0]


@pytest.mark.parametrize(
    "config",
    [
        {"sparsity": "topk", "k": 3},
        {"sparsity": "l1", "beta": 0.01, "unit_norm_decoder": True},
        {"sparsity": "kl", "rho": 0.05, "beta": 0.1},  # KL on ReLU units: training-only penalty
        {"sparsity": "jumprelu", "beta": 1e-3, "bandwidth": 0.05, "theta_init": 0.05},
        {"sparsity": "batchtopk", "k": 3, "aux_k": 4},
        {"sparsity": "topk", "k": 2, "pre_bias": True},
    ],
)
@pytest.mark.filterwarnings("ignore:KL sparsity assumes:UserWarning")
def test_reloaded_weights_reproduce_npsae_reconstructions(tmp_path, data, config):
    model = SparseAutoencoder(8, 16, hidden="relu", output="linear", seed=1, **config)
    fit(model, data, 2, batch_size=64, optimizer=Adam(3e-3), verbose=0, run_dir=tmp_path / "run",
        dataset={"name": "superposition"})  # fmt: skip
    out = tmp_path / "sae"
    assert run_export(tmp_path / "run", out, "--format", "saelens") == 0
    assert sorted(p.name for p in out.iterdir()) == ["cfg.json", "sae_weights.safetensors"]
    tensors = load_file(out / "sae_weights.safetensors")
    cfg = json.loads((out / "cfg.json").read_text())
    architecture = {"topk": "topk", "jumprelu": "jumprelu", "batchtopk": "jumprelu"}.get(
        config["sparsity"], "standard"
    )
    assert cfg["architecture"] == architecture
    threshold = ["threshold"] if architecture == "jumprelu" else []
    assert sorted(tensors) == ["W_dec", "W_enc", "b_dec", "b_enc", *threshold]
    assert tensors["W_enc"].shape == (8, 16) and tensors["W_dec"].shape == (16, 8)
    assert all(t.dtype == np.float32 for t in tensors.values())
    assert (cfg["d_in"], cfg["d_sae"], cfg["dtype"]) == (8, 16, "float32")
    assert cfg["apply_b_dec_to_input"] is config.get("pre_bias", False)
    assert cfg["normalize_activations"] == "none"
    assert cfg["metadata"]["sae_lens_version"].startswith("6.")
    assert cfg["metadata"]["dataset_path"] == "superposition"
    acts, x_hat = saelens_forward(tensors, cfg, data[:300])
    np.testing.assert_allclose(acts, model.encode(data[:300]), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(x_hat, model.reconstruct(data[:300]), rtol=1e-5, atol=1e-6)
    if config["sparsity"] == "topk":
        assert cfg["k"] == config["k"] and (np.count_nonzero(acts, axis=1) <= config["k"]).all()
    if config["sparsity"] == "batchtopk":  # one learned threshold for every unit
        assert np.all(tensors["threshold"] == float(model.buffers["threshold"]))
    assert 0 < np.count_nonzero(acts) < acts.size  # a sparse code, not a trivial one


@pytest.mark.parametrize(
    "config, message",
    [
        ({"hidden": "relu", "output": "sigmoid", "sparsity": "l1"}, "its output is sigmoid"),
        ({"hidden": "sigmoid", "output": "linear", "sparsity": "kl"}, "hidden units are sigmoid"),
    ],
)
def test_models_saelens_cannot_compute_are_refused(tmp_path, config, message, capsys):
    model = SparseAutoencoder(8, 4, **config)
    with pytest.raises(ExportError, match=message):
        export_saelens(model, tmp_path / "out")
    assert not (tmp_path / "out").exists()  # nothing written, not even the folder
    model.save(tmp_path / "model.npz")
    assert run_export(tmp_path / "model.npz", tmp_path / "out") == 1
    stderr = capsys.readouterr().err
    assert stderr.startswith("npsae export: error: this model cannot be exported to SAELens")
    assert message in stderr and "--hidden relu --output linear" in stderr


def test_an_untrained_batchtopk_model_is_refused(tmp_path):
    model = SparseAutoencoder(8, 4, hidden="relu", output="linear", sparsity="batchtopk", k=2)
    with pytest.raises(ExportError, match="has not learned its inference threshold"):
        export_saelens(model, tmp_path / "out")


def test_never_overwrites_and_names_what_is_missing(tmp_path, capsys):
    model = SparseAutoencoder(8, 4, hidden="relu", output="linear", sparsity="l1")
    out = tmp_path / "out"
    out.mkdir()
    (out / "cfg.json").write_text("mine")
    with pytest.raises(ExportError, match="cfg.json already exist.*never overwrites"):
        export_saelens(model, out)
    assert (out / "cfg.json").read_text() == "mine"
    assert not (out / "sae_weights.safetensors").exists()
    assert run_export(tmp_path / "nowhere", tmp_path / "x") == 1
    assert "nowhere: neither a model file nor a run directory" in capsys.readouterr().err


def test_without_safetensors_the_error_names_the_extra(tmp_path, monkeypatch, capsys):
    model = SparseAutoencoder(8, 4, hidden="relu", output="linear", sparsity="l1")
    model.save(tmp_path / "model.npz")
    monkeypatch.setitem(sys.modules, "safetensors.numpy", None)
    with pytest.raises(MissingExtraError, match=r"pip install 'npsae\[export\]'"):
        export_saelens(model, tmp_path / "out")
    assert run_export(tmp_path / "model.npz", tmp_path / "out") == 1
    assert "npsae[export]" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
