"""Per-edge activations of a KAN: every layer's phi_io(x_i) over sample inputs, and their sizes.

A layer's output is the sum of its edges, y_o = sum_i phi_io(x_i); ``edge_activations`` keeps the
terms apart. The size of an edge is its L1 norm over the samples, |phi_io|_1 = mean_s |phi_io(x_si)|
(the KAN paper's edge magnitude, used by the sparsity regulariser, pruning and the plots).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from .kan import KAN, KANLayer


@dataclass
class EdgeActivations:
    """``inputs[l]``: layer l's inputs (B, n_in); ``values[l]``: its edges phi_io(x_i) (B, n_in, n_out)."""

    inputs: list[Tensor]
    values: list[Tensor]

    def l1(self) -> list[Tensor]:
        """Every layer's edge L1 norms mean_s |phi_io(x_si)|: (n_in, n_out) each."""
        return [edge_l1(v) for v in self.values]


def layer_edges(layer: KANLayer, x: Tensor) -> Tensor:
    """phi_io(x_i) = m_io (scale_io sum_m coef_iom B_m(x_i) + base_io silu(x_i)), m the edge mask:
    (B, n_in) -> (B, n_in, n_out); summed over i it is ``layer(x)``."""
    w = layer.coef * (layer.scale * layer.mask)[..., None]  # (n_in, n_out, n_basis)
    phi = torch.einsum("bim,iom->bio", layer.basis(x), w)
    base = layer.base_weight()
    return phi if base is None else phi + F.silu(x)[..., None] * base


def edge_activations(kan: KAN, x: Tensor) -> EdgeActivations:
    """Every layer's inputs and edge activations for network inputs x (B, widths[0])."""
    inputs, values = [], []
    for layer in kan.layers:
        phi = layer_edges(layer, x)
        inputs.append(x)
        values.append(phi)
        x = phi.sum(dim=1)
    return EdgeActivations(inputs, values)


def edge_l1(values: Tensor) -> Tensor:
    """|phi_io|_1 = mean over the samples of |phi_io(x_si)|: (B, n_in, n_out) -> (n_in, n_out)."""
    return values.abs().mean(dim=0)


def opacity(l1: Tensor, beta: float = 3.0) -> Tensor:
    """The KAN paper's plot transparency tanh(beta |phi|_1) (beta = 3), in [0, 1)."""
    return torch.tanh(beta * l1)


__all__ = ["EdgeActivations", "edge_activations", "edge_l1", "layer_edges", "opacity"]
