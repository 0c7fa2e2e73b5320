"""What ``fit`` prints while it trains: a progress bar within an epoch (on a terminal only)
and one line per epoch.
"""

from __future__ import annotations

import math
from typing import IO, Any


def progress_bar(out: IO[str], epoch: int, epochs: int, steps: int) -> Any:
    """A tqdm bar of ``steps`` steps for ``epoch`` of ``epochs``, or None when ``out`` is not a
    terminal (a file or a pipe gets the per-epoch lines only). tqdm is imported only here."""
    isatty = getattr(out, "isatty", None)
    if isatty is None or not isatty():
        return None
    from tqdm import tqdm

    return tqdm(total=steps, desc=f"epoch {epoch}/{epochs}", file=out, leave=False, unit="step")


def epoch_line(row: dict, epochs: int, steps: int, config: dict) -> str:
    """One epoch's line, e.g. ``epoch 2/5  40 steps  0.3s  loss 0.1  recon 0.05 ... dead 3%``.

    ``row`` is the epoch's ``History`` row, ``config`` the model's; the sparsity and decay terms
    are shown only when the model has them, ``val`` only with validation data.
    """
    parts = [
        f"epoch {row['epoch']}/{epochs}",
        f"{steps} steps",
        f"{row['seconds']:.1f}s",
        f"loss {row['loss']:.4g}",
        f"recon {row['recon']:.4g}",
    ]
    if config["sparsity"] is not None:
        parts.append(f"sparsity {row['sparsity']:.4g}")
    if config["weight_decay"]:
        parts.append(f"decay {row['decay']:.4g}")
    if "aux" in row:
        parts.append(f"aux {row['aux']:.4g}")
    if not math.isnan(row["val_loss"]):
        parts.append(f"val {row['val_loss']:.4g}")
    parts.append(f"l0 {row['l0']:.1f}")
    parts.append(f"dead {row['dead_fraction']:.0%}")
    return "  ".join(parts)
