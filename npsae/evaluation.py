"""How well a model codes a data set, measured in batches so that memory stays near one batch.

``evaluate(model, X)`` gives the loss terms (as ``fit`` measures them) and the MSE; ``fit`` calls
it on the validation data after every epoch but the last. ``measure(model, X)`` gives those and,
from the same forward pass, the fraction of variance explained and the hidden-layer statistics
L0, dead fraction and ``mean_rho_hat`` (``npsae.metrics``): the test-set numbers of ``npsae
train`` (measured by ``fit``'s last validation pass) and of the run report, each sample encoded
once (twice with BatchTopK, see ``measure``).
"""

from __future__ import annotations

import numpy as np

from npsae.batches import Batches, as_rows
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
    return _measure(model, X, batch_size, seed, code=False)


def measure(
    model: SparseAutoencoder, X: np.ndarray, batch_size: int = 256, seed: int | None = 0
) -> dict:
    """``evaluate``'s loss terms and ``mse``, and how well and how sparsely ``model`` codes
    ``X`` (uint8 images or float rows), in one pass over X in ``evaluate``'s batches.

    Adds to ``evaluate``'s result ``samples`` (N) and floats ``fve``
    (``metrics.fraction_variance_explained``), ``l0``, ``dead_fraction`` and
    ``mean_rho_hat`` (as ``metrics.ActivationStats`` defines them), over all of X. These
    measure the code as the model gives it at inference (``encode``): each batch's forward
    pass serves both, except with BatchTopK, whose loss selects within the batch but whose
    inference code keeps what exceeds its learned threshold, so that its batches are encoded
    a second time. TopK's ``encode_k`` does not apply here: the code measured is the training
    code of k units, whose dead units are the ones that no longer learn. Memory stays near one
    batch whatever the size of X.
    """
    return _measure(model, X, batch_size, seed, code=True)


def _measure(
    model: SparseAutoencoder, X: np.ndarray, batch_size: int, seed: int | None, code: bool
) -> dict:
    rows = as_rows(X, model.n_in)
    order = None if seed is None else np.random.default_rng(seed).permutation(len(rows))
    sums = dict.fromkeys(("total", *model.terms), 0.0)
    fve = VarianceExplained(model.n_in)
    stats = ActivationStats(model.n_hidden, firing_threshold(model.config["hidden"]))
    # The trainer's batches: picked and converted in one pass into a reused buffer.
    batches = Batches(rows, model.dtype, batch_size)
    for lo in range(0, len(rows), batch_size):
        hi = min(lo + batch_size, len(rows))
        batch = batches(np.arange(lo, hi) if order is None else order[lo:hi])
        terms, H, X_hat = model.forward(batch)
        for k in sums:
            sums[k] += terms[k] * len(batch)
        if code:
            if model.sparsity.batch:
                H = model.encode(batch)
                X_hat = model.decode(H)
            fve.update(batch, X_hat)
            stats.update(H)
    result = {("loss" if k == "total" else k): v / len(rows) for k, v in sums.items()}
    # mse = sum d^2 / (N n_in) and sse = sum d^2 / (2 N): one is a multiple of the other.
    scale = 1.0 if model.config["recon"] == "mse" else 2.0 / model.n_in
    result["mse"] = result["recon"] * scale
    if code:
        result.update(
            samples=len(rows),
            fve=fve.value,
            l0=stats.l0,
            dead_fraction=stats.dead_fraction,
            mean_rho_hat=stats.mean_rho_hat,
        )
    return result
