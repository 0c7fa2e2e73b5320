"""The tools around the model (finite differences, an Adam step, a buggy AdamW step to debug, the
IDX header), graded against ``npsae.gradcheck``, ``npsae.optim`` and ``npsae.idx``.

``npsae.optim`` is imported only when Adam is graded: it imports Numba, which listing or
starting the exercises does not need.
"""

from __future__ import annotations

import struct
from collections.abc import Callable

import numpy as np

from npsae.exercises.casefns import CaseFunction
from npsae.exercises.exercise import FLOATS, Exercise, case_label, stub_function, stub_signature
from npsae.exercises.grading import SCALE_MISTAKES, Case, Spec, buggy, scaled
from npsae.exercises.model_exercises import both_signs
from npsae.gradcheck import numerical_gradient
from npsae.idx import TYPE_CODES, parse_idx_header

# --------------------------------------------------------------------------- Adam


def _adam(p, g, m, v, t, lr, beta1, beta2, eps):
    from npsae.optim import adam_step  # Numba compiles the optimiser's kernels: import late

    return adam_step(p, g, m, v, t, lr, beta1, beta2, eps)


def _adam_variant(
    correct_m=True, correct_v=True, dt=0, eps_inside=False, square=True, ascend=False, skip=False
) -> Callable:
    """Adam with one thing changed: no bias correction of m or v, the step count off by ``dt``,
    eps inside the square root, g instead of g^2 in v, a step up the gradient, or the entries
    where g = 0 skipped."""

    def adam(p, g, m, v, t, lr, beta1, beta2, eps):
        if skip:
            p1, m1, v1 = _adam_variant()(p, g, m, v, t, lr, beta1, beta2, eps)
            return tuple(np.where(g == 0, old, new) for old, new in ((p, p1), (m, m1), (v, v1)))
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * (g * g if square else g)
        m_hat = m / (1 - beta1 ** (t + dt)) if correct_m else m
        v_hat = v / (1 - beta2 ** (t + dt)) if correct_v else v
        step = lr * m_hat / (np.sqrt(v_hat + eps) if eps_inside else np.sqrt(v_hat) + eps)
        return p + step if ascend else p - step, m, v

    return adam


_ADAM = ("p", "m", "v")
_ADAM_ARGS = (*(f"{name}: np.ndarray" for name in "pgmv"), "t: int") + tuple(
    f"{name}: float" for name in ("lr", "beta1", "beta2", "eps")
)
_ADAM_RETURNS = "tuple[np.ndarray, np.ndarray, np.ndarray]"
_ADAM_MISTAKES = (
    (
        "bias correction missing: m^ = m / (1 - beta1^t), v^ = v / (1 - beta2^t)",
        {"correct_m": False, "correct_v": False},
    ),
    ("bias correction of m missing: m^ = m / (1 - beta1^t)", {"correct_m": False}),
    ("bias correction of v missing: v^ = v / (1 - beta2^t)", {"correct_v": False}),
    ("step count off by one: t is 1 at the first step, and beta^t uses it as given", {"dt": 1}),
    ("step count off by one: t is 1 at the first step, and beta^t uses it as given", {"dt": -1}),
    ("eps inside the square root: p = p - lr m^ / (sqrt(v^) + eps)", {"eps_inside": True}),
    ("v must average the squared gradient: v = beta2 v + (1 - beta2) g^2", {"square": False}),
    ("the step went up the gradient: p = p - lr m^ / (sqrt(v^) + eps)", {"ascend": True}),
    (
        "entries where g = 0 were left alone: m still decays there, and p still moves by "
        "lr m^ / (sqrt(v^) + eps)",
        {"skip": True},
    ),
)


def _adam_cases(rng: np.random.Generator) -> list[Case]:
    cases = []
    # Value cases: a few steps in, where the bias corrections are large and change fast with t
    # (near t = 10 their effects on the step cancel), moments of the size t - 1 steps of a
    # unit gradient leave, lr large enough and eps not small against sqrt(v^) ~ 1: a mistake in
    # any term moves p beyond float32's tolerance. A few gradient entries are exactly 0 (a unit
    # that did not fire on the batch), where m still decays and p still moves.
    settings = (((4, 5), 2, 0.1, 0.05), ((7,), 5, 0.2, 0.02), ((2, 3, 2), 3, 0.05, 0.1))
    for dt in FLOATS:
        for shape, t, lr, eps in settings:
            p, g = rng.normal(0, 1, shape), rng.normal(0, 1, shape)
            g.flat[2::3] = 0
            m = both_signs(rng.normal(0, 1, shape)) * (1 - 0.9 ** (t - 1))
            v = rng.uniform(0, 2, shape) * (1 - 0.999 ** (t - 1))
            arrays = tuple(a.astype(dt) for a in (p, g, m, v))
            label = f"{case_label(dt, p=shape)}, t={t}, lr={lr}, eps={eps}"
            cases.append(Case(label, (*arrays, t, lr, 0.9, 0.999, eps), dt))
    # The first step, moments still 0: m^ = g and v^ = g^2 whatever the moments' mistakes.
    for dt in FLOATS:
        p, g = rng.normal(0, 1, (4, 5)), rng.normal(0, 1, (4, 5))
        arrays = tuple(a.astype(dt) for a in (p, g, np.zeros((4, 5)), np.zeros((4, 5))))
        label = f"{case_label(dt, p=(4, 5))}, the first step (m = v = 0), t=1, lr=0.01, eps=1e-08"
        cases.append(Case(label, (*arrays, 1, 0.01, 0.9, 0.999, 1e-8), dt, edge=True))
    return cases


ADAM_STEP = Exercise(
    name="adam_step",
    difficulty=2,
    summary="one step of the Adam optimiser, with bias correction",
    signature=stub_signature(*_ADAM_ARGS, returns=_ADAM_RETURNS),
    doc="""
One step of Adam (Kingma & Ba 2015, Algorithm 1) on a parameter p with gradient g.
m and v are running averages of the gradient and of its square; they start at 0, so early
averages are too small, which the bias correction undoes. For step number t = 1, 2, ...:

    m  = beta1 m + (1 - beta1) g
    v  = beta2 v + (1 - beta2) g^2
    m^ = m / (1 - beta1^t)
    v^ = v / (1 - beta2^t)
    p  = p - lr m^ / (sqrt(v^) + eps)

Args:
    p, g, m, v: arrays of one shape, all float32 or all float64.
    t: this step's number, 1 at the first step. lr, beta1, beta2, eps: the hyper-parameters.
    Entries of g may be exactly 0: the update applies to them too.

Returns:
    The new (p, m, v), in the dtype of p. Do not change the arrays passed in: return new ones.

Hint: every operation is element-wise. "p -= ..." would change the caller's array; write
"p = p - ..." instead.
""",
    spec=Spec(
        reference=_adam,
        cases=_adam_cases,
        params=("p", "g", "m", "v", "t", "lr", "beta1", "beta2", "eps"),
        returns=_ADAM,
        mistakes=tuple(
            buggy(message, _adam_variant(**change), _ADAM) for message, change in _ADAM_MISTAKES
        ),
        mutation_hint="return new arrays (p = p - ..., not p -= ...)",
    ),
    questions=(
        "At t = 1, with m = v = 0, what size is the step without the bias correction, and what "
        "size with it? Why does that matter most at the start of training?",
    ),
)

# --------------------------------------------------------------------------- AdamW, to debug

# The stub's code: a colleague's AdamW that adds the decay to the gradient, which is Adam with
# L2 regularisation, not AdamW. The grader runs this very code to recognise an unchanged stub.
DEBUG_ADAMW_BODY = """
g = g + wd * p
m = beta1 * m + (1 - beta1) * g
v = beta2 * v + (1 - beta2) * g * g
m_hat = m / (1 - beta1**t)
v_hat = v / (1 - beta2**t)
p = p - lr * m_hat / (np.sqrt(v_hat) + eps)
return p, m, v
"""

_ADAMW_PARAMS = ("p", "g", "m", "v", "t", "lr", "beta1", "beta2", "eps", "wd")


def _adamw(p, g, m, v, t, lr, beta1, beta2, eps, wd, decay=1.0, by_lr=True):
    """AdamW (Loshchilov & Hutter 2019): Adam's step on g, and the decay applied to p apart;
    ``decay`` and ``by_lr`` switch to the mistakes of a wrong or unscaled decay."""
    new_p, m, v = _adam_variant()(p, g, m, v, t, lr, beta1, beta2, eps)
    return new_p - (lr if by_lr else 1.0) * decay * wd * p, m, v


# The decay of every case shrinks p by lr wd = 2 % a step: far beyond float32's tolerance.
_DECAY_PER_STEP = 0.02


def _adamw_cases(rng: np.random.Generator) -> list[Case]:
    cases = []
    for c in _adam_cases(rng):
        wd = round(_DECAY_PER_STEP / c.args[5], 6)
        cases.append(Case(f"{c.label}, wd={wd}", (*c.args, wd), c.dtype, edge=c.edge))
    return cases


DEBUG_ADAMW = Exercise(
    name="debug_adamw",
    derived=True,
    difficulty=2,
    builds_on=("adam_step",),
    summary="find and fix the bug in a colleague's AdamW step (decoupled weight decay)",
    signature=stub_signature(*_ADAM_ARGS, "wd: float", returns=_ADAM_RETURNS),
    doc="""
AdamW (Loshchilov & Hutter, "Decoupled weight decay regularization", 2019) is Adam whose
weight decay is DECOUPLED from the gradient: the moments m and v see only the loss's gradient
g, and the decay shrinks p directly, in the same step:

    m  = beta1 m + (1 - beta1) g
    v  = beta2 v + (1 - beta2) g^2
    m^ = m / (1 - beta1^t),  v^ = v / (1 - beta2^t)
    p  = p - lr (m^ / (sqrt(v^) + eps) + wd p)

A colleague's AdamW is below. It runs, its tests on wd = 0 pass, and it is wrong. Find the
bug and fix it.

Args:
    p, g, m, v: arrays of one shape, all float32 or all float64 (g: the loss's gradient).
    t: the step's number, 1 at the first step. lr, beta1, beta2, eps: Adam's hyper-parameters;
    wd: the decoupled weight decay.

Returns:
    The new (p, m, v), in the dtype of p. The arrays passed in must not change.

Hint: compare the code with the equations line by line: which quantities does each equation
read? Then test a case where it matters: g = 0 with wd > 0.
""",
    body=DEBUG_ADAMW_BODY,
    spec=Spec(
        reference=_adamw,
        cases=_adamw_cases,
        params=_ADAMW_PARAMS,
        returns=_ADAM,
        mistakes=(
            buggy(
                "this is still the stub's code: it is right when wd = 0 and wrong when wd > 0. "
                "Which of the equations read wd, and which does the code let it reach?",
                stub_function("debug_adamw", _ADAMW_PARAMS, DEBUG_ADAMW_BODY),
                _ADAM,
            ),
            buggy(
                "the decay is missing from the step: p = p - lr (m^ / (sqrt(v^) + eps) + wd p)",
                lambda *a: _adamw(*a, decay=0.0),
                _ADAM,
            ),
            buggy(
                "the decay wd p was not multiplied by lr",
                lambda *a: _adamw(*a, by_lr=False),
                _ADAM,
            ),
            buggy(
                "the decay went the wrong way: p - lr (... + wd p) shrinks p",
                lambda *a: _adamw(*a, decay=-1.0),
                _ADAM,
            ),
        ),
        mutation_hint="return new arrays (p = p - ..., not p -= ...)",
    ),
    questions=(
        "Why is L2 regularisation inside Adam (decay added to g) not the same as decoupled "
        "weight decay? Which weights does the L2 version decay less?",
    ),
)

# --------------------------------------------------------------------------- IDX header


def _idx_variant(elements=">", sizes=">", header_length=lambda d: 4 + 4 * d) -> Callable:
    """The header parser with one thing changed: the elements' or the sizes' byte order, or
    the header's length as a function of the number of dimensions d."""

    def parse(data):
        d = data[3]
        shape = struct.unpack(f"{sizes}{d}I", data[4 : 4 + 4 * d])
        return TYPE_CODES[data[2]].newbyteorder(elements), tuple(shape), header_length(d)

    return parse


_IDX = ("dtype", "shape", "header length")
_IDX_MISTAKES = (
    (
        "little-endian element dtype: IDX stores multi-byte numbers big-endian, "
        "np.dtype('>i4') for 0x0C for instance",
        {"elements": "<"},
    ),
    (
        "the sizes were read little-endian: they are big-endian uint32, struct.unpack('>I', ...) "
        "or int.from_bytes(..., 'big')",
        {"sizes": "<"},
    ),
    (
        "the header length misses the 4 leading bytes (zeros, type, d): it is 4 + 4 d",
        {"header_length": lambda d: 4 * d},
    ),
    ("each size takes 4 bytes: the header length is 4 + 4 d", {"header_length": lambda d: 4 + d}),
)


def _idx_bytes(code: int, shape: tuple, payload: int = 8) -> bytes:
    return (
        bytes([0, 0, code, len(shape)]) + struct.pack(f">{len(shape)}I", *shape) + b"\xab" * payload
    )


def _idx_cases(rng: np.random.Generator) -> list[Case]:
    good = (
        ("MNIST training images: uint8 60000 x 28 x 28", 0x08, (60000, 28, 28)),
        ("MNIST labels: uint8, one dimension of 10000", 0x08, (10000,)),
        ("int32, 3 x 70000", 0x0C, (3, 70000)),
        ("float32, 2 x 3", 0x0D, (2, 3)),
        ("int16, 1 x 2 x 3 x 300", 0x0B, (1, 2, 3, 300)),
        ("float64, no dimensions (d = 0): one element", 0x0E, ()),
        ("int8, 5 elements, no payload after the header", 0x09, (5,)),
    )
    bad = (
        ("gzip-compressed data (starts 1f 8b)", b"\x1f\x8b\x08\x00" + bytes(12)),
        ("unknown element type code 0x07", _idx_bytes(0x07, (2, 2))),
        ("header cut short: d = 3 but only 6 bytes", bytes([0, 0, 8, 3, 0, 0])),
        ("only 3 bytes", bytes([0, 0, 8])),
    )
    # Drawn cases are value cases: multi-byte elements and d >= 2, where the byte order of
    # the elements and the header's length in d show.
    codes = sorted(c for c in TYPE_CODES if TYPE_CODES[c].itemsize > 1)
    for _ in range(3):
        code = int(rng.choice(codes))
        d = int(rng.integers(2, 5))
        # Sizes whose product fits in memory addresses: the reference rejects larger ones.
        shape = tuple(int(n) for n in rng.integers(1, 70000 if d < 4 else 2000, d))
        good += ((f"{TYPE_CODES[code].name}, shape {shape}", code, shape),)
    return [
        # One-byte elements have no byte order, and d < 2 hides a header length off in d:
        # edge cases.
        Case(
            label,
            (_idx_bytes(code, shape, 0 if code == 0x09 else 8),),
            edge=TYPE_CODES[code].itemsize == 1 or len(shape) < 2,
        )
        for label, code, shape in good
    ] + [
        Case(f"{label}: must raise ValueError", (data,), raises=ValueError, edge=True)
        for label, data in bad
    ]


PARSE_IDX_HEADER = Exercise(
    name="parse_idx_header",
    difficulty=2,
    summary="read the element type, shape and header length of an IDX file (MNIST's format)",
    signature="(data: bytes) -> tuple[np.dtype, tuple[int, ...], int]",
    imports="import struct\n\nimport numpy as np",
    doc="""
Parse the header at the start of an IDX file, the format MNIST is distributed in:

    bytes 0, 1   always 0x00 0x00
    byte  2      element type: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32,
                 0x0D float32, 0x0E float64
    byte  3      d, the number of dimensions
    then d sizes, each a big-endian unsigned 32-bit integer; then the elements

MNIST's training images start 00 00 08 03 | 00 00 EA 60 | 00 00 00 1C | 00 00 00 1C.

Args:
    data: the file's first bytes: at least the header, perhaps followed by elements.

Returns:
    (dtype, shape, header_length): the element dtype as stored, big-endian for multi-byte types
    (np.dtype(">i4") for 0x0C); the shape, a tuple of d ints (() when d = 0); and the header's
    length in bytes, where the elements start.

Raises:
    ValueError when the first two bytes are not zero, the type code is unknown, or data is
    shorter than the header.

Hint: data[2] is an int. struct.unpack(">3I", some_bytes) reads three big-endian uint32.
""",
    spec=Spec(
        reference=parse_idx_header,
        cases=_idx_cases,
        params=("data",),
        returns=_IDX,
        mistakes=tuple(
            buggy(message, _idx_variant(**change), _IDX) for message, change in _IDX_MISTAKES
        ),
        keep_dtype=False,
    ),
    questions=(
        "Your laptop stores integers little-endian. What would np.frombuffer(data, '<i4') give "
        "for an IDX file of int32 elements, and why does np.dtype('>i4') fix it?",
    ),
)

# --------------------------------------------------------------------------- finite differences


def _difference(forward: float, backward: float, copy: bool = False) -> Callable:
    """(f(x + forward eps e_i) - f(x - backward eps e_i)) / ((forward + backward) eps), with x
    perturbed in place, or a copy of it; (1, 1) is the centred difference."""

    def difference(f, x, eps):
        grad = np.zeros(x.shape)
        y = x.copy() if copy else x
        flat = y.reshape(-1)
        for i in range(flat.size):
            old = flat[i]
            flat[i] = old + forward * eps
            f_plus = f(y)
            flat[i] = old - backward * eps
            f_minus = f(y)
            flat[i] = old
            grad.flat[i] = (f_plus - f_minus) / ((forward + backward) * eps)
        return grad

    return difference


def _numgrad_cases(rng: np.random.Generator) -> list[Case]:
    cases = []
    # Every f reads x itself, as a model's loss reads its own parameters, and its argument:
    # perturbing a copy of x gives the gradient c of its argument's term. A single entry is an
    # edge case.
    for shape, eps in (((5,), 1e-3), ((3, 4), 1e-2), ((2, 2, 3), 1e-4), ((1,), 1e-3)):
        w, x, c = (rng.normal(0, 1, shape) for _ in range(3))
        f = CaseFunction("tilted", {"x": x, "c": c, "of": "sin_cubic", "w": w})
        label = (
            f"x {shape}, eps={eps}, f(y) = sum(w sin(3x)) + sum(x^3) / 3 + sum(c (y - x)) (x "
            "itself, y its argument)"
        )
        cases.append(Case(label, (f, x, eps), edge=x.size == 1))
    x = rng.normal(0, 1, (3, 4))
    # The gradient checker's f: it ignores its argument and reads the model's own array.
    reads_x = CaseFunction("tanh_square_of", {"x": x, "w": rng.normal(0, 1, (3, 4))})
    # An f that ignores its argument is an edge case: there, f(|x|) or f(f) goes unnoticed.
    label = "x (3, 4), eps=1e-3, an f that reads x itself and ignores its argument"
    return cases + [Case(label, (reads_x, x, 1e-3), edge=True)]


NUMERICAL_GRADIENT = Exercise(
    name="numerical_gradient",
    difficulty=2,
    summary="the centred-difference gradient of f at x, perturbing x in place",
    signature="(f: Callable[[np.ndarray], float], x: np.ndarray, eps: float) -> np.ndarray",
    imports="from collections.abc import Callable\n\nimport numpy as np",
    doc="""
The numerical gradient of a scalar function f at x, by centred differences, one entry at a
time:

    df/dx_i ~ (f(x + eps e_i) - f(x - eps e_i)) / (2 eps)

where e_i is 1 at entry i and 0 elsewhere. Its error is O(eps^2), against O(eps) for the
one-sided (f(x + eps e_i) - f(x)) / eps. This is how a gradient check tests backpropagation.

Change x itself, in place: set entry i to x_i + eps, call f(x), set it to x_i - eps, call f(x),
then put the original value back. (A gradient checker's f often ignores its argument and reads
the model's parameters, which are x.) When the function returns, x must be exactly as it was.

Args:
    f: called as f(x), returns a float.
    x: a float64 array of any shape.
    eps: the step, e.g. 1e-6.

Returns:
    grad: float64, the shape of x.

Hint: x.reshape(-1) is a flat view of a contiguous x: writing into it writes into x. A
try/finally restores x even if f raises.
""",
    spec=Spec(
        reference=numerical_gradient,
        cases=_numgrad_cases,
        params=("f", "x", "eps"),
        mistakes=(
            buggy(
                "forward difference (f(x + eps) - f(x)) / eps, not centred: use "
                "(f(x + eps e_i) - f(x - eps e_i)) / (2 eps), whose error is O(eps^2)",
                _difference(1, 0),
            ),
            buggy(
                "backward difference (f(x) - f(x - eps)) / eps, not centred: use "
                "(f(x + eps e_i) - f(x - eps e_i)) / (2 eps), whose error is O(eps^2)",
                _difference(0, 1),
            ),
            scaled(
                "divided by eps instead of 2 eps: the centred difference spans 2 eps", lambda c: 2
            ),
            buggy(
                "f never saw the perturbation of x: perturb x itself, in place, not a copy (f "
                "may read x from elsewhere)",
                _difference(1, 1, copy=True),
            ),
            *SCALE_MISTAKES,
        ),
        keep_dtype=False,
        mutation_hint="restore each entry after perturbing it (in a try/finally, so that even an "
        "f that raises leaves x intact)",
    ),
    questions=(
        "Why must x be perturbed in place rather than a copy of it, for a gradient check of a "
        "model whose loss reads its own parameters?",
        "How many evaluations of f does your function make for a 784 x 196 weight matrix, and "
        "what does that say about gradient-checking a full-size model?",
    ),
)
