"""npsae.probe: the linear probe, and its clear error without scikit-learn."""

import sys

import numpy as np
import pytest

from npsae._extras import MissingExtraError
from npsae.probe import linear_probe


def test_probe_reads_a_linearly_coded_label_and_not_noise():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 600)
    X = rng.normal(size=(600, 5))
    X[:, 0] += 8.0 * y  # the label is written along the first column
    assert linear_probe(X[:400], y[:400], X[400:], y[400:]) > 0.95
    noise = rng.normal(size=(600, 5))
    assert linear_probe(noise[:400], y[:400], noise[400:], y[400:]) < 0.6  # chance is 1/3


def test_probe_checks_shapes():
    X, y = np.zeros((10, 3)), np.arange(10) % 2
    with pytest.raises(ValueError, match="same number of columns"):
        linear_probe(X, y, np.zeros((4, 2)), y[:4])
    with pytest.raises(ValueError, match="train_labels must have shape \\(10,\\)"):
        linear_probe(X, y[:5], X, y)
    with pytest.raises(ValueError, match="single class"):
        linear_probe(X, np.zeros(10), X, y)


def test_without_scikit_learn_the_error_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn", None)  # import sklearn now raises ImportError
    with pytest.raises(MissingExtraError) as err:
        linear_probe(np.zeros((4, 2)), np.arange(4) % 2, np.zeros((2, 2)), np.arange(2))
    message = str(err.value)
    assert "scikit-learn" in message or "'sklearn'" in message
    assert "npsae[eval]" in message and "pip install 'npsae[eval]'" in message
