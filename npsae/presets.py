"""Named settings worth knowing, each a model, a learning rate and a schedule.

``PRESETS[name].model`` holds the options of ``npsae.config.ModelConfig`` that differ from its
defaults (all but ``n_in``, which the data decides); ``PRESETS[name].config(n_in)`` is the
whole, checked configuration and ``build(name, n_in)`` makes the model. ``npsae train --preset
NAME`` starts from the same values, and ``bench/epoch.py`` times the "keras" and "ufldl" ones.

- "keras": the Keras tutorial this package grew from (784 -> 64 ReLU -> 784 sigmoid, mse plus
  0.1 KL(0.05), Adam 1e-3, batches of 256, 50 epochs): ``npsae train``'s defaults.
- "ufldl": Ng's UFLDL exercise on MNIST (196 sigmoid units, sse, KL rho 0.1, beta 3, weight decay
  3e-3, UFLDL's initialisation). UFLDL minimised the whole-batch objective with L-BFGS; here Adam
  takes its place. Adam's step does not scale with the loss (sse sums over the pixels), so lr was
  chosen by trial on 20000 images: after 8 epochs the test objective was 24.8 with lr 1e-3 and
  20.8 with 3e-3; after 25, 17.9 with 3e-3, 17.7 with 1e-2 and 19.7 with 3e-2, whose training
  loss no longer fell steadily. 3e-3 is the safe side of the best.
- "ksparse-mnist": Makhzani & Frey's k-sparse autoencoder ("k-Sparse Autoencoders", ICLR 2014,
  arXiv:1312.5663) as their MNIST classification experiment set it: 1000 hidden units, k = 25,
  k lowered linearly from 100 over the first half of the epochs ("Scheduling of the Sparsity
  Level"), codes of the alpha k = 75 largest units for the classifier, linear output and squared
  error. Their units were linear (the top k of W^T x + b) with tied weights, trained by SGD for
  far longer; here ReLU units (the same top k where they are positive), untied weights and Adam
  for 30 epochs, k scheduled over the first 5 (the test error of a logistic regression on the
  raw codes fell from 2.39 % after 10 epochs to 1.91 % after 20 and 1.82 % after 30, against their
  1.35 %). A ReLU unit can die whatever k is (its input negative on every image): after 10
  epochs the schedule alone left 74 % of the units dead on the test split (27.5 % with Gao et
  al.'s tied initialisation); AuxK (k_aux 256) brought that to 13 % (2.0 % with the tied
  initialisation, as here; 0.2 % after 30 epochs). ``bench/ksparse.py`` measures it
  (bench/README.md).
- "bars-kl", "bars-l1", "bars-topk", "bars-l1-decoder", "bars-batchtopk", "bars-topk-auxk",
  "bars-jumprelu": one recipe per sparsity variant that recovers all 16 bars of the 8 x 8 bars
  problem (``npsae.make_bars``) from seed 0 — 24 units, a linear output and sse; a test holds
  each to it. Without AuxK, "bars-batchtopk" ends with 9 of its 24 units dead and 14 bars
  recovered; with it, none dead and all 16 (a test holds this too).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from npsae.config import ModelConfig
from npsae.model import SparseAutoencoder


@dataclasses.dataclass(frozen=True)
class Preset:
    """A model's settings and how to train it."""

    description: str
    model: dict[str, Any]  # ModelConfig options besides n_in
    lr: float
    epochs: int
    batch_size: int = 256
    dataset: str = "mnist"

    def config(self, n_in: int, **overrides: Any) -> ModelConfig:
        """The model's configuration for inputs of width ``n_in``; ``overrides`` change any
        option."""
        return ModelConfig(n_in, **{**self.model, **overrides})


def _bars(description: str, lr: float, epochs: int, **model: Any) -> Preset:
    """A bars recipe: 24 units, a linear output and sse, batches of 64."""
    model = dict(n_hidden=24, output="linear", recon="sse", **model)
    return Preset(f"bars: {description}", model, lr, epochs, batch_size=64, dataset="bars")


PRESETS: dict[str, Preset] = {
    "keras": Preset(
        "the Keras tutorial: 64 ReLU units, mse + 0.1 KL(0.05)",
        dict(n_hidden=64, hidden="relu", output="sigmoid", recon="mse", sparsity="kl", rho=0.05,
             beta=0.1),
        lr=1e-3,
        epochs=50,
    ),
    "ufldl": Preset(
        "Ng's UFLDL exercise: 196 sigmoid units, sse, KL(0.1) beta 3, weight decay 3e-3",
        dict(n_hidden=196, hidden="sigmoid", output="sigmoid", recon="sse", sparsity="kl",
             rho=0.1, beta=3.0, weight_decay=3e-3, init="ufldl"),
        lr=3e-3,
        epochs=50,
    ),
    "ksparse-mnist": Preset(
        "Makhzani & Frey's k-sparse autoencoder on MNIST: 1000 ReLU units, TopK k = 25 "
        "scheduled down from 100 over the first 5 epochs, encoding with 3k = 75 units, a "
        "linear output and mse; AuxK (k_aux 256) and Gao et al.'s tied initialisation",
        dict(n_hidden=1000, hidden="relu", output="linear", recon="mse", sparsity="topk", k=25,
             k_schedule=(100, 5), encode_k=75, aux_k=256, init="tied"),
        lr=1e-3,
        epochs=30,
    ),
    "bars-kl": _bars(
        "sigmoid units, KL(0.1) beta 1, unit-norm decoder", 1e-2, 60,
        hidden="sigmoid", sparsity="kl", rho=0.1, beta=1.0, unit_norm_decoder=True,
    ),
    "bars-l1": _bars(
        "ReLU units, L1 beta 0.05, unit-norm decoder", 3e-3, 30,
        hidden="relu", sparsity="l1", beta=0.05, unit_norm_decoder=True,
    ),
    "bars-topk": _bars(
        "ReLU units, TopK with k = 3", 3e-3, 30,
        hidden="relu", sparsity="topk", k=3,
    ),
    "bars-l1-decoder": _bars(
        "ReLU units, decoder-weighted L1 beta 0.05", 3e-3, 30,
        hidden="relu", sparsity="l1-decoder", beta=0.05,
    ),
    "bars-batchtopk": _bars(
        "ReLU units, BatchTopK with k = 2, AuxK (k_aux 8, alpha 1/8, dead after 1000 samples)",
        3e-3, 30,
        hidden="relu", sparsity="batchtopk", k=2, aux_k=8, aux_alpha=1 / 8, dead_after=1000,
    ),
    "bars-topk-auxk": _bars(
        "ReLU units, TopK with k = 3, AuxK (k_aux 8, alpha 1/8, dead after 1000 samples), "
        "pre-encoder bias", 3e-3, 30,
        hidden="relu", sparsity="topk", k=3, aux_k=8, aux_alpha=1 / 8, dead_after=1000,
        pre_bias=True,
    ),
    "bars-jumprelu": _bars(
        "ReLU units, JumpReLU with L0 beta 1, bandwidth 0.5, thresholds from 0.05", 3e-3, 150,
        hidden="relu", sparsity="jumprelu", beta=1.0, bandwidth=0.5, theta_init=0.05,
    ),
}  # fmt: skip


def get(name: str) -> Preset:
    """The preset called ``name``; ValueError listing the names for an unknown one."""
    if name not in PRESETS:
        raise ValueError(f"preset {name!r} is not known; choose one of {', '.join(PRESETS)}")
    return PRESETS[name]


def build(name: str, n_in: int, **overrides: Any) -> SparseAutoencoder:
    """The preset's model for inputs of width ``n_in``; ``overrides`` change any argument."""
    return SparseAutoencoder.from_config(get(name).config(n_in, **overrides))
