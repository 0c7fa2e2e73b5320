"""The sparse autoencoder's maths: the sigmoid and its derivative, the forward pass, the mse and
sse losses, the KL penalty and its gradient, and backpropagation (their order: ``catalogue``).

Each is graded against the package's own function (``npsae.reference``, ``npsae.penalties``,
``npsae.model``). The mistakes are data: a list per exercise of (message, what the mistaken
function returns), most of them a solution variant with one thing changed.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from npsae import reference
from npsae.exercises.exercise import FLOATS, Exercise, case_label, stub_signature
from npsae.exercises.grading import (
    COMMON_MISTAKES,
    SCALE_MISTAKES,
    Case,
    Mistake,
    Spec,
    batch_size,
    buggy,
    over_batch_size,
    scaled,
)
from npsae.penalties import KLSparsity, kl_divergence, kl_divergence_grad
from npsae.reference import sigmoid

# --------------------------------------------------------------------------- the sigmoid

# Extreme arguments, where a carelessly written sigmoid overflows into NaN.
_EXTREMES = np.array([-1000.0, -60.0, -1.0, 0.0, 1.0, 60.0, 1000.0])


def both_signs(a: np.ndarray) -> np.ndarray:
    """``a`` (2 entries or more) with its first entry made negative and its second positive, their
    sizes kept: a value case shows a mistake on either side of 0 (an absolute value, a sign)."""
    a = np.array(a, dtype=np.float64)
    a.flat[0], a.flat[1] = -abs(a.flat[0]), abs(a.flat[1])
    return a


def _sigmoid_cases(rng: np.random.Generator) -> list[Case]:
    cases = [
        Case(case_label(dt, Z=shape), (both_signs(rng.normal(0, 3, shape)).astype(dt),), dt)
        for dt in FLOATS
        for shape in ((5, 7), (3,), (2, 3, 4))
    ]
    cases += [
        Case(f"{dt.name}, extreme z = {_EXTREMES}", (_EXTREMES.astype(dt),), dt, edge=True)
        for dt in FLOATS
    ]
    return cases + [Case("float64, empty Z (0, 4)", (np.zeros((0, 4)),), edge=True)]


def _sigmoid_grad_cases(rng: np.random.Generator) -> list[Case]:
    edges = np.array([0.0, 1e-6, 0.5, 1 - 1e-6, 1.0])
    return [
        Case(case_label(dt, A=shape), (sigmoid(rng.normal(0, 2, shape)).astype(dt),), dt)
        for dt in FLOATS
        for shape in ((5, 7), (4,), (2, 3, 4))
    ] + [Case(f"{dt.name}, A = {edges}", (edges.astype(dt),), dt, edge=True) for dt in FLOATS]


SIGMOID = Exercise(
    name="sigmoid",
    difficulty=1,
    summary="the logistic sigmoid sigma(z) = 1 / (1 + e^(-z)), element-wise",
    signature="(Z: np.ndarray) -> np.ndarray",
    doc="""
The logistic sigmoid, element-wise:

    sigma(z) = 1 / (1 + e^(-z))

Args:
    Z: an array of any shape, float32 or float64.

Returns:
    An array of the shape and dtype of Z, every entry in [0, 1].

Hint: np.exp works element-wise on arrays. Mind overflow: e^1000 is inf in floating point.
Which way of writing sigma stays finite for z = 1000 and for z = -1000?
""",
    spec=Spec(
        reference=reference.sigmoid,
        cases=_sigmoid_cases,
        params=("Z",),
        mistakes=(
            buggy(
                "sign of z flipped: sigma(z) = 1 / (1 + e^(-z)), with a minus in the exponent",
                lambda Z: 1 / (1 + np.exp(Z)),
            ),
            buggy(
                "the reciprocal is missing: sigma(z) = 1 / (1 + e^(-z))", lambda Z: 1 + np.exp(-Z)
            ),
            buggy("that is tanh(z), not the sigmoid", np.tanh),
            buggy(
                "that is sigma(2z): the argument is doubled (if you went through tanh, check "
                "the argument you gave it)",
                lambda Z: sigmoid(2 * Z),
            ),
            buggy(
                "a sign in the denominator is wrong: sigma(z) = 1 / (1 + e^(-z))",
                lambda Z: 1 / (1 - np.exp(-Z)),
            ),
            *SCALE_MISTAKES,
        ),
        nan_hint="e^z overflows to inf for large z and inf / inf is NaN; "
        "1 / (1 + e^(-z)) overflows only towards the right limit, 0",
    ),
    questions=(
        "e^(-z) overflows to inf for z = -1000. Why does 1 / (1 + e^(-z)) still give the right "
        "answer there, while e^z / (1 + e^z) gives NaN at z = 1000?",
    ),
)

SIGMOID_GRAD = Exercise(
    name="sigmoid_grad",
    derived=True,
    difficulty=1,
    builds_on=("sigmoid",),
    summary="the sigmoid's derivative, written through its output A = sigma(z)",
    signature="(A: np.ndarray) -> np.ndarray",
    doc="""
The derivative sigma'(z) of the sigmoid sigma(z) = 1 / (1 + e^(-z)), computed from the
sigmoid's OUTPUT A = sigma(z): the forward pass has kept A, so the backward pass need not
recompute it, nor keep z.

Args:
    A: an array of any shape, float32 or float64, entries in [0, 1]: already sigma(z).

Returns:
    sigma'(z) for every entry: an array of the shape and dtype of A.

Hint: differentiate 1 / (1 + e^(-z)) with the chain rule, then write e^(-z) in terms of
sigma(z). Check your formula numerically: (sigma(z + h) - sigma(z - h)) / (2 h) for a small h.
The argument is A, not z.
""",
    spec=Spec(
        reference=reference.sigmoid_grad,
        cases=_sigmoid_grad_cases,
        params=("A",),
        domain={"A": (0.0, 1.0)},
        mistakes=(
            buggy(
                "derivative taken at z instead of a: the argument is already A = sigma(z); "
                "applying the sigmoid to it again computes the derivative at the wrong point",
                lambda A: sigmoid(A) * (1 - sigmoid(A)),
            ),
            buggy("a factor (1 - A) is missing", lambda A: A),
            buggy("a factor A is missing", lambda A: 1 - A),
            buggy("that is A (1 + A): a sign inside is wrong", lambda A: A * (1 + A)),
            *SCALE_MISTAKES,
        ),
    ),
    questions=(
        "Where is sigma'(z) largest, and what does that mean for the gradient reaching a unit "
        "whose activation is close to 0 or 1 (a saturated unit)?",
    ),
)

# --------------------------------------------------------------------------- forward pass

#: The stub parameters of a batch and the model's parameters.
MODEL_ARGS = tuple(f"{name}: np.ndarray" for name in ("X", "W1", "b1", "W2", "b2"))

#: How far beyond 0 the saturated hidden unit of a model case reaches, either way: beyond
#: where e^z overflows in float64 (709).
SATURATED = 1000.0

#: Where a model case's NaN most likely comes from.
OVERFLOW_HINT = "is your sigmoid finite for a saturated unit's large z (e^1000 is inf)?"

# Batch size, input width, hidden width; never two equal, so that every transposition shows.
_DIMS = ((6, 8, 3), (1, 5, 4), (9, 4, 7))


def _model_arrays(
    rng: np.random.Generator, m: int, n_in: int, n_hidden: int, dt, saturate: bool = False
) -> tuple:
    """X (m, n_in) in [0, 1), W1 (n_in, n_hidden), b1 (n_hidden,), W2 (n_hidden, n_in), b2.

    For m > 1, b1 puts every hidden unit's pre-activation X W1 + b1 at 0 between two samples,
    half-way through the batch: a ReLU unit is on for some samples and off for the others,
    never dead, and no sample sits at the kink. The first column of W1 is negative and the
    second positive, so that b1, like b2, has both signs. With ``saturate`` (sigmoid units, no
    weight decay to swell with W1) the last unit is saturated: its
    pre-activation reaches beyond +-SATURATED, where e^z overflows (a sigmoid unit of a trained
    model often sits there); a sigmoid written to overflow gives NaN on it."""
    X = rng.random((m, n_in))
    W1, W2 = rng.normal(0, 0.7, (n_in, n_hidden)), rng.normal(0, 0.7, (n_hidden, n_in))
    W1[:, 0], W1[:, 1] = -np.abs(W1[:, 0]), np.abs(W1[:, 1])
    b1, b2 = rng.normal(0, 0.5, n_hidden), both_signs(rng.normal(0, 0.5, n_in))
    if m > 1:
        Z = np.sort(X @ W1, axis=0)
        b1 = -(Z[m // 2 - 1] + Z[m // 2]) / 2
    if m > 1 and saturate:
        spread = Z[:, -1] + b1[-1]
        scale = SATURATED / min(spread[-1], -spread[0])
        W1[:, -1], b1[-1] = W1[:, -1] * scale, b1[-1] * scale
    return tuple(a.astype(dt) for a in (X, W1, b1, W2, b2))


def _model_label(dt: np.dtype, m: int, n_in: int, n_hidden: int) -> str:
    return f"{dt.name}, m={m} samples, n_in={n_in}, n_hidden={n_hidden}"


def _forward_cases(rng: np.random.Generator) -> list[Case]:
    return [
        Case(_model_label(dt, *d), _model_arrays(rng, *d, dt, True), dt, d[0], edge=d[0] == 1)
        for dt in FLOATS
        for d in _DIMS
    ]


def _forward(X, W1, b1, W2, b2) -> np.ndarray:
    params = {"W1": W1, "b1": b1, "W2": W2, "b2": b2}
    H, _ = reference.encode(params, X, "sigmoid")
    return reference.decode(params, H, "sigmoid")


def _identity(Z):
    return Z


def _forward_variant(
    hidden=sigmoid, output=sigmoid, use_b1=True, use_b2=True, b1_after=False, tied=False
) -> Callable:
    """The forward pass with one thing changed: either layer's activation, a bias left out,
    b1 added after the hidden sigmoid, or the decoder's weights tied to the encoder's (W1^T)."""

    def forward(X, W1, b1, W2, b2):
        bias1 = b1 if use_b1 else 0
        H = hidden(X @ W1) + bias1 if b1_after else hidden(X @ W1 + bias1)
        return output(H @ (W1.T if tied else W2) + (b2 if use_b2 else 0))

    return forward


FORWARD = Exercise(
    name="forward",
    difficulty=2,
    builds_on=("sigmoid",),
    summary="the autoencoder's forward pass X -> H -> X^, sigmoid hidden and output units",
    signature=stub_signature(
        *MODEL_ARGS,
        returns="np.ndarray",
    ),
    doc="""
The forward pass of the sparse autoencoder, for a batch of m samples:

    H  = sigma(X W1 + b1)      the hidden activations
    X^ = sigma(H W2 + b2)      the reconstruction

Args:
    X:  (m, n_in), one sample per row.
    W1: (n_in, n_hidden), b1: (n_hidden,)    the encoder.
    W2: (n_hidden, n_in), b2: (n_in,)        the decoder.
    All float32, or all float64.

Returns:
    X^: (m, n_in), the dtype of X.

Some pre-activations are large (|X W1 + b1| up to a thousand or more, a saturated unit): your
sigmoid must stay finite there, as in the sigmoid exercise.

Hint: "@" multiplies matrices; adding b1 of shape (n_hidden,) to an (m, n_hidden) array adds it
to every row (broadcasting). Write your sigmoid here, or import it from your sigmoid.py.
""",
    spec=Spec(
        reference=_forward,
        cases=_forward_cases,
        params=("X", "W1", "b1", "W2", "b2"),
        mistakes=(
            buggy(
                "no sigmoid on the output layer: X^ = sigma(H W2 + b2)",
                _forward_variant(output=_identity),
            ),
            buggy(
                "no sigmoid on the hidden layer: H = sigma(X W1 + b1)",
                _forward_variant(hidden=_identity),
            ),
            buggy("the bias b1 is missing: H = sigma(X W1 + b1)", _forward_variant(use_b1=False)),
            buggy("the bias b2 is missing: X^ = sigma(H W2 + b2)", _forward_variant(use_b2=False)),
            buggy(
                "ReLU hidden units: this model's hidden layer is a sigmoid, H = sigma(X W1 + b1)",
                _forward_variant(hidden=reference.relu),
            ),
            buggy(
                "ReLU on the output layer: X^ = sigma(H W2 + b2)",
                _forward_variant(output=reference.relu),
            ),
            buggy(
                "b1 added after the hidden sigmoid: it belongs inside, H = sigma(X W1 + b1)",
                _forward_variant(b1_after=True),
            ),
            buggy(
                "the decoder used W1^T (tied weights): this model's decoder has its own W2",
                _forward_variant(tied=True),
            ),
            *COMMON_MISTAKES,
        ),
        transpose_hint="X (m, n_in) @ W1 (n_in, n_hidden) gives (m, n_hidden); no transposes "
        "are needed",
        nan_hint=OVERFLOW_HINT,
    ),
    questions=(
        "Why does the output layer of an autoencoder for images in [0, 1] use a sigmoid, and "
        "when would a linear output be the better choice?",
    ),
)

# --------------------------------------------------------------------------- the losses

# The divisors of the summed squared error that students reach for, and what each one is.
_DIVISORS: dict[str, tuple[Callable[[int, int], int], str]] = {
    "m*n": (lambda m, n: m * n, " (that is the mse)"),
    "2m": (lambda m, n: 2 * m, " (that is the sse)"),
    "m": (lambda m, n: m, ""),
    "2*m*n": (lambda m, n: 2 * m * n, ""),
    "n": (lambda m, n: n, ""),
    "2": (lambda m, n: 2, ""),
    "1 (no division)": (lambda m, n: 1, ""),
}


def _summed_squares(divisor: Callable[[int, int], int], power: Callable = np.square):
    def loss(X_hat, X):
        return float(np.sum(power(X_hat - X)) / divisor(*X.shape))

    return loss


def _expanded_square(divisor: Callable[[int, int], int]) -> Mistake:
    """(X^ - X)^2 expanded to X^^2 - 2 X^ X + X^2, in the arithmetic of the case's dtype: on
    entries large against X^ - X the three terms cancel and their rounding errors are left."""

    def output(case: Case, expected: dict) -> dict:
        X_hat, X = case.args
        return {"result": float(np.sum(X_hat**2 - 2 * X_hat * X + X**2) / divisor(*X.shape))}

    return Mistake(
        "(X^ - X)^2 expanded to X^^2 - 2 X^ X + X^2: on entries large against X^ - X the terms "
        "cancel and rounding errors are left; subtract first, then square",
        output,
    )


def _loss_mistakes(correct: str) -> tuple[Mistake, ...]:
    """The mistakes of a squared-error loss whose divisor is ``_DIVISORS[correct]``."""
    divisor = _DIVISORS[correct][0]
    wrong_divisors = tuple(
        buggy(
            f"divided the summed squared error by {name} instead of {correct}{note}",
            _summed_squares(fn),
        )
        for name, (fn, note) in _DIVISORS.items()
        if name != correct
    )
    return (
        *wrong_divisors,
        buggy("not squared: |X^ - X| summed instead of (X^ - X)^2", _summed_squares(divisor, abs)),
        buggy(
            "took a square root of the loss (that is the RMSE)",
            lambda X_hat, X: float(np.sqrt(_summed_squares(divisor)(X_hat, X))),
        ),
        buggy(
            f"took the square root of the summed squares before dividing by {correct}: the "
            "loss has no square root",
            lambda X_hat, X: float(np.sqrt(np.sum(np.square(X_hat - X))) / divisor(*X.shape)),
        ),
        buggy(
            "squared the mean difference: the loss squares each difference first, then sums",
            lambda X_hat, X: float(np.mean(X_hat - X) ** 2),
        ),
        buggy(
            "squared the mean absolute difference: the loss squares each difference first, "
            "then sums",
            lambda X_hat, X: float(np.mean(np.abs(X_hat - X)) ** 2),
        ),
        _expanded_square(divisor),
        *COMMON_MISTAKES,
    )


# Where the entries of the value cases lie, per dtype: far from 0 against the error X^ - X
# (about 0.2), so that a loss which loses the difference to rounding is wrong beyond even
# float32's tolerance.
_OFFSET = {np.dtype(np.float32): 1e4, np.dtype(np.float64): 1e7}


def _loss_cases(rng: np.random.Generator) -> list[Case]:
    cases = []
    for dt in FLOATS:
        for m, n in ((5, 7), (16, 3), (1, 4)):
            X = _OFFSET[dt] + rng.random((m, n))
            X_hat = X + rng.normal(0, 0.2, (m, n))
            label = f"{case_label(dt, X_hat=(m, n), X=(m, n))}, entries near {_OFFSET[dt]:g}"
            args = (X_hat.astype(dt), X.astype(dt))
            cases.append(Case(label, args, dt, m, edge=m == 1))
    X = rng.random((3, 5))
    return cases + [Case("float64, X_hat equal to X (3, 5)", (X.copy(), X), m=3, edge=True)]


def _loss_exercise(
    name: str,
    divisor: str,
    formula: str,
    who: str,
    meaning: str,
    reference_loss: Callable,
    questions: tuple[str, ...],
) -> Exercise:
    return Exercise(
        name=name,
        difficulty=1,
        summary=f"the reconstruction loss {formula}, as {who} defines it",
        signature="(X_hat: np.ndarray, X: np.ndarray) -> float",
        doc=f"""
The {name} reconstruction loss of a batch as {who} defines it,
{meaning}:

    {name} = {formula}

Args:
    X_hat: (m, n), the reconstruction; X: (m, n), the batch (m samples of n entries).
    float32 or float64.

Returns:
    A single number (a Python float), to the precision of the dtype also when the entries
    are large against their differences X_hat - X.

Hint: sum over everything, then divide by {divisor}.
""",
        spec=Spec(
            reference=reference_loss,
            cases=_loss_cases,
            params=("X_hat", "X"),
            mistakes=_loss_mistakes(divisor),
        ),
        questions=questions,
    )


MSE = _loss_exercise(
    "mse",
    "m*n",
    "sum_ik (X^_ik - X_ik)^2 / (m n)",
    "Keras",
    "the mean over all entries",
    reference.mse,
    (
        "Doubling the number of pixels n_in of every image: what happens to the mse of the "
        "same reconstruction error per pixel, and to the sse?",
    ),
)
SSE = _loss_exercise(
    "sse",
    "2m",
    "sum_ik (X^_ik - X_ik)^2 / (2 m)",
    "UFLDL",
    "half the summed error per sample",
    reference.sse,
    (
        "The sse's gradient is n_in times the mse's. With plain gradient descent, how must the "
        "learning rate change to take the same steps? With Adam?",
    ),
)

# --------------------------------------------------------------------------- KL sparsity


# The pre-activation of a unit almost never on (rho^ about 0.005, below where a clip of rho^
# would start, 0.01), and of one almost always on (rho^ about 0.995).
_NEARLY = 5.3


def _kl_cases(rng: np.random.Generator, extremes: bool = False) -> list[Case]:
    cases = []
    for dt in FLOATS:
        for (m, n), rho, beta in (((10, 4), 0.05, 3.0), ((3, 6), 0.2, 0.1), ((1, 5), 0.1, 0.5)):
            Z = rng.normal(-1, 1.5, (m, n))
            if extremes:  # a unit nearly dead; one nearly saturated where m < n (a sum over
                # the samples divided by n then stays below 1)
                Z[:, 0] = rng.normal(-_NEARLY, 0.1, m)
                Z[:, 1] = rng.normal(_NEARLY if m < n else -1, 0.1, m)
            H = sigmoid(Z).astype(dt)
            label = f"{case_label(dt, H=(m, n))}, rho={rho}, beta={beta}"
            cases.append(Case(label, (H, rho, beta), dt, m, edge=m == 1))
    return cases


def _kl(H, rho, beta, rho_hat=None, kl=kl_divergence):
    rho_hat = H.mean(axis=0) if rho_hat is None else rho_hat
    return beta * float(np.sum(kl(rho, rho_hat)))


def _kl_penalty(H, rho, beta) -> float:
    # The penalty reads only the column sums of H; W2 matters to other penalties, not to KL.
    m, n_hidden = H.shape
    return KLSparsity(beta=beta, rho=rho).value(H.sum(axis=0), m, np.empty((n_hidden, 0)))


def _kl_penalty_grad(H, rho, beta) -> np.ndarray:
    m, n_hidden = H.shape
    c = KLSparsity(beta=beta, rho=rho).hidden_grad(H.sum(axis=0), m, np.empty((n_hidden, 0)))
    return np.broadcast_to(c, H.shape)


_KL_DOC_HEAD = """
The KL sparsity penalty of Ng's sparse autoencoder. Each hidden unit j should be active a
fraction rho of the time; its mean activation over the batch is

    rho^_j = (1/m) sum_i H_ij

and the penalty adds up, over the units, the Kullback-Leibler divergence between Bernoulli
distributions of means rho and rho^_j:

    P = beta sum_j KL(rho || rho^_j)
    KL(rho || rho^) = rho log(rho / rho^) + (1 - rho) log((1 - rho) / (1 - rho^))
"""

KL_PENALTY = Exercise(
    name="kl_penalty",
    difficulty=2,
    summary="the KL sparsity penalty beta sum_j KL(rho || rho^_j)",
    signature="(H: np.ndarray, rho: float, beta: float) -> float",
    doc=_KL_DOC_HEAD
    + """
Args:
    H: (m, n_hidden), the sigmoid hidden activations, entries in (0, 1); float32 or float64.
    rho: the target mean activation, in (0, 1). beta: the penalty's weight.

Returns:
    P, a single number (a Python float).

Hint: which axis of H runs over the samples? rho^ has one entry per hidden unit.
""",
    spec=Spec(
        reference=_kl_penalty,
        cases=_kl_cases,
        params=("H", "rho", "beta"),
        domain={"H": (0.0, 1.0)},
        mistakes=(
            buggy(
                "rho^ averaged over the hidden units (axis 1) instead of over the samples "
                "(axis 0): rho^_j = (1/m) sum_i H_ij",
                lambda H, rho, beta: _kl(H, rho, beta, H.mean(axis=1)),
            ),
            buggy(
                "rho^ is the sum over the samples, not the mean: rho^_j = (1/m) sum_i H_ij",
                lambda H, rho, beta: _kl(H, rho, beta, H.sum(axis=0)),
            ),
            buggy(
                "rho^ is one mean over all entries of H: rho^ has one entry per hidden unit, "
                "rho^_j = (1/m) sum_i H_ij (the mean over axis 0)",
                lambda H, rho, beta: _kl(H, rho, beta, np.full(H.shape[1], H.mean())),
            ),
            buggy(
                "rho^ divides the sum over the samples by n_hidden, not by m: "
                "rho^_j = (1/m) sum_i H_ij",
                lambda H, rho, beta: _kl(H, rho, beta, H.sum(axis=0) / H.shape[1]),
            ),
            buggy(
                "the log of the second term has its argument inverted: KL(rho || rho^) = "
                "rho log(rho / rho^) + (1 - rho) log((1 - rho) / (1 - rho^))",
                lambda H, rho, beta: _kl(
                    H,
                    rho,
                    beta,
                    kl=lambda r, q: r * np.log(r / q) + (1 - r) * np.log((1 - q) / (1 - r)),
                ),
            ),
            buggy(
                "the first term's log takes rho alone (parentheses?): it is log(rho / rho^), "
                "not log(rho) / rho^",
                lambda H, rho, beta: _kl(
                    H,
                    rho,
                    beta,
                    kl=lambda r, q: r * np.log(r) / q + (1 - r) * np.log((1 - r) / (1 - q)),
                ),
            ),
            buggy(
                "the arguments of KL are swapped: KL(rho || rho^) = rho log(rho / rho^) + ...",
                lambda H, rho, beta: _kl(H, rho, beta, kl=lambda r, r_hat: kl_divergence(r_hat, r)),
            ),
            buggy(
                "a term of KL is missing: KL(rho || rho^) = rho log(rho / rho^) "
                "+ (1 - rho) log((1 - rho) / (1 - rho^))",
                lambda H, rho, beta: _kl(H, rho, beta, kl=lambda r, r_hat: r * np.log(r / r_hat)),
            ),
            buggy(
                "beta is missing: P = beta sum_j KL(rho || rho^_j)",
                lambda H, rho, beta: _kl(H, rho, 1.0),
            ),
            buggy(
                "averaged KL over the hidden units: P sums it, P = beta sum_j KL(rho || rho^_j)",
                lambda H, rho, beta: _kl(H, rho, beta) / H.shape[1],
            ),
            scaled(
                "divided by m: rho^ is already a mean over the batch, P is not averaged again",
                over_batch_size,
            ),
            *COMMON_MISTAKES,
        ),
        nan_hint="log of a negative number or of 0: is rho^ a mean, between 0 and 1?",
    ),
    questions=(
        "KL(rho || rho^) is not symmetric. Sketch it as a function of rho^ for rho = 0.05: what "
        "happens as rho^ approaches 0, and as it approaches 1?",
    ),
)


def _kl_grad(H, rho, beta, sign_rho=-1.0, sign_rest=1.0, scale=1.0, clip=0.0):
    m = H.shape[0]
    rho_hat = np.clip(H.mean(axis=0), clip, 1 - clip)
    c = beta / m * scale * (sign_rho * rho / rho_hat + sign_rest * (1 - rho) / (1 - rho_hat))
    return np.broadcast_to(c, H.shape)


KL_PENALTY_GRAD = Exercise(
    name="kl_penalty_grad",
    derived=True,
    difficulty=2,
    builds_on=("kl_penalty",),
    summary="the KL penalty's gradient dP/dH_ij, the same for every sample",
    signature="(H: np.ndarray, rho: float, beta: float) -> np.ndarray",
    doc=_KL_DOC_HEAD
    + """
This function returns its gradient dP / dH_ij with respect to every activation H_ij.
Derive it: P depends on H_ij only through rho^_j, so use the chain rule through rho^_j.

Args:
    H: (m, n_hidden), the sigmoid hidden activations, entries in (0, 1); float32 or float64.
    Some units may be almost never on (rho^_j near 0) or almost always (near 1), as in any
    sparse code: the formula holds there as written, with no clipping.
    rho: the target mean activation, in (0, 1). beta: the penalty's weight.

Returns:
    dH: (m, n_hidden), the dtype of H: row i is the gradient for sample i.

Hint: first differentiate KL(rho || rho^) with respect to rho^, then find d rho^_j / d H_ij.
Which samples i does the result depend on? Check your formula against finite differences of
your kl_penalty (perturb one H_ij by +-h).
""",
    spec=Spec(
        reference=_kl_penalty_grad,
        cases=lambda rng: _kl_cases(rng, extremes=True),
        params=("H", "rho", "beta"),
        domain={"H": (0.0, 1.0)},
        mistakes=(
            scaled(
                "sign flipped in the KL derivative: differentiate each log term of "
                "KL(rho || rho^) with respect to rho^ again",
                lambda c: -1,
            ),
            buggy(
                "the sign of the term from rho log(rho / rho^) is wrong: what is "
                "d/d rho^ of log(rho / rho^)?",
                lambda H, rho, beta: _kl_grad(H, rho, beta, sign_rho=1.0),
            ),
            buggy(
                "the sign of the term from (1 - rho) log((1 - rho) / (1 - rho^)) is wrong: the "
                "chain rule through (1 - rho^) brings a -1",
                lambda H, rho, beta: _kl_grad(H, rho, beta, sign_rest=-1.0),
            ),
            scaled(
                "off by a factor of m: what is d rho^_j / d H_ij?",
                batch_size,
            ),
            buggy(
                "beta is missing: P = beta sum_j KL(rho || rho^_j)",
                lambda H, rho, beta: _kl_grad(H, rho, beta, scale=1 / beta),
            ),
            buggy(
                "rho^ was clipped: a unit almost never on (rho^ near 0) or almost always on "
                "(near 1) gets its gradient from the formula as written",
                lambda H, rho, beta: _kl_grad(H, rho, beta, clip=0.01),
            ),
            *COMMON_MISTAKES,
        ),
        nan_hint="division by 0: is rho^ a mean, between 0 and 1?",
    ),
    questions=(
        "Why does the KL penalty need activations in (0, 1)? What goes wrong with ReLU units?",
        "Why is the gradient the same for every sample i, and what does that say about how the "
        "penalty acts on one unit?",
    ),
)

# --------------------------------------------------------------------------- backward pass


_GRADS = ("W1", "b1", "W2", "b2")


def model_grads(X, W1, b1, W2, b2, **model) -> dict:
    """The gradients of npsae's own model (keywords of ``SparseAutoencoder``) with these
    parameters on the batch X, in the dtype of X: the reference of every backward pass."""
    from npsae.model import SparseAutoencoder

    sae = SparseAutoencoder(X.shape[1], W1.shape[1], dtype=np.float64, backend="numpy", **model)
    sae.params = {k: np.array(v, np.float64) for k, v in zip(_GRADS, (W1, b1, W2, b2), strict=True)}
    _, grads = sae.loss_and_grads(X)
    # The model works in float64 for accuracy; the student's result keeps the inputs' dtype.
    return {k: g.astype(X.dtype) for k, g in grads.items()}


def _backward(X, W1, b1, W2, b2, rho, beta) -> dict:
    return model_grads(X, W1, b1, W2, b2, recon="mse", sparsity="kl", rho=rho, beta=beta)


# The sigmoid derivative, correct and as mistaken, from the pre-activation Z and output A.
_SIGMOID_DERIVATIVES = {
    "a": lambda Z, A: A * (1 - A),
    "z": lambda Z, A: Z * (1 - Z),
    "twice": lambda Z, A: sigmoid(A) * (1 - sigmoid(A)),
    "none": lambda Z, A: np.ones_like(A),
}


def _backward_variant(
    recon=lambda m, n: 2 / (m * n),
    kl=lambda m: 1.0,
    hidden="a",
    output="a",
    kl_after_derivative=False,
) -> Callable:
    """The backward pass with one thing changed: the factor ``recon(m, n)`` of the mse gradient,
    a factor ``kl(m)`` on the sparsity gradient, either layer's sigmoid derivative (a key of
    ``_SIGMOID_DERIVATIVES``), or the sparsity gradient added after the hidden derivative."""

    def backward(X, W1, b1, W2, b2, rho, beta):
        m, n_in = X.shape
        Z1 = X @ W1 + b1
        H = sigmoid(Z1)
        Z2 = H @ W2 + b2
        X_hat = sigmoid(Z2)
        dZ2 = recon(m, n_in) * (X_hat - X) * _SIGMOID_DERIVATIVES[output](Z2, X_hat)
        c = kl(m) * beta / m * kl_divergence_grad(rho, H.mean(axis=0))
        f_prime = _SIGMOID_DERIVATIVES[hidden](Z1, H)
        dH = dZ2 @ W2.T
        dZ1 = dH * f_prime + c if kl_after_derivative else (dH + c) * f_prime
        return {"W1": X.T @ dZ1, "b1": dZ1.sum(axis=0), "W2": H.T @ dZ2, "b2": dZ2.sum(axis=0)}

    return backward


# (message, how the mistaken backward pass differs from the solution)
_BACKWARD_MISTAKES = (
    (
        "used the sse gradient (X^ - X) / m: this loss is the mse, sum (X^ - X)^2 / (m n)",
        {"recon": lambda m, n: 1 / m},
    ),
    (
        "off by a factor of m n: the mse's gradient was not divided by m n",
        {"recon": lambda m, n: 2},
    ),
    (
        "the factor 2 of the mse's gradient is missing: d/du of u^2 is 2 u",
        {"recon": lambda m, n: 1 / (m * n)},
    ),
    ("sign flipped in the KL derivative (your kl_penalty_grad's)", {"kl": lambda m: -1.0}),
    ("the sparsity gradient is off by a factor of m (your kl_penalty_grad's)", {"kl": lambda m: m}),
    (
        "the sparsity gradient is missing: H reaches L through the penalty too",
        {"kl": lambda m: 0.0},
    ),
    (
        "the sparsity gradient c was added after multiplying by sigma'(Z1): it is a gradient "
        "with respect to H, not Z1",
        {"kl_after_derivative": True},
    ),
    *(
        (f"{message} ({where})", {layer: kind for layer in layers})
        for kind, message in (
            (
                "z",
                "sigmoid derivative taken at z instead of a: your sigmoid_grad takes the "
                "activation A = sigma(z), not Z",
            ),
            ("twice", "sigmoid applied twice: A is already sigma(z)"),
            ("none", "the sigmoid's derivative is missing"),
        )
        for where, layers in (
            ("in both layers", ("hidden", "output")),
            ("in the hidden layer", ("hidden",)),
            ("in the output layer", ("output",)),
        )
    ),
)


def _backward_cases(rng: np.random.Generator) -> list[Case]:
    cases = []
    for dt in FLOATS:
        for dims, rho, beta in zip(_DIMS, (0.1, 0.05, 0.2), (3.0, 0.5, 0.1), strict=True):
            label = f"{_model_label(dt, *dims)}, rho={rho}, beta={beta}"
            args = (*_model_arrays(rng, *dims, dt, saturate=True), rho, beta)
            cases.append(Case(label, args, dt, dims[0], edge=dims[0] == 1))
    return cases


BACKWARD = Exercise(
    name="backward",
    derived=True,
    difficulty=3,
    builds_on=("sigmoid_grad", "forward", "mse", "kl_penalty_grad"),
    summary="the gradients of mse + KL sparsity for W1, b1, W2, b2 (backpropagation)",
    signature=stub_signature(
        *MODEL_ARGS,
        "rho: float",
        "beta: float",
        returns="dict",
    ),
    doc="""
The gradients of the sparse autoencoder's loss, by backpropagation. The model (sigmoid hidden
and output units) and its loss:

    Z1 = X W1 + b1,  H = sigma(Z1),  Z2 = H W2 + b2,  X^ = sigma(Z2)
    L  = sum_ik (X^_ik - X_ik)^2 / (m n_in)  +  beta sum_j KL(rho || rho^_j)

Derive the gradient of L with respect to each parameter by the chain rule, going backwards
through the forward pass. Naming the intermediate gradients helps, dV meaning dL / dV:

    dX^, dZ2   (m, n_in)          dW2 (n_hidden, n_in), db2 (n_in,)
    dH, dZ1    (m, n_hidden)      dW1 (n_in, n_hidden), db1 (n_hidden,)

H reaches L along two paths: through X^, and through the penalty. Some pre-activations Z1 are
large (up to a thousand or more, a saturated unit): your sigmoid must stay finite there.

Args:
    X: (m, n_in); W1: (n_in, n_hidden), b1: (n_hidden,); W2: (n_hidden, n_in), b2: (n_in,);
    all float32 or all float64. rho: the target mean activation; beta: the KL weight.

Returns:
    A dict {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}, each of the shape and dtype of its
    parameter.

Hint: "*" multiplies element-wise, "@" is the matrix product. Check every shape as you go: a
gradient always has the shape of its parameter, which often tells you where a transpose goes.
Reuse your earlier exercises, and verify the result with your gradient_check.
""",
    spec=Spec(
        reference=_backward,
        cases=_backward_cases,
        params=("X", "W1", "b1", "W2", "b2", "rho", "beta"),
        returns=_GRADS,
        returns_dict=True,
        mistakes=(
            *(
                buggy(message, _backward_variant(**change), _GRADS)
                for message, change in _BACKWARD_MISTAKES
            ),
            *COMMON_MISTAKES,
        ),
        transpose_hint="dW1 has the shape of W1, (n_in, n_hidden): dW1 = X^T dZ1, not dZ1^T X",
        nan_hint=OVERFLOW_HINT,
    ),
    questions=(
        "Which of the four gradients does the KL term change, and which does it leave alone? Why?",
        "Your gradient check passes in float64 but reports errors near 1e-4 in float32. Is the "
        "backward pass wrong? Explain.",
    ),
)
