"""The linear probe: how much of the label a code keeps, read by a logistic regression.

A sparse autoencoder is trained without labels. A linear probe asks what its code ``H`` is good
for downstream: fit a multinomial logistic regression from the code to the label on training
samples, and report its accuracy on test samples; the same probe on the raw inputs is the
baseline. The classifier is scikit-learn's ``LogisticRegression`` (lbfgs), after each column is
standardised to zero mean and unit variance (``StandardScaler``), which both the codes and the
pixels need for lbfgs to converge in a few hundred iterations. scikit-learn is the optional extra
``npsae[eval]``.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np

from npsae._extras import require
from npsae.penalties import SPARSITY

EXTRA = "eval"
# Iterations of lbfgs; the probe stops there even if not fully converged (a warning is silenced).
MAX_ITER = 300
# Training samples of the probe when the caller takes a slice of a large set (npsae report, sweep).
PROBE_TRAIN = 10000
# The inverse strength of the logistic regression's L2 penalty (scikit-learn's default).
C = 1.0


def protocol(n_train: int, encoding: str, standardise: bool = True) -> str:
    """The probe's protocol in one sentence: its ``n_train`` training samples, classifier,
    regularisation and the ``encoding`` of the features (see ``encoding``)."""
    features = "standardised features" if standardise else "raw features"
    return (
        f"multinomial logistic regression (scikit-learn, lbfgs, L2 penalty C={C:g}, at most "
        f"{MAX_ITER} iterations) on {features} of {n_train} training samples, scored on the "
        f"test split; codes: {encoding}"
    )


def encoding(config: Mapping[str, Any]) -> str:
    """How a model of options ``config`` encodes at inference (``SparseAutoencoder.encode``),
    in words."""
    words = SPARSITY[config["sparsity"]].inference_code(config)
    return words or f"all {config['n_hidden']} {config['hidden']} activations"


def linear_probe(
    train: np.ndarray,
    train_labels: np.ndarray,
    test: np.ndarray,
    test_labels: np.ndarray,
    max_iter: int = MAX_ITER,
    standardise: bool = True,
) -> float:
    """Test accuracy of a logistic regression fitted on ``(train, train_labels)``.

    train: (m, d) features (codes H or pixels), train_labels: (m,); test: (t, d),
    test_labels: (t,). Returns the fraction of test samples whose label is predicted, in [0, 1].
    ``standardise=False`` fits the raw features (see ``protocol``): on sparse codes it can do
    better, a rarely active unit not being blown up to unit variance (bench/README.md).
    Deterministic: lbfgs involves no randomness. Raises ``npsae._extras.MissingExtraError``
    without scikit-learn, ValueError for mismatched shapes.
    """
    require("sklearn", EXTRA, "the linear probe")
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    train, test = np.asarray(train), np.asarray(test)
    train_labels, test_labels = np.asarray(train_labels), np.asarray(test_labels)
    if train.ndim != 2 or test.ndim != 2 or train.shape[1] != test.shape[1]:
        raise ValueError(
            f"train {train.shape} and test {test.shape} must be 2-d with the same number of columns"
        )
    for name, X, y in (("train", train, train_labels), ("test", test, test_labels)):
        if y.shape != (len(X),):
            raise ValueError(f"{name}_labels must have shape ({len(X)},), got {y.shape}")
    if len(np.unique(train_labels)) < 2:
        raise ValueError("train_labels hold a single class; a probe needs at least two")
    scaler = [StandardScaler()] if standardise else []
    probe = make_pipeline(*scaler, LogisticRegression(C=C, max_iter=max_iter))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        probe.fit(train, train_labels)
    return float(np.mean(probe.predict(test) == test_labels))
