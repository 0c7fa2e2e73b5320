"""``npsae gradcheck``: compare analytic gradients with finite differences on a small model."""

from __future__ import annotations

import argparse
import sys

from npsae.cli import common
from npsae.cli.train import SPARSITY_CHOICES, add_architecture_options, architecture_options
from npsae.model import BACKENDS, HIDDEN, OUTPUT, RECON

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
    p.add_argument("--samples", type=int, default=10, help="batch size (default 10)")
    p.add_argument("--hidden", choices=HIDDEN, default="sigmoid")
    p.add_argument("--output", choices=OUTPUT, default="sigmoid")
    p.add_argument("--recon", choices=RECON, default="mse")
    p.add_argument("--sparsity", choices=SPARSITY_CHOICES, default="kl")
    p.add_argument("--k", type=int, default=None, help="units kept per sample, topk/batchtopk")
    # Thresholds and a window wide enough that a small random batch has pre-activations near
    # the thresholds, whose pseudo-derivative the check then compares with its closed form.
    add_architecture_options(p, jumprelu=0.5)
    p.add_argument("--rho", type=float, default=0.05)
    p.add_argument("--beta", type=float, default=0.1)
    p.add_argument("--weight-decay", type=float, default=1e-3)
    p.add_argument("--backend", choices=BACKENDS, default="numba")
    p.add_argument("--eps", type=float, default=1e-6, help="finite-difference step")
    p.add_argument("--max-entries", type=int, default=None, help="check a sample of entries")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=common.guarded("gradcheck", run))


def _check(args: argparse.Namespace) -> None:
    from npsae._memory import model_bytes

    for name in ("n_in", "n_hidden", "samples"):
        common.positive_int(name, getattr(args, name))
    for name in ("max_entries", "k"):
        if getattr(args, name) is not None:
            common.positive_int(name, getattr(args, name))
    common.target_activation("rho", args.rho)
    for name in ("beta", "weight_decay"):
        common.non_negative_number(name, getattr(args, name))
    common.positive_number("eps", args.eps)
    common.non_negative_int("seed", args.seed)
    # float64, and the check keeps a copy of the model and a numerical gradient of each weight.
    needed = 2 * model_bytes(args.n_in, args.n_hidden, 0, itemsize=8)
    name = "n_hidden" if args.n_hidden >= args.n_in else "n_in"
    common.fits_in_memory(name, getattr(args, name), needed, "a float64 model of this size")
    batch = 3 * 8 * args.samples * (args.n_in + args.n_hidden)  # X, H and X^ in float64
    common.fits_in_memory("samples", args.samples, batch, "a batch of this many samples")


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from npsae.gradcheck import count_entries, gradient_check, kink_free_batch
    from npsae.model import SparseAutoencoder

    _check(args)
    try:
        model = SparseAutoencoder(
            args.n_in,
            args.n_hidden,
            hidden=args.hidden,
            output=args.output,
            recon=args.recon,
            sparsity=None if args.sparsity == "none" else args.sparsity,
            rho=args.rho,
            beta=args.beta,
            weight_decay=args.weight_decay,
            dtype=np.float64,
            backend=args.backend,
            seed=args.seed,
            k=args.k,
            **architecture_options(args),
        )
        if "since_fired" in model.buffers:
            # A new model has no dead units: mark half of them so that AuxK's term is checked.
            model.buffers["since_fired"][model.n_hidden // 2 :] = model.config["dead_after"]
        X = kink_free_batch(model, args.samples, seed=args.seed)
    except ValueError as err:
        raise common.UsageError(err) from err
    print(f"{model}, batch of {args.samples}")
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
