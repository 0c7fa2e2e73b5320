"""Figures of a sparse autoencoder: reconstructions, filters, activation statistics, history.

Every function takes arrays, draws with matplotlib's object-oriented API and returns the
``matplotlib.figure.Figure``; nothing is shown and no pyplot state is touched, so the functions
work headless (no display) and a figure is freed as soon as the caller drops it. Pass ``ax=`` to
draw into an existing Axes instead; the function then returns that Axes' figure.

Save a figure with ``fig.savefig("filters.png")``, or display it in a notebook by evaluating it.

Notation: ``X, X_hat: (m, n_in)`` inputs and reconstructions (or images ``(m, h, w)``),
``H: (m, n_hidden)`` hidden activations, ``W1: (n_in, n_hidden)``, ``W2: (n_hidden, n_in)``,
rho^_j = (1/m) sum_i H_ij unit j's mean activation (drawn by ``rho_hat``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import Colormap
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

# The loss columns ``history`` draws, in drawing order, with their legend labels.
HISTORY_TERMS = (
    ("loss", "total loss"),
    ("recon", "reconstruction"),
    ("sparsity", "sparsity penalty"),
    ("decay", "weight decay"),
    ("val_loss", "validation loss"),
    ("aux", "AuxK (dead units)"),
)
# A fixed colour per term, so that a term looks the same whichever others are switched off.
_HISTORY_COLOURS = {key: f"C{i}" for i, (key, _) in enumerate(HISTORY_TERMS)}


# --------------------------------------------------------------------------- helpers


def new_figure(figsize: tuple[float, float]) -> Figure:
    """A constrained-layout Figure with an Agg canvas, independent of pyplot.

    The Agg canvas lets ``fig.canvas.draw()`` and ``fig.canvas.buffer_rgba()`` work without a
    display or a chosen backend.
    """
    fig = Figure(figsize=figsize, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _axes(ax: Axes | None, figsize: tuple[float, float]) -> tuple[Figure, Axes]:
    if ax is not None:
        return ax.figure, ax
    fig = new_figure(figsize)
    return fig, fig.add_subplot()


def _gray_with_gaps() -> Colormap:
    """Gray colour map that draws NaN (the gaps between tiles) as white."""
    from matplotlib import colormaps

    return colormaps["gray"].with_extremes(bad="white")


def grid_shape(k: int, n_cols: int | None = None) -> tuple[int, int]:
    """(rows, cols) of a near-square grid for ``k`` tiles: cols = ceil(sqrt(k)) unless given."""
    if k < 1:
        raise ValueError(f"need at least one tile, got {k}")
    if n_cols is None:
        n_cols = math.ceil(math.sqrt(k))
    if n_cols < 1:
        raise ValueError(f"n_cols={n_cols} must be a positive integer")
    n_cols = min(n_cols, k)
    return math.ceil(k / n_cols), n_cols


def mosaic(tiles: np.ndarray, n_cols: int | None = None, gap: int = 1) -> np.ndarray:
    """Assemble ``tiles: (k, h, w)`` into one image, row by row, in a grid of ``n_cols`` columns.

    Tile ``j`` sits at grid cell ``(j // n_cols, j % n_cols)``, i.e. at pixel rows
    ``r (h + gap) : r (h + gap) + h`` and columns ``c (w + gap) : c (w + gap) + w``. The gaps and
    unused cells are NaN (drawn as the background colour).

    Returns a float64 array ``(rows (h + gap) - gap, cols (w + gap) - gap)``, where
    ``(rows, cols) = grid_shape(k, n_cols)``.
    """
    tiles = np.asarray(tiles, dtype=np.float64)
    if tiles.ndim != 3:
        raise ValueError(f"tiles must have shape (k, h, w), got {tiles.shape}")
    if gap < 0:
        raise ValueError(f"gap={gap} must be >= 0")
    k, h, w = tiles.shape
    rows, cols = grid_shape(k, n_cols)
    out = np.full((rows * (h + gap) - gap, cols * (w + gap) - gap), np.nan)
    for j in range(k):
        r, c = divmod(j, cols)
        out[r * (h + gap) : r * (h + gap) + h, c * (w + gap) : c * (w + gap) + w] = tiles[j]
    return out


def infer_shape(n_in: int) -> tuple[int, int]:
    """An image shape ``(h, w)`` with ``h * w = n_in``: square when ``n_in`` is a square
    (784 -> (28, 28), 64 -> (8, 8)), else the most nearly square factorisation."""
    h = math.isqrt(n_in)
    while n_in % h:
        h -= 1
    return h, n_in // h


def _pixels(shape: Sequence[int]) -> int:
    if len(shape) != 2 or any(int(s) < 1 for s in shape):
        raise ValueError(f"shape={tuple(shape)} must be an image shape (height, width)")
    return int(shape[0]) * int(shape[1])


def _as_images(A: Any, name: str, shape: Sequence[int]) -> np.ndarray:
    """``A`` as images (m, h, w): rows (m, h*w) are reshaped, images are kept as they are."""
    A = np.asarray(A)
    if A.ndim == 3:
        return A
    if A.ndim != 2:
        raise ValueError(
            f"{name} must be rows (m, n_in) or images (m, height, width), got shape {A.shape}"
        )
    if A.shape[1] != _pixels(shape):
        raise ValueError(
            f"{name} has rows of {A.shape[1]} values, which do not form {shape[0]}x{shape[1]} "
            f"images ({_pixels(shape)} pixels); pass shape= the image shape"
        )
    return A.reshape(len(A), int(shape[0]), int(shape[1]))


def _hidden(H: Any) -> np.ndarray:
    H = np.asarray(H, dtype=np.float64)
    if H.ndim != 2:
        raise ValueError(f"H must have shape (m, n_hidden), got {H.shape}")
    if H.shape[0] == 0 or H.shape[1] == 0:
        raise ValueError(f"H is empty: shape {H.shape}")
    return H


def _image_axes(ax: Axes) -> None:
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)


# --------------------------------------------------------------------------- figures


def reconstructions(
    X: np.ndarray,
    X_hat: np.ndarray,
    n: int = 10,
    shape: Sequence[int] = (28, 28),
    ax: Axes | None = None,
    title: str | None = "Inputs and their reconstructions",
) -> Figure:
    """The first ``n`` inputs (top row) above their reconstructions (bottom row).

    ``X, X_hat``: rows ``(m, n_in)`` with ``n_in = prod(shape)``, or images ``(m, h, w)``; both
    the same shape. Drawn as one image on a common gray scale (black = min(0, lowest value),
    white = max(1, highest value)), so faint reconstructions look faint.
    """
    Xi = _as_images(X, "X", shape)
    Ri = _as_images(X_hat, "X_hat", shape)
    if Xi.shape != Ri.shape:
        raise ValueError(
            f"X_hat {np.shape(X_hat)} must have the same shape as X {np.shape(X)}: "
            "one reconstruction per input"
        )
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n={n!r} must be a positive integer")
    if n > len(Xi):
        raise ValueError(f"n={n} but X has only {len(Xi)} samples")
    pair = np.concatenate([Xi[:n], Ri[:n]]).astype(np.float64)
    h, w = pair.shape[1:]
    fig, ax = _axes(ax, (max(3.0, 0.8 * n * w / h), 2.0))
    image = mosaic(pair, n_cols=n)
    vmin, vmax = min(0.0, np.nanmin(image)), max(1.0, np.nanmax(image))
    ax.imshow(image, cmap=_gray_with_gaps(), vmin=vmin, vmax=vmax, interpolation="nearest")
    _image_axes(ax)
    ax.set_yticks([(h - 1) / 2, h + 1 + (h - 1) / 2], ["input", "recon"])
    ax.tick_params(axis="y", length=0)
    if title:
        ax.set_title(title)
    return fig


def filters(
    W: np.ndarray,
    shape: Sequence[int] = (28, 28),
    axis: int | None = None,
    n_cols: int | None = None,
    gap: int = 1,
    ax: Axes | None = None,
    title: str | None = None,
) -> Figure:
    """One tile per hidden unit, in a near-square grid, as UFLDL's ``display_network`` draws.

    Works for encoder weights ``W1: (n_in, n_hidden)``, tile j = column j (``axis=1``), and
    decoder weights ``W2: (n_hidden, n_in)``, tile j = row j (``axis=0``), where
    ``n_in = prod(shape)``. With ``axis=None`` the dimension of size ``n_in`` is found; when
    both are (a square W) the columns are taken. Each tile is divided by its largest absolute
    weight, so gray is 0, white the tile's most positive and black its most negative weight.
    The grid is ``grid_shape(n_hidden, n_cols)``; the mosaic is one image (one Axes).
    """
    W = np.asarray(W, dtype=np.float64)
    if W.ndim != 2:
        raise ValueError(f"W must be a weight matrix (2-D), got shape {W.shape}")
    pixels = _pixels(shape)
    if axis is None:
        if W.shape[0] == pixels:
            axis = 1
        elif W.shape[1] == pixels:
            axis = 0
        else:
            raise ValueError(
                f"W has shape {W.shape} but neither dimension is {pixels}, the pixels of a "
                f"{shape[0]}x{shape[1]} image; pass shape= the image shape of the input"
            )
    if axis not in (0, 1):
        raise ValueError(f"axis={axis!r} must be 0 (tiles are rows) or 1 (tiles are columns)")
    units = W.T if axis == 1 else W
    if units.shape[1] != pixels:
        raise ValueError(
            f"W has shape {W.shape}: with axis={axis} each tile has {units.shape[1]} values, "
            f"not the {pixels} pixels of a {shape[0]}x{shape[1]} image"
        )
    scale = np.abs(units).max(axis=1, keepdims=True)
    # An all-zero unit would divide 0 by 0; it stays 0 (gray) instead.
    tiles = np.divide(units, scale, out=np.zeros_like(units), where=scale > 0)
    image = mosaic(tiles.reshape(-1, int(shape[0]), int(shape[1])), n_cols=n_cols, gap=gap)
    # About 50 mosaic pixels per inch, within a size that fits a report page.
    size = min(8.0, max(4.0, image.shape[1] / 50))
    aspect = image.shape[0] / image.shape[1]
    fig, ax = _axes(ax, (size, max(1.5, size * aspect + 0.4)))
    ax.imshow(image, cmap=_gray_with_gaps(), vmin=-1, vmax=1, interpolation="nearest")
    _image_axes(ax)
    if title is None:
        which = "W1 columns" if axis == 1 else "W2 rows"
        title = f"Filters of {len(tiles)} unit{'s' if len(tiles) > 1 else ''} ({which})"
    if title:
        ax.set_title(title)
    return fig


def rho_hat(
    H: np.ndarray, rho: float | None = None, ax: Axes | None = None, title: str | None = None
) -> Figure:
    """Bar chart of each unit's mean activation rho^_j = (1/m) sum_i H_ij, with a dashed line at
    the target ``rho`` when given. ``H: (m, n_hidden)``."""
    H = _hidden(H)
    rho_hat = H.mean(axis=0)
    fig, ax = _axes(ax, (7.0, 3.0))
    ax.bar(np.arange(len(rho_hat)), rho_hat, width=1.0 if len(rho_hat) > 30 else 0.8)
    if rho is not None:
        ax.axhline(rho, color="tab:red", linestyle="--", label=f"target rho = {rho:g}")
        ax.legend(loc="upper right")
    ax.set_xlim(-0.5, len(rho_hat) - 0.5)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("hidden unit j")
    ax.set_ylabel("mean activation")
    ax.set_title(title or f"Mean activation of each hidden unit over {len(H)} samples")
    return fig


def codes(
    H: np.ndarray,
    labels: np.ndarray | None = None,
    units: Sequence[int] = (0, 1),
    ax: Axes | None = None,
    title: str | None = None,
) -> Figure:
    """Scatter of two hidden units' activations, one point per sample, coloured by label.

    ``H: (m, n_hidden)``; ``labels: (m,)`` (e.g. digits) or None; ``units``: the two unit
    indices for the x and y axes, each in ``[0, n_hidden)``.
    """
    H = _hidden(H)
    if len(units) != 2:
        raise ValueError(f"units={tuple(units)} must name two hidden units, e.g. (0, 1)")
    for u in units:
        if isinstance(u, bool) or not isinstance(u, (int, np.integer)):
            raise ValueError(f"units={tuple(units)}: {u!r} is not an integer unit index")
        if not 0 <= u < H.shape[1]:
            raise ValueError(
                f"units={tuple(units)}: unit {u} is out of range; H has {H.shape[1]} hidden "
                f"units, indices 0 to {H.shape[1] - 1}"
            )
    i, j = (int(u) for u in units)
    fig, ax = _axes(ax, (5.0, 4.5))
    style = {"s": 8, "alpha": 0.6, "linewidths": 0}
    if labels is None:
        ax.scatter(H[:, i], H[:, j], **style)
    else:
        labels = np.asarray(labels)
        if labels.shape != (len(H),):
            raise ValueError(
                f"labels must have shape ({len(H)},), one per row of H, got {labels.shape}"
            )
        classes = np.unique(labels)
        colours = _palette(len(classes))
        for colour, c in zip(colours, classes, strict=True):
            pick = labels == c
            ax.scatter(H[pick, i], H[pick, j], color=colour, label=str(c), **style)
        ax.legend(title="label", loc="center left", bbox_to_anchor=(1.0, 0.5), markerscale=2)
    ax.set_xlabel(f"activation of unit {i}")
    ax.set_ylabel(f"activation of unit {j}")
    ax.set_title(title or f"Codes: unit {i} against unit {j}")
    return fig


def _palette(k: int) -> list:
    from matplotlib import colormaps

    cmap = colormaps["tab10" if k <= 10 else "tab20" if k <= 20 else "viridis"]
    if k <= 20:
        return [cmap(c) for c in range(k)]
    return [cmap(t) for t in np.linspace(0, 1, k)]


def activation_density(
    H: np.ndarray, threshold: float = 0.0, ax: Axes | None = None, title: str | None = None
) -> Figure:
    """Histogram over hidden units of log10 of each unit's firing frequency, the fraction of
    samples with ``H > threshold``. ``H: (m, n_hidden)``.

    Units that never fire (log10 0 = -inf) cannot be placed on the axis: their number is given
    in the title and the legend instead. 0 on the axis is a unit firing on every sample.
    """
    H = _hidden(H)
    m, n_hidden = H.shape
    freq = np.count_nonzero(H > threshold, axis=0) / m
    alive = freq > 0
    dead = n_hidden - int(alive.sum())
    fig, ax = _axes(ax, (6.0, 3.5))
    # The lowest possible frequency is 1/m; the bins start at the decade at or below it.
    low = min(-1.0, math.floor(math.log10(1 / m)))
    bins = np.linspace(low, 0.0, 31)
    if alive.any():
        ax.hist(np.log10(freq[alive]), bins=bins, label=f"{int(alive.sum())} units that fire")
    ax.plot([], [], " ", label=f"{dead} dead units (never fire)")
    ax.legend(loc="upper left")
    ax.set_xlim(low, 0.05 * -low)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel(f"log10 firing frequency (fraction of {m} samples with H > {threshold:g})")
    ax.set_ylabel("hidden units")
    ax.set_title(title or f"Firing frequency of {n_hidden} units: {dead} dead")
    return fig


def history(hist: Any, ax: Axes | None = None, title: str | None = "Training history") -> Figure:
    """Loss terms per epoch: total, reconstruction, sparsity, weight decay and validation loss.

    ``hist`` is anything with ``hist[key]`` (a sequence per epoch) and ``key in hist``: a dict
    of lists or a ``npsae.history.History``. Missing columns, and columns that are all NaN
    (val_loss without validation data) or all zero (a term that is switched off), are skipped.
    The y axis is logarithmic when every value drawn is positive.
    """
    series = []
    lengths = set()
    for key, label in HISTORY_TERMS:
        if key not in hist:
            continue
        values = np.asarray(hist[key], dtype=np.float64)
        if values.ndim != 1:
            raise ValueError(
                f"hist[{key!r}] must be a sequence of numbers, got shape {values.shape}"
            )
        lengths.add(len(values))
        if len(values) and not np.all(np.isnan(values) | (values == 0)):
            series.append((key, label, values))
    if not lengths:
        names = ", ".join(key for key, _ in HISTORY_TERMS)
        raise ValueError(f"hist has none of the columns {names}; nothing to plot")
    if len(lengths) > 1:
        raise ValueError(f"hist's columns have different lengths {sorted(lengths)}")
    (n,) = lengths
    epochs = np.asarray(hist["epoch"]) if "epoch" in hist else np.arange(1, n + 1)
    if len(epochs) != n:
        raise ValueError(f"hist['epoch'] has {len(epochs)} entries for {n} epochs of losses")
    fig, ax = _axes(ax, (6.0, 3.8))
    marker = "o" if n <= 30 else None
    for key, label, values in series:
        style = {"color": _HISTORY_COLOURS[key], "linewidth": 2.2 if key == "loss" else 1.4}
        if key == "val_loss":
            style["linestyle"] = "--"
        ax.plot(epochs, values, marker=marker, markersize=3, label=label, **style)
    drawn = np.concatenate([v[np.isfinite(v)] for _, _, v in series]) if series else np.ones(1)
    if drawn.size and np.all(drawn > 0):
        ax.set_yscale("log")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    if series:
        ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5))
    ax.grid(True, which="major", alpha=0.3)
    if title:
        ax.set_title(title)
    return fig


def feature_page(
    H: np.ndarray,
    X: np.ndarray,
    W2: np.ndarray,
    shape: Sequence[int] = (28, 28),
    units: Sequence[int] | None = None,
    top: int = 8,
    threshold: float = 0.0,
    max_units: int = 24,
    title: str | None = None,
) -> Figure:
    """One row per hidden unit: its decoder row, then the ``top`` inputs it fires most on.

    ``H: (m, n_hidden)`` the codes of the inputs ``X: (m, n_in)`` (or images ``(m, h, w)``),
    ``W2: (n_hidden, n_in)``. Each row is labelled with the unit's firing density
    d_j = #{i : H_ij > threshold} / m. ``units`` chooses the rows; by default the live units
    (d_j > 0), most frequent first, at most ``max_units`` of them. The decoder row is scaled
    by its largest absolute weight (gray 0, white positive, black negative), the inputs are
    drawn on [0, 1]; an input on which the unit is silent is left out of its row.
    """
    H = _hidden(H)
    Xi = _as_images(X, "X", shape)
    W2 = np.asarray(W2, dtype=np.float64)
    if len(Xi) != len(H):
        raise ValueError(f"X has {len(Xi)} samples but H has {len(H)}: one code per input")
    if W2.shape != (H.shape[1], _pixels(shape)):
        raise ValueError(f"W2 must have shape ({H.shape[1]}, {_pixels(shape)}), got {W2.shape}")
    if isinstance(top, bool) or not isinstance(top, (int, np.integer)) or top < 1:
        raise ValueError(f"top={top!r} must be a positive integer")
    density = np.count_nonzero(H > threshold, axis=0) / len(H)
    if units is None:
        live = np.flatnonzero(density > 0)
        units = live[np.argsort(-density[live], kind="stable")][:max_units]
    units = [int(u) for u in units]
    if not units:
        raise ValueError("no unit to show: every unit is dead on these inputs")
    bad = [u for u in units if not 0 <= u < H.shape[1]]
    if bad:
        raise ValueError(f"units {bad} do not exist: the model has {H.shape[1]} hidden units")
    top = min(top, len(H))
    h, w = Xi.shape[1:]
    fig = new_figure((1.0 + 0.9 * (top + 1), 0.3 + 0.95 * len(units)))
    grid = fig.add_gridspec(len(units), 2, width_ratios=(1, top))
    for row, unit in enumerate(units):
        order = np.argsort(-H[:, unit], kind="stable")[:top]
        order = order[H[order, unit] > threshold]
        decoder = W2[unit].reshape(h, w)
        scale = np.abs(decoder).max()
        ax = fig.add_subplot(grid[row, 0])
        ax.imshow(decoder / scale if scale > 0 else decoder, cmap="gray", vmin=-1, vmax=1)
        _image_axes(ax)
        ax.set_ylabel(f"unit {unit}\n{density[unit]:.1%}", rotation=0, ha="right", va="center")
        ax = fig.add_subplot(grid[row, 1])
        tiles = np.full((top, h, w), np.nan)
        tiles[: len(order)] = Xi[order]
        ax.imshow(mosaic(tiles, n_cols=top), cmap=_gray_with_gaps(), vmin=0, vmax=1,
                  interpolation="nearest")  # fmt: skip
        _image_axes(ax)
        if row == 0:
            fig.axes[0].set_title("decoder row", fontsize="small")
            ax.set_title(f"the {top} inputs it fires most on", fontsize="small")
    fig.suptitle(
        title or f"{len(units)} of {H.shape[1]} units (label: firing density on {len(H)} inputs)"
    )
    return fig


def pareto(rows: Sequence[dict], title: str | None = "Sparsity against reconstruction") -> Figure:
    """The Pareto plot of a sweep: fraction of variance unexplained against L0, and the dead
    fraction against L0, one line per variant.

    ``rows``: dicts with keys ``variant``, ``l0`` (mean firing units per sample), ``fvu``
    (1 - fraction of variance explained) and ``dead_fraction``, such as the rows of
    ``npsae.sweep.read_results``. Lower and further left is better on the left panel: the same
    reconstruction with fewer units on. Both L0 and FVU are drawn on log axes.
    """
    if not rows:
        raise ValueError("rows is empty: no point to plot")
    missing = {"variant", "l0", "fvu", "dead_fraction"} - set(rows[0])
    if missing:
        raise ValueError(f"rows lack the keys {sorted(missing)}")
    fig = new_figure((10.0, 4.0))
    left, right = fig.subplots(1, 2)
    variants = list(dict.fromkeys(str(r["variant"]) for r in rows))
    for i, variant in enumerate(variants):
        points = sorted((r for r in rows if str(r["variant"]) == variant), key=lambda r: r["l0"])
        l0 = np.array([r["l0"] for r in points], dtype=np.float64)
        style = {"color": f"C{i}", "marker": "o", "label": variant}
        left.plot(l0, [r["fvu"] for r in points], **style)
        right.plot(l0, [r["dead_fraction"] for r in points], **style)
    for ax in (left, right):
        ax.set_xscale("log")
        ax.set_xlabel("L0 (mean units firing per sample)")
        ax.grid(True, which="both", alpha=0.3)
    if all(r["fvu"] > 0 for r in rows):
        left.set_yscale("log")
    left.set_ylabel("fraction of variance unexplained")
    right.set_ylabel("dead fraction (units never firing)")
    right.set_ylim(-0.03, 1.03)
    left.legend()
    if title:
        fig.suptitle(title)
    return fig
