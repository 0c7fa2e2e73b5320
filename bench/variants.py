"""Compare the sparsity variants on MNIST at a matched L0 (issue 9's table, issue 18's variants).

    python bench/variants.py [--epochs 10] [--target-l0 13] [--limit N] [--variants NAME ...]

KL (the Keras tutorial's settings), TopK and BatchTopK (k = target), with or without AuxK, need
no tuning to reach a given L0; for L1, decoder-weighted L1 and JumpReLU a few values of beta are
tried and the run whose test L0 is closest to the target is reported. Prints one row per run:
test L0, fraction of variance explained, dead units and the test mse, plus seconds per epoch.
"""

from __future__ import annotations

import argparse
import time

from npsae import Adam, SparseAutoencoder, as_float, evaluate, fit, load_mnist, metrics

# The mse is a mean over 784 pixels, so L1 weights that leave the codes alive are small.
BETAS = (1e-4, 3e-4, 1e-3)
# JumpReLU's L0 weights, and its thresholds' start and kernel width: a pre-activation of a
# 784-pixel image is of order 1, and log-thresholds moved by Adam change by about lr per step.
JUMPRELU = dict(bandwidth=0.5, theta_init=1.0)
JUMPRELU_BETAS = (1e-3, 1e-2, 1e-1)
# AuxK as Gao et al.: k_aux half the units, alpha 1/32.
AUXK = dict(aux_k=32, aux_alpha=1 / 32)
VARIANTS = (
    "kl", "topk", "batchtopk", "topk-auxk", "batchtopk-auxk", "jumprelu", "l1", "l1-decoder",
)  # fmt: skip


def measure(label: str, epochs: int, X, X_test, **config) -> dict:
    model = SparseAutoencoder(784, 64, hidden="relu", **config)
    start = time.perf_counter()
    fit(model, X, epochs, optimizer=Adam(1e-3), verbose=0)
    seconds = (time.perf_counter() - start) / epochs
    T = as_float(X_test)
    H = model.encode(T)
    counts = metrics.fire_counts(H, 0.0)
    row = {
        "variant": label,
        "L0": metrics.l0(H, 0.0),
        "FVE": metrics.fraction_variance_explained(T, model.decode(H)),
        "dead": metrics.dead_fraction(counts),
        "test mse": evaluate(model, X_test)["mse"],
        "s/epoch": seconds,
    }
    print(
        f"{row['variant']:<28} {row['L0']:6.1f} {row['FVE']:7.3f} {row['dead']:6.1%} "
        f"{row['test mse']:9.5f} {row['s/epoch']:8.2f}",
        flush=True,
    )
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--target-l0", type=int, default=13)
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--variants", nargs="+", choices=VARIANTS, default=list(VARIANTS))
    args = parser.parse_args()
    X, _ = load_mnist("train")
    X = X[: args.limit]
    X_test, _ = load_mnist("test")
    print(f"{'variant':<28} {'L0':>6} {'FVE':>7} {'dead':>6} {'test mse':>9} {'s/epoch':>8}")
    k = args.target_l0
    for name in args.variants:
        if name == "kl":
            measure("kl rho 0.05 beta 0.1", args.epochs, X, X_test, sparsity="kl")
        elif name in ("topk", "batchtopk"):
            measure(f"{name} k={k}", args.epochs, X, X_test, sparsity=name, k=k)
        elif name.endswith("-auxk"):
            sparsity = name.removesuffix("-auxk")
            label = f"{sparsity} k={k} auxk {AUXK['aux_k']}"
            measure(label, args.epochs, X, X_test, sparsity=sparsity, k=k, **AUXK)
        else:
            extra = JUMPRELU if name == "jumprelu" else {}
            rows = [
                measure(
                    f"{name} beta {beta:g}", args.epochs, X, X_test, sparsity=name, beta=beta,
                    **extra,
                )
                for beta in (JUMPRELU_BETAS if name == "jumprelu" else BETAS)
            ]  # fmt: skip
            best = min(rows, key=lambda r: abs(r["L0"] - k))
            print(f"  closest to L0 {k}: {best['variant']}", flush=True)


if __name__ == "__main__":
    main()
