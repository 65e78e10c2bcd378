"""Poisson's equation -lap u = f beyond the square: an L-shape, a disk with a Robin condition, a
domain read from a mesh file, and the unit cube. Each has a smooth manufactured solution."""
from __future__ import annotations

import math
from importlib import resources
from typing import Mapping

import torch
from torch import Tensor

from kanpde.geometry import Box, Difference, Disk, MeshDomain
from kanpde.pde import Derivatives, Dirichlet, Problem, Robin

PI = math.pi


class PoissonLShape(Problem):
    """On [-1, 1]^2 minus [0, 1]^2, exact u = e^{x/2} sin(pi y) + x y (smooth; the reentrant
    corner is then harmless), f = (pi^2 - 1/4) e^{x/2} sin(pi y), u = exact on the boundary."""

    inputs, outputs = ("x", "y"), ("u",)

    def __init__(self, weights: Mapping[str, float] | None = None):
        super().__init__(weights)
        self.domain = Difference(Box([-1.0, -1.0], [1.0, 1.0]), Box([0.0, 0.0], [1.0, 1.0]))
        self.conditions = [Dirichlet("boundary", value=lambda x: self.exact(x)[:, 0])]

    def residual(self, x: Tensor, u: Tensor, d: Derivatives) -> Tensor:
        f = (PI**2 - 0.25) * torch.exp(x[:, 0] / 2) * torch.sin(PI * x[:, 1])
        return -d.laplacian("u") - f

    def exact(self, x: Tensor) -> Tensor:
        return (torch.exp(x[:, 0] / 2) * torch.sin(PI * x[:, 1]) + x[:, 0] * x[:, 1])[:, None]


class PoissonDiskRobin(Problem):
    """On the unit disk, exact u = e^{-r^2} + x, f = 4 (1 - r^2) e^{-r^2}, and the Robin condition
    u + du/dn = g on the circle (du/dn = -2 r^2 e^{-r^2} + x there)."""

    inputs, outputs = ("x", "y"), ("u",)

    def __init__(self, weights: Mapping[str, float] | None = None):
        super().__init__(weights)
        self.domain = Disk([0.0, 0.0], 1.0)
        self.conditions = [Robin("boundary", alpha=1.0, beta=1.0, value=self.robin_data)]

    def robin_data(self, x: Tensor) -> Tensor:
        r2 = (x**2).sum(dim=1)
        return self.exact(x)[:, 0] - 2 * r2 * torch.exp(-r2) + x[:, 0]

    def residual(self, x: Tensor, u: Tensor, d: Derivatives) -> Tensor:
        r2 = (x**2).sum(dim=1)
        return -d.laplacian("u") - 4 * (1 - r2) * torch.exp(-r2)

    def exact(self, x: Tensor) -> Tensor:
        return (torch.exp(-(x**2).sum(dim=1)) + x[:, 0])[:, None]


class PoissonMesh(Problem):
    """On a 2-D domain read from a mesh file (default: the shipped plate [0, 2] x [0, 1] with a
    hole, made by scripts/make_mesh.py), exact u = sin(pi x / 2) e^y, f = (pi^2/4 - 1) u,
    u = exact on every boundary facet. Errors are measured at the mesh vertices."""

    inputs, outputs = ("x", "y"), ("u",)

    def __init__(self, mesh: str | None = None, weights: Mapping[str, float] | None = None):
        super().__init__(weights)
        path = mesh or str(resources.files("kanpde.problems") / "data" / "plate_with_hole.msh")
        self.domain = MeshDomain(path)
        self.conditions = [Dirichlet("boundary", value=lambda x: self.exact(x)[:, 0])]

    def residual(self, x: Tensor, u: Tensor, d: Derivatives) -> Tensor:
        return -d.laplacian("u") - (PI**2 / 4 - 1) * self.exact(x)[:, 0]

    def exact(self, x: Tensor) -> Tensor:
        return (torch.sin(PI * x[:, 0] / 2) * torch.exp(x[:, 1]))[:, None]


class Poisson3D(Problem):
    """In the unit cube, exact u = sin(pi x) sin(pi y) sin(pi z), f = 3 pi^2 u, u = 0 on the
    boundary; tested on a 41^3 grid."""

    inputs, outputs = ("x", "y", "z"), ("u",)
    test_points_per_axis = 41

    def __init__(self, weights: Mapping[str, float] | None = None):
        super().__init__(weights)
        self.domain = Box([0.0, 0.0, 0.0], [1.0, 1.0, 1.0])
        self.conditions = [Dirichlet("boundary", value=0.0)]

    def residual(self, x: Tensor, u: Tensor, d: Derivatives) -> Tensor:
        return -d.laplacian("u") - 3 * PI**2 * self.exact(x)[:, 0]

    def exact(self, x: Tensor) -> Tensor:
        return torch.sin(PI * x).prod(dim=1, keepdim=True)
