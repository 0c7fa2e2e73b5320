"""npsae: the sparse autoencoder from scratch, in NumPy (to read) and Numba (to run fast)."""

__version__ = "0.1.0"
