"""The classroom exercises: references pass, stubs are "not implemented yet", and each typical
student mistake is rejected with a diagnostic that names it; the ``exercises`` command."""

import argparse
import ast
import struct
import sys

import numpy as np
import pytest
from student_files import write_submission

from npsae import exercises
from npsae.cli import exercises as cli
from npsae.exercises.grading import as_outputs
from npsae.exercises.loader import LoadError, load_function

NAMES = [e.name for e in exercises.list_exercises()]
TOTAL = sum(e.points for e in exercises.list_exercises())
# The debugging exercises: their stubs hold a colleague's buggy code, not a raise.
DEBUGGING = [e.name for e in exercises.list_exercises() if e.body]


def sig(Z):
    return 1 / (1 + np.exp(-Z))


def sq(X_hat, X):
    return np.sum((X_hat - X) ** 2)


# --------------------------------------------------------------------------- wrong solutions


def backward(X, W1, b1, W2, b2, rho, beta, derivative=lambda Z, A: A * (1 - A), **bug):
    """A student's backward pass; ``bug`` switches on one mistake."""
    m, n = X.shape
    Z1 = X @ W1 + b1
    H = sig(Z1)
    Z2 = H @ W2 + b2
    X_hat = sig(Z2)
    dZ2 = bug.get("recon", 2 / (m * n)) * (X_hat - X) * derivative(Z2, X_hat)
    rho_hat = H.mean(axis=0)
    c = bug.get("kl_sign", 1) * beta / m * (-rho / rho_hat + (1 - rho) / (1 - rho_hat))
    dH = dZ2 @ W2.T
    dZ1 = dH * derivative(Z1, H) + c if bug.get("c_late") else (dH + c) * derivative(Z1, H)
    dW1 = dZ1.T @ X if bug.get("transpose") else X.T @ dZ1
    db1 = dZ1 if bug.get("no_sum") else dZ1.sum(axis=0)
    return {"W1": dW1, "b1": db1, "W2": H.T @ dZ2, "b2": dZ2.sum(axis=0)}


def adam(p, g, m, v, t, lr, beta1, beta2, eps, correct=True, in_place=False):
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g * g
    m_hat, v_hat = (m / (1 - beta1**t), v / (1 - beta2**t)) if correct else (m, v)
    if in_place:
        p -= lr * m_hat / (np.sqrt(v_hat) + eps)
        return p, m, v
    return p - lr * m_hat / (np.sqrt(v_hat) + eps), m, v


def idx_header(data, order=">", size_order=">", base=4, validate=True):
    if validate and (len(data) < 4 or data[:2] != b"\0\0"):
        raise ValueError("not IDX")
    codes = {8: "u1", 9: "i1", 11: "i2", 12: "i4", 13: "f4", 14: "f8"}
    if validate and (data[2] not in codes or len(data) < 4 + 4 * data[3]):
        raise ValueError("bad header")
    d = data[3]
    shape = struct.unpack(f"{size_order}{d}I", data[4 : 4 + 4 * d])
    return np.dtype(order + codes[data[2]]), shape, base + 4 * d


def numgrad(f, x, eps, forward=False, divisor=2, copy=False, restore=True):
    x = x.copy() if copy else x
    grad = np.zeros(x.shape)
    flat = x.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + eps
        plus = f(x)
        flat[i] = old if forward else old - eps
        minus = f(x)
        if restore:
            flat[i] = old
        grad.flat[i] = (plus - minus) / ((1 if forward else divisor) * eps)
    return grad


def kl_grad(H, rho, beta, sign=1, m_factor=True, broadcast=True):
    rho_hat = H.mean(axis=0)
    c = sign * beta / (H.shape[0] if m_factor else 1) * (-rho / rho_hat + (1 - rho) / (1 - rho_hat))
    return np.broadcast_to(c, H.shape) if broadcast else c


def kl(H, rho, beta, axis=0, swap=False, use_beta=True):
    rho_hat = H.mean(axis=axis)
    a, b = (rho_hat, rho) if swap else (rho, rho_hat)
    total = np.sum(a * np.log(a / b) + (1 - a) * np.log((1 - a) / (1 - b)))
    return float(beta * total if use_beta else total)


def sigmoid_in_place(Z):
    np.negative(Z, out=Z)
    np.exp(Z, out=Z)
    Z += 1
    return 1 / Z


# (exercise, the student's function, words the diagnostic must contain)
WRONG = [
    ("sigmoid", lambda Z: np.exp(Z) / (1 + np.exp(Z)), "NaN"),
    ("sigmoid", lambda Z: 1 / (1 + np.exp(Z)), "sign of z flipped"),
    ("sigmoid", lambda Z: sig(Z.astype(np.float64)), "float64 result for float32 input"),
    ("sigmoid", sigmoid_in_place, "left its argument Z changed"),
    ("sigmoid", lambda Z: None, "forget the return"),
    ("sigmoid_grad", lambda A: sig(A) * (1 - sig(A)), "derivative taken at z instead of a"),
    ("sigmoid_grad", lambda A: A, "(1 - A) is missing"),
    ("sigmoid_grad", lambda A: A * (A - 1), "sign flipped"),
    ("forward", lambda X, W1, b1, W2, b2: sig(X @ W1 + b1) @ W2 + b2, "no sigmoid on the output"),
    ("forward", lambda X, W1, b1, W2, b2: sig(sig(X @ W1 + b1) @ W2), "b2 is missing"),
    ("forward", lambda X, W1, b1, W2, b2: sig(X @ W1 + b1), "shape (6, 3) where (6, 8)"),
    ("forward", lambda X, W1, b1, W2, b2: sig(sig(X @ W1 + b1) @ W2 + b2).T, "transposed?"),
    ("forward", lambda X, W1, b1, W2, b2: sig(sig(W1.T @ X + b1) @ W2 + b2), "raised ValueError"),
    ("mse", lambda X_hat, X: sq(X_hat, X) / (2 * len(X)), "by 2m instead of m*n (that is the sse)"),
    ("mse", lambda X_hat, X: sq(X_hat, X), "by 1 (no division) instead of m*n"),
    ("mse", lambda X_hat, X: np.mean((X_hat - X) ** 2, axis=1), "a single number was expected"),
    ("mse", lambda X_hat, X: np.sqrt(np.mean((X_hat - X) ** 2)), "square root"),
    ("sse", lambda X_hat, X: np.mean((X_hat - X) ** 2), "by m*n instead of 2m (that is the mse)"),
    ("sse", lambda X_hat, X: sq(X_hat, X) / len(X), "by m instead of 2m"),
    ("sse", lambda X_hat, X: np.sum(np.abs(X_hat - X)) / (2 * len(X)), "not squared"),
    ("kl_penalty", lambda H, rho, beta: kl(H, rho, beta, axis=1), "over the samples (axis 0)"),
    ("kl_penalty", lambda H, rho, beta: kl(H, rho, beta, swap=True), "swapped"),
    ("kl_penalty", lambda H, rho, beta: kl(H, rho, beta, use_beta=False), "beta is missing"),
    ("kl_penalty", lambda H, rho, beta: kl(H, rho, beta) / len(H), "divided by m"),
    ("kl_penalty_grad", lambda H, r, b: kl_grad(H, r, b, sign=-1), "sign flipped in the KL"),
    ("kl_penalty_grad", lambda H, r, b: kl_grad(H, r, b, m_factor=False), "factor of m"),
    ("kl_penalty_grad", lambda H, r, b: kl_grad(H, r, b, broadcast=False), "broadcast over"),
    ("backward", lambda *a: backward(*a, no_sum=True), "b1: shape (6, 3) where (3,) was expected"),
    ("backward", lambda *a: backward(*a, no_sum=True), "not summed over the batch"),
    ("backward", lambda *a: backward(*a, transpose=True), "W1: shape (3, 8) where (8, 3)"),
    ("backward", lambda *a: backward(*a, transpose=True), "transposed? dW1 has the shape of W1"),
    ("backward", lambda *a: backward(*a, derivative=lambda Z, A: Z * (1 - Z)), "at z instead of a"),
    ("backward", lambda *a: backward(*a, kl_sign=-1), "sign flipped in the KL derivative"),
    ("backward", lambda *a: backward(*a, recon=1 / len(a[0])), "used the sse gradient"),
    ("backward", lambda *a: backward(*a, recon=2), "not divided by m n"),
    ("backward", lambda *a: backward(*a, c_late=True), "added after multiplying"),
    ("backward", lambda *a: backward(*a, kl_sign=0), "sparsity gradient is missing"),
    ("backward", lambda *a: list(backward(*a).values()), "expected a dict"),
    ("adam_step", lambda *a: adam(*a, correct=False), "bias correction missing"),
    ("adam_step", lambda *a: adam(*a, in_place=True), "left its argument p changed"),
    ("adam_step", lambda *a: adam(*a)[0], "expected a tuple of 3: p, m, v"),
    ("parse_idx_header", lambda d: idx_header(d, order="<"), "little-endian element dtype"),
    ("parse_idx_header", lambda d: idx_header(d, size_order="<"), "sizes were read little-endian"),
    ("parse_idx_header", lambda d: idx_header(d, base=0), "misses the 4 leading bytes"),
    ("parse_idx_header", lambda d: idx_header(d, validate=False), "instead of raising ValueError"),
    ("numerical_gradient", lambda f, x, e: numgrad(f, x, e, forward=True), "forward difference"),
    ("numerical_gradient", lambda f, x, e: numgrad(f, x, e, divisor=1), "eps instead of 2 eps"),
    ("numerical_gradient", lambda f, x, e: numgrad(f, x, e, copy=True), "in place, not a copy"),
    (
        "numerical_gradient",
        lambda f, x, e: numgrad(f, x, e, restore=False),
        "left its argument x changed",
    ),
]


def l1_grad(H, beta):
    return (beta / len(H) * ((H > 0).astype(H.dtype) - (H < 0))).astype(H.dtype)


def topk(Z, dH, k):
    dZ = np.zeros_like(dH)
    for i, row in enumerate(Z):
        for j in sorted(range(len(row)), key=lambda j: (-row[j], j))[:k]:
            if row[j] > 0:
                dZ[i, j] = dH[i, j]
    return dZ


def grad_check(f, x, a, eps):
    n = numgrad(f, x, eps)
    return float(np.linalg.norm(n - a) / max(np.linalg.norm(n + a), 1e-300))


def backward_decay(X, W1, b1, W2, b2, hidden, beta, lam):
    m, n = X.shape
    Z1 = X @ W1 + b1
    H = np.maximum(Z1, 0) if hidden == "relu" else sig(Z1)
    X_hat = sig(H @ W2 + b2)
    dZ2 = 2 / (m * n) * (X_hat - X) * X_hat * (1 - X_hat)
    dZ1 = (dZ2 @ W2.T + beta / m) * ((Z1 > 0) if hidden == "relu" else H * (1 - H))
    return {"W1": X.T @ dZ1 + lam * W1, "b1": dZ1.sum(0), "W2": H.T @ dZ2 + lam * W2,
            "b2": dZ2.sum(0)}  # fmt: skip


def linear_decoder(X, W1, b1, W2, b2, rho, beta):
    m = len(X)
    H = sig(X @ W1 + b1)
    dZ2 = (H @ W2 + b2 - X) / m
    c = kl_grad(H, rho, beta)
    dZ1 = (dZ2 @ W2.T + c) * H * (1 - H)
    return {"W1": X.T @ dZ1, "b1": dZ1.sum(0), "W2": H.T @ dZ2, "b2": dZ2.sum(0)}


def adamw(p, g, m, v, t, lr, beta1, beta2, eps, wd):
    new_p, m, v = adam(p, g, m, v, t, lr, beta1, beta2, eps)
    return new_p - lr * wd * p, m, v


def train(X, n_hidden, epochs, batch_size, lr, beta, lam, seed):
    """Plain SGD with momentum would do too; this one is Adam, as the stub asks."""
    rng = np.random.default_rng(seed)
    n_in = X.shape[1]
    P = {"W1": rng.normal(0, 0.1, (n_in, n_hidden)), "b1": np.zeros(n_hidden),
         "W2": rng.normal(0, 0.1, (n_hidden, n_in)), "b2": np.zeros(n_in)}  # fmt: skip
    state = {k: (np.zeros_like(p), np.zeros_like(p)) for k, p in P.items()}
    t = 0
    for _ in range(epochs):
        for batch in np.array_split(rng.permutation(len(X)), -(-len(X) // batch_size)):
            g = backward_decay(X[batch], *P.values(), "relu", beta, lam)
            t += 1
            for k in P:
                P[k], *state[k] = adam(P[k], g[k], *state[k], t, lr, 0.9, 0.999, 1e-8)
    return P


# A student's own correct solutions, written differently from npsae's: the tolerances accept them.
RIGHT = [
    ("sigmoid", sig),
    ("sigmoid_grad", lambda A: A - A * A),
    ("forward", lambda X, W1, b1, W2, b2: sig(sig(X @ W1 + b1) @ W2 + b2)),
    ("mse", lambda X_hat, X: sq(X_hat, X) / X.size),
    ("sse", lambda X_hat, X: 0.5 * sq(X_hat, X) / X.shape[0]),
    ("kl_penalty", kl),
    ("kl_penalty_grad", lambda H, rho, beta: np.tile(kl_grad(H, rho, beta)[0], (len(H), 1))),
    ("l1_penalty_grad", l1_grad),
    ("topk_grad", topk),
    ("numerical_gradient", numgrad),
    ("gradient_check", grad_check),
    ("backward", backward),
    ("backward_decay", backward_decay),
    ("debug_backward", linear_decoder),
    ("adam_step", adam),
    ("debug_adamw", adamw),
    ("parse_idx_header", idx_header),
    ("train", train),
]


@pytest.mark.parametrize(("name", "fn"), RIGHT, ids=[n for n, _ in RIGHT])
def test_correct_student_solution_passes(name, fn):
    result = exercises.check(name, fn)
    assert result.passed, str(result)


def test_right_covers_every_exercise():
    # In course order, once each. An exercise added to the course without an entry here is
    # still answered apart from its reference: by its solution file (test_exercise_contents).
    assert [n for n, _ in RIGHT] == [n for n in NAMES if n in dict(RIGHT)]
    assert len(dict(RIGHT)) == len(RIGHT)


@pytest.mark.parametrize("name", NAMES)
def test_reference_passes(name):
    result = exercises.check(name, exercises.get(name).spec.reference)
    assert result.passed, str(result)
    assert result.status == exercises.PASSED and "passed" in result.message


@pytest.mark.parametrize(
    ("name", "fn", "words"), WRONG, ids=[f"{n}-{i}" for i, (n, _, _) in enumerate(WRONG)]
)
def test_mistake_is_named(name, fn, words):
    result = exercises.check(name, fn)
    assert not result.passed
    assert result.status == exercises.FAILED
    assert words in str(result), str(result)


@pytest.mark.parametrize("name", NAMES)
def test_every_mistake_can_be_told_from_the_solution(name):
    """A mistake whose output equals the reference's on every case could never be diagnosed."""
    spec = exercises.get(name).spec
    cases = [c for c in spec.cases(np.random.default_rng(spec.seed)) if c.raises is None]
    for mistake in spec.mistakes:
        differs = False
        for case in cases:
            with np.errstate(all="ignore"):
                expected = as_outputs(spec.reference(*case.args), spec.returns)
                wrong = mistake.output(case, expected)
            if wrong is not None and any(
                not np.allclose(np.asarray(wrong[k], float), np.asarray(expected[k], float))
                if np.asarray(expected[k]).dtype.kind == "f"
                else str(wrong[k]) != str(expected[k])
                for k in expected
            ):
                differs = True
                break
        assert differs, f"{name}: {mistake.message!r} never differs from the reference"


def test_cases_cover_both_dtypes_and_several_shapes():
    for e in exercises.list_exercises():
        cases = e.spec.cases(np.random.default_rng(0))
        # Training takes seconds a case: two data sets.
        assert len(cases) >= (2 if e.name == "train" else 5), e.name
        # Those whose results keep the inputs' dtype (not a header, f's own gradient, a
        # verdict or a trained model) are tried in both.
        if e.spec.keep_dtype:
            assert {c.dtype for c in cases} == {np.dtype("float32"), np.dtype("float64")}, e.name


def test_list_and_get():
    course = exercises.course()
    assert NAMES[:2] == ["sigmoid", "sigmoid_grad"] and NAMES[-1] == "train"
    assert len(NAMES) == len(course.exercises)
    numbers = [course.number(e.name) for e in exercises.list_exercises()]
    assert numbers == list(range(1, len(NAMES) + 1))
    assert exercises.get("mse").filename == "mse.py"
    with pytest.raises(ValueError, match="no exercise 'adam'"):
        exercises.get("adam")


# --------------------------------------------------------------------------- stubs and files


@pytest.mark.parametrize("name", [n for n in NAMES if n not in DEBUGGING])
def test_stub_is_not_implemented_and_holds_no_solution(name, tmp_path):
    exercise = exercises.get(name)
    source = exercises.stub_source(name)
    assert max(len(line) for line in source.splitlines()) <= 100
    (fn_node,) = [n for n in ast.parse(source).body if isinstance(n, ast.FunctionDef)]
    assert fn_node.name == name
    # The body is the docstring and the raise, nothing else.
    assert len(fn_node.body) == 2 and isinstance(fn_node.body[1], ast.Raise)
    assert [a.arg for a in fn_node.args.args] == list(exercise.spec.params)
    path = tmp_path / exercise.filename
    path.write_text(source)
    result = exercises.check(name, load_function(path, name))
    assert result.status == exercises.NOT_IMPLEMENTED and result.message == "not implemented yet"


def test_start_writes_stubs_and_keeps_existing_files(tmp_path):
    written, kept = exercises.start(tmp_path / "ex")
    assert len(written) == len(NAMES) and kept == []
    mine = written[0]
    mine.write_text("def sigmoid(Z):\n    return 0\n")
    written, kept = exercises.start(tmp_path / "ex")
    assert written == [] and len(kept) == len(NAMES)
    assert mine.read_text() == "def sigmoid(Z):\n    return 0\n"
    written, _ = exercises.start(tmp_path / "ex", ["sigmoid"], force=True)
    assert written == [mine] and "NotImplementedError" in mine.read_text()


def test_check_dir_reports_each_file_on_its_own(tmp_path):
    exercises.start(tmp_path, ["sigmoid", "sigmoid_grad", "forward", "mse"])
    (tmp_path / "sigmoid.py").write_text("def sigmoid(Z):\n    return 1 / (1 +\n")
    (tmp_path / "sigmoid_grad.py").write_text("import no_such_module_here\n")
    (tmp_path / "forward.py").write_text("def forwards(X, W1, b1, W2, b2):\n    pass\n")
    # A sibling import works while the file loads, and leaves no module behind.
    (tmp_path / "mse.py").write_text("from helper_for_mse import mse\n")
    (tmp_path / "helper_for_mse.py").write_text(
        "import numpy as np\n\ndef mse(X_hat, X):\n    return float(np.mean((X_hat - X) ** 2))\n"
    )
    results = {
        r.name: r
        for r in exercises.check_dir(tmp_path, ["sigmoid", "sigmoid_grad", "forward", "mse", "sse"])
    }
    assert results["sigmoid"].status == exercises.ERROR
    assert "SyntaxError at sigmoid.py, line 2" in results["sigmoid"].message
    assert "ModuleNotFoundError at sigmoid_grad.py, line 1" in results["sigmoid_grad"].message
    assert "defines no function forward()" in results["forward"].message
    assert results["mse"].passed, str(results["mse"])
    assert "sse.py not found" in results["sse"].message
    assert "helper_for_mse" not in sys.modules
    assert not any(m.startswith("_npsae_exercise_") for m in sys.modules)


def test_error_in_student_code_gives_the_line(tmp_path):
    path = tmp_path / "sigmoid.py"
    path.write_text("import numpy as np\n\n\ndef sigmoid(Z):\n    return np.exp(Z)[99, 99]\n")
    result = exercises.check("sigmoid", load_function(path, "sigmoid"))
    assert result.message.startswith("raised IndexError")
    assert any("sigmoid.py, line 5" in d for d in result.diagnostics), result.diagnostics


def test_load_errors(tmp_path):
    with pytest.raises(LoadError, match="not found"):
        load_function(tmp_path / "nope.py", "f")
    (tmp_path / "boom.py").write_text("x = 1\nraise RuntimeError('top level')\n")
    with pytest.raises(LoadError, match="RuntimeError at boom.py, line 2: top level"):
        load_function(tmp_path / "boom.py", "f")


# --------------------------------------------------------------------------- the command


def run_err(argv, capsys):
    """Run ``npsae exercises ARGV``: (exit status, stdout, stderr)."""
    parser = argparse.ArgumentParser(prog="npsae")
    cli.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["exercises", *map(str, argv)])
    status = args.func(args)
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def run(argv, capsys):
    status, out, _ = run_err(argv, capsys)
    return status, out


def test_cli_list(capsys):
    status, out = run(["list"], capsys)
    assert status == 0
    lines = out.rstrip().splitlines()
    assert len(lines) == len(NAMES)
    assert lines[0].startswith(" 1. sigmoid") and "1 / (1 + e^(-z))" in lines[0]


def test_cli_start_and_check(tmp_path, capsys):
    folder = tmp_path / "class"
    status, out = run(["start", folder], capsys)
    assert status == 0 and out.count("wrote ") == len(NAMES)
    status, out = run(["check", folder], capsys)
    assert status == 1
    # debug_backward calls the student's (still unwritten) sigmoid_grad: not implemented either.
    assert out.count("not implemented yet") == len(NAMES) - 1
    assert out.count("still the stub's code") == 1 and DEBUGGING == [
        "debug_backward",
        "debug_adamw",
    ]
    assert f"0 of {len(NAMES)} passed" in out
    (folder / "mse.py").write_text("def mse(X_hat, X):\n    return 0.0\n")
    status, out = run(["start", folder], capsys)
    assert status == 0 and "kept " in out and "--force" in out
    assert (folder / "mse.py").read_text() == "def mse(X_hat, X):\n    return 0.0\n"
    status, out = run(["check", folder, "mse"], capsys)
    assert status == 1 and "FAIL" in out and "mse" in out and "case 1 of" in out
    # The answer key hands over to npsae, which the graded files cannot import.
    for e in exercises.list_exercises():
        (folder / e.filename).write_text(exercises.reference_source(e.name))
    status, out = run(["check", folder, "sigmoid", "--timeout", "20"], capsys)
    assert status == 1 and "graded without npsae" in out
    write_submission(folder)
    status, out = run(["check", folder, "--timeout", "20"], capsys)
    assert status == 0, out
    assert out.count("PASS") == len(NAMES) and f"{len(NAMES)} of {len(NAMES)} passed" in out
    assert f"score {TOTAL} / {TOTAL}" in out


def test_cli_check_usage_errors(tmp_path, capsys, monkeypatch):
    # A folder that does not exist is a verdict per exercise (an empty Gradescope submission
    # must still get its results), not a usage error.
    status, out, _ = run_err(["check", tmp_path / "missing"], capsys)
    assert status == 1 and out.count("not a folder") == len(NAMES) and f"score 0 / {TOTAL}" in out
    for argv, words in [
        (["check", tmp_path, "nonsense"], "no exercise 'nonsense'"),
        (["check", tmp_path, "--timeout", "0"], "--timeout must be positive"),
        (["check", tmp_path, "--timeout", "nan"], "--timeout must be positive"),
        (["autograder", tmp_path / "ag", "--timeout", "inf"], "--timeout must be positive"),
        (["check", tmp_path, "--seed", "-3"], "seed must be 0 or more"),
        (["autograder", tmp_path / "ag", "--seed", "-3"], "seed must be 0 or more"),
        (["grade", tmp_path / "missing", "--csv", tmp_path / "g.csv"], "is not a folder"),
        (["grade", tmp_path, "--csv", tmp_path / "g.csv"], "holds no student folders"),
    ]:
        status, out, err = run_err(argv, capsys)
        assert status == 2 and words in err and len(err.splitlines()) == 1, (argv, err)
        assert out == ""
    # A report that could not be written is refused before any grading, not a traceback after.
    (tmp_path / "afile").write_text("mine")
    for argv, words in [
        (["check", tmp_path, "--output", tmp_path / "afile" / "r.json"], "is a file, not a folder"),
        (["check", tmp_path, "--output", tmp_path], "is a folder: name a file"),
        (
            ["grade", tmp_path, "--csv", tmp_path / "g.csv", "--json-dir", tmp_path / "afile"],
            "is a file, not a folder",
        ),
    ]:
        status, out, err = run_err(argv, capsys)
        assert status == 2 and words in err and len(err.splitlines()) == 1, (argv, err)
        assert out == "" and not (tmp_path / "g.csv").exists()
    (tmp_path / "results.json").write_text("mine")
    status, _, err = run_err(["check", tmp_path, "--output", tmp_path / "results.json"], capsys)
    assert status == 2 and "--force" in err
    assert (tmp_path / "results.json").read_text() == "mine"
    monkeypatch.setenv("NPSAE_GRADING_SEED", "twelve")
    status, _, err = run_err(["check", tmp_path], capsys)
    assert status == 2 and "NPSAE_GRADING_SEED must be an integer" in err
