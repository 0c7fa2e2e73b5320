"""The Numba backend: the reference's equations fused into three compiled stages.

``npsae.reference`` computes each loss term's gradient on its own and sums them; here one pass
computes the total, in three stages, each a fused loop:

    hidden_activation   H = select(f(Z1 + b1)) and its column sums       (the encoder)
    output_layer        X^ = g(Z2 + b2), recon(X^, X), dZ2 and db2       (the decoder, its loss)
    hidden_backward     dZ1 = (dH + c + E) * f'(Z1) and db1              (recon and sparsity)

Tests hold each stage, and ``NumbaBackend.forward_backward``, equal to the reference. Two
differences buy speed:

* one sweep over the rows does the whole stage (bias, activation, loss, derivative and bias
  gradient; each row is visited twice while it sits in cache), instead of one temporary array
  per equation;
* the stage writes its result over its first argument (Z1 becomes H, Z2 becomes dZ2, dH becomes
  dZ1), so a training step allocates nothing but the gradients it returns.

Matrix products stay in BLAS (``np.dot`` with ``out=``): a hand-written loop cannot beat it.
Sums are accumulated in float64, as the reference does, so the backends agree to rounding.
float32 stays float32 (constants are cast to the data's type) and its exp is a vectorisable
polynomial (``_exp_float32``, a few ulps); float64, the dtype of gradient checks, uses libm's.

The encoder stage also selects, as the reference's does: the top k of each row, the top k m of
the batch (BatchTopK), both in O(m n) by ``npsae.sparse_kernels.keep_selected``, or what
exceeds a threshold.
JumpReLU's training stage (``jumprelu_activation``) also records which pre-activations lie in
the thresholds' kernel window, the one thing its pseudo-derivative needs once Z is overwritten
(``window_sums`` then reduces it against dL/dH). AuxK reuses the stages on the dead units.

Smaller kernels serve the training step: ``add_weight_decay_grad`` (twin of the function of
that name in ``npsae.penalties``), ``kl_terms`` (twin of ``KLSparsity.value`` and
``hidden_grad``), ``gather_pixels``, which builds a training batch from uint8 images (twin of
``datasets.as_float(pixels[index])``), and ``add_fire_counts`` (twin of
``metrics.fire_counts``) for the per-epoch statistics; ``batch_moments`` (twin of
``metrics.batch_moments_reference``) serves the variance explained of a validation pass.

Compiled code is cached on disk (``cache=True``) so a second process starts fast; set
``NPSAE_NUMBA_CACHE=0`` to turn the cache off. Numba itself falls back to a per-user cache folder
when the installed package is read-only.
"""

from __future__ import annotations

import math
import os

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic, overload

from npsae import reference
from npsae.penalties import RHO_HAT_EPS, WEIGHTS, KLSparsity
from npsae.reference import Cache, ForwardBackward, Objective
from npsae.sparse_code import SparseCode

CACHE = os.environ.get("NPSAE_NUMBA_CACHE", "1") != "0"
# LLVM's fast-math minus "nnan" and "ninf": with those two LLVM may assume no NaN or inf exists
# and fold away the very checks that detect a diverging run. What remains lets it reorder
# sums (to vectorise the reductions), fuse multiply-adds and use approximate reciprocals.
FASTMATH = {"contract", "arcp", "reassoc", "nsz", "afn"}

# Every compiled function: cached, the fast-math above, and NumPy's error model (x / 0 gives inf,
# as in NumPy, instead of a Python exception whose check would stop LLVM vectorising the loop).
jit = njit(cache=CACHE, fastmath=FASTMATH, error_model="numpy")

# Integer codes for the compiled loops (Numba specialises a loop on an int cheaply).
SIGMOID, RELU, LINEAR = 0, 1, 2
CODES = {"sigmoid": SIGMOID, "relu": RELU, "linear": LINEAR}

# --------------------------------------------------------------------------- exp in float32

# e^x = 2^n e^r with n = round(x / ln 2) and r = x - n ln 2 in [-ln 2 / 2, ln 2 / 2]: e^r from
# Cephes' degree-6 polynomial for expf, 2^n by writing n + 127 into the exponent bits of a
# float32. Branch-free, so LLVM vectorises it (8 lanes with AVX2; 0.4 ns per element here), where
# a call to libm's exp costs 5-8 ns. Error (every 7th float32, against float64 exp): at most 1.4
# ulps for |x| < 20, 4.6 ulps up to x = 88.37; above that it returns inf, as e^x does from 88.72
# (so a sigmoid there gives 0 instead of a number below 4e-39). Fast-math may fuse n ln 2 into
# the subtraction (an FMA), so ln 2 is not split in two halves as in Cephes: the fast-math flags
# apply to inlined callees too and would merge them anyway.
_F32 = np.float32
_EXP_HI = _F32(88.72283935546875)  # ln(FLT_MAX): keeps n <= 128 (2^128 reads as inf)
_EXP_LO = _F32(-87.33654475)  # ln(FLT_MIN): keeps n >= -126, so 2^n is a normal number
_LOG2E = _F32(1.44269504088896341)
_LN2 = _F32(0.693147180559945309)
_EXP_POLY = tuple(
    _F32(c)
    for c in (1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2,
              1.6666665459e-1, 5.0000001201e-1)
)  # fmt: skip


@intrinsic
def _float32_from_bits(typingctx, bits):
    """The float32 whose IEEE bit pattern is the int32 ``bits`` (a reinterpretation)."""
    if not isinstance(bits, types.Integer):
        return None

    def codegen(context, builder, signature, args):
        word = builder.trunc(args[0], ir.IntType(32)) if bits.bitwidth > 32 else args[0]
        return builder.bitcast(word, ir.FloatType())

    return types.float32(bits), codegen


@jit
def _exp_float32(x):
    """e^x for a float32 x (error above); NaN stays NaN, below -87.34 it stays at FLT_MIN."""
    xc = _EXP_HI if x > _EXP_HI else x
    xc = _EXP_LO if xc < _EXP_LO else xc
    n = np.floor(xc * _LOG2E + _F32(0.5))
    r = xc - n * _LN2
    p = _EXP_POLY[0]
    for c in _EXP_POLY[1:]:
        p = p * r + c
    e = (p * r * r + r + _F32(1.0)) * _float32_from_bits((np.int32(n) + np.int32(127)) << 23)
    # NaN fails both comparisons and reaches np.int32(n), whose result is then undefined.
    return e if x == x else x


def _exp(x):
    """e^x in the type of ``x``: ``_exp_float32`` for float32, libm's exp for float64 (so that
    float64, the dtype of gradient checks, stays exact to rounding)."""
    return math.exp(x)


@overload(_exp)
def _exp_typed(x):
    if x == types.float32:
        return lambda x: _exp_float32(x)
    return lambda x: math.exp(x)


# --------------------------------------------------------------------------- fused loops
# Constants are cast to the type of the data (``type(z)(1.0)``): a bare 1.0 is a float64 in
# Numba and would silently promote float32 arithmetic to float64.


@jit
def _activate(z, code):
    one, zero = type(z)(1.0), type(z)(0.0)
    if code == SIGMOID:
        return one / (one + _exp(-z))
    if code == RELU:
        return z if z > zero else zero * z
    return z


@jit
def _activation_grad(a, code):
    # Written through the output a = f(z), as in the reference.
    one, zero = type(a)(1.0), type(a)(0.0)
    if code == SIGMOID:
        return a * (one - a)
    if code == RELU:
        return one if a > zero else zero
    return one


@jit
def _activate_row(z, b, code):
    """z = f(z + b) in place, for one row ``z: (n,)``.

    A loop of its own on purpose: with nothing float64 in it LLVM vectorises it 8 float32 wide.
    A float64 sum in the same loop would make it choose 4 lanes for the (costly) exp as well.
    """
    for j in range(z.size):
        z[j] = _activate(z[j] + b[j], code)


@jit
def _hidden_activation(Z, b, code, h_sum):
    m, n = Z.shape
    h_sum[:] = 0.0
    for i in range(m):
        _activate_row(Z[i], b, code)
        for j in range(n):
            h_sum[j] += Z[i, j]


@jit
def _column_sums(H, h_sum):
    h_sum[:] = 0.0
    for i in range(H.shape[0]):
        for j in range(H.shape[1]):
            h_sum[j] += H[i, j]


@jit
def _jump(H, theta, h_sum):
    m, n = H.shape
    h_sum[:] = 0.0
    for i in range(m):
        for j in range(n):
            if not H[i, j] > theta[j]:
                H[i, j] = 0.0
            h_sum[j] += H[i, j]


@jit
def _jumprelu_activation(Z, b, theta, inv_eps, window, h_sum):
    one_half = Z.dtype.type(0.5)
    zero = Z.dtype.type(0.0)
    m, n = Z.shape
    h_sum[:] = 0.0
    for i in range(m):
        for j in range(n):
            z = Z[i, j] + b[j]
            u = (z - theta[j]) * inv_eps
            window[i, j] = -one_half < u < one_half
            h = z if z > theta[j] else zero
            Z[i, j] = h
            h_sum[j] += h


@jit
def _window_sums(window, dH, window_dH, window_count):
    window_dH[:] = 0.0
    window_count[:] = 0.0
    for i in range(dH.shape[0]):
        for j in range(dH.shape[1]):
            if window[i, j]:
                window_dH[j] += dH[i, j]
                window_count[j] += 1.0


@jit
def _output_activation(Z, b, code):
    for i in range(Z.shape[0]):
        _activate_row(Z[i], b, code)


@jit
def _output_layer(Z, b, X, code, grad_scale, db):
    m, n = Z.shape
    db[:] = 0.0
    sq_err = 0.0
    for i in range(m):
        # Row by row, so the second pass reads X^ from L1 cache.
        _activate_row(Z[i], b, code)
        for j in range(n):
            x_hat = Z[i, j]
            d = x_hat - X[i, j]
            sq_err += np.float64(d) * np.float64(d)
            g = d * grad_scale * _activation_grad(x_hat, code)
            Z[i, j] = g
            db[j] += g
    return sq_err


@jit
def _hidden_backward(dH, H, c, E, code, db):
    m, n = dH.shape
    db[:] = 0.0
    for i in range(m):
        for j in range(n):
            d = dH[i, j] + c[j]
            if E is not None:  # Numba compiles the branch away when E is None
                d += E[i, j]
            g = d * _activation_grad(H[i, j], code)
            dH[i, j] = g
            db[j] += g


# --------------------------------------------------------------------------- the three stages


def hidden_activation(
    Z1: np.ndarray,
    b1: np.ndarray,
    hidden: str,
    k: int = 0,
    batch: bool = False,
    theta: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """H = f(Z1 + b1), selected by k (per sample, or per batch) or by thresholds theta, and
    h_sum = column sums of H, as ``reference.hidden_activation``. Overwrites ``Z1: (m,
    n_hidden)`` with H and returns it.
    """
    h_sum = np.empty(Z1.shape[1])
    _hidden_activation(Z1, b1, CODES[hidden], h_sum)
    if theta is not None:
        _jump(Z1, theta.astype(Z1.dtype), h_sum)
    elif k:
        from npsae.sparse_kernels import keep_selected  # compiled on first use

        keep_selected(Z1, k, batch)
        _column_sums(Z1, h_sum)
    return Z1, h_sum


def jumprelu_activation(
    Z1: np.ndarray, b1: np.ndarray, theta: np.ndarray, bandwidth: float, window: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """JumpReLU's training stage: H = Z H(Z - theta) with Z = Z1 + b1, its column sums, and
    ``window`` (m, n_hidden) bool set to K((Z - theta) / eps) (``reference.jumprelu_window``),
    which the thresholds' gradient needs after Z is gone. Overwrites Z1 with H."""
    h_sum = np.empty(Z1.shape[1])
    inv_eps = Z1.dtype.type(1.0 / bandwidth)
    _jumprelu_activation(Z1, b1, theta.astype(Z1.dtype), inv_eps, window, h_sum)
    return Z1, h_sum


def window_sums(window: np.ndarray, dH: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(sum_i window_ij dH_ij, sum_i window_ij): (n_hidden,) float64 each."""
    window_dH, window_count = np.empty(dH.shape[1]), np.empty(dH.shape[1])
    _window_sums(window, dH, window_dH, window_count)
    return window_dH, window_count


def output_layer(
    Z2: np.ndarray,
    b2: np.ndarray,
    X: np.ndarray,
    output: str,
    recon: str,
    weight: float = 1.0,
) -> tuple[float, np.ndarray, np.ndarray]:
    """Decoder non-linearity, reconstruction loss, and its gradient back through the decoder:

        X^ = g(Z2 + b2),   L = recon(X^, X),
        dZ2 = weight recon'(X^, X) * g'(Z2),   db2 = sum_i dZ2_i

    (``reference.recon_grads``; ``weight`` is AuxK's alpha). Z2: (m, n_in), the product H W2
    (bias not yet added), which is overwritten with dZ2; b2: (n_in,); X: (m, n_in).
    Returns (L, dZ2, db2).
    """
    m = X.shape[0]
    # d recon / d X^ = grad_scale (X^ - X):  2 / (m n_in) for mse, 1 / m for sse.
    norm = X.size if recon == "mse" else 2 * m
    grad_scale = Z2.dtype.type(2.0 / norm * weight)
    db = np.empty(Z2.shape[1])
    sq_err = _output_layer(Z2, b2, X, CODES[output], grad_scale, db)
    return sq_err / norm, Z2, db.astype(Z2.dtype)


def hidden_backward(
    dH: np.ndarray, H: np.ndarray, c: np.ndarray, hidden: str, E: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Back through the encoder's non-linearity, the sparsity gradient added first:

        dZ1 = (dH + c + E) * f'(Z1),   db1 = sum_i dZ1_i

    (``reference.recon_grads`` and ``sparsity_grads`` in one pass). dH: (m, n_hidden), the
    reconstruction's dZ2 W2^T, overwritten with dZ1; H: (m, n_hidden), the code (f' is
    written through it); c: (n_hidden,), the penalty's dP/dH_ij of the column sums; E: (m,
    n_hidden) in dH's dtype, a ``per_entry`` penalty's dP/dH (None: 0). Returns (dZ1, db1).
    """
    db = np.empty(dH.shape[1])
    _hidden_backward(dH, H, c.astype(dH.dtype), E, CODES[hidden], db)
    return dH, db.astype(dH.dtype)


@jit
def _add_scaled(grad, W, lam):
    sq_norm = 0.0
    for i in range(grad.shape[0]):
        for j in range(grad.shape[1]):
            w = W[i, j]
            grad[i, j] += lam * w
            sq_norm += np.float64(w) * np.float64(w)
    return sq_norm


def add_weight_decay_grad(grad: np.ndarray, W: np.ndarray, lam: float) -> float:
    """grad += lambda W in place and return ||W||^2, as ``penalties.add_weight_decay_grad``, in
    one pass over W: NumPy's ``grad += W * lam`` allocates a copy of W and reads memory twice,
    and the squared norm would be a third pass, at every training step."""
    return _add_scaled(grad, W, W.dtype.type(lam))


@jit
def _kl_terms(h_sum, m, rho, beta, eps, c):
    total = 0.0
    for j in range(h_sum.size):
        raw = h_sum[j] / m
        # Clipped as np.clip does (NaN stays NaN, and then counts as clipped: c_j = 0).
        r = eps if raw < eps else (1.0 - eps if raw > 1.0 - eps else raw)
        total += rho * math.log(rho / r) + (1.0 - rho) * math.log((1.0 - rho) / (1.0 - r))
        c[j] = beta / m * (-rho / r + (1.0 - rho) / (1.0 - r)) if r == raw else 0.0
    return beta * total


def kl_terms(sparsity: KLSparsity, h_sum: np.ndarray, m: int) -> tuple[float, np.ndarray]:
    """KL's value and dP/dH_ij = c_j (``KLSparsity.value`` and ``hidden_grad``) in one compiled
    pass over the column sums ``h_sum: (n_hidden,)`` of a batch of ``m``: float64 throughout, as
    the penalty's NumPy. The dozen NumPy calls on a short vector that it replaces cost, between
    the products of a training step (whose data have pushed the interpreter out of the caches),
    some 100 us per step, a fifth of the work beside the products on the tutorial model."""
    c = np.empty(h_sum.size)
    value = _kl_terms(h_sum, float(m), sparsity.rho, sparsity.beta, RHO_HAT_EPS, c)
    return value, c


# --------------------------------------------------------------------------- training batches


@intrinsic
def _prefetch(typingctx, row, j):
    """Ask the CPU to start loading the cache line holding ``row[j]`` of a contiguous row (a
    hint, with no result: an address off the array, as a strided row's would be, is never
    read)."""
    if not isinstance(row, types.Array) or not isinstance(j, types.Integer):
        return None

    def codegen(context, builder, signature, args):
        data = context.make_array(signature.args[0])(context, builder, args[0]).data
        byte_ptr = ir.IntType(8).as_pointer()
        i32 = ir.IntType(32)
        fnty = ir.FunctionType(ir.VoidType(), [byte_ptr, i32, i32, i32])
        prefetch = builder.module.declare_intrinsic("llvm.prefetch", fnty=fnty)
        address = builder.bitcast(builder.gep(data, [args[1]]), byte_ptr)
        # A read (0), kept in every cache level (3), of data (1).
        builder.call(prefetch, [address, i32(0), i32(3), i32(1)])
        return context.get_dummy_value()

    return types.void(row, types.intp), codegen


# Rows that ``_gather_pixels`` asks for ahead of the one it converts, and the cache line's size.
_ROWS_AHEAD, _LINE = 4, 64


@jit
def _prefetch_row(row):
    for j in range(0, row.size, _LINE):
        _prefetch(row, j)


@njit(cache=CACHE, error_model="numpy", nogil=True)
def _gather_pixels(pixels, index, out):
    # No fast-math here: "arcp" would turn / 255 into * (1 / 255), which rounds differently.
    scale = out.dtype.type(255)
    # The rows are random ones of a data set the size of the caches or larger: each would wait
    # for memory, which the hardware prefetcher does not foresee. Asking for a row a few rows
    # before it is converted overlaps those waits (105 -> 67 us per MNIST batch of 256 rows
    # from cold caches, one thread).
    for r in range(min(_ROWS_AHEAD, index.size)):
        _prefetch_row(pixels[index[r]])
    for r in range(index.size):
        if r + _ROWS_AHEAD < index.size:
            _prefetch_row(pixels[index[r + _ROWS_AHEAD]])
        src, dst = pixels[index[r]], out[r]
        for j in range(src.size):
            dst[j] = out.dtype.type(src[j]) / scale


def gather_pixels(pixels: np.ndarray, index: np.ndarray, out: np.ndarray) -> np.ndarray:
    """out[r] = pixels[index[r]] / 255: a batch of uint8 rows picked and scaled in one pass.

    The trainer's batch step, bit-for-bit ``datasets.as_float(pixels[index])`` (IEEE division
    is correctly rounded either way) without the uint8 copy in between. ``pixels: (N, n_in)``
    uint8, ``index: (m,)`` integers, ``out: (m, n_in)`` float32 or float64; returns ``out``.
    """
    _gather_pixels(pixels, index, out)
    return out


@jit
def _add_fire_counts(H, threshold, counts):
    for i in range(H.shape[0]):
        for j in range(H.shape[1]):
            counts[j] += H[i, j] > threshold


def add_fire_counts(H: np.ndarray, threshold: float, counts: np.ndarray) -> None:
    """counts_j += #{i : H_ij > threshold} in place, one pass over ``H: (m, n_hidden)`` into
    ``counts: (n_hidden,)`` int64 (``metrics.fire_counts``, which the trainer's statistics add
    up every step, without its boolean and float temporaries). The threshold is rounded to H's
    dtype first, as NumPy compares a float32 array with a Python float."""
    _add_fire_counts(H, H.dtype.type(threshold), counts)


@jit
def _batch_moments(X, X_hat, mean, m2):
    m, n = X.shape
    residual = 0.0
    mean[:] = 0.0
    for i in range(m):
        for j in range(n):
            x = np.float64(X[i, j])
            d = x - np.float64(X_hat[i, j])
            residual += d * d
            mean[j] += x
    mean /= m
    m2[:] = 0.0
    for i in range(m):
        for j in range(n):
            d = np.float64(X[i, j]) - mean[j]
            m2[j] += d * d
    return residual


def batch_moments(X: np.ndarray, X_hat: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """(residual, mean, M2) of a batch, as ``metrics.batch_moments_reference``: X, X^ (m,
    n_in) of one float dtype; each value is taken to float64 as it is read, so the batch is never
    copied (the variance explained that ``npsae train`` reports on its test set)."""
    mean, m2 = np.empty(X.shape[1]), np.empty(X.shape[1])
    return _batch_moments(X, X_hat, mean, m2), mean, m2


# --------------------------------------------------------------------------- the whole model

# Penalties with a compiled twin of their value and ``hidden_grad`` (held equal by a test);
# the others run their own NumPy methods.
_COMPILED_PENALTIES = {KLSparsity: kl_terms}


def _sparsity_terms(sparsity, h_sum: np.ndarray, m: int, W2: np.ndarray):
    """(the penalty's value, or None for ``assemble_losses`` to compute it; c = its
    ``hidden_grad``), by the penalty's compiled twin if it has one."""
    twin = _COMPILED_PENALTIES.get(type(sparsity))
    if twin is not None:
        return twin(sparsity, h_sum, m)
    return None, sparsity.hidden_grad(h_sum, m, W2)


class NumbaBackend:
    """The fast backend: BLAS products, fused stages, and buffers reused between batches.

    The cache returned by ``loss_and_grads`` points into those buffers, so it is valid until the
    next call on the same backend.

    ``sparse``: how a TopK or BatchTopK training step runs. None (the default) chooses by the
    model's shape (``npsae.sparse_kernels.use_sparse``: wide, with few units kept); True takes
    the sparse path (``npsae.sparse_kernels``: only Z1 = Xe W1 dense, the code a
    ``SparseCode`` in the cache), False the dense one. Both compute the same step.
    """

    def __init__(self, sparse: bool | None = None) -> None:
        self._buffers: dict[str, np.ndarray] = {}
        self.sparse = sparse

    def _buffer(self, name: str, shape: tuple[int, int], dtype: np.dtype) -> np.ndarray:
        buf = self._buffers.get(name)
        if buf is None or buf.shape != shape or buf.dtype != dtype:
            buf = self._buffers[name] = np.empty(shape, dtype)
        return buf

    def encode(
        self,
        params: dict,
        X: np.ndarray,
        hidden: str,
        k: int = 0,
        batch: bool = False,
        theta: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """H = f(X W1 + b1), selected as ``hidden_activation`` says, and its column sums (H
        fresh)."""
        return hidden_activation(X @ params["W1"], params["b1"], hidden, k, batch, theta)

    def decode(self, params: dict, H: np.ndarray, output: str) -> np.ndarray:
        """X^ = g(H W2 + b2) (freshly allocated); H dense or a ``SparseCode``."""
        if isinstance(H, SparseCode):
            from npsae.sparse_kernels import sparse_decode

            Z2 = sparse_decode(
                H, params["W2"], np.empty((H.shape[0], params["W2"].shape[1]), H.dtype)
            )
        else:
            Z2 = H @ params["W2"]
        _output_activation(Z2, params["b2"], CODES[output])
        return Z2

    def aux_loss(
        self, params: dict, Xe: np.ndarray, X: np.ndarray, H: np.ndarray, objective: Objective
    ) -> float:
        """L_aux, as ``reference.aux_loss``."""
        return self._auxk(params, Xe, X, H, objective) if objective.aux_k else 0.0

    def _auxk(
        self,
        params: dict,
        Xe: np.ndarray,
        X: np.ndarray,
        H: np.ndarray,
        objective: Objective,
        grads: dict | None = None,
    ) -> float:
        """L_aux (``reference.aux_forward``) with this backend's stages; with ``grads``, its
        gradient is added to them in place (``reference.aux_grads``). With a ``SparseCode`` H
        (the sparse path), the dead units' code is sparse too (``npsae.sparse_kernels``)."""
        dead = np.flatnonzero(objective.dead)
        if dead.size == 0:
            return 0.0
        W1_D, W2_D = params["W1"][:, dead], params["W2"][dead]
        k = min(objective.aux_k, dead.size)
        weight = objective.aux_alpha if grads is not None else 0.0
        if objective.aux_base is not None:
            Z = objective.aux_base - params["b2"]
        elif isinstance(H, SparseCode):
            from npsae.sparse_kernels import sparse_decode

            Z = sparse_decode(H, params["W2"], np.empty(X.shape, X.dtype))
        else:
            Z = H @ params["W2"]
        if isinstance(H, SparseCode):
            return objective.aux_alpha * self._sparse_auxk(
                params, Xe, X, Z, W1_D, W2_D, dead, k, objective, weight, grads
            )
        H_D, _ = hidden_activation(Xe @ W1_D, params["b1"][dead], "linear", k)
        Z += H_D @ W2_D
        g, loss = objective.output, objective.recon
        recon, dZ_aux, _ = output_layer(Z, params["b2"], X, g, loss, weight)
        if grads is not None:
            grads["W2"][dead] += H_D.T @ dZ_aux
            dZ_D = (dZ_aux @ W2_D.T) * (H_D != 0)  # the kept entries (a kept 0 has measure 0)
            grads["W1"][:, dead] += Xe.T @ dZ_D
            grads["b1"][dead] += dZ_D.sum(axis=0, dtype=np.float64).astype(dZ_D.dtype)
        return objective.aux_alpha * recon

    def _sparse_auxk(
        self, params, Xe, X, Z, W1_D, W2_D, dead, k, objective, weight, grads
    ) -> float:
        """``_auxk``'s recon and gradient with the dead units' code kept sparse; Z: (m, n_in)
        the main code's H W2, to which the dead units' H_D W2[D] is added in place."""
        from npsae import sparse_kernels as sk

        m = Xe.shape[0]
        block = self._buffer("aux block", (m, sk.column_block(m, dead.size, k)), W1_D.dtype)
        code = sk.encode_top_k(Xe, W1_D, params["b1"][dead], k, block, relu=False)
        Z += sk.sparse_decode(code, W2_D, np.empty(Z.shape, Z.dtype))
        g, loss = objective.output, objective.recon
        recon, dZ_aux, _ = output_layer(Z, params["b2"], X, g, loss, weight)
        if grads is not None:
            dZ_D = sk.sparse_hidden_backward(code, dZ_aux, W2_D, np.zeros(dead.size), relu=False)
            dW1_D, db1_D, dW2_D = sk.sparse_weight_grads(code, dZ_D, Xe, dZ_aux)
            grads["W2"][dead] += dW2_D
            grads["W1"][:, dead] += dW1_D
            grads["b1"][dead] += db1_D
        return recon

    def _dense_grads(
        self, params: dict, X: np.ndarray, Xe: np.ndarray, objective: Objective
    ) -> tuple[float, float | None, dict, np.ndarray, np.ndarray]:
        """(recon, sparsity (None: not computed here), gradients of recon and sparsity, H,
        h_sum) with every product dense."""
        W1, W2 = params["W1"], params["W2"]
        m, n_in = X.shape
        n_hidden = W1.shape[1]
        dtype = W1.dtype
        sparsity = objective.sparsity
        H = np.dot(Xe, W1, out=self._buffer("H", (m, n_hidden), dtype))
        if sparsity.threshold:
            theta = np.exp(params["log_theta"])
            window = self._buffer("window", (m, n_hidden), np.dtype(np.bool_))
            H, h_sum = jumprelu_activation(H, params["b1"], theta, sparsity.bandwidth, window)
        else:
            H, h_sum = hidden_activation(
                H, params["b1"], objective.hidden, sparsity.k, sparsity.batch
            )
        dZ2 = np.dot(H, W2, out=self._buffer("Z2", (m, n_in), dtype))
        recon, dZ2, db2 = output_layer(dZ2, params["b2"], X, objective.output, objective.recon)
        # Backward
        dW2 = H.T @ dZ2
        dH = np.dot(dZ2, W2.T, out=self._buffer("dH", (m, n_hidden), dtype))
        penalty, c = _sparsity_terms(sparsity, h_sum, m, W2)
        if sparsity.threshold:  # before dH becomes dZ1
            window_dH, window_count = window_sums(window, dH)
        E = sparsity.entry_grad(H, m)
        dZ1, db1 = hidden_backward(dH, H, c, objective.hidden, E)
        dW1 = Xe.T @ dZ1
        grads = {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}
        if sparsity.threshold:
            grads["log_theta"] = sparsity.threshold_grad(window_dH, window_count, theta, m)
        return recon, penalty, grads, H, h_sum

    def _sparse_grads(
        self, params: dict, X: np.ndarray, Xe: np.ndarray, objective: Objective
    ) -> tuple[float, float | None, dict, SparseCode, np.ndarray]:
        """``_dense_grads`` for TopK and BatchTopK, with the code kept sparse (``npsae.
        sparse_kernels``): the same step, with only Z1 = Xe W1 computed densely."""
        from npsae import sparse_kernels as sk

        W1, W2 = params["W1"], params["W2"]
        m, n_in = X.shape
        n_hidden = W1.shape[1]
        sparsity = objective.sparsity
        columns = sk.column_block(m, n_hidden, 4 * sparsity.k)
        block = self._buffer("Z1 block", (m, columns), W1.dtype)
        encode = sk.encode_batch_top_k_blocked if sparsity.batch else sk.encode_top_k
        H = encode(Xe, W1, params["b1"], sparsity.k, block)
        h_sum = sk.column_sums(H)
        Z2 = sk.sparse_decode(H, W2, self._buffer("Z2", (m, n_in), W1.dtype))
        recon, dZ2, db2 = output_layer(Z2, params["b2"], X, objective.output, objective.recon)
        penalty, c = _sparsity_terms(sparsity, h_sum, m, W2)
        dZ1 = sk.sparse_hidden_backward(H, dZ2, W2, c)
        dW1, db1, dW2 = sk.sparse_weight_grads(H, dZ1, Xe, dZ2)
        return recon, penalty, {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}, H, h_sum

    def _takes_sparse_path(self, sparsity, n_hidden: int) -> bool:
        if not sparsity.k or sparsity.per_entry:  # the sparse path has no per-entry term
            return False
        if self.sparse is None:
            from npsae.sparse_kernels import use_sparse

            return use_sparse(sparsity.k, n_hidden)
        return self.sparse

    def forward_backward(
        self, params: dict, X: np.ndarray, objective: Objective
    ) -> ForwardBackward:
        """Same contract as ``npsae.reference.forward_backward``: the gradient of the total
        loss only (the stages fuse the terms; ``npsae.reference.term_grads`` has each)."""
        m, n_in = X.shape
        sparsity = objective.sparsity
        # Forward
        Xe = (
            np.subtract(X, params["b2"], out=self._buffer("Xe", (m, n_in), X.dtype))
            if (objective.pre_bias)
            else X
        )
        if self._takes_sparse_path(sparsity, params["W1"].shape[1]):
            recon, penalty, grads, H, h_sum = self._sparse_grads(params, X, Xe, objective)
        else:
            recon, penalty, grads, H, h_sum = self._dense_grads(params, X, Xe, objective)
        aux = self._auxk(params, Xe, X, H, objective, grads) if objective.aux_k else 0.0
        if objective.pre_bias:
            grads["b2"] -= params["W1"] @ grads["b1"]
        # The decay's gradient pass also measures ||W||^2, which its value needs.
        sq_norm = 0.0
        if objective.weight_decay:
            sq_norm = sum(
                add_weight_decay_grad(grads[k], params[k], objective.weight_decay) for k in WEIGHTS
            )
        W2 = params["W2"]
        dW2_sparsity = sparsity.decoder_grad(h_sum, m, W2)
        if dW2_sparsity is not None:
            grads["W2"] += dW2_sparsity.astype(grads["W2"].dtype)
        loss = reference.assemble_losses(params, objective, recon, H, h_sum, aux, sq_norm, penalty)
        return ForwardBackward(loss, grads, Cache(X, H, h_sum))
