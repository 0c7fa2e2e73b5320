"""A run directory: its files, the check before a run starts in it, and its checkpoint.

A run directory, when ``npsae.training.fit`` is given one, holds after every epoch (each file
written atomically, the checkpoint last)::

    config.json    {"model": model.config, "training": {...}, "npsae_version": ...}
    history.csv    one row per epoch, the columns of ``npsae.history.History``
    model.npz      the model (``SparseAutoencoder.load`` reads it; its buffers included, so a
                   resumed run sees the same BatchTopK threshold and AuxK dead units) plus
                   "state/epoch",
                   "state/training" (JSON) and "state/optim/..." (the optimiser's moments)

``write_checkpoint`` writes the three files, ``read_checkpoint`` reads them back
(``npsae.training.resume`` continues from there) and ``check_run_dir`` refuses a folder a new
run must not write into.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import numpy as np

from npsae import __version__
from npsae._fileio import atomic_write, check_writable, is_temporary, load_npz
from npsae.history import History
from npsae.model import SparseAutoencoder
from npsae.optim import Optimizer, from_config

CONFIG_FILE = "config.json"
HISTORY_FILE = "history.csv"
CHECKPOINT_FILE = "model.npz"
# Version of the "state/training" record; a checkpoint with another one is refused.
TRAINING_FORMAT = 1


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


def write_checkpoint(
    run_dir: str | os.PathLike,
    model: SparseAutoencoder,
    optimizer: Optimizer,
    training: dict,
    history: History,
    epoch: int,
) -> None:
    """Write ``config.json``, ``history.csv`` and the checkpoint ``model.npz`` of ``epoch``
    (epochs completed) into ``run_dir``, each atomically, the checkpoint last.

    ``training`` is the run's settings (batch size, seed, optimiser config, ...), recorded in
    both config.json and the checkpoint's "state/training".
    """
    run_dir = Path(run_dir)
    config = {
        "model": model.config.file_dict(),
        "training": training,
        "npsae_version": __version__,
    }
    with atomic_write(run_dir / CONFIG_FILE, "w") as f:
        json.dump(config, f, indent=2)
        f.write("\n")
    # The history goes first: a crash between the two leaves it one epoch ahead of the
    # checkpoint, which read_checkpoint tolerates, never behind.
    history.to_csv(run_dir / HISTORY_FILE)
    extra = {f"state/optim/{k}": v for k, v in optimizer.state_dict().items()}
    extra["state/epoch"] = np.array(epoch, np.int64)
    extra["state/training"] = np.array(json.dumps(training))
    model.save(run_dir / CHECKPOINT_FILE, extra=extra)
