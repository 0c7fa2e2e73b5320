"""``SparseAutoencoder``: one hidden layer that learns to reconstruct its input, sparsely.

For a batch ``X: (m, n_in)``::

    Z1 = X W1 + b1,  H = f(Z1),  Z2 = H W2 + b2,  X^ = g(Z2)
    loss = recon(X^, X) + sparsity(H) + (weight_decay / 2) (||W1||^2 + ||W2||^2)

The equations are in ``npsae.reference`` (NumPy, to read) and ``npsae.kernels`` (Numba, to run
fast); the penalties in ``npsae.penalties``. This module holds the parameters and the choices.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import os
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from npsae import __version__, reference
from npsae._fileio import check_finite, load_npz, save_npz
from npsae.datasets import as_float
from npsae.penalties import (
    WEIGHTS,
    Sparsity,
    add_weight_decay_grad,
    decoder_norms,
    make_sparsity,
    weight_decay,
)

PARAM_NAMES = ("W1", "b1", "W2", "b2")
TERMS = ("recon", "sparsity", "decay")
HIDDEN = ("sigmoid", "relu")
OUTPUT = ("sigmoid", "linear")
RECON = ("mse", "sse")
BACKENDS = ("numba", "numpy")
INITS = ("glorot", "ufldl")
DTYPES = ("float32", "float64")
# Version of the .npz layout written by ``save``; ``load`` refuses any other.
FILE_FORMAT = 1


@dataclasses.dataclass(frozen=True)
class Spec:
    """Everything a backend needs besides the parameters and the data.

    ``recon_scale``, ``sparsity_scale`` and ``decay_scale`` (1 or 0) say which loss terms the
    gradients include; the loss values always include every term.
    """

    hidden: str
    output: str
    recon: str
    sparsity: Sparsity
    weight_decay: float
    recon_scale: float = 1.0
    sparsity_scale: float = 1.0
    decay_scale: float = 1.0

    def loss_terms(
        self, recon: float, h_sum: np.ndarray, m: int, params: dict, sq_norm: float | None = None
    ) -> dict:
        """The loss terms of a batch, as floats: recon, sparsity, decay and their total.

        ``sq_norm`` = ||W1||^2 + ||W2||^2 when the caller has it already (see
        ``add_penalty_grads``); otherwise the decay term computes it.
        """
        if not self.weight_decay:
            decay = 0.0
        elif sq_norm is None:
            decay = weight_decay(params, self.weight_decay)
        else:
            decay = 0.5 * self.weight_decay * sq_norm
        terms = {
            "recon": float(recon),
            "sparsity": self.sparsity.value(h_sum, m, params["W2"]),
            "decay": decay,
        }
        terms["total"] = terms["recon"] + terms["sparsity"] + terms["decay"]
        return terms

    def sparsity_grads(
        self, h_sum: np.ndarray, m: int, W2: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """(c, dP/dW2): the penalty's per-unit gradient on H and its gradient on the decoder."""
        c = self.sparsity.hidden_grad(h_sum, m, W2) * self.sparsity_scale
        dW2 = self.sparsity.decoder_grad(h_sum, m, W2) if self.sparsity_scale else None
        return c, dW2

    def add_penalty_grads(
        self,
        grads: dict,
        params: dict,
        dW2_sparsity: np.ndarray | None,
        add_decay: Callable = add_weight_decay_grad,
    ) -> float | None:
        """Add the weight-decay gradient and the sparsity penalty's decoder gradient in place.

        ``add_decay(grad, W, lam)`` (a backend's own) does grad += lam W and returns ||W||^2.
        Returns ||W1||^2 + ||W2||^2 for ``loss_terms``, or None when the decay gradient is off.
        """
        sq_norm = None
        if self.weight_decay and self.decay_scale:
            sq_norm = sum(add_decay(grads[k], params[k], self.weight_decay) for k in WEIGHTS)
        if dW2_sparsity is not None:
            grads["W2"] += dW2_sparsity.astype(grads["W2"].dtype)
        return sq_norm


def _check_choice(name: str, value: Any, choices: tuple) -> None:
    if value not in choices:
        raise ValueError(f"{name}={value!r} is not known; choose one of {', '.join(choices)}")


class SparseAutoencoder:
    """A one-hidden-layer sparse autoencoder.

    Args:
        n_in: input (and output) width, e.g. 784 for MNIST.
        n_hidden: number of hidden units.
        hidden: hidden activation f, "sigmoid" or "relu".
        output: output activation g, "sigmoid" (inputs in [0, 1]) or "linear".
        recon: "mse" (Keras: mean over all entries) or "sse" (UFLDL: half the sum, per sample).
        sparsity: "kl", "l1", "l1-decoder" (L1 weighted by decoder norms), "topk" (keep the
            k largest ReLU activations of each sample) or None; see ``npsae.penalties``.
        rho: target mean activation of each hidden unit, for "kl"; in (0, 1).
        beta: weight of the sparsity penalty, >= 0.
        weight_decay: lambda of the (lambda / 2) ||W||^2 penalty on W1 and W2, >= 0.
        dtype: float32 (training) or float64 (gradient checks).
        backend: "numba" (compiled kernels) or "numpy" (the readable reference).
        seed: seeds the initial weights.
        init: "glorot" (Keras' default: U(-r, r), r = sqrt(6 / (n_in + n_hidden))) or "ufldl"
            (r = sqrt(6 / (n_in + n_hidden + 1))); biases start at zero either way.
        k: the number of units "topk" keeps per sample (only with sparsity="topk").
        unit_norm_decoder: keep every decoder row W2_j at unit length: the trainer calls
            ``constrain_grads`` before each optimiser step and ``apply_constraints`` after it.

    Attributes:
        params: dict ``W1 (n_in, n_hidden)``, ``b1 (n_hidden,)``, ``W2 (n_hidden, n_in)``,
            ``b2 (n_in,)``, all of ``dtype``.
        config: the constructor's arguments as a JSON-ready dict.
    """

    def __init__(
        self,
        n_in: int,
        n_hidden: int,
        hidden: str = "sigmoid",
        output: str = "sigmoid",
        recon: str = "mse",
        sparsity: str | None = "kl",
        rho: float = 0.05,
        beta: float = 0.1,
        weight_decay: float = 0.0,
        dtype: Any = np.float32,
        backend: str = "numba",
        seed: int = 0,
        init: str = "glorot",
        k: int | None = None,
        unit_norm_decoder: bool = False,
    ) -> None:
        for name, value in (("n_in", n_in), ("n_hidden", n_hidden)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        _check_choice("hidden", hidden, HIDDEN)
        _check_choice("output", output, OUTPUT)
        _check_choice("recon", recon, RECON)
        _check_choice("backend", backend, BACKENDS)
        _check_choice("init", init, INITS)
        dtype_name = np.dtype(dtype).name if _is_dtype(dtype) else repr(dtype)
        _check_choice("dtype", dtype_name, DTYPES)
        if not 0.0 < rho < 1.0:
            raise ValueError(f"rho={rho!r} must lie strictly between 0 and 1 (a target mean)")
        for name, value in (("beta", beta), ("weight_decay", weight_decay)):
            if not (np.isfinite(value) and value >= 0):
                raise ValueError(f"{name}={value!r} must be a finite number >= 0")
        self.config = {
            "n_in": int(n_in),
            "n_hidden": int(n_hidden),
            "hidden": hidden,
            "output": output,
            "recon": recon,
            "sparsity": sparsity,
            "rho": float(rho),
            "beta": float(beta),
            "weight_decay": float(weight_decay),
            "dtype": dtype_name,
            "backend": backend,
            "seed": int(seed),
            "init": init,
            "k": None if k is None else int(k),
            "unit_norm_decoder": bool(unit_norm_decoder),
        }
        self.sparsity = make_sparsity(
            sparsity, beta=beta, rho=rho, hidden=hidden, k=k, n_hidden=int(n_hidden)
        )
        self._spec = Spec(hidden, output, recon, self.sparsity, float(weight_decay))
        self.params = init_params(int(n_in), int(n_hidden), np.dtype(dtype_name), seed, init)
        self._engine = _make_engine(backend)
        self.apply_constraints()

    # ------------------------------------------------------------------ properties

    @property
    def n_in(self) -> int:
        return self.config["n_in"]

    @property
    def n_hidden(self) -> int:
        return self.config["n_hidden"]

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(self.config["dtype"])

    @property
    def backend(self) -> str:
        return self.config["backend"]

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
        self, X: np.ndarray, terms: tuple[str, ...] = TERMS, check: bool = True
    ) -> tuple[dict, dict, reference.Cache]:
        """``loss_and_grads`` that also returns the cache (``X``, ``H`` and its column sums)."""
        unknown = set(terms) - set(TERMS)
        if unknown:
            raise ValueError(f"terms {sorted(unknown)} are not known; choose from {TERMS}")
        if check:
            X = self.as_input(X)
        spec = self._spec
        if tuple(terms) != TERMS:
            spec = dataclasses.replace(spec, **{f"{t}_scale": float(t in terms) for t in TERMS})
        return self._engine.loss_and_grads(self.params, X, spec)

    def loss_and_grads(self, X: np.ndarray, terms: tuple[str, ...] = TERMS) -> tuple[dict, dict]:
        """The loss terms and their gradients on the batch ``X: (m, n_in)``.

        Returns:
            loss: dict of floats ``recon``, ``sparsity``, ``decay`` and ``total``.
            grads: dict with the keys and shapes of ``params``; the gradient of the sum of the
                terms named in ``terms`` (all three by default), so a gradient check can test
                each term alone.
        """
        loss, grads, _ = self.forward_backward(X, terms)
        return loss, grads

    def loss(self, X: np.ndarray) -> dict:
        """The loss terms on ``X: (m, n_in)``, without gradients."""
        X = self.as_input(X)
        H, h_sum = self._engine.encode(self.params, X, self.config["hidden"], self.sparsity.k)
        X_hat = self._engine.decode(self.params, H, self.config["output"])
        recon = reference.RECON_LOSSES[self.config["recon"]](X_hat, X)
        return self._spec.loss_terms(recon, h_sum, X.shape[0], self.params)

    def encode(self, X: np.ndarray) -> np.ndarray:
        """Hidden activations H = f(X W1 + b1); X: (m, n_in) -> H: (m, n_hidden)."""
        X = self.as_input(X)
        return self._engine.encode(self.params, X, self.config["hidden"], self.sparsity.k)[0]

    def decode(self, H: np.ndarray) -> np.ndarray:
        """Reconstruction X^ = g(H W2 + b2); H: (m, n_hidden) -> X^: (m, n_in)."""
        H = np.asarray(H)
        if H.ndim != 2 or H.shape[1] != self.n_hidden:
            raise ValueError(f"H must have shape (m, {self.n_hidden}), got {H.shape}")
        H = np.ascontiguousarray(H, dtype=self.dtype)
        return self._engine.decode(self.params, H, self.config["output"])

    def reconstruct(self, X: np.ndarray) -> np.ndarray:
        """X^ = g(f(X W1 + b1) W2 + b2); X: (m, n_in) -> X^: (m, n_in)."""
        return self.decode(self.encode(X))

    # ------------------------------------------------------------------ constraints

    def constrain_grads(self, grads: dict) -> None:
        """Before an optimiser step: with ``unit_norm_decoder``, remove from each decoder row's
        gradient its component along the (unit) row, g_j <- g_j - (g_j . W2_j) W2_j, so the step
        moves the row along the unit sphere rather than changing its length. In place."""
        if self.config["unit_norm_decoder"]:
            W2, g = self.params["W2"], grads["W2"]
            g -= np.sum(g * W2, axis=1, keepdims=True) * W2

    def apply_constraints(self) -> None:
        """After an optimiser step: with ``unit_norm_decoder``, rescale each decoder row W2_j to
        unit length (rows of norm 0 are left alone). In place."""
        if self.config["unit_norm_decoder"]:
            W2 = self.params["W2"]
            norms = decoder_norms(W2).astype(W2.dtype)[:, None]
            np.divide(W2, norms, out=W2, where=norms > 0)

    # ------------------------------------------------------------------ copies and files

    def copy(self, **changes: Any) -> SparseAutoencoder:
        """A new model with this one's parameters (copied) and config, with ``changes`` applied.

        ``changes`` may set any constructor argument; a new ``dtype`` converts the parameters,
        e.g. ``model.copy(dtype=np.float64, backend="numpy")`` for a gradient check.
        """
        config = {**self.config, **changes}
        if "dtype" in changes:
            config["dtype"] = np.dtype(changes["dtype"]).name
        with warnings.catch_warnings():
            # The original's constructor already warned about its configuration.
            warnings.simplefilter("ignore", UserWarning)
            clone = SparseAutoencoder(**config)
        if (clone.n_in, clone.n_hidden) != (self.n_in, self.n_hidden):
            raise ValueError("copy() cannot change n_in or n_hidden")
        clone.params = {k: v.astype(clone.dtype, copy=True) for k, v in self.params.items()}
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
        meta = {"format": FILE_FORMAT, "npsae_version": __version__, "config": self.config}
        save_npz(path, {**self.params, **extra, "meta": np.array(json.dumps(meta))})

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
            config = dict(meta["config"])
        except (ValueError, KeyError, TypeError) as err:
            raise ValueError(f"{source}: unreadable 'meta' entry ({err})") from err
        if meta.get("format") != FILE_FORMAT:
            raise ValueError(
                f"{source}: file format {meta.get('format')!r} (npsae "
                f"{meta.get('npsae_version', '?')}) is not the format {FILE_FORMAT} this npsae "
                f"{__version__} reads"
            )
        known = set(inspect.signature(cls).parameters)
        unknown = sorted(set(config) - known)
        if unknown:
            raise ValueError(f"{source}: unknown config fields {unknown}")
        if backend is not None:
            config["backend"] = backend
        try:
            with warnings.catch_warnings():
                # Warnings about the configuration were given when it was first built.
                warnings.simplefilter("ignore", UserWarning)
                model = cls(**config)
        except (TypeError, ValueError) as err:
            raise ValueError(f"{source}: invalid config ({err})") from err
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
        check_finite(model.params, f"{source}: parameter")
        return model


def _is_dtype(dtype: Any) -> bool:
    try:
        np.dtype(dtype)
    except TypeError:
        return False
    return True


def init_params(n_in: int, n_hidden: int, dtype: np.dtype, seed: int, init: str) -> dict:
    """Initial parameters: uniform weights in [-r, r], zero biases.

    r = sqrt(6 / (n_in + n_hidden)) for "glorot" (Keras' glorot_uniform), and
    r = sqrt(6 / (n_in + n_hidden + 1)) for "ufldl" (the UFLDL exercise's initialisation).
    """
    fan = n_in + n_hidden + (1 if init == "ufldl" else 0)
    r = np.sqrt(6.0 / fan)
    rng = np.random.default_rng(seed)
    return {
        "W1": rng.uniform(-r, r, (n_in, n_hidden)).astype(dtype),
        "b1": np.zeros(n_hidden, dtype),
        "W2": rng.uniform(-r, r, (n_hidden, n_in)).astype(dtype),
        "b2": np.zeros(n_in, dtype),
    }


def _make_engine(backend: str):
    if backend == "numpy":
        return reference
    from npsae.kernels import NumbaBackend  # Numba compiles lazily; import it only when asked

    return NumbaBackend()
