"""Start-up cost of the Numba backend: the first-ever compile, and a process that finds the cache.

    python bench/startup.py              # 3 warm runs of each command
    python bench/startup.py --repeats 5

Each command runs in a fresh subprocess with ``NUMBA_CACHE_DIR`` pointed at an empty temporary
folder, so the first run compiles from nothing (cold) and the following ones load the compiled
kernels from that folder (warm). Commands:

    gradcheck      ``python -m npsae gradcheck``: what a student runs first (float64 kernels)
    all kernels    imports npsae and calls every compiled function once per dtype: each stage of
                   the Numba backend for every activation, TopK, weight decay, the batch gather
                   and the optimisers' updates; cold, this is the whole compile bill
    import npsae   importing npsae and the names it offers (``npsae.fit`` ...): NumPy, Numba,
                   the model and the trainer, compiling nothing
    npsae --help   ``python -m npsae --help``: the command line starts without Numba or
                   matplotlib (and ``npsae`` alone imports nothing until a name is used)

Reported: wall-clock seconds, cold and the median (min-max) of the warm runs.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

# Touch every compiled function for both dtypes; the int codes do not change a kernel's types,
# so one call per activation kind covers every specialisation.
ALL_KERNELS = """
import numpy as np
from npsae.model import SparseAutoencoder
from npsae.optim import SGD, Adam
from npsae.training import fit
X = np.random.default_rng(0).random((8, 6))
for dtype in (np.float32, np.float64):
    for hidden, output, sparsity, k in (
        ("sigmoid", "sigmoid", "kl", None), ("relu", "linear", "topk", 2)
    ):
        model = SparseAutoencoder(6, 3, hidden=hidden, output=output, sparsity=sparsity, k=k,
                                  weight_decay=1e-3, dtype=dtype)
        loss, grads = model.loss_and_grads(X)
        model.reconstruct(X)
        for opt in (Adam(), SGD(momentum=0.9)):
            opt.step(model.params, grads)
    fit(model, (X * 255).astype(np.uint8), 1, batch_size=4, verbose=0)  # the batch gather
"""

COMMANDS = {
    "gradcheck": ["-m", "npsae", "gradcheck"],
    "all kernels": ["-c", ALL_KERNELS],
    "import npsae": ["-c", "import npsae; npsae.fit"],
    "npsae --help": ["-m", "npsae", "--help"],
}


def run(args: list[str], cache_dir: str) -> float:
    """Seconds for ``python *args`` to finish, in a subprocess using ``cache_dir``."""
    env = {**os.environ, "NUMBA_CACHE_DIR": cache_dir}
    env.pop("NPSAE_NUMBA_CACHE", None)
    start = time.perf_counter()
    subprocess.run([sys.executable, *args], env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="warm runs per command")
    args = parser.parse_args(argv)
    rows = []
    for name, command in COMMANDS.items():
        with tempfile.TemporaryDirectory(prefix="npsae-numba-cache-") as cache_dir:
            cold = run(command, cache_dir)
            warm = [run(command, cache_dir) for _ in range(args.repeats)]
        rows.append((name, cold, warm))
    print(f"{'command':14} {'cold s':>7} {'warm s':>7} {'warm min-max':>13}")
    for name, cold, warm in rows:
        print(
            f"{name:14} {cold:7.2f} {statistics.median(warm):7.2f} "
            f"{min(warm):6.2f}-{max(warm):5.2f}"
        )


if __name__ == "__main__":
    main()
