"""A snapped KAN: every live edge a symbolic function a f(b x + c) + d with trainable parameters.

``SymbolicKAN`` has the KAN's widths and computes y_o = sum_i a_io f_io(b_io x_i + c_io) + d_io over
the snapped edges (pruned edges are absent). It is an ordinary torch module, so it can be the
``core`` of a SolutionNet and the standard Trainer keeps training its free parameters against
the PDE loss (derivatives by autograd).
"""
from __future__ import annotations

from typing import Mapping, Sequence

import torch
from torch import Tensor, nn

from .fit import Fit
from .library import LIBRARY

Edge = tuple[int, int, int]  # (layer, input node, output node)


class EdgeGroup(nn.Module):
    """The edges of one layer that share a function f: inputs ``src`` (E,), outputs ``dst`` (E,) and
    parameters a, b, c, d (E,) each, trainable where the candidate leaves them free."""

    def __init__(self, name: str, src: Sequence[int], dst: Sequence[int], params: Tensor):
        super().__init__()
        self.name = name
        self.candidate = LIBRARY[name]
        self.register_buffer("src", torch.as_tensor(src, dtype=torch.long))
        self.register_buffer("dst", torch.as_tensor(dst, dtype=torch.long))
        for key, column in zip("abcd", params.T):
            if key in self.candidate.free:
                setattr(self, key, nn.Parameter(column.clone()))
            else:
                self.register_buffer(key, column.clone())

    def forward(self, x: Tensor) -> Tensor:
        """(B, n_in) -> (B, E): a f(b x_src + c) + d."""
        return self.a * self.candidate.torch_fn(self.b * x[:, self.src] + self.c) + self.d


class SymbolicLayer(nn.Module):
    """y_o = sum over snapped edges (i, o) of a f(b x_i + c) + d: (B, n_in) -> (B, n_out)."""

    def __init__(self, n_in: int, n_out: int, fits: Mapping[tuple[int, int], Fit]):
        super().__init__()
        self.n_in, self.n_out = n_in, n_out
        names = sorted({f.name for f in fits.values()})
        groups = []
        for name in names:
            edges = sorted(e for e, f in fits.items() if f.name == name)
            params = torch.tensor([fits[e].params for e in edges], dtype=torch.get_default_dtype())
            groups.append(EdgeGroup(name, [i for i, _ in edges], [o for _, o in edges], params))
        self.groups = nn.ModuleList(groups)

    def forward(self, x: Tensor) -> Tensor:
        y = x.new_zeros(x.shape[0], self.n_out)
        for group in self.groups:
            y = y.index_add(1, group.dst, group(x))
        return y

    def edges(self) -> dict[tuple[int, int], tuple[str, tuple[float, float, float, float]]]:
        """{(i, o): (function name, (a, b, c, d))} with the current parameter values."""
        out = {}
        for g in self.groups:
            values = torch.stack([g.a, g.b, g.c, g.d], dim=1).detach().double().tolist()
            for i, o, p in zip(g.src.tolist(), g.dst.tolist(), values):
                out[(i, o)] = (g.name, tuple(p))
        return out


class SymbolicKAN(nn.Module):
    """A stack of SymbolicLayers with the given widths; ``fits`` maps (layer, i, o) to its Fit.

    x: (B, widths[0]) -> (B, widths[-1]). Built in the default dtype.
    """

    def __init__(self, widths: Sequence[int], fits: Mapping[Edge, Fit]):
        super().__init__()
        self.widths = [int(w) for w in widths]
        self.layers = nn.ModuleList(
            SymbolicLayer(a, b, {(i, o): f for (l, i, o), f in fits.items() if l == k})
            for k, (a, b) in enumerate(zip(self.widths[:-1], self.widths[1:]))
        )

    def forward(self, x: Tensor) -> Tensor:
        for layer in self.layers:
            x = layer(x)
        return x

    def edges(self) -> dict[Edge, tuple[str, tuple[float, float, float, float]]]:
        """{(layer, i, o): (function name, (a, b, c, d))} for every snapped edge."""
        return {(l, i, o): v for l, layer in enumerate(self.layers) for (i, o), v in layer.edges().items()}


__all__ = ["EdgeGroup", "SymbolicKAN", "SymbolicLayer"]
