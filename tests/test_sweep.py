"""npsae.sweep and ``npsae sweep``: grids, results, the Pareto plot, resuming, bad settings."""

import argparse
import csv
import json
import math

import numpy as np
import pytest

from npsae import make_superposition, sweep
from npsae.cli import sweep as sweep_cli
from npsae.model import SparseAutoencoder
from npsae.optim import Adam
from npsae.training import fit

PNG = b"\x89PNG\r\n\x1a\n"


def run_cli(*argv) -> int:
    parser = argparse.ArgumentParser(prog="npsae")
    sweep_cli.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["sweep", *map(str, argv)])
    return args.func(args)


@pytest.fixture(scope="module")
def small():
    """A small superposition problem: 12 features in 6 dimensions."""
    X, F = make_superposition(1200, 12, 6, 0.1, seed=0)
    return sweep.Data(X[:1000], X[1000:], None, None, F, {"name": "superposition-small"})


TINY = {"dataset": "superposition", "n_hidden": 12, "epochs": 2, "batch_size": 50}
GRIDS = {"topk": [1, 3], "l1": [0.003, 0.03]}


def test_a_sweep_writes_runs_results_and_the_pareto_plot(tmp_path, small):
    rows = sweep.run_sweep(tmp_path / "s", ["topk", "l1"], GRIDS, data=small, **TINY)
    assert [(r["variant"], r["value"]) for r in rows] == [
        ("topk", 1), ("topk", 3), ("l1", 0.003), ("l1", 0.03)
    ]  # fmt: skip
    again = sweep.read_results(tmp_path / "s")
    drop_nan = [{k: v for k, v in r.items() if k != "probe_accuracy"} for r in (*rows, *again)]
    assert drop_nan[:4] == drop_nan[4:]  # the CSV holds what run_sweep returned
    for row in rows:
        assert set(row) == set(sweep.COLUMNS)
        assert 0 <= row["fvu"] <= 1.5 and 0 <= row["dead_fraction"] <= 1
        assert 0 < row["mmcs"] <= 1 and math.isnan(row["probe_accuracy"])
        assert row["epochs"] == 2 and row["seconds"] > 0
    # TopK keeps at most k units on (fewer when some of the k largest are not positive).
    assert 0.5 < rows[0]["l0"] <= 1.0 and 2.0 < rows[1]["l0"] <= 3.0
    assert rows[2]["l0"] > rows[3]["l0"]  # a stronger L1 penalty: fewer units on
    assert rows[0]["fvu"] > rows[1]["fvu"]  # one unit reconstructs worse than three
    # Each point is a run directory npsae can reload, and its model gives the measured numbers.
    model = SparseAutoencoder.load(tmp_path / "s" / "runs" / "topk-k3" / "model.npz")
    again = sweep.measure(model, small.test, small.features)
    assert again["fvu"] == pytest.approx(rows[1]["fvu"]) and again["mmcs"] == rows[1]["mmcs"]
    assert (tmp_path / "s" / "pareto.png").read_bytes().startswith(PNG)
    settings = json.loads((tmp_path / "s" / "sweep.json").read_text())
    assert settings["epochs"] == 2 and settings["lr"] == 3e-3  # the superposition default
    header = (tmp_path / "s" / "results.csv").read_text().splitlines()[0]
    assert header == ",".join(sweep.COLUMNS)


def test_rerunning_skips_finished_points_and_resumes_an_interrupted_one(tmp_path, small):
    out = tmp_path / "s"
    first = sweep.run_sweep(out, ["topk"], {"topk": [2]}, data=small, **TINY)
    done = out / "runs" / "topk-k2" / "result.json"
    stamp = done.stat().st_mtime_ns
    # An interrupted point: one epoch of two trained, checkpointed, no result yet.
    point = sweep.Point("topk", "k", 4)
    model = sweep.build_model(point, 6, 12, seed=0)
    fit(model, small.train, 1, batch_size=50, optimizer=Adam(3e-3), verbose=0,
        run_dir=out / "runs" / point.name, dataset=small.description)  # fmt: skip
    rows = sweep.run_sweep(out, ["topk"], {"topk": [2, 4]}, data=small, **TINY)
    assert done.stat().st_mtime_ns == stamp and rows[0] == first[0]
    assert rows[1]["epochs"] == 2  # resumed to the sweep's two epochs
    straight = sweep.run_sweep(tmp_path / "t", ["topk"], {"topk": [4]}, data=small, **TINY)
    assert rows[1]["fvu"] == straight[0]["fvu"]  # bit-for-bit the uninterrupted run
    assert rows[1]["mmcs"] == straight[0]["mmcs"]


def test_a_folder_with_other_settings_or_other_files_is_refused(tmp_path, small):
    sweep.run_sweep(tmp_path / "s", ["topk"], {"topk": [1]}, data=small, **TINY)
    with pytest.raises(sweep.SweepError, match="holds a sweep with other settings.*epochs"):
        sweep.run_sweep(tmp_path / "s", ["topk"], {"topk": [1]}, data=small,
                        **{**TINY, "epochs": 3})  # fmt: skip
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep")
    with pytest.raises(sweep.SweepError, match="holds files but no sweep.json"):
        sweep.run_sweep(tmp_path / "mine", ["topk"], data=small, **TINY)
    assert sorted(p.name for p in (tmp_path / "mine").iterdir()) == ["notes.txt"]


@pytest.mark.parametrize(
    "variants, grids, message",
    [
        (["nope"], None, "variant 'nope' is not known"),
        (["topk"], {"topk": [2.5]}, "k=2.5 must be a whole number"),
        (["topk"], {"topk": [100]}, "topk-k100: k=100 must be an integer between 1 and"),
        (["l1"], {"l1": []}, "the grid of l1 is empty"),
    ],
)
def test_bad_grids_are_refused_before_training(tmp_path, small, variants, grids, message):
    with pytest.raises(sweep.SweepError, match=message):
        sweep.run_sweep(tmp_path / "s", variants, grids, data=small, **TINY)
    assert not (tmp_path / "s" / "runs").exists()


def test_matched_picks_the_point_closest_in_l0():
    rows = [
        {"variant": "a", "l0": 1.0}, {"variant": "a", "l0": 5.0}, {"variant": "b", "l0": 2.5},
    ]  # fmt: skip
    assert sweep.matched(rows, 4.0) == [rows[1], rows[2]]


def test_the_command_line_on_mnist_with_the_probe(mnist_root, tmp_path, capsys):
    out = tmp_path / "m"
    grids = ["--variants", "topk", "--grid", "topk=8", "--grid", "l1=0.001"]
    settings = ["--hidden", 16, "--epochs", 1, "--limit", 600, "--data-root", mnist_root]
    argv = [*grids, *settings, "--probe", "--quiet"]
    assert run_cli(out, *argv) == 0
    stdout = capsys.readouterr().out
    assert "topk" in stdout and "l1" in stdout and "linear probe on raw pixels: 0." in stdout
    rows = list(csv.DictReader((out / "results.csv").open()))
    assert [r["variant"] for r in rows] == ["topk", "l1"]
    for row in rows:
        assert 0.3 < float(row["probe_accuracy"]) <= 1  # ten classes: chance is 0.1
        assert row["mmcs"] == "nan"
    assert 1 < float(rows[0]["l0"]) <= 8.0
    assert 0.5 < sweep.read_baseline(out) <= 1
    # The same command again trains nothing.
    assert run_cli(out, *argv) == 0
    assert [r["seconds"] for r in csv.DictReader((out / "results.csv").open())] == [
        r["seconds"] for r in rows
    ]


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--grid", "topk"], "--grid topk: write VARIANT=V1,V2"),
        (["--grid", "topk=a,b"], "the values must be numbers"),
        (["--variants", "kl,nope"], "variant 'nope' is not known"),
        (["--epochs", "0"], "epochs=0 must be a positive integer"),
    ],
)
def test_the_command_line_names_bad_arguments(tmp_path, capsys, argv, message):
    assert run_cli(tmp_path / "s", "--dataset", "superposition", *argv) == 2
    stderr = capsys.readouterr().err
    assert stderr.startswith("npsae sweep: error:") and message in stderr
    assert "Traceback" not in stderr


def test_superposition_defaults_reach_the_goal_at_matched_l0(tmp_path):
    """The shipped settings, one point: L1 at L0 near 3 recovers the 64 directions in 32
    dimensions with MMCS >= 0.9 (the issue's goal, measured in full in bench/README.md)."""
    rows = sweep.run_sweep(tmp_path / "s", ["l1-decoder"], {"l1-decoder": [0.006]},
                           dataset="superposition")  # fmt: skip
    assert 2 < rows[0]["l0"] < 6
    assert rows[0]["mmcs"] >= 0.9
    assert np.isfinite(rows[0]["fvu"])
