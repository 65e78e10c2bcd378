"""Pruning a KAN: drop the edges whose L1 norm |phi_io|_1 is below a threshold, then the hidden
nodes left without a live incoming or a live outgoing edge (the KAN paper's node rule).

The result is a smaller KAN (fewer hidden nodes; dead edges between live nodes masked to zero)
that computes the same function wherever the dropped edges were zero. A dropped node whose
incoming edges were all dead fed its outgoing edges the constant phi(0); retraining absorbs that.
"""
from __future__ import annotations

import copy

import torch
from torch import Tensor, nn

from ..errors import KanpdeError
from ..nets import KAN, KANLayer
from ..nets.edges import edge_activations


def live_edges(kan: KAN, x: Tensor, threshold: float) -> list[Tensor]:
    """Per layer, the (n_in, n_out) bools of the unmasked edges with |phi_io|_1 >= threshold on
    network inputs x (B, widths[0])."""
    with torch.no_grad():
        norms = edge_activations(kan, x).l1()
    return [(n >= threshold) & (layer.mask > 0) for n, layer in zip(norms, kan.layers)]


def kept_nodes(live: list[Tensor]) -> list[list[int]]:
    """Per node layer (inputs, hidden..., outputs), the nodes that stay: every input and output
    node, and the hidden nodes with a live edge in and a live edge out (after removing dead nodes'
    edges, repeated until nothing changes)."""
    live = [e.clone() for e in live]
    while True:
        changed = False
        for l in range(1, len(live)):
            dead = ~(live[l - 1].any(dim=0) & live[l].any(dim=1))  # hidden nodes between layers l-1, l
            if (live[l - 1][:, dead].any() or live[l][dead].any()):
                live[l - 1][:, dead], live[l][dead] = False, False
                changed = True
        if not changed:
            break
    keep = [list(range(live[0].shape[0]))]
    keep += [torch.nonzero(live[l - 1].any(dim=0) & live[l].any(dim=1)).flatten().tolist() for l in range(1, len(live))]
    return keep + [list(range(live[-1].shape[1]))]


def _select(layer: KANLayer, rows: list[int], cols: list[int], live: Tensor) -> KANLayer:
    """A copy of ``layer`` restricted to inputs ``rows`` and outputs ``cols``, masked by ``live``."""
    new = copy.deepcopy(layer)
    new.n_in, new.n_out = len(rows), len(cols)
    with torch.no_grad():
        new.coef = nn.Parameter(layer.coef[rows][:, cols].clone())
        new.scale = nn.Parameter(layer.scale[rows][:, cols].clone())
        if layer.base is not None:
            new.base = nn.Parameter(layer.base[rows][:, cols].clone())
        new.mask = live[rows][:, cols].to(layer.mask.dtype)
        new.basis.keep_inputs(rows)
    return new


def prune(kan: KAN, x: Tensor, threshold: float) -> KAN:
    """A pruned copy of ``kan`` (the original is untouched), judged on network inputs x (B, widths[0])."""
    live = live_edges(kan, x, threshold)
    keep = kept_nodes(live)
    empty = [l for l, nodes in enumerate(keep[1:-1], start=1) if not nodes]
    if empty:
        raise KanpdeError(f"pruning at threshold {threshold:g} removes every node of hidden layer {empty[0]}; "
                          "use a smaller threshold")
    pruned = copy.deepcopy(kan)
    pruned.layers = nn.ModuleList(_select(layer, keep[l], keep[l + 1], live[l]) for l, layer in enumerate(kan.layers))
    pruned.widths = [len(nodes) for nodes in keep]
    return pruned


def live_parameters(kan: KAN) -> int:
    """Parameters on live edges: per edge its basis coefficients, its scale and its base weight."""
    per_edge = [layer.basis.n_basis + 1 + (layer.base is not None) for layer in kan.layers]
    return int(sum(int(layer.mask.sum()) * n for layer, n in zip(kan.layers, per_edge)))


__all__ = ["kept_nodes", "live_edges", "live_parameters", "prune"]
