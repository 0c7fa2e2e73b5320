"""A run's per-epoch record: ``History`` (one row per epoch, saved as history.csv) and
``diagnose`` (what the record says about a run that trained badly).

The columns and what each measures are in ``History``'s docstring.
"""

from __future__ import annotations

import csv
import os
import warnings
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from npsae._fileio import atomic_write
from npsae.penalties import SPARSITY, Sparsity

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
        # What ``fit`` or ``resume`` measured (``evaluation.measure``) on the validation data
        # after the run's last epoch; None if it ended otherwise or had none (not saved).
        self.last_validation: dict | None = None
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


def diagnose(
    history: History, lr: float | None = None, config: Mapping[str, Any] | None = None
) -> list[str]:
    """Warnings about a run that ended without error but did not train well, with the likely
    cause and how it is known: most hidden units dead in the last epoch (a fraction above
    ``DEAD_WARNING``), or a final loss above the first epoch's. ``lr``, the learning rate, is
    quoted when given.

    ``config``, the model's options (``model.config`` or the "model" of a run's config.json),
    lets the dead-unit warning name the cause that fits the model (``dead_unit_cause``); without
    it the learning rate is blamed, the commonest cause when nothing else is known.
    """
    if not len(history):
        return []
    rate = "the learning rate" if lr is None else f"the learning rate lr={lr:g}"
    rate_cause = f"{rate} is probably too high: try one 3 to 10 times smaller"
    first, last = history.rows[0], history.rows[-1]
    rose = len(history) > 1 and last["loss"] > first["loss"]
    warnings = []
    if last["dead_fraction"] > DEAD_WARNING:
        cause = rate_cause
        if config is not None:
            cause = dead_unit_cause(config, first, last, rate_cause if rose else None)
        warnings.append(
            f"{last['dead_fraction']:.0%} of the hidden units never fired in the last epoch "
            f"(dead units, which no longer learn). Likely cause: {cause}"
        )
    if rose:
        warnings.append(
            f"the loss rose over the run, from {first['loss']:.4g} in epoch {first['epoch']} to "
            f"{last['loss']:.4g} in epoch {last['epoch']}. Likely cause: {rate_cause}"
        )
    return warnings


def dead_unit_cause(
    config: Mapping[str, Any], first: dict, last: dict, rate_cause: str | None
) -> str:
    """Why units died, for a model of options ``config`` whose history runs from the row
    ``first`` to ``last``, and how that is known. ``rate_cause`` (the learning rate's advice)
    is given when the loss rose, the sign of a rate too high; otherwise the cause is the
    model's own:

    - TopK / BatchTopK: a unit outside the k kept gets no gradient, whatever the rate; the
      remedies are the ones the model lacks: Makhzani & Frey's ``k_schedule``, AuxK
      (``aux_k``), Gao et al.'s ``init="tied"`` (or, with AuxK on, a stronger AuxK);
    - KL with ReLU units: the clip of rho^ (``npsae.penalties.KLSparsity``);
    - otherwise ReLU units whose input is negative on every sample.
    """
    if rate_cause is not None:
        return (
            f"{rate_cause} (the loss rose, from {first['loss']:.4g} in epoch {first['epoch']} "
            f"to {last['loss']:.4g} in epoch {last['epoch']})"
        )
    fell = (
        f"the loss fell, from {first['loss']:.4g} to {last['loss']:.4g}, so the learning rate "
        "is not to blame"
    )
    sparsity, hidden = config.get("sparsity"), config.get("hidden")
    penalty = SPARSITY.get(sparsity, Sparsity)
    if penalty.keeps_k:
        per = "per sample on average" if penalty.batch else "per sample"
        remedies = []
        if config.get("k_schedule") is None:
            remedies.append(
                "Makhzani & Frey's schedule of k, which starts dense so that every unit learns "
                "(k_schedule, --k-schedule START:EPOCHS, e.g. 4k over the first half of the "
                "epochs)"
            )
        if config.get("aux_k") is None:
            remedies.append("AuxK, which gives dead units a gradient (aux_k, --aux-k)")
        else:
            remedies.append(
                f"a stronger AuxK than aux_alpha={config.get('aux_alpha'):g} and "
                f"dead_after={config.get('dead_after')} (--aux-alpha, --dead-after)"
            )
        if config.get("init") != "tied":
            remedies.append(
                "Gao et al.'s initialisation, encoder = decoder transpose (init='tied', "
                "--init tied)"
            )
        return (
            f"{sparsity} keeps k={config.get('k')} units {per}, and a unit that never wins a "
            f"place gets no gradient whatever the learning rate ({fell}). Remedies: "
            + "; ".join(remedies)
        )
    caveat = penalty.caveat(hidden)
    if caveat is not None:
        return caveat.dead_units.format(fell=fell)
    if hidden == "relu":
        return (
            "ReLU units whose input is negative on every sample get no gradient; a strong "
            f"sparsity penalty pushes them there ({fell}): try a smaller beta"
        )
    return (
        f"sigmoid units held below the firing threshold by the sparsity penalty ({fell}): try "
        "a smaller beta or a larger rho"
    )
