"""Kovasznay flow: steady incompressible Navier-Stokes at Re = 20, fields (u, v, p)."""
from __future__ import annotations

import math
from typing import Mapping

import torch
from torch import Tensor

from kanpde.geometry import Box
from kanpde.pde import Derivatives, Dirichlet, Problem

from .navier_stokes import RESIDUALS, steady_navier_stokes


class Kovasznay(Problem):
    """u.grad u + grad p - lap u / Re = 0, div u = 0 on [-0.5, 1] x [-0.5, 1.5]. Exact (Kovasznay
    1948): u = 1 - e^{lam x} cos 2 pi y, v = lam e^{lam x} sin(2 pi y) / (2 pi),
    p = (1 - e^{2 lam x}) / 2, lam = Re/2 - sqrt(Re^2/4 + 4 pi^2). Velocity on the whole boundary,
    pressure on the outflow x = 1."""

    inputs, outputs = ("x", "y"), ("u", "v", "p")
    residual_names = RESIDUALS

    def __init__(self, reynolds: float = 20.0, weights: Mapping[str, float] | None = None):
        super().__init__(weights)
        self.re = reynolds
        self.lam = reynolds / 2 - math.sqrt(reynolds**2 / 4 + 4 * math.pi**2)
        self.domain = Box([-0.5, -0.5], [1.0, 1.5])
        exact = self.exact
        self.conditions = [
            Dirichlet("boundary_u", value=lambda x: exact(x)[:, 0], field="u"),
            Dirichlet("boundary_v", value=lambda x: exact(x)[:, 1], field="v"),
            Dirichlet("outflow_p", value=lambda x: exact(x)[:, 2], field="p", on="x_hi"),
        ]

    def residual(self, x: Tensor, u: Tensor, d: Derivatives) -> dict[str, Tensor]:
        return steady_navier_stokes(u, d, self.re)

    def exact(self, x: Tensor) -> Tensor:
        e = torch.exp(self.lam * x[:, 0])
        y = 2 * math.pi * x[:, 1]
        return torch.stack([1 - e * torch.cos(y), self.lam / (2 * math.pi) * e * torch.sin(y), 0.5 * (1 - e * e)], dim=1)
