"""The figures of a trained model, saved as PNG files, and the report of a run directory.

``save_figures`` draws every figure of ``npsae.plotting`` for a model on a sample of data and
saves them as PNG files; ``npsae train --out RUN_DIR`` calls it when training ends.
``write_report`` reads a run directory written by ``npsae.training.fit`` (``config.json``,
``history.csv``, ``model.npz``), reloads its test data, redraws the figures and writes one
self-contained ``report.html``: figures embedded as base64 PNG, the configuration and final
metrics in tables, and under each figure a caption saying what to look for.

matplotlib (through ``npsae.plotting``) is imported only when a figure is drawn, so that the
command line can read ``FIGURE_SAMPLES`` for its ``--help`` without it.
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from npsae import __version__
from npsae._fileio import atomic_write
from npsae.metrics import firing_threshold
from npsae.model import SparseAutoencoder
from npsae.probe import PROBE_TRAIN

if TYPE_CHECKING:
    from matplotlib.figure import Figure

REPORT_FILE = "report.html"
# Resolution of saved and embedded figures; figure sizes are chosen in inches for it.
DPI = 100
# Inputs shown in the reconstructions figure.
RECONSTRUCTIONS = 10
# Test samples the activation figures are drawn from, unless the caller says otherwise: by
# ``npsae train --out`` in the run directory, ``npsae report`` and ``write_report``.
FIGURE_SAMPLES = 2000
# Units on the feature page, and the inputs shown for each.
FEATURE_UNITS = 24
FEATURE_TOP = 8

# What a unit's filter should look like once trained, by data set.
_FILTER_HINTS = {
    "mnist": "pen strokes: short lines, arcs and blobs at different places of the digit",
    "fashion-mnist": "edges and parts of garments: outlines, sleeves, collars, soles",
    "bars": "single horizontal or vertical bars, one bar per unit",
}
_GENERIC_HINT = "local, stroke- or edge-like pieces of the images"


def _captions(dataset: str | None) -> dict[str, tuple[str, str]]:
    """Figure name -> (heading, caption for a student)."""
    hint = _FILTER_HINTS.get(dataset or "", _GENERIC_HINT)
    return {
        "reconstructions": (
            "Reconstructions",
            "Top row: test inputs; bottom row: what the autoencoder makes of them. Look for "
            "recognisable shapes: blur and missing thin strokes show what the code could not "
            "keep. Reconstructions that all look alike (an average image) mean the model has "
            "barely learned.",
        ),
        "encoder_filters": (
            "Encoder filters",
            "Each tile is one hidden unit's input weights (a column of W1), scaled to its own "
            "range: gray is 0, white positive, black negative. A unit responds to inputs that "
            f"look like its white parts. Look for {hint}. Tiles of pure noise are units that "
            "have not learned (too few epochs, or dead); tiles that look like whole images "
            "mean the code is not sparse.",
        ),
        "decoder_filters": (
            "Decoder filters",
            "Each tile is a row of W2: the image a unit adds to the reconstruction when it "
            "fires, scaled as above. These are usually smoother than the encoder filters and "
            f"should show the same parts: {hint}.",
        ),
        "rho_hat": (
            "Mean activation per unit (rho^)",
            "Each bar is one unit's mean activation over the test sample; the dashed line, "
            "drawn for the KL penalty, is its target rho. Look for bars near the line: that is the "
            "sparsity penalty at work. A few very tall bars are units that fire for almost "
            "everything; bars at zero are dead units.",
        ),
        "codes": (
            "Codes of two units",
            "Each point is a test image placed by the activations of the two units with the "
            "largest variance, coloured by its label. Look for colours that gather in "
            "different places: a unit that fires for some classes and not others carries "
            "information about the class, though it was never shown a label. Points on the "
            "axes are images for which one unit is silent, as a sparse code wants.",
        ),
        "activation_density": (
            "How often units fire",
            "Histogram over hidden units of log10 of the fraction of test images each unit "
            "fires on. Look for one bump well below 0: every unit fires, but rarely. Units "
            "near 0 fire on nearly every image (not sparse); dead units never fire and are "
            "counted in the title.",
        ),
        "features": (
            "Feature page",
            "One row per unit (the most often firing first): its decoder row, then the test "
            "inputs on which it fires most strongly, and on the left the fraction of test inputs "
            "it fires on (its firing density). Look for rows whose inputs share a part, the "
            "one its decoder row draws: that unit stands for a feature. Rows of unrelated "
            "inputs, or densities near 100%, are units that do not stand for anything in "
            f"particular. Expected parts here: {hint}.",
        ),
        "history": (
            "Training history",
            "The loss and its terms per epoch, on the training batches, and the validation "
            "loss on the test split when there was one. Look for curves that fall and then "
            "flatten; a validation loss that rises while the training loss falls means "
            "overfitting. The sparsity and weight-decay terms often rise while the "
            "reconstruction falls: that is the trade-off the penalties set.",
        ),
    }


# --------------------------------------------------------------------------- figures


def model_figures(
    model: SparseAutoencoder,
    X: np.ndarray,
    labels: np.ndarray | None = None,
    history: Any = None,
    shape: Sequence[int] | None = None,
) -> dict[str, Figure]:
    """Every figure of a model on the data ``X``, by name, in the order a report shows them.

    ``X``: float rows ``(m, n_in)`` in [0, 1], or uint8 images ``(m, h, w)`` / ``(m, n_in)``;
    the first ``RECONSTRUCTIONS`` rows are reconstructed, all ``m`` feed the activation figures
    (a few thousand are plenty). ``labels: (m,)`` colour the codes figure. ``history``: a
    ``History`` or dict of columns; the history figure is drawn when it holds an epoch.
    ``shape``: the image shape ``(h, w)``; by default that of 3-D ``X``, else the most nearly
    square shape of ``n_in`` pixels (``plotting.infer_shape``).

    Names: reconstructions, encoder_filters, decoder_filters, rho_hat, codes (needs at
    least two hidden units), activation_density, features (the feature page of up to
    ``FEATURE_UNITS`` live units; left out when every unit is dead), history.
    """
    from npsae import plotting

    X = np.asarray(X)
    if shape is None:
        shape = X.shape[1:] if X.ndim == 3 else plotting.infer_shape(model.n_in)
    shape = tuple(int(s) for s in shape)
    if len(shape) != 2 or shape[0] * shape[1] != model.n_in:
        raise ValueError(f"shape={shape} does not hold the model's {model.n_in} inputs")
    if X.ndim not in (2, 3):
        raise ValueError(f"X must be rows (m, n_in) or images (m, h, w), got shape {X.shape}")
    X = model.as_input(X.reshape(len(X), -1))
    if labels is not None:
        labels = np.asarray(labels)
        if labels.shape != (len(X),):
            raise ValueError(
                f"labels must have shape ({len(X)},), one per row of X, got {labels.shape}"
            )
    config = model.config
    H = model.encode(X)
    n = min(RECONSTRUCTIONS, len(X))
    figures = {
        "reconstructions": plotting.reconstructions(X[:n], model.reconstruct(X[:n]), n, shape),
        "encoder_filters": plotting.filters(model.params["W1"], shape, axis=1),
        "decoder_filters": plotting.filters(model.params["W2"], shape, axis=0),
        # The target line, for a penalty that has one (KL's rho).
        "rho_hat": plotting.rho_hat(H, rho=getattr(model.sparsity, "rho", None)),
    }
    if model.n_hidden >= 2:
        # Units 0 and 1 may well be dead; the most variable pair shows the most structure.
        busiest = np.argsort(H.var(axis=0), kind="stable")[::-1][:2]
        figures["codes"] = plotting.codes(H, labels, units=tuple(int(u) for u in busiest))
    threshold = firing_threshold(config["hidden"])
    figures["activation_density"] = plotting.activation_density(H, threshold=threshold)
    if np.any(H > threshold):
        figures["features"] = plotting.feature_page(
            H, X, model.params["W2"], shape, top=FEATURE_TOP, threshold=threshold,
            max_units=FEATURE_UNITS,
        )  # fmt: skip
    if history is not None and _epochs(history):
        figures["history"] = plotting.history(history)
    return figures


def _epochs(history: Any) -> int:
    from npsae import plotting

    for key, _ in plotting.HISTORY_TERMS:
        if key in history:
            return len(history[key])
    return 0


def save_figures(
    run_dir: str | os.PathLike,
    model: SparseAutoencoder,
    X: np.ndarray,
    labels: np.ndarray | None = None,
    history: Any = None,
    shape: Sequence[int] | None = None,
) -> dict[str, Path]:
    """Draw ``model_figures(model, X, labels, history, shape)`` and save each one, atomically,
    as ``run_dir/<name>.png``. Returns name -> path. ``X: (m, n_in)`` rows or ``(m, h, w)``."""
    run_dir = Path(run_dir)
    paths = {}
    for name, fig in model_figures(model, X, labels, history, shape).items():
        path = run_dir / f"{name}.png"
        with atomic_write(path, "wb") as f:
            fig.savefig(f, format="png", dpi=DPI)
        paths[name] = path
    return paths


# --------------------------------------------------------------------------- the run report


def write_report(
    run_dir: str | os.PathLike,
    samples: int = FIGURE_SAMPLES,
    X: np.ndarray | None = None,
    labels: np.ndarray | None = None,
    data_root: str | os.PathLike | None = None,
    probe: bool = False,
    train: tuple[np.ndarray, np.ndarray] | None = None,
    probe_train: int | None = PROBE_TRAIN,
) -> Path:
    """Write ``run_dir/report.html`` for the training run in ``run_dir`` and return its path.

    The model comes from ``model.npz``, the settings from ``config.json``, the per-epoch rows
    from ``history.csv`` (optional). The test data is ``X`` (rows ``(N, n_in)`` or images
    ``(N, h, w)``, with ``labels: (N,)``) when given, else the test split of the data set the
    run recorded: MNIST or Fashion-MNIST (read from ``data_root``, by default the root the run
    used; never downloaded), the bars problem (regenerated) or a folder of IDX files. The test
    reconstruction error is measured on all of it, the figures on its first ``samples`` rows.
    Without test data (a run that recorded no data set) the report holds the filters and the
    history only, and says why.

    ``probe=True`` adds the linear probe (``npsae.probe``, needs ``npsae[eval]``): a logistic
    regression fitted on the codes of the first ``probe_train`` training samples (None: all of
    them, as Makhzani & Frey did), scored on the whole test set, against the same probe on the
    raw pixels; the page states its protocol (``npsae.probe.protocol``). The training samples
    are ``train = (images, labels)`` when given, else the training split of the run's data
    set; the test set must have labels.

    Raises FileNotFoundError when ``run_dir``, its config or its model is missing,
    NotADirectoryError when ``run_dir`` is a file, ValueError (with the file name) when one
    is malformed or the data does not fit the model, and ``MissingExtraError`` for the probe
    without scikit-learn. The page warns, with the likely cause, when the run ended with most
    units dead or a loss above its first epoch's (``history.diagnose``).
    """
    from npsae import plotting
    from npsae.checkpoint import CHECKPOINT_FILE, CONFIG_FILE, HISTORY_FILE
    from npsae.evaluation import measure
    from npsae.history import History, diagnose

    if isinstance(samples, bool) or not isinstance(samples, (int, np.integer)) or samples < 1:
        raise ValueError(f"samples={samples!r} must be a positive integer")
    run_dir = Path(run_dir)
    if run_dir.exists() and not run_dir.is_dir():
        raise NotADirectoryError(
            f"{run_dir}: a file, not a folder; give the run directory of `npsae train --out`"
        )
    if not run_dir.is_dir():
        raise FileNotFoundError(
            f"{run_dir}: no such folder; give the run directory of `npsae train --out`"
        )
    config = _read_config(run_dir / CONFIG_FILE)
    model_path = run_dir / CHECKPOINT_FILE
    if not model_path.is_file():
        raise FileNotFoundError(f"{model_path}: missing; {run_dir} holds no trained model")
    # Inference on a few thousand rows is quick in NumPy, and Numba would first compile.
    model = SparseAutoencoder.load(model_path, backend="numpy")
    history_path = run_dir / HISTORY_FILE
    history = History.read_csv(history_path) if history_path.is_file() else None
    dataset = _dataset(config.get("training", {}).get("dataset"))
    notes = []
    if history is not None:
        optimizer = config.get("training", {}).get("optimizer")
        lr = optimizer.get("lr") if isinstance(optimizer, dict) else None
        notes += [f"Warning: {w}." for w in diagnose(history, lr, model.config)]
    if X is None:
        X, labels, note = _test_data(dataset, data_root, model.n_in)
        if note:
            notes.append(note)
    if probe and X is None:
        raise ValueError("the linear probe needs labelled test data, and this run has none")
    test = None
    if X is not None:
        test = measure(model, X)
        X = np.asarray(X)
        if labels is not None:
            labels = np.asarray(labels)
            if labels.shape != (len(X),):
                raise ValueError(
                    f"labels must have shape ({len(X)},), one per test sample, got {labels.shape}"
                )
        if probe:
            if labels is None:
                raise ValueError("the linear probe needs labelled test data, and these have none")
            if train is None:
                train = _train_data(dataset, data_root)
            test.update(_probe(model, train, X, labels, probe_train))
        if labels is not None:
            labels = labels[:samples]
        figures = model_figures(model, X[:samples], labels, history)
    else:
        shape = plotting.infer_shape(model.n_in)
        figures = {
            "encoder_filters": plotting.filters(model.params["W1"], shape, axis=1),
            "decoder_filters": plotting.filters(model.params["W2"], shape, axis=0),
        }
        if history is not None and len(history):
            figures["history"] = plotting.history(history)
    page = _html(run_dir, config, model, history, test, figures, dataset.get("name"), notes)
    path = run_dir / REPORT_FILE
    with atomic_write(path, "w") as f:
        f.write(page)
    return path


def _probe(
    model: SparseAutoencoder,
    train: tuple[np.ndarray, np.ndarray],
    X: np.ndarray,
    labels,
    probe_train: int | None,
) -> dict:
    """Linear-probe accuracies on the codes and on the pixels of the test set ``X``, with the
    probe's protocol; the first ``probe_train`` training samples (None: all)."""
    from npsae.probe import encoding, linear_probe, protocol

    if probe_train is not None and (
        isinstance(probe_train, bool)
        or not isinstance(probe_train, (int, np.integer))
        or probe_train < 1
    ):
        raise ValueError(f"probe_train={probe_train!r} must be a positive integer or None (all)")
    test = model.as_input(X.reshape(len(X), -1), "test images")
    images, train_labels = train
    images = np.asarray(images)[:probe_train]
    train_rows = model.as_input(images.reshape(len(images), -1), "training images")
    train_labels = np.asarray(train_labels)[:probe_train]
    return {
        "probe_codes": linear_probe(
            model.encode(train_rows), train_labels, model.encode(test), labels
        ),
        "probe_pixels": linear_probe(train_rows, train_labels, test, labels),
        "probe_train": len(train_rows),
        "probe_protocol": protocol(len(train_rows), encoding(model.config)),
    }


def _train_data(dataset: dict, data_root: str | os.PathLike | None) -> tuple:
    """(images, labels) of the training split of the run's data set, for the probe."""
    from npsae import datasets

    name = dataset.get("name")
    if name in ("mnist", "fashion-mnist"):
        root = data_root if data_root is not None else dataset.get("root")
        return datasets.load_mnist("train", root=root, kind=name, download=False)
    if name == "idx" and dataset.get("path"):
        return datasets.load_idx_folder(dataset["path"], "train")
    raise ValueError(
        f"the linear probe needs labelled training data, and the run's data set "
        f"({_describe(name)}) has no labels"
    )


def _read_config(path: Path) -> dict:
    if not path.is_file():
        raise FileNotFoundError(
            f"{path}: missing; is {path.parent} a run directory written by `npsae train --out`?"
        )
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as err:
        raise ValueError(f"{path}: not valid JSON ({err})") from err
    if not isinstance(config, dict) or not isinstance(config.get("model"), dict):
        raise ValueError(f"{path}: has no 'model' settings; not a config written by npsae")
    if not isinstance(config.get("training", {}), dict):
        raise ValueError(f"{path}: 'training' should be a JSON object")
    return config


def _dataset(recorded: Any) -> dict:
    """The recorded data set as a dict with a "name": "mnist", "fashion-mnist", "bars", "idx"
    (with "path") or none at all. ``npsae train`` records a dict; a bare name or folder path
    is accepted too."""
    if isinstance(recorded, dict):
        return recorded
    if isinstance(recorded, str):
        if recorded in ("mnist", "fashion-mnist", "bars"):
            return {"name": recorded}
        return {"name": "idx", "path": recorded}
    return {}


def _test_data(
    dataset: dict, data_root: str | os.PathLike | None, n_in: int
) -> tuple[np.ndarray | None, np.ndarray | None, str | None]:
    """(images, labels or None, a note or None) of the test split of the run's data set."""
    from npsae import datasets

    name = dataset.get("name")
    if name in ("mnist", "fashion-mnist"):
        root = data_root if data_root is not None else dataset.get("root")
        images, labels = datasets.load_mnist("test", root=root, kind=name, download=False)
        return images, labels, None
    if name == "bars":
        size = math.isqrt(n_in)
        if size * size != n_in:
            raise ValueError(f"a bars model has a square number of inputs, not {n_in}")
        X, _ = datasets.bars_split("test", size=size)  # as `npsae train` drew it
        return X, None, None
    if name == "idx" and dataset.get("path"):
        folder = Path(dataset["path"])
        if all(datasets.find_idx_file(folder, f) for f in datasets.FILES["test"]):
            images, labels = datasets.load_idx_folder(folder, "test")
            return images, labels, None
        return None, None, f"{folder} has no test split, so there are no test figures."
    return (
        None,
        None,
        "The run does not record its data set, so there is no test data: only the filters and "
        "the history are shown. From Python, pass X= (and labels=) to write_report.",
    )


# --------------------------------------------------------------------------- HTML

_STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #222;
       margin: 0; background: #fafafa; line-height: 1.45; }
main { max-width: 60rem; margin: 0 auto; padding: 1.5rem; background: #fff; }
h1 { margin-top: 0; }
h2 { border-bottom: 1px solid #ddd; padding-bottom: 0.2rem; margin-top: 2rem; }
table { border-collapse: collapse; margin: 0.5rem 0 1rem; }
th, td { text-align: left; padding: 0.2rem 0.8rem; border-bottom: 1px solid #eee;
         vertical-align: top; }
th { font-weight: 600; color: #444; }
td { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; }
figure { margin: 1.5rem 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { color: #444; max-width: 48rem; }
.note { background: #fff6d6; border-left: 4px solid #e0b000; padding: 0.5rem 0.8rem; }
footer { color: #777; font-size: 0.9rem; margin-top: 2rem; }
"""


def _html(
    run_dir: Path,
    config: dict,
    model: SparseAutoencoder,
    history: Any,
    test: dict | None,
    figures: dict[str, Figure],
    dataset: str | None,
    notes: list[str],
) -> str:
    e = html.escape
    title = f"npsae run report: {run_dir.resolve().name}"
    epochs = len(history) if history is not None else 0
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{e(title)}</title>",
        f"<style>{_STYLE}</style>",
        "</head>",
        "<body>",
        "<main>",
        f"<h1>{e(title)}</h1>",
        f"<p>{e(_architecture(model.config))}, trained {epochs} epochs on "
        f"{e(_describe(dataset))}. "
        f"Run directory: <code>{e(str(run_dir.resolve()))}</code>.</p>",
    ]
    parts += [f'<p class="note">{e(note)}</p>' for note in notes]
    parts.append("<h2>Final metrics</h2>")
    metrics = _metrics(model, history, test)
    parts.append(_table(metrics) if metrics else "<p>No epochs recorded yet.</p>")
    parts.append("<h2>Figures</h2>")
    captions = _captions(dataset)
    for name, fig in figures.items():
        heading, caption = captions[name]
        parts += [
            f'<figure id="{e(name)}">',
            f"<h3>{e(heading)}</h3>",
            f'<img src="data:image/png;base64,{_png_base64(fig)}" alt="{e(heading)}">',
            f"<figcaption>{e(caption)}</figcaption>",
            "</figure>",
        ]
    parts.append("<h2>Configuration</h2>")
    for section in ("model", "training"):
        if isinstance(config.get(section), dict):
            parts += [f"<h3>{section.capitalize()}</h3>", _table(_flatten(config[section]))]
    version = config.get("npsae_version", "unknown")
    parts += [
        f"<footer>Trained with npsae {e(str(version))}; report written by npsae "
        f"{e(__version__)}.</footer>",
        "</main>",
        "</body>",
        "</html>",
        "",
    ]
    return "\n".join(parts)


def _architecture(c: dict) -> str:
    sparsity = c["sparsity"] or "no sparsity penalty"
    return (
        f"Sparse autoencoder {c['n_in']} -> {c['n_hidden']} {c['hidden']} -> {c['n_in']} "
        f"{c['output']}, {c['recon']} + {sparsity}"
    )


def _describe(dataset: str | None) -> str:
    if dataset == "idx":
        return "a folder of IDX files"
    return dataset or "data the run does not record"


def _metrics(model: SparseAutoencoder, history: Any, test: dict | None) -> dict[str, Any]:
    """Label -> value: the last epoch's history row, then the test-set measures."""
    metrics: dict[str, Any] = {}
    if history is not None and len(history):
        last = history.rows[-1]
        for column, value in last.items():
            if isinstance(value, float) and math.isnan(value):
                continue  # the validation columns of a run without validation data
            metrics[f"last epoch: {column}"] = value
    if test is not None:
        recon = model.config["recon"]
        metrics["test: samples"] = test["samples"]
        metrics["test: loss (total)"] = test["loss"]
        metrics[f"test: reconstruction error ({recon})"] = test["recon"]
        if recon != "mse":
            metrics["test: mean squared error per pixel"] = test["mse"]
        metrics["test: fraction of variance explained"] = test["fve"]
        if "probe_codes" in test:
            metrics["linear probe accuracy: codes"] = test["probe_codes"]
            metrics["linear probe accuracy: raw pixels"] = test["probe_pixels"]
            metrics["linear probe: training samples"] = test["probe_train"]
            metrics["linear probe: protocol"] = test["probe_protocol"]
    return metrics


def _flatten(d: dict, prefix: str = "") -> dict[str, Any]:
    """Nested dicts as one level: {"optimizer": {"lr": 0.001}} -> {"optimizer.lr": 0.001}."""
    flat: dict[str, Any] = {}
    for key, value in d.items():
        if isinstance(value, dict) and value:
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _format(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.6g}"
    if isinstance(value, (int, np.integer, str)):
        return str(value)
    return json.dumps(value, default=str)


def _table(rows: dict[str, Any]) -> str:
    body = "".join(
        f'<tr><th scope="row">{html.escape(str(key))}</th><td>{html.escape(_format(value))}</td>'
        "</tr>"
        for key, value in rows.items()
    )
    return f"<table><tbody>{body}</tbody></table>"


def _png_base64(fig: Figure) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI)
    return base64.b64encode(buffer.getvalue()).decode("ascii")
