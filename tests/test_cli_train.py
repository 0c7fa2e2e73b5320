"""``npsae train``: an end-to-end run on MNIST, resume, presets, data sets, and bad arguments."""

import argparse
import json

import numpy as np
import pytest

from npsae import datasets
from npsae._fileio import load_npz
from npsae.cli import train
from npsae.idx import write_idx
from npsae.model import SparseAutoencoder
from npsae.training import fit


def run_train(*argv) -> int:
    parser = argparse.ArgumentParser(prog="npsae")
    train.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["train", *map(str, argv)])
    return args.func(args)


def test_end_to_end_on_an_mnist_slice(mnist_root, tmp_path, capsys):
    out = tmp_path / "run"
    assert run_train("--limit", 2000, "--epochs", 2, "--data-root", mnist_root, "--out", out) == 0
    stdout, stderr = capsys.readouterr()
    assert "784 -> 64 relu -> 784 sigmoid, mse + kl" in stdout
    assert "epoch 1/2  8 steps" in stdout and "epoch 2/2  8 steps" in stdout
    assert "trained 2 epochs: final loss" in stdout
    assert "test set (10000 images): recon (mse) " in stdout
    # The KL-with-ReLU warning comes once, as a note, not as a Python warning.
    assert stderr.count("note: KL sparsity assumes hidden activations in (0, 1)") == 1
    assert "Warning" not in stderr
    config = json.loads((out / "config.json").read_text())
    assert config["model"]["hidden"] == "relu" and config["model"]["n_hidden"] == 64
    assert config["model"]["rho"] == 0.05 and config["model"]["beta"] == 0.1
    assert config["training"]["optimizer"]["lr"] == 0.001
    assert config["training"]["batch_size"] == 256 and config["training"]["shuffle"]
    assert config["training"]["dataset"]["name"] == "mnist"
    assert config["training"]["dataset"]["limit"] == 2000
    assert SparseAutoencoder.load(out / "model.npz").n_in == 784
    assert len((out / "history.csv").read_text().splitlines()) == 3
    figures = [line.split(": ", 1)[1] for line in stdout.splitlines() if line.startswith("figure")]
    assert figures and all((tmp_path / f).exists() or (out / f).exists() for f in figures)


def test_resume_from_the_command_line_equals_an_uninterrupted_run(tmp_path, capsys):
    common = ("--dataset", "bars", "--limit", 1000, "--hidden", 16, "--quiet")
    assert run_train(*common, "--epochs", 3, "--out", tmp_path / "straight") == 0
    assert run_train(*common, "--epochs", 2, "--out", tmp_path / "cut") == 0
    assert run_train("--resume", tmp_path / "cut", "--epochs", 3, "--quiet") == 0
    a, b = (load_npz(tmp_path / d / "model.npz") for d in ("straight", "cut"))
    assert all(np.array_equal(a[k], b[k]) for k in a if k != "state/training")
    stdout, stderr = capsys.readouterr()
    assert "epoch 1/" not in stdout  # --quiet: the results only...
    # ...but a warning about the configuration still goes to stderr, once per new run.
    lines = stderr.splitlines()
    assert len(lines) == 2 and all(
        line.startswith("npsae train: note: KL sparsity assumes") for line in lines
    )
    assert stdout.count("trained 3 epochs") == 2 and stdout.count("test set (2000 images)") == 3


def test_preset_ufldl_and_explicit_options_overriding_it(tmp_path, capsys):
    out = tmp_path / "ufldl"
    argv = ("--dataset", "bars", "--preset", "ufldl", "--hidden", 12, "--epochs", 1)
    assert run_train(*argv, "--beta", 1, "--out", out, "--quiet") == 0
    config = json.loads((out / "config.json").read_text())
    model = config["model"]
    assert (model["n_in"], model["n_hidden"], model["beta"]) == (64, 12, 1.0)  # overrides
    assert model["hidden"] == "sigmoid" and model["recon"] == "sse" and model["rho"] == 0.1
    assert model["weight_decay"] == 3e-3 and model["init"] == "ufldl"
    assert config["training"]["optimizer"]["lr"] == 3e-3
    assert "test set (2000 images): recon (sse) " in capsys.readouterr().out


def test_a_folder_of_idx_files_with_and_without_a_test_split(tmp_path, capsys):
    rng = np.random.default_rng(0)
    folder = tmp_path / "idx"
    for name, n in (("train", 60), ("t10k", 30)):
        write_idx(folder / f"{name}-images-idx3-ubyte", rng.integers(0, 256, (n, 5, 6), np.uint8))
        write_idx(folder / f"{name}-labels-idx1-ubyte.gz", rng.integers(0, 3, n, np.uint8))
    argv = ("--dataset", folder, "--hidden", 4, "--sparsity", "none", "--epochs", 2)
    assert run_train(*argv, "--batch-size", 16, "--out", tmp_path / "run") == 0
    stdout, stderr = capsys.readouterr()
    assert (tmp_path / "run" / "reconstructions.png").exists()  # 5 x 6 images drawn as such
    assert "30 -> 4 relu -> 30 sigmoid, mse + None" in stdout and "epoch 2/2  4 steps" in stdout
    assert "test set (30 images)" in stdout and stderr == ""
    for name in ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte.gz"):
        (folder / name).unlink()
    assert run_train(*argv, "--quiet") == 0
    assert "test set" not in capsys.readouterr().out


@pytest.fixture
def finished_run(tmp_path):
    """A 2-epoch run directory recorded as an MNIST run (made quickly on random data)."""
    X = np.random.default_rng(0).integers(0, 256, (50, 784), np.uint8)
    description = {"name": "mnist", "root": str(tmp_path), "limit": 50}
    fit(SparseAutoencoder(784, 4), X, epochs=2, run_dir=tmp_path / "done", dataset=description,
        verbose=0)  # fmt: skip
    return tmp_path / "done"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--epochs", 0], "--epochs 0: must be a positive integer"),
        (["--epochs", -3], "--epochs -3: must be a positive integer"),
        (["--hidden", 0], "--hidden 0: must be a positive integer"),
        (["--batch-size", 0], "--batch-size 0: must be a positive integer"),
        (["--limit", 0], "--limit 0: must be a positive number of images"),
        (["--rho", 1], "--rho 1.0: a target mean activation lies in (0, 1)"),
        (["--rho", 0], "--rho 0.0: a target mean activation lies in (0, 1)"),
        (["--beta", -1], "--beta -1.0: must be a finite number >= 0"),
        (["--weight-decay", "nan"], "--weight-decay nan: must be a finite number >= 0"),
        (["--lr", 0], "--lr 0.0: the learning rate must be a number > 0"),
        (["--dataset", "/no/such/folder"], "neither mnist, fashion-mnist, bars nor an existing"),
        (["--dataset", "{empty}"], "the folder lacks train-images-idx3-ubyte and train-labels"),
        (["--resume", "{empty}"], "model.npz: no checkpoint there"),
        (["--resume", "{run}", "--hidden", 8], "drop --hidden (only --epochs, --data-root and"),
        (["--resume", "{run}", "--epochs", 1], "has done 2 epochs already; give more"),
        (["--out", "{run}"], "holds a run already; continue it with --resume"),
        (["--sparsity", "topk"], "give k exactly when sparsity='topk'"),
        (["--activation", "sigmoid", "--sparsity", "topk", "--k", 3], "use hidden='relu'"),
        (["--activation", "relu", "--sparsity", "topk", "--k", 99], "k=99 must be an integer"),
        (["--seed", -1], "--seed -1: must be an integer >= 0"),
        (["--hidden", 100000000], "--hidden 100000000: a model of this many units would need"),
        (["--out", "{mine}"], "--out {mine}: not empty and not an npsae run (config.json would"),
        (["--out", "{file}/run"], "cannot be made: {file} is a file, not a folder"),
        (["--resume", "{file}"], "--resume {file}: {file}/model.npz: no checkpoint there"),
    ],
)
def test_bad_arguments_are_refused_before_any_work(
    argv, message, tmp_path, finished_run, monkeypatch, capsys
):
    def no_loading(*args, **kwargs):
        raise AssertionError("data was loaded before the arguments were checked")

    monkeypatch.setattr(datasets, "load_mnist", no_loading)
    monkeypatch.setattr(datasets, "make_bars", no_loading)
    (tmp_path / "empty").mkdir()
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "config.json").write_text("{}")
    (tmp_path / "file").write_text("")
    paths = {
        "{empty}": tmp_path / "empty",
        "{run}": finished_run,
        "{mine}": tmp_path / "mine",
        "{file}": tmp_path / "file",
    }
    for name, path in paths.items():
        argv = [str(a).replace(name, str(path)) for a in argv]
        message = message.replace(name, str(path))
    assert run_train(*argv) == 2
    stderr = capsys.readouterr().err
    assert stderr.startswith("npsae train: error: ") and message in stderr
    assert "Traceback" not in stderr and stderr.count("\n") == 1
    assert (tmp_path / "mine" / "config.json").read_text() == "{}"


def test_out_and_resume_together_are_an_argparse_error(capsys):
    with pytest.raises(SystemExit) as info:
        run_train("--out", "a", "--resume", "b")
    assert info.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err


@pytest.mark.parametrize(
    "variant",
    [["--sparsity", "topk", "--k", 3], ["--sparsity", "l1-decoder", "--beta", 0.05]],
    ids=["topk", "l1-decoder"],
)
def test_modern_variants_on_bars_report_the_recovered_bars(variant, capsys):
    argv = ["--dataset", "bars", "--hidden", 24, "--activation", "relu", "--output", "linear"]
    argv += ["--recon", "sse", "--lr", 3e-3, "--epochs", 20, "--batch-size", 64, "--quiet"]
    assert run_train(*argv, *variant) == 0
    stdout = capsys.readouterr().out
    assert "bars recovered: 16 of 16" in stdout
    assert "L0 " in stdout and "dead units" in stdout


# --------------------------------------------------------------------------- issue 16


def test_out_refuses_a_folder_of_the_users_files_and_overwrites_nothing(tmp_path, capsys):
    mine = tmp_path / "d"
    mine.mkdir()
    (mine / "config.json").write_text("{}")
    assert run_train("--dataset", "bars", "--epochs", 1, "--out", mine) == 2
    assert "config.json would be overwritten" in capsys.readouterr().err
    assert [p.name for p in mine.iterdir()] == ["config.json"]
    assert (mine / "config.json").read_text() == "{}"
    empty = tmp_path / "empty"
    empty.mkdir()
    assert run_train("--dataset", "bars", "--epochs", 1, "--hidden", 4, "--out", empty) == 0
    assert (empty / "model.npz").is_file() and (empty / "history.png").is_file()


def test_an_unwritable_out_folder_is_refused_before_any_data_or_training(
    tmp_path, monkeypatch, capsys
):
    import tempfile

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    def no_loading(*args, **kwargs):
        raise AssertionError("data was loaded before the folder was checked")

    monkeypatch.setattr(tempfile, "mkdtemp", denied)
    monkeypatch.setattr(datasets, "make_bars", no_loading)
    out = tmp_path / "exists"
    out.mkdir()
    for folder in (out, tmp_path / "new"):
        assert run_train("--dataset", "bars", "--out", folder) == 2
        stderr = capsys.readouterr().err
        assert stderr == (
            f"npsae train: error: --out {folder}: cannot be written (Permission denied: "
            f"{out if folder == out else tmp_path})\n"
        )
    assert not (tmp_path / "new").exists()


def test_out_of_memory_is_one_line_not_a_traceback(monkeypatch, capsys):
    from npsae import training

    def too_big(*args, **kwargs):
        raise MemoryError("Unable to allocate 47.7 GiB for an array with shape (64, 100000000)")

    monkeypatch.setattr(training, "fit", too_big)
    assert run_train("--dataset", "bars", "--activation", "sigmoid", "--quiet") == 1
    stderr = capsys.readouterr().err
    assert stderr.startswith("npsae train: error: out of memory (Unable to allocate 47.7 GiB")
    assert stderr.count("\n") == 1


def test_a_run_that_blew_up_without_nan_ends_with_warnings(tmp_path, capsys):
    argv = ("--dataset", "bars", "--hidden", 16, "--epochs", 5, "--limit", 1000, "--quiet")
    assert run_train(*argv, "--lr", 100) == 0
    stderr = capsys.readouterr().err
    assert (
        "\nnpsae train: warning: " in stderr
        and "of the hidden units never fired in the last epoch" in stderr
    )
    assert "Likely cause: the learning rate lr=100 is probably too high" in stderr
    assert run_train(*argv, "--activation", "sigmoid", "--lr", 0.01) == 0  # a healthy run
    assert "warning" not in capsys.readouterr().err


def test_a_linear_output_with_a_huge_learning_rate_warns_that_the_loss_rose(capsys):
    argv = ("--dataset", "bars", "--hidden", 16, "--epochs", 3, "--limit", 500, "--quiet")
    assert run_train(*argv, "--output", "linear", "--lr", 1e18) == 0
    stderr = capsys.readouterr().err
    assert "warning: the loss rose over the run, from " in stderr and "lr=1e+18" in stderr


def test_the_memory_estimate_knows_the_shape_of_a_folder_of_idx_files(tmp_path):
    write_idx(tmp_path / "train-images-idx3-ubyte.gz", np.zeros((3, 5, 6), np.uint8))
    assert train._data_shape(str(tmp_path)) == (3, 30)
    assert train._data_shape("bars") == (10_000, 64)
    assert train._data_shape("fashion-mnist") == (60_000, 784)
    (tmp_path / "train-images-idx3-ubyte.gz").write_bytes(b"garbage")  # loading will say so
    assert train._data_shape(str(tmp_path)) == (60_000, 784)


def test_a_batch_size_beyond_the_data_is_no_memory_problem(capsys):
    argv = ("--dataset", "bars", "--activation", "sigmoid", "--epochs", 1, "--quiet")
    assert run_train(*argv, "--batch-size", 10**9) == 0
    assert "trained 1 epochs" in capsys.readouterr().out


def test_the_test_set_summary_is_measured_once(monkeypatch, capsys):
    from npsae import evaluation

    calls = []
    measure = evaluation.measure

    def counting(model, X, *args, **kwargs):
        calls.append(len(X))
        return measure(model, X, *args, **kwargs)

    monkeypatch.setattr(evaluation, "measure", counting)
    argv = ("--dataset", "bars", "--hidden", "sigmoid", "--n-hidden", 16, "--epochs", 1)
    assert run_train(*argv, "--limit", 500, "--quiet") == 0
    assert calls == [2000]
    assert "test set (2000 images): recon (mse) " in capsys.readouterr().out


@pytest.mark.filterwarnings("error")  # a Python warning escaping the command would fail here
def test_kl_with_relu_units_is_noted_once_per_run(tmp_path, capsys):
    argv = ("--dataset", "bars", "--hidden", "relu", "--sparsity", "kl", "--n-hidden", 16)
    assert run_train(*argv, "--epochs", 3, "--limit", 500, "--out", tmp_path / "run") == 0
    stdout, stderr = capsys.readouterr()
    assert stderr.count("KL sparsity assumes hidden activations in (0, 1)") == 1
    assert stderr.startswith("npsae train: note: KL sparsity assumes") and "Warning" not in stderr
    assert "epoch 3/3" in stdout
    sigmoid = ("--dataset", "bars", "--hidden", "sigmoid", "--sparsity", "kl", "--quiet")
    assert run_train(*sigmoid, "--epochs", 1, "--limit", 500) == 0
    assert "note:" not in capsys.readouterr().err  # sigmoid units: nothing to note
