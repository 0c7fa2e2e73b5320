"""A run's per-epoch record: ``History`` (one row per epoch, saved as history.csv) and
``diagnose`` (what the record says about a run that trained badly).

The columns and what each measures are in ``History``'s docstring.
"""

from __future__ import annotations

import csv
import os
import warnings
from collections.abc import Iterable

import numpy as np

from npsae._fileio import atomic_write

#: The columns of ``History``, in order.
COLUMNS = (
    "epoch",
    "loss",
    "recon",
    "sparsity",
    "decay",
    "val_loss",
    "val_recon",
    "mean_rho_hat",
    "dead_fraction",
    "l0",
    "seconds",
)

#: Columns renamed since an earlier npsae, old name -> new. ``History.read_csv`` reads a file
#: written with the old name (so old run directories resume and report), and ``history[old]``
#: still answers, with a DeprecationWarning.
RENAMED = {"mean_activation": "mean_rho_hat"}


class History:
    """Per-epoch training record: one row (dict) per epoch, the columns of ``COLUMNS``.

    ``loss``, ``recon``, ``sparsity``, ``decay``: the loss terms averaged over the epoch's
    batches, weighted by batch size (so they are measured while the parameters move, as Keras
    reports them), and ``aux`` after ``decay`` for a model with AuxK (``model.terms``);
    ``val_loss``, ``val_recon``: the same on the validation data after the epoch
    (NaN without validation data); ``mean_rho_hat``, ``dead_fraction``, ``l0``: hidden-layer
    statistics over the epoch's batches (see ``npsae.metrics.ActivationStats``; ``mean_rho_hat``
    is the mean over units of rho^_j, each unit's mean activation, so one number per epoch, and
    was called ``mean_activation`` in earlier versions); ``seconds``: wall time of the epoch,
    validation included.

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
        if key in RENAMED and key not in self.columns:
            warnings.warn(
                f"the history column {key!r} is now called {RENAMED[key]!r}",
                DeprecationWarning,
                stacklevel=2,
            )
            key = RENAMED[key]
        if key not in self.columns:
            raise KeyError(f"{key!r} is not a history column; they are {', '.join(self.columns)}")
        dtype = np.int64 if key == "epoch" else np.float64
        return np.array([row[key] for row in self.rows], dtype=dtype)

    def __contains__(self, key: object) -> bool:
        return key in self.columns or (key in RENAMED and RENAMED[key] in self.columns)

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
        header = [RENAMED.get(name, name) for name in lines[0]]
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
