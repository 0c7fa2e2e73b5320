"""The penalty terms added to the reconstruction loss: sparsity (pluggable) and weight decay.

A sparsity penalty is one class, and that class is the one place that says everything about it:

- ``name``, the value of ``sparsity=`` (and ``--sparsity``) that chooses it, and ``summary``,
  its words in ``--sparsity``'s help;
- ``settings``, the model options it reads (``Setting``: name, default, check, help), which
  ``npsae.config.ModelConfig`` and the command line take from here, and which a model's
  ``config.json`` records (``ModelConfig.file_dict``);
- what it needs of the hidden activations ``H: (m, n_hidden)``: their column sums
  ``h_j = sum_i H_ij`` only (``hidden_grad`` returns c with dP/dH_ij = c_j, the same for every
  sample), or, with ``per_entry``, every entry (``entry_grad`` returns dP/dH: (m, n_hidden));
- its value and gradients: ``value``, ``hidden_grad`` or ``entry_grad``, and ``decoder_grad``
  if it involves the decoder weights;
- the selection it implies: ``k`` and ``batch`` (TopK keeps k per sample, BatchTopK k m per
  batch of m, Bussmann et al. 2024) or ``threshold`` (JumpReLU's learned threshold per unit,
  Rajamanoharan et al. 2024); the selection is a step of the forward pass
  (``npsae.reference.select``);
- ``saelens``, the SAELens architecture it exports as (None: ``npsae export`` refuses it);
- ``sweep``, its variants in ``npsae sweep`` (the knob each sweeps, and its grids);
- ``caveat``, what is allowed but questionable about it (KL with ReLU units).

Defining a subclass with a ``name`` registers it in ``SPARSITY``; every list of penalties
(``ModelConfig``'s choices, the command line's, the sweep's variants, the export's
architectures) is read from there.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import numpy as np

# --------------------------------------------------------------------------- declarations


def _finite_at_least_0(value: float) -> bool:
    return math.isfinite(value) and value >= 0


def _finite_above_0(value: float) -> bool:
    return math.isfinite(value) and value > 0


@dataclasses.dataclass(frozen=True)
class Setting:
    """A model option a penalty reads: the keyword ``SparseAutoencoder(..., name=value)``, the
    field of ``ModelConfig`` and the flag ``--name`` of ``npsae train`` and ``gradcheck``.

    ``check`` and ``rule``: a number setting's test and what it must be (``--rho 1.5: RULE``);
    ``message``, if given, the Python wording of a refusal (``{name}`` and ``{value}`` filled
    in). A setting without ``check`` (``k``, ``aux_k`` ...) is checked by ModelConfig's rules
    between options. ``help`` is the command line's; ``type`` its values'.
    """

    name: str
    default: Any
    help: str
    type: Callable[[str], Any] = float
    check: Callable[[float], bool] | None = None
    rule: str = ""
    message: str = ""
    metavar: str | None = None


BETA = Setting("beta", 0.1, "sparsity penalty's weight", check=_finite_at_least_0,
               rule="must be a finite number >= 0")  # fmt: skip
RHO = Setting(
    "rho",
    0.05,
    "KL target mean activation",
    check=lambda rho: 0.0 < rho < 1.0,
    rule="a target mean activation lies in (0, 1)",
    message="{name}={value!r} must lie strictly between 0 and 1 (a target mean)",
)
K = Setting("k", None, "hidden units TopK keeps per sample, BatchTopK on average", type=int)
K_SCHEDULE = Setting(
    "k_schedule", None, "Makhzani & Frey's schedule of k", type=str, metavar="START:EPOCHS"
)
ENCODE_K = Setting("encode_k", None, "units TopK's encode keeps at inference", type=int)
AUX_K = Setting("aux_k", None, "AuxK's number of dead units", type=int, metavar="K_AUX")
AUX_ALPHA = Setting("aux_alpha", 1 / 32, "AuxK's weight", check=_finite_at_least_0,
                    rule="must be a finite number >= 0", metavar="ALPHA")  # fmt: skip
DEAD_AFTER = Setting("dead_after", 10_000, "AuxK's samples without firing", type=int,
                     metavar="N")  # fmt: skip
BANDWIDTH = Setting("bandwidth", 1e-3, "JumpReLU's kernel bandwidth, > 0",
                    check=_finite_above_0, rule="must be a finite number > 0",
                    metavar="EPS")  # fmt: skip
THETA_INIT = Setting("theta_init", 1e-3, "the value JumpReLU's thresholds start at, > 0",
                     check=_finite_above_0, rule="must be a finite number > 0",
                     metavar="THETA")  # fmt: skip


@dataclasses.dataclass(frozen=True)
class Grid:
    """A sweep variant's default grid on one kind of data: the keyword it sweeps, its values,
    and settings of the model that suit that data."""

    param: str
    values: tuple
    model: dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class Variant:
    """A sparsity variant as ``npsae sweep`` trains it: the model's keywords, and its grid by
    kind of data ("mnist", which also serves Fashion-MNIST, and "superposition"); ``default``:
    swept when no variants are named."""

    model: dict[str, Any]
    grids: dict[str, Grid]
    default: bool = False

    def grid(self, kind: str) -> Grid:
        return self.grids[kind]


class Caveat(NamedTuple):
    """A choice that is allowed but questionable, in the three places it is told: ``warning``
    when training starts (``npsae.training.fit``), ``divergence`` among the likely causes of a
    diverged run, ``dead_units`` when most units died (``npsae.history.diagnose``, which fills
    in ``{fell}``)."""

    warning: str
    divergence: str
    dead_units: str


# rho^ is clipped into [RHO_HAT_EPS, 1 - RHO_HAT_EPS] before the logarithms of the KL divergence.
RHO_HAT_EPS = 1e-6


def kl_divergence(rho: float, rho_hat: np.ndarray) -> np.ndarray:
    """KL(rho || rho^) between Bernoulli distributions, element-wise over rho^:

    KL = rho log(rho / rho^) + (1 - rho) log((1 - rho) / (1 - rho^))
    """
    return rho * np.log(rho / rho_hat) + (1 - rho) * np.log((1 - rho) / (1 - rho_hat))


def kl_divergence_grad(rho: float, rho_hat: np.ndarray) -> np.ndarray:
    """d KL(rho || rho^) / d rho^ = -rho / rho^ + (1 - rho) / (1 - rho^)."""
    return -rho / rho_hat + (1 - rho) / (1 - rho_hat)


def rho_hat(h_sum: np.ndarray, m: int) -> np.ndarray:
    """rho^_j = (1/m) sum_i H_ij, each unit's mean activation over the batch, from the column
    sums ``h_sum: (n_hidden,)``. (n_hidden,)"""
    return h_sum / m


#: The registry: every penalty by its name (None: no penalty), in the order defined.
SPARSITY: dict[str | None, type[Sparsity]] = {}


class Sparsity:
    """No sparsity penalty; the base class of the others (see the module docstring for what a
    subclass declares)."""

    name: str | None = None
    summary: str = "none"
    settings: tuple[Setting, ...] = ()
    # P depends on every entry of H (entry_grad), not on its column sums alone (hidden_grad).
    per_entry: bool = False
    # k > 0 keeps only the k largest hidden activations of each sample (see TopKSparsity) or,
    # with batch, the k m largest of a batch of m samples (see BatchTopKSparsity).
    k: int = 0
    keeps_k: bool = False
    batch: bool = False
    # A learned threshold per unit, the parameter "log_theta" (see JumpReLUSparsity).
    threshold: bool = False
    saelens: str | None = "standard"
    sweep: dict[str, Variant] = {}
    # Whether npsae.kernels computes it: a penalty whose maths the fused stages cannot run sets
    # False, and ModelConfig refuses it, by name, with backend="numba".
    numba: bool = True

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "name" in cls.__dict__:
            SPARSITY[cls.name] = cls

    def __init__(self, **settings: Any) -> None:
        """Each of ``settings`` by name, or its default; an unknown one is a TypeError."""
        for setting in self.settings:
            setattr(self, setting.name, settings.pop(setting.name, setting.default))
        if settings:
            raise TypeError(f"{type(self).__name__} takes no setting {sorted(settings)}")

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Sparsity:
        """The penalty of a checked model configuration (``npsae.config.ModelConfig``)."""
        return cls(**{s.name: config[s.name] for s in cls.settings})

    @classmethod
    def selects(cls) -> bool:
        """Whether it selects among ReLU activations (TopK, BatchTopK, JumpReLU)."""
        return cls.keeps_k or cls.threshold

    @classmethod
    def caveat(cls, hidden: str) -> Caveat | None:
        """What is questionable about this penalty with ``hidden`` units, or None."""
        return None

    @classmethod
    def inference_code(cls, config: Mapping[str, Any]) -> str | None:
        """How ``encode`` selects at inference, in words, or None: it keeps every activation."""
        return None

    def value(
        self, h_sum: np.ndarray, m: int, W2: np.ndarray, H: np.ndarray | None = None
    ) -> float:
        """The penalty P for a batch of m samples whose activations ``H: (m, n_hidden)`` sum to
        ``h_sum``; only a penalty of the entries (``per_entry``, or an L0) needs H itself."""
        return 0.0

    def hidden_grad(self, h_sum: np.ndarray, m: int, W2: np.ndarray) -> np.ndarray:
        """c: (n_hidden,) float64, with dP/dH_ij = c_j for every sample i (a ``per_entry``
        penalty returns 0 here, and its dP/dH from ``entry_grad``)."""
        return np.zeros(W2.shape[0])

    def entry_grad(self, H: np.ndarray, m: int) -> np.ndarray | None:
        """dP/dH: (m, n_hidden) in H's dtype for a ``per_entry`` penalty, else None."""
        return None

    def decoder_grad(self, h_sum: np.ndarray, m: int, W2: np.ndarray) -> np.ndarray | None:
        """dP/dW2: (n_hidden, n_in), or None when P does not involve the decoder."""
        return None


SPARSITY[None] = Sparsity


class KLSparsity(Sparsity):
    """P = beta sum_j KL(rho || rho^_j),  rho^_j = (1/m) sum_i H_ij  (Ng's sparse autoencoder).

    Gradient. rho^_j depends on H_ij with d rho^_j / d H_ij = 1/m, so by the chain rule

        dP / dH_ij = (beta / m) (-rho / rho^_j + (1 - rho) / (1 - rho^_j)) = c_j ,

    the same for every sample i; the backward pass adds c_j to dH_ij before multiplying by the
    activation derivative f'(Z1_ij).

    KL needs rho^ in (0, 1). Sigmoid units guarantee it; ReLU units do not (their mean can be 0 or
    exceed 1), so rho^ is clipped into [eps, 1 - eps] with eps = ``RHO_HAT_EPS``. Where the clip is
    active the penalty is flat in rho^_j, so that unit's gradient c_j is exactly 0: the honest
    derivative of the clipped function, which a gradient check confirms. It also means a ReLU unit
    whose mean activation passes 1 feels no sparsity pressure at all.
    """

    name = "kl"
    summary = "KL to rho"
    settings = (BETA, RHO)
    # Ng's KL: sigmoid units pulled toward a mean activation rho, which sets how many fire.
    sweep = {
        name: Variant(
            {"hidden": "sigmoid", "sparsity": name, "beta": 0.1},
            {"mnist": Grid("rho", (0.02, 0.03, 0.05, 0.1, 0.2)),
             "superposition": Grid("rho", (0.01, 0.02, 0.05, 0.1, 0.2))},
            default=True,
        ),
    }  # fmt: skip

    @classmethod
    def caveat(cls, hidden: str) -> Caveat | None:
        """KL with ReLU units trains, as in the Keras article, but fragilely (see the class)."""
        return KL_WITH_RELU if hidden == "relu" else None

    def _rho_hat(self, h_sum: np.ndarray, m: int) -> tuple[np.ndarray, np.ndarray]:
        raw = rho_hat(h_sum, m)
        clipped = np.clip(raw, RHO_HAT_EPS, 1 - RHO_HAT_EPS)
        return clipped, clipped != raw

    def value(self, h_sum: np.ndarray, m: int, W2: np.ndarray, H=None) -> float:
        rho_hat, _ = self._rho_hat(h_sum, m)
        return self.beta * float(np.sum(kl_divergence(self.rho, rho_hat)))

    def hidden_grad(self, h_sum: np.ndarray, m: int, W2: np.ndarray) -> np.ndarray:
        rho_hat, clipped = self._rho_hat(h_sum, m)
        c = self.beta / m * kl_divergence_grad(self.rho, rho_hat)
        c[clipped] = 0.0
        return c


KL_WITH_RELU = Caveat(
    warning="KL sparsity assumes hidden activations in (0, 1), but ReLU units are unbounded: "
    "their mean activation rho^ is clipped into (0, 1), and a unit whose mean leaves "
    "that interval gets no sparsity gradient. Prefer hidden='sigmoid' with KL, or "
    "sparsity='l1' with ReLU.",
    divergence="KL sparsity with ReLU units is fragile (their activations are unbounded): "
    "prefer sparsity 'l1' with ReLU, or sigmoid hidden units with KL",
    dead_units="KL sparsity with ReLU units: KL's push (1 - rho) / (1 - rho^) grows without bound "
    "as a ReLU unit's mean activation rho^ nears 1 and can drive it below 0 on every "
    "sample; there rho^ = 0 is clipped to 1e-6, where the clipped penalty is flat, so "
    "neither the penalty nor the reconstruction brings it back "
    "({fell}). Use hidden='sigmoid' with KL, or sparsity='l1' with ReLU units",
)


# L1's strengths: beta per unit of mean activation, on MNIST and on the superposition data.
L1_GRIDS = {
    "mnist": Grid("beta", (3e-5, 1e-4, 3e-4, 6e-4, 1e-3)),
    "superposition": Grid("beta", (1e-3, 3e-3, 6e-3, 1e-2, 2e-2)),
}


class L1Sparsity(Sparsity):
    """P = beta sum_ij |H_ij| / m;  with H >= 0,  dP/dH_ij = beta / m  (0 where H_ij = 0 for ReLU,
    which the activation derivative enforces anyway)."""

    name = "l1"
    summary = "L1"
    settings = (BETA,)
    sweep = {
        name: Variant(
            {"hidden": "relu", "sparsity": name, "unit_norm_decoder": True},
            L1_GRIDS,
            default=True,
        ),
    }

    def value(self, h_sum: np.ndarray, m: int, W2: np.ndarray, H=None) -> float:
        return self.beta * float(np.sum(h_sum)) / m

    def hidden_grad(self, h_sum: np.ndarray, m: int, W2: np.ndarray) -> np.ndarray:
        return np.full(W2.shape[0], self.beta / m)


class L1DecoderSparsity(Sparsity):
    """L1 weighted by each unit's decoder norm:  P = beta sum_ij |H_ij| ||W2_j|| / m.

    Plain L1 can be dodged: halve every code and double the decoder rows, and the reconstruction
    is unchanged while the penalty halves. Weighting unit j by the norm of its decoder row W2_j
    (the direction it writes into the input space) closes that loophole. With H >= 0,

        dP/dH_ij = beta ||W2_j|| / m = c_j,     dP/dW2_j = (beta h_j / m) W2_j / ||W2_j||,

    where h_j = sum_i H_ij; a row of norm 0 gets the subgradient 0.
    """

    name = "l1-decoder"
    summary = "L1 weighted by decoder norms"
    settings = (BETA,)
    sweep = {name: Variant({"hidden": "relu", "sparsity": name}, L1_GRIDS)}

    def value(self, h_sum: np.ndarray, m: int, W2: np.ndarray, H=None) -> float:
        return self.beta * float(np.dot(h_sum, decoder_norms(W2))) / m

    def hidden_grad(self, h_sum: np.ndarray, m: int, W2: np.ndarray) -> np.ndarray:
        return self.beta / m * decoder_norms(W2)

    def decoder_grad(self, h_sum: np.ndarray, m: int, W2: np.ndarray) -> np.ndarray:
        norms = decoder_norms(W2)
        scale = np.divide(self.beta / m * h_sum, norms, out=np.zeros_like(norms), where=norms > 0)
        return scale[:, None] * W2


# TopK's and BatchTopK's k, on MNIST and on the superposition data.
K_GRIDS = {"mnist": Grid("k", (5, 10, 20, 40, 80)), "superposition": Grid("k", (1, 2, 3, 4, 6))}


class TopKSparsity(Sparsity):
    """TopK: each sample keeps its k largest ReLU activations and the rest are set to 0
    (Makhzani & Frey's k-sparse autoencoder, 2014, arXiv:1312.5663).

    Sparsity is enforced by the architecture, not by a penalty: P = 0, and the gradient flows
    only through the kept units (the ReLU derivative, 1 where H > 0, already says so).

    A unit that never wins one of the k places gets no gradient and never will: it is dead,
    whatever the learning rate. Three remedies, each an option of the model:

    - Makhzani & Frey's schedule of k (``k_schedule``, ``scheduled_k``): keep many units at
      first, so that every one learns, and lower the number to k over the first epochs.
    - AuxK (Gao et al. 2024, arXiv:2406.04093, ``aux_k``): the dead units' largest
      pre-activations also reconstruct the main code's error, which gives them a gradient
      (``npsae.reference.aux_forward``). npsae adds the dead units' decoder output to the main
      code's, before the output activation; with a linear output that is Gao et al.'s
      alpha ||e - e^||^2 with e = X - X^ exactly, and SAELens computes the same up to its
      conventions (its e^ carries b_dec; the loss is scaled by min(|D| / k_aux, 1); see
      bench/auxk_vs_saelens.py, which compares the two step by step: the same code, loss and
      gradients to rounding in float64). Before issue 30 npsae fitted e^ = H_D W2[D] to
      e = X - g(Z2) under a sigmoid output g too: decoder rows trained to write into pixel
      space but used in the sigmoid's input, where a revived unit hardly moves X^ and loses its
      place again. On MNIST (k 25, 1000 ReLU units, aux_k 256, 4 epochs) that left 89.8 % of
      the units dead on the test split against 87.2 % without AuxK; adding the dead units
      before the sigmoid leaves 60.8 % (bench/README.md, "k-sparse autoencoders").
    - Gao et al.'s initialisation, encoder = decoder transpose with unit-norm decoder rows
      (``init="tied"``), which starts every unit aligned with what it writes.

    At inference Makhzani & Frey keep alpha k units (``encode_k``), more than in training.
    """

    name = "topk"
    summary = "TopK (with --k)"
    settings = (K, K_SCHEDULE, ENCODE_K, AUX_K, AUX_ALPHA, DEAD_AFTER)
    keeps_k = True
    saelens = "topk"
    sweep = {
        name: Variant({"hidden": "relu", "sparsity": name}, K_GRIDS, default=True),
        # TopK with AuxK: the 32 largest pre-activations of the dead units model the residual.
        f"{name}-auxk": Variant({"hidden": "relu", "sparsity": name, "aux_k": 32}, K_GRIDS),
    }

    def __init__(self, k: int, **settings: Any) -> None:
        super().__init__(k=int(k), **settings)

    @classmethod
    def inference_code(cls, config: Mapping[str, Any]) -> str | None:
        kept = config["encode_k"] or config["k"]
        alpha = f" ({kept / config['k']:g} k, encode_k)" if config["encode_k"] else ""
        return f"the {kept} largest {config['hidden']} activations of each sample{alpha}"


def scheduled_k(k: int, schedule: tuple[int, int] | None, progress: float) -> int:
    """The k of a training step under Makhzani & Frey's schedule ``schedule = (start,
    epochs)``: linear from ``start`` at the first step to ``k`` after ``epochs`` epochs, and
    ``k`` from then on,

        k_t = round(start + (k - start) min(t / epochs, 1)),

    ``progress`` t the epochs done so far (fractional: epoch - 1 + step / steps). It depends
    on t only, so a resumed run replays the same ks. Without a schedule, ``k``.
    """
    if schedule is None:
        return k
    start, epochs = schedule
    return int(np.floor(start + (k - start) * min(progress / epochs, 1.0) + 0.5))


class BatchTopKSparsity(TopKSparsity):
    """BatchTopK (Bussmann et al., 2024): the k m largest ReLU activations of the whole batch of
    m samples survive, so samples share a budget of k m units and each may use more or fewer
    than k. Like TopK, P = 0 and the gradient flows only through the kept units.

    The selection needs a batch, so at inference a sample is coded alone with a threshold
    theta learned during training (a buffer of the model, not a parameter):

        training:   H = relu(Z) kept where it is among the k m largest of the batch
        inference:  H = relu(Z) 1[relu(Z) > theta]
        theta <- mu theta + (1 - mu) min{H_ij : H_ij > 0}   after every training step,

    the running mean (momentum mu = ``THRESHOLD_MOMENTUM``) of the smallest kept activation,
    started at the first batch's value (the paper's estimate of the expected minimum).
    """

    name = "batchtopk"
    summary = "BatchTopK (with --k)"
    settings = (K, K_SCHEDULE, AUX_K, AUX_ALPHA, DEAD_AFTER)
    batch = True
    # SAELens saves its own BatchTopK models as JumpReLU with one threshold for every unit.
    saelens = "jumprelu"
    sweep = {name: Variant({"hidden": "relu", "sparsity": name}, K_GRIDS, default=True)}

    @classmethod
    def inference_code(cls, config: Mapping[str, Any]) -> str | None:
        return f"the {config['hidden']} activations above BatchTopK's learned threshold"


# BatchTopK's inference threshold moves this much toward each batch's smallest kept activation.
THRESHOLD_MOMENTUM = 0.99


def rectangle(u: np.ndarray) -> np.ndarray:
    """The rectangle kernel K(u) = 1 if -1/2 < u < 1/2 else 0, element-wise (in u's dtype)."""
    return ((u > -0.5) & (u < 0.5)).astype(u.dtype)


class JumpReLUSparsity(Sparsity):
    """JumpReLU (Rajamanoharan et al., 2024, "Jumping Ahead") with its L0 penalty.

    Each unit j has a learned threshold theta_j > 0, stored as the parameter log theta_j (so it
    stays positive whatever step the optimiser takes), and the activation jumps from 0 to theta_j:

        H_ij = Z_ij H(Z_ij - theta_j),        H the Heaviside step, Z = X W1 + b1
        P    = beta sum_ij H(Z_ij - theta_j) / m      (beta times the mean L0 of a sample)

    Neither step has a useful derivative in theta (0 almost everywhere), so training uses the
    straight-through estimator: with the kernel K = ``rectangle`` of bandwidth eps, the paper's
    pseudo-derivatives are

        d/d theta  Z H(Z - theta) := -(theta / eps) K((Z - theta) / eps)
        d/d theta  H(Z - theta)   := -(1 / eps) K((Z - theta) / eps)
        d/d Z      H(Z - theta)   := 0          (the L0 term moves only the thresholds)

    while d/dZ of Z H(Z - theta) is H(Z - theta), the true derivative away from the jump. For a
    batch, with dH_ij = dL/dH_ij from the reconstruction and w_j the set of samples whose Z_ij
    lies in the window |Z_ij - theta_j| < eps/2,

        dL/d theta_j     = -(theta_j / eps) sum_{i in w_j} dH_ij  -  (beta / (m eps)) |w_j|
        dL/d log theta_j = theta_j dL/d theta_j

    (``threshold_grad``). The model's ``theta_init`` and ``bandwidth`` set theta's start and
    eps (the paper sets both to 0.001).
    """

    name = "jumprelu"
    summary = "JumpReLU (learned thresholds, L0 penalty beta)"
    settings = (BETA, BANDWIDTH, THETA_INIT)
    threshold = True
    saelens = "jumprelu"
    # JumpReLU's knob is its L0 weight beta. On MNIST, within 10 epochs, the learned thresholds
    # move too little from where they start for beta to set L0 (measured: bench/README.md), so
    # there the grid is over the thresholds' start theta_init instead, with beta fixed.
    sweep = {
        name: Variant(
            {"hidden": "relu", "sparsity": name},
            {"mnist": Grid("theta_init", (0.05, 0.1, 0.2, 0.3, 0.5),
                           {"beta": 1e-3, "bandwidth": 0.5}),
             "superposition": Grid("beta", (1e-4, 3e-4, 1e-3, 3e-3, 1e-2),
                                   {"bandwidth": 0.05, "theta_init": 0.05})},
            default=True,
        ),
    }  # fmt: skip

    @classmethod
    def inference_code(cls, config: Mapping[str, Any]) -> str | None:
        return "JumpReLU's activations above their learned thresholds"

    def value(self, h_sum: np.ndarray, m: int, W2: np.ndarray, H=None) -> float:
        # theta > 0, so H_ij != 0 exactly where Z_ij > theta_j: the L0 term counts those.
        return self.beta * np.count_nonzero(H) / m

    def threshold_grad(
        self,
        window_dH: np.ndarray | float,
        window_count: np.ndarray | float,
        theta: np.ndarray,
        m: int,
    ) -> np.ndarray:
        """dL/d log theta: (n_hidden,), from the window sums of the batch (see the class):

        ``window_dH_j`` = sum_{i in w_j} dH_ij (the reconstruction's gradient on H; 0 for the
        L0 term alone) and ``window_count_j`` = |w_j| (0 for the reconstruction's part alone).
        """
        eps = self.bandwidth
        d_theta = -(theta / eps) * window_dH - self.beta / (m * eps) * window_count
        return (theta * d_theta).astype(theta.dtype)


LOG_EPS = Setting("log_eps", 0.1, "the log penalty's scale eps, > 0: log(1 + H^2 / eps)",
                  check=_finite_above_0, rule="must be a finite number > 0",
                  metavar="EPS")  # fmt: skip


class LogSparsity(Sparsity):
    """Olshausen & Field's sparse-coding cost (Nature, 1996), log(1 + x^2) on each activation:

        P = (beta / m) sum_ij log(1 + H_ij^2 / eps)

    It grows like H^2 / eps near 0 and only logarithmically for large activations, so it pulls
    small activations to 0 while leaving the large ones nearly free. It depends on every entry
    of H, not only on the column sums (``per_entry``):

        dP/dH_ij = (beta / m) 2 H_ij / (eps + H_ij^2)

    ``log_eps`` is eps (the square of Olshausen & Field's scale sigma).
    """

    name = "log"
    summary = "log(1 + H^2 / eps) (Olshausen & Field)"
    settings = (BETA, LOG_EPS)
    per_entry = True
    sweep = {
        name: Variant(
            {"hidden": "relu", "sparsity": name},
            {"mnist": Grid("beta", (1e-4, 3e-4, 1e-3, 3e-3, 1e-2)),
             "superposition": Grid("beta", (1e-3, 3e-3, 1e-2, 3e-2, 1e-1))},
        ),
    }  # fmt: skip

    def value(self, h_sum: np.ndarray, m: int, W2: np.ndarray, H=None) -> float:
        return (
            self.beta * float(np.sum(np.log1p(np.square(H, dtype=np.float64) / self.log_eps))) / m
        )

    def entry_grad(self, H: np.ndarray, m: int) -> np.ndarray:
        scale = H.dtype.type(2 * self.beta / m)
        return scale * H / (H.dtype.type(self.log_eps) + H * H)


def decoder_norms(W2: np.ndarray) -> np.ndarray:
    """||W2_j||: the Euclidean norm of each decoder row; W2: (n_hidden, n_in) -> (n_hidden,)."""
    return np.sqrt(np.square(W2, dtype=np.float64).sum(axis=1))


def make_sparsity(config: Mapping[str, Any]) -> Sparsity:
    """The sparsity term of a checked model configuration (``npsae.config.ModelConfig``, which
    holds the rules between its options): ``SPARSITY`` maps ``config["sparsity"]`` to its class,
    which takes its settings from the config."""
    return SPARSITY[config["sparsity"]].from_config(config)


def caveats(hidden: str, sparsity: str | None) -> list[str]:
    """What is allowed but questionable about a model's ``hidden`` units and ``sparsity``
    penalty, one sentence each (the penalty's ``caveat``): ``npsae.training.fit`` warns of them
    when training starts."""
    caveat = SPARSITY[sparsity].caveat(hidden)
    return [] if caveat is None else [caveat.warning]


def _settings() -> dict[str, Setting]:
    """Every penalty's settings by name; one name is one setting (one meaning, one default)."""
    found: dict[str, Setting] = {}
    for cls in SPARSITY.values():
        for setting in cls.settings:
            if found.setdefault(setting.name, setting) is not setting:
                raise TypeError(f"{cls.__name__} declares another setting {setting.name!r}")
    return found


#: The settings of every penalty, by name, in the order the registry first declares them.
SETTINGS = _settings()


def users(setting: str) -> tuple[str, ...]:
    """The names of the penalties that read the setting named ``setting``."""
    return tuple(n for n, cls in SPARSITY.items() if any(s.name == setting for s in cls.settings))


#: The sweep's variants (``npsae.sweep``), each penalty's in the registry's order.
SWEEP_VARIANTS: dict[str, Variant] = {
    name: variant for cls in SPARSITY.values() for name, variant in cls.sweep.items()
}


def squared_norm(W: np.ndarray) -> float:
    """||W||^2 = sum_ij W_ij^2, as one BLAS dot product in the weights' own dtype: a float64 copy
    of the weights at every step would cost more than the rest of the penalty's work."""
    return float(np.dot(W.ravel(), W.ravel()))


def weight_decay(params: dict, lam: float) -> float:
    """(lambda / 2) (||W1||^2 + ||W2||^2), biases not decayed; exactly 0 when lambda = 0."""
    if not lam:
        return 0.0
    return 0.5 * lam * sum(squared_norm(params[k]) for k in WEIGHTS)


def weight_decay_grad(W: np.ndarray, lam: float) -> np.ndarray:
    """d/dW of (lambda / 2) ||W||^2 = lambda W."""
    return W * W.dtype.type(lam)


def add_weight_decay_grad(grad: np.ndarray, W: np.ndarray, lam: float) -> float:
    """grad += lambda W in place, and return ||W||^2, which the decay value needs.

    ``npsae.kernels`` has a twin that does both in one pass over W, with no temporary.
    """
    grad += weight_decay_grad(W, lam)
    return squared_norm(W)


WEIGHTS = ("W1", "W2")
