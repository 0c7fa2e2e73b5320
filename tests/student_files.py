"""Student files for the autograder's tests: a correct submission written in plain NumPy (no
npsae, as a student writes it), and a helper that lays files out as a student's folder."""

from pathlib import Path

from npsae import exercises

CORRECT = {
    "sigmoid": """import numpy as np


def sigmoid(Z):
    E = np.exp(-np.abs(Z))
    return np.where(Z >= 0, 1 / (1 + E), E / (1 + E)).astype(Z.dtype)
""",
    "sigmoid_grad": """def sigmoid_grad(A):
    return A * (1 - A)
""",
    "forward": """from ex01_sigmoid import sigmoid


def forward(X, W1, b1, W2, b2):
    return sigmoid(sigmoid(X @ W1 + b1) @ W2 + b2)
""",
    "mse": """import numpy as np


def mse(X_hat, X):
    return float(np.sum((X_hat - X) ** 2) / X.size)
""",
    "sse": """import numpy as np


def sse(X_hat, X):
    return float(np.sum((X_hat - X) ** 2) / (2 * X.shape[0]))
""",
    "kl_penalty": """import numpy as np


def kl_penalty(H, rho, beta):
    r = H.mean(axis=0, dtype=np.float64)
    return float(beta * np.sum(rho * np.log(rho / r) + (1 - rho) * np.log((1 - rho) / (1 - r))))
""",
    "kl_penalty_grad": """import numpy as np


def kl_penalty_grad(H, rho, beta):
    m = H.shape[0]
    r = H.mean(axis=0)
    row = beta / m * (-rho / r + (1 - rho) / (1 - r))
    return np.tile(row, (m, 1)).astype(H.dtype)
""",
    "backward": """from ex01_sigmoid import sigmoid


def backward(X, W1, b1, W2, b2, rho, beta):
    m, n = X.shape
    H = sigmoid(X @ W1 + b1)
    X_hat = sigmoid(H @ W2 + b2)
    dZ2 = 2 * (X_hat - X) / (m * n) * X_hat * (1 - X_hat)
    r = H.mean(axis=0)
    c = beta / m * (-rho / r + (1 - rho) / (1 - r))
    dZ1 = (dZ2 @ W2.T + c) * H * (1 - H)
    grads = {"W1": X.T @ dZ1, "b1": dZ1.sum(axis=0), "W2": H.T @ dZ2, "b2": dZ2.sum(axis=0)}
    return {k: g.astype(X.dtype) for k, g in grads.items()}
""",
    "adam_step": """import numpy as np


def adam_step(p, g, m, v, t, lr, beta1, beta2, eps):
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g * g
    step = lr * (m / (1 - beta1**t)) / (np.sqrt(v / (1 - beta2**t)) + eps)
    return (p - step).astype(p.dtype), m.astype(p.dtype), v.astype(p.dtype)
""",
    "parse_idx_header": """import struct

import numpy as np

CODES = {8: "u1", 9: "i1", 11: ">i2", 12: ">i4", 13: ">f4", 14: ">f8"}


def parse_idx_header(data):
    if len(data) < 4 or data[:2] != b"\\0\\0" or data[2] not in CODES:
        raise ValueError("not an IDX header")
    d = data[3]
    if len(data) < 4 + 4 * d:
        raise ValueError("header cut short")
    return np.dtype(CODES[data[2]]), struct.unpack(f">{d}I", data[4 : 4 + 4 * d]), 4 + 4 * d
""",
    "numerical_gradient": """import numpy as np


def numerical_gradient(f, x, eps):
    grad = np.zeros(x.shape)
    flat = x.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        try:
            flat[i] = old + eps
            up = f(x)
            flat[i] = old - eps
            down = f(x)
        finally:
            flat[i] = old
        grad.flat[i] = (up - down) / (2 * eps)
    return grad
""",
}


def write_submission(folder: Path, files: dict[str, str] | None = None) -> Path:
    """Write the correct file of every exercise into ``folder``, then ``files`` (exercise name
    -> source) over them; returns ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, source in {**CORRECT, **(files or {})}.items():
        (folder / exercises.get(name).filename).write_text(source)
    return folder
