"""How much memory a model needs, and how much the machine has free: estimated before
allocating, so that a size that cannot fit is refused with a message instead of a MemoryError
(or, worse, the kernel's out-of-memory killer) halfway through.
"""

from __future__ import annotations

import os

# Adam keeps two moments per parameter; with the parameters and the gradients that is four.
_COPIES_PER_PARAMETER = 4


def model_bytes(n_in: int, n_hidden: int, batch_size: int, itemsize: int = 4) -> int:
    """Bytes a model ``n_in -> n_hidden -> n_in`` needs to train on batches of ``batch_size``.

    Parameters P = 2 n_in n_hidden + n_hidden + n_in, each held four times (parameters,
    gradients, Adam's two moments) in ``itemsize`` bytes; the weights are first drawn in
    float64 (8 bytes); a batch's activations, pre-activations and their gradients take about
    3 (n_hidden + n_in) values per sample. A lower bound: what cannot fit, cannot fit.
    """
    params = 2 * n_in * n_hidden + n_hidden + n_in
    draw = 8 * n_in * n_hidden  # one float64 weight matrix, before it is cast
    batch = 3 * batch_size * (n_hidden + n_in)
    return (_COPIES_PER_PARAMETER * params + batch) * itemsize + draw


def available_bytes() -> int | None:
    """Memory that can be allocated now: MemAvailable plus free swap (Linux), else the free
    physical pages where the system reports them, else None (unknown)."""
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            info = {k: v for k, _, v in (line.partition(":") for line in f)}
        return sum(int(info[key].split()[0]) * 1024 for key in ("MemAvailable", "SwapFree"))
    except (OSError, KeyError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def format_bytes(n: int) -> str:
    """``1536`` -> ``"1.5 KiB"``: powers of 1024, one decimal, as NumPy's own messages."""
    units = ("bytes", "KiB", "MiB", "GiB", "TiB")
    power = 0
    while n >= 1024 ** (power + 1) and power < len(units) - 1:
        power += 1
    return f"{n} bytes" if power == 0 else f"{n / 1024**power:.1f} {units[power]}"
