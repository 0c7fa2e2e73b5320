"""npsae.plotting: each figure's content and layout, headless rendering, and argument checks."""

import math

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from npsae import plotting  # noqa: E402
from npsae.history import History  # noqa: E402

RNG = np.random.default_rng(0)


def pixels_of(fig: Figure) -> np.ndarray:
    """The rendered RGB canvas of ``fig``, (height, width, 3)."""
    fig.canvas.draw()
    return np.asarray(fig.canvas.buffer_rgba())[..., :3]


def assert_drawn(fig: Figure) -> None:
    assert isinstance(fig, Figure)
    rgb = pixels_of(fig)
    assert rgb.min() < rgb.max(), "the rendered figure is one colour everywhere"


def shown_image(fig: Figure) -> np.ndarray:
    """The array of the one image drawn in the figure's one Axes."""
    (ax,) = fig.axes
    (image,) = ax.images
    return np.ma.filled(image.get_array().astype(float), np.nan)


def digits(m: int, shape=(28, 28)) -> np.ndarray:
    return RNG.random((m, shape[0] * shape[1])).astype(np.float32)


def test_nothing_goes_through_pyplot():
    import matplotlib.pyplot as plt

    H = RNG.random((50, 5))
    figs = [
        plotting.reconstructions(digits(3), digits(3), n=3),
        plotting.filters(RNG.standard_normal((784, 4))),
        plotting.rho_hat(H, rho=0.1),
        plotting.codes(H),
        plotting.activation_density(H),
        plotting.history({"loss": [3.0, 2.0]}),
    ]
    assert all(isinstance(f, Figure) for f in figs)
    assert plt.get_fignums() == []


# --------------------------------------------------------------------------- reconstructions


def test_reconstructions_put_inputs_above_their_reconstructions():
    X, X_hat = digits(12), digits(12)
    fig = plotting.reconstructions(X, X_hat, n=5)
    image = shown_image(fig)
    assert image.shape == (2 * 28 + 1, 5 * 29 - 1)
    for j in range(5):
        cols = slice(j * 29, j * 29 + 28)
        np.testing.assert_allclose(image[:28, cols], X[j].reshape(28, 28), rtol=1e-6)
        np.testing.assert_allclose(image[29:, cols], X_hat[j].reshape(28, 28), rtol=1e-6)
    assert np.isnan(image[28]).all() and np.isnan(image[:, 28]).all()  # the gaps
    (ax,) = fig.axes
    assert [t.get_text() for t in ax.get_yticklabels()] == ["input", "recon"]
    assert ax.get_xticks().size == 0
    assert_drawn(fig)


def test_reconstructions_take_images_of_any_shape():
    X = RNG.random((4, 8, 8))
    image = shown_image(plotting.reconstructions(X, X * 0.5, n=4))
    assert image.shape == (17, 4 * 9 - 1)
    np.testing.assert_allclose(image[9:17, 9:17], X[1] * 0.5)


@pytest.mark.parametrize(
    "X, X_hat, n, match",
    [
        (digits(5), digits(4), 3, "X_hat .* same shape as X"),
        (digits(5), digits(5), 6, "n=6 but X has only 5 samples"),
        (digits(5), digits(5), 0, "n=0 must be a positive integer"),
        (RNG.random(784), RNG.random(784), 1, "X must be rows .* got shape \\(784,\\)"),
        (RNG.random((5, 100)), RNG.random((5, 100)), 2, "X has rows of 100 values.*shape="),
        (digits(5), RNG.random((5, 8, 8)), 2, "X_hat .* same shape as X"),
    ],
)
def test_reconstructions_refuse_mismatched_arguments(X, X_hat, n, match):
    with pytest.raises(ValueError, match=match):
        plotting.reconstructions(X, X_hat, n=n)


# --------------------------------------------------------------------------- filters


@pytest.mark.parametrize("k, grid", [(1, (1, 1)), (7, (3, 3)), (64, (8, 8)), (196, (14, 14))])
def test_filters_mosaic_has_one_tile_per_unit_in_a_near_square_grid(k, grid):
    W1 = RNG.standard_normal((784, k))
    fig = plotting.filters(W1)
    image = shown_image(fig)
    rows, cols = grid
    assert image.shape == (rows * 29 - 1, cols * 29 - 1)
    for j in range(k):
        r, c = divmod(j, cols)
        tile = image[r * 29 : r * 29 + 28, c * 29 : c * 29 + 28]
        column = W1[:, j].reshape(28, 28)
        # Each tile is its unit's weights divided by their largest absolute value.
        np.testing.assert_allclose(tile, column / np.abs(column).max(), rtol=1e-6)
    empty_cells = rows * cols - k
    assert np.isnan(image).sum() == image.size - k * 28 * 28
    if empty_cells:
        assert np.isnan(image[-28:, -28:]).all()
    assert fig.axes[0].get_title() == f"Filters of {k} unit{'s' * (k > 1)} (W1 columns)"
    assert_drawn(fig)


def test_filters_read_decoder_rows_as_encoder_columns():
    W1 = RNG.standard_normal((784, 10))
    by_column = shown_image(plotting.filters(W1))
    by_row = shown_image(plotting.filters(W1.T.copy()))
    np.testing.assert_array_equal(by_column, by_row)
    np.testing.assert_array_equal(by_row, shown_image(plotting.filters(W1.T, axis=0)))
    assert "W2 rows" in plotting.filters(W1.T).axes[0].get_title()


def test_filters_other_shapes_grids_and_a_silent_unit():
    W = RNG.standard_normal((64, 16))
    W[:, 3] = 0
    image = shown_image(plotting.filters(W, shape=(8, 8), n_cols=8, gap=2))
    assert image.shape == (2 * 10 - 2, 8 * 10 - 2)
    np.testing.assert_array_equal(image[:8, 30:38], 0)  # an all-zero unit stays gray, not NaN


def test_filters_square_weights_are_read_by_columns():
    W = RNG.standard_normal((64, 64))
    image = shown_image(plotting.filters(W, shape=(8, 8)))
    np.testing.assert_allclose(image[:8, :8], W[:, 0].reshape(8, 8) / np.abs(W[:, 0]).max())


@pytest.mark.parametrize(
    "W, kwargs, match",
    [
        (np.zeros((100, 10)), {}, r"W has shape \(100, 10\) but neither dimension is 784"),
        (np.zeros(784), {}, "W must be a weight matrix"),
        (np.zeros((784, 5)), {"axis": 0}, "each tile has 5 values, not the 784 pixels"),
        (np.zeros((784, 5)), {"axis": 2}, "axis=2 must be 0"),
        (np.zeros((784, 5)), {"shape": (28,)}, "must be an image shape"),
    ],
)
def test_filters_refuse_weights_that_do_not_fit_the_shape(W, kwargs, match):
    with pytest.raises(ValueError, match=match):
        plotting.filters(W, **kwargs)


def test_mosaic_and_grid_shape():
    tiles = np.arange(5 * 2 * 3, dtype=float).reshape(5, 2, 3)
    image = plotting.mosaic(tiles, n_cols=2, gap=1)
    assert image.shape == (3 * 3 - 1, 2 * 4 - 1)
    np.testing.assert_array_equal(image[6:8, 0:3], tiles[4])
    assert np.isnan(image[6:8, 4:7]).all()
    assert plotting.grid_shape(10) == (3, 4)
    assert plotting.grid_shape(3, n_cols=10) == (1, 3)
    assert plotting.infer_shape(784) == (28, 28) and plotting.infer_shape(560) == (20, 28)
    assert plotting.infer_shape(7) == (1, 7)


def test_drawing_into_a_given_axes_returns_its_figure():
    fig = plotting.new_figure((8, 3))
    left, right = fig.subplots(1, 2)
    assert plotting.filters(RNG.standard_normal((784, 4)), ax=left) is fig
    assert plotting.rho_hat(RNG.random((10, 4)), ax=right) is fig
    assert len(fig.axes) == 2 and left.images and right.patches
    assert_drawn(fig)


# --------------------------------------------------------------------------- activations


def test_rho_hat_draws_a_bar_per_unit_and_the_target():
    H = RNG.random((100, 37)) * np.linspace(0, 1, 37)
    fig = plotting.rho_hat(H, rho=0.05)
    (ax,) = fig.axes
    heights = [bar.get_height() for bar in ax.patches]
    np.testing.assert_allclose(heights, H.mean(axis=0))
    (target,) = ax.get_lines()
    assert target.get_ydata()[0] == 0.05
    assert "rho = 0.05" in ax.get_legend().get_texts()[0].get_text()
    assert_drawn(fig)
    assert not plotting.rho_hat(H).axes[0].get_lines()


def test_codes_colour_points_by_label_with_a_legend():
    H = RNG.random((300, 12))
    labels = np.arange(300) % 10
    fig = plotting.codes(H, labels, units=(3, 11))
    (ax,) = fig.axes
    assert len(ax.collections) == 10
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [str(d) for d in range(10)]
    points = np.concatenate([c.get_offsets() for c in ax.collections])
    assert sorted(map(tuple, points)) == sorted(map(tuple, H[:, [3, 11]]))
    assert "unit 3" in ax.get_xlabel() and "unit 11" in ax.get_ylabel()
    assert_drawn(fig)
    unlabelled = plotting.codes(H[:, :2]).axes[0]
    assert len(unlabelled.collections) == 1 and unlabelled.get_legend() is None


@pytest.mark.parametrize(
    "H, labels, units, match",
    [
        (np.zeros((10, 1)), None, (0, 1), "unit 1 is out of range; H has 1 hidden units"),
        (np.zeros((10, 4)), None, (-1, 2), "unit -1 is out of range"),
        (np.zeros((10, 4)), None, (0, 1, 2), "must name two hidden units"),
        (np.zeros((10, 4)), None, (0, 1.5), "1.5 is not an integer"),
        (np.zeros((10, 4)), np.zeros(9), (0, 1), r"labels must have shape \(10,\)"),
        (np.zeros(10), None, (0, 1), r"H must have shape \(m, n_hidden\)"),
    ],
)
def test_codes_refuse_bad_units_and_labels(H, labels, units, match):
    with pytest.raises(ValueError, match=match):
        plotting.codes(H, labels, units=units)


def test_activation_density_counts_dead_units_instead_of_dropping_them():
    m = 1000
    H = np.zeros((m, 10))
    H[:1, 0] = 1  # fires once: log10(1/1000) = -3
    H[:100, 1] = 1  # -1
    H[:, 2] = 1  # always: 0
    H[: m // 2, 3:7] = 0.5  # -0.3 ...; units 7, 8, 9 never fire
    fig = plotting.activation_density(H, threshold=0.0)
    (ax,) = fig.axes
    assert "3 dead" in ax.get_title()
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["7 units that fire", "3 dead units (never fire)"]
    counts = [bar.get_height() for bar in ax.patches]
    assert sum(counts) == 7
    lefts = np.array([bar.get_x() for bar in ax.patches])
    assert lefts.min() == -3 and ax.get_xlim()[0] == -3  # room for a unit firing once in 1000
    assert_drawn(fig)


def test_activation_density_threshold_and_all_dead():
    H = np.full((20, 4), 0.05)
    assert "0 dead" in plotting.activation_density(H, threshold=0.0).axes[0].get_title()
    fig = plotting.activation_density(H, threshold=0.1)
    assert "4 dead" in fig.axes[0].get_title() and not fig.axes[0].patches
    assert_drawn(fig)
    with pytest.raises(ValueError, match="H is empty"):
        plotting.activation_density(np.zeros((0, 4)))


# --------------------------------------------------------------------------- history


def test_history_skips_missing_validation_and_switched_off_terms():
    hist = {
        "epoch": [1, 2, 3],
        "loss": [3.0, 2.0, 1.5],
        "recon": [2.5, 1.8, 1.3],
        "sparsity": [0.5, 0.2, 0.2],
        "decay": [0.0, 0.0, 0.0],
        "val_loss": [math.nan] * 3,
    }
    fig = plotting.history(hist)
    (ax,) = fig.axes
    labels = [line.get_label() for line in ax.get_lines()]
    assert labels == ["total loss", "reconstruction", "sparsity penalty"]
    assert ax.get_yscale() == "log"
    np.testing.assert_array_equal(ax.get_lines()[0].get_xdata(), [1, 2, 3])
    assert_drawn(fig)


def test_history_of_a_training_history_with_validation():
    rows = [
        {"epoch": e, "loss": 1 / e, "recon": 0.8 / e, "sparsity": 0.2 / e, "decay": 0.0}
        | {"val_loss": 1.1 / e}
        for e in range(1, 6)
    ]
    ax = plotting.history(History(rows)).axes[0]
    assert [line.get_label() for line in ax.get_lines()][-1] == "validation loss"
    np.testing.assert_allclose(ax.get_lines()[-1].get_ydata(), [1.1 / e for e in range(1, 6)])


def test_history_uses_a_linear_scale_for_values_that_are_not_all_positive():
    ax = plotting.history({"loss": [1.0, -0.5], "recon": [0.5, 0.0]}).axes[0]
    assert ax.get_yscale() == "linear"
    np.testing.assert_array_equal(ax.get_lines()[0].get_xdata(), [1, 2])


@pytest.mark.parametrize(
    "hist, match",
    [
        ({"epoch": [1, 2]}, "hist has none of the columns loss"),
        ({"loss": [1.0, 2.0], "recon": [1.0]}, r"different lengths \[1, 2\]"),
        ({"loss": [1.0, 2.0], "epoch": [1]}, "hist\\['epoch'\\] has 1 entries for 2 epochs"),
        ({"loss": [[1.0, 2.0]]}, "hist\\['loss'\\] must be a sequence of numbers"),
    ],
)
def test_history_refuses_malformed_columns(hist, match):
    with pytest.raises(ValueError, match=match):
        plotting.history(hist)
