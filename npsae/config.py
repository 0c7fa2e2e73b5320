"""The model's configuration: every choice of ``SparseAutoencoder`` in one frozen, checked object.

``ModelConfig`` holds the constructor's keyword arguments, with their defaults; ``CHOICES`` lists
the values of every option that is a choice (the command line's ``choices=`` come from here);
``ModelConfig.__post_init__`` is the one place that checks every value, and ``to_dict`` /
``from_dict`` are the JSON round-trip that model files (.npz) and run folders (config.json) use.

The training settings (epochs, batch size, optimiser and its learning rate, the order's seed)
are not part of it: a saved model is a model, usable without them (``npsae export``, a report),
and ``npsae.training`` records them beside it in a run folder. The optimiser checks its own.

A bad value raises ``ConfigError`` (a ValueError) that names the option: Python code reads
``rho=1.5 must lie strictly between 0 and 1 ...``; the command line words the same check as
``--rho 1.5: a target mean activation lies in (0, 1)`` (``npsae.cli.common.config_error``).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from npsae.penalties import SETTINGS, SPARSITY, KLSparsity, users

#: The values of each option that is a choice; the first is not necessarily the default.
CHOICES: dict[str, tuple] = {
    "hidden": ("sigmoid", "relu"),
    "output": ("sigmoid", "linear"),
    "recon": ("mse", "sse"),
    "sparsity": tuple(SPARSITY),  # the penalties' registry, None (no penalty) included
    "dtype": ("float32", "float64"),
    "backend": ("numba", "numpy"),
    "init": ("glorot", "ufldl", "tied"),
}
#: Sparsity variants that keep k units: per sample (topk) or on average over a batch.
K_SPARSITY = tuple(name for name, cls in SPARSITY.items() if cls.keeps_k)
#: Sparsity variants that select among ReLU activations, so need hidden="relu".
SELECTING_SPARSITY = tuple(name for name, cls in SPARSITY.items() if cls.selects())


def _either(names: tuple[str, ...]) -> str:
    """``sparsity='topk' or 'batchtopk'``: the values of ``names`` in a message."""
    return "sparsity=" + " or ".join(repr(n) for n in names)


class ConfigError(ValueError):
    """A value the configuration refuses.

    ``option``, ``value`` and ``rule`` say which option, which value and what it must be, for a
    message that names the option as the caller wrote it (the command line: ``--rho 1.5: RULE``);
    ``option`` is None for a rule between several options, whose message then says it all.
    """

    def __init__(
        self, message: str, option: str | None = None, value: Any = None, rule: str = ""
    ) -> None:
        super().__init__(message)
        self.option, self.value, self.rule = option, value, rule


def _refuse(option: str, value: Any, rule: str, message: str | None = None) -> ConfigError:
    return ConfigError(message or f"{option}={value!r} {rule}", option, value, rule)


def _is_count(value: Any) -> bool:
    """An integer, and not a bool (``True`` is no number of units)."""
    return not isinstance(value, bool) and isinstance(value, (int, np.integer))


def _is_number(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, float, np.integer, np.floating))


def _dtype_name(dtype: Any) -> str:
    try:
        return np.dtype(dtype).name
    except TypeError:
        return repr(dtype)


def _with_penalty_settings(cls: type) -> type:
    """``cls`` as a frozen dataclass: the fields it declares (in the order of the positional
    arguments), then each penalty's setting it does not declare, with the setting's default,
    so that a penalty added to ``npsae.penalties`` brings its options along."""
    for name, setting in SETTINGS.items():
        if name not in cls.__annotations__:
            cls.__annotations__[name] = "Any"
            setattr(cls, name, setting.default)
    return dataclasses.dataclass(frozen=True, eq=False)(cls)


@_with_penalty_settings
class ModelConfig(Mapping):
    """Every choice of a ``SparseAutoencoder``; frozen, and checked when made.

    It reads as a mapping too (``config["hidden"]``, ``dict(config)``, ``**config``), equal to
    the dict of the same values, as the JSON of a saved model is.

    Args:
        n_in: input (and output) width, e.g. 784 for MNIST.
        n_hidden: number of hidden units.
        hidden: hidden activation f, "sigmoid" or "relu".
        output: output activation g, "sigmoid" (inputs in [0, 1]) or "linear".
        recon: "mse" (Keras: mean over all entries) or "sse" (UFLDL: half the sum, per sample).
        sparsity: "kl", "l1", "l1-decoder" (L1 weighted by decoder norms), "topk" (keep the
            k largest ReLU activations of each sample), "batchtopk" (the k m largest of a batch
            of m), "jumprelu" (a learned threshold per unit, with an L0 penalty) or None; see
            ``npsae.penalties``.
        rho: target mean activation of each hidden unit, for "kl"; in (0, 1).
        beta: weight of the sparsity penalty, >= 0 (for "jumprelu", of the L0 penalty).
        weight_decay: lambda of the (lambda / 2) ||W||^2 penalty on W1 and W2, >= 0.
        dtype: "float32" (training) or "float64" (gradient checks); a NumPy dtype such as
            ``np.float64`` is taken too, and kept by its name.
        backend: "numba" (compiled kernels) or "numpy" (the readable reference).
        seed: seeds the initial weights, an integer >= 0.
        init: "glorot" (Keras' default: U(-r, r), r = sqrt(6 / (n_in + n_hidden))) or "ufldl"
            (r = sqrt(6 / (n_in + n_hidden + 1))) or "tied" (Gao et al. 2024: unit-length decoder
            rows in random directions, the encoder their transpose); biases start at zero.
        k: the number of units "topk" keeps per sample, or "batchtopk" on average (only with
            those two).
        unit_norm_decoder: keep every decoder row W2_j at unit length: the trainer calls
            ``constrain_grads`` before each optimiser step and ``apply_constraints`` after it.
        bandwidth: eps, the width of the rectangle kernel of "jumprelu"'s pseudo-derivatives,
            > 0. The default is the paper's 0.001, for data scaled so that E ||x||^2 = n_in and
            some 10^5 steps; Adam moves log theta by about lr per step, so for a few epochs of
            MNIST start near the pre-activations' scale: bandwidth=0.5, theta_init=1 give an
            L0 of 17 after 5 epochs (bench/variants.py), the defaults leave the code dense.
        theta_init: the value every "jumprelu" threshold starts at, > 0 (the paper's 0.001).
        pre_bias: encode X - b2 instead of X (b2, the decoder's bias, then centres the input).
            Needs output="linear", where X^ = H W2 + b2 lives in the input's space.
        aux_k: with "topk" or "batchtopk", add AuxK's loss: the aux_k largest activations of
            the dead units model the reconstruction's error (``npsae.reference.auxk``).
        aux_alpha: AuxK's weight alpha, >= 0 (Gao et al. use 1/32).
        dead_after: AuxK counts a unit dead once it has not fired on this many consecutive
            training samples (the trainer counts them, see ``update_statistics``).
        k_schedule: with "topk" or "batchtopk", Makhzani & Frey's schedule of k, a pair
            (start, epochs) (or the string "START:EPOCHS"): training keeps ``start`` units at
            first and lowers that number linearly, step by step, to ``k`` over the first
            ``epochs`` epochs (``npsae.penalties.scheduled_k``), so that every unit wins a
            place while the code is dense; the model keeps ``k`` at inference. None: k
            throughout.
        encode_k: with "topk", the units ``encode`` keeps at inference (Makhzani & Frey's
            alpha k, e.g. 75 = 3 x 25); training, the loss and the code statistics keep ``k``.
            None: ``k``.

    The penalties' settings are declared by their classes (``npsae.penalties``: the name,
    default, check and meaning of each), which own the defaults above; a penalty's settings
    not listed here (the log penalty's ``log_eps``) follow these fields, in the registry's order.
    """

    n_in: int
    n_hidden: int
    hidden: str = "sigmoid"
    output: str = "sigmoid"
    recon: str = "mse"
    sparsity: str | None = KLSparsity.name  # the Keras tutorial's
    rho: float = SETTINGS["rho"].default
    beta: float = SETTINGS["beta"].default
    weight_decay: float = 0.0
    dtype: str = "float32"
    backend: str = "numba"
    seed: int = 0
    init: str = "glorot"
    k: int | None = SETTINGS["k"].default
    unit_norm_decoder: bool = False
    bandwidth: float = SETTINGS["bandwidth"].default
    theta_init: float = SETTINGS["theta_init"].default
    pre_bias: bool = False
    aux_k: int | None = SETTINGS["aux_k"].default
    aux_alpha: float = SETTINGS["aux_alpha"].default
    dead_after: int = SETTINGS["dead_after"].default
    k_schedule: tuple[int, int] | None = SETTINGS["k_schedule"].default
    encode_k: int | None = SETTINGS["encode_k"].default

    def __post_init__(self) -> None:
        """Check every value (ConfigError naming the option), then store each as its JSON type:
        int, float, bool, str or None."""
        values = self._checked()
        for name, value in values.items():
            object.__setattr__(self, name, value)

    def _checked(self) -> dict[str, Any]:
        v = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        for name in ("n_in", "n_hidden"):
            if not _is_count(v[name]) or v[name] < 1:
                rule = "must be a positive integer"
                raise _refuse(name, v[name], rule, f"{name} {rule}, got {v[name]!r}")
        v["dtype"] = _dtype_name(v["dtype"])
        for name, choices in CHOICES.items():
            if v[name] not in choices:
                known = ", ".join(str(c) for c in choices)
                raise _refuse(name, v[name], f"is not known; choose one of {known}")
        # The penalties' number settings carry their own checks (npsae.penalties.Setting).
        checked = {name: s for name, s in SETTINGS.items() if s.check is not None}
        floats = ("weight_decay", *checked)
        for name in floats:
            if not _is_number(v[name]):
                raise _refuse(name, v[name], "must be a number")
        for name, setting in checked.items():
            if not setting.check(v[name]):
                message = setting.message.format(name=name, value=v[name]) or None
                raise _refuse(name, v[name], setting.rule, message)
        if not (math.isfinite(v["weight_decay"]) and v["weight_decay"] >= 0):
            raise _refuse("weight_decay", v["weight_decay"], "must be a finite number >= 0")
        if not _is_count(v["seed"]) or v["seed"] < 0:
            raise _refuse("seed", v["seed"], "must be an integer >= 0")
        if not _is_count(v["dead_after"]) or v["dead_after"] < 1:
            raise _refuse("dead_after", v["dead_after"], "must be a positive number of samples")
        for name in ("unit_norm_decoder", "pre_bias"):
            if not isinstance(v[name], (bool, np.bool_)):
                raise _refuse(name, v[name], "must be True or False")
            v[name] = bool(v[name])
        for name in ("n_in", "n_hidden", "seed", "dead_after"):
            v[name] = int(v[name])
        for name in floats:
            v[name] = float(v[name])
        v["k_schedule"] = _schedule(v["k_schedule"])
        self._check_combination(v)
        for name in ("k", "aux_k", "encode_k"):
            v[name] = None if v[name] is None else int(v[name])
        return v

    @staticmethod
    def _check_combination(v: dict[str, Any]) -> None:
        """The rules between options; their messages name every option involved."""
        sparsity, k = v["sparsity"], v["k"]
        if (k is not None) != (sparsity in K_SPARSITY):
            raise ConfigError(
                "k is the number of units TopK keeps (per sample, or on average for BatchTopK): "
                f"give k exactly when {_either(K_SPARSITY)}"
            )
        if v["backend"] == "numba" and not SPARSITY[sparsity].numba:
            raise ConfigError(f"sparsity={sparsity!r} has no Numba kernels: use backend='numpy'")
        if sparsity in SELECTING_SPARSITY and v["hidden"] != "relu":
            raise ConfigError(
                f"sparsity={sparsity!r} selects among ReLU activations: use hidden='relu'"
            )
        if k is not None and (not _is_count(k) or not 1 <= k <= v["n_hidden"]):
            raise ConfigError(f"k={k!r} must be an integer between 1 and n_hidden={v['n_hidden']}")
        if v["pre_bias"] and v["output"] != "linear":
            raise ConfigError(
                "pre_bias encodes X - b2, which needs b2 in the input's space: use output='linear'"
            )
        aux_k = v["aux_k"]
        if aux_k is not None:
            if sparsity not in users("aux_k"):
                raise ConfigError(f"aux_k (AuxK) needs {_either(users('aux_k'))}")
            if not _is_count(aux_k) or not 1 <= aux_k <= v["n_hidden"]:
                raise ConfigError(f"aux_k={aux_k!r} must be an integer between 1 and n_hidden")
        schedule = v["k_schedule"]
        if schedule is not None:
            if sparsity not in users("k_schedule"):
                raise ConfigError(f"k_schedule needs {_either(users('k_schedule'))} (it lowers k)")
            start, epochs = schedule
            if not k <= start <= v["n_hidden"]:
                raise _refuse(
                    "k_schedule",
                    f"{start}:{epochs}",
                    f"must start between k={k} and n_hidden={v['n_hidden']}",
                    f"k_schedule={schedule!r}: its start {start} must lie between k={k} and "
                    f"n_hidden={v['n_hidden']}",
                )
        encode_k = v["encode_k"]
        if encode_k is not None:
            if sparsity not in users("encode_k"):
                message = f"encode_k (the units encode keeps) needs {_either(users('encode_k'))}"
                raise ConfigError(message)
            if not _is_count(encode_k) or not 1 <= encode_k <= v["n_hidden"]:
                raise ConfigError(
                    f"encode_k={encode_k!r} must be an integer between 1 and n_hidden"
                )

    # ------------------------------------------------------------------ a read-only mapping

    def __getitem__(self, name: str) -> Any:
        if name not in OPTIONS:
            raise KeyError(name)
        return getattr(self, name)

    def __iter__(self) -> Iterator[str]:
        return iter(OPTIONS)

    def __len__(self) -> int:
        return len(OPTIONS)

    def __hash__(self) -> int:
        return hash(tuple(self.items()))

    # ------------------------------------------------------------------ changes and JSON

    def replace(self, **changes: Any) -> ModelConfig:
        """A new config with ``changes`` applied, checked as a whole."""
        return dataclasses.replace(self, **changes)

    def __eq__(self, other: object) -> bool:
        """Equal to a config or a mapping of the same values, compared on the options that
        ``apply`` to this model; a mapping that lacks an option (as ``file_dict`` leaves out)
        counts as holding its default."""
        if not isinstance(other, Mapping):
            return NotImplemented
        theirs = {**DEFAULTS, **{name: _json(value) for name, value in other.items()}}
        if not theirs.keys() <= set(OPTIONS):
            return False
        return all(
            theirs.get(name, _ABSENT) == value
            for name, value in self.to_dict().items()
            if self.applies(name)
        )

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready dict: every option, by name (``k_schedule`` as a list)."""
        return {name: _json(value) for name, value in self.items()}

    def applies(self, name: str) -> bool:
        """Whether the option ``name`` matters to this model: every option that is not a
        penalty's setting does; a setting only to the penalties that read it
        (``npsae.penalties.Sparsity.settings``): ``rho`` to KL, ``k`` to TopK and BatchTopK."""
        return name not in SETTINGS or SETTINGS[name] in SPARSITY[self.sparsity].settings

    def file_dict(self) -> dict[str, Any]:
        """What a model file and a run's config.json hold: the options of format 1 that are no
        penalty's setting, as npsae has always written them (so that an older npsae reads the
        file), each option added since when it is not its default, and a penalty's settings
        only where they ``apply`` (an L1 run records no ``rho``; an optional one, default
        None, only when given)."""
        return {name: value for name, value in self.to_dict().items() if self._recorded(name)}

    def _recorded(self, name: str) -> bool:
        value = getattr(self, name)
        if name in SETTINGS:
            return self.applies(name) and (name in FORMAT_1 or value is not None)
        return name in FORMAT_1 or value != LATER_OPTIONS[name]

    @classmethod
    def from_dict(cls, data: Any, source: str | None = None) -> ModelConfig:
        """The config of a dict written by ``to_dict`` (say, read from a file).

        Options the dict lacks take their defaults (files written before an option existed
        keep loading); an unknown key or a bad value raises ConfigError, its message starting
        with ``source`` (the file's name) when given.
        """
        where = f"{source}: " if source else ""
        if not isinstance(data, Mapping):
            raise ConfigError(f"{where}the config must be a JSON object, got {type(data).__name__}")
        unknown = sorted(set(data) - set(OPTIONS))
        if unknown:
            raise ConfigError(f"{where}unknown config fields {unknown}")
        missing = [name for name in ("n_in", "n_hidden") if name not in data]
        if missing:
            raise ConfigError(f"{where}the config lacks {' and '.join(missing)}")
        try:
            return cls(**data)
        except ConfigError as err:
            if not source:
                raise
            raise ConfigError(
                f"{where}invalid config ({err})", err.option, err.value, err.rule
            ) from err


#: The options of the model file's format 1: every file holds those that are no penalty's setting
#: and the settings of its own penalty (``file_dict``).
FORMAT_1 = (
    "n_in", "n_hidden", "hidden", "output", "recon", "sparsity", "rho", "beta", "weight_decay",
    "dtype", "backend", "seed", "init", "k", "unit_norm_decoder", "bandwidth", "theta_init",
    "pre_bias", "aux_k", "aux_alpha", "dead_after",
)  # fmt: skip


def _json(value: Any) -> Any:
    """A value as JSON holds it: a tuple as a list."""
    return list(value) if isinstance(value, tuple) else value


SCHEDULE_RULE = "must be (START, EPOCHS), START:EPOCHS, two positive integers"


def _schedule(value: Any) -> tuple[int, int] | None:
    """``k_schedule`` as a pair of ints (START, EPOCHS), from a pair or "START:EPOCHS"."""
    if value is None:
        return None
    parts = value.split(":") if isinstance(value, str) else value
    try:
        start, epochs = parts
        pair = tuple(int(p) if isinstance(p, str) else p for p in (start, epochs))
    except (TypeError, ValueError):
        raise _refuse("k_schedule", value, SCHEDULE_RULE) from None
    if not all(_is_count(p) and p >= 1 for p in pair):
        raise _refuse("k_schedule", value, SCHEDULE_RULE)
    return (int(pair[0]), int(pair[1]))


#: The options, in the constructor's order: ``SparseAutoencoder``'s keywords.
OPTIONS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(ModelConfig))
#: Options added after format 1, with their defaults: a file may lack them (``file_dict``), and
#: ``from_dict`` and ``__eq__`` take a missing one as its default.
LATER_OPTIONS: dict[str, Any] = {
    f.name: f.default for f in dataclasses.fields(ModelConfig) if f.name not in FORMAT_1
}
#: Every option that has a default, as JSON holds it: what ``__eq__`` takes a missing one as.
DEFAULTS: dict[str, Any] = {
    f.name: _json(f.default)
    for f in dataclasses.fields(ModelConfig)
    if f.default is not dataclasses.MISSING
}
_ABSENT = object()
