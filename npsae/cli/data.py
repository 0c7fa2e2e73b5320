"""``npsae data``: check (and if need be download) a data set, then summarise it."""

from __future__ import annotations

import argparse
import re
import sys
import warnings

from npsae.cli import common

DATASETS = ("mnist", "fashion-mnist", "bars")


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "data",
        help="check or download a data set and print a summary",
        description="Load both splits of a data set, checking every file against its known "
        "checksum and downloading missing files, then print where the files are, the arrays' "
        "shapes and dtypes, the label counts and the mean pixel value, and which folder was "
        "used and why. MNIST and Fashion-MNIST are looked for, and downloaded, in ROOT/mnist/ "
        "and ROOT/fashion-mnist/, where ROOT is the first that applies of: --data-root; "
        "$NPSAE_DATA; ./data when it already holds a data set; the per-user data folder "
        "(~/.cache/npsae on Linux; see npsae.datasets.locate_data).",
    )
    p.add_argument("--dataset", choices=DATASETS, default="mnist", help="default mnist")
    p.add_argument("--data-root", metavar="DIR", default=None, help="data root (see above)")
    common.add_renamed(p, "--root", "--data-root")
    p.add_argument(
        "--no-download", action="store_true", help="fail instead of downloading missing files"
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from npsae import datasets
    from npsae.idx import IDXFormatError

    try:
        if args.dataset == "bars":
            print("bars: generated on the fly (npsae.datasets.make_bars), nothing on disk")
            for split, n in datasets.BARS_SAMPLES.items():
                X, features = datasets.bars_split(split)
                on = (X.reshape(n, 1, -1) >= features).all(axis=2).sum(axis=1)
                print(
                    f"{split:>5}: X {X.shape} {X.dtype}, bars {features.shape}, "
                    f"{on.mean():.2f} full bars per image, pixel mean {X.mean():.4f}"
                )
            return 0
        location = datasets.locate_data(args.data_root)
        folder = location.root / args.dataset
        with warnings.catch_warnings():
            if location.rule == "fallback":
                # Said here at once, and again in the summary, instead of as a Python warning.
                common.note("data", f"using {folder} because {location.reason}")
                warnings.filterwarnings("ignore", re.escape(f"downloading into {folder}"))
            loaded = {
                split: datasets.load_mnist(
                    split,
                    root=args.data_root,
                    kind=args.dataset,
                    download=not args.no_download,
                    progress=True,
                )
                for split in datasets.FILES
            }
    except (datasets.DatasetError, IDXFormatError, OSError, ValueError) as err:
        # Not common.error, which joins lines: a failed download lists each file's fault, one a
        # line.
        print(f"npsae data: error: {err}", file=sys.stderr)
        return 1
    print(f"{args.dataset}: {folder.resolve()} (checksums verified)")
    print(f"       used because {location.reason}")
    for split, (images, labels) in loaded.items():
        files = ", ".join(datasets.find_idx_file(folder, n).name for n in datasets.FILES[split])
        counts = np.bincount(labels, minlength=10)
        print(f"{split:>5}: {files}")
        print(
            f"       images {images.shape} {images.dtype}, labels {labels.shape} {labels.dtype}, "
            f"pixel mean {images.mean() / 255:.4f} (of 1)"
        )
        print("       label counts " + " ".join(f"{k}:{c}" for k, c in enumerate(counts)))
    return 0
