"""npsae's AuxK beside SAELens's, step by step: same data, same weights, same dead units.

    python bench/auxk_vs_saelens.py     # in a venv with torch and sae-lens besides npsae

SAELens is a benchmark-only peer (never a dependency of npsae). One TopK SAE of 1024 ReLU units
on 256 MNIST images (784 pixels, k = 25), random weights, the last 900 units marked dead; then
the main code, the residual e = X - X^, AuxK's code of the dead units, its loss and its gradient
are computed by both and compared, in float64.

Conventions that differ (SAELens 6.54.12, ``TopKTrainingSAE.calculate_topk_aux_loss``):

- SAELens takes k_aux = d_in // 2 (Gao et al.'s appendix heuristic: 392 here) and multiplies
  the loss by min(|D| / k_aux, 1) (from EleutherAI's sparsify); npsae takes ``aux_k`` as given
  and no such scale. Here |D| = 900 > 392, so the scale is 1 and npsae is given aux_k = 392.
- SAELens sums the squared error over the pixels and averages over the batch, sum / m; npsae's
  ``recon="sse"`` is sum / (2 m), so npsae's alpha is twice SAELens's coefficient.
- Both model e with H_D W_dec[D], no b_dec (Gao et al.'s Appendix A.2; older SAELens versions
  decoded it with b_dec): the second case, with b_dec != 0, checks that.
- SAELens's training TopK scales each pre-activation by its decoder row's norm (and the code
  back by its inverse in ``decode``), ``rescale_acts_by_decoder_norm=True`` by default; npsae
  has no such scaling (it is the identity for unit-norm rows), so it is switched off here.
- Dead units: SAELens's trainer counts training steps since a unit fired
  (``n_forward_passes_since_fired > dead_feature_window``, 1000 steps by default), npsae counts
  samples (``since_fired >= dead_after``), Gao et al. tokens (10 million); both are given the
  same mask here.
- Neither has an output activation; npsae's AuxK adds the dead units' H_D W2[D] to the main
  code's Z2 before it, which for a linear output is the same loss (this comparison) and for a
  sigmoid output keeps the dead units' decoder rows in the space the main code writes to.
"""

from __future__ import annotations

import numpy as np
import torch
from sae_lens import TopKTrainingSAE, TopKTrainingSAEConfig

from npsae import as_float, load_mnist, reference
from npsae.model import SparseAutoencoder

M, D_IN, D_SAE, K, DEAD = 256, 784, 1024, 25, 900
COEFFICIENT = 1 / 32  # SAELens's aux_loss_coefficient, Gao et al.'s alpha


def npsae_model(b_dec: np.ndarray) -> SparseAutoencoder:
    k_aux = D_IN // 2
    model = SparseAutoencoder(
        D_IN, D_SAE, hidden="relu", output="linear", recon="sse", sparsity="topk", k=K,
        aux_k=k_aux, aux_alpha=2 * COEFFICIENT, dtype=np.float64, backend="numpy", seed=0,
    )  # fmt: skip
    rng = np.random.default_rng(1)
    model.params["b1"][:] = rng.normal(0, 0.1, D_SAE)
    model.params["b2"][:] = b_dec
    model.buffers["since_fired"][-DEAD:] = model.config.dead_after
    return model


def saelens_model(model: SparseAutoencoder) -> TopKTrainingSAE:
    cfg = TopKTrainingSAEConfig(
        d_in=D_IN, d_sae=D_SAE, k=K, dtype="float64", device="cpu",
        apply_b_dec_to_input=False, aux_loss_coefficient=COEFFICIENT,
        rescale_acts_by_decoder_norm=False,
    )  # fmt: skip
    sae = TopKTrainingSAE(cfg)
    with torch.no_grad():
        for name, key in (("W_enc", "W1"), ("b_enc", "b1"), ("W_dec", "W2"), ("b_dec", "b2")):
            getattr(sae, name).copy_(torch.from_numpy(model.params[key]))
    return sae


def rel(a, b) -> float:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300))


def compare(X: np.ndarray, b_dec: np.ndarray, label: str) -> None:
    model = npsae_model(b_dec)
    sae = saelens_model(model)
    p = model.params
    dead = model.dead_units()
    x = torch.from_numpy(X).requires_grad_(False)
    acts, hidden_pre = sae.encode_with_hidden_pre(x)
    sae_out = sae.decode(acts)
    loss = sae.calculate_topk_aux_loss(
        sae_in=x, sae_out=sae_out, hidden_pre=hidden_pre,
        dead_neuron_mask=torch.from_numpy(dead),
    )  # fmt: skip
    for param in sae.parameters():
        param.grad = None
    loss.backward()
    # npsae, the same quantities.
    _, H, X_hat = model.forward(X)
    objective = model._current_objective()
    aux = reference.aux_forward(p, X, H, objective)
    e = X - X_hat
    e_hat = aux.X_aux - X_hat  # the dead units' contribution H_D W2[D]
    grads = model.term_grads(X)["aux"]
    print(f"\n{label}")
    print(f"  main code H           rel. diff {rel(H, acts.detach().numpy()):.1e}")
    print(f"  reconstruction X^     rel. diff {rel(X_hat, sae_out.detach().numpy()):.1e}")
    # SAELens's aux code: the top k_aux of hidden_pre among the dead units, no ReLU.
    k_aux = min(D_IN // 2, int(dead.sum()))
    pre = np.where(dead, hidden_pre.detach().numpy(), -np.inf)
    saelens_code = reference.keep_top_k(pre, k_aux)
    saelens_code[np.isinf(saelens_code)] = 0.0
    print(f"  dead units' code H_D  rel. diff {rel(aux.H_D, saelens_code[:, dead]):.1e}")
    print(f"  residual e            rel. diff {rel(e, (x - sae_out).detach().numpy()):.1e}")
    ours = model.loss(X)["aux"]
    print(f"  aux loss              npsae {ours:.6g}  SAELens {loss.item():.6g}  "
          f"rel. diff {abs(ours - loss.item()) / loss.item():.1e}")  # fmt: skip
    by_hand = COEFFICIENT * np.sum((e_hat - e) ** 2) / M
    print(f"  alpha ||e^ - e||^2 / m from npsae's e^ and e, by hand: {by_hand:.6g}")
    for ours_key, theirs in (("W1", "W_enc"), ("b1", "b_enc"), ("W2", "W_dec"), ("b2", "b_dec")):
        g = getattr(sae, theirs).grad.numpy()
        diff = rel(grads[ours_key], g) if np.any(g) else float(np.max(np.abs(grads[ours_key])))
        print(f"  d aux / d {ours_key:<3}         rel. diff {diff:.1e}  "
              f"(|SAELens| max {np.max(np.abs(g)):.3g}, |npsae| max "
              f"{np.max(np.abs(grads[ours_key])):.3g})")  # fmt: skip


def main() -> None:
    torch.manual_seed(0)
    images, _ = load_mnist("train")
    X = as_float(images[:M].reshape(M, -1), np.float64)
    compare(X, np.zeros(D_IN), "b_dec = 0: the two should agree to rounding")
    compare(X, X.mean(axis=0), "b_dec = the pixels' mean: neither e^ carries b_dec")


if __name__ == "__main__":
    main()
