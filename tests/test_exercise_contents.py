"""What the exercises teach: instructor solutions that pass, stubs and tutorials that do not give
the answers away, every catalogued mistake named, a useful diagnosis for uncatalogued ones,
debugging stubs that fail, and judges that tell a working gradient check or training loop from
a broken one."""

import argparse
import ast
import re
import sys
from pathlib import Path

import numpy as np
import pytest

from npsae import exercises
from npsae.cli import exercises as cli
from npsae.exercises.grading import Case, as_outputs
from npsae.exercises.loader import load_function
from npsae.exercises.training_exercise import SETTINGS

EXERCISES = exercises.list_exercises()
NAMES = [e.name for e in EXERCISES]
ROOT = Path(__file__).resolve().parent.parent
# Where the tutorials live: tutorials/ (scripts) or npsae/tutorials/ (if moved), any format.
TUTORIALS = sorted(
    p
    for folder in (ROOT / "tutorials", ROOT / "npsae" / "tutorials")
    for pattern in ("*.py", "*.ipynb", "*.md")
    for p in folder.glob(pattern)
)
# The exercises whose answer is derived (or, for debugging, found), not stated by the stub.
DERIVED = [e.name for e in EXERCISES if e.derived]


def run(argv, capsys):
    parser = argparse.ArgumentParser(prog="npsae")
    cli.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["exercises", *map(str, argv)])
    status = args.func(args)
    return status, capsys.readouterr().out


# --------------------------------------------------------------------------- solutions


def test_solutions_pass_through_the_students_file_path(tmp_path, capsys):
    status, out = run(["solutions", tmp_path], capsys)
    assert status == 0 and out.count("wrote ") == len(NAMES)
    results = exercises.check_dir(tmp_path)
    assert [r.name for r in results] == NAMES
    assert all(r.passed for r in results), "\n".join(str(r) for r in results if not r.passed)
    status, out = run(["check", tmp_path], capsys)
    assert status == 0 and f"{len(NAMES)} of {len(NAMES)} passed" in out


def test_solutions_pass_on_other_seeds(tmp_path):
    """The cases a grader draws from other seeds (hidden cases) are as fair as the public ones:
    the solutions pass them, the training loop included."""
    exercises.write_solutions(tmp_path)
    for e in EXERCISES:
        fn = load_function(tmp_path / e.filename, e.name)
        for seed in (101, 202) if e.name != "train" else (303,):
            # The grading seed draws the hidden cases, on top of the public ones.
            result = exercises.check(e.name, fn, seed=seed)
            assert result.passed, (seed, str(result))


def test_solutions_never_overwrite(tmp_path, capsys):
    mine = tmp_path / exercises.get("mse").filename
    mine.write_text("my own work\n")
    written, kept = exercises.write_solutions(tmp_path)
    assert kept == [mine] and len(written) == len(NAMES) - 1
    assert mine.read_text() == "my own work\n"
    status, out = run(["solutions", tmp_path, "mse"], capsys)
    assert status == 0 and "kept" in out and "never overwritten" in out
    assert mine.read_text() == "my own work\n"


@pytest.mark.parametrize("name", NAMES)
def test_solution_is_plain_numpy(name):
    source = exercises.solution_source(name)
    imported = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            imported |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add(node.module.split(".")[0])
    siblings = {e.filename[:-3] for e in EXERCISES}
    assert imported <= {"numpy", "struct", "collections", *siblings}, imported
    assert "npsae" not in source


def test_solution_files_are_the_exercises():
    folder = Path(exercises.__file__).parent / "solutions"
    # npsae's own: every exercise but those of an instructor's folder ($NPSAE_EXERCISES).
    own = [e.filename for e in EXERCISES if e.name not in dict(exercises.course().solutions.files)]
    assert sorted(p.name for p in folder.glob("*.py")) == sorted(own)


# --------------------------------------------------------------------------- no answers given


def _key_expressions(name: str) -> list[tuple[str, str | None]]:
    """The lines the solution marks ``# key`` (its derived result), each as (the statement,
    the expression it computes), normalised by ``ast.unparse``."""
    keys = []
    for line in exercises.solution_source(name).splitlines():
        if "# key" not in line:
            continue
        code = line.split("# key")[0].strip().rstrip(",")
        code = re.sub(r'^"\w+":\s*', "", code)  # an entry of a dict literal: its value
        code = re.sub(r"^return\s+", "", code)
        node = ast.parse(code).body[0]
        if isinstance(node, ast.Assign):
            keys.append((ast.unparse(node), ast.unparse(node.value)))
        else:
            keys.append((ast.unparse(node), ast.unparse(node)))
    return keys


def _code_pieces(source: str) -> set[str]:
    """Every statement and expression of ``source`` (Python, or a notebook's code cells)."""
    pieces = set()
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return pieces
    for node in ast.walk(tree):
        if isinstance(node, (ast.stmt, ast.expr)):
            pieces.add(ast.unparse(node))
    return pieces


def _contains_key(text: str, key: tuple[str, str]) -> bool:
    """Whether ``text`` holds the key statement, or its expression as code or as text."""
    statement, expression = key
    pieces = _code_pieces(text)
    squeezed = re.sub(r"\s+", "", text)
    long_expression = len(re.sub(r"\s+", "", expression)) >= 12
    return (
        statement in pieces
        or (long_expression and expression in pieces)
        or (long_expression and re.sub(r"\s+", "", expression) in squeezed)
    )


def _notebook_text(path: Path) -> str:
    if path.suffix != ".ipynb":
        return path.read_text()
    import json

    cells = json.loads(path.read_text())["cells"]
    return "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")


def test_derived_exercises_mark_their_key_expressions():
    for name in DERIVED:
        assert _key_expressions(name), f"the solution of {name} marks no '# key' line"


@pytest.mark.parametrize("name", DERIVED)
def test_stub_does_not_contain_its_solution(name):
    stub = exercises.stub_source(name)
    for key in _key_expressions(name):
        assert not _contains_key(stub, key), f"the stub of {name} holds {key[0]!r}"


def test_key_check_would_see_a_leak():
    """The check itself: the solution's own text, or its formula in a docstring, is caught."""
    key = _key_expressions("l1_penalty_grad")[0]
    assert _contains_key(exercises.solution_source("l1_penalty_grad"), key)
    assert _contains_key('"""dP/dH = beta / H.shape[0] * np.sign(H)"""', key)
    stmt = _key_expressions("debug_backward")[0]
    assert _contains_key("dZ2 = dX_hat\n", stmt)
    assert not _contains_key(exercises.stub_source("debug_backward"), stmt)


def test_tutorials_do_not_contain_exercise_solutions():
    assert len(TUTORIALS) >= 9, TUTORIALS
    for path in TUTORIALS:
        text = _notebook_text(path)
        for name in DERIVED:
            for key in _key_expressions(name):
                assert not _contains_key(text, key), f"{path.name} holds {name}'s {key[0]!r}"


def test_tutorial_backprop_is_not_an_exercise_answer():
    """Tutorial 04's backward pass (sigmoid units, sse, KL, weight decay), run as a student's
    answer to every backward exercise, fails each: it shows a different configuration."""
    source = next(
        p for p in TUTORIALS if p.name.startswith("04_") and p.suffix == ".py"
    ).read_text()
    tree = ast.parse(source)
    (fn,) = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "backprop"]
    from npsae.penalties import kl_divergence_grad
    from npsae.reference import sigmoid, sigmoid_grad

    def as_answer(rho, beta, lam):
        namespace = dict(np=np, sigmoid=sigmoid, sigmoid_grad=sigmoid_grad, rho=rho, beta=beta)
        namespace.update(kl_divergence_grad=kl_divergence_grad, lam=lam)
        exec(compile(ast.Module([fn], []), "tutorial 04", "exec"), namespace)
        return namespace["backprop"]

    def params(W1, b1, W2, b2):
        return {"W1": W1, "b1": b1, "W2": W2, "b2": b2}

    answers = {
        "backward": lambda X, W1, b1, W2, b2, rho, beta: as_answer(rho, beta, 0.0)(
            params(W1, b1, W2, b2), X
        ),
        "backward_decay": lambda X, W1, b1, W2, b2, hidden, beta, lam: as_answer(0.05, beta, lam)(
            params(W1, b1, W2, b2), X
        ),
        "debug_backward": lambda X, W1, b1, W2, b2, rho, beta: as_answer(rho, beta, 0.0)(
            params(W1, b1, W2, b2), X
        ),
    }
    for name, fn in answers.items():
        result = exercises.check(name, fn)
        assert not result.passed, name


# --------------------------------------------------------------------------- catalogued mistakes


def _student_making(spec, mistake):
    """A student's function that makes ``mistake`` wherever it shows (answering right
    elsewhere), and the list that receives (case, wrong output) of the first call it shows on."""
    has_m = spec.cases(np.random.default_rng(spec.seed))[0].m is not None
    first = []

    def student(*args):
        arrays = [a for a in args if isinstance(a, np.ndarray)]
        dtype = next((a.dtype for a in arrays if a.dtype.kind == "f"), np.dtype(np.float64))
        m = args[0].shape[0] if has_m else None
        # float32 converted, float64 passed as is: f may read x itself (as the grader does)
        f64 = tuple(a.astype(np.float64) if isinstance(a, np.ndarray) and a.dtype == np.float32
                    else a for a in args)  # fmt: skip
        with np.errstate(all="ignore"):
            expected = as_outputs(spec.reference(*f64), spec.returns)
            wrong = mistake.output(Case("a case", f64, dtype, m), expected)
        out = expected if wrong is None else wrong
        out = {k: v.astype(dtype) if isinstance(v, np.ndarray) and v.dtype.kind == "f" else v
               for k, v in out.items()}  # fmt: skip
        if wrong is not None and not first:
            first.append((Case("a case", f64, dtype, m), expected, wrong))
        if spec.returns_dict:
            return out
        return out[spec.returns[0]] if len(spec.returns) == 1 else tuple(out.values())

    return student, first


def _same(a, b) -> bool:
    try:
        return bool(np.allclose(np.asarray(a, float), np.asarray(b, float), equal_nan=True))
    except (TypeError, ValueError):
        return str(a) == str(b)


@pytest.mark.parametrize("name", NAMES)
def test_every_catalogued_mistake_is_named(name):
    """Each mistake of the catalogue, made by a student, is rejected with its own message (or
    that of an earlier mistake whose output is the same on the case where it fails)."""
    spec = exercises.get(name).spec
    for mistake in spec.mistakes:
        student, first = _student_making(spec, mistake)
        result = exercises.check(name, student)
        assert not result.passed, mistake.message
        case, expected, wrong = first[0]
        same = []
        for m in spec.mistakes:
            with np.errstate(all="ignore"):
                out = m.output(case, expected)
            if out is not None and all(_same(out[k], wrong[k]) for k in wrong):
                same.append(m.message)
        assert result.message in same, (mistake.message, str(result))


# --------------------------------------------------------------------------- generic diagnosis

# (exercise, an uncatalogued mistake, words the diagnosis must contain)


def _sig(Z):
    return 1 / (1 + np.exp(-Z))


def _bd(X, W1, b1, W2, b2, hidden, beta, lam, **bug):
    """A student's backward_decay with one uncatalogued mistake switched on by ``bug``."""
    m, n = X.shape
    Z1 = X @ W1 + b1
    H = np.maximum(Z1, 0) if hidden == "relu" else _sig(Z1)
    X_hat = _sig(H @ W2 + b2)
    dZ2 = 2 / (m * n) * (X_hat - X) * (X_hat * (1 - X_hat) if bug.get("out_derivative", 1) else 1)
    dZ1 = (dZ2 @ W2.T + beta / m) * ((Z1 > 0) if hidden == "relu" else H * (1 - H))
    g = {"W1": X.T @ dZ1 + lam * W1, "b1": dZ1.sum(0), "W2": H.T @ dZ2 + lam * W2,
         "b2": dZ2.sum(0)}  # fmt: skip
    if "w1_factor" in bug:
        g["W1"] = g["W1"] * bug["w1_factor"]
    if bug.get("w2_sign"):
        g["W2"] = -g["W2"]
    if bug.get("row"):
        g["W1"] = g["W1"].copy()
        g["W1"][1] *= 3
    if bug.get("column"):
        g["W2"] = g["W2"].copy()
        g["W2"][:, 2] = 0
    if "b2_offset" in bug:
        g["b2"] = g["b2"] + bug["b2_offset"]
    if "decay" in bug:
        g["W2"] = g["W2"] + bug["decay"] * lam * W2
    return g


GENERIC = [
    ("backward_decay", lambda *a: _bd(*a, w1_factor=2.0), "W1: your result is 2x the expected"),
    ("backward_decay", lambda *a: _bd(*a, w1_factor=3.0), "3x the expected value everywhere"),
    ("backward_decay", lambda *a: _bd(*a, w2_sign=True), "W2: sign flipped"),
    ("backward_decay", lambda *a: _bd(*a, row=True), "only row 1 is wrong"),
    ("backward_decay", lambda *a: _bd(*a, column=True), "only column 2 is wrong"),
    ("backward_decay", lambda *a: _bd(*a, b2_offset=0.01), "b2: off by a constant"),
    ("backward_decay", lambda *a: _bd(*a, decay=3.0), "x W2: a term proportional to W2"),
    ("backward_decay", lambda *a: _bd(*a, w1_factor=2.0), "wrong: W1 (right: b1, W2, b2)"),
    ("sigmoid_grad", lambda A: 3 * A * (1 - A), "3x the expected value everywhere"),
    ("sigmoid_grad", lambda A: A * (1 - A) + 0.1, "off by a constant: got - expected = 0.1"),
    ("sigmoid_grad", lambda A: A * (1 - A) + 2e-4, "close, but off by a constant"),
    (
        "backward_decay",
        lambda *a: {**_bd(*a), "W2": _bd(*a)["W2"] + a[-1] * (np.sum(a[3]) - a[3])},
        "off by a constant plus a multiple of W2",
    ),
    ("adam_step", lambda p, g, m, v, *r: adam_swapped(p, g, m, v, *r), "m: holds what v"),
    ("l1_penalty_grad", lambda H, beta: (beta / len(H) * np.sign(H)).T, "transposed?"),
    ("topk_grad", lambda Z, dH, k: square_transposed(Z, dH, k), "transposed"),
    ("kl_penalty", lambda H, rho, beta: 7.0, "expected"),
    ("backward_decay", lambda *a: _bd(*a, row=True), "db1 is right, so the error is in the line"),
    ("backward_decay", lambda *a: _bd(*a, out_derivative=False), "the error is in dZ2"),
    ("sigmoid_grad", lambda A: A * (1 - A) ** 2, "the expected one times (1 - A)"),
    ("sigmoid", lambda Z: _sig(Z).astype(np.float16), "float16 result for float32 input"),
    ("l1_penalty_grad", lambda H, b: (b / len(H) * (H > 0)).astype(H.dtype), "only where H < 0"),
    ("topk_grad", lambda Z, dH, k: topk_keeping(Z, dH, k + 2), "the selection of entries is wrong"),
    ("topk_grad", lambda Z, dH, k: topk_keeping(Z, dH, k + 1), "k + 1 where k belongs"),
    (
        "kl_penalty_grad",
        lambda H, r, b: kl_repeated(H, r, b),
        "the right values in the wrong places",
    ),
    ("numerical_gradient", lambda f, x, eps: first_axis_only(f, x, eps), "never computed"),
    (
        "adam_step",
        lambda p, g, *r: (p + 2 * (adam_swapped(p, g, *r)[0] - p), *r[:2]),
        "change from p",
    ),
    ("adam_step", lambda p, g, m, v, *r: adam_m_weight(p, g, m, v, *r), "look at the update of m"),
]


def adam_m_weight(p, g, m, v, t, lr, beta1, beta2, eps):
    """Adam whose m averages with v's weights (1 - beta2)."""
    m = beta1 * m + (1 - beta2) * g
    v = beta2 * v + (1 - beta2) * g * g
    return p - lr * m / (1 - beta1**t) / (np.sqrt(v / (1 - beta2**t)) + eps), m, v


def topk_keeping(Z, dH, k):
    return exercises.get("topk_grad").spec.reference(Z, dH, min(k, Z.shape[1]))


def kl_repeated(H, rho, beta):
    m, r = len(H), H.mean(axis=0)
    c = beta / m * (-rho / r + (1 - rho) / (1 - r))
    return np.repeat(c, m).reshape(H.shape).astype(H.dtype)


def first_axis_only(f, x, eps):
    from npsae.gradcheck import numerical_gradient

    return numerical_gradient(f, x, eps, indices=np.arange(x.shape[0]))


def adam_swapped(p, g, m, v, t, lr, beta1, beta2, eps):
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g * g
    p = p - lr * m / (1 - beta1**t) / (np.sqrt(v / (1 - beta2**t)) + eps)
    return p, v, m


def square_transposed(Z, dH, k):
    """Right on non-square cases, the transpose of the answer on square ones."""
    spec = exercises.get("topk_grad").spec
    right = spec.reference(Z, dH, k)
    return right.T.copy() if Z.shape[0] == Z.shape[1] else right


def test_topk_has_a_square_case_for_the_transpose_test():
    cases = exercises.get("topk_grad").spec.cases(np.random.default_rng(0))
    assert any(c.args[0].shape[0] == c.args[0].shape[1] for c in cases)


@pytest.mark.parametrize(
    ("name", "fn", "words"), GENERIC, ids=[f"{n}-{i}" for i, (n, _, _) in enumerate(GENERIC)]
)
def test_uncatalogued_mistake_gets_a_diagnosis(name, fn, words):
    result = exercises.check(name, fn)
    assert result.status == exercises.FAILED
    assert words in str(result), str(result)
    # Never only "wrong values": a shape of the error, or where in a backward pass it lies.
    assert "wrong values" not in result.message or "the error is in" in result.message


def _kl_value(H, rho, rho_hat, first=None, second=None):
    """KL(rho || rho_hat) summed over the units, either term's log argument replaceable."""
    first = rho / rho_hat if first is None else first
    second = (1 - rho) / (1 - rho_hat) if second is None else second
    return float(np.sum(rho * np.log(first) + (1 - rho) * np.log(second)))


def _relu_hidden(X, W1, b1, W2, b2):
    return _sig(np.maximum(X @ W1 + b1, 0) @ W2 + b2)


# Mistakes that the diagnosis once described only by a factor or as "wrong values", written as
# students wrote them: (exercise, the student's function, words the diagnosis must contain).
NAMED = [
    ("sigmoid", lambda Z: 0.5 * (1 + np.tanh(Z)), "sigma(2z)"),
    ("sigmoid", lambda Z: 1 / (1 - np.exp(-Z)), "a sign in the denominator"),
    ("forward", _relu_hidden, "ReLU hidden units"),
    ("forward", lambda X, W1, b1, W2, b2: np.maximum(_sig(X @ W1 + b1) @ W2 + b2, 0), "ReLU on"),
    ("forward", lambda X, W1, b1, W2, b2: _sig((_sig(X @ W1) + b1) @ W2 + b2), "b1 added after"),
    ("forward", lambda X, W1, b1, W2, b2: _sig(_sig(X @ W1 + b1) @ W1.T + b2), "tied weights"),
    ("mse", lambda X_hat, X: float(np.mean(X_hat - X) ** 2), "squared the mean difference"),
    ("sse", lambda X_hat, X: float(np.mean(np.abs(X_hat - X)) ** 2), "mean absolute difference"),
    (
        "mse",
        lambda X_hat, X: float(np.sqrt(np.sum((X_hat - X) ** 2)) / X.size),
        "square root of the summed squares",
    ),
    (
        "kl_penalty",
        lambda H, rho, beta: beta * _kl_value(H, rho, np.full(H.shape[1], H.mean())),
        "one mean",
    ),
    (
        "kl_penalty",
        lambda H, rho, beta: beta * _kl_value(H, rho, H.sum(0) / H.shape[1]),
        "by n_hidden, not by m",
    ),
    (
        "kl_penalty",
        lambda H, rho, beta: beta * _kl_value(H, rho, r := H.mean(0), second=(1 - r) / (1 - rho)),
        "the second term has its argument inverted",
    ),
    (
        "kl_penalty",
        lambda H, rho, beta: beta * _kl_value(H, rho, r := H.mean(0), first=rho ** (1 / r)),
        "takes rho alone",
    ),
    # A uniform factor that is a scalar argument, or its inverse, is named after it.
    ("kl_penalty", lambda H, rho, beta: beta**2 * _kl_value(H, rho, H.mean(0)), "a factor beta"),
    (
        "l1_penalty_grad",
        lambda H, beta: (beta**2 / len(H) * np.sign(H)).astype(H.dtype),
        "a factor beta = 0.1",
    ),
]


@pytest.mark.parametrize(
    ("name", "fn", "words"), NAMED, ids=[f"{n}-{i}" for i, (n, _, _) in enumerate(NAMED)]
)
def test_common_mistake_is_named(name, fn, words):
    result = exercises.check(name, fn)
    assert result.status == exercises.FAILED
    assert words in str(result), str(result)


def test_a_scalar_argument_of_two_is_not_named_as_a_factor():
    """beta = 2 would make every stray 2 "a factor beta": a factor 2 stays a 2."""
    from npsae.exercises.diagnosis import explain

    want = np.linspace(1, 2, 6)
    inputs = {"beta": np.asarray(2.0), "rho": np.asarray(0.3)}
    message = explain(2 * want, want, 1e-8, inputs).message
    assert "a 2 or a 1/2" in message and "beta" not in message
    assert "a factor 1/rho" in explain(want / 0.3, want, 1e-8, inputs).message


def test_diagnosis_shows_the_first_mismatch():
    result = exercises.check("sigmoid_grad", lambda A: A * (1 - A) * 1.5 + 0.01)
    assert any(d.startswith("first mismatch at index") for d in result.diagnostics), str(result)
    assert "expected" in str(result) and "got" in str(result)


# --------------------------------------------------------------------------- debugging


@pytest.mark.parametrize("name", ["debug_backward", "debug_adamw"])
def test_debugging_stub_holds_buggy_code_that_fails(name, tmp_path):
    exercise = exercises.get(name)
    assert exercise.body and "NotImplementedError" not in exercises.stub_source(name)
    exercises.start(tmp_path, [name])
    # Its earlier exercises, solved, as a student who reached it has them.
    exercises.write_solutions(tmp_path, [n for n in exercise.builds_on if n != "gradient_check"])
    (result,) = exercises.check_dir(tmp_path, [name])
    assert result.status == exercises.FAILED
    assert result.message.startswith("this is still the stub's code"), str(result)


def test_debugging_stubs_differ_in_their_bugs():
    a, b = (exercises.get(n).body for n in ("debug_backward", "debug_adamw"))
    assert "sigmoid_grad(X_hat)" in a and "g = g + wd * p" in b


# --------------------------------------------------------------------------- judged exercises


def absolute_check(f, x, a, eps):
    from npsae.gradcheck import numerical_gradient

    return float(np.max(np.abs(numerical_gradient(f, x, eps) - a)))


@pytest.mark.parametrize(
    ("checker", "words"),
    [
        (lambda f, x, a, eps: 0.0, "on a wrong gradient"),
        (lambda f, x, a, eps: 1.0, "on a right gradient"),
        (absolute_check, "on a right gradient your check returned"),
        (lambda f, x, a, eps: float("nan"), "a relative error is a number >= 0"),
        (lambda f, x, a, eps: "small", "expected a single number"),
    ],
)
def test_gradient_check_judge_rejects_broken_checkers(checker, words):
    result = exercises.check("gradient_check", checker)
    assert not result.passed and words in str(result), str(result)


def mean_check(f, x, a, eps):
    from npsae.gradcheck import numerical_gradient

    n = numerical_gradient(f, x, eps)
    return float(np.mean(np.abs(a - n) / np.maximum(np.abs(a) + np.abs(n), 1e-12)))


def unguarded_norm_check(f, x, a, eps):
    from npsae.gradcheck import numerical_gradient

    n = numerical_gradient(f, x, eps)
    with np.errstate(invalid="ignore"):
        return float(np.linalg.norm(n - a) / np.linalg.norm(n + a))


def guarded_norm_check(f, x, a, eps):
    from npsae.gradcheck import numerical_gradient

    n = numerical_gradient(f, x, eps)
    return float(np.linalg.norm(n - a) / max(np.linalg.norm(n + a), 1e-12))


@pytest.mark.parametrize(
    ("checker", "words"),
    [
        (mean_check, "on a wrong gradient"),
        (unguarded_norm_check, "0 / 0 where both gradients are 0"),
    ],
)
def test_gradient_check_judge_rejects_averaged_and_unguarded_errors(checker, words):
    result = exercises.check("gradient_check", checker)
    assert not result.passed and words in str(result), str(result)


def test_gradient_check_accepts_both_usual_measures_when_guarded():
    # The stub names CS231n's entry-wise measure (the solution) and UFLDL's norm ratio.
    assert exercises.check("gradient_check", guarded_norm_check).passed


def test_gradient_check_cases_hold_right_and_planted_bugs():
    spec = exercises.get("gradient_check").spec
    cases = spec.cases(np.random.default_rng(3))
    errors = [spec.reference(*c.args) for c in cases]
    assert sum(e < 1e-7 for e in errors) >= 3 and sum(e > 1e-2 for e in errors) >= 4


def test_train_judge_rejects_an_untrained_model():
    def untrained(X, n_hidden, epochs, batch_size, lr, beta, lam, seed):
        rng = np.random.default_rng(seed)
        n_in = X.shape[1]
        return {"W1": rng.normal(0, 0.1, (n_in, n_hidden)), "b1": np.zeros(n_hidden),
                "W2": rng.normal(0, 0.1, (n_hidden, n_in)), "b2": np.zeros(n_in)}  # fmt: skip

    result = exercises.check("train", untrained)
    assert not result.passed and "mse on the training set" in result.message, str(result)

    def wrong_shape(*args):
        return {"W1": np.zeros((3, 3)), "b1": 0, "W2": 0, "b2": 0}

    result = exercises.check("train", wrong_shape)
    shape = (64, SETTINGS["n_hidden"])
    assert f"W1: an array of shape {shape} was expected" in result.message, str(result)


def test_train_judge_rejects_a_loop_without_the_l1_term():
    # The instructor's own loop, with its L1 weight forced to 0: it reconstructs, but its
    # decoder rows are not the bars.
    solutions = Path(exercises.__file__).parent / "solutions"
    train = load_function(solutions / exercises.get("train").filename, "train")

    def without_l1(X, n_hidden, epochs, batch_size, lr, beta, lam, seed):
        return train(X, n_hidden, epochs, batch_size, lr, 0.0, lam, seed)

    result = exercises.check("train", without_l1)
    assert not result.passed and "did not learn the bars" in result.message, str(result)


def test_train_cases_depend_on_the_seed():
    spec = exercises.get("train").spec
    a = spec.cases(np.random.default_rng(1))[0].args[0]
    b = spec.cases(np.random.default_rng(2))[0].args[0]
    assert a.shape == b.shape == (2000, 64) and not np.array_equal(a, b)


# --------------------------------------------------------------------------- progression


def test_progression_and_metadata():
    assert len(EXERCISES) >= 16
    assert NAMES[0] == "sigmoid" and NAMES[-1] == "train"
    number = exercises.course().number
    for e in EXERCISES:
        assert e.difficulty in (1, 2, 3) and e.points > 0
        assert all(number(n) < number(e.name) for n in e.builds_on), e.name
    assert sum(bool(e.questions) for e in EXERCISES) >= 10
    assert {e.difficulty for e in EXERCISES} == {1, 2, 3}


@pytest.mark.parametrize("name", NAMES)
def test_every_exercise_has_random_and_seed_dependent_cases(name):
    spec = exercises.get(name).spec
    a, b = spec.cases(np.random.default_rng(11)), spec.cases(np.random.default_rng(12))
    assert [c.label for c in a if c.edge] == [c.label for c in b if c.edge]
    random_a = [c for c in a if not c.edge]
    assert random_a, name
    assert any(
        not all(
            np.array_equal(x, y) if isinstance(x, np.ndarray) else True
            for x, y in zip(ca.args, cb.args, strict=True)
        )
        or ca.label != cb.label
        for ca, cb in zip(random_a, [c for c in b if not c.edge], strict=True)
    ), name


@pytest.mark.parametrize("name", NAMES)
def test_stub_imports_name_real_exercise_files(name):
    """A stub imports the standard library, NumPy, and earlier exercises by their names."""
    earlier = NAMES[: NAMES.index(name)]
    for node in ast.walk(ast.parse(exercises.stub_source(name))):
        modules = [a.name for a in node.names] if isinstance(node, ast.Import) else []
        modules += [node.module] if isinstance(node, ast.ImportFrom) else []
        for module in modules:
            top = module.split(".")[0]
            assert top in sys.stdlib_module_names or top == "numpy" or top in earlier, module
            if top in earlier:
                assert [a.name for a in node.names] == [top], (name, module)


def test_cli_list_shows_points_difficulty_and_builds_on(capsys):
    status, out = run(["list"], capsys)
    lines = out.rstrip().splitlines()
    assert status == 0 and len(lines) == len(NAMES)
    assert "2 pts" in lines[0] and "warm-up" in lines[0] and "builds on -" in lines[0]
    train = lines[NAMES.index("train")]
    number = exercises.course().number
    builds_on = f"builds on {number('backward_decay')}, {number('adam_step')}"
    assert "6 pts" in train and "challenge" in train and builds_on in train
