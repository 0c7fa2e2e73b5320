"""``npsae gradcheck``: compare analytic gradients with finite differences on a small model."""

from __future__ import annotations

import argparse
import warnings

from npsae.cli.train import SPARSITY_CHOICES, add_architecture_options, architecture_options
from npsae.model import BACKENDS, HIDDEN, OUTPUT, RECON


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
    # Wide enough that a small random batch has pre-activations near the thresholds, whose
    # pseudo-derivative the check then compares with its closed form.
    add_architecture_options(p, bandwidth=0.5)
    p.add_argument("--rho", type=float, default=0.05)
    p.add_argument("--beta", type=float, default=0.1)
    p.add_argument("--weight-decay", type=float, default=1e-3)
    p.add_argument("--backend", choices=BACKENDS, default="numba")
    p.add_argument("--eps", type=float, default=1e-6, help="finite-difference step")
    p.add_argument("--max-entries", type=int, default=None, help="check a sample of entries")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from npsae.gradcheck import gradient_check, kink_free_batch
    from npsae.model import SparseAutoencoder

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # KL with ReLU: the check is still valid
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
        result = gradient_check(model, X, eps=args.eps, max_entries=args.max_entries)
    except ValueError as err:
        print(f"npsae gradcheck: {err}")
        return 2
    print(f"{model}, batch of {args.samples}")
    print(result)
    return 0 if result.passed else 1
