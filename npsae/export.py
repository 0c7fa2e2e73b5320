"""Export a trained model to the layout SAELens loads: ``sae_weights.safetensors`` + ``cfg.json``.

SAELens (v6) describes a sparse autoencoder by ``W_enc: (d_in, d_sae)``, ``b_enc: (d_sae,)``,
``W_dec: (d_sae, d_in)``, ``b_dec: (d_in,)`` and computes, for an input row x::

    x' = x - b_dec  if apply_b_dec_to_input  else  x
    z  = x' W_enc + b_enc
    f  = ReLU(z)                          architecture "standard"
    f  = ReLU(z) on the k largest z       architecture "topk" (k in cfg.json), zero elsewhere
    f  = ReLU(z) 1[z > threshold]         architecture "jumprelu" (threshold: (d_sae,) tensor)
    x^ = f W_dec + b_dec

npsae's ReLU models map onto it one to one: W_enc = W1, b_enc = b1, W_dec = W2, b_dec = b2,
apply_b_dec_to_input = pre_bias (npsae's encoder subtracts b2 only with it). A JumpReLU model
exports its thresholds exp(log_theta); a BatchTopK model, which codes a lone sample by the
threshold it learned in training, exports as SAELens saves its own BatchTopK models: a
"jumprelu" whose every threshold is that one. Sparsity penalties (KL, L1, AuxK, ...) only
shaped training, so any of them exports. What SAELens cannot compute is refused: a sigmoid
output (its decoder is linear) and sigmoid hidden units (its activations are ReLU based), the
usual companions of Ng's KL penalty, and a BatchTopK model that never trained (no threshold).

The weights are written with the ``safetensors`` package, npsae's optional extra
``npsae[export]``.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

import numpy as np

from npsae._extras import require
from npsae._fileio import atomic_write
from npsae.model import SparseAutoencoder

EXTRA = "export"
WEIGHTS_FILE = "sae_weights.safetensors"
CONFIG_FILE = "cfg.json"
FORMATS = ("saelens",)
# cfg.json says which SAELens config layout it follows; SAELens reads older ones differently.
SAELENS_VERSION = "6.0.0"


class ExportError(ValueError):
    """The model cannot be represented in the requested format, or the output would overwrite
    files; the message says which and why."""


def saelens_state(model: SparseAutoencoder, dataset: str | None = None) -> tuple[dict, dict]:
    """(tensors, cfg): the float32 arrays ``W_enc, b_enc, W_dec, b_dec`` (and ``threshold``
    for the "jumprelu" architecture) and the cfg.json dict.

    ``dataset`` is recorded in the config's metadata as ``dataset_path``. Raises ExportError
    for a model SAELens cannot compute (see the module docstring).
    """
    c, sparsity = model.config, model.sparsity
    problems = []
    if c["output"] != "linear":
        problems.append(
            f"its output is {c['output']} but a SAELens decoder is linear (x^ = f W_dec + b_dec)"
        )
    if c["hidden"] != "relu":
        problems.append(
            f"its hidden units are {c['hidden']} but SAELens's activations are ReLU based"
        )
    if sparsity.saelens is None:  # npsae.penalties: each penalty names its architecture
        problems.append(f"SAELens has no architecture for sparsity {c['sparsity']!r}")
    if sparsity.batch and not np.isfinite(model.buffers["threshold"]):
        problems.append(
            "it is a BatchTopK model that has not learned its inference threshold (train it first)"
        )
    if problems:
        raise ExportError(
            "this model cannot be exported to SAELens: "
            + "; ".join(problems)
            + ". Train one with --hidden relu --output linear (any sparsity) to export it."
        )
    p = model.params
    tensors = {
        "W_enc": p["W1"],
        "b_enc": p["b1"],
        "W_dec": p["W2"],
        "b_dec": p["b2"],
    }
    if sparsity.threshold:
        tensors["threshold"] = np.exp(p["log_theta"])  # as the model computes it
    elif sparsity.batch:
        tensors["threshold"] = np.full(c["n_hidden"], float(model.buffers["threshold"]))
    tensors = {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in tensors.items()}
    cfg = {
        "architecture": sparsity.saelens,
        "d_in": c["n_in"],
        "d_sae": c["n_hidden"],
        "dtype": "float32",
        "device": "cpu",
        "apply_b_dec_to_input": c["pre_bias"],
        "normalize_activations": "none",
        "reshape_activations": "none",
        "metadata": {
            "sae_lens_version": SAELENS_VERSION,
            "sae_lens_training_version": None,
            "model_name": None,
            "hook_name": None,
            "dataset_path": dataset,
        },
    }
    if sparsity.saelens == "topk":
        cfg["k"] = c["k"]
    return tensors, cfg


def export_saelens(
    source: str | os.PathLike | SparseAutoencoder, out_dir: str | os.PathLike
) -> list[Path]:
    """Write ``out_dir/sae_weights.safetensors`` and ``out_dir/cfg.json`` for a model.

    ``source``: a model, a run directory of ``npsae train --out`` (its ``model.npz``), or a
    model file saved by ``SparseAutoencoder.save``. ``out_dir`` is created if needed; files
    already there are never overwritten (ExportError). Each file is written atomically, and if
    the second fails the first is removed, so nothing half-written is left. Returns the paths.
    """
    safetensors_numpy = require("safetensors.numpy", EXTRA, "exporting to SAELens")
    model, dataset = _load(source)
    tensors, cfg = saelens_state(model, dataset)
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise ExportError(f"{out_dir}: exists and is not a folder")
    paths = [out_dir / WEIGHTS_FILE, out_dir / CONFIG_FILE]
    existing = [str(p) for p in paths if p.exists()]
    if existing:
        raise ExportError(
            f"{' and '.join(existing)} already exist; npsae never overwrites files: "
            "choose another folder or remove them"
        )
    weights = safetensors_numpy.save(tensors, metadata={"format": "np"})
    with atomic_write(paths[0], "wb") as f:
        f.write(weights)
    try:
        with atomic_write(paths[1], "w") as f:
            json.dump(cfg, f, indent=2)
            f.write("\n")
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            paths[0].unlink()
        raise
    return paths


def _load(source: str | os.PathLike | SparseAutoencoder) -> tuple[SparseAutoencoder, str | None]:
    """The model and a description of its data set (from the run's config.json, if any)."""
    if isinstance(source, SparseAutoencoder):
        return source, None
    from npsae.checkpoint import CHECKPOINT_FILE, CONFIG_FILE

    path = Path(source)
    if path.is_file():
        return SparseAutoencoder.load(path, backend="numpy"), None
    if not (path / CHECKPOINT_FILE).is_file():
        raise FileNotFoundError(
            f"{path}: neither a model file nor a run directory holding {CHECKPOINT_FILE}"
        )
    model = SparseAutoencoder.load(path / CHECKPOINT_FILE, backend="numpy")
    dataset = None
    # The data set's name only labels the export; a run without a readable one still exports.
    with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
        recorded = json.loads((path / CONFIG_FILE).read_text(encoding="utf-8"))
        data = recorded["training"]["dataset"]
        dataset = data["name"] if isinstance(data, dict) else data
    return model, None if dataset is None else str(dataset)
