"""Every analytic gradient agrees with finite differences; the checker itself catches wrong ones."""

import itertools

import numpy as np
import pytest

from npsae import gradcheck, reference
from npsae.cli import gradcheck as gradcheck_cli
from npsae.gradcheck import (
    THRESHOLD,
    count_entries,
    gradient_check,
    kink_free_batch,
    norm_error,
    numerical_gradient,
    relative_error,
)
from npsae.model import SparseAutoencoder

COMBOS = list(
    itertools.product(
        ["sigmoid", "relu"],  # hidden
        ["sigmoid", "linear"],  # output
        ["mse", "sse"],  # recon
        ["kl", "l1", None],  # sparsity
        [0.0, 1e-2],  # weight decay
    )
)


def small_model(hidden, output, recon, sparsity, wd, backend, seed=3):
    return SparseAutoencoder(
        6, 4, hidden=hidden, output=output, recon=recon, sparsity=sparsity, rho=0.2,
        beta=0.5, weight_decay=wd, dtype=np.float64, backend=backend, seed=seed,
    )  # fmt: skip


@pytest.mark.parametrize("backend", ["numpy", "numba"])
@pytest.mark.parametrize("combo", COMBOS, ids=lambda c: "-".join(map(str, c)))
def test_every_combination_passes_the_gradient_check(combo, backend):
    model = small_model(*combo, backend)
    X = kink_free_batch(model, 5, seed=1)
    result = gradient_check(model, X)
    assert result.passed, str(result)
    terms = {row.term for row in result.rows}
    assert "recon" in terms and "total" in terms
    assert ("sparsity" in terms) == (combo[3] is not None)
    assert ("decay" in terms) == (combo[4] > 0)


def test_sigmoid_kl_gradients_are_far_below_the_threshold():
    model = small_model("sigmoid", "sigmoid", "sse", "kl", 0.0, "numpy")
    result = gradient_check(model, kink_free_batch(model, 5), tiny=1e-12)
    assert max(row.norm_error for row in result.rows) < 1e-8


def test_kl_with_relu_where_the_clip_is_active_has_zero_sparsity_gradient():
    model = small_model("relu", "sigmoid", "mse", "kl", 0.0, "numpy")
    model.params["b1"][:] = [5.0, -50.0, 0.0, 0.0]  # unit 0: mean > 1; unit 1: always 0
    X = kink_free_batch(model, 5)
    _, grads = model.loss_and_grads(X, terms=("sparsity",))
    assert grads["b1"][0] == 0.0 and grads["b1"][1] == 0.0
    assert np.all(grads["b1"][2:] != 0.0)
    assert gradient_check(model, X).passed


def test_checker_catches_a_wrong_gradient(monkeypatch):
    """A KL derivative with its sign flipped must fail the check, and only on the sparsity term."""
    model = small_model("sigmoid", "sigmoid", "mse", "kl", 0.0, "numpy")
    X = kink_free_batch(model, 5)
    real = type(model.sparsity).hidden_grad
    monkeypatch.setattr(type(model.sparsity), "hidden_grad", lambda *a: -real(*a))
    result = gradient_check(model, X)
    assert not result.passed
    assert not result.row("sparsity", "W1").passed
    assert result.row("recon", "W1").passed
    assert "FAILED" in str(result)


def test_checker_catches_a_wrong_activation_derivative(monkeypatch):
    """sigma'(z) evaluated at the output instead of through it: sigma(a) (1 - sigma(a))."""
    model = small_model("sigmoid", "sigmoid", "mse", None, 0.0, "numpy")
    X = kink_free_batch(model, 5)
    wrong = {**reference.ACTIVATION_GRADS, "sigmoid": lambda A: reference.sigmoid_grad(
        reference.sigmoid(A))}  # fmt: skip
    monkeypatch.setattr(reference, "ACTIVATION_GRADS", wrong)
    result = gradient_check(model, X)
    assert not result.passed and result.max_rel_error > 1e-2


def test_numerical_gradient_of_a_quadratic_and_restores_x():
    x = np.array([[1.0, -2.0], [3.0, 0.5]])
    x0 = x.copy()
    g = numerical_gradient(lambda v: float(np.sum(v**2)), x)
    np.testing.assert_allclose(g, 2 * x0, rtol=1e-9)
    assert np.array_equal(x, x0)


def test_numerical_gradient_restores_x_even_when_f_raises():
    x = np.ones(3)

    def f(v):
        if v[0] != 1.0:
            raise RuntimeError("boom")
        return 0.0

    with pytest.raises(RuntimeError):
        numerical_gradient(f, x)
    assert np.array_equal(x, np.ones(3))


def test_numerical_gradient_only_computes_requested_entries():
    x = np.arange(5.0)
    g = numerical_gradient(lambda v: float(np.sum(v**3)), x, indices=np.array([1, 3]))
    assert g[0] == g[2] == g[4] == 0.0
    np.testing.assert_allclose(g[[1, 3]], 3 * x[[1, 3]] ** 2, rtol=1e-8)


def test_ufldl_self_test():
    """UFLDL's check of the checker: h(x) = x1^2 + 3 x1 x2 at (4, 10), its gradient (38, 12)."""
    x = np.array([4.0, 10.0])
    n = numerical_gradient(lambda v: v[0] ** 2 + 3 * v[0] * v[1], x, eps=1e-4)
    a = np.array([2 * 4 + 3 * 10, 3 * 4.0])
    assert norm_error(a, n) < 1e-9
    assert relative_error(a, n) < THRESHOLD


def test_error_measures():
    assert relative_error(np.zeros(3), np.zeros(3)) == 0.0
    assert relative_error([1.0, 2.0], [1.0, 2.2]) == pytest.approx(0.2 / 4.2)
    assert norm_error([1.0, 0.0], [-1.0, 0.0]) == float("inf")  # opposite gradients
    assert norm_error(np.zeros(2), np.zeros(2)) == 0.0
    assert norm_error([3.0, 4.0], [3.0, 4.0]) == 0.0
    with pytest.raises(ValueError, match="eps"):
        numerical_gradient(lambda v: 0.0, np.ones(2), eps=0)


def test_subset_of_entries_for_big_models():
    model = SparseAutoencoder(30, 12, dtype=np.float64, backend="numba", seed=2)
    X = kink_free_batch(model, 4)
    result = gradient_check(model, X, max_entries=10)
    assert result.passed
    assert result.row("total", "W1").n_checked == 10
    assert result.row("total", "b1").n_checked == 10


def test_float32_model_is_checked_in_float64_without_being_changed():
    model = SparseAutoencoder(6, 3, seed=5)
    before = {k: v.copy() for k, v in model.params.items()}
    assert gradient_check(model, kink_free_batch(model, 4)).passed
    for k, v in model.params.items():
        assert v.dtype == np.float32 and np.array_equal(v, before[k])


def test_kink_free_batch_keeps_preactivations_away_from_zero():
    model = small_model("relu", "sigmoid", "mse", None, 0.0, "numpy")
    X = kink_free_batch(model, 8, margin=1e-3)
    assert np.min(np.abs(X @ model.params["W1"] + model.params["b1"])) > 1e-3
    with pytest.raises(ValueError, match="away from 0"):
        kink_free_batch(model, 8, margin=10.0, tries=3)


def run_cli_both(argv, capsys):
    """(exit status, stdout, stderr) of ``npsae gradcheck ARGV``."""
    import argparse

    parser = argparse.ArgumentParser()
    gradcheck_cli.register(parser.add_subparsers())
    args = parser.parse_args(["gradcheck", *argv])
    status = args.func(args)
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def run_cli(argv, capsys):
    status, out, _ = run_cli_both(argv, capsys)
    return status, out


@pytest.mark.parametrize(
    "argv", [[], ["--hidden", "relu", "--sparsity", "l1"], ["--backend", "numpy", "--recon", "sse"]]
)
def test_cli_prints_the_table_and_exits_zero(argv, capsys):
    status, out = run_cli(argv, capsys)
    assert status == 0
    assert "PASSED" in out and "sparsity" in out and "W2" in out


def test_cli_exits_nonzero_on_failure(monkeypatch, capsys):
    real = type(SparseAutoencoder(2, 1).sparsity).hidden_grad
    from npsae.penalties import KLSparsity

    monkeypatch.setattr(KLSparsity, "hidden_grad", lambda *a: 2 * real(*a))
    status, out = run_cli([], capsys)
    assert status == 1 and "FAILED" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--rho", "2"], "--rho 2.0: a target mean activation lies in (0, 1)"),
        (["--max-entries", "0"], "--max-entries 0: must be a positive integer"),
        (["--max-entries", "-3"], "--max-entries -3: must be a positive integer"),
        (["--samples", "0"], "--samples 0: must be a positive integer"),
        (["--eps", "nan"], "--eps nan: must be a finite number > 0"),
        (["--eps", "0"], "--eps 0.0: must be a finite number > 0"),
        (["--eps", "inf"], "--eps inf: must be a finite number > 0"),
        (["--n-in", "0"], "--n-in 0: must be a positive integer"),
        (["--seed", "-1"], "--seed -1: must be an integer >= 0"),
        (["--n-hidden", "100000000"], "--n-hidden 100000000: a float64 model of this size would"),
        (["--samples", "1000000000"], "--samples 1000000000: a batch of this many samples would"),
    ],
)
def test_cli_rejects_bad_settings_on_one_line_of_stderr(argv, message, capsys):
    status, out, err = run_cli_both(argv, capsys)
    assert status == 2 and out == ""
    assert err.startswith(f"npsae gradcheck: error: {message}") and err.count("\n") == 1


def test_library_refuses_a_check_of_nothing():
    model = small_model("sigmoid", "sigmoid", "mse", "kl", 0.0, "numpy")
    X = kink_free_batch(model, 4)
    for bad in (0, -3, 2.5, True):
        with pytest.raises(ValueError, match="max_entries"):
            gradient_check(model, X, max_entries=bad)
    for eps in (0.0, -1e-6, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="eps"):
            gradient_check(model, X, eps=eps)
    with pytest.raises(ValueError, match="m=0 must be a positive number of samples"):
        kink_free_batch(model, 0)


def test_cli_says_how_many_entries_and_shows_progress(capsys, monkeypatch):
    # 4 terms (recon, sparsity, decay, total) x (8*5 + 5 + 5*8 + 8 entries) = 372.
    status, out = run_cli([], capsys)
    assert status == 0 and "checking 372 gradient entries by finite differences (744 loss" in out
    model = small_model("sigmoid", "sigmoid", "mse", "kl", 1e-2, "numpy")
    assert count_entries(model) == 4 * (6 * 4 + 4 + 4 * 6 + 6)
    assert count_entries(model, max_entries=5) == 4 * (5 + 4 + 5 + 5)
    bars = []
    real_bar = gradcheck._progress_bar
    monkeypatch.setattr(
        gradcheck, "_progress_bar", lambda total: bars.append(real_bar(total)) or bars[-1]
    )
    gradient_check(model, kink_free_batch(model, 4), max_entries=5, progress=True)
    assert "gradient check:   0%|" in capsys.readouterr().err  # on stderr
    assert len(bars) == 1 and bars[0].total == bars[0].n == 76  # counted every entry
    # JumpReLU's thresholds are checked against a closed form, not entry by entry.
    jump = SparseAutoencoder(6, 4, hidden="relu", sparsity="jumprelu", dtype=np.float64, seed=1)
    jump.params["b1"][:] = 0.3
    gradient_check(jump, kink_free_batch(jump, 4), progress=True)
    assert bars[1].total == bars[1].n == count_entries(jump) == 3 * (6 * 4 + 4 + 4 * 6 + 6)


def test_cli_checks_the_modern_variants(capsys):
    status, out = run_cli(["--hidden", "relu", "--sparsity", "topk", "--k", "2"], capsys)
    assert status == 0 and "topk" in out and "PASSED" in out
    status, out = run_cli(["--sparsity", "l1-decoder"], capsys)
    assert status == 0 and "l1-decoder" in out


@pytest.mark.parametrize("sparsity", ["jumprelu", "batchtopk", "topk"])
def test_cli_picks_the_hidden_activation_a_selecting_sparsity_needs(sparsity, capsys):
    k = [] if sparsity == "jumprelu" else ["--k", "2"]
    status, out = run_cli(["--sparsity", sparsity, *k], capsys)
    assert status == 0 and "PASSED" in out
    assert f"note: --sparsity {sparsity} selects among ReLU units: checking --hidden relu" in out
    # A choice the user made is kept, and refused when it cannot work.
    status, out, err = run_cli_both(["--sparsity", sparsity, *k, "--hidden", "sigmoid"], capsys)
    assert status == 2 and "use hidden='relu'" in err
    status, out = run_cli([], capsys)
    assert status == 0 and "note:" not in out and "sigmoid" in out
