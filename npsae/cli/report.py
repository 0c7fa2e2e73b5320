"""``npsae report RUN_DIR``: write RUN_DIR/report.html, one self-contained page with the
figures, configuration and final metrics of a training run."""

from __future__ import annotations

import argparse

from npsae.cli import common
from npsae.probe import PROBE_TRAIN
from npsae.report import FIGURE_SAMPLES  # matplotlib is imported only when drawing


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "report",
        help="write an HTML report (figures, settings, metrics) of a training run",
        description="Read a run directory written by `npsae train --out RUN_DIR` (config.json, "
        "history.csv, model.npz), reload the test split of its data set, and write "
        "RUN_DIR/report.html: one file, figures included, that opens in any browser. The "
        "data is read from where the run found it (or --data-root) and never downloaded.",
    )
    p.add_argument("run_dir", metavar="RUN_DIR", help="the folder given to `npsae train --out`")
    p.add_argument(
        "--samples",
        type=int,
        default=FIGURE_SAMPLES,
        metavar="N",
        help="test images used for the activation figures (default %(default)s)",
    )
    p.add_argument("--data-root", metavar="DIR", help="where MNIST is, if it has moved")
    p.add_argument(
        "--probe",
        action="store_true",
        help="add a linear probe's test accuracy on the codes and on the raw pixels (labelled "
        "data only; pip install 'npsae[eval]')",
    )
    p.add_argument(
        "--probe-train",
        type=_probe_train,
        default=PROBE_TRAIN,
        metavar="N|all",
        help="training samples the probe learns from: the first N, or all of the training split "
        "as Makhzani & Frey did (default %(default)s)",
    )
    p.set_defaults(func=common.guarded("report", run))


def _probe_train(text: str) -> int | None:
    """N, or "all" for None (the whole training split)."""
    if text == "all":
        return None
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is neither a number nor 'all'") from None


def run(args: argparse.Namespace) -> int:
    common.positive_int("samples", args.samples, "must be >= 1")
    if args.probe_train is not None:
        common.positive_int("probe_train", args.probe_train, "must be >= 1, or all")
    from npsae._extras import MissingExtraError
    from npsae.report import write_report

    try:
        path = write_report(
            args.run_dir,
            samples=args.samples,
            data_root=args.data_root,
            probe=args.probe,
            probe_train=args.probe_train,
        )
    except (MissingExtraError, OSError, ValueError) as err:
        common.error("report", err)
        return 1
    print(f"report: {path}")
    return 0
