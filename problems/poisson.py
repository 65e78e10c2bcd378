"""Poisson's equation -lap u = f on [-1, 1]^2 with u = 0 on the boundary, manufactured solutions."""
from __future__ import annotations

import math
from typing import Mapping

import torch
from torch import Tensor

from kanpde.geometry import Box
from kanpde.pde import Derivatives, Dirichlet, Problem

PI = math.pi


class _Poisson(Problem):
    """-lap u = f on [-1, 1]^2, u = 0 on the boundary; f = -lap(exact)."""

    inputs, outputs = ("x", "y"), ("u",)

    def __init__(self, weights: Mapping[str, float] | None = None):
        super().__init__(weights)
        self.domain = Box([-1.0, -1.0], [1.0, 1.0])
        self.conditions = [Dirichlet("boundary", value=0.0)]

    def source(self, x: Tensor) -> Tensor:
        """f(x, y): (N, 2) -> (N,)."""
        raise NotImplementedError

    def residual(self, x: Tensor, u: Tensor, d: Derivatives) -> Tensor:
        return -d.laplacian("u") - self.source(x)


class Poisson2D(_Poisson):
    """Exact u = sin(pi x) sin(pi y), so f = 2 pi^2 sin(pi x) sin(pi y)."""

    def source(self, x: Tensor) -> Tensor:
        return 2 * PI**2 * torch.sin(PI * x[:, 0]) * torch.sin(PI * x[:, 1])

    def exact(self, x: Tensor) -> Tensor:
        return (torch.sin(PI * x[:, 0]) * torch.sin(PI * x[:, 1]))[:, None]


class Poisson2DKANPaper(_Poisson):
    """The KAN paper's Section 3.4 problem: exact u = sin(pi x) sin(pi y^2), so
    f = pi^2 sin(pi x) sin(pi y^2) (1 + 4 y^2) - 2 pi sin(pi x) cos(pi y^2)."""

    def source(self, x: Tensor) -> Tensor:
        sx, y2 = torch.sin(PI * x[:, 0]), x[:, 1] ** 2
        return PI**2 * sx * torch.sin(PI * y2) * (1 + 4 * y2) - 2 * PI * sx * torch.cos(PI * y2)

    def exact(self, x: Tensor) -> Tensor:
        return (torch.sin(PI * x[:, 0]) * torch.sin(PI * x[:, 1] ** 2))[:, None]
