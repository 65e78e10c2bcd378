"""The KAN paper's sparsity regulariser of the edge activations, as the loss term ``sparsity``.

    R = sum_l [ mu_1 |Phi_l|_1 + mu_2 S(Phi_l) ],  |Phi_l|_1 = sum_io |phi_io|_1,
    S(Phi_l) = -sum_io p_io log p_io,  p_io = |phi_io|_1 / |Phi_l|_1,

with |phi_io|_1 the mean of |phi_io| over the interior collocation points. Training adds
``optim.sparsity.weight`` * R to the loss (training/loss.py; weight 0: off, and no term appears).
"""
from __future__ import annotations

import torch
from torch import Tensor

from .edges import edge_activations, edge_l1
from .kan import KAN

LOG_FLOOR = 1e-12  # p log(p + floor): finite gradients at pruned (zero) edges


def regularizer(kan: KAN, x: Tensor, l1: float = 1.0, entropy: float = 2.0) -> Tensor:
    """R above for network inputs x (B, widths[0]): a scalar with graph."""
    total = x.new_zeros(())
    for values in edge_activations(kan, x).values:
        norms = edge_l1(values)  # (n_in, n_out)
        layer_l1 = norms.sum()
        p = norms / layer_l1.clamp_min(torch.finfo(norms.dtype).tiny)
        total = total + l1 * layer_l1 - entropy * (p * torch.log(p + LOG_FLOOR)).sum()
    return total


__all__ = ["regularizer"]
