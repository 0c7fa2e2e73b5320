# %% [markdown]
# # 01 - The IDX file format: reading MNIST byte by byte
#
# MNIST (LeCun et al. 1998), 70000 handwritten digits of $28 \times 28$ grey pixels, is stored in
# IDX files: a few header bytes that say what the array is, then the numbers.
# We first decode the header by hand, with nothing but `gzip` and `int.from_bytes`, then let
# npsae do it, and finally look at some digits.
#
# MNIST is found under `$NPSAE_DATA` (a folder holding `mnist/`), else in `./data` if that holds
# it, else in npsae's per-user data folder, where it is downloaded on first use
# (`python -m npsae data` says which folder and why).
#
# As a script: `python 01_idx_format.py [FIGURE_FOLDER]`

# %%
import gzip
import struct
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from _common import save, say

from npsae.datasets import as_float, data_root, find_idx_file, load_mnist
from npsae.idx import parse_idx_header, read_idx, write_idx

# load_mnist makes sure the files are there (it downloads them when they are missing and says
# where to put them when it cannot); we use what it returns at the end.
train_images, train_labels = load_mnist("train")
folder = data_root() / "mnist"
images_path = find_idx_file(folder, "train-images-idx3-ubyte")
labels_path = find_idx_file(folder, "train-labels-idx1-ubyte")
print("images:", images_path)
print("labels:", labels_path)


def open_maybe_gzipped(path):
    """The file's decompressed bytes as a stream, gzipped ('.gz') or not."""
    return gzip.open(path, "rb") if str(path).endswith(".gz") else open(path, "rb")


# %% [markdown]
# ## The header, by hand
#
# An IDX file begins with a 4-byte "magic number":
#
# | byte | meaning |
# | --- | --- |
# | 0, 1 | always 0 |
# | 2 | the element type: `0x08` = unsigned byte (uint8), `0x0D` = float32, ... |
# | 3 | the number of dimensions $d$ |
#
# then $d$ sizes, each a 4-byte unsigned integer with bytes $b_0 b_1 b_2 b_3$, most significant
# first ("big-endian"):
#
# $$\text{size} = b_0 \cdot 256^3 + b_1 \cdot 256^2 + b_2 \cdot 256 + b_3$$
#
# and then the elements themselves, the last index changing fastest (C order).

# %%
with open_maybe_gzipped(images_path) as f:
    head = f.read(16)
print("first 16 bytes:", head.hex(" "))
zero0, zero1, type_code, ndim = head[0], head[1], head[2], head[3]
print(f"bytes 0-1 = {zero0}, {zero1};  type code = 0x{type_code:02X};  dimensions d = {ndim}")
assert (zero0, zero1, type_code) == (0, 0, 0x08)  # 0x08: each pixel is one unsigned byte

# %%
# The d = 3 sizes, decoded twice: with int.from_bytes, and with struct (">" = big-endian,
# "I" = 4-byte unsigned int).
sizes = [int.from_bytes(head[4 + 4 * k : 8 + 4 * k], "big") for k in range(ndim)]
print("sizes with int.from_bytes:", sizes)
print("sizes with struct.unpack :", struct.unpack(">3I", head[4:16]))
b = head[4:8]
print(f"the first size by hand: {b[0]}*256^3 + {b[1]}*256^2 + {b[2]}*256 + {b[3]} = "
      f"{b[0] * 256**3 + b[1] * 256**2 + b[2] * 256 + b[3]}")  # fmt: skip
n_images, n_rows, n_cols = sizes
header_size = 4 + 4 * ndim
print(f"{n_images} images of {n_rows} x {n_cols} pixels; the pixels start at byte {header_size}")

# %% [markdown]
# The payload: with a header of $4 + 4d$ bytes (`header_size`), image $k$ occupies the bytes
# from $\text{header\_size} + 784\,k$ up to (not including) $\text{header\_size} + 784\,(k+1)$.
# Read the first image and draw it with characters (pixel 0 = background, 255 = full ink).

# %%
with open_maybe_gzipped(images_path) as f:
    f.seek(header_size)
    first = np.frombuffer(f.read(n_rows * n_cols), dtype=np.uint8).reshape(n_rows, n_cols)
for row in first[3:25]:
    print("".join(2 * " .:-=+*#%@"[int(v) * 10 // 256] for v in row))  # 2 chars: square pixels

# %% [markdown]
# The labels file has the same layout with $d = 1$: magic `00 00 08 01`, one size, then one byte
# per image, the digit it shows.

# %%
with open_maybe_gzipped(labels_path) as f:
    label_head = f.read(8)
    first_labels = np.frombuffer(f.read(10), dtype=np.uint8)
print("labels header:", label_head.hex(" "), "->", int.from_bytes(label_head[4:8], "big"), "labels")
print("first ten labels:", first_labels)

# %% [markdown]
# ## The same with npsae
#
# `parse_idx_header` does what we just did (and rejects malformed headers with a clear message);
# `read_idx` reads the whole array, gzipped or not; `load_mnist` finds the files, checks them
# against the official checksums and returns (images, labels).

# %%
dtype, shape, size = parse_idx_header(head)
print(f"parse_idx_header: dtype {dtype}, shape {shape}, header {size} bytes")
assert shape == tuple(sizes) and size == header_size

images = read_idx(images_path)
print("read_idx:", images.shape, images.dtype)
assert np.array_equal(images[0], first)  # the same pixels we read by hand

test_images, test_labels = load_mnist("test")
print("load_mnist train:", train_images.shape, train_labels.shape, train_images.dtype)
print("load_mnist test: ", test_images.shape, test_labels.shape)
print("label counts in train:", np.bincount(train_labels))

# %% [markdown]
# Multi-byte types are big-endian on disk. `write_idx` makes the point: two int16 numbers,
# $1$ and $258 = 1 \cdot 256 + 2$, are written as `00 01` and `01 02`, after the header
# `00 00 0B 01 00 00 00 02` (type `0x0B` = int16, one dimension of size 2).

# %%
with tempfile.TemporaryDirectory() as tmp:
    path = Path(tmp) / "two.idx"
    write_idx(path, np.array([1, 258], dtype=np.int16))
    raw = path.read_bytes()
    print("bytes on disk:", raw.hex(" "))
    print("read back:", read_idx(path))

# %% [markdown]
# What the autoencoder eats: each image flattened to a row $x$ of $28 \cdot 28 = 784$ numbers,
# scaled to $[0, 1]$:
#
# $$x_k = \frac{\text{pixel}_k}{255}, \qquad k = 0, \dots, 783$$
#
# `as_float` stacks $m$ such rows into a matrix `X` of shape $(m, 784)$.

# %%
X = as_float(train_images[:1000])
print("as_float:", X.shape, X.dtype, f"range [{X.min()}, {X.max()}]")
background = np.mean(X == 0, axis=1)  # per image: the fraction of pixels without any ink
say(f"The mean pixel value is {X.mean():.3f}, and on every one of these {len(X)} images at "
    f"least {background.min():.0%} of the pixels are exactly 0: most of every image is "
    "background.")  # fmt: skip

# %%
# A look at the first 30 training digits and their labels.
fig, axes = plt.subplots(3, 10, figsize=(10, 3.4))
for k, ax in enumerate(axes.flat):
    ax.imshow(train_images[k], cmap="gray_r")
    ax.set_title(str(train_labels[k]), fontsize=10)
    ax.axis("off")
fig.suptitle("The first 30 MNIST training images, with their labels")
save(fig, "01_mnist_digits.png")

# %%
# The claims of the text above, checked on this run.
assert len(train_images) + len(test_images) == 70000 and (n_rows, n_cols) == (28, 28)
assert raw[:8].hex(" ") == "00 00 0b 01 00 00 00 02" and raw[8:].hex(" ") == "00 01 01 02"
assert background.min() > 0.5  # most of every image is background

# %% [markdown]
# ## Try it yourself
#
# 1. Before reading them, write down the first 8 bytes of `t10k-labels-idx1-ubyte` as hex.
#    Then read them (with `find_idx_file` and `open_maybe_gzipped`) and compare.
# 2. `write_idx` a float32 array of shape $(2, 3)$. Predict the file's size in bytes and its
#    four magic bytes, then check with `read_bytes()`.
# 3. At which byte offset of the (decompressed) images file is the pixel in row 14, column 14 of
#    image 100? Read that single byte and compare it with `train_images[100, 14, 14]`.

# %% [markdown]
# ## References
#
# - [LeCun et al. 1998] Yann LeCun, Léon Bottou, Yoshua Bengio, Patrick Haffner. "Gradient-based
#   learning applied to document recognition." Proc. IEEE 86(11), 1998. (MNIST.)
