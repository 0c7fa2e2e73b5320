"""Optimisers: Adam and SGD (with optional momentum), updating the parameters in place.

Each update exists twice:

* ``adam_step`` and ``sgd_step``: pure NumPy functions returning new arrays, written to be read
  (the classroom exercises grade students against them);
* a Numba kernel per optimiser, called once per step for all the parameters: one fused loop
  over each parameter array that updates the moments and the parameter in place, with the same
  operations in the same order, so that it gives bit-for-bit the reference's result (a test
  holds them equal).

Arithmetic happens in the parameter's dtype, and so do the moments: the hyper-parameters are
rounded to that dtype first, as NumPy does when a Python float meets a float32 array.

An optimiser's state (step count and moments) is a flat ``dict[str, np.ndarray]`` with names
like ``"t"``, ``"m/W1"``, ``"v/W1"``, ready for ``model.save(extra=...)``; ``config`` is a
JSON-ready dict from which ``from_config`` builds the same optimiser again.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numba import literal_unroll, njit

from npsae._fileio import check_finite
from npsae.config import ConfigError
from npsae.kernels import CACHE

# --------------------------------------------------------------------------- the reference


def adam_step(
    p: np.ndarray,
    g: np.ndarray,
    m: np.ndarray,
    v: np.ndarray,
    t: int,
    lr: float,
    beta1: float,
    beta2: float,
    eps: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One Adam step (Kingma & Ba 2015, Algorithm 1) on a parameter ``p`` with gradient ``g``.

    ``m`` and ``v`` (shaped like ``p``) are the running first and second moments of the
    gradient, ``t >= 1`` the number of this step::

        m  = beta1 m + (1 - beta1) g
        v  = beta2 v + (1 - beta2) g^2
        m^ = m / (1 - beta1^t)          # bias correction: m and v start at 0
        v^ = v / (1 - beta2^t)
        p  = p - lr m^ / (sqrt(v^) + eps)

    Returns the new ``(p, m, v)``; the arguments are not modified. Keras writes the same step
    with eps scaled by sqrt(1 - beta2^t); the two differ only where sqrt(v^) is near eps.
    """
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g * g
    m_hat = m / (1 - beta1**t)
    v_hat = v / (1 - beta2**t)
    p = p - lr * m_hat / (np.sqrt(v_hat) + eps)
    return p, m, v


def sgd_step(
    p: np.ndarray, g: np.ndarray, velocity: np.ndarray, lr: float, momentum: float
) -> tuple[np.ndarray, np.ndarray]:
    """One step of stochastic gradient descent with (heavy-ball) momentum, as Keras writes it::

        velocity = momentum velocity - lr g
        p        = p + velocity

    With momentum 0 this is plain gradient descent, p = p - lr g. Returns the new
    ``(p, velocity)``; the arguments are not modified.
    """
    velocity = momentum * velocity - lr * g
    p = p + velocity
    return p, velocity


# --------------------------------------------------------------------------- the kernels


# error_model="numpy": Python's division-by-zero checks would stop LLVM vectorising the loop.
# The scalars arrive rounded to the arrays' dtype, so every operation below is the reference's
# operation in that dtype, in the same order.
@njit(cache=CACHE, error_model="numpy")
def _adam_array(p, g, m, v, lr, beta1, one_minus_beta1, beta2, one_minus_beta2, bc1, bc2, eps):
    for i in range(p.size):
        m_i = beta1 * m[i] + one_minus_beta1 * g[i]
        v_i = beta2 * v[i] + one_minus_beta2 * g[i] * g[i]
        m[i] = m_i
        v[i] = v_i
        p[i] = p[i] - lr * (m_i / bc1) / (np.sqrt(v_i / bc2) + eps)


@njit(cache=CACHE, error_model="numpy")
def _sgd_array(p, g, velocity, lr, momentum):
    for i in range(p.size):
        vel = momentum * velocity[i] - lr * g[i]
        velocity[i] = vel
        p[i] = p[i] + vel


# One call per step for all the parameters (``literal_unroll`` compiles the body once per array
# type), the scalars passed as float64 and rounded to each array's dtype inside, as NumPy rounds
# a Python float that meets a float32 array.
@njit(cache=CACHE, error_model="numpy")
def _adam_kernel(arrays, lr, beta1, beta2, bc1, bc2, eps):
    for a in literal_unroll(arrays):
        f = a[0].dtype.type
        b1, b2 = f(beta1), f(beta2)
        one_minus_b1, one_minus_b2 = f(1.0 - beta1), f(1.0 - beta2)
        _adam_array(*a, f(lr), b1, one_minus_b1, b2, one_minus_b2, f(bc1), f(bc2), f(eps))


@njit(cache=CACHE, error_model="numpy")
def _sgd_kernel(arrays, lr, momentum):
    for a in literal_unroll(arrays):
        f = a[0].dtype.type
        _sgd_array(*a, f(lr), f(momentum))


def _flat(a: np.ndarray, name: str) -> np.ndarray:
    """A 1-D view of ``a`` (never a copy: the kernels write through it)."""
    if not (a.flags.c_contiguous and a.flags.writeable):
        raise ValueError(f"{name} must be a C-contiguous writable array to be updated in place")
    return a.reshape(-1)


# --------------------------------------------------------------------------- the optimisers


def _same_entry(a: tuple[str, np.ndarray], b: tuple[str, np.ndarray]) -> bool:
    return a[0] == b[0] and a[1] is b[1]


# The learning rate's rule, as the command line words it (``--lr 0: RULE``).
LR_RULE = "the learning rate must be a number > 0"


def _in_range(
    name: str, value: Any, low: float, high: float, include_low: bool, rule: str = ""
) -> float:
    """``value`` as a float, checked to lie in [low, high) (or (low, high)); NaN never does.
    A ConfigError names ``name``; ``rule`` words the condition for the command line."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ConfigError(f"{name} must be a number, got {value!r}", name, value, "not a number")
    x = float(value)
    above_low = x >= low if include_low else x > low
    if not (above_low and x < high):
        interval = f"must lie in {'[' if include_low else '('}{low:g}, {high:g})"
        raise ConfigError(f"{name}={x!r} {interval}", name, x, rule or interval)
    return x


class Optimizer:
    """What the trainer needs from an optimiser: ``step``, ``state_dict``, ``load_state_dict``
    and ``config``. Subclasses name their per-parameter state arrays in ``SLOTS``."""

    name = ""
    SLOTS: tuple[str, ...] = ()

    def __init__(self) -> None:
        self.t = 0
        # slot -> parameter name -> array shaped and typed like the parameter
        self.state: dict[str, dict[str, np.ndarray]] = {slot: {} for slot in self.SLOTS}
        self._views: tuple = ((), ())  # see ``_flat_views``

    @property
    def config(self) -> dict:
        """The optimiser's name and hyper-parameters, JSON-ready (see ``from_config``)."""
        raise NotImplementedError

    def step(self, params: dict[str, np.ndarray], grads: dict[str, np.ndarray]) -> None:
        """Update every array of ``params`` in place from the matching array of ``grads``."""
        views = self._flat_views(params)
        self.t += 1
        arrays = []
        for (name, p), (flat_p, *state) in zip(params.items(), views, strict=True):
            g = grads[name]
            if g.shape != p.shape:
                raise ValueError(f"gradient {name!r} has shape {g.shape}, parameter {p.shape}")
            arrays.append((flat_p, np.ascontiguousarray(g, p.dtype).reshape(-1), *state))
        self._update(tuple(arrays))

    def _flat_views(self, params: dict[str, np.ndarray]) -> tuple[tuple[np.ndarray, ...], ...]:
        """Per parameter, its flat view and its state's, made (and the state checked) again
        only when a parameter or state array is not the object it was at the last step: the
        checks and reshapes, a few dozen Python operations, cost some 40 us per step between
        the products of a training step, which have pushed the interpreter out of the caches."""
        seen, views = self._views
        arrays = self._arrays(params)
        if len(seen) != len(arrays) or not all(map(_same_entry, seen, arrays)):
            self._ensure_state(params)
            views = tuple(
                (_flat(p, name), *(self.state[slot][name].reshape(-1) for slot in self.SLOTS))
                for name, p in params.items()
            )
            self._views = (self._arrays(params), views)
        return views

    def _arrays(self, params: dict[str, np.ndarray]) -> tuple[tuple[str, np.ndarray], ...]:
        return (*params.items(), *(e for slot in self.SLOTS for e in self.state[slot].items()))

    def _update(self, arrays: tuple[tuple[np.ndarray, ...], ...]) -> None:
        """One step on every parameter: ``arrays`` holds, per parameter, its flat (p, g) and
        its state arrays in the order of ``SLOTS``, all updated in place."""
        raise NotImplementedError

    def _ensure_state(self, params: dict[str, np.ndarray]) -> None:
        # Moments start at zero, in the parameter's dtype, the first time a parameter is seen.
        for slot in self.SLOTS:
            for name, p in params.items():
                if name not in self.state[slot]:
                    self.state[slot][name] = np.zeros(p.shape, p.dtype)
        self.check_state(params)

    def check_state(self, params: dict[str, np.ndarray]) -> None:
        """Raise ValueError unless the state fits ``params`` (same names, shapes and dtypes)."""
        for slot in self.SLOTS:
            arrays = self.state[slot]
            if arrays and set(arrays) != set(params):
                raise ValueError(
                    f"optimiser state {slot!r} holds {sorted(arrays)}, "
                    f"the parameters are {sorted(params)}"
                )
            for name, a in arrays.items():
                p = params[name]
                if a.shape != p.shape or a.dtype != p.dtype:
                    raise ValueError(
                        f"optimiser state '{slot}/{name}' is {a.dtype} {a.shape}, "
                        f"the parameter {p.dtype} {p.shape}"
                    )

    def state_dict(self) -> dict[str, np.ndarray]:
        """The state as flat arrays: ``"t"`` (steps taken) and ``"<slot>/<param>"``, copied."""
        state = {"t": np.array(self.t, np.int64)}
        for slot, arrays in self.state.items():
            state.update({f"{slot}/{name}": a.copy() for name, a in arrays.items()})
        return state

    def load_state_dict(
        self, state: dict[str, np.ndarray], params: dict[str, np.ndarray] | None = None
    ) -> None:
        """Restore a state written by ``state_dict`` (copied in); with ``params``, also check
        that it fits them. Raises ValueError for unknown or missing entries, or NaN or infinity."""
        if (
            "t" not in state
            or np.ndim(state["t"]) != 0
            or not np.issubdtype(np.asarray(state["t"]).dtype, np.integer)
        ):
            raise ValueError("optimiser state needs an integer scalar 't' (the steps taken)")
        t = int(state["t"])
        if t < 0:
            raise ValueError(f"optimiser state has t={t}; the step count cannot be negative")
        slots: dict[str, dict[str, np.ndarray]] = {slot: {} for slot in self.SLOTS}
        for key, a in state.items():
            if key == "t":
                continue
            slot, _, name = key.partition("/")
            if slot not in slots or not name:
                raise ValueError(f"optimiser state entry {key!r} is not one {self.name} keeps")
            slots[slot][name] = np.array(a)
        for slot, arrays in slots.items():
            check_finite(arrays, f"optimiser state {slot!r} of")
        names = [set(arrays) for arrays in slots.values()]
        if t > 0 and any(n != names[0] or not n for n in names):
            raise ValueError(
                f"optimiser state after {t} steps needs {', '.join(self.SLOTS)} for every parameter"
            )
        self.t, self.state = t, slots
        self._views = ((), ())
        if params is not None:
            self.check_state(params)


class Adam(Optimizer):
    """Adam with bias correction (see ``adam_step``); Keras' default hyper-parameters.

    Args:
        lr: the step size, > 0.
        beta1, beta2: decay rates of the first and second moment estimates, in [0, 1).
        eps: added to sqrt(v^) so that the step stays bounded, > 0.
    """

    name = "adam"
    SLOTS = ("m", "v")

    def __init__(
        self, lr: float = 1e-3, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-7
    ) -> None:
        super().__init__()
        self.lr = _in_range("lr", lr, 0.0, math.inf, include_low=False, rule=LR_RULE)
        self.beta1 = _in_range("beta1", beta1, 0.0, 1.0, include_low=True)
        self.beta2 = _in_range("beta2", beta2, 0.0, 1.0, include_low=True)
        self.eps = _in_range("eps", eps, 0.0, math.inf, include_low=False)

    @property
    def config(self) -> dict:
        return {
            "name": self.name,
            "lr": self.lr,
            "beta1": self.beta1,
            "beta2": self.beta2,
            "eps": self.eps,
        }

    def _update(self, arrays: tuple[tuple[np.ndarray, ...], ...]) -> None:
        bc1, bc2 = 1 - self.beta1**self.t, 1 - self.beta2**self.t  # bias corrections
        _adam_kernel(arrays, self.lr, self.beta1, self.beta2, bc1, bc2, self.eps)

    def __repr__(self) -> str:
        return f"Adam(lr={self.lr:g}, beta1={self.beta1:g}, beta2={self.beta2:g}, eps={self.eps:g})"


class SGD(Optimizer):
    """Stochastic gradient descent with optional momentum (see ``sgd_step``).

    Args:
        lr: the step size, > 0.
        momentum: in [0, 1); 0 gives plain gradient descent.
    """

    name = "sgd"
    SLOTS = ("velocity",)

    def __init__(self, lr: float = 0.01, momentum: float = 0.0) -> None:
        super().__init__()
        self.lr = _in_range("lr", lr, 0.0, math.inf, include_low=False, rule=LR_RULE)
        self.momentum = _in_range("momentum", momentum, 0.0, 1.0, include_low=True)

    @property
    def config(self) -> dict:
        return {"name": self.name, "lr": self.lr, "momentum": self.momentum}

    def _update(self, arrays: tuple[tuple[np.ndarray, ...], ...]) -> None:
        _sgd_kernel(arrays, self.lr, self.momentum)

    def __repr__(self) -> str:
        return f"SGD(lr={self.lr:g}, momentum={self.momentum:g})"


OPTIMIZERS: dict[str, type[Optimizer]] = {"adam": Adam, "sgd": SGD}


def from_config(config: dict) -> Optimizer:
    """A fresh optimiser (no state) from an ``Optimizer.config`` dict; ValueError if unknown."""
    config = dict(config)
    name = config.pop("name", None)
    if name not in OPTIMIZERS:
        raise ValueError(f"optimiser {name!r} is not known; choose one of {', '.join(OPTIMIZERS)}")
    try:
        return OPTIMIZERS[name](**config)
    except TypeError as err:
        raise ValueError(f"optimiser config {config!r} does not fit {name}: {err}") from err
