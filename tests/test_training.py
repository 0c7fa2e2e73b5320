"""The fit loop, History, metrics, run directories, checkpoints and resume."""

import io
import json
import math
import tracemalloc

import numpy as np
import pytest

from npsae import metrics
from npsae._fileio import load_npz, save_npz
from npsae.checkpoint import read_checkpoint
from npsae.evaluation import evaluate, measure
from npsae.history import COLUMNS, History, diagnose
from npsae.model import SparseAutoencoder
from npsae.optim import SGD, Adam, sgd_step
from npsae.training import TrainingDiverged, fit, resume


def small_model(**kwargs):
    args = dict(n_in=16, n_hidden=6, hidden="sigmoid", sparsity="kl", rho=0.1, seed=3) | kwargs
    return SparseAutoencoder(**args)


def pixels(n, width=16, seed=0):
    """Random uint8 "images" (n, width)."""
    return np.random.default_rng(seed).integers(0, 256, (n, width), dtype=np.uint8)


def same_params(a, b):
    return all(np.array_equal(a.params[k], b.params[k]) for k in a.params)


# --------------------------------------------------------------------------- metrics


def test_metrics_by_hand():
    H = np.array([[0.0, 0.5, 2.0], [0.0, 0.0, 0.3]])
    assert metrics.firing_threshold("relu") == 0.0
    assert metrics.firing_threshold("sigmoid") == 0.1
    assert metrics.l0(H, 0.0) == 1.5  # (2 + 1) firing units / 2 samples
    assert metrics.l0(H, 0.4) == 1.0
    counts = metrics.fire_counts(H, 0.0)
    assert counts.tolist() == [0, 1, 2]
    assert metrics.dead_fraction(counts) == pytest.approx(1 / 3)
    assert metrics.feature_density(counts, 2).tolist() == [0.0, 0.5, 1.0]
    X = np.array([[0.0, 1.0], [2.0, 3.0]])  # mean (1, 2): total variance 4 * 1 = 4
    X_hat = np.array([[0.0, 1.5], [2.0, 3.0]])  # squared error 0.25
    assert metrics.fraction_variance_explained(X, X_hat) == pytest.approx(1 - 0.25 / 4)
    assert metrics.fraction_variance_explained(X, X) == 1.0
    assert math.isnan(metrics.fraction_variance_explained(np.ones((3, 2)), np.ones((3, 2))))
    with pytest.raises(ValueError, match="hidden='tanh'"):
        metrics.firing_threshold("tanh")
    big = np.random.default_rng(0).choice([0.0, 0.1, 0.7], size=(1000, 9)).astype(np.float32)
    counts = metrics.fire_counts(big, np.float32(0.1))  # strictly above the threshold fires
    assert counts.dtype == np.int64
    assert counts.tolist() == [int(np.sum(col == np.float32(0.7))) for col in big.T]


def test_activation_stats_accumulated_in_batches_equal_the_whole():
    H = np.random.default_rng(0).random((50, 7)) * (np.arange(7) > 1)  # units 0, 1 dead
    stats = metrics.ActivationStats(7, 0.0)
    for lo in range(0, 50, 16):
        stats.update(H[lo : lo + 16])
    assert stats.n_samples == 50
    assert stats.l0 == pytest.approx(metrics.l0(H, 0.0))
    assert stats.dead_fraction == pytest.approx(2 / 7)
    assert stats.mean_rho_hat == pytest.approx(H.mean())
    np.testing.assert_allclose(stats.rho_hat, H.mean(axis=0))
    np.testing.assert_allclose(stats.feature_density, (H > 0).mean(axis=0))


# --------------------------------------------------------------------------- History


def test_history_columns_and_csv_round_trip(tmp_path):
    rows = [dict.fromkeys(COLUMNS, 0.25) | {"epoch": e, "val_loss": math.nan} for e in (1, 2)]
    rows[1]["loss"] = 1 / 3
    h = History(rows)
    assert len(h) == 2 and "loss" in h and "val_loss" in h and "accuracy" not in h
    assert h["epoch"].tolist() == [1, 2] and h["epoch"].dtype == np.int64
    assert h["loss"][1] == 1 / 3 and np.isnan(h["val_loss"]).all()
    with pytest.raises(KeyError, match="'accuracy' is not a history column"):
        h["accuracy"]
    h.to_csv(tmp_path / "h.csv")
    back = History.read_csv(tmp_path / "h.csv")
    assert back.columns == COLUMNS
    assert back["loss"][1] == 1 / 3  # floats round-trip exactly
    assert np.isnan(back["val_loss"]).all()
    (tmp_path / "bad.csv").write_text("epoch,loss\n1,0.5\n2\n")
    with pytest.raises(ValueError, match="bad.csv: line 3 has 1 values for 2 columns"):
        History.read_csv(tmp_path / "bad.csv")


# --------------------------------------------------------------------------- fit


def test_fit_equals_a_hand_written_loop_with_the_partial_last_batch():
    X = pixels(10)
    model = small_model(backend="numpy")
    by_hand = model.copy()
    fit(model, X, epochs=2, batch_size=4, optimizer=SGD(lr=0.5), verbose=0)
    velocity = {k: np.zeros_like(v) for k, v in by_hand.params.items()}
    for epoch in (1, 2):
        order = np.random.default_rng([0, epoch]).permutation(10)
        for batch in (order[0:4], order[4:8], order[8:10]):  # the last batch has 2 samples
            _, grads = by_hand.loss_and_grads(X[batch].astype(np.float32) / np.float32(255))
            for k, p in by_hand.params.items():
                by_hand.params[k], velocity[k] = sgd_step(p, grads[k], velocity[k], 0.5, 0.0)
    assert same_params(model, by_hand)


def test_unshuffled_fit_visits_the_samples_in_order():
    X = pixels(12)
    model, by_hand = small_model(), small_model()
    fit(model, X, epochs=1, batch_size=5, optimizer=SGD(lr=0.5), shuffle=False, verbose=0)
    opt = SGD(lr=0.5)
    for lo in (0, 5, 10):
        _, grads = by_hand.loss_and_grads(X[lo : lo + 5].astype(np.float32) / np.float32(255))
        opt.step(by_hand.params, grads)
    assert same_params(model, by_hand)


def test_uint8_images_and_their_float_rows_train_identically():
    images = pixels(40, 16).reshape(40, 4, 4)
    floats = images.reshape(40, 16).astype(np.float32) / np.float32(255)
    a, b = small_model(), small_model()
    ha = fit(a, images, epochs=2, batch_size=8, verbose=0)
    hb = fit(b, floats.astype(np.float64), epochs=2, batch_size=8, verbose=0)
    assert same_params(a, b)
    assert np.array_equal(ha["loss"], hb["loss"])
    c = small_model()  # float rows of the model's own dtype take another path (np.take)
    hc = fit(c, floats, epochs=2, batch_size=8, verbose=0)
    assert same_params(a, c)
    assert np.array_equal(ha["loss"], hc["loss"])


@pytest.mark.parametrize("backend", ["numba", "numpy"])
def test_same_seed_gives_bit_identical_parameters(backend):
    X = pixels(100)
    runs = []
    for seed in (5, 5, 6):
        model = small_model(backend=backend)
        fit(model, X, epochs=2, batch_size=16, seed=seed, verbose=0)
        runs.append(model)
    assert same_params(runs[0], runs[1])
    assert not same_params(runs[0], runs[2])


def test_history_records_every_column_and_training_lowers_the_loss():
    X = pixels(200)
    model = small_model(weight_decay=1e-3)
    h = fit(model, X, epochs=5, batch_size=32, optimizer=Adam(lr=0.01), verbose=0)
    assert h.columns == COLUMNS and len(h) == 5
    assert h["epoch"].tolist() == [1, 2, 3, 4, 5]
    assert h["loss"][-1] < h["loss"][0]
    np.testing.assert_allclose(h["loss"], h["recon"] + h["sparsity"] + h["decay"], rtol=1e-12)
    assert (h["decay"] > 0).all() and np.isnan(h["val_loss"]).all()
    assert (h["seconds"] > 0).all() and (0 < h["mean_rho_hat"]).all()
    assert ((0 <= h["l0"]) & (h["l0"] <= 6)).all() and ((0 <= h["dead_fraction"]) <= 1).all()
    with_val = fit(model, X, epochs=1, validation=pixels(50, seed=1), verbose=0)
    row = with_val.rows[0]
    assert row["val_loss"] == pytest.approx(evaluate(model, pixels(50, seed=1))["loss"])
    assert 0 < row["val_recon"] < row["val_loss"]


def test_the_last_validation_pass_measures_what_the_test_summary_needs():
    X, val = pixels(200), pixels(70, seed=1)
    model = small_model()
    h = fit(model, X, epochs=2, batch_size=32, validation=val, verbose=0)
    assert h.last_validation == measure(model, val, 32)  # the same batches, the same numbers
    assert h.rows[-1]["val_loss"] == h.last_validation["loss"]
    assert h.rows[0]["val_loss"] != h.last_validation["loss"]  # epoch 1's came before training on
    assert fit(model, X, epochs=1, verbose=0).last_validation is None


class _StopAfterOne:
    def on_epoch_end(self, epoch, row, model):
        return True


def test_a_run_stopped_early_leaves_no_last_validation():
    h = fit(
        small_model(), pixels(40), 3, validation=pixels(9), callbacks=[_StopAfterOne()], verbose=0
    )
    assert len(h) == 1 and h.last_validation is None


def test_progress_lines_and_silence():
    X = pixels(30)
    out = io.StringIO()
    fit(small_model(), X, epochs=2, batch_size=8, verbose=1, file=out)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("training SparseAutoencoder(16 -> 6 sigmoid")
    assert lines[1].startswith("epoch 1/2  4 steps  ") and "loss " in lines[1]
    assert "sparsity " in lines[1] and "\r" not in out.getvalue()  # no bar: not a terminal
    assert len(lines) == 3
    out = io.StringIO()
    fit(small_model(), X, epochs=2, verbose=0, file=out)
    assert out.getvalue() == ""

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    tty = Terminal()
    fit(small_model(), X, epochs=1, batch_size=8, verbose=1, file=tty)
    assert "\r" in tty.getvalue() and "step" in tty.getvalue()  # tqdm's bar was drawn


def test_callbacks_see_each_epoch_and_can_stop_training():
    seen = []

    class StopAtTwo:
        def on_epoch_end(self, epoch, row, model):
            seen.append((epoch, row["loss"], model.n_hidden))
            return epoch == 2

    h = fit(small_model(), pixels(20), epochs=5, callbacks=[StopAtTwo()], verbose=0)
    assert len(h) == 2 and [s[0] for s in seen] == [1, 2] and seen[0][2] == 6


def test_peak_memory_stays_near_the_uint8_data_not_a_float_copy():
    X = pixels(8000, 784)  # 6.3 MB of uint8; as float32 it would be 25 MB
    model = small_model(n_in=784, n_hidden=8)
    fit(model, X[:300], epochs=1, verbose=0)  # compile and warm up outside the measurement
    tracemalloc.start()
    fit(model, X, epochs=1, batch_size=256, verbose=0)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    # About 2 MB: a batch buffer and the per-batch arrays, whatever the size of the data set.
    assert peak < 0.2 * X.size * 4, f"peak {peak / 1e6:.1f} MB"


def test_invalid_arguments_are_refused():
    model = small_model()
    with pytest.raises(ValueError, match="epochs=0 must be a positive integer"):
        fit(model, pixels(4), epochs=0)
    with pytest.raises(ValueError, match="batch_size=2.5"):
        fit(model, pixels(4), epochs=1, batch_size=2.5)
    with pytest.raises(ValueError, match="samples of 12 values; the model takes 16"):
        fit(model, pixels(4, 12), epochs=1)
    with pytest.raises(ValueError, match="validation has samples of 8"):
        fit(model, pixels(4), epochs=1, validation=pixels(4, 8))
    with pytest.raises(ValueError, match="NaN or infinite"):
        fit(model, np.full((4, 16), np.nan), epochs=1)
    with pytest.raises(ValueError, match="uint8 images or float rows, not int64"):
        fit(model, np.zeros((4, 16), np.int64), epochs=1)


# --------------------------------------------------------------------------- divergence


def test_a_nan_loss_stops_training_at_once_and_keeps_the_last_checkpoint(tmp_path):
    class Poison:
        def on_epoch_end(self, epoch, row, model):
            model.params["W1"][:] = np.nan  # as if the last step had blown up

    model = small_model(n_hidden=4, hidden="relu", sparsity="l1")
    with pytest.raises(TrainingDiverged) as info:
        fit(model, pixels(40), epochs=3, batch_size=16, callbacks=[Poison()], run_dir=tmp_path,
            verbose=0)  # fmt: skip
    err = info.value
    assert isinstance(err, FloatingPointError)
    assert (err.epoch, err.step, err.term) == (2, 1, "recon")
    message = str(err)
    assert "epoch 2, step 1/3: the recon term of the loss is nan" in message
    assert "learning rate lr=0.001 is probably too high" in message
    assert f"checkpoint of epoch 1 in {tmp_path / 'model.npz'} is intact" in message
    ckpt = read_checkpoint(tmp_path)
    assert ckpt.epoch == 1 and np.isfinite(ckpt.model.params["W1"]).all()


@pytest.mark.filterwarnings("ignore:overflow:RuntimeWarning")
def test_a_learning_rate_far_too_high_diverges_and_the_message_names_kl_with_relu():
    model = small_model(hidden="relu", output="linear", sparsity="kl")
    with (
        pytest.raises(TrainingDiverged, match="KL sparsity with ReLU units is fragile"),
        pytest.warns(UserWarning, match="ReLU units are unbounded"),
    ):
        fit(model, pixels(64), epochs=20, batch_size=8, optimizer=SGD(lr=1e3), verbose=0)


# --------------------------------------------------------------------------- run directories


def test_run_directory_holds_config_history_and_a_loadable_checkpoint(tmp_path):
    model = small_model()
    h = fit(model, pixels(30), epochs=2, batch_size=8, seed=4, run_dir=tmp_path,
            dataset={"name": "random"}, verbose=0)  # fmt: skip
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["model"] == model.config and config["npsae_version"]
    training = config["training"]
    assert training["epochs"] == 2 and training["batch_size"] == 8 and training["seed"] == 4
    assert training["shuffle"] is True and training["dataset"] == {"name": "random"}
    assert training["optimizer"] == {"name": "adam", "lr": 0.001, "beta1": 0.9,
                                     "beta2": 0.999, "eps": 1e-07}  # fmt: skip
    np.testing.assert_equal(History.read_csv(tmp_path / "history.csv").rows, h.rows)
    assert same_params(SparseAutoencoder.load(tmp_path / "model.npz"), model)
    arrays = load_npz(tmp_path / "model.npz")
    assert int(arrays["state/epoch"]) == 2 and int(arrays["state/optim/t"]) == 8
    with pytest.raises(ValueError, match="holds a run already; continue it with resume"):
        fit(model, pixels(30), epochs=1, run_dir=tmp_path)


@pytest.mark.parametrize("backend", ["numba", "numpy"])
def test_resume_ends_with_exactly_the_parameters_of_an_uninterrupted_run(tmp_path, backend):
    X = pixels(90)
    straight = small_model(backend=backend)
    h = fit(straight, X, epochs=3, batch_size=16, run_dir=tmp_path / "a", verbose=0)
    fit(small_model(backend=backend), X, epochs=2, batch_size=16, run_dir=tmp_path / "b",
        verbose=0)  # fmt: skip
    resumed, h2 = resume(tmp_path / "b", X, epochs=3, verbose=0)
    assert same_params(resumed, straight)
    a, b = (load_npz(tmp_path / d / "model.npz") for d in "ab")
    assert all(np.array_equal(a[k], b[k]) for k in a if k != "state/training")
    for column in COLUMNS[:-1]:  # all but the wall time
        np.testing.assert_array_equal(h2[column], h[column])
    assert len(History.read_csv(tmp_path / "b" / "history.csv")) == 3
    # Resuming a finished run does nothing; asking for fewer epochs is an error.
    again, h3 = resume(tmp_path / "b", X, verbose=0)
    assert same_params(again, straight) and len(h3) == 3
    with pytest.raises(ValueError, match="epochs=2 but .* has trained 3 epochs already"):
        resume(tmp_path / "b", X, epochs=2)
    with pytest.raises(ValueError, match="X has 50 samples but the run .* trained on 90"):
        resume(tmp_path / "b", X[:50], epochs=4)


def as_old_history_file(path):
    """Rewrite a history.csv as npsae wrote it before the column mean_activation was renamed."""
    text = path.read_text(encoding="utf-8")
    assert ",mean_rho_hat," in text.splitlines()[0]
    path.write_text(text.replace(",mean_rho_hat,", ",mean_activation,", 1), encoding="utf-8")


def test_a_history_file_of_the_old_format_reads_under_the_new_column_name(tmp_path):
    path = tmp_path / "history.csv"
    old = (
        "epoch,loss,recon,sparsity,decay,val_loss,val_recon,mean_activation,dead_fraction,l0,"
        "seconds\n1,0.5,0.25,0.25,0.0,nan,nan,0.125,0.5,3.0,1.5\n"
    )
    path.write_text(old, encoding="utf-8")
    history = History.read_csv(path)
    assert history.columns == COLUMNS and history.rows[0]["mean_rho_hat"] == 0.125
    assert "mean_activation" in history and "mean_rho_hat" in history
    with pytest.warns(DeprecationWarning, match="'mean_activation' is now called 'mean_rho_hat'"):
        assert history["mean_activation"].tolist() == [0.125]
    history.to_csv(path)  # written back in the new format, the values unchanged
    assert path.read_text(encoding="utf-8").splitlines()[0] == ",".join(COLUMNS)
    np.testing.assert_equal(History.read_csv(path).rows, history.rows)


@pytest.mark.parametrize("backend", ["numba", "numpy"])
def test_an_old_run_directory_resumes_bit_for_bit(tmp_path, backend):
    X = pixels(90)
    straight = small_model(backend=backend)
    h = fit(straight, X, epochs=3, batch_size=16, verbose=0)
    fit(small_model(backend=backend), X, epochs=2, batch_size=16, run_dir=tmp_path, verbose=0)
    as_old_history_file(tmp_path / "history.csv")
    assert read_checkpoint(tmp_path).history.columns == COLUMNS
    resumed, h2 = resume(tmp_path, X, epochs=3, verbose=0)
    assert same_params(resumed, straight)
    for column in COLUMNS[:-1]:  # all but the wall time
        np.testing.assert_array_equal(h2[column], h[column])
    assert History.read_csv(tmp_path / "history.csv").columns == COLUMNS


def test_history_one_epoch_ahead_of_the_checkpoint_is_trimmed(tmp_path):
    X = pixels(20)
    fit(small_model(), X, epochs=2, run_dir=tmp_path, verbose=0)
    history = History.read_csv(tmp_path / "history.csv")
    # A crash after writing history.csv for epoch 3 but before the checkpoint:
    History([*history.rows, history.rows[-1] | {"epoch": 3}]).to_csv(tmp_path / "history.csv")
    assert len(read_checkpoint(tmp_path).history) == 2


def _corrupt(run_dir, change):
    arrays = load_npz(run_dir / "model.npz")
    change(arrays)
    save_npz(run_dir / "model.npz", arrays)


def test_bad_checkpoints_are_clear_errors_naming_the_file(tmp_path):
    X = pixels(20)
    fit(small_model(), X, epochs=1, run_dir=tmp_path / "run", verbose=0)
    good = (tmp_path / "run" / "model.npz").read_bytes()
    path = str(tmp_path / "run" / "model.npz")

    def fresh():
        (tmp_path / "run" / "model.npz").write_bytes(good)
        return tmp_path / "run"

    with pytest.raises(FileNotFoundError, match="no checkpoint there"):
        read_checkpoint(tmp_path)
    (tmp_path / "run" / "model.npz").write_bytes(good[: len(good) // 2])
    with pytest.raises(ValueError, match=f"{path}: not a readable npsae .npz file"):
        read_checkpoint(tmp_path / "run")

    def other_version(a):
        a["state/training"] = np.array(json.dumps({"format": 99}))

    _corrupt(fresh(), other_version)
    with pytest.raises(ValueError, match=f"{path}: training state format 99 is not the format 1"):
        read_checkpoint(tmp_path / "run")

    def other_model_format(a):
        meta = json.loads(str(a["meta"]))
        a["meta"] = np.array(json.dumps(meta | {"format": 7}))

    _corrupt(fresh(), other_model_format)
    with pytest.raises(ValueError, match=f"{path}: file format 7"):
        read_checkpoint(tmp_path / "run")

    def wrong_moment_shape(a):
        a["state/optim/m/W1"] = np.zeros((3, 3), np.float32)

    _corrupt(fresh(), wrong_moment_shape)
    with pytest.raises(ValueError, match=f"{path}: bad optimiser state .*'m/W1' is float32"):
        read_checkpoint(tmp_path / "run")

    def wrong_param_shape(a):
        a["W1"] = np.zeros((3, 3), np.float32)

    _corrupt(fresh(), wrong_param_shape)
    with pytest.raises(ValueError, match=f"{path}: parameter 'W1' has shape \\(3, 3\\)"):
        read_checkpoint(tmp_path / "run")

    def model_only(a):
        for k in [k for k in a if k.startswith("state/")]:
            del a[k]

    _corrupt(fresh(), model_only)
    with pytest.raises(ValueError, match=f"{path}: a saved model without training state"):
        read_checkpoint(tmp_path / "run")

    fresh()
    (tmp_path / "run" / "history.csv").unlink()
    with pytest.raises(ValueError, match="history.csv: missing"):
        read_checkpoint(tmp_path / "run")


# --------------------------------------------------------------------------- issue 16


@pytest.mark.parametrize(
    ("array", "message"),
    [
        ("W1", "parameter 'W1' holds 1 NaN or infinite values"),
        ("b2", "parameter 'b2' holds 1 NaN or infinite values"),
        ("state/optim/m/W2", "bad optimiser state .*'m' of 'W2' holds 1 NaN or infinite"),
        ("state/optim/v/b1", "bad optimiser state .*'v' of 'b1' holds 1 NaN or infinite"),
    ],
)
def test_a_checkpoint_holding_nan_or_inf_is_refused_naming_the_array(tmp_path, array, message):
    fit(small_model(), pixels(20), epochs=1, run_dir=tmp_path, verbose=0)
    path = str(tmp_path / "model.npz")

    def poison(a):
        a[array].reshape(-1)[0] = np.nan if array.endswith("1") else np.inf

    _corrupt(tmp_path, poison)
    with pytest.raises(ValueError, match=f"{path}: {message}"):
        read_checkpoint(tmp_path)
    with pytest.raises(ValueError, match=f"{path}: {message}"):
        resume(tmp_path, pixels(20), epochs=2, verbose=0)
    if not array.startswith("state/"):
        with pytest.raises(ValueError, match=f"{path}: {message}"):
            SparseAutoencoder.load(path)


def test_resume_deletes_the_temporary_files_a_killed_run_left(tmp_path):
    X = pixels(20)
    fit(small_model(), X, epochs=1, run_dir=tmp_path, verbose=0)
    # What kill -9 during atomic_write leaves (mkstemp's names), and files that only look alike.
    stale = [".model.npz.k2j_9x0q.tmp", ".history.csv.abcdefgh.tmp", ".config.json.12345678.tmp"]
    kept = ["notes.tmp", ".model.npz.tmp", ".model.npz.TOOLONGNAME.tmp", "model.npz.abcdefgh.tmp"]
    for name in stale + kept:
        (tmp_path / name).write_bytes(b"half a file")
    resume(tmp_path, X, epochs=2, verbose=0)
    assert not any((tmp_path / name).exists() for name in stale)
    assert all((tmp_path / name).read_bytes() == b"half a file" for name in kept)
    assert len(read_checkpoint(tmp_path).history) == 2


def test_fit_never_writes_a_run_into_a_folder_of_the_users_files(tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "config.json").write_text("{}")
    with pytest.raises(ValueError, match=r"not an npsae run \(config.json would be overwritten\)"):
        fit(small_model(), pixels(20), epochs=1, run_dir=mine, verbose=0)
    assert (mine / "config.json").read_text() == "{}" and len(list(mine.iterdir())) == 1
    (mine / "config.json").unlink()
    for name in ("a.txt", "b.png", "c", "d"):
        (mine / name).write_text("mine")
    with pytest.raises(ValueError, match=r"it holds a.txt, b.png, c and 1 more\); a new run"):
        fit(small_model(), pixels(20), epochs=1, run_dir=mine, verbose=0)
    assert sorted(p.name for p in mine.iterdir()) == ["a.txt", "b.png", "c", "d"]
    (tmp_path / "file").write_text("")
    with pytest.raises(ValueError, match="cannot be made: .*file is a file, not a folder"):
        fit(small_model(), pixels(20), epochs=1, run_dir=tmp_path / "file" / "run", verbose=0)
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / ".model.npz.abcdefgh.tmp").write_bytes(b"")  # a killed run's leftover is no file of
    fit(small_model(), pixels(20), epochs=1, run_dir=empty, verbose=0)  # the user's
    assert sorted(p.name for p in empty.iterdir()) == ["config.json", "history.csv", "model.npz"]


def test_an_unwritable_run_dir_is_refused_before_training(tmp_path, monkeypatch):
    import tempfile

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "mkdtemp", denied)
    model = small_model()
    before = model.copy()
    with pytest.raises(ValueError, match=f"{tmp_path}: cannot be written \\(Permission denied"):
        fit(model, pixels(20), epochs=1, run_dir=tmp_path, verbose=0)
    assert same_params(model, before) and list(tmp_path.iterdir()) == []  # refused before a step


def _history(losses, dead):
    return History(
        {c: 0.0 for c in COLUMNS} | {"epoch": i + 1, "loss": loss, "dead_fraction": d}
        for i, (loss, d) in enumerate(zip(losses, dead, strict=True))
    )


def test_diagnose_warns_of_dead_units_and_a_rising_loss_with_the_likely_cause():
    assert diagnose(History()) == []
    assert diagnose(_history([0.5, 0.2, 0.1], [0.0, 0.1, 0.5])) == []  # a healthy run
    dead = diagnose(_history([0.5, 0.4], [0.2, 0.81]), lr=100)
    assert dead == [
        "81% of the hidden units never fired in the last epoch (dead units, which no longer "
        "learn). Likely cause: the learning rate lr=100 is probably too high: try one 3 to 10 "
        "times smaller"
    ]
    (rose,) = diagnose(_history([0.5, 3.0, 6.7e32], [0.0, 0.0, 0.0]), lr=1e18)
    assert rose.startswith("the loss rose over the run, from 0.5 in epoch 1 to 6.7e+32 in epoch 3")
    assert "lr=1e+18 is probably too high" in rose
    assert len(diagnose(_history([0.5, 0.9], [0.9, 0.9]))) == 2
    assert "the learning rate is probably too high" in diagnose(_history([1.0], [1.0]))[0]
