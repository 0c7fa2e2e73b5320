"""npsae: the sparse autoencoder from scratch, in NumPy (to read) and Numba (to run fast).

The names most programs need are importable from here; the modules hold the rest:
``npsae.model`` (``SparseAutoencoder``), ``npsae.reference`` (the equations in NumPy),
``npsae.kernels`` (the same in Numba), ``npsae.penalties``, ``npsae.gradcheck``, ``npsae.idx``,
``npsae.datasets``, ``npsae.optim``, ``npsae.training`` (with ``npsae.history``,
``npsae.checkpoint``, ``npsae.evaluation``), ``npsae.metrics``, ``npsae.presets``
(named settings), ``npsae.plotting`` (figures), ``npsae.report`` (a run's figures and HTML
report), ``npsae.sweep`` (grids per sparsity variant and the Pareto plot), ``npsae.probe`` (the
linear probe), ``npsae.export`` (SAELens' layout), ``npsae.exercises`` (classroom exercises with
an autograder) and ``npsae.cli`` (the ``npsae`` command). The tutorials, notebooks and the
scripts they are made from, are in the package's ``tutorials`` folder: ``npsae tutorials DIR``
copies them out.
"""

__version__ = "0.1.0"

from npsae.checkpoint import read_checkpoint
from npsae.datasets import (
    DatasetError,
    DatasetNotFoundError,
    as_float,
    data_root,
    load_idx_folder,
    load_mnist,
    make_bars,
    make_superposition,
)
from npsae.evaluation import evaluate
from npsae.gradcheck import gradient_check, numerical_gradient
from npsae.history import History
from npsae.idx import IDXFormatError, read_idx, write_idx
from npsae.model import SparseAutoencoder
from npsae.optim import SGD, Adam
from npsae.training import TrainingDiverged, fit, resume

__all__ = [
    "SGD",
    "Adam",
    "History",
    "TrainingDiverged",
    "evaluate",
    "fit",
    "read_checkpoint",
    "resume",
    "DatasetError",
    "DatasetNotFoundError",
    "IDXFormatError",
    "SparseAutoencoder",
    "__version__",
    "as_float",
    "data_root",
    "gradient_check",
    "load_idx_folder",
    "load_mnist",
    "make_bars",
    "make_superposition",
    "numerical_gradient",
    "read_idx",
    "write_idx",
]
