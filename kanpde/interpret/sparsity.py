"""The KAN paper's sparsity regulariser of the edge activations, as the loss term ``sparsity``.

    R = sum_l [ mu_1 |Phi_l|_1 + mu_2 S(Phi_l) ],  |Phi_l|_1 = sum_io |phi_io|_1,
    S(Phi_l) = -sum_io p_io log p_io,  p_io = |phi_io|_1 / |Phi_l|_1,

with |phi_io|_1 the mean of |phi_io| over the interior collocation points. The trainer adds
``optim.sparsity.weight`` * R to the loss (weight 0: off, and no term appears).
"""
from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from ..nets import KAN, SolutionNet
from .edges import edge_activations, edge_l1

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


def sparsity_terms(net: SolutionNet, x: Tensor, cfg: Any) -> dict[str, Tensor]:
    """{"sparsity": R} at the physical points x (N, n_in) when ``cfg.weight`` > 0 and the net is a
    KAN (``cfg``: the ``optim.sparsity`` config), else {}."""
    if not cfg.weight or not net.is_kan:
        return {}
    return {"sparsity": regularizer(net.core, net.normalize(x), cfg.l1, cfg.entropy)}


__all__ = ["regularizer", "sparsity_terms"]
