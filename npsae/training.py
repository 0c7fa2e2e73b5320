"""Training: the mini-batch loop ``fit``, and ``resume``, which continues a run from its
checkpoint.

One epoch is one pass over the data in mini-batches::

    order = permutation of the N samples     # np.random.default_rng([seed, epoch]), epoch from 1
    for each batch B of ``batch_size`` samples in that order (the last one may be smaller):
        loss, grads = model.forward_backward(X[B])   # k from k_schedule, if any
        params <- optimizer step on grads     # in place
        model.update_statistics(H)            # BatchTopK's threshold, AuxK's dead units

Because each epoch's order depends only on ``(seed, epoch)``, a run resumed from the checkpoint
of epoch k replays exactly the batches an uninterrupted run would have seen, and ends with
bit-for-bit the same parameters (given the same backend and BLAS thread count).

The run directory that ``fit`` checkpoints into is described in ``npsae.checkpoint``; the
per-epoch record in ``npsae.history``; batching in ``npsae.batches``; ``npsae.evaluation``
measures a model on a data set and ``npsae.progress`` formats what ``fit`` prints.
"""

from __future__ import annotations

import dataclasses
import math
import os
import sys
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any, Protocol

import numpy as np

from npsae import evaluation
from npsae._fileio import check_writable, remove_temporaries
from npsae.batches import Batches, as_rows
from npsae.checkpoint import (
    CHECKPOINT_FILE,
    TRAINING_FORMAT,
    Checkpoint,
    check_run_dir,
    read_checkpoint,
    write_checkpoint,
)
from npsae.config import ConfigError
from npsae.history import History
from npsae.metrics import ActivationStats, firing_threshold
from npsae.model import TERMS, SparseAutoencoder
from npsae.optim import Adam, Optimizer
from npsae.progress import epoch_line, progress_bar


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
            it after each epoch with ``evaluate``, after the last with ``measure``, whose whole
            result the history keeps as ``last_validation``.
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

    Warns:
        UserWarning: once for each of ``model.caveats`` (KL sparsity with ReLU units), after
            the arguments are checked and before the first step.
    """
    _check_positive("epochs", epochs)
    _check_positive("batch_size", batch_size)
    rows = as_rows(X, model.n_in)
    if validation is not None:
        as_rows(validation, model.n_in, "validation")
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
    # Once per run, where the user starts it (``resume`` continues a run that was warned).
    for caveat in model.caveats:
        warnings.warn(caveat, UserWarning, stacklevel=2)
    run = _Run(model, rows, optimizer, training, History(), run_dir, validation, verbose, file)
    return run.train(start=0, callbacks=callbacks)


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
    training = resume_settings(ckpt, run_dir, epochs)
    rows = as_rows(X, ckpt.model.n_in)
    if len(rows) != training["n_samples"]:
        raise ValueError(
            f"X has {len(rows)} samples but the run in {run_dir} trained on "
            f"{training['n_samples']}; resume it with the same data"
        )
    if validation is not None:
        as_rows(validation, ckpt.model.n_in, "validation")
    remove_temporaries(run_dir)
    run = _Run(
        ckpt.model, rows, ckpt.optimizer, training, ckpt.history, run_dir, validation, verbose, file
    )
    return ckpt.model, run.train(start=ckpt.epoch, callbacks=callbacks)


def resume_settings(
    checkpoint: Checkpoint, run_dir: str | os.PathLike, epochs: int | None = None
) -> dict:
    """The training settings that continue the run of ``checkpoint`` in ``run_dir`` up to
    ``epochs`` (None: the number it was started with), checked: the folder is writable
    (ValueError) and ``epochs`` is a positive integer, at least the epochs done (ConfigError,
    naming the option, so that the command line words it as ``--epochs 2: RULE``).

    The one place of these checks: ``resume`` and ``npsae train --resume`` both call it.
    """
    check_writable(run_dir)
    training = dict(checkpoint.training)
    if epochs is not None:
        _check_positive("epochs", epochs)
        if epochs < checkpoint.epoch:
            done = checkpoint.epoch
            rule = (
                f"the run in {run_dir} has done {done} epochs already; give more to train further"
            )
            message = f"epochs={epochs} but {run_dir} has trained {done} epochs already"
            raise ConfigError(message, "epochs", epochs, rule)
        training["epochs"] = int(epochs)
    return training


def _check_positive(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        rule = "must be a positive integer"
        raise ConfigError(f"{name}={value!r} {rule}", name, value, rule)


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
        batches = Batches(self.rows, self.model.dtype, self.training["batch_size"])
        for epoch in range(start + 1, epochs + 1):
            row = self._epoch(epoch, batches, out)
            self.history.append(row)
            if self.run_dir is not None:
                write_checkpoint(
                    self.run_dir, self.model, self.optimizer, self.training, self.history, epoch
                )
            if self.verbose:
                steps = -(-len(self.rows) // self.training["batch_size"])
                line = epoch_line(row, epochs, steps, self.model.config)
                print(line, file=out, flush=True)
            stop = [cb.on_epoch_end(epoch, row, self.model) for cb in callbacks]
            if any(stop):
                break
        return self.history

    def _epoch(self, epoch: int, batches: Batches, out: IO[str]) -> dict:
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
        bar = progress_bar(out, epoch, self.training["epochs"], steps) if self.verbose else None
        try:
            for step in range(steps):
                lo, hi = step * batch_size, min(n, (step + 1) * batch_size)
                batch = batches(order[lo:hi])
                progress = epoch - 1 + step / steps  # the epochs done, for a schedule of k
                loss, grads, cache = model.forward_backward(batch, False, progress)
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
            # After the last epoch ``measure`` (a superset of ``evaluate`` from the same forward
            # passes), kept in the history, so that the test-set summary need not run them again.
            last = epoch == self.training["epochs"]
            val = (evaluation.measure if last else evaluation.evaluate)(
                model, self.validation, batch_size
            )
            if last:
                self.history.last_validation = val
            row["val_loss"], row["val_recon"] = val["loss"], val["recon"]
        else:
            row["val_loss"] = row["val_recon"] = math.nan
        row["mean_rho_hat"] = stats.mean_rho_hat
        row["dead_fraction"] = stats.dead_fraction
        row["l0"] = stats.l0
        row["seconds"] = time.perf_counter() - start_time
        return row

    def _diverged(self, loss: dict, epoch: int, step: int, steps: int) -> TrainingDiverged:
        term = next((t for t in TERMS if not math.isfinite(loss[t])), "total")
        causes = []
        lr = getattr(self.optimizer, "lr", None)
        if lr is not None:
            causes.append(
                f"the learning rate lr={lr:g} is probably too high: try one 3 to 10 times smaller"
            )
        caveat = type(self.model.sparsity).caveat(self.model.config.hidden)
        if caveat is not None:
            causes.append(caveat.divergence)
        message = (
            f"training diverged at epoch {epoch}, step {step}/{steps}: the {term} term of the "
            f"loss is {loss[term]}. Likely causes: " + "; ".join(causes) + "."
        )
        if self.run_dir is not None and epoch > 1:
            where = Path(self.run_dir) / CHECKPOINT_FILE
            message += f" The checkpoint of epoch {epoch - 1} in {where} is intact."
        return TrainingDiverged(message, epoch, step, term)
