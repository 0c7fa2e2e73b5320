"""``npsae export RUN_DIR OUT_DIR --format saelens``: a trained model in another library's
layout (see ``npsae.export``)."""

from __future__ import annotations

import argparse

from npsae.cli import common


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "export",
        help="write a trained model in the layout SAELens loads",
        description="Write the model of RUN_DIR (a folder of `npsae train --out`, or a model "
        ".npz) into OUT_DIR as SAELens loads it: sae_weights.safetensors (W_enc, b_enc, W_dec, "
        "b_dec) and cfg.json. Needs the optional extra: pip install 'npsae[export]'. Models "
        "SAELens cannot compute (a sigmoid output, sigmoid hidden units) are refused, and "
        "files already in OUT_DIR are never overwritten.",
    )
    p.add_argument("run_dir", metavar="RUN_DIR", help="run directory or model file to export")
    p.add_argument("out_dir", metavar="OUT_DIR", help="folder to write (created if missing)")
    # The choices are npsae.export.FORMATS, written out so that --help imports no NumPy.
    p.add_argument(
        "--format", choices=("saelens",), default="saelens", help="the layout (default saelens)"
    )
    p.set_defaults(func=common.guarded("export", run))


def run(args: argparse.Namespace) -> int:
    from npsae._extras import MissingExtraError
    from npsae.export import export_saelens

    try:
        paths = export_saelens(args.run_dir, args.out_dir)
    except (MissingExtraError, OSError, ValueError) as err:
        common.error("export", err)
        return 1
    for path in paths:
        print(f"wrote {path}")
    return 0
