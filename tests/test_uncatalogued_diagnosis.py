"""The two general mechanisms behind the diagnosis of mistakes nobody catalogued.

Mutants: the instructor solution with one typical change (``npsae.exercises.mutants``), compared
with the student's result in the grader's process. Probes: the student's function called on
designed variants of the failing public case (``npsae.exercises.probes``), its response
compared with the solution's. Every mistake below is written fresh for these tests: none is a
catalogued mistake of its exercise.
"""

import dataclasses
import textwrap
from pathlib import Path

import numpy as np
import pytest
from test_exercise_contents import DERIVED, _contains_key, _key_expressions

from npsae import exercises
from npsae.exercises import diagnosis, explainers, grading, probes
from npsae.exercises.catalogue import COURSE
from npsae.exercises.mutants import RIGHT, matching, mutants, solution_mutants
from npsae.exercises.scoring import assess, plan


def _sig(z):
    return 1 / (1 + np.exp(-z))


def _kl_log2_second_term(H, rho, beta):
    r = H.mean(axis=0)
    return float(beta * np.sum(rho * np.log(rho / r) + (1 - rho) * np.log2((1 - rho) / (1 - r))))


def _kl_grad_with_sum(H, rho, beta):
    m, r = len(H), H.sum(axis=0)
    return np.broadcast_to(beta / m * (-rho / r + (1 - rho) / (1 - r)), H.shape).astype(H.dtype)


def _backward_sigmoid_twice_in_forward(X, W1, b1, W2, b2, rho, beta):
    """A backward pass whose forward pass squashes the output twice."""
    m, n = X.shape
    H = _sig(X @ W1 + b1)
    X_hat = _sig(_sig(H @ W2 + b2))
    dZ2 = 2 * (X_hat - X) / (m * n) * X_hat * (1 - X_hat)
    r = H.mean(axis=0)
    dZ1 = (dZ2 @ W2.T + beta / m * (-rho / r + (1 - rho) / (1 - r))) * H * (1 - H)
    return {"W1": X.T @ dZ1, "b1": dZ1.sum(0), "W2": H.T @ dZ2, "b2": dZ2.sum(0)}


def _adamw_without_parentheses(p, g, m, v, t, lr, beta1, beta2, eps, wd):
    """AdamW whose decay term escaped the step's parentheses: p - lr m^/(...) + wd p."""
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g * g
    m_hat, v_hat = m / (1 - beta1**t), v / (1 - beta2**t)
    return p - lr * m_hat / (np.sqrt(v_hat) + eps) + wd * p, m, v


def _topk_one_more(Z, dH, k):
    kept = np.zeros(Z.shape, bool)
    np.put_along_axis(kept, np.argsort(-Z, axis=1, kind="stable")[:, : k + 1], True, axis=1)
    return np.where(kept & (Z > 0), dH, 0).astype(dH.dtype)


# (exercise, a fresh mistake, words the verdict must contain)
MUTANT_NAMED = [
    ("debug_adamw", _adamw_without_parentheses, "parentheses left out (around ... + wd * p)"),
    ("topk_grad", _topk_one_more, "k + 1 where k belongs (off by one)"),
    ("sigmoid_grad", lambda A: (A > 0).astype(A.dtype), "the ReLU's derivative"),
    ("kl_penalty", _kl_log2_second_term, "base 2"),
    ("kl_penalty", _kl_log2_second_term, "second of the 2 terms"),
    ("kl_penalty_grad", _kl_grad_with_sum, "a sum where a mean belongs"),
    (
        "l1_penalty_grad",
        lambda H, beta: (beta / H.shape[1] * np.sign(H)).astype(H.dtype),
        "H.shape[1] where H.shape[0] belongs",
    ),
    (
        "forward",
        lambda X, W1, b1, W2, b2: _sig(np.tanh(X @ W1 + b1) @ W2 + b2),
        "tanh where the sigmoid belongs",
    ),
    (
        "forward",
        lambda X, W1, b1, W2, b2: np.tanh(np.tanh(X @ W1 + b1) @ W2 + b2),
        "at every place it fits",
    ),
    ("backward", _backward_sigmoid_twice_in_forward, "the sigmoid applied twice"),
]


@pytest.mark.parametrize(
    ("name", "fn", "words"),
    MUTANT_NAMED,
    ids=[f"{n}-{i}" for i, (n, _, _) in enumerate(MUTANT_NAMED)],
)
def test_a_mutant_names_an_uncatalogued_mistake(name, fn, words):
    result = exercises.check(name, fn, seed=0)
    assert result.status == exercises.FAILED
    assert "the right computation with one change" in result.message, str(result)
    assert words in result.message, str(result)
    assert result.message not in {m.message for m in exercises.get(name).spec.mistakes}


def _mse_centred_per_sample(X_hat, X):
    d = X_hat - X
    return float(np.mean((d - d.mean(axis=1, keepdims=True)) ** 2))


# (exercise, a fresh mistake no mutant makes, words the verdict must contain)
PROBE_NAMED = [
    ("mse", _mse_centred_per_sample, "changes nothing in yours: is a mean subtracted"),
    # The batch size of the first public case, typed in: right there, wrong on the next case.
    (
        "sse",
        lambda X_hat, X: float(np.sum((X_hat - X) ** 2) / (2 * 5)),
        "grows with the number of samples",
    ),
    (
        "sse",
        lambda X_hat, X: float(np.sum(np.abs(X_hat - X) ** 3) / (2 * len(X))),
        "grows as the square of them, yours as the cube",
    ),
    (
        "mse",
        lambda X_hat, X: float(np.sum((X_hat - X) ** 2) / (2 * len(X))) + 1e-3,
        "average over the columns (n) missing",
    ),
]


@pytest.mark.parametrize(
    ("name", "fn", "words"),
    PROBE_NAMED,
    ids=[f"{n}-{i}" for i, (n, _, _) in enumerate(PROBE_NAMED)],
)
def test_a_probe_names_an_uncatalogued_mistake(name, fn, words):
    result = exercises.check(name, fn, seed=0)
    assert result.status == exercises.FAILED
    assert words in result.message, str(result)
    # The description of the values is kept under what the probe shows.
    assert any("expected" in d and "got" in d for d in result.diagnostics), str(result)


def test_no_mutant_is_described_by_the_solution_itself():
    """A description names the change and the inputs it touches, never the derived result."""
    for name in DERIVED:
        exercise = exercises.get(name)
        if exercise.spec.mutants is None:
            continue
        for mutant in exercise.spec.mutants():
            for key in _key_expressions(name):
                assert not _contains_key(mutant.description, key), (name, mutant.description)


def _by_change(made) -> dict:
    """Mutants by the change they make (their description without "the right computation with
    one change: ")."""
    prefix = f"{RIGHT} with one change: "
    assert all(m.description.startswith(prefix) for m in made)
    return {m.description.removeprefix(prefix): m.function for m in made}


def test_operators_make_what_they_describe():
    source = "import numpy as np\n\n\ndef f(a, b):\n    return np.sum(np.log(a) + b, axis=0)\n"
    made = _by_change(mutants(source, "f", load=lambda _: ""))
    a, b = np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([[0.5, 0.5], [1.0, 2.0]])
    log10 = (
        "a log in base 10 (np.log10) where the natural log belongs, in the first of the 2 terms "
        "of a sum"
    )
    np.testing.assert_allclose(made[log10](a, b), np.sum(np.log10(a) + b, axis=0))
    over_1 = "the sum taken over axis 1 instead of axis 0"
    np.testing.assert_allclose(made[over_1](a, b), np.sum(np.log(a) + b, axis=1))
    np.testing.assert_allclose(
        made["b subtracted where it is added"](a, b), np.sum(np.log(a) - b, 0)
    )
    dropped = [d for d in made if d.startswith("a term (b) left out")]
    assert dropped and np.allclose(made[dropped[0]](a, b), np.sum(np.log(a), axis=0))
    elementwise = "an element-wise product (*) where the matrix product (@) belongs"
    made = _by_change(mutants(_MATMUL, "f", load=lambda _: ""))
    np.testing.assert_allclose(made[elementwise](a, b), (a * b) / (1 + a))
    ungrouped = [d for d in made if d.startswith("a pair of parentheses left out (around 1 + a)")]
    assert ungrouped and np.allclose(made[ungrouped[0]](a, b), (a @ b) / 1 + a)


_MATMUL = "def f(a, b):\n    return (a @ b) / (1 + a)\n"


def test_mutants_that_fail_or_write_into_their_arguments_are_harmless():
    source = (
        "import numpy as np\n\n\ndef f(x):\n    y = x.reshape(-1)\n    y[0] = y[0] + 1\n"
        "    return float(np.sum(x) / x.shape[0])\n"
    )
    x = np.arange(6.0).reshape(2, 3)
    before = x.copy()
    # The function: sum(x) / rows, with x[0, 0] raised by one first: 16 / 3 with rows -> cols.
    made = mutants(source, "f", load=lambda _: "")
    trial = ((x,), lambda out: np.isclose(out, 16 / 3), lambda out: not np.isclose(out, 8.0))
    found = matching(made, [trial])
    assert found == [
        f"{RIGHT} with one change: x.shape[1] where x.shape[0] belongs (columns for rows?)"
    ]
    np.testing.assert_array_equal(x, before)  # each mutant ran on a copy
    # Another case must agree too: on a (3, 3) array the two sizes are the same.
    square = np.ones((3, 3))
    assert matching(made, [trial, ((square,), lambda out: np.isclose(out, 10 / 3), None)]) == found
    assert matching(made, [trial, ((square,), lambda out: np.isclose(out, 4.0), None)]) == []


def test_solution_mutants_cover_every_exercise_without_a_judge():
    built_in = {e.name for e in COURSE}
    for exercise in exercises.list_exercises():
        if exercise.spec.judge is None:
            # npsae's solutions by default; any exercise's (an instructor's too) in its spec.
            if exercise.name in built_in:
                assert solution_mutants(exercise.filename, exercise.name), exercise.name
            assert exercise.spec.mutants is not None and exercise.spec.mutants(), exercise.name
        else:
            assert exercise.spec.mutants is None, exercise.name


# --------------------------------------------------------------------------- never the verdict


WRONG = [
    ("mse", _mse_centred_per_sample),
    ("sse", lambda X_hat, X: float(np.sum((X_hat - X) ** 2) / (2 * 5))),
    ("kl_penalty", _kl_log2_second_term),
    ("sigmoid_grad", lambda A: np.cos(A).astype(A.dtype)),
]


def _grade(name, fn, probe):
    exercise = exercises.get(name)
    planned = plan(exercise, 3)
    seen = [grading.observe(fn, p.case) for p in planned]
    return assess(exercise, planned, seen, probe=probe)


@pytest.mark.parametrize(("name", "fn"), WRONG, ids=[n for n, _ in WRONG])
def test_probes_never_change_the_verdict_or_the_points(name, fn):
    without = _grade(name, fn, None)

    def honest(calls):
        return [grading.observe(fn, grading.Case("probe", args)) for args in calls]

    def raising(calls):
        raise RuntimeError("the probes' process broke")

    def garbage(calls):
        return [grading.Observation(value={"not": "numbers"}) for _ in calls]

    def nothing(calls):
        return [None] * len(calls)

    for probe in (honest, raising, garbage, nothing, lambda calls: []):
        graded = _grade(name, fn, probe)
        assert (graded.status, graded.score, graded.groups) == (
            without.status,
            without.score,
            without.groups,
        )
    for probe in (raising, garbage, nothing):
        assert _grade(name, fn, probe).message == without.message


def test_a_passing_exercise_runs_no_mutant_and_no_probe(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a passing exercise must cost nothing extra")

    monkeypatch.setattr(explainers, "matching", refuse)
    monkeypatch.setattr(explainers, "_functions", refuse)
    monkeypatch.setattr(probes, "plan", refuse)
    right = exercises.get("kl_penalty").spec.reference
    assert exercises.check("kl_penalty", right, seed=0).passed


# What the student's file does once it is called on inputs no case has: the probes'.
MISBEHAVIOURS = {
    "hangs": "while True:\n    pass",
    "crashes": "os.kill(os.getpid(), signal.SIGKILL)",
    "floods": "while True:\n    print('x' * 100000)",
    "exits": "os._exit(3)",
    "raises": "raise RuntimeError('probe')",
}


def _write_mse(folder: Path, misbehaviour: str) -> None:
    # A wrong mse (centred per sample) that misbehaves only on shapes the cases never have.
    shapes = {c.args[0].shape for c in exercises.get("mse").spec.cases(np.random.default_rng(0))}
    body = textwrap.indent(misbehaviour, "        ")
    (folder / "mse.py").write_text(
        "import os\nimport signal\n\nimport numpy as np\n\n\n"
        "def mse(X_hat, X):\n"
        f"    if X.shape not in {sorted(shapes)!r}:\n{body}\n"
        "    d = X_hat - X\n"
        "    return float(np.mean((d - d.mean(axis=1, keepdims=True)) ** 2))\n"
    )


@pytest.mark.parametrize("what", list(MISBEHAVIOURS))
def test_misbehaviour_at_probe_time_cannot_touch_the_verdict(tmp_path, what):
    plain, bad = tmp_path / "plain", tmp_path / "bad"
    for folder, misbehaviour in ((plain, "pass"), (bad, MISBEHAVIOURS[what])):
        folder.mkdir()
        _write_mse(folder, misbehaviour)
    (expected,) = exercises.check_dir(plain, ["mse"], seed=5, timeout=20)
    (got,) = exercises.check_dir(bad, ["mse"], seed=5, timeout=20)
    assert got.status == expected.status == exercises.FAILED
    assert (got.score, got.groups) == (expected.score, expected.groups)
    # The probes on the cases' own shapes may still tell something; none is made up.
    assert "is a mean subtracted" in expected.message
    assert got.message in (expected.message, *expected.diagnostics) or got.message.startswith(
        "when"
    ), str(got)


def test_probe_inputs_are_built_from_the_public_case_and_checked_by_the_reference():
    spec = exercises.get("kl_penalty").spec
    case = spec.cases(np.random.default_rng(spec.seed))[0]
    made = probes.plan(spec, case)
    assert made, "the KL penalty has probes"
    for probe in made:
        again = grading.expected_outputs(spec, dataclasses.replace(case, args=probe.args))
        assert np.isfinite(probe.expected["result"]) and again == probe.expected
    # -H leaves the domain the stub states, (0, 1): the reference would give a number, but
    # one that means nothing.
    assert not any("negated" in p.what for p in made)


def _topk_in_order(sort):
    def topk_grad(Z, dH, k):
        kept = np.zeros(Z.shape, bool)
        np.put_along_axis(kept, sort(-Z)[:, :k], True, axis=1)
        return np.where(kept & (Z > 0), dH, 0).astype(dH.dtype)

    return topk_grad


@pytest.mark.parametrize(
    "sort",
    [
        lambda key: np.argsort(key, axis=1, kind="heapsort"),
        lambda key: np.argsort(key, axis=1),
        lambda key: np.argpartition(key, 2, axis=1),
    ],
    ids=["heapsort", "default sort", "argpartition"],
)
def test_topk_enforces_the_tie_rule_its_stub_states(sort):
    """The stub promises: of equal values the lower index is kept. A TopK whose sort orders
    ties otherwise is right on every random case and must still fail, on the ties case."""
    assert "the lower index is kept" in " ".join(exercises.stub_source("topk_grad").split())
    result = exercises.check("topk_grad", _topk_in_order(sort), seed=0)
    assert result.status == exercises.FAILED
    assert "ties broken the wrong way" in result.message, str(result)
    assert "ties at the k-th largest value" in result.diagnostics[0]
    stable = _topk_in_order(lambda key: np.argsort(key, axis=1, kind="stable"))
    assert exercises.check("topk_grad", stable, seed=0).passed


def _adam_bias_correction_powered(p, g, m, v, t, lr, beta1, beta2, eps):
    """Adam with (1 - beta)^t for 1 - beta^t: on one float32 case its step is within p's
    tolerance of a mutant's (1 + beta1^t), on the others it is not."""
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g * g
    return p - lr * (m / (1 - beta1) ** t) / (np.sqrt(v / (1 - beta2) ** t) + eps), m, v


def test_a_mutant_that_agrees_on_one_case_only_is_not_named():
    result = exercises.check("adam_step", _adam_bias_correction_powered, seed=0)
    assert result.status == exercises.FAILED
    assert "one change" not in result.message, str(result)
    assert "the error is in the bias correction or in the step on p" in str(result)


def _debug_backward_sign_changed(X, W1, b1, W2, b2, rho, beta):
    """The debugging stub's code with the KL gradient subtracted: its bug (the sigmoid's
    derivative on a linear output) left where it is."""
    m = X.shape[0]
    H = _sig(X @ W1 + b1)
    X_hat = H @ W2 + b2
    dZ2 = (X_hat - X) / m * X_hat * (1 - X_hat)
    r = H.mean(axis=0)
    kl = np.broadcast_to(beta / m * (-rho / r + (1 - rho) / (1 - r)), H.shape)
    dZ1 = (dZ2 @ W2.T - kl) * H * (1 - H)
    return {"W1": X.T @ dZ1, "b1": dZ1.sum(0), "W2": H.T @ dZ2, "b2": dZ2.sum(0)}


def test_a_change_to_a_debugging_stub_that_is_not_its_fix_is_named():
    result = exercises.check("debug_backward", _debug_backward_sign_changed, seed=0)
    assert result.status == exercises.FAILED
    assert "the stub's buggy code with one change" in result.message, str(result)
    assert "subtracted where it is added" in result.message, str(result)


def test_a_factor_is_named_after_the_inputs_only_when_every_case_agrees():
    # Adam returning its bias-corrected moments: m is 1/(1 - beta1^t) too large, 10 when t=1,
    # which on a (4, 5) case equals 2 x p.shape[1] by chance; other cases have other t.
    def adam_step(p, g, m, v, t, lr, beta1, beta2, eps):
        m = (beta1 * m + (1 - beta1) * g) / (1 - beta1**t)
        v = (beta2 * v + (1 - beta2) * g**2) / (1 - beta2**t)
        return p - lr * m / (np.sqrt(v) + eps), m, v

    result = exercises.check("adam_step", adam_step)
    assert not result.passed and "shape" not in result.message, str(result)
    # Two changes, each a mutant: both are named, and the description of the values under them.
    assert result.explainer == "pair", str(result)
    assert "m_hat where m belongs" in result.message and "v_hat where v belongs" in result.message
    assert "depends on the inputs" in str(result), str(result)

    # A true size factor still gets its name when it holds on every case, and only then.
    rng = np.random.default_rng(0)
    want, want_e = rng.normal(size=(4, 7)), rng.normal(size=(3, 9))
    inputs, inputs_e = {"X": np.ones((4, 7))}, {"X": np.ones((3, 9))}
    agrees = [diagnosis.Elsewhere(9 * want_e, want_e, inputs_e, 3)]
    named = diagnosis.explain(7 * want, want, 1e-6, inputs, 4, agrees).message
    assert "X.shape[1]" in named, named
    differs = [diagnosis.Elsewhere(7 * want_e, want_e, inputs_e, 3)]
    unnamed = diagnosis.explain(7 * want, want, 1e-6, inputs, 4, differs).message
    assert "shape" not in unnamed and "depends on the inputs" not in unnamed, unnamed


def test_one_number_broadcast_everywhere_is_named():
    want = np.array([0.3, -1.2, 2.0, 0.7, 1.1])
    got = diagnosis.explain(np.full(5, want.sum()), want, 1e-6)
    assert "every entry of your result is the same number" in got.message
    assert "the sum of the expected entries" in got.message
    # An expected result that is itself one number everywhere is no such mistake.
    flat = diagnosis.explain(np.full(5, 3.0), np.full(5, 2.0), 1e-6)
    assert "same number" not in flat.message


def test_a_rough_factor_is_named_as_rough():
    rng = np.random.default_rng(0)
    want = rng.normal(size=(4, 6))
    got = 0.5 * want + 1e-3 * rng.normal(size=want.shape)
    message = diagnosis.explain(got, want, 1e-6).message
    assert "roughly 0.5x the expected values everywhere, but not exactly" in message
    # Far from any uniform factor: no rough factor is claimed.
    assert "roughly" not in diagnosis.explain(rng.normal(size=want.shape), want, 1e-6).message


def _numerical_gradient_all_at_once(f, x, eps):
    d = (f(x + eps) - f(x - eps)) / (2 * eps)
    return np.full(x.shape, d, dtype=np.float64)


def test_a_gradient_with_every_entry_shifted_at_once_is_named():
    result = exercises.check("numerical_gradient", _numerical_gradient_all_at_once, seed=0)
    assert result.status == exercises.FAILED
    assert "every entry of your result is the same number" in result.message, str(result)


def _mse_of_an_empty_slice(X_hat, X):
    tail = (X_hat - X)[len(X) :]  # past the last row: no rows at all
    return float(np.max(tail**2))


def test_a_crash_names_the_empty_arrays_of_the_students_frame():
    result = exercises.check("mse", _mse_of_an_empty_slice, seed=0)
    assert result.status == exercises.FAILED
    assert "raised ValueError" in result.message
    where = " ".join(result.diagnostics)
    assert "empty arrays there: tail (0, " in where, str(result)


def test_a_training_loop_that_never_updates_is_told_so():
    from npsae.exercises import training_exercise

    rng = np.random.default_rng(0)
    X = (rng.random((50, 64)) < 0.2).astype(np.float64)
    params = {"W1": rng.normal(0, 0.1, (64, 8)), "b1": np.zeros(8),
              "W2": rng.normal(0, 0.1, (8, 64)), "b2": np.zeros(64)}  # fmt: skip
    assert "never updated" in training_exercise._no_learning(params, X, 0.25)
    params = {**params, "b1": np.ones(8), "b2": np.ones(64)}
    message = training_exercise._no_learning(params, X, 0.25)
    assert "no better than always answering the mean image" in message
    assert "mean image" not in training_exercise._no_learning(params, X, 1e-3)
    only_b1 = training_exercise._no_learning({**params, "b1": np.zeros(8)}, X, 0.25)
    assert "no gradient reached the hidden units" in only_b1
    zero_init = {**params, "W1": np.zeros((64, 8)), "b1": np.zeros(8)}
    assert "W1 is all zeros" in training_exercise._no_learning(zero_init, X, 0.25)


def _sigmoid_clipped(Z):
    return 1 / (1 + np.exp(-np.clip(Z, -10, 10)))


def test_an_error_beyond_a_threshold_of_an_input_is_located():
    Z = np.linspace(-30, 30, 24).reshape(4, 6)
    want = 1 / (1 + np.exp(-Z))
    message = diagnosis.explain(_sigmoid_clipped(Z), want, 1e-8, {"Z": Z}).message
    assert "wrong only where |Z| >= " in message, message
    one_sided = np.where(Z > 12, 0.5, want)
    message = diagnosis.explain(one_sided, want, 1e-8, {"Z": Z}).message
    assert "wrong only where Z >= " in message, message


def _adamw_decay_in_g_and_in_the_step(p, g, m, v, t, lr, beta1, beta2, eps, wd):
    """A partial fix: the decoupled decay added to the step, the colleague's g + wd p kept."""
    g = g + wd * p
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g * g
    m_hat, v_hat = m / (1 - beta1**t), v / (1 - beta2**t)
    return p - lr * (m_hat / (np.sqrt(v_hat) + eps) + wd * p), m, v


def test_a_mistake_that_misses_an_output_the_student_has_right_is_not_named():
    # With lr = wd = 0.01, the stub's code is within float32's tolerance of this result on p
    # (lr wd p = 1e-4 p) but the student's p is the expected one: the student's result is not
    # the stub's. (No value case has so small a decay: there a missing decay would not show.)
    spec = exercises.get("debug_adamw").spec
    case = next(c for c in spec.cases(np.random.default_rng(0)) if c.dtype == np.float32)
    case = dataclasses.replace(case, args=(*case.args[:5], 0.01, *case.args[6:9], 0.01))
    before, expected = grading.snapshot(case), grading.expected_outputs(spec, case)
    seen = grading.observe(_adamw_decay_in_g_and_in_the_step, case)
    status, message, _ = grading.judge(spec, case, seen, expected, before).failure
    assert status == exercises.FAILED
    assert "still the stub's code" not in message, message
    assert "wrong: m, v (right: p)" in message
    assert "m and v are wrong but p is right" in message
    assert "nothing added to it, such as a decay" in message


def _adam_returning_corrected_moments(p, g, m, v, t, lr, beta1, beta2, eps):
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g * g
    m, v = m / (1 - beta1**t), v / (1 - beta2**t)
    return p - lr * m / (np.sqrt(v) + eps), m, v


def test_moments_wrong_with_a_right_step_point_at_what_is_returned():
    result = exercises.check("adam_step", _adam_returning_corrected_moments, seed=0)
    assert result.status == exercises.FAILED
    assert "wrong: m, v (right: p)" in result.message, str(result)
    assert "not the bias-corrected m^ and v^" in result.message


def test_a_threshold_that_chance_would_give_is_not_named():
    # 3 wrong entries of 7 lie above a threshold of one of four inputs by chance often enough.
    rng = np.random.default_rng(1)
    inputs = {name: rng.normal(size=7) for name in ("p", "g", "m", "v")}
    want = rng.normal(size=7)
    got = np.where(inputs["v"] >= np.sort(inputs["v"])[-3], want + 1.0, want)
    assert "wrong only where" not in diagnosis.explain(got, want, 1e-8, inputs).message


def test_a_selection_over_the_whole_array_is_told_by_its_row_counts():
    want = np.array([[3.0, 0, 0], [0, 2.0, 0], [1.0, 0, 0]])
    got = np.array([[3.0, 5.0, 0], [0, 2.0, 0], [0, 0, 0]])  # 3 kept in all, 2-0-1 by row
    message = diagnosis.explain(got, want, 1e-8, {"Z": want + 7}).message
    assert "as many entries pass in all, but not row by row" in message, message


def _centred_differences(f, x, eps):
    numeric = np.zeros_like(x)
    for i in range(x.size):
        old = x.flat[i]
        x.flat[i] = old + eps
        up = f(x)
        x.flat[i] = old - eps
        down = f(x)
        x.flat[i] = old
        numeric.flat[i] = (up - down) / (2 * eps)
    return numeric


def _check_with_mean_error(f, x, analytic, eps):
    numeric = _centred_differences(f, x, eps)
    diff = np.abs(analytic - numeric) / np.maximum(np.abs(analytic) + np.abs(numeric), 1e-12)
    return float(diff.mean())


def _check_with_absolute_error(f, x, analytic, eps):
    return float(np.max(np.abs(analytic - _centred_differences(f, x, eps))))


def _check_on_a_copy(f, x, analytic, eps):
    numeric = _centred_differences(f, x.copy(), eps)  # f may read x itself: it never sees these
    diff = np.abs(analytic - numeric) / np.maximum(np.abs(analytic) + np.abs(numeric), 1e-12)
    return float(diff.max())


@pytest.mark.parametrize(
    ("fn", "words"),
    [
        (_check_with_mean_error, "an average over the entries dilutes them"),
        (_check_with_absolute_error, "an error that is not divided by the gradients' size"),
        (_check_on_a_copy, "perturb x in place, never a copy"),
    ],
)
def test_a_gradient_check_that_misses_is_told_why(fn, words):
    result = exercises.check("gradient_check", fn, seed=0)
    assert result.status == exercises.FAILED
    assert words in str(result), str(result)


def test_a_clip_within_the_slack_is_still_located():
    # Off by at most 1e-7: within every pattern's slack, but wrong only at the extreme inputs.
    def clipped(Z):
        return np.clip(1 / (1 + np.exp(-Z)), 1e-7, 1 - 1e-7).astype(Z.dtype)

    result = exercises.check("sigmoid", clipped, seed=0)
    assert result.status == exercises.FAILED
    assert "wrong only where |Z| >= " in result.message, str(result)


def _numerical_gradient_restored_by_arithmetic(f, x, eps):
    grad = np.zeros(x.shape)
    for i in range(x.size):
        x.flat[i] += eps
        up = f(x)
        x.flat[i] -= 2 * eps
        down = f(x)
        x.flat[i] += eps  # rounding: not always the value it was
        grad.flat[i] = (up - down) / (2 * eps)
    return grad


def test_an_argument_changed_by_rounding_only_is_told_so():
    result = exercises.check(
        "numerical_gradient", _numerical_gradient_restored_by_arithmetic, seed=0
    )
    assert result.status == exercises.FAILED
    assert "left its argument x changed by rounding only" in result.message, str(result)
    assert "write the saved value back" in result.message


def test_nan_exactly_where_an_input_is_zero_is_located():
    def sign_by_division(H, beta):
        return (beta / H.shape[0] * H / np.abs(H)).astype(H.dtype)

    result = exercises.check("l1_penalty_grad", sign_by_division, seed=0)
    assert result.status == exercises.FAILED
    assert "exactly where H == 0: a division by 0" in result.message, str(result)


def test_a_wrong_row_of_a_selection_says_how_many_entries_pass():
    want = np.array([[1.0, 0, 2.0, 0], [0, 3.0, 0, 4.0], [5.0, 0, 0, 6.0]])
    got = want.copy()
    got[1, 2] = 7.0  # one entry too many passes in row 1
    message = diagnosis.explain(got, want, 1e-8).message
    assert "only entry (1, 2) is wrong" in message or "3 nonzero entries where 2" in message
    got = want.copy()
    got[1] = [0, 3.0, 9.0, 4.0]
    got[1, 3] = 0.0  # as many pass, in other places
    message = diagnosis.explain(got, want, 1e-8).message
    assert "only row 1 is wrong" in message and "in other places" in message, message


def test_a_wrong_shape_is_named_after_the_inputs_sizes():
    def returns_hidden(X, W1, b1, W2, b2):
        H = 1 / (1 + np.exp(-(X @ W1 + b1)))
        _ = 1 / (1 + np.exp(-(H @ W2 + b2)))
        return H

    result = exercises.check("forward", returns_hidden, seed=0)
    assert result.status == exercises.FAILED
    assert "yours is X.shape[0] x W1.shape[1]" in result.message, str(result)
