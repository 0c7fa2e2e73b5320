"""Sweeps: train a grid of models for each sparsity variant and measure where each one lands.

A sparse autoencoder trades reconstruction for sparsity. To compare variants fairly, train each
at several strengths of its sparsity knob (TopK's and BatchTopK's k, L1's and JumpReLU's
beta, KL's rho) and plot the fraction
of variance unexplained against L0, the mean number of units firing per sample: the Pareto plot
of the sparse-autoencoder literature. A variant whose curve lies lower at the same L0
reconstructs better with as few units on.

For every grid point, on the test split::

    L0   = (1/m) sum_i #{j : H_ij > t}           (t: the firing threshold of the hidden units)
    FVU  = sum_i ||x_i - x^_i||^2 / sum_i ||x_i - xbar||^2   (= 1 - fraction of variance explained)
    dead = #{j : unit j fires on no test sample} / n_hidden

and, on superposition data, the mean max cosine similarity (MMCS) of the decoder rows to the
true directions; with ``probe=True``, the test accuracy of a linear probe on the codes
(``npsae.probe``, MNIST labels), against the same probe on the raw pixels.

The output folder::

    sweep.json        the settings; a re-run with other settings is refused
    runs/<point>/     one run directory per grid point (config.json, history.csv, model.npz,
                      result.json): `npsae report` and `npsae export` work on it
    results.csv       one row per finished point (rewritten, atomically, after each one)
    baseline.json     the probe's accuracy on raw pixels (with probe=True)
    pareto.png        the Pareto plot

A point is finished when its ``result.json`` exists (written atomically, last); re-running the
same sweep skips finished points and resumes a point interrupted mid-training from its last
epoch's checkpoint, so an interrupted sweep loses at most one epoch.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import IO

import numpy as np

from npsae import __version__, metrics
from npsae._fileio import atomic_write
from npsae.datasets import as_float, load_mnist, make_superposition
from npsae.model import SparseAutoencoder
from npsae.penalties import SWEEP_VARIANTS, Variant

SETTINGS_FILE = "sweep.json"
RESULTS_FILE = "results.csv"
BASELINE_FILE = "baseline.json"
PARETO_FILE = "pareto.png"
RESULT_FILE = "result.json"
RUNS = "runs"
FORMAT = 1
DATASETS = ("mnist", "fashion-mnist", "superposition")

# The superposition problem a sweep trains on: 2x more features than dimensions, 3.2 features
# on per sample on average; one draw of train + test samples, so both share the directions.
SUPERPOSITION = {"n_features": 64, "n_dims": 32, "p": 0.05, "n_train": 20000, "n_test": 5000}

# Training settings by data set: MNIST as the Keras tutorial trains it, with twice the units;
# the small superposition problem takes smaller batches and a larger step.
TRAINING = {
    "mnist": {"n_hidden": 128, "epochs": 10, "lr": 1e-3, "batch_size": 256},
    "superposition": {"n_hidden": 64, "epochs": 20, "lr": 3e-3, "batch_size": 64},
}

#: The columns of results.csv, in order.
COLUMNS = (
    "variant",
    "param",
    "value",
    "l0",
    "fvu",
    "dead_fraction",
    "mse",
    "mmcs",
    "recovered",
    "probe_accuracy",
    "seconds",
    "epochs",
)


# Each penalty declares its variants and their grids (npsae.penalties); every variant decodes
# linearly with an mse loss, so that their reconstructions compare.
VARIANTS: dict[str, Variant] = SWEEP_VARIANTS

DEFAULT_VARIANTS = tuple(name for name, variant in VARIANTS.items() if variant.default)


class SweepError(ValueError):
    """A sweep cannot start: bad variants or grids, or a folder holding a different sweep."""


@dataclasses.dataclass(frozen=True)
class Point:
    """One grid point: a variant and the value of its swept keyword."""

    variant: str
    param: str
    value: float | int

    @property
    def name(self) -> str:
        """The folder name of its run directory, e.g. ``topk-k16`` or ``l1-beta0.0003``."""
        return f"{self.variant}-{self.param}{self.value:g}"


@dataclasses.dataclass
class Data:
    """What a sweep trains and measures on."""

    train: np.ndarray  # uint8 images or float rows
    test: np.ndarray  # float rows (m, n_in)
    train_labels: np.ndarray | None
    test_labels: np.ndarray | None
    features: np.ndarray | None  # the true directions, for superposition data
    description: dict  # recorded in each run's config.json


def data_kind(dataset: str) -> str:
    """The key of ``TRAINING`` and ``Variant.grids`` for a data set name."""
    if dataset not in DATASETS:
        raise SweepError(f"dataset {dataset!r} is not known; choose one of {', '.join(DATASETS)}")
    return "superposition" if dataset == "superposition" else "mnist"


def grid_points(
    variants: Sequence[str], grids: dict[str, Sequence[float]] | None, dataset: str
) -> list[Point]:
    """The points of a sweep: for each variant its ``grids[variant]`` values, else its default
    grid for ``dataset``. Values of k must be whole numbers."""
    kind = data_kind(dataset)
    grids = dict(grids or {})
    names = list(dict.fromkeys([*variants, *grids]))
    unknown = [v for v in names if v not in VARIANTS]
    if unknown:
        raise SweepError(f"variant {unknown[0]!r} is not known; choose among {', '.join(VARIANTS)}")
    if not names:
        raise SweepError("no variant to sweep")
    points = []
    for name in names:
        grid = VARIANTS[name].grid(kind)
        values = grids.get(name, grid.values)
        if len(values) == 0:
            raise SweepError(f"the grid of {name} is empty")
        for value in values:
            if grid.param == "k":
                if float(value) != int(value):
                    raise SweepError(f"{name}: k={value!r} must be a whole number of units")
                value = int(value)
            points.append(Point(name, grid.param, value))
    return list(dict.fromkeys(points))


def build_model(
    point: Point, n_in: int, n_hidden: int, seed: int = 0, dataset: str = "mnist"
) -> SparseAutoencoder:
    """The model of a grid point: its variant's ``model`` and its grid's ``model`` for the
    data set, with the swept value, a linear output and an mse reconstruction loss."""
    variant = VARIANTS[point.variant]
    config = {**variant.model, **variant.grid(data_kind(dataset)).model, point.param: point.value}
    try:
        return SparseAutoencoder(n_in, n_hidden, output="linear", recon="mse", seed=seed, **config)
    except ValueError as err:
        raise SweepError(f"{point.name}: {err}") from err


def load_data(
    dataset: str, limit: int | None = None, data_root: str | os.PathLike | None = None
) -> Data:
    """The training and test data of a sweep. MNIST and Fashion-MNIST come from the data root
    (downloaded if missing), the superposition problem from ``make_superposition`` with the
    settings of ``SUPERPOSITION`` and seed 0. ``limit`` keeps the first N training samples."""
    kind = data_kind(dataset)
    if kind == "superposition":
        s = SUPERPOSITION
        X, features = make_superposition(
            s["n_train"] + s["n_test"], s["n_features"], s["n_dims"], s["p"], seed=0
        )
        train, test = X[: s["n_train"]], X[s["n_train"] :]
        data = Data(train, test, None, None, features, {"name": "superposition", **s})
    else:
        from npsae.datasets import data_root as find_root

        train, train_labels = load_mnist("train", root=data_root, kind=dataset, progress=False)
        test, test_labels = load_mnist("test", root=data_root, kind=dataset, progress=False)
        description = {"name": dataset, "root": str(find_root(data_root).resolve())}
        data = Data(train, as_float(test), train_labels, test_labels, None, description)
    if limit is not None:
        data.train = data.train[:limit]
        if data.train_labels is not None:
            data.train_labels = data.train_labels[:limit]
    data.description["limit"] = limit
    return data


def measure(model: SparseAutoencoder, X: np.ndarray, features: np.ndarray | None = None) -> dict:
    """L0, FVU, dead fraction and mse of ``model`` on ``X: (m, n_in)``, and with the true
    ``features: (n_features, n_in)`` the MMCS and the number of features recovered (cosine
    similarity above 0.9). NaN where a measure does not apply."""
    H = model.encode(X)
    X_hat = model.decode(H)
    threshold = metrics.firing_threshold(model.config["hidden"])
    rows = np.asarray(X, np.float64)
    result = {
        "l0": metrics.l0(H, threshold),
        "fvu": 1.0 - metrics.fraction_variance_explained(rows, X_hat),
        "dead_fraction": metrics.dead_fraction(metrics.fire_counts(H, threshold)),
        "mse": float(np.mean(np.square(rows - X_hat))),
        "mmcs": math.nan,
        "recovered": math.nan,
    }
    if features is not None:
        W2 = model.params["W2"]
        result["mmcs"] = metrics.mmcs(features, W2)
        result["recovered"] = float(metrics.features_recovered(features, W2))
    return result


def run_sweep(
    out_dir: str | os.PathLike,
    variants: Sequence[str] = DEFAULT_VARIANTS,
    grids: dict[str, Sequence[float]] | None = None,
    dataset: str = "mnist",
    n_hidden: int | None = None,
    epochs: int | None = None,
    lr: float | None = None,
    batch_size: int | None = None,
    seed: int = 0,
    limit: int | None = None,
    probe: bool = False,
    data: Data | None = None,
    data_root: str | os.PathLike | None = None,
    progress: IO[str] | None = None,
) -> list[dict]:
    """Train and measure every grid point not finished yet in ``out_dir``; return all rows.

    ``variants``: names of ``VARIANTS``; ``grids``: ``{variant: values}`` replacing a variant's
    default grid (a variant named only there is swept too). ``n_hidden``, ``epochs``, ``lr``
    and ``batch_size`` default to ``TRAINING`` for the data set; Adam optimises, ``seed`` seeds
    the weights and the batch order. ``limit`` keeps the first N training samples. ``probe``
    adds the linear probe (needs labels and ``npsae[eval]``). ``data`` replaces the data set
    named by ``dataset`` (tests pass small data). ``progress``: a stream for a progress bar and
    one line per finished point; silent by default.

    Raises SweepError when the settings are invalid or ``out_dir`` holds a sweep with other
    settings, MissingExtraError when the probe is asked for without scikit-learn.
    """
    from npsae.probe import PROBE_TRAIN, linear_probe

    points = grid_points(variants, grids, dataset)
    training = {**TRAINING[data_kind(dataset)]}
    given = {"n_hidden": n_hidden, "epochs": epochs, "lr": lr, "batch_size": batch_size}
    training.update({k: v for k, v in given.items() if v is not None})
    for name in ("n_hidden", "epochs", "batch_size"):
        value = training[name]
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise SweepError(f"{name}={value!r} must be a positive integer")
    if not (math.isfinite(training["lr"]) and training["lr"] > 0):
        raise SweepError(f"lr={training['lr']!r} must be a number > 0")
    if limit is not None and limit < 1:
        raise SweepError(f"limit={limit!r} must be a positive number of samples")
    if probe:
        from npsae._extras import require
        from npsae.probe import EXTRA

        require("sklearn", EXTRA, "the linear probe")
    out_dir = Path(out_dir)
    settings = {"format": FORMAT, "dataset": dataset, "seed": int(seed), "limit": limit,
                **training}  # fmt: skip
    if data_kind(dataset) == "superposition":
        settings["superposition"] = SUPERPOSITION
    _claim(out_dir, settings)
    if data is None:
        data = load_data(dataset, limit, data_root)
    if probe and (data.train_labels is None or data.test_labels is None):
        raise SweepError(f"the linear probe needs labels, and the {dataset} data have none")
    n_in = int(np.prod(data.train.shape[1:]))
    for point in points:  # a bad value is refused before any training
        build_model(point, n_in, training["n_hidden"], seed, dataset)

    def probe_codes(model: SparseAutoencoder) -> float:
        train = model.as_input(data.train[:PROBE_TRAIN].reshape(-1, n_in))
        return linear_probe(
            model.encode(train), data.train_labels[:PROBE_TRAIN],
            model.encode(data.test), data.test_labels,
        )  # fmt: skip

    if probe and not (out_dir / BASELINE_FILE).is_file():
        pixels = data.train[:PROBE_TRAIN].reshape(-1, n_in)
        pixels = as_float(pixels) if pixels.dtype == np.uint8 else pixels
        baseline = {"probe_pixels": linear_probe(
            pixels, data.train_labels[:PROBE_TRAIN], data.test, data.test_labels
        )}  # fmt: skip
        _write_json(out_dir / BASELINE_FILE, baseline)

    done = {p.name for p in points if (out_dir / RUNS / p.name / RESULT_FILE).is_file()}
    bar = _bar(len(points), len(done), progress)
    try:
        for point in points:
            run_dir = out_dir / RUNS / point.name
            if point.name in done:
                if probe and math.isnan(_read_json(run_dir / RESULT_FILE)["probe_accuracy"]):
                    result = _read_json(run_dir / RESULT_FILE)
                    model = SparseAutoencoder.load(run_dir / "model.npz")
                    result["probe_accuracy"] = probe_codes(model)
                    _write_json(run_dir / RESULT_FILE, result)
                continue
            if bar is not None:
                bar.set_postfix_str(point.name)
            model, history = _train(point, run_dir, data, training, seed, dataset)
            result = {"variant": point.variant, "param": point.param, "value": point.value}
            result.update(measure(model, data.test, data.features))
            result["probe_accuracy"] = probe_codes(model) if probe else math.nan
            result["seconds"] = float(np.sum(history["seconds"]))
            result["epochs"] = len(history)
            _write_json(run_dir / RESULT_FILE, result)
            _write_results(out_dir, points)
            if bar is not None:
                bar.write(_describe(result), file=progress)
                bar.update()
    finally:
        if bar is not None:
            bar.close()
    rows = _write_results(out_dir, points)
    from npsae.plotting import pareto

    fig = pareto(rows, title=f"{dataset}: sparsity against reconstruction")
    with atomic_write(out_dir / PARETO_FILE, "wb") as f:
        fig.savefig(f, format="png", dpi=100)
    return rows


def _train(point: Point, run_dir: Path, data: Data, training: dict, seed: int, dataset: str):
    from npsae.checkpoint import CHECKPOINT_FILE
    from npsae.optim import Adam
    from npsae.training import fit, resume

    if (run_dir / CHECKPOINT_FILE).is_file():
        return resume(run_dir, data.train, training["epochs"], verbose=0)
    n_in = int(np.prod(data.train.shape[1:]))
    model = build_model(point, n_in, training["n_hidden"], seed, dataset)
    history = fit(
        model,
        data.train,
        training["epochs"],
        batch_size=training["batch_size"],
        optimizer=Adam(lr=training["lr"]),
        seed=seed,
        verbose=0,
        run_dir=run_dir,
        dataset=data.description,
    )
    return model, history


def _claim(out_dir: Path, settings: dict) -> None:
    """Record the settings in ``out_dir/sweep.json``, or check they match those recorded."""
    path = out_dir / SETTINGS_FILE
    if out_dir.exists() and not out_dir.is_dir():
        raise SweepError(f"{out_dir}: exists and is not a folder")
    if path.is_file():
        try:
            recorded = json.loads(path.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as err:
            raise SweepError(f"{path}: not valid JSON ({err})") from err
        recorded.pop("npsae_version", None)
        if recorded != settings:
            changed = sorted(
                k for k in set(recorded) | set(settings) if recorded.get(k) != settings.get(k)
            )
            raise SweepError(
                f"{out_dir} holds a sweep with other settings ({', '.join(changed)} differ: "
                f"{ {k: recorded.get(k) for k in changed} } there); re-run it with the same "
                "settings to continue it, or sweep into another folder"
            )
        return
    if out_dir.is_dir() and any(out_dir.iterdir()):
        raise SweepError(
            f"{out_dir}: a folder that holds files but no {SETTINGS_FILE}; npsae does not mix "
            "a sweep into other files: choose an empty or new folder"
        )
    _write_json(path, {**settings, "npsae_version": __version__})


def read_results(out_dir: str | os.PathLike) -> list[dict]:
    """The rows of ``out_dir/results.csv`` as dicts (numbers as floats, k as int)."""
    path = Path(out_dir) / RESULTS_FILE
    with open(path, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    for row in rows:
        for key in COLUMNS[2:]:
            row[key] = float(row[key])
        if row["param"] == "k":
            row["value"] = int(row["value"])
        row["epochs"] = int(row["epochs"])
    return rows


def read_baseline(out_dir: str | os.PathLike) -> float | None:
    """The linear probe's accuracy on raw pixels recorded in ``out_dir``, or None."""
    path = Path(out_dir) / BASELINE_FILE
    return float(_read_json(path)["probe_pixels"]) if path.is_file() else None


def matched(rows: Sequence[dict], target_l0: float) -> list[dict]:
    """For each variant, in order of appearance, the row whose L0 is closest to ``target_l0``
    (closest on a log scale, as the Pareto plot draws L0)."""
    best: dict[str, tuple[float, dict]] = {}
    for row in rows:
        gap = abs(math.log(max(row["l0"], 1e-9) / target_l0))
        if row["variant"] not in best or gap < best[row["variant"]][0]:
            best[row["variant"]] = (gap, row)
    return [row for _, row in best.values()]


def _write_results(out_dir: Path, points: Sequence[Point]) -> list[dict]:
    """Rewrite results.csv from the finished points' result.json files; return the rows."""
    rows = []
    for point in points:
        path = out_dir / RUNS / point.name / RESULT_FILE
        if path.is_file():
            rows.append(_read_json(path))
    with atomic_write(out_dir / RESULTS_FILE, "w") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(COLUMNS)
        for row in rows:
            writer.writerow([row[c] if isinstance(row[c], str) else repr(row[c]) for c in COLUMNS])
    return rows


def _describe(row: dict) -> str:
    """One line for a finished point."""
    parts = [
        f"{row['variant']} {row['param']}={row['value']:g}:",
        f"L0 {row['l0']:.1f}",
        f"FVU {row['fvu']:.3f}",
        f"dead {row['dead_fraction']:.0%}",
    ]
    if not math.isnan(row["mmcs"]):
        parts.append(f"MMCS {row['mmcs']:.3f}")
    if not math.isnan(row["probe_accuracy"]):
        parts.append(f"probe {row['probe_accuracy']:.3f}")
    parts.append(f"{row['seconds']:.0f} s")
    return "  ".join(parts)


def _bar(total: int, done: int, stream: IO[str] | None):
    if stream is None:
        return None
    from tqdm import tqdm

    return tqdm(total=total, initial=done, desc="sweep", unit="point", file=stream)


def _write_json(path: Path, value: dict) -> None:
    with atomic_write(path, "w") as f:
        json.dump(value, f, indent=2)
        f.write("\n")


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as err:
        raise SweepError(f"{path}: not valid JSON ({err})") from err
