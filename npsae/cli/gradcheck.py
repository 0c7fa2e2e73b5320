"""``npsae gradcheck``: compare analytic gradients with finite differences on a small model."""

from __future__ import annotations

import argparse
import sys

from npsae.cli import common
from npsae.cli.train import (
    MODEL_DEFAULTS,
    SPARSITY_CHOICES,
    add_architecture_options,
    add_penalty_options,
)
from npsae.config import CHOICES, OPTIONS, SELECTING_SPARSITY, ConfigError, ModelConfig

# Above this many entries a full check takes minutes: say how to check a sample instead.
_MANY_ENTRIES = 20_000


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "gradcheck",
        help="check every gradient against finite differences",
        description="Check the analytic gradient of each loss term, and of their total, for "
        "each parameter, against centred finite differences, on a small float64 model and a "
        "random batch (JumpReLU's thresholds, whose gradient is a pseudo-derivative, against "
        "its closed form; with --aux-k, half the units are marked dead so that AuxK's term has "
        "work). Exits with status 1 when a check fails.",
    )
    p.add_argument("--n-in", type=int, default=8, help="input width (default 8)")
    p.add_argument("--n-hidden", type=int, default=5, help="hidden units (default 5)")
    p.add_argument(
        "--batch-size", type=int, default=10, help="samples in the checked batch (default 10)"
    )
    common.add_renamed(p, "--samples", "--batch-size")
    p.add_argument(
        "--hidden",
        choices=CHOICES["hidden"],
        default=None,
        help="hidden activation (default sigmoid; relu for the sparsities that select among "
        f"ReLU activations: {', '.join(SELECTING_SPARSITY)})",
    )
    p.add_argument("--output", choices=CHOICES["output"], default="sigmoid")
    p.add_argument("--recon", choices=CHOICES["recon"], default="mse")
    p.add_argument("--sparsity", choices=SPARSITY_CHOICES, default=MODEL_DEFAULTS["sparsity"])
    p.add_argument("--k", type=int, default=None, help="units kept per sample, topk/batchtopk")
    # Thresholds and a window wide enough that a small random batch has pre-activations near
    # the thresholds, whose pseudo-derivative the check then compares with its closed form.
    add_architecture_options(p, jumprelu=0.5)
    p.add_argument("--rho", type=float, default=0.05)
    p.add_argument("--beta", type=float, default=0.1)
    # Not the model's 0: with a weight decay, the check covers the decay term's gradient too.
    p.add_argument(
        "--weight-decay",
        type=float,
        default=1e-3,
        metavar="LAMBDA",
        help="L2 penalty (default 1e-3 here, so that the decay term's gradient is checked)",
    )
    p.add_argument("--backend", choices=CHOICES["backend"], default="numba")
    p.add_argument("--eps", type=float, default=1e-6, help="finite-difference step")
    p.add_argument("--max-entries", type=int, default=None, help="check a sample of entries")
    p.add_argument("--seed", type=int, default=0, help="seeds the weights and the batch")
    add_penalty_options(p)
    p.set_defaults(func=common.guarded("gradcheck", run))


def _config(args: argparse.Namespace) -> ModelConfig:
    """The model to check, float64, as the options say (ModelConfig checks their values)."""
    options = {
        name: getattr(args, name) for name in OPTIONS if getattr(args, name, None) is not None
    }
    options["sparsity"] = None if args.sparsity == "none" else args.sparsity
    if args.hidden is None:
        options["hidden"] = _default_hidden(options["sparsity"])
    try:
        return ModelConfig(**{**options, "dtype": "float64"})
    except ConfigError as err:
        raise common.config_error(err, args) from err


def _default_hidden(sparsity: str | None) -> str:
    """The hidden activation checked when --hidden is not given: the one the sparsity needs."""
    return "relu" if sparsity in SELECTING_SPARSITY else "sigmoid"


def _check(args: argparse.Namespace, config: ModelConfig) -> None:
    """The check's own options, and whether it fits in memory."""
    from npsae._memory import model_bytes

    common.positive_int("batch_size", args.batch_size, args=args)
    if args.max_entries is not None:
        common.positive_int("max_entries", args.max_entries)
    common.positive_number("eps", args.eps)
    n_in, n_hidden = config.n_in, config.n_hidden
    # float64, and the check keeps a copy of the model and a numerical gradient of each weight.
    needed = 2 * model_bytes(n_in, n_hidden, 0, itemsize=8)
    name = "n_hidden" if n_hidden >= n_in else "n_in"
    common.fits_in_memory(name, getattr(args, name), needed, "a float64 model of this size")
    batch = 3 * 8 * args.batch_size * (n_in + n_hidden)  # X, H and X^ in float64
    what = "a batch of this many samples"
    common.fits_in_memory("batch_size", args.batch_size, batch, what, args)


def run(args: argparse.Namespace) -> int:

    from npsae.gradcheck import count_entries, gradient_check, kink_free_batch
    from npsae.model import SparseAutoencoder

    config = _config(args)
    _check(args, config)
    if args.hidden is None and config.hidden != _default_hidden(None):
        print(f"note: --sparsity {args.sparsity} selects among ReLU units: checking --hidden relu")
    try:
        model = SparseAutoencoder.from_config(config)
        if "since_fired" in model.buffers:
            # A new model has no dead units: mark half of them so that AuxK's term is checked.
            model.buffers["since_fired"][model.n_hidden // 2 :] = model.config["dead_after"]
        X = kink_free_batch(model, args.batch_size, seed=args.seed)
    except ValueError as err:
        raise common.UsageError(err) from err
    print(f"{model}, batch of {args.batch_size}")
    entries = count_entries(model, args.max_entries)
    hint = "; --max-entries N checks N per parameter" if entries > _MANY_ENTRIES else ""
    print(
        f"checking {entries:,} gradient entries by finite differences "
        f"({2 * entries:,} loss evaluations){hint}",
        flush=True,
    )
    progress = sys.stderr.isatty()
    result = gradient_check(model, X, eps=args.eps, max_entries=args.max_entries, progress=progress)
    print(result)
    return 0 if result.passed else 1
