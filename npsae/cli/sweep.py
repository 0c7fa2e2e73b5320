"""``npsae sweep OUT_DIR``: train a grid of models per sparsity variant and draw the Pareto plot
(see ``npsae.sweep``)."""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

from npsae.cli import common
from npsae.sweep import DATASETS, DEFAULT_VARIANTS, VARIANTS  # neither imports Numba


def _knobs() -> str:
    """Each variant's knob, for --grid's help: ``topk: k; ...; jumprelu: theta_init on MNIST,
    beta on superposition data``."""
    knobs = []
    for name, variant in VARIANTS.items():
        mnist, superposition = (variant.grid(kind).param for kind in ("mnist", "superposition"))
        if mnist == superposition:
            knobs.append(f"{name}: {mnist}")
        else:
            knobs.append(f"{name}: {mnist} on MNIST, {superposition} on superposition data")
    return "; ".join(knobs)


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "sweep",
        help="train a grid per sparsity variant; Pareto plot of FVU against L0, results CSV",
        description="Train each chosen variant at several strengths of its sparsity knob "
        "(TopK's k, L1's beta, KL's rho, ...) and measure each model on the test split: L0, "
        "fraction of variance unexplained, dead fraction; MMCS to the true directions on "
        "superposition data; with --probe, a linear probe's accuracy. Writes "
        "OUT_DIR/results.csv and OUT_DIR/pareto.png; each point is a run directory under "
        "OUT_DIR/runs/ (for `npsae report` and `npsae export`). Re-running the same command "
        "skips finished points and resumes an interrupted one.",
    )
    p.add_argument("out_dir", metavar="OUT_DIR", help="folder for the runs, CSV and plot")
    p.add_argument(
        "--variants",
        default=",".join(DEFAULT_VARIANTS),
        metavar="NAMES",
        help=f"comma-separated, among {', '.join(VARIANTS)} (default {','.join(DEFAULT_VARIANTS)})",
    )
    p.add_argument(
        "--grid",
        action="append",
        default=[],
        metavar="VARIANT=V1,V2,...",
        help=f"the values of a variant's knob instead of its default grid ({_knobs()}); may be "
        "repeated, e.g. --grid topk=4,8",
    )
    p.add_argument("--dataset", choices=DATASETS, default="mnist", help="default mnist")
    p.add_argument("--n-hidden", type=int, metavar="UNITS", help="hidden units (mnist 128, "
                   "superposition 64)")  # fmt: skip
    common.add_renamed(p, "--hidden", "--n-hidden")
    p.add_argument("--epochs", type=int, help="epochs per point (mnist 10, superposition 20)")
    p.add_argument("--lr", type=float, help="Adam's learning rate (mnist 1e-3, superposition "
                   "3e-3)")  # fmt: skip
    p.add_argument("--batch-size", type=int, help="samples per step (mnist 256, "
                   "superposition 64)")  # fmt: skip
    p.add_argument("--seed", type=int, default=0, help="seeds weights and batches (default 0)")
    p.add_argument("--limit", type=int, metavar="N", help="use only the first N training samples")
    p.add_argument(
        "--probe",
        action="store_true",
        help="also fit a linear probe on the codes and on the pixels (labels needed; "
        "pip install 'npsae[eval]')",
    )
    p.add_argument(
        "--target-l0",
        type=float,
        metavar="L0",
        help="print, per variant, the point closest to this L0 (default: the mean number of "
        "true features per sample on superposition data)",
    )
    p.add_argument("--data-root", metavar="DIR", help="data root (default: as npsae data finds it)")
    p.add_argument("--quiet", action="store_true", help="no progress bar or per-point lines")
    p.set_defaults(func=common.guarded("sweep", run))


def _parse_grids(specs: list[str]) -> dict[str, list[float]]:
    grids = {}
    for spec in specs:
        name, sep, values = spec.partition("=")
        if not sep or not values:
            raise ValueError(f"--grid {spec}: write VARIANT=V1,V2,... e.g. topk=4,8,16")
        try:
            grids[name.strip()] = [float(v) for v in values.split(",")]
        except ValueError:
            raise ValueError(f"--grid {spec}: the values must be numbers") from None
        if not all(math.isfinite(v) for v in grids[name.strip()]):
            raise ValueError(f"--grid {spec}: the values must be finite numbers")
    return grids


def run(args: argparse.Namespace) -> int:
    try:
        grids = _parse_grids(args.grid)
    except ValueError as err:
        raise common.UsageError(err) from err
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    from npsae import sweep
    from npsae._extras import MissingExtraError
    from npsae.datasets import DatasetError
    from npsae.idx import IDXFormatError

    try:
        rows = sweep.run_sweep(
            args.out_dir,
            variants,
            grids,
            dataset=args.dataset,
            n_hidden=args.n_hidden,
            epochs=args.epochs,
            lr=args.lr,
            batch_size=args.batch_size,
            seed=args.seed,
            limit=args.limit,
            probe=args.probe,
            data_root=args.data_root,
            progress=None if args.quiet else sys.stderr,
        )
    except (sweep.SweepError, MissingExtraError) as err:
        raise common.UsageError(err) from err
    except (DatasetError, IDXFormatError, OSError, ValueError) as err:
        common.data_error("sweep", err)
        return 1
    print(f"{'variant':<11} {'knob':>12} {'L0':>7} {'FVU':>7} {'dead':>6} {'MMCS':>6} "
          f"{'probe':>6} {'seconds':>8}")  # fmt: skip
    for row in rows:
        print(_row(row))
    target = args.target_l0
    if target is None and args.dataset == "superposition":
        target = sweep.SUPERPOSITION["p"] * sweep.SUPERPOSITION["n_features"]
    if target is not None:
        print(f"closest to L0 {target:g}:")
        for row in sweep.matched(rows, target):
            print(_row(row))
    pixels = sweep.read_baseline(args.out_dir)
    if pixels is not None:
        print(f"linear probe on raw pixels: {pixels:.3f}")
    print(f"results: {Path(args.out_dir) / sweep.RESULTS_FILE}")
    print(f"Pareto plot: {Path(args.out_dir) / sweep.PARETO_FILE}")
    return 0


def _row(row: dict) -> str:
    def num(value: float, fmt: str) -> str:
        return "-" if math.isnan(value) else format(value, fmt)

    knob = f"{row['param']}={row['value']:g}"
    return (
        f"{row['variant']:<11} {knob:>12} {row['l0']:7.2f} {row['fvu']:7.4f} "
        f"{row['dead_fraction']:6.1%} {num(row['mmcs'], '6.3f'):>6} "
        f"{num(row['probe_accuracy'], '6.3f'):>6} {row['seconds']:8.1f}"
    )
