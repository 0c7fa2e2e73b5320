"""Where a training step's CPU time goes, part by part, inside a real epoch of ``fit``.

    python bench/step_parts.py                    # the tutorial model, one thread
    python bench/step_parts.py --preset ufldl --epochs 3

Each part of the step (the batch gather, the backend's fused stages and penalty terms, the
optimiser, the statistics) is wrapped in a timer of the thread's CPU time, and the epoch runs
as ``fit`` runs it: a part is timed where it runs, on the caches the matrix products have just
filled, which can make it several times slower than alone (``timeit`` in a loop). What the
backend's step spends outside its timed parts is its five matrix products and its own Python;
what the epoch spends outside the timed parts is the trainer's loop. The five products alone
(``bench/epoch.py``'s gemm column) are timed after, for the ratio. A timer costs about a
microsecond per call, a few per step.
"""

from __future__ import annotations

import argparse
import collections
import functools
import os
import sys
import time
import warnings

from epoch import PRESETS, GemmEpoch, NpsaeEpoch, _set_threads, load_images


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", choices=list(PRESETS), default="tutorial")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--epochs", type=int, default=3, help="timed epochs (after a warm-up)")
    args = parser.parse_args(argv)
    _set_threads(args.threads)
    warnings.simplefilter("ignore")  # KL with ReLU's caveat, once per fit

    from npsae import batches, kernels, metrics, optim, reference

    totals: collections.Counter = collections.Counter()
    clock = time.thread_time_ns

    def timed(owner, name: str, label: str) -> None:
        inner = getattr(owner, name)

        @functools.wraps(inner)
        def wrapper(*a, **k):
            start = clock()
            try:
                return inner(*a, **k)
            finally:
                totals[label] += clock() - start

        setattr(owner, name, wrapper)

    # The backend calls its stages through the module's names, so wrapping those times them.
    step = "backend step (all)"
    in_step = [
        (kernels, "hidden_activation", "hidden activation"),
        (kernels, "output_layer", "output layer (activation, loss, dZ2, db2)"),
        (kernels, "hidden_backward", "hidden backward"),
        (kernels, "_sparsity_terms", "penalty value and gradient"),
        (kernels, "add_weight_decay_grad", "weight decay"),
        (reference, "assemble_losses", "loss terms"),
    ]
    for owner, name, label in [
        *in_step,
        (kernels.NumbaBackend, "forward_backward", step),
        (batches.Batches, "__call__", "batch gather"),
        (optim.Optimizer, "step", "optimizer step"),
        (metrics.ActivationStats, "update", "statistics"),
    ]:
        timed(owner, name, label)

    images = load_images()
    epoch = NpsaeEpoch(args.preset, "numba", images, 256)
    epoch()  # warm-up: compile, fault in pages
    totals.clear()
    start = time.process_time()
    for _ in range(args.epochs):
        epoch()
    per_epoch = (time.process_time() - start) / args.epochs
    gemm = GemmEpoch(args.preset, images, 256)
    gemm()
    start = time.process_time()
    for _ in range(args.epochs):
        gemm()
    gemm_epoch = (time.process_time() - start) / args.epochs

    steps = -(-len(images) // 256)
    ms = {label: ns / args.epochs / 1e6 for label, ns in totals.items()}
    inside = sum(ms.get(label, 0.0) for _, _, label in in_step)
    rows = [(k, v) for k, v in ms.items() if k != step]
    rows.append(("five products + the step's Python", ms[step] - inside))
    rows.append(("trainer's loop (untimed rest)", per_epoch * 1e3 - sum(v for _, v in rows)))
    print(
        f"{args.preset}: an epoch {per_epoch:.3f} s CPU, its five products alone {gemm_epoch:.3f}"
    )
    print(f"{'part':42s} {'ms/epoch':>9s} {'us/step':>8s}")
    for label, value in sorted(rows, key=lambda kv: -kv[1]):
        print(f"{label:42s} {value:9.1f} {value * 1e3 / steps:8.1f}")


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    main()
