"""Training: the mini-batch loop (``fit``), its per-epoch ``History``, checkpoints in a run
directory, and ``resume``.

One epoch is one pass over the data in mini-batches::

    order = permutation of the N samples     # np.random.default_rng([seed, epoch]), epoch from 1
    for each batch B of ``batch_size`` samples in that order (the last one may be smaller):
        loss, grads = model.forward_backward(X[B])
        params <- optimizer step on grads     # in place
        model.update_statistics(H)            # BatchTopK's threshold, AuxK's dead units

Because each epoch's order depends only on ``(seed, epoch)``, a run resumed from the checkpoint
of epoch k replays exactly the batches an uninterrupted run would have seen, and ends with
bit-for-bit the same parameters (given the same backend and BLAS thread count).

A run directory, when ``fit`` is given one, holds after every epoch (each file written
atomically, the checkpoint last)::

    config.json    {"model": model.config, "training": {...}, "npsae_version": ...}
    history.csv    one row per epoch, the columns of ``History``
    model.npz      the model (``SparseAutoencoder.load`` reads it; its buffers included, so a
                   resumed run sees the same BatchTopK threshold and AuxK dead units) plus
                   "state/epoch",
                   "state/training" (JSON) and "state/optim/..." (the optimiser's moments)
"""

from __future__ import annotations

import csv
import dataclasses
import json
import math
import os
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import IO, Any, Protocol

import numpy as np

from npsae import __version__
from npsae._fileio import atomic_write, check_writable, is_temporary, load_npz, remove_temporaries
from npsae.kernels import gather_pixels
from npsae.metrics import ActivationStats, VarianceExplained, firing_threshold
from npsae.model import TERMS, SparseAutoencoder
from npsae.optim import Adam, Optimizer, from_config

CONFIG_FILE = "config.json"
HISTORY_FILE = "history.csv"
CHECKPOINT_FILE = "model.npz"
# Version of the "state/training" record; a checkpoint with another one is refused.
TRAINING_FORMAT = 1

#: The columns of ``History``, in order.
COLUMNS = (
    "epoch",
    "loss",
    "recon",
    "sparsity",
    "decay",
    "val_loss",
    "val_recon",
    "mean_activation",
    "dead_fraction",
    "l0",
    "seconds",
)

# Rows of float data validated for NaN/inf per chunk, to bound the temporary boolean array.
_CHECK_CHUNK = 8192


class TrainingDiverged(FloatingPointError):
    """A loss term became NaN or infinite; ``epoch``, ``step`` and ``term`` say where."""

    def __init__(self, message: str, epoch: int, step: int, term: str) -> None:
        super().__init__(message)
        self.epoch, self.step, self.term = epoch, step, term


class Callback(Protocol):
    """Anything with this method can be passed in ``fit(callbacks=...)``.

    ``on_epoch_end`` is called after each epoch's row is recorded (and checkpointed), with the
    epoch number (from 1), that row (a dict of the ``History`` columns) and the model. Returning
    True stops training after this epoch, e.g. for early stopping.
    """

    def on_epoch_end(self, epoch: int, row: dict, model: SparseAutoencoder) -> bool | None: ...


# --------------------------------------------------------------------------- History


class History:
    """Per-epoch training record: one row (dict) per epoch, the columns of ``COLUMNS``.

    ``loss``, ``recon``, ``sparsity``, ``decay``: the loss terms averaged over the epoch's
    batches, weighted by batch size (so they are measured while the parameters move, as Keras
    reports them), and ``aux`` after ``decay`` for a model with AuxK (``model.terms``);
    ``val_loss``, ``val_recon``: the same on the validation data after the epoch
    (NaN without validation data); ``mean_activation``, ``dead_fraction``, ``l0``: hidden-layer
    statistics over the epoch's batches (see ``npsae.metrics``); ``seconds``: wall time of the
    epoch, validation included.

    ``history["loss"]`` is a column as a NumPy array, ``"loss" in history`` tests for a column
    (the validation columns are always there, NaN without validation), ``len(history)`` counts
    epochs and ``history.rows`` is the list of dicts.
    """

    def __init__(self, rows: Iterable[dict] = ()) -> None:
        self.rows: list[dict] = []
        for row in rows:
            self.append(row)

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(self.rows[0]) if self.rows else COLUMNS

    def append(self, row: dict) -> None:
        """Add one epoch's row; every row must have the same columns."""
        if self.rows and set(row) != set(self.rows[0]):
            raise ValueError(f"row columns {sorted(row)} differ from {sorted(self.rows[0])}")
        self.rows.append(dict(row))

    def __getitem__(self, key: str) -> np.ndarray:
        if key not in self.columns:
            raise KeyError(f"{key!r} is not a history column; they are {', '.join(self.columns)}")
        dtype = np.int64 if key == "epoch" else np.float64
        return np.array([row[key] for row in self.rows], dtype=dtype)

    def __contains__(self, key: object) -> bool:
        return key in self.columns

    def __len__(self) -> int:
        return len(self.rows)

    def __repr__(self) -> str:
        if not self.rows:
            return "History(0 epochs)"
        return f"History({len(self)} epochs, final loss {self.rows[-1]['loss']:.4g})"

    def to_csv(self, path: str | os.PathLike) -> None:
        """Write the rows to ``path`` as CSV with a header, atomically; floats round-trip."""
        with atomic_write(path, "w") as f:
            writer = csv.writer(f, lineterminator="\n")
            writer.writerow(self.columns)
            for row in self.rows:
                writer.writerow(
                    [row[c] if c == "epoch" else repr(float(row[c])) for c in self.columns]
                )

    @classmethod
    def read_csv(cls, path: str | os.PathLike) -> History:
        """Read a file written by ``to_csv``; ValueError naming the file if it is malformed."""
        with open(path, encoding="utf-8", newline="") as f:
            lines = [line for line in csv.reader(f) if line]
        if not lines:
            raise ValueError(f"{path}: empty, not a history written by npsae")
        header = lines[0]
        rows = []
        for number, values in enumerate(lines[1:], start=2):
            if len(values) != len(header):
                raise ValueError(
                    f"{path}: line {number} has {len(values)} values for {len(header)} columns"
                )
            try:
                rows.append(
                    {
                        c: int(v) if c == "epoch" else float(v)
                        for c, v in zip(header, values, strict=True)
                    }
                )
            except ValueError as err:
                raise ValueError(f"{path}: line {number}: {err}") from err
        return cls(rows)


# --------------------------------------------------------------------------- data


def _as_rows(X: np.ndarray, n_in: int, name: str = "X") -> np.ndarray:
    """``X`` as an (N, n_in) array without converting it: uint8 pixels or floats, checked."""
    X = np.asarray(X)
    if X.ndim < 2:
        raise ValueError(f"{name} must have one sample per row, got shape {X.shape}")
    rows = X.reshape(len(X), -1)
    if rows.shape[1] != n_in:
        raise ValueError(f"{name} has samples of {rows.shape[1]} values; the model takes {n_in}")
    if len(rows) == 0:
        raise ValueError(f"{name} is empty: it has no samples")
    if X.dtype != np.uint8:
        if X.dtype.kind != "f":
            raise ValueError(f"{name} must be uint8 images or float rows, not {X.dtype}")
        for lo in range(0, len(rows), _CHECK_CHUNK):
            if not np.isfinite(rows[lo : lo + _CHECK_CHUNK]).all():
                raise ValueError(f"{name} contains NaN or infinite values")
    return rows


class _Batches:
    """Copies the chosen rows of X into one reused buffer of the model's dtype.

    uint8 pixels are divided by 255 on the way, so the float data set never exists in full.
    """

    def __init__(self, rows: np.ndarray, dtype: np.dtype, batch_size: int) -> None:
        self.rows = rows
        self.dtype = dtype
        self.buffer = np.empty((min(batch_size, len(rows)), rows.shape[1]), dtype)

    def __call__(self, index: np.ndarray) -> np.ndarray:
        out = self.buffer[: len(index)]
        if self.rows.dtype == np.uint8:
            return gather_pixels(self.rows, index, out)  # one pass instead of copy then divide
        if self.rows.dtype == self.dtype:
            return np.take(self.rows, index, axis=0, out=out)
        out[...] = self.rows[index]
        return out


def evaluate(
    model: SparseAutoencoder, X: np.ndarray, batch_size: int = 256, seed: int | None = 0
) -> dict:
    """The loss terms of ``model`` on ``X`` (uint8 images or float rows), in batches.

    Each term is averaged over batches of ``batch_size`` weighted by their size, the way ``fit``
    measures the training loss. For ``recon`` (a mean over samples) that is exactly the value
    on the whole set. The KL penalty depends on each batch's mean activation, so it depends on
    which samples share a batch: the batches are drawn in the fixed random order
    ``np.random.default_rng(seed).permutation(N)``, random samples as in training. (MNIST's
    files keep similar images together; in data order, ``seed=None``, the KL of a trained
    model's test set comes out about three times its value on random batches.)

    Returns floats ``loss`` (the total), ``recon``, ``sparsity``, ``decay`` (and ``aux`` with
    AuxK), and ``mse`` = sum (x - x^)^2 / (N n_in), whatever the recon loss. BatchTopK selects
    within each batch here, as in training.
    """
    rows = _as_rows(X, model.n_in)
    order = None if seed is None else np.random.default_rng(seed).permutation(len(rows))
    sums = dict.fromkeys(("total", *model.terms), 0.0)
    for lo in range(0, len(rows), batch_size):
        chunk = rows[lo : lo + batch_size] if order is None else rows[order[lo : lo + batch_size]]
        terms = model.loss(chunk)
        for k in sums:
            sums[k] += terms[k] * len(chunk)
    result = {("loss" if k == "total" else k): v / len(rows) for k, v in sums.items()}
    # mse = sum d^2 / (N n_in) and sse = sum d^2 / (2 N): one is a multiple of the other.
    scale = 1.0 if model.config["recon"] == "mse" else 2.0 / model.n_in
    result["mse"] = result["recon"] * scale
    return result


def summarize(model: SparseAutoencoder, X: np.ndarray, batch_size: int = 256) -> dict:
    """How well and how sparsely ``model`` codes ``X`` (uint8 images or float rows), measured a
    batch of rows at a time, so that memory stays near one batch whatever the size of X.

    Returns floats ``fve`` (``metrics.fraction_variance_explained``), ``l0``,
    ``dead_fraction`` and ``mean_activation`` (as ``metrics.ActivationStats`` defines them),
    over all of X.
    """
    rows = _as_rows(X, model.n_in)
    fve = VarianceExplained(model.n_in)
    stats = ActivationStats(model.n_hidden, firing_threshold(model.config["hidden"]))
    for lo in range(0, len(rows), batch_size):
        batch = model.as_input(rows[lo : lo + batch_size])
        H = model.encode(batch)
        fve.update(batch, model.decode(H))
        stats.update(H)
    return {
        "fve": fve.value,
        "l0": stats.l0,
        "dead_fraction": stats.dead_fraction,
        "mean_activation": stats.mean_activation,
    }


# Above this fraction of dead units at the end of a run, ``diagnose`` warns.
DEAD_WARNING = 0.5


def diagnose(history: History, lr: float | None = None) -> list[str]:
    """Warnings about a run that ended without error but did not train well, with the likely
    cause: most hidden units dead in the last epoch (a fraction above ``DEAD_WARNING``), or a
    final loss above the first epoch's. ``lr``, the learning rate, is quoted when given."""
    if not len(history):
        return []
    rate = "the learning rate" if lr is None else f"the learning rate lr={lr:g}"
    cause = f"{rate} is probably too high: try one 3 to 10 times smaller"
    first, last = history.rows[0], history.rows[-1]
    warnings = []
    if last["dead_fraction"] > DEAD_WARNING:
        warnings.append(
            f"{last['dead_fraction']:.0%} of the hidden units never fired in the last epoch "
            f"(dead units, which no longer learn). Likely cause: {cause}"
        )
    if len(history) > 1 and last["loss"] > first["loss"]:
        warnings.append(
            f"the loss rose over the run, from {first['loss']:.4g} in epoch {first['epoch']} to "
            f"{last['loss']:.4g} in epoch {last['epoch']}. Likely cause: {cause}"
        )
    return warnings


def check_run_dir(run_dir: str | os.PathLike) -> None:
    """Check, before any training, that ``fit`` may start a new run in ``run_dir``.

    The folder must be new or empty, so that no file of the user's is ever overwritten
    (temporary files a killed run left do not count), and writable. Raises ValueError naming
    the folder and the fault: it holds a run already, holds other files (named), is a file, or
    cannot be written.
    """
    run_dir = Path(run_dir)
    if (run_dir / CHECKPOINT_FILE).exists():
        raise ValueError(
            f"{run_dir / CHECKPOINT_FILE} exists: {run_dir} holds a run already; "
            "continue it with resume() or train into another folder"
        )
    if run_dir.is_dir():
        found = sorted(p.name for p in run_dir.iterdir() if not is_temporary(p.name))
        if found:
            overwritten = [name for name in found if name in (CONFIG_FILE, HISTORY_FILE)]
            if overwritten:
                what = f"{' and '.join(overwritten)} would be overwritten"
            else:
                shown = ", ".join(found[:3]) + (f" and {len(found) - 3} more" if found[3:] else "")
                what = f"it holds {shown}"
            raise ValueError(
                f"{run_dir}: not empty and not an npsae run ({what}); a new run goes into a new "
                "or empty folder"
            )
    check_writable(run_dir)


# --------------------------------------------------------------------------- fit and resume


def fit(
    model: SparseAutoencoder,
    X: np.ndarray,
    epochs: int,
    batch_size: int = 256,
    optimizer: Optimizer | None = None,
    shuffle: bool = True,
    seed: int = 0,
    validation: np.ndarray | None = None,
    callbacks: Sequence[Callback] = (),
    verbose: int = 1,
    run_dir: str | os.PathLike | None = None,
    dataset: Any = None,
    file: IO[str] | None = None,
) -> History:
    """Train ``model`` in place on ``X`` for ``epochs`` epochs of mini-batch steps.

    Args:
        model: the autoencoder; its parameters are updated in place.
        X: the training set: uint8 images (N, 28, 28) or (N, 784), converted batch by batch
            into one reused buffer (so memory stays near the size of the uint8 data), or float
            rows (N, n_in).
        epochs: number of passes over X, >= 1.
        batch_size: samples per step; the last, partial batch of an epoch is used too.
        optimizer: default ``Adam()``; its state carries over between calls.
        shuffle: visit the samples in a fresh order each epoch, drawn from
            ``np.random.default_rng([seed, epoch])``; otherwise in order.
        seed: seeds the order (the model's own seed fixed its initial weights).
        validation: data of the same kind as X; ``val_loss`` and ``val_recon`` are measured on
            it after each epoch with ``evaluate``.
        callbacks: objects with ``on_epoch_end`` (see ``Callback``).
        verbose: 0 silent; >= 1 one line per epoch, plus a progress bar within the epoch when
            ``file`` is a terminal.
        run_dir: if given, a folder that receives ``config.json``, ``history.csv`` and the
            checkpoint ``model.npz`` after every epoch (see ``resume``). It must be new or
            empty, and writable.
        dataset: a JSON-ready description of X (e.g. "mnist" or a dict) recorded in the config.
        file: where progress goes (default ``sys.stdout``).

    Returns:
        The ``History``, one row per epoch.

    Raises:
        TrainingDiverged: a loss term became NaN or infinite; the message names the epoch, the
            step and the term, and the last checkpoint is left as it was.
        ValueError: invalid arguments or data, or a ``run_dir`` that is not new or empty, or
            cannot be written (see ``check_run_dir``).
    """
    _check_positive("epochs", epochs)
    _check_positive("batch_size", batch_size)
    rows = _as_rows(X, model.n_in)
    if validation is not None:
        _as_rows(validation, model.n_in, "validation")
    optimizer = Adam() if optimizer is None else optimizer
    if run_dir is not None:
        check_run_dir(run_dir)
        if Path(run_dir).is_dir():
            remove_temporaries(run_dir)  # all the folder holds, if anything
    training = {
        "format": TRAINING_FORMAT,
        "epochs": int(epochs),
        "batch_size": int(batch_size),
        "seed": int(seed),
        "shuffle": bool(shuffle),
        "optimizer": optimizer.config,
        "dataset": dataset,
        "n_samples": len(rows),
    }
    run = _Run(model, rows, optimizer, training, History(), run_dir, validation, verbose, file)
    return run.train(start=0, callbacks=callbacks)


@dataclasses.dataclass
class Checkpoint:
    """What ``read_checkpoint`` finds in a run directory."""

    model: SparseAutoencoder
    optimizer: Optimizer
    epoch: int  # epochs completed
    training: dict  # the "training" settings of config.json
    history: History  # the rows of epochs 1..epoch


def read_checkpoint(run_dir: str | os.PathLike) -> Checkpoint:
    """Load the checkpoint of a run directory written by ``fit``: model, optimiser state,
    epoch, training settings and history.

    Raises FileNotFoundError if there is no checkpoint, and ValueError naming the file for one
    that is truncated, from another npsae version, inconsistent (moments of the wrong shape), or
    whose history.csv lacks completed epochs.
    """
    run_dir = Path(run_dir)
    path = run_dir / CHECKPOINT_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no checkpoint there; is {run_dir} a run directory?")
    arrays = load_npz(path)
    model = SparseAutoencoder.from_arrays(arrays, source=str(path))
    if "state/epoch" not in arrays or "state/training" not in arrays:
        raise ValueError(f"{path}: a saved model without training state; it cannot be resumed")
    try:
        training = json.loads(str(arrays["state/training"]))
        epoch = int(arrays["state/epoch"])
    except (ValueError, TypeError) as err:
        raise ValueError(f"{path}: unreadable training state ({err})") from err
    if not isinstance(training, dict) or training.get("format") != TRAINING_FORMAT:
        found = training.get("format") if isinstance(training, dict) else None
        raise ValueError(
            f"{path}: training state format {found!r} is not the format "
            f"{TRAINING_FORMAT} this npsae {__version__} reads"
        )
    prefix = "state/optim/"
    try:
        optimizer = from_config(training["optimizer"])
        optimizer.load_state_dict(
            {k[len(prefix) :]: v for k, v in arrays.items() if k.startswith(prefix)},
            params=model.params,
        )
    except (KeyError, ValueError) as err:
        raise ValueError(f"{path}: bad optimiser state ({err})") from err
    history_path = run_dir / HISTORY_FILE
    if not history_path.is_file():
        raise ValueError(f"{history_path}: missing; the run directory is incomplete")
    # history.csv is written before the checkpoint, so it may hold one epoch more: drop it.
    history = History(r for r in History.read_csv(history_path).rows if r["epoch"] <= epoch)
    if list(history["epoch"]) != list(range(1, epoch + 1)):
        raise ValueError(f"{history_path}: does not hold epochs 1 to {epoch} of {path}")
    return Checkpoint(model, optimizer, epoch, training, history)


def resume(
    run_dir: str | os.PathLike,
    X: np.ndarray,
    epochs: int | None = None,
    validation: np.ndarray | None = None,
    callbacks: Sequence[Callback] = (),
    verbose: int = 1,
    file: IO[str] | None = None,
    checkpoint: Checkpoint | None = None,
) -> tuple[SparseAutoencoder, History]:
    """Continue the run in ``run_dir`` from its checkpoint, on the same data ``X``.

    The batch size, seed, shuffling and optimiser come from the checkpoint, so training up to
    ``epochs`` (default: the number the run was started with) ends with exactly the parameters
    an uninterrupted run would have. Returns the model and the whole history (old rows and new).
    Raises ValueError if ``X`` does not have the run's number of samples, or ``epochs`` is below
    the epochs already done (equal is fine: nothing to do). ``checkpoint``, the result of
    ``read_checkpoint(run_dir)`` if the caller has read it already, saves reading it again.
    Temporary files that a killed run left in ``run_dir`` are deleted first.
    """
    ckpt = read_checkpoint(run_dir) if checkpoint is None else checkpoint
    check_writable(run_dir)
    training = dict(ckpt.training)
    if epochs is not None:
        _check_positive("epochs", epochs)
        if epochs < ckpt.epoch:
            raise ValueError(
                f"epochs={epochs} but {run_dir} has trained {ckpt.epoch} epochs already"
            )
        training["epochs"] = int(epochs)
    rows = _as_rows(X, ckpt.model.n_in)
    if len(rows) != training["n_samples"]:
        raise ValueError(
            f"X has {len(rows)} samples but the run in {run_dir} trained on "
            f"{training['n_samples']}; resume it with the same data"
        )
    if validation is not None:
        _as_rows(validation, ckpt.model.n_in, "validation")
    remove_temporaries(run_dir)
    run = _Run(
        ckpt.model, rows, ckpt.optimizer, training, ckpt.history, run_dir, validation, verbose, file
    )
    return ckpt.model, run.train(start=ckpt.epoch, callbacks=callbacks)


def _check_positive(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name}={value!r} must be a positive integer")


@dataclasses.dataclass
class _Run:
    """The state shared by ``fit`` and ``resume``: one training run in progress."""

    model: SparseAutoencoder
    rows: np.ndarray
    optimizer: Optimizer
    training: dict
    history: History
    run_dir: str | os.PathLike | None
    validation: np.ndarray | None
    verbose: int
    file: IO[str] | None

    def train(self, start: int, callbacks: Sequence[Callback]) -> History:
        """Epochs ``start + 1`` to ``training["epochs"]``; returns the history."""
        out = self.file if self.file is not None else sys.stdout
        epochs = self.training["epochs"]
        if self.verbose and start < epochs:
            what = f"resuming after epoch {start}:" if start else "training"
            print(
                f"{what} {self.model} on {len(self.rows)} samples, {self.optimizer!r}, "
                f"batch {self.training['batch_size']}",
                file=out,
            )
        batches = _Batches(self.rows, self.model.dtype, self.training["batch_size"])
        for epoch in range(start + 1, epochs + 1):
            row = self._epoch(epoch, batches, out)
            self.history.append(row)
            if self.run_dir is not None:
                self._save(epoch)
            if self.verbose:
                print(self._summary(row, epoch), file=out, flush=True)
            stop = [cb.on_epoch_end(epoch, row, self.model) for cb in callbacks]
            if any(stop):
                break
        return self.history

    def _epoch(self, epoch: int, batches: _Batches, out: IO[str]) -> dict:
        model, optimizer = self.model, self.optimizer
        n, batch_size = len(self.rows), self.training["batch_size"]
        steps = -(-n // batch_size)
        order = (
            np.random.default_rng([self.training["seed"], epoch]).permutation(n)
            if self.training["shuffle"]
            else np.arange(n)
        )
        start_time = time.perf_counter()
        stats = ActivationStats(model.n_hidden, firing_threshold(model.config["hidden"]))
        sums = dict.fromkeys(("total", *model.terms), 0.0)
        bar = self._progress_bar(epoch, steps, out)
        try:
            for step in range(steps):
                lo, hi = step * batch_size, min(n, (step + 1) * batch_size)
                batch = batches(order[lo:hi])
                loss, grads, cache = model.forward_backward(batch, check=False)
                # The terms are scalars: checking them costs nothing, unlike scanning the grads.
                if not math.isfinite(loss["total"]):
                    raise self._diverged(loss, epoch, step + 1, steps)
                model.constrain_grads(grads)
                optimizer.step(model.params, grads)
                model.apply_constraints()
                model.update_statistics(cache.H)
                stats.update(cache.H, cache.h_sum)
                for k in sums:
                    sums[k] += loss[k] * (hi - lo)
                if bar is not None:
                    bar.set_postfix_str(f"loss {sums['total'] / hi:.4g}", refresh=False)
                    bar.update()
        finally:
            if bar is not None:
                bar.close()
        row = {"epoch": epoch, "loss": sums["total"] / n}
        row.update({k: sums[k] / n for k in model.terms})
        if self.validation is not None:
            val = evaluate(model, self.validation, batch_size)
            row["val_loss"], row["val_recon"] = val["loss"], val["recon"]
        else:
            row["val_loss"] = row["val_recon"] = math.nan
        row["mean_activation"] = stats.mean_activation
        row["dead_fraction"] = stats.dead_fraction
        row["l0"] = stats.l0
        row["seconds"] = time.perf_counter() - start_time
        return row

    def _progress_bar(self, epoch: int, steps: int, out: IO[str]):
        isatty = getattr(out, "isatty", None)
        if not (self.verbose and isatty is not None and isatty()):
            return None
        from tqdm import tqdm

        desc = f"epoch {epoch}/{self.training['epochs']}"
        return tqdm(total=steps, desc=desc, file=out, leave=False, unit="step")

    def _diverged(self, loss: dict, epoch: int, step: int, steps: int) -> TrainingDiverged:
        term = next((t for t in TERMS if not math.isfinite(loss[t])), "total")
        causes = []
        lr = getattr(self.optimizer, "lr", None)
        if lr is not None:
            causes.append(
                f"the learning rate lr={lr:g} is probably too high: try one 3 to 10 times smaller"
            )
        config = self.model.config
        if config["sparsity"] == "kl" and config["hidden"] == "relu":
            causes.append(
                "KL sparsity with ReLU units is fragile (their activations are unbounded): "
                "prefer sparsity 'l1' with ReLU, or sigmoid hidden units with KL"
            )
        message = (
            f"training diverged at epoch {epoch}, step {step}/{steps}: the {term} term of the "
            f"loss is {loss[term]}. Likely causes: " + "; ".join(causes) + "."
        )
        if self.run_dir is not None and epoch > 1:
            where = Path(self.run_dir) / CHECKPOINT_FILE
            message += f" The checkpoint of epoch {epoch - 1} in {where} is intact."
        return TrainingDiverged(message, epoch, step, term)

    def _summary(self, row: dict, epoch: int) -> str:
        steps = -(-len(self.rows) // self.training["batch_size"])
        parts = [
            f"epoch {epoch}/{self.training['epochs']}",
            f"{steps} steps",
            f"{row['seconds']:.1f}s",
            f"loss {row['loss']:.4g}",
            f"recon {row['recon']:.4g}",
        ]
        if self.model.config["sparsity"] is not None:
            parts.append(f"sparsity {row['sparsity']:.4g}")
        if self.model.config["weight_decay"]:
            parts.append(f"decay {row['decay']:.4g}")
        if "aux" in row:
            parts.append(f"aux {row['aux']:.4g}")
        if not math.isnan(row["val_loss"]):
            parts.append(f"val {row['val_loss']:.4g}")
        parts.append(f"l0 {row['l0']:.1f}")
        parts.append(f"dead {row['dead_fraction']:.0%}")
        return "  ".join(parts)

    def _save(self, epoch: int) -> None:
        run_dir = Path(self.run_dir)
        config = {
            "model": self.model.config,
            "training": self.training,
            "npsae_version": __version__,
        }
        with atomic_write(run_dir / CONFIG_FILE, "w") as f:
            json.dump(config, f, indent=2)
            f.write("\n")
        # The history goes first: a crash between the two leaves it one epoch ahead of the
        # checkpoint, which read_checkpoint tolerates, never behind.
        self.history.to_csv(run_dir / HISTORY_FILE)
        extra = {f"state/optim/{k}": v for k, v in self.optimizer.state_dict().items()}
        extra["state/epoch"] = np.array(epoch, np.int64)
        extra["state/training"] = np.array(json.dumps(self.training))
        self.model.save(run_dir / CHECKPOINT_FILE, extra=extra)
