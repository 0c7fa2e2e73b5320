"""``SparseAutoencoder``: one hidden layer that learns to reconstruct its input, sparsely.

For a batch ``X: (m, n_in)``::

    Z1 = X W1 + b1,  H = f(Z1),  Z2 = H W2 + b2,  X^ = g(Z2)
    loss = recon(X^, X) + sparsity(H) + (weight_decay / 2) (||W1||^2 + ||W2||^2) [+ aux]

(``pre_bias`` encodes X - b2 instead of X; ``aux_k`` adds AuxK's term, see
``npsae.reference.aux_forward``.)

The equations are in ``npsae.reference`` (NumPy, to read) and ``npsae.kernels`` (Numba, to run
fast); the penalties in ``npsae.penalties``; the choices, checked, in ``npsae.config``. This
module holds the parameters and the operations on them.

Wide TopK and BatchTopK models train on a sparse path. With ``backend="numba"``, when
``n_hidden >= 1024`` and ``k <= n_hidden / 16`` (``npsae.sparse_kernels.use_sparse``), a
training step computes only Z1 = X W1 densely; the code keeps its kept entries alone (a
``SparseCode`` in ``forward_backward``'s cache) and the decoder, the backward products and the
weight gradients touch only those, m k n_in numbers instead of m n_hidden n_in. It is the same
step as the dense path's (tests hold them equal: float64 to 1e-12, float32 to rounding, and
the selections, L0 and dead-unit counts exactly); ``encode`` still returns a dense H.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import os
from typing import Any

import numpy as np

from npsae import __version__, reference
from npsae._fileio import check_finite, load_npz, save_npz
from npsae.config import ConfigError, ModelConfig
from npsae.datasets import as_float
from npsae.penalties import (
    THRESHOLD_MOMENTUM,
    caveats,
    decoder_norms,
    make_sparsity,
    scheduled_k,
)
from npsae.reference import ForwardBackward, LossAndGrads
from npsae.sparse_code import SparseCode

PARAM_NAMES = ("W1", "b1", "W2", "b2")
# Every loss term a model may have; "aux" (AuxK) only with aux_k (see SparseAutoencoder.terms).
TERMS = reference.TERMS
# Version of the .npz layout written by ``save``; ``load`` refuses any other.
FILE_FORMAT = 1


class SparseAutoencoder:
    """A one-hidden-layer sparse autoencoder.

    ``SparseAutoencoder(n_in, n_hidden, **options)`` takes the fields of
    ``npsae.config.ModelConfig`` as keyword arguments, with its defaults and its checks (a bad
    value raises a ValueError naming the option): ``hidden`` and ``output`` (the activations),
    ``recon``, ``sparsity`` and its ``rho``, ``beta``, ``k``, ..., ``weight_decay``, ``dtype``,
    ``backend``, ``seed``, ``init``; ``ModelConfig``'s docstring says what each means.
    ``SparseAutoencoder.from_config(config)`` builds one from a config.

    Attributes:
        config: the ``ModelConfig`` (frozen; it reads as a dict too, ``config["hidden"]``).
        params: dict ``W1 (n_in, n_hidden)``, ``b1 (n_hidden,)``, ``W2 (n_hidden, n_in)``,
            ``b2 (n_in,)``, all of ``dtype``; with "jumprelu" also ``log_theta (n_hidden,)``.
        buffers: statistics training keeps besides the parameters (saved with them):
            ``threshold`` (a 0-d float64, BatchTopK's inference threshold, NaN until the first
            training step) and ``since_fired`` ((n_hidden,) int64, training samples since each
            unit last fired, with aux_k).
    """

    def __init__(self, *args: Any, **options: Any) -> None:
        # ModelConfig's fields, positional in its order (n_in, n_hidden, hidden, ...) or by name.
        self.config = config = ModelConfig(*args, **options)
        self.sparsity = make_sparsity(config)
        self._objective = reference.Objective(
            config.hidden,
            config.output,
            config.recon,
            self.sparsity,
            config.weight_decay,
            pre_bias=config.pre_bias,
            aux_k=config.aux_k or 0,
            aux_alpha=config.aux_alpha,
        )
        n_hidden = config.n_hidden
        self.params = init_params(config.n_in, n_hidden, self.dtype, config.seed, config.init)
        if self.sparsity.threshold:
            self.params["log_theta"] = np.full(n_hidden, np.log(config.theta_init), self.dtype)
        self.buffers: dict[str, np.ndarray] = {}
        if self.sparsity.batch:
            self.buffers["threshold"] = np.array(np.nan)
        if config.aux_k is not None:
            self.buffers["since_fired"] = np.zeros(n_hidden, np.int64)
        self._engine = _make_engine(config.backend)
        self.apply_constraints()

    @classmethod
    def from_config(cls, config: ModelConfig) -> SparseAutoencoder:
        """A new model (fresh weights from ``config.seed``) of ``config``."""
        return cls(**config)

    # ------------------------------------------------------------------ properties

    @property
    def n_in(self) -> int:
        return self.config.n_in

    @property
    def n_hidden(self) -> int:
        return self.config.n_hidden

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(self.config.dtype)

    @property
    def backend(self) -> str:
        return self.config.backend

    @property
    def terms(self) -> tuple[str, ...]:
        """The loss terms this model has: recon, sparsity, decay, and aux with AuxK."""
        return reference.objective_terms(self._objective)

    @property
    def caveats(self) -> list[str]:
        """What is allowed but questionable about this model's choices, one sentence each
        (``npsae.penalties.caveats``): building the model is silent, ``fit`` warns of them."""
        return caveats(self.config.hidden, self.config.sparsity)

    def __repr__(self) -> str:
        c = self.config
        return (
            f"SparseAutoencoder({c['n_in']} -> {c['n_hidden']} {c['hidden']} -> {c['n_in']} "
            f"{c['output']}, {c['recon']} + {c['sparsity']}, backend={c['backend']!r}, "
            f"dtype={c['dtype']})"
        )

    # ------------------------------------------------------------------ the maths

    def as_input(self, X: np.ndarray, name: str = "X") -> np.ndarray:
        """``X`` as a C-contiguous ``(m, n_in)`` array of the model's dtype, checked.

        uint8 images (pixel values 0..255, any trailing shape such as (m, 28, 28)) are scaled
        into [0, 1]. Raises ValueError for a wrong width, an empty batch, or NaN/inf entries.
        """
        X = np.asarray(X)
        if X.ndim >= 2 and X.dtype == np.uint8:
            X = as_float(X, dtype=self.dtype)  # the same conversion as the trainer's batches
        if X.ndim != 2 or X.shape[1] != self.n_in:
            raise ValueError(
                f"{name} must have shape (m, {self.n_in}) for this model, got {X.shape}"
            )
        if X.shape[0] == 0:
            raise ValueError(f"{name} is empty: it has no rows")
        if not np.issubdtype(X.dtype, np.number):
            raise ValueError(f"{name} must hold numbers, got dtype {X.dtype}")
        X = np.ascontiguousarray(X, dtype=self.dtype)
        if not np.isfinite(X).all():
            raise ValueError(f"{name} contains NaN or infinite values")
        return X

    def forward_backward(
        self, X: np.ndarray, check: bool = True, progress: float | None = None
    ) -> ForwardBackward:
        """One training step's loss terms, the gradient of their total, and the cache
        (``X``, the code ``H`` and its column sums), from the model's backend. ``progress``,
        the epochs trained so far (fractional), sets k under ``k_schedule`` (``training_k``);
        None keeps ``k``."""
        if check:
            X = self.as_input(X)
        objective = self._current_objective()
        if progress is not None and self.config.k_schedule is not None:
            k = self.training_k(progress)
            objective = dataclasses.replace(objective, sparsity=type(self.sparsity)(k))
        return self._engine.forward_backward(self.params, X, objective)

    def training_k(self, progress: float) -> int:
        """The k of a training step after ``progress`` epochs (fractional) under
        ``k_schedule`` (``npsae.penalties.scheduled_k``); ``k`` without one."""
        return scheduled_k(self.config.k, self.config.k_schedule, progress)

    def _current_objective(self, aux_base: np.ndarray | None = None) -> reference.Objective:
        """The objective with AuxK's current dead units (and a fixed Z2, if given)."""
        if not self._objective.aux_k:
            return self._objective
        return dataclasses.replace(self._objective, dead=self.dead_units(), aux_base=aux_base)

    def dead_units(self) -> np.ndarray:
        """(n_hidden,) bool: the units AuxK counts as dead, silent for ``dead_after`` training
        samples or more. ValueError without AuxK (only then are the samples counted)."""
        if "since_fired" not in self.buffers:
            raise ValueError("dead units are counted only with AuxK (aux_k)")
        return self.buffers["since_fired"] >= self.config.dead_after

    def _selection(self, inference: bool) -> dict:
        """How the encoder selects activations: the k, batch and theta of ``hidden_activation``.

        JumpReLU always uses its thresholds. BatchTopK selects within the batch in training and
        by its learned threshold at inference (the batch selection until one is learned).
        TopK keeps ``encode_k`` units at inference when it is set.
        """
        if self.sparsity.threshold:
            return {"theta": np.exp(self.params["log_theta"])}
        if inference and self.sparsity.batch and np.isfinite(self.buffers["threshold"]):
            return {"theta": np.full(self.n_hidden, self.buffers["threshold"], self.dtype)}
        if inference and self.config.encode_k is not None:
            return {"k": self.config.encode_k}
        return {"k": self.sparsity.k, "batch": self.sparsity.batch}

    def _encoder_input(self, X: np.ndarray) -> np.ndarray:
        return X - self.params["b2"] if self.config.pre_bias else X

    def loss_and_grads(self, X: np.ndarray, terms: tuple[str, ...] = TERMS) -> LossAndGrads:
        """The loss terms on the batch ``X: (m, n_in)`` and the gradient of some of them.

        Returns ``LossAndGrads``: ``loss``, a dict of floats ``recon``, ``sparsity``, ``decay``,
        ``aux`` and ``total``; ``grads``, with the keys, shapes and dtypes of ``params``, the
        gradient of the sum of the terms named in ``terms`` (all by default).

        Which code computes the gradient depends on ``terms``: with every term of the model
        (the default), the model's backend (``forward_backward``; the Numba kernels with
        backend="numba"); with a subset, the NumPy reference's ``term_grads`` whatever the
        backend, because the kernels fuse the terms and compute only their total. The loss
        terms come from the backend either way. A gradient check uses the subsets to test
        each term alone; training uses the total.
        """
        unknown = set(terms) - set(TERMS)
        if unknown:
            raise ValueError(f"terms {sorted(unknown)} are not known; choose from {TERMS}")
        if set(self.terms) <= set(terms):
            loss, grads, _ = self.forward_backward(X)
            return LossAndGrads(loss, grads)
        parts = self.term_grads(X)
        selected = [parts[t] for t in self.terms if t in terms]
        return LossAndGrads(self.loss(X), reference.sum_grads(selected, self.params))

    def term_grads(self, X: np.ndarray) -> dict[str, dict]:
        """Each loss term's gradient on its own, on ``X: (m, n_in)``: {"recon": grads, ...}
        for the terms of ``terms``, by the NumPy reference whatever the backend
        (``npsae.reference.term_grads``; the Numba kernels compute only the total)."""
        return reference.term_grads(self.params, self.as_input(X), self._current_objective())

    def loss(self, X: np.ndarray, aux_base: np.ndarray | None = None) -> dict:
        """The loss terms on ``X: (m, n_in)``, without gradients: the training objective, so
        BatchTopK selects within the batch X here. ``aux_base`` fixes the main code's Z2 = H W2
        + b2 that AuxK adds its dead units to (see ``npsae.reference.aux_forward``; a gradient
        check's)."""
        return self.forward(X, aux_base)[0]

    def forward(
        self, X: np.ndarray, aux_base: np.ndarray | None = None
    ) -> tuple[dict, np.ndarray, np.ndarray]:
        """``loss`` with the forward pass it ran: (loss terms, H: (m, n_hidden), X^: (m, n_in)).

        H is the training code (BatchTopK's batch selection), not ``encode``'s inference code.
        """
        X = self.as_input(X)
        Xe = self._encoder_input(X)
        hidden = self.config.hidden
        H, h_sum = self._engine.encode(self.params, Xe, hidden, **self._selection(False))
        X_hat = self._engine.decode(self.params, H, self.config.output)
        objective = self._current_objective(aux_base)
        recon = reference.RECON_LOSSES[self.config.recon](X_hat, X)
        aux = self._engine.aux_loss(self.params, Xe, X, H, objective)
        return reference.assemble_losses(self.params, objective, recon, H, h_sum, aux), H, X_hat

    def encode(self, X: np.ndarray) -> np.ndarray:
        """Hidden activations H = f(X W1 + b1) (of X - b2 with ``pre_bias``), as at inference:
        BatchTopK keeps what exceeds its learned threshold, TopK its ``encode_k`` largest if
        set (Makhzani & Frey's alpha k). X: (m, n_in) -> H: (m, n_hidden)."""
        X = self._encoder_input(self.as_input(X))
        hidden = self.config.hidden
        return self._engine.encode(self.params, X, hidden, **self._selection(True))[0]

    def decode(self, H: np.ndarray | SparseCode) -> np.ndarray:
        """Reconstruction X^ = g(H W2 + b2); H: (m, n_hidden) (or the ``SparseCode`` of a
        sparse training step's cache) -> X^: (m, n_in)."""
        H = H.toarray() if isinstance(H, SparseCode) else np.asarray(H)
        if H.ndim != 2 or H.shape[1] != self.n_hidden:
            raise ValueError(f"H must have shape (m, {self.n_hidden}), got {H.shape}")
        H = np.ascontiguousarray(H, dtype=self.dtype)
        return self._engine.decode(self.params, H, self.config.output)

    def reconstruct(self, X: np.ndarray) -> np.ndarray:
        """X^ = g(f(X W1 + b1) W2 + b2); X: (m, n_in) -> X^: (m, n_in)."""
        return self.decode(self.encode(X))

    # ------------------------------------------------------------------ training statistics

    def update_statistics(self, H: np.ndarray | SparseCode) -> None:
        """After a training step on a batch whose code was ``H: (m, n_hidden)`` (dense or a
        ``SparseCode``), update the
        buffers: BatchTopK's threshold theta <- mu theta + (1 - mu) min{H_ij > 0} (mu =
        ``THRESHOLD_MOMENTUM``; the first batch sets it), and AuxK's samples since each unit
        last fired (0 for units that fired in H, + m for the others). In place."""
        sparse = isinstance(H, SparseCode)
        if "threshold" in self.buffers:
            # The smallest kept activation.
            smallest = (
                H.smallest_positive() if sparse else float(np.min(H, initial=np.inf, where=H > 0))
            )
            if np.isfinite(smallest):
                old, mu = float(self.buffers["threshold"]), THRESHOLD_MOMENTUM
                new = smallest if np.isnan(old) else mu * old + (1 - mu) * smallest
                self.buffers["threshold"] = np.array(new)
        if "since_fired" in self.buffers:
            since = self.buffers["since_fired"]
            since += H.shape[0]
            since[H.fired() if sparse else (H > 0).any(axis=0)] = 0

    # ------------------------------------------------------------------ constraints

    def constrain_grads(self, grads: dict) -> None:
        """Before an optimiser step: with ``unit_norm_decoder``, remove from each decoder row's
        gradient its component along the (unit) row, g_j <- g_j - (g_j . W2_j) W2_j, so the step
        moves the row along the unit sphere rather than changing its length. In place."""
        if self.config.unit_norm_decoder:
            W2, g = self.params["W2"], grads["W2"]
            g -= np.sum(g * W2, axis=1, keepdims=True) * W2

    def apply_constraints(self) -> None:
        """After an optimiser step: with ``unit_norm_decoder``, rescale each decoder row W2_j to
        unit length (rows of norm 0 are left alone). In place."""
        if self.config.unit_norm_decoder:
            W2 = self.params["W2"]
            norms = decoder_norms(W2).astype(W2.dtype)[:, None]
            np.divide(W2, norms, out=W2, where=norms > 0)

    # ------------------------------------------------------------------ copies and files

    def copy(self, **changes: Any) -> SparseAutoencoder:
        """A new model with this one's parameters (copied) and config, with ``changes`` applied.

        ``changes`` may set any option but ``n_in`` and ``n_hidden``; a new ``dtype`` converts
        the parameters, e.g. ``model.copy(dtype=np.float64, backend="numpy")`` for a gradient
        check.
        """
        config = self.config.replace(**changes)
        if (config.n_in, config.n_hidden) != (self.n_in, self.n_hidden):
            raise ValueError("copy() cannot change n_in or n_hidden")
        clone = SparseAutoencoder.from_config(config)
        clone.params = {k: v.astype(clone.dtype, copy=True) for k, v in self.params.items()}
        clone.buffers = {k: v.copy() for k, v in self.buffers.items()}
        return clone

    def save(self, path: str | os.PathLike, extra: dict[str, np.ndarray] | None = None) -> None:
        """Write the parameters and config to ``path`` (.npz, config as JSON), atomically.

        ``extra`` adds arrays under names starting with ``"state/"`` (the trainer keeps the
        optimiser's state there); ``load`` ignores them, ``load_npz`` returns them.
        """
        extra = extra or {}
        bad = [k for k in extra if not k.startswith("state/")]
        if bad:
            raise ValueError(f"extra array names must start with 'state/', got {bad}")
        config = self.config.file_dict()
        meta = {"format": FILE_FORMAT, "npsae_version": __version__, "config": config}
        buffers = {f"buffer/{k}": v for k, v in self.buffers.items()}
        save_npz(path, {**self.params, **buffers, **extra, "meta": np.array(json.dumps(meta))})

    @classmethod
    def load(cls, path: str | os.PathLike, backend: str | None = None) -> SparseAutoencoder:
        """Read a model written by ``save`` (never unpickling), optionally on another backend.

        Raises ValueError naming the file for a missing key, an unknown config field, a file
        format from another npsae version, or parameters of the wrong shape or dtype or holding
        NaN or infinity.
        """
        return cls.from_arrays(load_npz(path), source=str(path), backend=backend)

    @classmethod
    def from_arrays(
        cls, arrays: dict, source: str = "<arrays>", backend: str | None = None
    ) -> SparseAutoencoder:
        """Build a model from the arrays of a saved file (see ``load``)."""
        if "meta" not in arrays:
            raise ValueError(f"{source}: no 'meta' entry; not a model saved by npsae")
        try:
            meta = json.loads(str(arrays["meta"]))
            recorded = meta["config"]
        except (ValueError, KeyError, TypeError) as err:
            raise ValueError(f"{source}: unreadable 'meta' entry ({err})") from err
        if meta.get("format") != FILE_FORMAT:
            raise ValueError(
                f"{source}: file format {meta.get('format')!r} (npsae "
                f"{meta.get('npsae_version', '?')}) is not the format {FILE_FORMAT} this npsae "
                f"{__version__} reads"
            )
        config = ModelConfig.from_dict(recorded, source=source)
        if backend is not None:
            try:
                config = config.replace(backend=backend)
            except ConfigError as err:
                raise ValueError(f"{source}: {err}") from err
        model = cls.from_config(config)
        for name, ref in model.params.items():
            if name not in arrays:
                raise ValueError(f"{source}: parameter {name!r} is missing")
            arr = arrays[name]
            if arr.shape != ref.shape or arr.dtype != ref.dtype:
                raise ValueError(
                    f"{source}: parameter {name!r} has shape {arr.shape} and dtype {arr.dtype}; "
                    f"the config needs {ref.shape} {ref.dtype}"
                )
            model.params[name] = np.array(arr)
        for name, ref in model.buffers.items():
            arr = arrays.get(f"buffer/{name}")
            if arr is None or arr.shape != ref.shape or arr.dtype != ref.dtype:
                raise ValueError(
                    f"{source}: buffer {name!r} is missing or not {ref.shape} {ref.dtype}"
                )
            model.buffers[name] = np.array(arr)
        check_finite(model.params, f"{source}: parameter")
        return model


# The constructor takes ModelConfig's fields: help(SparseAutoencoder) and a notebook's tooltip
# list them all, with their defaults.
SparseAutoencoder.__signature__ = inspect.signature(ModelConfig)


def init_params(n_in: int, n_hidden: int, dtype: np.dtype, seed: int, init: str) -> dict:
    """Initial parameters, biases zero and weights:

    - "glorot": uniform in [-r, r], r = sqrt(6 / (n_in + n_hidden)) (Keras' glorot_uniform);
    - "ufldl": the same with r = sqrt(6 / (n_in + n_hidden + 1)) (the UFLDL exercise's);
    - "tied": decoder rows W2_j drawn in uniformly random directions at unit length, and the
      encoder their transpose, W1 = W2^T (Gao et al. 2024): each unit starts reading the
      direction it writes.
    """
    rng = np.random.default_rng(seed)
    if init == "tied":
        W2 = rng.standard_normal((n_hidden, n_in))
        W2 /= np.linalg.norm(W2, axis=1, keepdims=True)
        W1 = W2.T.copy()
    else:
        r = np.sqrt(6.0 / (n_in + n_hidden + (1 if init == "ufldl" else 0)))
        W1 = rng.uniform(-r, r, (n_in, n_hidden))
        W2 = rng.uniform(-r, r, (n_hidden, n_in))
    return {
        "W1": W1.astype(dtype),
        "b1": np.zeros(n_hidden, dtype),
        "W2": np.ascontiguousarray(W2, dtype),
        "b2": np.zeros(n_in, dtype),
    }


def _make_engine(backend: str):
    """The backend: ``encode``, ``decode``, ``aux_loss`` and ``forward_backward`` with the
    contracts of the functions of those names in ``npsae.reference``, which is itself one."""
    if backend == "numpy":
        return reference
    from npsae.kernels import NumbaBackend  # Numba compiles lazily; import it only when asked

    return NumbaBackend()
