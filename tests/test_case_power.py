"""Points that follow how wrong a function is.

The value cases' power: every catalogued mistake of an exercise and every one-change mutant of
its solution (``mutants``) that is wrong on ordinary inputs fails every value case, public and
hidden under several grading seeds, so that it can earn no value points; degenerate inputs,
where a mistake may not show, are edge cases. Then the scoring rules: each test group scores
one property, and the instructor's guide (docs/instructors.md) states them as the code applies
them.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import re
import warnings
from pathlib import Path

import numpy as np
import pytest
from test_exercise_contents import topk_keeping
from test_uncatalogued_diagnosis import (
    _centred_differences,
    _check_on_a_copy,
    _check_with_absolute_error,
)

from npsae import exercises
from npsae.cli import main
from npsae.exercises.catalogue import EXERCISES
from npsae.exercises.grading import EXPLAINERS, _float64, _matches, judge, observe, output_dict
from npsae.exercises.loader import load_function
from npsae.exercises.scoring import EDGE, GROUPS, plan

SEEDS = (0, 1)
GUIDE = Path(__file__).resolve().parents[1] / "docs" / "instructors.md"
GRADED_BY_VALUES = [n for n, e in EXERCISES.items() if e.spec.judge is None]


def _cases(name: str, edge: bool) -> list:
    """(case, expected) of exercise ``name``: the value cases (public, and hidden under each
    of SEEDS) or the edge cases that return."""
    found, seen = [], set()
    for seed in SEEDS:
        for p in plan(EXERCISES[name], seed):
            if (p.kind == EDGE) == edge and p.case.raises is None and id(p.case) not in seen:
                if p.kind == "public" and seed != SEEDS[0]:
                    continue
                seen.add(id(p.case))
                found.append((p.case, p.expected))
    return found


def _gives_right_values(spec, fn, case, expected) -> bool:
    try:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = fn(*copy.deepcopy(_float64(case.args)))
        got = {
            k: v.astype(np.float64) if isinstance(v, np.ndarray) and v.dtype == bool else v
            for k, v in output_dict(spec, out).items()
        }
        return _matches(got, expected, case)
    except Exception:  # a function that fails on a case does not give its values
        return False


def _branch(case) -> tuple:
    """The case's string arguments ("sigmoid" or "relu" units): they choose a branch of the
    solution, and a mutant of one branch is right on the cases of the other."""
    return tuple(a for a in case.args if isinstance(a, str))


def _inconsistent(cases: list, right: list[bool]) -> list[str]:
    """The labels of the value cases a candidate gets right, in a branch where it gets some
    other case wrong."""
    wrong_branches = {_branch(c) for (c, _), r in zip(cases, right, strict=True) if not r}
    return [
        c.label
        for (c, _), r in zip(cases, right, strict=True)
        if r and _branch(c) in wrong_branches
    ]


@pytest.mark.parametrize("name", GRADED_BY_VALUES)
def test_every_mistake_and_mutant_fails_every_value_case(name):
    spec = EXERCISES[name].spec
    cases, edges = _cases(name, edge=False), _cases(name, edge=True)
    assert len(cases) >= 4
    for mistake in spec.mistakes:
        right = []
        for case, expected in cases:
            with np.errstate(all="ignore"):
                wrong = mistake.output(case, expected)
            assert wrong is not None, (mistake.message, f"cannot show on {case.label}")
            right.append(_matches(wrong, expected, case))
        assert not _inconsistent(cases, right), (mistake.message, _inconsistent(cases, right))
        if all(right):  # a mistake right on ordinary inputs must show on an edge case
            with np.errstate(all="ignore"):
                outputs = [(mistake.output(c, e), c, e) for c, e in edges]
            assert any(w is not None and not _matches(w, e, c) for w, c, e in outputs), (
                mistake.message
            )
    for mutant in spec.mutants():
        right = [_gives_right_values(spec, mutant.function, c, e) for c, e in cases]
        assert not _inconsistent(cases, right), (mutant.description, _inconsistent(cases, right))


# --------------------------------------------------------------------------- stated properties


def _numerical_gradient_on_a_copy(f, x, eps):
    return _centred_differences(f, x.copy(), eps)


def _adamw_without_decay(p, g, m, v, t, lr, beta1, beta2, eps, wd):
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g * g
    return p - lr * (m / (1 - beta1**t)) / (np.sqrt(v / (1 - beta2**t)) + eps), m, v


@pytest.mark.parametrize(
    ("name", "fn"),
    [
        ("gradient_check", _check_with_absolute_error),
        ("gradient_check", _check_on_a_copy),
        ("numerical_gradient", _numerical_gradient_on_a_copy),
        ("debug_adamw", _adamw_without_decay),
    ],
    ids=["absolute-error", "copy-check", "copy-gradient", "adamw-no-decay"],
)
def test_a_stated_property_missed_fails_every_value_case(name, fn):
    for seed in SEEDS:
        _assert_fails_every_value_case(exercises.check(name, fn, seed=seed))


def _assert_fails_every_value_case(result):
    values = [g for g in result.groups if g.name.endswith("values")]
    assert values and all(g.passed == 0 for g in values), str(result.groups)
    assert result.score == 0, str(result.groups)


def _train_changed(tmp_path, old: str, new: str):
    """The solution of train with ``old`` replaced by ``new`` (the line after ``old`` too,
    when ``new`` ends with a newline), loaded from its file beside the other solutions."""
    exercises.write_solutions(tmp_path)
    path = tmp_path / exercises.get("train").filename
    source = path.read_text()
    assert old in source
    path.write_text(source.replace(old, new))
    return load_function(path, "train")


def test_a_training_loop_that_shuffles_its_x_in_place_loses_only_the_unmodified_group(tmp_path):
    # Every case gets its own copy of the data, so the change cannot leak into the next case
    # (which trains with the same seed and must give the same parameters).
    train = _train_changed(
        tmp_path, "order = rng.permutation(n)", "rng.shuffle(X)\n        order = np.arange(n)"
    )
    result = exercises.check("train", train, seed=0)
    assert "left its argument X changed" in result.message, result.message
    unmodified = _group(result, "inputs left unmodified")
    assert unmodified.passed == 0
    others = [g for g in result.groups if g is not unmodified]
    assert all(g.passed == g.total and g.score == g.max_score for g in others), others


def test_a_training_loop_that_never_shuffles_fails_every_case(tmp_path):
    train = _train_changed(tmp_path, "order = rng.permutation(n)", "order = np.arange(n)")
    result = exercises.check("train", train, seed=0)
    assert "the samples are visited in the order of X" in result.message
    _assert_fails_every_value_case(result)
    # Without the order's record (a loop that computes its gradients itself), what the model
    # learnt still shows it: the half of the data seen first in every epoch is forgotten.
    unwatched = dataclasses.replace(
        exercises.get("train"),
        spec=dataclasses.replace(exercises.get("train").spec, watch=""),
    )
    planned = plan(unwatched, 0)
    observations = [observe(train, p.case) for p in planned[:1]]
    verdict = judge(unwatched.spec, planned[0].case, observations[0], None, planned[0].before)
    assert "Are the samples visited in a new random order every epoch?" in verdict.failure[1]


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "    for _ in range(epochs):\n        order = rng.permutation(n)\n",
            "    order = rng.permutation(n)\n    for _ in range(epochs):\n",
            "the same order every epoch",
        ),
        ("range(0, n, batch_size)", "range(0, n - batch_size + 1, batch_size)", "drops the last"),
        ("order = rng.permutation(n)", "order = rng.integers(0, n, n)", "some samples twice"),
    ],
    ids=["shuffled-once", "last-batch-dropped", "drawn-with-replacement"],
)
def test_a_training_loop_that_breaks_the_stated_order_fails_every_case(tmp_path, old, new, message):
    result = exercises.check("train", _train_changed(tmp_path, old, new), seed=0)
    assert message in result.message, result.message
    assert result.explainer == "judge"
    _assert_fails_every_value_case(result)


# --------------------------------------------------------------------------- one property a group


def _sigmoid_grad_in_place(A):
    A *= 1 - A
    return A


def _sigmoid_in_float64(Z):
    return 1 / (1 + np.exp(-np.asarray(Z, dtype=np.float64)))


def _group(result, title):
    return next(g for g in result.groups if g.name == title)


def test_right_values_in_a_changed_input_lose_only_the_unmodified_group():
    result = exercises.check("sigmoid_grad", _sigmoid_grad_in_place, seed=0)
    assert "left its argument A changed" in result.message
    unmodified = _group(result, "inputs left unmodified")
    assert unmodified.passed == 0 and unmodified.score == 0
    others = [g for g in result.groups if g is not unmodified]
    assert all(g.passed == g.total and g.score == g.max_score for g in others), others
    assert result.score >= 0.8 * result.max_score


def test_right_values_in_the_wrong_dtype_lose_only_the_shapes_group():
    result = exercises.check("sigmoid", _sigmoid_in_float64, seed=0)
    assert "float64 result for float32 input" in result.message
    shapes = _group(result, "shapes and dtypes")
    assert shapes.passed < shapes.total
    others = [g for g in result.groups if g is not shapes]
    assert all(g.passed == g.total and g.score == g.max_score for g in others), others
    assert result.score >= 0.8 * result.max_score


def _only_shapes_lost(result, message):
    assert message in result.message, result.message
    shapes = _group(result, "shapes and dtypes")
    assert shapes.passed < shapes.total
    others = [g for g in result.groups if g is not shapes]
    assert all(g.passed == g.total and g.score == g.max_score for g in others), others
    assert result.score >= 0.8 * result.max_score


def test_a_loss_computed_in_float32_for_float64_input_loses_only_the_shapes_group():
    # Right to float32's precision on the float64 cases: a fault of precision, not of values.
    def mse_in_float32(X_hat, X):
        return float(np.mean(np.square(X_hat - X), dtype=np.float32))

    result = exercises.check("mse", mse_in_float32, seed=0)
    _only_shapes_lost(result, "right to float32's precision only, for float64 input")
    # A value wrong beyond float32's precision is still wrong.
    result = exercises.check("mse", lambda X_hat, X: 1.001 * mse_in_float32(X_hat, X), seed=0)
    assert result.score == 0


def test_the_right_number_in_a_one_element_array_loses_only_the_shapes_group():
    def sse_in_an_array(X_hat, X):
        return np.sum((X_hat - X) ** 2, axis=(0, 1), keepdims=True).ravel() / (2 * len(X))

    result = exercises.check("sse", sse_in_an_array, seed=0)
    _only_shapes_lost(result, "the right number, in an array of shape (1,): return the number")


def test_wrong_values_in_the_wrong_dtype_are_both_named():
    result = exercises.check("sigmoid", lambda Z: _sigmoid_in_float64(-np.asarray(Z)), seed=0)
    assert result.score == 0
    assert "; and float64 result for float32 input" in result.message, result.message


def test_right_values_in_another_shape_lose_only_the_shapes_group():
    def sigmoid_flattened(Z):
        return (1 / (1 + np.exp(-np.clip(Z, -500, 500)))).ravel()

    result = exercises.check("sigmoid", sigmoid_flattened, seed=0)
    _only_shapes_lost(result, "shape")
    # The same numbers in another order are wrong values.
    result = exercises.check("sigmoid", lambda Z: sigmoid_flattened(np.asarray(Z).T), seed=0)
    assert _group(result, "public values").score == 0, str(result.groups)


@pytest.mark.parametrize(
    ("name", "fn"),
    [
        ("mse", lambda X_hat, X: float(np.sum((X_hat - X) ** 2) / X.shape[1])),
        ("l1_penalty_grad", lambda H, beta: (beta * np.sign(H)).astype(H.dtype)),
        (
            "kl_penalty_grad",
            lambda H, rho, beta: np.broadcast_to(
                beta / len(H) ** 2 * (-rho / H.mean(0) + (1 - rho) / (1 - H.mean(0))), H.shape
            ).astype(H.dtype),
        ),
    ],
    ids=["mse-times-m", "l1-times-m", "kl-over-m"],
)
def test_a_function_wrong_on_every_batch_of_more_than_one_sample_scores_nothing(name, fn):
    # Right where m = 1 (an edge case), wrong on every ordinary batch.
    result = exercises.check(name, fn, seed=0)
    assert _group(result, "edge cases").passed > 0
    assert result.score == 0, str(result.groups)
    note = _group(result, "shapes and dtypes").note
    assert note == "no credit until every value case gives right values"


def test_the_instructors_guide_states_the_groups_and_their_weights():
    text = " ".join(GUIDE.read_text("utf-8").split())
    points = text[text.index("**Points.**") : text.index("**Traceable verdicts.**")]
    stated = re.findall(r"([a-z ]+?) \((\d+) %:", points)
    assert [(n.strip().removeprefix("and "), int(w)) for n, w in stated] == [
        (g.title, round(100 * g.weight)) for g in GROUPS
    ]


# --------------------------------------------------------------------------- explainers


@pytest.mark.parametrize(
    ("name", "fn", "explainer"),
    [
        ("mse", lambda X_hat, X: float(np.sum((X_hat - X) ** 2) / X.shape[1]), "catalogue"),
        ("sigmoid_grad", _sigmoid_grad_in_place, "rules"),
        ("sigmoid", lambda Z: 1 / (1 + np.exp(-Z)) + 0.01 * (Z > 1), "diagnosis"),
        ("sigmoid", lambda Z: 1 / (1 + np.exp(-Z)), "reference"),
        ("gradient_check", _check_with_absolute_error, "judge"),
        ("kl_penalty", lambda H, rho, beta: 7.0, "probe"),
        ("topk_grad", lambda Z, dH, k: topk_keeping(Z, dH, k + 1), "mutant"),
    ],
)
def test_every_result_names_its_explainer(name, fn, explainer):
    result = exercises.check(name, fn, seed=0)
    assert result.explainer == explainer, str(result)
    assert result.compared.startswith(EXPLAINERS[explainer])


def test_check_explain_and_the_json_report_name_the_explainer(tmp_path, capsys):
    exercises.write_solutions(tmp_path, ["sigmoid"])
    (tmp_path / exercises.get("mse").filename).write_text(
        "import numpy as np\n\n\ndef mse(X_hat, X):\n"
        "    return float(np.sum((X_hat - X) ** 2) / X.shape[1])\n"
    )
    main(["exercises", "check", str(tmp_path), "sigmoid", "mse", "--seed", "0", "--explain"])
    out = capsys.readouterr().out
    assert f"verdict by reference: compared {EXPLAINERS['reference']}" in out
    assert f"verdict by catalogue: compared {EXPLAINERS['catalogue']} (case 1 of" in out
    main(["exercises", "check", str(tmp_path), "mse", "--seed", "0", "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    assert report["exercises"][0]["explainer"]["name"] == "catalogue"


def _backward_with_local_derivative_h2(X, W1, b1, W2, b2, rho, beta):
    """The backward pass with H^2 (1 - H) for the hidden sigmoid's derivative H (1 - H)."""
    m, n_in = X.shape
    H = 1 / (1 + np.exp(-(X @ W1 + b1)))
    X_hat = 1 / (1 + np.exp(-(H @ W2 + b2)))
    dZ2 = 2 / (m * n_in) * (X_hat - X) * X_hat * (1 - X_hat)
    rho_hat = H.mean(axis=0)
    dZ1 = (dZ2 @ W2.T + beta / m * (-rho / rho_hat + (1 - rho) / (1 - rho_hat))) * H * H * (1 - H)
    grads = {"W1": X.T @ dZ1, "b1": dZ1.sum(axis=0), "W2": H.T @ dZ2, "b2": dZ2.sum(axis=0)}
    return {k: v.astype(X.dtype) for k, v in grads.items()}


def test_a_verdict_read_back_through_the_chain_names_it():
    result = exercises.check("backward", _backward_with_local_derivative_h2, seed=0)
    assert result.explainer == "chain", str(result)
    assert result.compared.startswith(EXPLAINERS["chain"])


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("np.random.default_rng(seed)", "np.random.default_rng()", "returned different parameters"),
        ("np.random.default_rng(seed)", "np.random.default_rng(7)", "gave the same parameters"),
    ],
    ids=["unseeded", "seed-ignored"],
)
def test_a_training_loop_not_reproducible_from_its_seed_scores_nothing(tmp_path, old, new, message):
    result = exercises.check("train", _train_changed(tmp_path, old, new), seed=0)
    assert message in result.message, result.message
    assert result.explainer == "judge"
    assert result.score == 0, str(result.groups)


# --------------------------------------------------------------------------- ordinary extremes


def _overflowing_sigmoid(Z):
    return np.exp(Z) / (1 + np.exp(Z))


def _sigmoid_by_sign(Z):
    with np.errstate(over="ignore", invalid="ignore"):
        return np.where(Z >= 0, 1 / (1 + np.exp(-Z)), np.exp(Z) / (1 + np.exp(Z)))


def _sigmoid_by_tanh(Z):
    return 0.5 * (1 + np.tanh(Z / 2))


def _forward_with(sigmoid):
    def forward(X, W1, b1, W2, b2):
        return sigmoid(sigmoid(X @ W1 + b1) @ W2 + b2)

    return forward


def _backward_with(sigmoid, linear_decoder=False):
    """The backward pass of mse + KL (or, for the linear decoder of debug_backward, sse + KL)
    with ``sigmoid`` for every sigmoid."""

    def backward(X, W1, b1, W2, b2, rho, beta):
        m, n_in = X.shape
        H = sigmoid(X @ W1 + b1)
        if linear_decoder:
            dZ2 = (H @ W2 + b2 - X) / m
        else:
            X_hat = sigmoid(H @ W2 + b2)
            dZ2 = 2 / (m * n_in) * (X_hat - X) * X_hat * (1 - X_hat)
        rho_hat = H.mean(axis=0)
        c = beta / m * (-rho / rho_hat + (1 - rho) / (1 - rho_hat))
        dZ1 = (dZ2 @ W2.T + c) * H * (1 - H)
        grads = {"W1": X.T @ dZ1, "b1": dZ1.sum(axis=0), "W2": H.T @ dZ2, "b2": dZ2.sum(axis=0)}
        return {k: v.astype(X.dtype) for k, v in grads.items()}

    return backward


def _kl_grad_clipped(H, rho, beta):
    rho_hat = np.clip(H.mean(axis=0), 0.01, 0.99)
    c = beta / len(H) * (-rho / rho_hat + (1 - rho) / (1 - rho_hat))
    return np.broadcast_to(c, H.shape).astype(H.dtype)


def _kl_grad_in_float64(H, rho, beta):
    rho_hat = np.mean(H, axis=0, dtype=np.float64)
    c = beta / len(H) * (rho_hat - rho) / (rho_hat * (1 - rho_hat))
    return np.tile(c, (len(H), 1)).astype(H.dtype)


def _adam_skipping_zero_gradients(p, g, m, v, t, lr, beta1, beta2, eps):
    new_m = beta1 * m + (1 - beta1) * g
    new_v = beta2 * v + (1 - beta2) * g * g
    step = lr * new_m / (1 - beta1**t) / (np.sqrt(new_v / (1 - beta2**t)) + eps)
    live = g != 0
    return np.where(live, p - step, p), np.where(live, new_m, m), np.where(live, new_v, v)


def _adam_in_place_on_copies(p, g, m, v, t, lr, beta1, beta2, eps):
    p, m, v = p.copy(), m.copy(), v.copy()
    m *= beta1
    m += (1 - beta1) * g
    v *= beta2
    v += (1 - beta2) * np.square(g)
    p -= lr * (m / (1 - beta1**t)) / (np.sqrt(v / (1 - beta2**t)) + eps)
    return p, m, v


_EXPANDED = {
    "mse": lambda X_hat, X: float(np.mean(X_hat**2 - 2 * X_hat * X + X**2)),
    "sse": lambda X_hat, X: float(np.sum(X_hat**2 - 2 * X_hat * X + X**2) / (2 * len(X))),
}


@pytest.mark.parametrize(
    ("name", "fn"),
    [
        ("forward", _forward_with(_overflowing_sigmoid)),
        ("backward", _backward_with(_overflowing_sigmoid)),
        ("debug_backward", _backward_with(_overflowing_sigmoid, linear_decoder=True)),
        ("mse", _EXPANDED["mse"]),
        ("sse", _EXPANDED["sse"]),
        ("kl_penalty_grad", _kl_grad_clipped),
        ("adam_step", _adam_skipping_zero_gradients),
    ],
    ids=[
        "forward-overflow",
        "backward-overflow",
        "debug-backward-overflow",
        "mse-expanded",
        "sse-expanded",
        "kl-grad-clipped",
        "adam-skips-zeros",
    ],
)
def test_a_mistake_seen_only_in_an_ordinary_extreme_fails_every_value_case(name, fn):
    # A saturated unit, entries large against the error, a nearly dead or saturated unit, an
    # exact zero gradient: regimes of real use, which every value case holds.
    for seed in SEEDS:
        _assert_fails_every_value_case(exercises.check(name, fn, seed=seed))


@pytest.mark.parametrize(
    ("name", "fn"),
    [
        ("forward", _forward_with(_sigmoid_by_sign)),
        ("forward", _forward_with(_sigmoid_by_tanh)),
        ("backward", _backward_with(_sigmoid_by_sign)),
        ("backward", _backward_with(_sigmoid_by_tanh)),
        ("debug_backward", _backward_with(_sigmoid_by_tanh, linear_decoder=True)),
        ("mse", lambda X_hat, X: float(np.mean((X_hat.astype(np.float64) - X) ** 2))),
        ("sse", lambda X_hat, X: float(np.sum(np.square(X_hat - X)) / (2 * X.shape[0]))),
        ("kl_penalty_grad", _kl_grad_in_float64),
        ("adam_step", _adam_in_place_on_copies),
    ],
    ids=[
        "forward-by-sign",
        "forward-by-tanh",
        "backward-by-sign",
        "backward-by-tanh",
        "debug-backward-by-tanh",
        "mse-float64",
        "sse-square",
        "kl-grad-float64",
        "adam-on-copies",
    ],
)
def test_a_correct_alternative_keeps_full_points_in_the_ordinary_extremes(name, fn):
    for seed in SEEDS:
        result = exercises.check(name, fn, seed=seed)
        assert result.score == result.max_score, str(result)
