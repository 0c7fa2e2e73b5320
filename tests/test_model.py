"""The SparseAutoencoder's contract: parameters, validation, inference, files."""

import json
import warnings

import numpy as np
import pytest

from npsae import reference
from npsae._fileio import load_npz, save_npz
from npsae.model import SparseAutoencoder
from npsae.training import fit


def test_parameters_have_the_documented_shapes_dtypes_and_init():
    model = SparseAutoencoder(784, 64, seed=0)
    p = model.params
    assert p["W1"].shape == (784, 64) and p["W2"].shape == (64, 784)
    assert p["b1"].shape == (64,) and p["b2"].shape == (784,)
    assert all(v.dtype == np.float32 for v in p.values())
    r = np.sqrt(6 / (784 + 64))  # Glorot uniform
    assert np.abs(p["W1"]).max() <= r and np.abs(p["W1"]).max() > 0.99 * r
    assert np.abs(p["W1"].mean()) < 0.01 * r
    assert not p["b1"].any() and not p["b2"].any()
    ufldl = SparseAutoencoder(784, 196, init="ufldl", dtype=np.float64)
    assert np.abs(ufldl.params["W1"]).max() <= np.sqrt(6) / np.sqrt(784 + 196 + 1)


def test_same_seed_same_parameters_other_seed_others():
    a, b, c = (SparseAutoencoder(10, 4, seed=s) for s in (7, 7, 8))
    assert all(np.array_equal(a.params[k], b.params[k]) for k in a.params)
    assert not np.array_equal(a.params["W1"], c.params["W1"])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(n_hidden=0), "n_hidden must be a positive integer"),
        (dict(n_in=2.5), "n_in must be a positive integer"),
        (dict(hidden="tanh"), "hidden='tanh' is not known; choose one of sigmoid, relu"),
        (dict(output="relu"), "output='relu'"),
        (dict(recon="mae"), "recon='mae'"),
        (dict(sparsity="l2"), "sparsity='l2' is not known"),
        (dict(rho=0.0), "rho=0.0 must lie strictly between 0 and 1"),
        (dict(rho=1.5), "rho=1.5"),
        (dict(beta=-1), "beta=-1 must be a finite number >= 0"),
        (dict(weight_decay=float("nan")), "weight_decay=nan"),
        (dict(dtype=np.int32), "dtype='int32' is not known"),
        (dict(backend="torch"), "backend='torch'"),
        (dict(init="he"), "init='he'"),
    ],
)
def test_invalid_configurations_say_what_to_change(kwargs, match):
    args = dict(n_in=8, n_hidden=3) | kwargs
    with pytest.raises(ValueError, match=match.replace("(", r"\(").replace(")", r"\)")):
        SparseAutoencoder(**args)


def test_kl_with_relu_is_a_caveat_that_fit_warns_of_once_and_building_does_not(tmp_path):
    X = np.random.default_rng(0).random((20, 8))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # building, copying, saving and loading are silent
        model = SparseAutoencoder(8, 3, hidden="relu", sparsity="kl")
        model.copy(backend="numpy").save(tmp_path / "m.npz")
        SparseAutoencoder.load(tmp_path / "m.npz")
    assert len(model.caveats) == 1 and "ReLU units are unbounded" in model.caveats[0]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit(model, X, epochs=3, batch_size=5, verbose=0)
    assert [str(w.message) for w in caught] == model.caveats  # once, not once per epoch
    assert caught[0].category is UserWarning and caught[0].filename == __file__  # the caller
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for hidden, sparsity in (("relu", "l1"), ("sigmoid", "kl")):
            other = SparseAutoencoder(8, 3, hidden=hidden, sparsity=sparsity)
            assert other.caveats == []
            fit(other, X, epochs=1, verbose=0)


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_bad_batches_are_rejected(backend):
    model = SparseAutoencoder(8, 3, backend=backend)
    with pytest.raises(ValueError, match=r"shape \(m, 8\)"):
        model.loss_and_grads(np.zeros((4, 7)))
    with pytest.raises(ValueError, match=r"shape \(m, 8\)"):
        model.encode(np.zeros(8))
    with pytest.raises(ValueError, match="NaN"):
        model.loss_and_grads(np.full((2, 8), np.nan))
    with pytest.raises(ValueError, match="empty"):
        model.loss(np.zeros((0, 8)))
    with pytest.raises(ValueError, match=r"H must have shape \(m, 3\)"):
        model.decode(np.zeros((2, 4)))
    with pytest.raises(ValueError, match="terms"):
        model.loss_and_grads(np.zeros((2, 8)), terms=("kl",))


def test_uint8_images_are_scaled_into_unit_interval():
    model = SparseAutoencoder(4, 2, dtype=np.float64)
    images = np.array([[[0, 255], [51, 102]]], dtype=np.uint8)  # one 2x2 image
    X = model.as_input(images)
    np.testing.assert_allclose(X, [[0.0, 1.0, 0.2, 0.4]])
    assert model.loss(images) == model.loss(X)


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_inference_matches_the_equations(backend):
    model = SparseAutoencoder(8, 3, hidden="relu", sparsity="l1", backend=backend, seed=1)
    model.params["b1"][:] = [0.1, -0.2, 0.3]
    X = np.random.default_rng(0).random((5, 8)).astype(np.float32)
    p = model.params
    H = np.maximum(X @ p["W1"] + p["b1"], 0)
    X_hat = reference.sigmoid(H @ p["W2"] + p["b2"])
    np.testing.assert_allclose(model.encode(X), H, rtol=1e-6)
    np.testing.assert_allclose(model.reconstruct(X), X_hat, rtol=1e-6)
    loss = model.loss(X)
    assert loss["recon"] == pytest.approx(np.mean((X_hat - X) ** 2), rel=1e-5)
    assert loss["sparsity"] == pytest.approx(0.1 * H.sum() / 5, rel=1e-5)
    assert loss["total"] == pytest.approx(loss["recon"] + loss["sparsity"] + loss["decay"])


def test_terms_select_which_gradients_are_summed():
    model = SparseAutoencoder(6, 3, weight_decay=0.1, dtype=np.float64, backend="numpy")
    X = np.random.default_rng(1).random((4, 6))
    _, total = model.loss_and_grads(X)
    parts = [model.loss_and_grads(X, terms=(t,))[1] for t in ("recon", "sparsity", "decay")]
    for k in total:
        np.testing.assert_allclose(sum(p[k] for p in parts), total[k], rtol=1e-12, atol=1e-15)
    assert not parts[2]["b1"].any()  # biases are not decayed
    np.testing.assert_allclose(parts[2]["W1"], 0.1 * model.params["W1"])


def test_copy_is_independent_and_can_change_dtype_and_backend():
    model = SparseAutoencoder(6, 3, seed=4)
    clone = model.copy(dtype=np.float64, backend="numpy")
    assert clone.dtype == np.float64 and clone.backend == "numpy"
    np.testing.assert_array_equal(clone.params["W1"], model.params["W1"].astype(np.float64))
    clone.params["W1"][0, 0] += 1
    assert clone.params["W1"][0, 0] != model.params["W1"][0, 0]
    with pytest.raises(ValueError, match="n_in or n_hidden"):
        model.copy(n_hidden=4)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_save_load_round_trip(tmp_path, dtype):
    model = SparseAutoencoder(6, 3, hidden="relu", sparsity="l1", dtype=dtype, seed=9)
    model.params["b2"][:] = 0.25
    path = tmp_path / "m.npz"
    model.save(path, extra={"state/epoch": np.array(3)})
    loaded = SparseAutoencoder.load(path)
    assert loaded.config == model.config
    for k in model.params:
        assert loaded.params[k].dtype == model.params[k].dtype
        np.testing.assert_array_equal(loaded.params[k], model.params[k])
    assert load_npz(path)["state/epoch"] == 3
    assert SparseAutoencoder.load(path, backend="numpy").backend == "numpy"
    assert [p.name for p in tmp_path.iterdir()] == ["m.npz"]  # no temporary file left


def test_save_rejects_extra_names_outside_state(tmp_path):
    with pytest.raises(ValueError, match="state/"):
        SparseAutoencoder(4, 2).save(tmp_path / "m.npz", extra={"W1": np.zeros(1)})


def tamper(tmp_path, change):
    """Save a model, let ``change`` edit its arrays, write them back; return the path."""
    path = tmp_path / "m.npz"
    SparseAutoencoder(6, 3).save(path)
    arrays = load_npz(path)
    change(arrays)
    save_npz(path, arrays)
    return path


def _edit_meta(arrays, edit):
    meta = json.loads(str(arrays["meta"]))
    edit(meta)
    arrays["meta"] = np.array(json.dumps(meta))


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda a: a.pop("W2"), "parameter 'W2' is missing"),
        (lambda a: a.update(W1=np.zeros((3, 6), np.float32)), r"'W1' has shape \(3, 6\)"),
        (lambda a: a.update(b1=np.zeros(3, np.float64)), "'b1' has shape .* float64"),
        (lambda a: a.pop("meta"), "no 'meta' entry"),
        (lambda a: a.update(meta=np.array("{not json")), "unreadable 'meta'"),
        (lambda a: _edit_meta(a, lambda m: m["config"].update(colour="red")), "unknown config"),
        (lambda a: _edit_meta(a, lambda m: m.update(format=99)), "file format 99"),
        (lambda a: _edit_meta(a, lambda m: m["config"].update(rho=3.0)), "invalid config"),
    ],
)
def test_load_rejects_bad_files_naming_them(tmp_path, change, match):
    path = tamper(tmp_path, change)
    with pytest.raises(ValueError, match=match) as info:
        SparseAutoencoder.load(path)
    assert str(path) in str(info.value)


def test_load_rejects_truncated_and_foreign_files(tmp_path):
    path = tmp_path / "m.npz"
    SparseAutoencoder(6, 3).save(path)
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(ValueError, match="m.npz"):
        SparseAutoencoder.load(path)
    path.write_text("hello")
    with pytest.raises(ValueError, match="m.npz"):
        SparseAutoencoder.load(path)
    with pytest.raises(FileNotFoundError):
        SparseAutoencoder.load(tmp_path / "missing.npz")


def test_object_arrays_are_never_unpickled(tmp_path):
    path = tmp_path / "evil.npz"
    np.savez(path, meta=np.array([{"a": 1}], dtype=object))
    with pytest.raises(ValueError, match="evil.npz"):
        SparseAutoencoder.load(path)


def test_failed_save_leaves_the_old_file_intact(tmp_path, monkeypatch):
    path = tmp_path / "m.npz"
    SparseAutoencoder(6, 3, seed=1).save(path)
    before = path.read_bytes()

    def explode(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", explode)
    with pytest.raises(OSError, match="disk full"):
        SparseAutoencoder(6, 3, seed=2).save(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.npz"]


def test_repr_names_the_architecture():
    text = repr(SparseAutoencoder(784, 64, hidden="sigmoid", sparsity="kl"))
    assert "784 -> 64 sigmoid -> 784 sigmoid" in text and "kl" in text


def test_saved_files_get_ordinary_permissions(tmp_path):
    """Atomic writes go through mkstemp (mode 0600); the final file must follow the umask."""
    import os

    path = tmp_path / "m.npz"
    SparseAutoencoder(4, 2).save(path)
    mask = os.umask(0)
    os.umask(mask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~mask


@pytest.mark.parametrize(
    "content",
    [
        np.random.default_rng(0).bytes(3000),
        b"\x80\x04\x95" + np.random.default_rng(1).bytes(100),  # looks like a pickle
        b"PK\x03\x04" + np.random.default_rng(2).bytes(100),  # looks like a zip
        b"",
    ],
    ids=["random", "pickle-like", "zip-like", "empty"],
)
def test_random_bytes_never_get_the_advice_to_unpickle(tmp_path, content):
    path = tmp_path / "model.npz"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=f"{path}: not a readable npsae .npz file") as info:
        SparseAutoencoder.load(path)
    assert "pickle" not in str(info.value)


def test_object_arrays_are_refused_without_mentioning_allow_pickle(tmp_path):
    path = tmp_path / "evil.npz"
    np.savez(path, meta=np.array([{"a": 1}], dtype=object))
    with pytest.raises(ValueError, match="holds object arrays, which npsae never unpickles") as e:
        load_npz(path)
    assert "allow_pickle" not in str(e.value)
