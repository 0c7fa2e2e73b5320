"""The gradients the student derives: L1 and TopK, a gradient check of their own, the full
backward pass with weight decay and a choice of hidden unit, and a buggy backward to debug.

The references are the package's own (``npsae.model``, ``npsae.reference``,
``npsae.gradcheck``); none of these configurations is the one tutorial 04 derives (sigmoid
units, sse, KL and weight decay).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from npsae import reference
from npsae.exercises.casefns import CaseFunction
from npsae.exercises.exercise import (
    FLOATS,
    Exercise,
    case_label,
    stub_function,
    stub_signature,
)
from npsae.exercises.grading import (
    COMMON_MISTAKES,
    SCALE_MISTAKES,
    Case,
    Spec,
    batch_size,
    buggy,
    scaled,
)
from npsae.exercises.model_exercises import (
    _DIMS,
    _GRADS,
    MODEL_ARGS,
    OVERFLOW_HINT,
    _backward,
    _backward_cases,
    _kl_penalty_grad,
    _model_arrays,
    _model_label,
    model_grads,
)
from npsae.gradcheck import numerical_gradient, relative_error

# --------------------------------------------------------------------------- the L1 penalty


def _l1_cases(rng: np.random.Generator) -> list[Case]:
    cases = []
    for dt in FLOATS:
        for (m, n), beta in (((6, 5), 0.1), ((1, 7), 2.0), ((9, 3), 0.05)):
            H = rng.normal(0, 1, (m, n))
            H[rng.random((m, n)) < 0.3] = 0.0  # exact zeros, as ReLU units give
            label = f"{case_label(dt, H=(m, n))}, beta={beta}"
            cases.append(Case(label, (H.astype(dt), beta), dt, m, edge=m == 1))
    zeros = np.zeros((4, 3))
    return cases + [Case("float64, H all zeros (4, 3), beta=1.0", (zeros, 1.0), m=4, edge=True)]


def _l1_grad(H, beta, at_zero=0.0, use_m=True, sign=np.sign):
    g = np.where(H == 0, at_zero, sign(H))
    return beta / (H.shape[0] if use_m else 1) * g


L1_PENALTY_GRAD = Exercise(
    name="l1_penalty_grad",
    derived=True,
    difficulty=2,
    summary="the gradient of the L1 penalty beta sum_ij |H_ij| / m, with its subgradient at 0",
    signature="(H: np.ndarray, beta: float) -> np.ndarray",
    doc="""
The L1 sparsity penalty of a batch of m codes H (one row per sample):

    P = (beta / m) sum_ij |H_ij|

Return its gradient dP / dH_ij for every entry. |h| has no derivative at h = 0: there, use
the subgradient 0 (any value in [-1, 1] is a subgradient of |h| at 0; 0 is the one that
leaves a unit that is exactly off alone). H may hold negative values and exact zeros.

Args:
    H: (m, n_hidden), float32 or float64. beta: the penalty's weight.

Returns:
    dH: (m, n_hidden), the dtype of H.

Hint: differentiate |h| on each side of 0. A NumPy function gives exactly the values you need
on both sides, and at 0.
""",
    spec=Spec(
        reference=lambda H, beta: _l1_grad(H, beta),
        cases=_l1_cases,
        params=("H", "beta"),
        mistakes=(
            buggy(
                "the subgradient at H_ij = 0 is not 0: the gradient of |h| there is taken as 0",
                lambda H, beta: _l1_grad(H, beta, at_zero=1.0),
            ),
            buggy(
                "the sign of H is lost: d|h|/dh is -1 for h < 0, not +1",
                lambda H, beta: _l1_grad(H, beta, sign=lambda A: np.ones_like(A)),
            ),
            buggy(
                "that is the gradient of (beta / 2m) sum H^2 (H itself), not of sum |H|",
                lambda H, beta: beta / H.shape[0] * H,
            ),
            scaled("off by a factor of m: P divides by the batch size m", batch_size),
            buggy(
                "beta is missing: P = (beta / m) sum_ij |H_ij|",
                lambda H, beta: _l1_grad(H, 1.0),
            ),
            *COMMON_MISTAKES,
        ),
    ),
    questions=(
        "Plain L1 on the codes can be dodged by the model: halve every code and double the "
        "decoder weights. What stays the same, what shrinks, and how do weight decay or a "
        "unit-norm decoder close this loophole?",
    ),
)

# --------------------------------------------------------------------------- TopK


def _topk_inputs(rng: np.random.Generator, m: int, n: int, k: int) -> tuple:
    """Z and dH (m, n). With m >= 3 and n > k, three rows show every mistake of the selection:
    row 0 has k - 1 positive entries (a kept unit is negative), row 1 only positive ones with a
    negative dH (more than k, so that some are dropped), row 2 one small positive entry among
    larger negative ones (ranking by |z| would drop it); the entries shuffled within rows."""
    Z, dH = rng.normal(0, 1, (m, n)), rng.normal(0, 1, (m, n))
    if m >= 3 and n > k:
        first = np.arange(n)
        Z[0] = np.where(first < k - 1, rng.uniform(0.1, 1, n), -rng.uniform(0.1, 2, n))
        Z[1], dH[1] = rng.uniform(0.1, 2, n), -np.abs(dH[1])
        Z[2] = np.where(first < 1, rng.uniform(0.1, 0.5, n), -rng.uniform(1, 2, n))
        order = rng.permuted(np.tile(first, (3, 1)), axis=1)
        Z[:3], dH[:3] = np.take_along_axis(Z[:3], order, 1), np.take_along_axis(dH[:3], order, 1)
    return Z, dH


def _topk_cases(rng: np.random.Generator) -> list[Case]:
    cases = []
    for dt in FLOATS:
        for (m, n), k in (((5, 8), 3), ((1, 6), 2), ((7, 4), 1), ((4, 4), 2)):
            Z, dH = _topk_inputs(rng, m, n, k)
            label = f"{case_label(dt, Z=(m, n), dH=(m, n))}, k={k}"
            cases.append(Case(label, (Z.astype(dt), dH.astype(dt), k), dt, m, edge=m == 1))
    # A row with fewer than k positive entries: the kept but negative units pass nothing.
    Z = np.array([[0.5, -1.0, -2.0, 1.5, -0.3], [2.0, 1.0, 3.0, -1.0, 0.5]])
    dH = rng.normal(0, 1, Z.shape)
    ties = np.array([[1.0, 2.0, 2.0, 0.5], [3.0, 3.0, 3.0, 3.0]])
    return cases + [
        Case("float64, row 0 has only 2 positive entries, k=3", (Z, dH, 3), m=2, edge=True),
        Case("float64, ties (broken by the lower index)", (ties, dH[:, :4], 2), m=2, edge=True),
        Case(
            "float64, 20 units, ties at the k-th largest value (the lower index kept), k=3",
            (_MANY_TIES, rng.normal(0, 1, _MANY_TIES.shape), 3),
            m=len(_MANY_TIES),
            edge=True,
        ),
        Case("float64, k = n_hidden keeps every unit", (Z, dH, 5), m=2, edge=True),
    ]


# Rows of few distinct positive values, tied across the k-th place: an order other than the
# stable one (np.argpartition, the default quicksort or heapsort of NumPy) keeps other units.
_MANY_TIES = np.array(
    [
        [1, 2, 1, 2, 1, 2, 0.5, 2, 1, 2, 2, 1, 2, 2, 0.5, 2, 1, 2, 2, 1],
        [3, 1, 3, 3, 1, 3, 1, 3, 3, 1, 3, 3, 1, 3, 3, 3, 1, 3, 3, 3],
        [1, 1, 0.5, 1, 1, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1],
    ],
    dtype=np.float64,
)


def _topk_grad(Z, dH, k, through_negative=False, smallest=False, relu=True, order=None):
    """dZ = dH where the unit is kept and positive; with the switches, the mistakes (``order``:
    how the k largest are found, np.argpartition instead of a stable sort)."""
    key = Z if smallest else -Z
    if order is None:
        order = np.argsort(key, axis=1, kind="stable")[:, :k]
    else:
        order = order(key, k - 1, axis=1)[:, :k]
    kept = np.zeros(Z.shape, dtype=bool)
    np.put_along_axis(kept, order, True, axis=1)
    if not relu:
        kept[:] = True
    if not through_negative:
        kept &= Z > 0
    return np.where(kept, dH, 0).astype(dH.dtype)


TOPK_GRAD = Exercise(
    name="topk_grad",
    derived=True,
    difficulty=2,
    summary="back through TopK: dL/dZ from dL/dH, only through the kept units",
    signature="(Z: np.ndarray, dH: np.ndarray, k: int) -> np.ndarray",
    doc="""
A TopK sparse autoencoder keeps, in each sample, only the k largest ReLU activations:

    H_ij = relu(Z_ij)   if unit j is among the k largest entries of row i of relu(Z)
    H_ij = 0            otherwise

where Z = X W1 + b1 is the pre-activation. Ties are broken by position: of equal values the
lower index is kept (np.argsort(..., kind="stable") gives that order). Given dH = dL/dH, the
gradient of the loss with respect to the activations, return dZ = dL/dZ.

Args:
    Z: (m, n_hidden), float32 or float64. dH: (m, n_hidden), same dtype.
    k: the number of units kept per sample, 1 <= k <= n_hidden.

Returns:
    dZ: (m, n_hidden), the dtype of dH.

Hint: treat the selection as fixed (which units are kept does not change under an
infinitesimal change of Z, away from ties), then differentiate what is left, taking
relu'(0) = 0. What is relu'(z) for z < 0, and can a kept unit have z < 0?
""",
    spec=Spec(
        reference=_topk_grad,
        cases=_topk_cases,
        params=("Z", "dH", "k"),
        mistakes=(
            buggy(
                "the gradient flows through every positive unit: only the k kept units of each "
                "sample pass dH on",
                lambda Z, dH, k: _topk_grad(Z, dH, k, relu=False),
            ),
            buggy(
                "a kept unit with z <= 0 passes its gradient: relu'(z) = 0 there, so the kept "
                "but negative units pass nothing",
                lambda Z, dH, k: _topk_grad(Z, dH, k, through_negative=True),
            ),
            buggy(
                "kept the k smallest entries of each row, not the k largest",
                lambda Z, dH, k: _topk_grad(Z, dH, k, smallest=True),
            ),
            buggy(
                "ties broken the wrong way: of equal values the lower index is kept, the order "
                'of np.argsort(..., kind="stable"); np.argpartition and the default sort '
                "order ties as they please",
                lambda Z, dH, k: _topk_grad(Z, dH, k, order=np.argpartition),
            ),
            *SCALE_MISTAKES,
        ),
    ),
    questions=(
        "TopK has no penalty term and no beta. How does sparsity reach the gradient, and why "
        "can a unit that is never in the top k never learn again (a dead unit)?",
    ),
)

# --------------------------------------------------------------------------- gradient check

#: The judge's thresholds: a correct gradient must give less than ``_RIGHT``, a wrong one more
#: than ``_WRONG`` (every planted bug gives at least 1e-2 with either usual measure).
_RIGHT, _WRONG = 1e-6, 1e-3
# A right gradient this large tells an absolute error from a relative one; a wrong gradient
# of this many entries, a mean over the entries from a largest error.
_LARGE, _MANY = 1e3, 100
# The scale of f in the value cases: 1e6 for a right gradient, 1e-6 for a planted bug.
_LARGE_SCALE = 1e6
# Stands, among a case function's arrays, for the x the case perturbs.
_SELF = object()


def _gradient_check(f, x, analytic, eps) -> float:
    numeric = numerical_gradient(f, x, eps)
    return relative_error(analytic, numeric, 1e-12)


def _sin_cubic_grad(x, w, scale=1.0):
    return scale * (3 * w * np.cos(3 * x) + x**2)


def _gradcheck_cases(rng: np.random.Generator) -> list[Case]:
    # Every case's f reads x itself and is tilted (``casefns.tilted``) so that perturbing a copy
    # of x gives the wrong verdict: the gradient c of its argument's term is 0 beside a right
    # gradient, and is the planted bug beside a wrong one. Its scale s tells a relative error
    # from an absolute one: a right gradient is large (an absolute error exceeds _RIGHT), a
    # planted bug small (an absolute error stays below _WRONG).
    def case(label: str, x: np.ndarray, analytic: np.ndarray, right: bool, eps: float, **g):
        s = _LARGE_SCALE if right else 1 / _LARGE_SCALE
        x = x.copy()
        g = {k: x if v is _SELF else v for k, v in g.items()}
        c = np.zeros_like(x) if right else s * analytic
        f = CaseFunction("tilted", {"x": x, "c": c, **g, "scale": s})
        return Case(f"{label}, s={s:g}", (f, x, s * analytic, eps))

    # A smooth function of x with a known gradient: right, then with planted bugs.
    x, w = rng.normal(0, 1, (3, 4)), rng.normal(0, 1, (3, 4))
    g = _sin_cubic_grad(x, w)
    row_flipped = g.copy()
    row_flipped[1] *= -1
    one_entry = g.copy()
    one_entry[2, 3] += 0.3 * np.max(np.abs(g)) + 0.1
    plants = (
        ("the right gradient", g),
        ("planted bug: the gradient times 2", 2 * g),
        ("planted bug: row 1 of the gradient sign-flipped", row_flipped),
        ("planted bug: one entry wrong", one_entry),
        ("planted bug: the gradient of another function (x^2 term missing)", g - x**2),
    )
    smooth = (
        "x (3, 4), eps=1e-5, f(y) = s (sum(w sin(3x)) + sum(x^3) / 3) + sum(c (y - x)) (x "
        "itself, y its argument)"
    )
    cases = [
        case(f"{smooth}, {what}", x, a, a is g, 1e-5, of="sin_cubic", w=w) for what, a in plants
    ]
    # A small sparse autoencoder's loss as a function of its W1 (f reads W1 itself), checked
    # against the right gradient and against a backward pass with the KL term's sign flipped.
    X, W1, b1, W2, b2 = _model_arrays(rng, 5, 6, 3, np.float64)
    right = _backward(X, W1, b1, W2, b2, 0.1, 1.0)["W1"]
    wrong_kl = 2 * _backward(X, W1, b1, W2, b2, 0.1, 0.0)["W1"] - right
    label = (
        "an autoencoder's loss (mse + KL) times s as a function of W1 (6, 3), plus "
        "sum(c (y - W1)), eps=1e-6"
    )
    model = {"of": "autoencoder_loss", "X": X, "W1": _SELF, "b1": b1, "W2": W2, "b2": b2}
    cases += [
        case(f"{label}, the right dW1", W1, right, True, 1e-6, rho=0.1, **model),
        case(
            f"{label}, planted bug: dW1 with the KL gradient's sign flipped",
            *(W1, wrong_kl, False, 1e-6),
            rho=0.1,
            **model,
        ),
    ]
    # Many entries, one of them wrong: an average over the entries would hide it.
    x_many, w_many = rng.normal(0, 1, (25, 40)), rng.normal(0, 1, (25, 40))
    many = _sin_cubic_grad(x_many, w_many)
    i = np.unravel_index(np.argmax(np.abs(many)), many.shape)
    many[i] *= 2
    label = (
        "x (25, 40), eps=1e-5, f(y) = s (sum(w sin(3x)) + sum(x^3) / 3) + sum(c (y - x)), "
        "planted bug: one entry of 1,000 twice its value"
    )
    cases.append(case(label, x_many, many, False, 1e-5, of="sin_cubic", w=w_many))
    # A constant f: both gradients are 0 everywhere, and the check must not divide 0 by 0.
    flat = CaseFunction("sin_cubic", {"w": w, "scale": 0.0})
    label = "x (3, 4), eps=1e-5, f = 0 sum(w sin(3x)) (constant), the right gradient: all zeros"
    return [*cases, Case(label, (flat, x, np.zeros_like(x), 1e-5), edge=True)]


def _judge_gradient_check(case: Case, got: dict, expected: dict) -> str | None:
    try:
        err = float(got["result"])
    except (TypeError, ValueError):
        return f"returned {type(got['result']).__name__}: expected a single number"
    if np.isnan(err):
        return (
            "returned nan: a relative error is a number >= 0. Is it 0 / 0 where both gradients "
            "are 0? Keep the denominator above 0"
        )
    if err < 0:
        return f"returned {err}: a relative error is a number >= 0"
    x, analytic = case.args[1], case.args[2]
    if expected["result"] < _RIGHT and not err < _RIGHT:
        if abs(err - 1) < 1e-3:
            return (
                f"on a right gradient your check returned {err:.3g}: a relative error of 1 "
                "means one gradient is 0 wherever the other is not. Did f see your "
                "perturbations? (f may read x itself: perturb x in place, never a copy)"
            )
        big = float(np.max(np.abs(analytic), initial=0.0))
        if big > _LARGE:
            return (
                f"on a right gradient your check returned {err:.3g}: it should be below "
                f"{_RIGHT:g}. Its entries here are large (up to {big:.3g}): an error that is "
                "not divided by the gradients' size grows with them. Is it relative?"
            )
        return (
            f"on a right gradient your check returned {err:.3g}: it should be below {_RIGHT:g}. "
            "Is the error relative (divided by the gradients' size), the difference centred, "
            "and is x restored after each perturbation?"
        )
    if expected["result"] >= _RIGHT and not err > _WRONG:
        hint = (
            f"Here a few entries are wrong among {np.size(x):,}: an average over the entries "
            "dilutes them. Report the largest entry's error, or a norm of the whole difference"
            if np.size(x) > _MANY
            else "Is the error relative to the gradients' size, and does it compare every entry?"
        )
        return (
            f"on a wrong gradient your check returned {err:.3g}: it should be above {_WRONG:g}, "
            f"so that a bug cannot pass. {hint}"
        )
    return None


GRADIENT_CHECK = Exercise(
    name="gradient_check",
    derived=True,
    difficulty=2,
    builds_on=("numerical_gradient",),
    summary="check an analytic gradient against your numerical gradient: the relative error",
    signature=stub_signature(
        "f: Callable[[np.ndarray], float]",
        "x: np.ndarray",
        "analytic: np.ndarray",
        "eps: float",
        returns="float",
    ),
    imports="from collections.abc import Callable\n\nimport numpy as np",
    doc="""
Check a gradient, as you will check every backward pass you write: compare an analytic
gradient with the numerical gradient of f at x, and return their relative error.

Args:
    f: the loss, called as f(x); it may ignore its argument and read x itself (as a model's
        loss reads the model's own parameters), so perturb x in place.
    x: float64, any shape: the parameter. It must be unchanged when you return.
    analytic: float64, the shape of x: the gradient under test (from a backward pass).
    eps: the finite-difference step.

Returns:
    A single number >= 0 that is tiny (well below 1e-6) when analytic is right, and large (well
    above 1e-3) when it is wrong anywhere, whatever the scale of f: an error measured relative
    to the size of the gradients, not an absolute difference.

Hint: use your numerical_gradient (from numerical_gradient import numerical_gradient).
Two usual measures: CS231n's max_i |a_i - n_i| / max(|a_i| + |n_i|, tiny), and UFLDL's
||n - a|| / ||n + a||. What happens to each where both gradients are 0?
""",
    spec=Spec(
        reference=_gradient_check,
        cases=_gradcheck_cases,
        params=("f", "x", "analytic", "eps"),
        mistakes=(),
        keep_dtype=False,
        judge=_judge_gradient_check,
        mutation_hint="restore each entry of x after perturbing it",
    ),
    questions=(
        "Why is the centred difference (f(x + eps) - f(x - eps)) / (2 eps) preferred to the "
        "one-sided one? What limits how small eps can usefully be?",
        "A gradient check of a ReLU network sometimes fails on a correct backward pass. Why?",
    ),
)

# --------------------------------------------------------------------------- backward, decay


def _backward_decay(X, W1, b1, W2, b2, hidden, beta, lam) -> dict:
    return model_grads(
        X, W1, b1, W2, b2, hidden=str(hidden), recon="mse", sparsity="l1", beta=beta,
        weight_decay=lam,
    )  # fmt: skip


def _decay_variant(
    decay=1.0,
    decay_bias=False,
    l1=1.0,
    l1_after=False,
    relu_as_sigmoid=False,
    recon=2.0,
    relu_at_0=0.0,
) -> Callable:
    """The backward pass with one thing changed: the decay gradient's factor ``decay`` (1 is
    lambda W), decay on the biases too, the L1 gradient's factor ``l1``, the L1 gradient added
    after the activation derivative, the sigmoid's derivative used for ReLU units, the mse
    gradient's factor ``recon`` (2 is right), or relu'(0) (0 is right)."""

    def backward(X, W1, b1, W2, b2, hidden, beta, lam):
        m, n_in = X.shape
        Z1 = X @ W1 + b1
        H = reference.ACTIVATIONS[str(hidden)](Z1)
        X_hat = reference.sigmoid(H @ W2 + b2)
        dZ2 = recon / (m * n_in) * (X_hat - X) * X_hat * (1 - X_hat)
        grad_of = "sigmoid" if relu_as_sigmoid else str(hidden)
        f_prime = reference.ACTIVATION_GRADS[grad_of](H)
        if grad_of == "relu":
            f_prime = np.where(Z1 == 0, relu_at_0, f_prime)
        c = l1 * beta / m
        dH = dZ2 @ W2.T
        dZ1 = dH * f_prime + c if l1_after else (dH + c) * f_prime
        grads = {
            "W1": X.T @ dZ1 + decay * lam * W1,
            "b1": dZ1.sum(axis=0),
            "W2": H.T @ dZ2 + decay * lam * W2,
            "b2": dZ2.sum(axis=0),
        }
        if decay_bias:
            grads["b1"] = grads["b1"] + lam * b1
            grads["b2"] = grads["b2"] + lam * b2
        return grads

    return backward


_DECAY_MISTAKES = (
    (
        "the weight-decay gradient is missing: d/dW (lambda / 2) ||W||^2 belongs in dW1, dW2",
        {"decay": 0.0},
    ),
    (
        "the weight-decay gradient is halved: d/dW of (lambda / 2) ||W||^2 is not (lambda / 2) W",
        {"decay": 0.5},
    ),
    ("the biases were decayed too: the decay term holds W1 and W2 only", {"decay_bias": True}),
    ("the L1 gradient is missing from dH: the penalty reaches H directly", {"l1": 0.0}),
    ("the L1 gradient is off by a factor of m: P divides by the batch size", {"l1": "m"}),
    (
        "the L1 gradient was added after the activation's derivative: it is a gradient with "
        "respect to H, not Z1",
        {"l1_after": True},
    ),
    (
        "the sigmoid's derivative used for ReLU units: relu'(z) is 1 where z > 0, else 0",
        {"relu_as_sigmoid": True},
    ),
    ("the factor 2 of the mse's gradient is missing", {"recon": 1.0}),
    (
        "relu'(0) taken as 1 (Z1 >= 0 where Z1 > 0 belongs): wrong for the units whose Z1 is "
        "exactly 0, as the stub's relu'(0) = 0 says",
        {"relu_at_0": 1.0},
    ),
)


def _decay_cases(rng: np.random.Generator) -> list[Case]:
    cases = []
    settings = ((0.1, 1e-3), (0.5, 0.02), (0.01, 0.1))
    for dt in FLOATS:
        for hidden in ("sigmoid", "relu"):
            for dims, (beta, lam) in zip(_DIMS, settings, strict=True):
                label = f"{_model_label(dt, *dims)}, hidden={hidden}, beta={beta}, lambda={lam}"
                arrays = _model_arrays(rng, *dims, dt)
                if hidden == "relu":
                    arrays, label = _at_the_kink(*arrays), f"{label}, {_KINK}"
                args = (*arrays, hidden, beta, lam)
                cases.append(Case(label, args, dt, dims[0], edge=dims[0] == 1))
    return cases


_KINK = "the last hidden unit's Z1 exactly 0 for every sample"


def _at_the_kink(X, W1, b1, W2, b2) -> tuple:
    """The arrays with the last hidden unit's weights and bias at 0: its Z1 is exactly 0 for
    every sample, where the stub's relu'(0) = 0 decides its gradients (``_model_arrays`` keeps
    every other unit off the kink)."""
    W1, b1 = W1.copy(), b1.copy()
    W1[:, -1] = b1[-1] = 0
    return X, W1, b1, W2, b2


def _decay_mistake(message: str, change: dict):
    if change.get("l1") == "m":

        def backward(X, *rest):
            return _decay_variant(l1=X.shape[0])(X, *rest)

        return buggy(message, backward, _GRADS)
    return buggy(message, _decay_variant(**change), _GRADS)


BACKWARD_DECAY = Exercise(
    name="backward_decay",
    derived=True,
    difficulty=3,
    builds_on=("sigmoid_grad", "mse", "l1_penalty_grad", "gradient_check"),
    summary="the full backward pass with L1 sparsity, weight decay and sigmoid or ReLU units",
    signature=stub_signature(
        *MODEL_ARGS,
        "hidden: str",
        "beta: float",
        "lam: float",
        returns="dict",
    ),
    doc="""
The gradients of a sparse autoencoder with L1 sparsity and weight decay, whose hidden units
are sigmoids or ReLUs. The model, with f = sigmoid or relu (relu(z) = max(z, 0)), and its loss:

    Z1 = X W1 + b1,  H = f(Z1),  Z2 = H W2 + b2,  X^ = sigma(Z2)
    L  = sum_ik (X^_ik - X_ik)^2 / (m n_in)                 the mse
       + (beta / m) sum_ij |H_ij|                            L1 sparsity (H >= 0 here)
       + (lambda / 2) (sum W1^2 + sum W2^2)                  weight decay; biases not decayed

Derive the gradient of L with respect to W1, b1, W2 and b2 by the chain rule. Take
relu'(0) = 0.

Args:
    X: (m, n_in); W1: (n_in, n_hidden), b1: (n_hidden,); W2: (n_hidden, n_in), b2: (n_in,);
    all float32 or all float64. hidden: "sigmoid" or "relu". beta: the L1 weight;
    lam: the weight decay lambda.

Returns:
    A dict {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}, each of the shape and dtype of its
    parameter.

Hint: each of the three terms adds its own gradient; derive them one at a time and add them
up. Which parameters does each term depend on? Verify each term on its own with your
gradient_check (set the other weights, beta or lam, to 0).
""",
    spec=Spec(
        reference=_backward_decay,
        cases=_decay_cases,
        params=("X", "W1", "b1", "W2", "b2", "hidden", "beta", "lam"),
        returns=_GRADS,
        returns_dict=True,
        mistakes=(
            *(_decay_mistake(msg, change) for msg, change in _DECAY_MISTAKES),
            *COMMON_MISTAKES,
        ),
        transpose_hint="a gradient has the shape of its parameter",
    ),
    questions=(
        "Weight decay shrinks the weights at every step. Which of the model's symmetries "
        "(scaling codes against decoder weights) does it break, and why does L1 need that?",
        "With ReLU units some hidden units may never activate on any sample. What are their "
        "gradients, and how would you detect such dead units during training?",
    ),
)

# --------------------------------------------------------------------------- debugging


def _linear_decoder(X, W1, b1, W2, b2, rho, beta) -> dict:
    return model_grads(
        X, W1, b1, W2, b2, output="linear", recon="sse", sparsity="kl", rho=rho, beta=beta
    )


# The stub's code: a colleague adapted a sigmoid-output backward pass to the linear decoder and
# left one line as it was. The grader runs this very code to recognise an unchanged stub.
DEBUG_BACKWARD_BODY = """
m = X.shape[0]
# forward
Z1 = X @ W1 + b1
H = 1 / (1 + np.exp(-Z1))
X_hat = H @ W2 + b2
# backward
dX_hat = (X_hat - X) / m
dZ2 = dX_hat * sigmoid_grad(X_hat)
dW2 = H.T @ dZ2
db2 = dZ2.sum(axis=0)
dH = dZ2 @ W2.T + kl_penalty_grad(H, rho, beta)
dZ1 = dH * sigmoid_grad(H)
dW1 = X.T @ dZ1
db1 = dZ1.sum(axis=0)
return {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}
"""

_DEBUG_PARAMS = ("X", "W1", "b1", "W2", "b2", "rho", "beta")


DEBUG_BACKWARD = Exercise(
    name="debug_backward",
    derived=True,
    difficulty=3,
    builds_on=("sigmoid_grad", "kl_penalty_grad", "gradient_check"),
    summary="find and fix the bug in a colleague's backward pass of a linear decoder",
    signature=stub_signature(
        *MODEL_ARGS,
        "rho: float",
        "beta: float",
        returns="dict",
    ),
    doc="""
A colleague wrote the backward pass of UFLDL's "linear decoder": a sparse autoencoder whose
OUTPUT units are linear (for inputs that are not confined to [0, 1]), trained on the sse with
KL sparsity. Their code below runs, returns the right shapes, and is wrong. Find the bug and
fix it. (It uses your sigmoid_grad and kl_penalty_grad: get those right first.)

    Z1 = X W1 + b1,  H = sigma(Z1),  X^ = H W2 + b2            (no sigmoid on the output)
    L  = sum_ik (X^_ik - X_ik)^2 / (2 m)  +  beta sum_j KL(rho || rho^_j)
    rho^_j = (1/m) sum_i H_ij

Some pre-activations Z1 are large (up to a thousand or more, a saturated unit): a sigmoid you
write here must stay finite there.

Args:
    X: (m, n_in); W1: (n_in, n_hidden), b1: (n_hidden,); W2: (n_hidden, n_in), b2: (n_in,);
    all float32 or all float64. rho: the target mean activation; beta: the KL weight.

Returns:
    A dict {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}, each of the shape and dtype of its
    parameter.

Hint: do not stare at the code: measure. Run your gradient_check on each parameter (a loss
function of this model is quick to write), find the gradient that goes wrong first in the
backward order, and read the lines that compute it against the maths above.
""",
    body=DEBUG_BACKWARD_BODY,
    imports="import numpy as np\nfrom sigmoid_grad import sigmoid_grad\n"
    "from kl_penalty_grad import kl_penalty_grad",
    spec=Spec(
        reference=_linear_decoder,
        cases=_backward_cases,
        params=_DEBUG_PARAMS,
        returns=_GRADS,
        returns_dict=True,
        mistakes=(
            buggy(
                "this is still the stub's code: every gradient is wrong. Gradient-check dW2 and "
                "db2 first: they depend on the fewest lines",
                stub_function(
                    "debug_backward",
                    _DEBUG_PARAMS,
                    DEBUG_BACKWARD_BODY,
                    sigmoid_grad=reference.sigmoid_grad,
                    kl_penalty_grad=_kl_penalty_grad,
                ),
                _GRADS,
            ),
            *COMMON_MISTAKES,
        ),
        transpose_hint="a gradient has the shape of its parameter",
        nan_hint=OVERFLOW_HINT,
    ),
    questions=(
        "Which line was wrong, and why did the code still run and return the right shapes? "
        "What would a shape check alone never have caught?",
        "How did you find it? Say which gradients your gradient check flagged, and why the "
        "bug made every one of them wrong.",
    ),
)
