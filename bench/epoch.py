"""Seconds per training epoch on full MNIST: npsae's Numba and NumPy backends against PyTorch.

    python bench/epoch.py                 # 7 rounds, both presets, every implementation
    python bench/epoch.py --quick         # 2 rounds on 10 % of MNIST, to try the script
    python bench/epoch.py --repeats 9 --presets tutorial --impls numba torch gemm
    python bench/epoch.py --threads 1 --cpu-time --impls numba train gemm  # on a busy machine

One *round* trains one epoch with every implementation, preset after preset, so that the
implementations share whatever else the machine is doing at that moment; the table reports the
median over rounds (and the spread, min-max). Each implementation gets one warm-up epoch first
(Numba compiles, PyTorch allocates). Implementations:

    numba, numpy  ``npsae.training.fit(model, X, 1, verbose=0)`` with ``npsae.optim.Adam``: the
                  whole trainer, batch gathering, uint8 -> float32 and per-epoch metrics included
    train         the epoch of ``npsae train`` (numba): ``fit`` with the 10000 test images as
                  validation, then the test-set summary the command prints (``cli.train``)
    torch         the same model in a plain PyTorch loop (``torch.set_num_threads``), Adam with
                  the same hyper-parameters, the same loss (recon + beta KL with the same clip
                  + weight decay), the same uint8 -> float32 conversion of each shuffled batch
    gemm          only the five matrix products of each step (X W1, H W2, H^T dZ2, dZ2 W2^T,
                  X^T dZ1) on the same shapes, with preallocated outputs: the floor for any
                  implementation that calls BLAS

After the table, each speed target of the performance issue is checked on ratios taken within
a round (e.g. torch / numba of the same round), whose median over rounds is steadier than the
ratio of the medians when the machine's speed drifts between rounds.

GFLOP/s counts the five products only: 5 x 2 m n_in n_hidden flops per batch of m. Peak memory
is ``ru_maxrss`` of a fresh subprocess that loads MNIST and trains one epoch (``--no-memory``
skips it). BLAS and PyTorch get ``--threads`` threads (default 2, this machine's cores).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import subprocess
import sys
import time

THREADS_ENV = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")

# The two models of the issue, by the names of this benchmark's tables, and the presets of
# npsae.presets that define them: the Keras tutorial's, and the UFLDL exercise's.
PRESETS = {"tutorial": "keras", "ufldl": "ufldl"}
IMPLS = ("numba", "numpy", "train", "torch", "gemm")
N_IN = 784


def _set_threads(threads: int) -> None:
    # Must happen before NumPy (OpenBLAS) and Numba start their thread pools.
    for name in THREADS_ENV:
        os.environ.setdefault(name, str(threads))


def default_data_root() -> str:
    """$NPSAE_DATA, else the repository's data/ if it holds MNIST, else the shared copy beside
    the clone (where CI finds it)."""
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    for root in (os.environ.get("NPSAE_DATA"), os.path.join(repo, "data")):
        if root and os.path.isdir(os.path.join(root, "mnist")):
            return root
    return os.path.join(os.path.dirname(repo), "shared", "data")


def load_images(fraction: float = 1.0, root: str | None = None, split: str = "train"):
    """MNIST's 60000 training (or 10000 test) images as uint8 (N, 784) (the first ``fraction``
    of them)."""
    import numpy as np

    from npsae.datasets import load_mnist

    images, _ = load_mnist(split, root=root or default_data_root(), download=False)
    images = images.reshape(len(images), -1)
    return np.ascontiguousarray(images[: int(len(images) * fraction)])


def model_config(preset: str):
    """The ``npsae.config.ModelConfig`` of a preset of this benchmark, on MNIST's 784 pixels."""
    from npsae import presets  # imported late: _set_threads must come before NumPy loads

    return presets.get(PRESETS[preset]).config(N_IN)


def make_model(preset: str, backend: str):
    from npsae.model import SparseAutoencoder

    config = model_config(preset).replace(backend=backend, seed=0)
    return SparseAutoencoder.from_config(config)


def flops_per_epoch(n_samples: int, n_hidden: int) -> int:
    """The five products of a step cost 2 m n_in n_hidden flops each; summed over the epoch."""
    return 5 * 2 * n_samples * N_IN * n_hidden


# --------------------------------------------------------------------------- implementations


class NpsaeEpoch:
    """One epoch of ``npsae.training.fit`` per call, the optimiser's state carried over."""

    def __init__(self, preset: str, backend: str, images, batch_size: int) -> None:
        from npsae.optim import Adam

        self.model = make_model(preset, backend)
        self.optimizer = Adam()
        self.images, self.batch_size = images, batch_size
        self.epoch = 0

    def __call__(self) -> None:
        from npsae.training import fit

        self.epoch += 1
        fit(
            self.model,
            self.images,
            1,
            batch_size=self.batch_size,
            optimizer=self.optimizer,
            seed=self.epoch,
            verbose=0,
        )


class TrainEpoch(NpsaeEpoch):
    """``npsae train``'s epoch: ``fit`` with the test split as validation, then the command's
    test-set summary (printed into a string), which reuses the last validation pass."""

    def __init__(self, preset: str, images, batch_size: int, test_images) -> None:
        super().__init__(preset, "numba", images, batch_size)
        self.test_images = test_images

    def __call__(self) -> None:
        import contextlib
        import io

        from npsae.cli.train import _print_test_results
        from npsae.training import fit

        self.epoch += 1
        history = fit(
            self.model,
            self.images,
            1,
            batch_size=self.batch_size,
            optimizer=self.optimizer,
            seed=self.epoch,
            validation=self.test_images,
            verbose=0,
        )
        settings = {"batch_size": self.batch_size, "dataset": "mnist"}
        # npsae before history.last_validation measured the test set again here (the same call
        # without it), which is what this column compared against.
        last = getattr(history, "last_validation", None)
        with contextlib.redirect_stdout(io.StringIO()):
            _print_test_results(
                self.model, self.test_images, settings, *([] if last is None else [last])
            )


class GemmEpoch:
    """The five BLAS products of each step of an epoch, and nothing else."""

    def __init__(self, preset: str, images, batch_size: int) -> None:
        import numpy as np

        n_hidden = model_config(preset).n_hidden
        rng = np.random.default_rng(0)
        self.sizes = [min(batch_size, len(images) - lo) for lo in range(0, len(images), batch_size)]
        m = self.sizes[0]
        self.X = rng.random((m, N_IN), dtype=np.float32)
        self.W1 = rng.random((N_IN, n_hidden), dtype=np.float32)
        self.W2 = rng.random((n_hidden, N_IN), dtype=np.float32)
        self.H = np.empty((m, n_hidden), np.float32)
        self.Z2 = np.empty((m, N_IN), np.float32)
        self.dW1 = np.empty_like(self.W1)
        self.dW2 = np.empty_like(self.W2)

    def __call__(self) -> None:
        import numpy as np

        for m in self.sizes:
            X, H, Z2 = self.X[:m], self.H[:m], self.Z2[:m]
            np.dot(X, self.W1, out=H)
            np.dot(H, self.W2, out=Z2)
            np.dot(H.T, Z2, out=self.dW2)
            np.dot(Z2, self.W2.T, out=H)
            np.dot(X.T, H, out=self.dW1)


class TorchEpoch:
    """The same model, loss and optimiser as a plain PyTorch training loop."""

    def __init__(self, preset: str, images, batch_size: int, threads: int) -> None:
        import torch

        from npsae.penalties import RHO_HAT_EPS

        torch.set_num_threads(threads)
        self.torch = torch
        self.cfg = model_config(preset)
        self.eps = RHO_HAT_EPS
        params = make_model(preset, "numpy").params  # the same initial weights
        self.params = [
            torch.tensor(params[k], requires_grad=True) for k in ("W1", "b1", "W2", "b2")
        ]
        self.opt = torch.optim.Adam(self.params, lr=1e-3, betas=(0.9, 0.999), eps=1e-7)
        self.images = torch.from_numpy(images)
        self.batch_size = batch_size
        self.epoch = 0

    def loss(self, X):
        torch, cfg = self.torch, self.cfg
        W1, b1, W2, b2 = self.params
        Z1 = X @ W1 + b1
        H = torch.relu(Z1) if cfg["hidden"] == "relu" else torch.sigmoid(Z1)
        X_hat = torch.sigmoid(H @ W2 + b2)
        sq = torch.sum((X_hat - X) ** 2)
        recon = sq / X.numel() if cfg["recon"] == "mse" else sq / (2 * X.shape[0])
        rho, beta = cfg["rho"], cfg["beta"]
        rho_hat = torch.clamp(H.mean(dim=0), self.eps, 1 - self.eps)
        kl = rho * torch.log(rho / rho_hat) + (1 - rho) * torch.log((1 - rho) / (1 - rho_hat))
        loss = recon + beta * kl.sum()
        if cfg["weight_decay"]:
            loss = loss + 0.5 * cfg["weight_decay"] * (W1.square().sum() + W2.square().sum())
        return loss

    def __call__(self) -> None:
        torch = self.torch
        self.epoch += 1
        gen = torch.Generator().manual_seed(self.epoch)
        order = torch.randperm(len(self.images), generator=gen)
        for lo in range(0, len(order), self.batch_size):
            X = self.images[order[lo : lo + self.batch_size]].to(torch.float32) / 255.0
            self.opt.zero_grad(set_to_none=True)
            loss = self.loss(X)
            loss.backward()
            self.opt.step()
        if not torch.isfinite(loss):
            raise FloatingPointError("PyTorch training diverged")


def make_impl(impl: str, preset: str, images, batch_size: int, threads: int):
    if impl in ("numba", "numpy"):
        return NpsaeEpoch(preset, impl, images, batch_size)
    if impl == "train":
        return TrainEpoch(
            preset, images, batch_size, load_images(len(images) / 60000, None, "test")
        )
    if impl == "gemm":
        return GemmEpoch(preset, images, batch_size)
    return TorchEpoch(preset, images, batch_size, threads)


# --------------------------------------------------------------------------- peak memory


MEMORY_CHILD = """
import resource, sys
sys.path.insert(0, {bench_dir!r})
import epoch
images = epoch.load_images({fraction})
epoch.make_impl({impl!r}, {preset!r}, images, {batch_size}, {threads})()
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def peak_memory_mb(impl: str, preset: str, fraction: float, batch_size: int, threads: int):
    """``ru_maxrss`` (MB) of a fresh process that loads MNIST and trains one epoch."""
    code = MEMORY_CHILD.format(
        bench_dir=os.path.dirname(os.path.abspath(__file__)),
        fraction=fraction,
        impl=impl,
        preset=preset,
        batch_size=batch_size,
        threads=threads,
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    return int(out.split()[-1]) / 1024  # Linux reports kilobytes


# --------------------------------------------------------------------------- main


def available(impls: list[str]) -> list[str]:
    # find_spec, not import: this process must stay small until the memory runs are done.
    if "torch" in impls and importlib.util.find_spec("torch") is None:
        print("PyTorch is not installed: skipping it", file=sys.stderr)
        impls = [i for i in impls if i != "torch"]
    return impls


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7, help="timed rounds (default 7)")
    parser.add_argument("--quick", action="store_true", help="2 rounds on 10%% of MNIST")
    parser.add_argument("--presets", nargs="+", choices=list(PRESETS), default=list(PRESETS))
    parser.add_argument("--impls", nargs="+", choices=IMPLS, default=list(IMPLS))
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--no-memory", action="store_true", help="skip the peak-memory runs")
    parser.add_argument(
        "--cpu-time",
        action="store_true",
        help="time each epoch by the CPU time of this process instead of the wall clock: "
        "steadier on a shared machine, and with --threads 1 the work itself",
    )
    args = parser.parse_args(argv)
    _set_threads(args.threads)
    fraction, repeats = (0.1, 2) if args.quick else (1.0, args.repeats)

    impls = available(args.impls)
    keys = [(p, i) for p in args.presets for i in impls]
    # Before this process grows: a child's ru_maxrss starts from its parent's size at the fork.
    memory = {}
    if not args.no_memory:
        for preset, impl in keys:
            memory[preset, impl] = peak_memory_mb(
                impl, preset, fraction, args.batch_size, args.threads
            )
    images = load_images(fraction)
    runs = {(p, i): make_impl(i, p, images, args.batch_size, args.threads) for p, i in keys}
    for run in runs.values():  # warm-up: compile, allocate, fault in the pages
        run()
    times: dict[tuple[str, str], list[float]] = {key: [] for key in runs}
    clock = time.process_time if args.cpu_time else time.perf_counter
    for r in range(repeats):
        for key, run in runs.items():
            start = clock()
            run()
            times[key].append(clock() - start)
        print(f"round {r + 1}/{repeats} done", file=sys.stderr, flush=True)

    print_table(times, memory, len(images), args, repeats)
    print_paired(times, args.presets)


def print_table(times: dict, memory: dict, n_samples: int, args, repeats: int) -> None:
    print(
        f"\n{n_samples} images, batch {args.batch_size}, {args.threads} threads, "
        f"median (min-max) of {repeats} interleaved epochs"
        + (", CPU seconds" if args.cpu_time else "")
    )
    header = (
        f"{'preset':9} {'impl':6} {'s/epoch':>8} {'min-max':>13} {'GFLOP/s':>8} "
        f"{'x gemm':>7} {'vs numba':>9} {'peak MB':>8}"
    )
    print(header)
    print("-" * len(header))
    for preset in args.presets:
        median = {i: statistics.median(t) for (p, i), t in times.items() if p == preset}
        flops = flops_per_epoch(n_samples, model_config(preset).n_hidden)
        for impl, sec in median.items():
            spread = times[preset, impl]
            mem = memory.get((preset, impl))
            print(
                f"{preset:9} {impl:6} {sec:8.3f} {min(spread):6.3f}-{max(spread):6.3f} "
                f"{flops / sec / 1e9:8.1f} "
                + (f"{sec / median['gemm']:7.2f} " if "gemm" in median else f"{'':7} ")
                + (f"{sec / median['numba']:9.2f} " if "numba" in median else f"{'':9} ")
                + (f"{mem:8.0f}" if mem is not None else "")
            )


# (preset, numerator, denominator, bound, "min" or "max"): the targets of the performance issue.
TARGETS = (
    ("tutorial", "torch", "numba", 2.5, "min"),
    ("tutorial", "numba", "gemm", 1.3, "max"),
    ("ufldl", "torch", "numba", 2.0, "min"),
    ("tutorial", "numpy", "numba", 3.0, "min"),
    ("ufldl", "numpy", "numba", 3.0, "min"),
    ("tutorial", "train", "numba", 1.15, "max"),
    ("ufldl", "train", "numba", 1.15, "max"),
)


def paired_ratios(times: dict, preset: str, top: str, bottom: str) -> list[float]:
    """top / bottom round by round: the two epochs of a round ran a few seconds apart, so a
    machine that is slower in one round slows both, which the ratio of medians does not see."""
    return [a / b for a, b in zip(times[preset, top], times[preset, bottom], strict=True)]


def print_paired(times: dict, presets: list[str]) -> None:
    rows = [
        t for t in TARGETS if t[0] in presets and (t[0], t[1]) in times and (t[0], t[2]) in times
    ]
    if not rows:
        return
    print("\ntargets, as ratios within each round: median (min-max) over rounds")
    for preset, top, bottom, bound, kind in rows:
        ratios = paired_ratios(times, preset, top, bottom)
        med = statistics.median(ratios)
        met = med >= bound if kind == "min" else med <= bound
        goal = f"{'>=' if kind == 'min' else '<='} {bound:g}"
        print(
            f"{preset:9} {top + ' / ' + bottom:14} {med:5.2f} ({min(ratios):4.2f}-"
            f"{max(ratios):4.2f})  goal {goal:7} {'met' if met else 'missed'}"
        )


if __name__ == "__main__":
    main()
