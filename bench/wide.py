"""Rows per second of a wide TopK / BatchTopK training step: npsae sparse and dense, and SAELens.

    python bench/wide.py                       # 3 rounds, 4,096 .. 32,768 latents, all impls
    python bench/wide.py --quick               # 1 round at 4,096 and 8,192 latents, small batch
    python bench/wide.py --curves --latents    # only the 200-step curve check
    python bench/wide.py --saelens-python /path/to/venv/bin/python --rounds 5

The model of issue 28: d_in 512, k 32, batches of 4,096 rows of synthetic activations (sparse
non-negative combinations of random unit directions, the superposition picture), Adam, on
``--threads`` threads (default 2). Implementations, each in a process of its own that lives
for the whole run (so that one's memory does not count in another's peak):

    sparse     npsae's numba backend on its sparse path (``sparse_kernels.training_path(model,
               True)``): the trainer's step, ``forward_backward`` + ``Adam.step`` +
               ``update_statistics`` + the per-epoch activation statistics
    dense      the same step with every product dense (``training_path(model, False)``)
    saelens    SAELens's ``TopKTrainingSAE`` / ``BatchTopKTrainingSAE`` (PyTorch, CPU, default
               config): encode, decode, mse, backward, ``torch.optim.Adam`` step
    xw1        the one dense product Z1 = X W1 alone (NumPy/OpenBLAS, preallocated output)

One *round* runs ``--steps`` steps of every implementation at every width, one after the
other, so that all share whatever else the machine does at that moment; tables report the
median over rounds, and ratios (sparse / saelens, sparse step / xw1) are taken within a round
before their median. Each process warms up (compiles, allocates) with one step first. Memory is
each process's peak resident set (VmHWM) minus its resident set before building the model,
after a step of a tiny model has compiled the kernels and started the thread pools (the peak
is reset there), against the bytes of the parameters and Adam's two moments
(3 x 4 bytes x (2 d n + d + n)).

``--profile`` times the parts of the sparse step instead (in this process, best of
``--steps`` + 1 runs each). ``--curves`` also trains the sparse and the dense path side by
side for 200 steps on the same batches (2,048 latents, batches of 512, AuxK) and reports the
largest gap in loss, L0 and dead fraction, and the first step where the losses differ by more
than 1e-6 (once float32 rounding flips one selection at a near-tie, the two runs part). SAELens
is an optional benchmark dependency, never npsae's: give the Python of a virtual environment
that has ``sae-lens`` (``pip install sae-lens``) with ``--saelens-python``
or ``$NPSAE_SAELENS_PYTHON``; without one, the saelens column is left out.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

THREADS_ENV = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")
IMPLS = ("sparse", "dense", "saelens", "xw1")
LABELS = {
    "sparse": "npsae, sparse path",
    "dense": "npsae, dense path",
    "saelens": "SAELens (PyTorch)",
    "xw1": "X W1 alone",
}
LATENTS = (4096, 8192, 16384, 32768)
SPARSITIES = ("topk", "batchtopk")
HERE = os.path.dirname(os.path.abspath(__file__))


def _rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _peak_rss_bytes() -> int:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmHWM:"))


def synthetic_batch(m: int, d: int, seed: int):
    """X: (m, d) float32, rows sparse non-negative mixes of 4 d random unit directions."""
    import numpy as np

    rng = np.random.default_rng(seed)
    n_feat = 4 * d
    F = rng.normal(size=(n_feat, d))
    F /= np.linalg.norm(F, axis=1, keepdims=True)
    S = rng.exponential(size=(m, n_feat)) * (rng.random((m, n_feat)) < 8 / n_feat)
    return (S @ F).astype(np.float32)


# --------------------------------------------------------------------------- the workers


def _npsae_step_fn(impl: str, sparsity: str, n: int, d: int, k: int, X):
    import numpy as np

    from npsae.metrics import ActivationStats
    from npsae.model import SparseAutoencoder
    from npsae.optim import Adam
    from npsae.sparse_kernels import training_path

    if impl == "xw1":
        W1 = np.random.default_rng(0).normal(size=(d, n)).astype(np.float32)
        Z = np.empty((X.shape[0], n), np.float32)
        return lambda: np.dot(X, W1, out=Z), 3 * 4 * (2 * d * n + d + n)
    model = SparseAutoencoder(
        d, n, hidden="relu", output="linear", recon="mse", sparsity=sparsity, k=k, seed=0
    )
    # The bench picks the path; a model chooses by itself (``sparse_kernels.use_sparse``).
    training_path(model, impl == "sparse")
    optimizer = Adam()
    stats = ActivationStats(n, 0.0)

    def step():
        _, grads, cache = model.forward_backward(X, check=False)
        optimizer.step(model.params, grads)
        model.update_statistics(cache.H)
        stats.update(cache.H, cache.h_sum)

    return step, 3 * sum(p.nbytes for p in model.params.values())


def _saelens_step_fn(sparsity: str, n: int, d: int, k: int, X, threads: int):
    import torch
    from sae_lens import (
        BatchTopKTrainingSAE,
        BatchTopKTrainingSAEConfig,
        TopKTrainingSAE,
        TopKTrainingSAEConfig,
    )

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    if sparsity == "topk":
        sae = TopKTrainingSAE(TopKTrainingSAEConfig(d_in=d, d_sae=n, k=k, dtype="float32"))
    else:
        sae = BatchTopKTrainingSAE(
            BatchTopKTrainingSAEConfig(d_in=d, d_sae=n, k=k, dtype="float32")
        )
    sae.train()
    optimizer = torch.optim.Adam(sae.parameters(), lr=1e-3)
    x = torch.from_numpy(X)

    def step():
        x_hat = sae.decode(sae.encode(x))
        loss = torch.nn.functional.mse_loss(x_hat, x)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    return step, 3 * 4 * sum(p.numel() for p in sae.parameters())


def worker(impl: str, sparsity: str, n: int, d: int, k: int, m: int, threads: int) -> None:
    """Serve ``run S`` (time S steps, answer seconds) and ``quit`` (answer memory) on stdin."""
    X = synthetic_batch(m, d, seed=1)
    # A step of a tiny model first compiles the kernels (or loads them from the cache) and
    # starts the thread pools, so that the memory counted below is the model's training alone.
    build = (
        (lambda n_: _saelens_step_fn(sparsity, n_, d, k, X, threads))
        if impl == "saelens"
        else (lambda n_: _npsae_step_fn(impl, sparsity, n_, d, k, X))
    )
    build(16 * k)[0]()
    base = _rss_bytes()
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # resets the peak resident set (VmHWM) to the present one
    step, state_bytes = build(n)
    step()  # warm-up: compile, allocate
    print("ready", flush=True)
    for line in sys.stdin:
        cmd = line.split()
        if cmd[0] == "run":
            t0 = time.perf_counter()
            for _ in range(int(cmd[1])):
                step()
            print(time.perf_counter() - t0, flush=True)
        else:
            peak = _peak_rss_bytes()
            print(json.dumps({"peak": peak - base, "state": state_bytes}), flush=True)
            return


# --------------------------------------------------------------------------- the driver


class Worker:
    def __init__(self, python: str, impl: str, sparsity: str, n: int, args) -> None:
        cmd = [python, os.path.abspath(__file__), "--worker", impl, sparsity, str(n)]
        cmd += ["--d-in", str(args.d_in), "--k", str(args.k), "--batch", str(args.batch)]
        cmd += ["--threads", str(args.threads)]
        self.name = (impl, sparsity, n)
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        if self.proc.stdout.readline().strip() != "ready":
            raise RuntimeError(f"worker {self.name} failed to start")

    def run(self, steps: int) -> float:
        self.proc.stdin.write(f"run {steps}\n")
        self.proc.stdin.flush()
        return float(self.proc.stdout.readline())

    def close(self) -> dict:
        self.proc.stdin.write("quit\n")
        self.proc.stdin.flush()
        memory = json.loads(self.proc.stdout.readline())
        self.proc.wait()
        return memory


def _saelens_python(arg: str | None) -> str | None:
    python = arg or os.environ.get("NPSAE_SAELENS_PYTHON")
    if python is None:
        return None
    ok = subprocess.run([python, "-c", "import sae_lens"], capture_output=True).returncode == 0
    if not ok:
        sys.exit(f"wide.py: --saelens-python {python} cannot import sae_lens")
    return python


def curves(steps: int, n: int, m: int, d: int, k: int, dtype: str = "float32") -> dict:
    """Train the sparse and the dense path on the same batches; the largest gaps per step."""
    import numpy as np

    from npsae.metrics import ActivationStats
    from npsae.model import SparseAutoencoder
    from npsae.optim import Adam
    from npsae.sparse_kernels import training_path

    data = synthetic_batch(m * 8, d, seed=2).astype(dtype)
    runs = {}
    for sparsity in SPARSITIES:
        for path in ("sparse", "dense"):
            model = SparseAutoencoder(
                d, n, hidden="relu", output="linear", recon="mse", sparsity=sparsity, k=k,
                seed=0, aux_k=64, dead_after=4 * m, dtype=dtype,
            )  # fmt: skip
            training_path(model, path == "sparse")
            optimizer, rows = Adam(), []
            for t in range(steps):
                X = data[(t % 8) * m : (t % 8 + 1) * m]
                loss, grads, cache = model.forward_backward(X, check=False)
                optimizer.step(model.params, grads)
                model.update_statistics(cache.H)
                stats = ActivationStats(n, 0.0)
                stats.update(cache.H, cache.h_sum)
                dead = float(model.dead_units().mean())
                rows.append((loss["total"], stats.l0, dead))
            runs[sparsity, path] = np.array(rows)
    gaps = {}
    for sparsity in SPARSITIES:
        s, dn = runs[sparsity, "sparse"], runs[sparsity, "dense"]
        rel = np.abs(s[:, 0] - dn[:, 0]) / np.abs(dn[:, 0])
        gaps[sparsity] = {
            "loss_rel": float(rel.max()),
            "first_step_above_1e-6": int(np.argmax(rel > 1e-6)) + 1 if (rel > 1e-6).any() else None,
            "l0": float(np.max(np.abs(s[:, 1] - dn[:, 1]))),
            "dead": float(np.max(np.abs(s[:, 2] - dn[:, 2]))),
            "final_loss": float(s[-1, 0]),
            "first_loss": float(s[0, 0]),
        }
    return gaps


def profile(n: int, sparsity: str, args) -> dict:
    """Milliseconds of each part of the sparse step (best of ``args.steps`` + 1 runs each):
    the dense product X W1 alone, the encoder (Z1 in blocks and the selection), the sparse
    decoder, dZ1 at the kept entries, the weight gradients, Adam, and the whole
    ``forward_backward``."""
    import numpy as np

    from npsae import sparse_kernels as sk
    from npsae.model import SparseAutoencoder
    from npsae.optim import Adam

    d, k, m = args.d_in, args.k, args.batch
    X = synthetic_batch(m, d, seed=1)
    model = SparseAutoencoder(
        d, n, hidden="relu", output="linear", recon="mse", sparsity=sparsity, k=k, seed=0
    )
    sk.training_path(model, True)
    p, optimizer = model.params, Adam()
    grads = model.forward_backward(X, check=False).grads
    optimizer.step(p, grads)
    Z = np.empty((m, n), np.float32)
    block = np.empty((m, sk.column_block(m, n, 4 * k)), np.float32)

    def encode():
        select = sk.encode_batch_top_k_blocked if sparsity == "batchtopk" else sk.encode_top_k
        return select(X, p["W1"], p["b1"], k, block)

    H, Z2 = encode(), np.empty((m, d), np.float32)
    dZ1 = sk.sparse_hidden_backward(H, Z2, p["W2"], np.zeros(n))
    parts = {
        "X W1": lambda: np.dot(X, p["W1"], out=Z),
        "encode": encode,
        "decode": lambda: sk.sparse_decode(H, p["W2"], Z2),
        "dZ1": lambda: sk.sparse_hidden_backward(H, Z2, p["W2"], np.zeros(n)),
        "dW1 db1 dW2": lambda: sk.sparse_weight_grads(H, dZ1, X, Z2),
        "Adam": lambda: optimizer.step(p, grads),
        "forward_backward": lambda: model.forward_backward(X, check=False),
    }
    times = {}
    for name, f in parts.items():
        best = float("inf")
        for _ in range(args.steps + 1):
            t0 = time.perf_counter()
            f()
            best = min(best, time.perf_counter() - t0)
        times[name] = 1000 * best
    return times


def figure(results: dict, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
    for ax, sparsity in zip(axes, SPARSITIES, strict=True):
        for impl in IMPLS:
            pts = sorted(
                (n, statistics.median(v["rows_per_s"]))
                for (i, s, n), v in results.items()
                if i == impl and s == sparsity
            )
            if pts:
                ax.plot(*zip(*pts, strict=True), marker="o", label=LABELS[impl])
        ax.set_xscale("log", base=2)
        widths = sorted({n for (_, s, n) in results if s == sparsity})
        ax.set_xticks(widths, [f"{n:,}" for n in widths])
        ax.minorticks_off()
        ax.set_yscale("log")
        ax.set_xlabel("latents")
        ax.set_title(sparsity)
        ax.grid(True, which="both", alpha=0.3)
    axes[0].set_ylabel("rows / s (median over rounds)")
    axes[1].legend()
    fig.tight_layout()
    tmp = path + ".tmp.png"
    fig.savefig(tmp, dpi=120)
    os.replace(tmp, path)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--worker", nargs=3, metavar=("IMPL", "SPARSITY", "N"), help=argparse.SUPPRESS)
    p.add_argument("--latents", type=int, nargs="*", default=list(LATENTS), help="none: no timings")
    p.add_argument("--sparsity", nargs="+", choices=SPARSITIES, default=list(SPARSITIES))
    p.add_argument("--impls", nargs="+", choices=IMPLS, default=list(IMPLS))
    p.add_argument("--dense-max", type=int, default=16384, help="widest model for 'dense'")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--steps", type=int, default=2, help="steps per implementation per round")
    p.add_argument("--d-in", type=int, default=512)
    p.add_argument("--k", type=int, default=32)
    p.add_argument("--batch", type=int, default=4096)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--saelens-python", default=None)
    p.add_argument("--curves", action="store_true", help="also the 200-step curve check")
    p.add_argument("--dtype", choices=("float32", "float64"), default="float32", help="of --curves")
    p.add_argument("--quick", action="store_true", help="a short run to try the script")
    p.add_argument(
        "--profile", action="store_true", help="only the parts of the sparse step, in ms"
    )
    p.add_argument("--json", default=None, help="write the results here")
    p.add_argument("--figure", default=None, help="rows/s against latents (e.g. bench/wide.png)")
    args = p.parse_args(argv)
    for name in THREADS_ENV:
        os.environ[name] = str(args.threads)
    if args.worker:
        impl, sparsity, n = args.worker
        worker(impl, sparsity, int(n), args.d_in, args.k, args.batch, args.threads)
        return 0
    if args.quick:
        args.latents, args.rounds, args.steps, args.batch = [4096, 8192], 1, 1, 1024
    if args.profile:
        for n in args.latents:
            for sparsity in args.sparsity:
                times = profile(n, sparsity, args)
                cells = "  ".join(f"{name} {ms:.0f}" for name, ms in times.items())
                print(f"{sparsity:9s} {n:6d}  {cells}", flush=True)
        return 0
    saelens = _saelens_python(args.saelens_python)
    impls = [i for i in args.impls if i != "saelens" or saelens]
    if "saelens" in args.impls and not saelens:
        print("(no --saelens-python: the saelens column is left out)")
    load = os.getloadavg()
    print(f"load average before: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}", flush=True)
    results: dict = {}
    for n in args.latents:
        for sparsity in args.sparsity:
            workers = [
                Worker(saelens if i == "saelens" else sys.executable, i, sparsity, n, args)
                for i in impls
                if not (i == "dense" and n > args.dense_max)
            ]
            for w in workers:
                results[w.name] = {"rows_per_s": [], "seconds": []}
            for _ in range(args.rounds):
                for w in workers:
                    s = w.run(args.steps) / args.steps
                    results[w.name]["seconds"].append(s)
                    results[w.name]["rows_per_s"].append(args.batch / s)
            for w in workers:
                results[w.name].update(w.close())
            report(results, sparsity, n)
    load = os.getloadavg()
    print(f"load average after: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    out = {
        "results": [
            {"impl": i, "sparsity": s, "latents": n, **v} for (i, s, n), v in results.items()
        ]
    }
    if args.curves:
        steps = 20 if args.quick else 200
        out["curves"] = curves(steps, 2048, 512, args.d_in, args.k, args.dtype)
        for sparsity, g in out["curves"].items():
            print(
                f"curves {sparsity}, {args.dtype}, {steps} steps: loss {g['first_loss']:.4g} -> "
                f"{g['final_loss']:.4g}; largest gap sparse vs dense: loss {g['loss_rel']:.2e} "
                f"(relative; first above 1e-6 at step {g['first_step_above_1e-6']}), "
                f"L0 {g['l0']:.3g}, dead fraction {g['dead']:.3g}"
            )
    if args.json:
        with open(args.json + ".tmp", "w") as f:
            json.dump(out, f, indent=1)
        os.replace(args.json + ".tmp", args.json)
    if args.figure:
        figure(results, args.figure)
    return 0


def report(results: dict, sparsity: str, n: int) -> None:
    """One line per implementation at this width, and the goals' ratios (within rounds)."""
    rows = {i: v for (i, s, w), v in results.items() if s == sparsity and w == n}
    for impl, v in rows.items():
        mem = v["peak"] / v["state"]
        print(
            f"{sparsity:9s} {n:6d} {impl:8s} {statistics.median(v['rows_per_s']):9.0f} rows/s  "
            f"{1000 * statistics.median(v['seconds']):8.0f} ms/step  "
            f"peak {v['peak'] / 2**20:7.0f} MiB = {mem:.2f} x params+Adam"
        )
    sp = rows.get("sparse")
    for other in ("saelens", "xw1", "dense"):
        if sp and other in rows:
            ratio = [a / b for a, b in zip(rows[other]["seconds"], sp["seconds"], strict=True)]
            word = "step / X W1" if other == "xw1" else f"speed-up over {other}"
            value = 1 / statistics.median(ratio) if other == "xw1" else statistics.median(ratio)
            print(f"{'':16s} sparse {word}: {value:.2f}")
    sys.stdout.flush()


if __name__ == "__main__":
    sys.exit(main())
