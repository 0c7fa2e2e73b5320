"""Where one training epoch's time goes, line by line: the backend's step and the trainer's loop.

    python bench/line_profile.py                      # the tutorial model, numba backend
    python bench/line_profile.py --preset ufldl --threads 1

Needs ``line_profiler`` (benchmark only: ``pip install line_profiler``). One warm-up epoch
compiles the kernels, then one epoch of ``npsae.training.fit`` on full MNIST runs under the
profiler, which times every line of ``NumbaBackend.forward_backward`` and ``_dense_grads``
(the five matrix products, the fused stages, the penalties) and of the trainer's epoch loop
(batch gather, optimiser, metrics). The profiler adds about a microsecond per line executed,
a few percent here.
"""

from __future__ import annotations

import argparse
import os
import sys

from epoch import PRESETS, _set_threads, load_images, make_model


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", choices=list(PRESETS), default="tutorial")
    parser.add_argument("--backend", choices=("numba", "numpy"), default="numba")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    _set_threads(args.threads)

    from line_profiler import LineProfiler

    from npsae import kernels, reference
    from npsae.optim import Adam
    from npsae.training import _Run, fit

    images = load_images()
    model, optimizer = make_model(args.preset, args.backend), Adam()
    fit(model, images, 1, optimizer=optimizer, verbose=0)  # warm-up: compile, fault in pages
    if args.backend == "numba":
        backend = kernels.NumbaBackend
        steps = [backend.forward_backward, backend._dense_grads]
    else:  # the reference's step is spread over the forward pass and one function per term
        steps = [reference.forward_backward, reference.forward, *reference.TERM_GRADS.values()]
    profiler = LineProfiler(*steps, _Run._epoch)
    profiler.runcall(fit, model, images, 1, optimizer=optimizer, seed=1, verbose=0)
    profiler.print_stats(output_unit=1e-3, stripzeros=True)


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    main()
