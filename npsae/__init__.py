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

The names below, and the submodules themselves (``npsae.gradcheck.gradient_check`` after a plain
``import npsae``, as NumPy's and SciPy's submodules resolve), are imported on first use (PEP 562),
so that ``import npsae.cli`` and ``npsae --help`` load neither Numba nor the modules that compile
with it.
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    # What type checkers and IDEs see: the names of ``_EXPORTS`` below, from the same modules (a
    # test keeps the two equal), each ``as`` itself, which marks it re-exported (PEP 484). At run
    # time nothing here is imported, Numba neither.
    from npsae.checkpoint import read_checkpoint as read_checkpoint
    from npsae.datasets import DatasetError as DatasetError
    from npsae.datasets import DatasetNotFoundError as DatasetNotFoundError
    from npsae.datasets import as_float as as_float
    from npsae.datasets import data_root as data_root
    from npsae.datasets import load_idx_folder as load_idx_folder
    from npsae.datasets import load_mnist as load_mnist
    from npsae.datasets import make_bars as make_bars
    from npsae.datasets import make_superposition as make_superposition
    from npsae.evaluation import evaluate as evaluate
    from npsae.gradcheck import gradient_check as gradient_check
    from npsae.gradcheck import numerical_gradient as numerical_gradient
    from npsae.history import History as History
    from npsae.idx import IDXFormatError as IDXFormatError
    from npsae.idx import read_idx as read_idx
    from npsae.idx import write_idx as write_idx
    from npsae.model import SparseAutoencoder as SparseAutoencoder
    from npsae.optim import SGD as SGD
    from npsae.optim import Adam as Adam
    from npsae.training import TrainingDiverged as TrainingDiverged
    from npsae.training import fit as fit
    from npsae.training import resume as resume

# Each name importable from ``npsae`` and the module that defines it.
_EXPORTS = {
    "SGD": "npsae.optim",
    "Adam": "npsae.optim",
    "History": "npsae.history",
    "TrainingDiverged": "npsae.training",
    "evaluate": "npsae.evaluation",
    "fit": "npsae.training",
    "read_checkpoint": "npsae.checkpoint",
    "resume": "npsae.training",
    "DatasetError": "npsae.datasets",
    "DatasetNotFoundError": "npsae.datasets",
    "IDXFormatError": "npsae.idx",
    "SparseAutoencoder": "npsae.model",
    "as_float": "npsae.datasets",
    "data_root": "npsae.datasets",
    "gradient_check": "npsae.gradcheck",
    "load_idx_folder": "npsae.datasets",
    "load_mnist": "npsae.datasets",
    "make_bars": "npsae.datasets",
    "make_superposition": "npsae.datasets",
    "numerical_gradient": "npsae.gradcheck",
    "read_idx": "npsae.idx",
    "write_idx": "npsae.idx",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
    elif not name.startswith("_") and importlib.util.find_spec(f"{__name__}.{name}") is not None:
        value = importlib.import_module(f"{__name__}.{name}")
    else:
        raise AttributeError(f"module 'npsae' has no attribute {name!r}")
    globals()[name] = value  # the next look-up finds it without coming here
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})
