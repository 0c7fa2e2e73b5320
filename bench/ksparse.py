"""Makhzani & Frey's k-sparse autoencoder on MNIST (issue 30): dead units and the linear probe.

    python bench/ksparse.py OUT_DIR [--variants NAME ...] [--probe-train N|all] [--epochs N]

Each variant is trained into ``OUT_DIR/NAME`` (a run directory, resumed if it is there already,
so an interrupted benchmark continues) on MNIST's 60000 training images, then measured on the
10000 test images: the dead fraction of the training code (k = 25: units that never fire on the
test split), the fraction of variance explained, and the test error of a logistic regression
(``npsae.probe``) fitted on the codes ``encode`` gives (alpha k = 75 units for the preset) of
the whole training split by default, as the paper did, beside the same probe on the pixels;
both standardised (npsae's probe) and raw (``standardise=False``).
Prints one Markdown row per variant, with the training time; OUT_DIR/results.json keeps them.

The variants:

- ``issue``, ``issue-auxk``: the issue's commands, ``npsae train --sparsity topk --k 25
  --n-hidden 1000 --hidden relu`` (sigmoid output), without and with ``--aux-k 256``;
- ``preset``: ``npsae train --preset ksparse-mnist``; ``preset-no-auxk``: the same without
  AuxK, ``preset-no-schedule``: without the schedule of k.

Makhzani & Frey's figure (their Table 1, MNIST, 1000 units, k = 25): 1.35 % test error.
Run it with OPENBLAS_NUM_THREADS=1 NUMBA_NUM_THREADS=1 on a shared machine; each variant takes
tens of minutes on one core.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from npsae import as_float, load_mnist, presets
from npsae.checkpoint import CHECKPOINT_FILE
from npsae.config import ModelConfig
from npsae.evaluation import measure
from npsae.model import SparseAutoencoder
from npsae.optim import Adam
from npsae.probe import encoding, linear_probe, protocol
from npsae.training import fit, resume

PAPER_ERROR = 0.0135  # Makhzani & Frey 2014, Table 1: k-sparse autoencoder, 1000 units, k = 25
PRESET = "ksparse-mnist"
ISSUE = dict(n_hidden=1000, hidden="relu", sparsity="topk", k=25)


def variants() -> dict[str, tuple[ModelConfig, str]]:
    """Name -> (the model's config, the command that trains it)."""
    preset = presets.get(PRESET)
    command = f"npsae train --preset {PRESET}"
    return {
        "issue": (
            ModelConfig(784, **ISSUE),
            "npsae train --sparsity topk --k 25 --n-hidden 1000 --hidden relu",
        ),
        "issue-auxk": (
            ModelConfig(784, **ISSUE, aux_k=256),
            "npsae train --sparsity topk --k 25 --n-hidden 1000 --hidden relu --aux-k 256",
        ),
        "preset": (preset.config(784), command),
        "preset-no-auxk": (preset.config(784, aux_k=None), f"{command} (aux_k=None)"),
        "preset-no-schedule": (
            preset.config(784, k_schedule=None),
            f"{command} (k_schedule=None)",
        ),
    }


def train(run_dir: Path, config: ModelConfig, epochs: int, X: np.ndarray) -> tuple:
    """Train (or resume) the run in ``run_dir``; returns (model, history, seconds trained)."""
    if (run_dir / CHECKPOINT_FILE).is_file():
        model, history = resume(run_dir, X, epochs, verbose=1)
    else:
        model = SparseAutoencoder.from_config(config)
        preset = presets.get(PRESET)
        history = fit(
            model, X, epochs, batch_size=preset.batch_size, optimizer=Adam(preset.lr),
            seed=config.seed, verbose=1, run_dir=run_dir, dataset={"name": "mnist"},
        )  # fmt: skip
    return model, history, float(np.sum(history["seconds"]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--variants", nargs="+", choices=list(variants()), default=["preset"])
    parser.add_argument("--epochs", type=int, default=presets.get(PRESET).epochs)
    parser.add_argument("--probe-train", default="all", help="training samples of the probe")
    args = parser.parse_args()
    X, y = load_mnist("train")
    X_test, y_test = load_mnist("test")
    n_probe = None if args.probe_train == "all" else int(args.probe_train)
    train_rows, test_rows = as_float(X[:n_probe]), as_float(X_test)
    pixels = linear_probe(train_rows, y[:n_probe], test_rows, y_test)
    raw_pixels = linear_probe(train_rows, y[:n_probe], test_rows, y_test, standardise=False)
    saved = args.out_dir / "results.json"
    results = json.loads(saved.read_text()) if saved.is_file() else {}
    print(
        "| variant | command | dead (test, k) | FVE | probe error: codes | pixels | "
        "codes, raw features | pixels, raw | training |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for name in args.variants:
        config, command = variants()[name]
        model, history, seconds = train(args.out_dir / name, config, args.epochs, X)
        test = measure(model, X_test)
        start = time.perf_counter()
        train_codes, test_codes = model.encode(train_rows), model.encode(test_rows)
        codes = linear_probe(train_codes, y[:n_probe], test_codes, y_test)
        raw = linear_probe(train_codes, y[:n_probe], test_codes, y_test, standardise=False)
        results[name] = {
            "command": command,
            "epochs": len(history),
            "dead_fraction": test["dead_fraction"],
            "fve": test["fve"],
            "probe_error_codes": 1 - codes,
            "probe_error_pixels": 1 - pixels,
            "probe_error_codes_raw": 1 - raw,
            "probe_error_pixels_raw": 1 - raw_pixels,
            "probe": protocol(len(train_rows), encoding(model.config)),
            "training_seconds": seconds,
            "probe_seconds": time.perf_counter() - start,
            "paper_error": PAPER_ERROR,
        }
        r = results[name]
        print(
            f"| {name} | `{command}` | {r['dead_fraction']:.1%} | {r['fve']:.3f} | "
            f"{r['probe_error_codes']:.2%} | {r['probe_error_pixels']:.2%} | "
            f"{r['probe_error_codes_raw']:.2%} | {r['probe_error_pixels_raw']:.2%} | "
            f"{len(history)} epochs, {seconds / 60:.0f} min |",
            flush=True,
        )
        saved.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
