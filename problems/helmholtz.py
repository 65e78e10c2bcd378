"""Helmholtz: lap u + k^2 u = q on [-1, 1]^2, u = 0 on the boundary (the PINN/PIKAN benchmark)."""
from __future__ import annotations

import math
from typing import Mapping

import torch
from torch import Tensor

from kanpde.geometry import Box
from kanpde.pde import HardConstraint, Derivatives, Dirichlet, Problem

PI = math.pi


class Helmholtz2D(Problem):
    """Exact u = sin(a1 pi x) sin(a2 pi y), so q = (k^2 - (a1^2 + a2^2) pi^2) u; defaults a1 = 1,
    a2 = 4, k = 1. ``constraints``: "soft" (a boundary loss term) or "hard" (u = (1 - x^2)(1 - y^2) N)."""

    inputs, outputs = ("x", "y"), ("u",)

    def __init__(self, a1: float = 1.0, a2: float = 4.0, k: float = 1.0, constraints: str = "soft",
                 weights: Mapping[str, float] | None = None):
        super().__init__(weights)
        self.a1, self.a2, self.k = a1, a2, k
        self.domain = Box([-1.0, -1.0], [1.0, 1.0])
        self.conditions = [Dirichlet("boundary", value=0.0)]
        self.hard_constraint = HardConstraint.chosen(constraints, self.output_transform, replaces=("boundary",))

    def output_transform(self, x: Tensor) -> tuple[Tensor, Tensor]:
        return torch.zeros_like(x[:, :1]), (1 - x[:, :1] ** 2) * (1 - x[:, 1:2] ** 2)

    def residual(self, x: Tensor, u: Tensor, d: Derivatives) -> Tensor:
        q = (self.k**2 - (self.a1**2 + self.a2**2) * PI**2) * self.exact(x)[:, 0]
        return d.laplacian("u") + self.k**2 * u[:, 0] - q

    def exact(self, x: Tensor) -> Tensor:
        return (torch.sin(self.a1 * PI * x[:, 0]) * torch.sin(self.a2 * PI * x[:, 1]))[:, None]
