"""How well a model codes a data set, measured in batches so that memory stays near one batch.

``evaluate(model, X)`` gives the loss terms (as ``fit`` measures them) and the MSE;
``summarize(model, X)`` gives the fraction of variance explained and the hidden-layer statistics
L0, dead fraction and mean activation (``npsae.metrics``).
"""

from __future__ import annotations

import numpy as np

from npsae.batches import as_rows
from npsae.metrics import ActivationStats, VarianceExplained, firing_threshold
from npsae.model import SparseAutoencoder


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
    rows = as_rows(X, model.n_in)
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
    rows = as_rows(X, model.n_in)
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
