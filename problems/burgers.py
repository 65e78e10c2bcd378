"""Viscous Burgers u_t + u u_x = nu u_xx on x in [-1, 1], t in [0, 1] (Raissi et al. 2019)."""
from __future__ import annotations

import math
from typing import Mapping

import numpy as np
import torch
from torch import Tensor

from kanpde.geometry import Interval, SpaceTime
from kanpde.pde import HardConstraint, Derivatives, Dirichlet, Initial, Problem, TestSet
from kanpde.references import burgers_reference_grid


class Burgers1D(Problem):
    """nu = 0.01 / pi, u(0, x) = -sin(pi x), u(t, +-1) = 0. A shock forms at x = 0 near
    t = 1/pi. Reference: the Cole-Hopf integrals by quadrature (kanpde.references.cole_hopf,
    <= 1e-8) on a 256 x 101 (x, t) grid. ``constraints``: "soft" (loss terms) or "hard" (exactly,
    through u = -sin(pi x) + (1 - x^2) t N(x, t))."""

    inputs, outputs = ("x", "t"), ("u",)

    def __init__(self, nu: float = 0.01 / math.pi, constraints: str = "soft", weights: Mapping[str, float] | None = None):
        super().__init__(weights)
        self.nu = nu
        self.domain = SpaceTime(Interval(-1.0, 1.0), 0.0, 1.0)
        self.conditions = [Dirichlet("boundary", value=0.0),
                           Initial("initial", value=lambda x: -torch.sin(math.pi * x[:, 0]))]
        self.hard_constraint = HardConstraint.chosen(constraints, self.output_transform,
                                                     replaces=("boundary", "initial"))

    def output_transform(self, x: Tensor) -> tuple[Tensor, Tensor]:
        s, t = x[:, :1], x[:, 1:]
        return -torch.sin(math.pi * s), (1 - s * s) * t

    def residual(self, x: Tensor, u: Tensor, d: Derivatives) -> Tensor:
        return d("u", "t") + u[:, 0] * d("u", "x") - self.nu * d("u", "x", "x")

    def test_set(self) -> TestSet:
        xs, ts, u = burgers_reference_grid(256, 101, self.nu)
        points = np.stack(np.meshgrid(xs, ts, indexing="ij"), axis=-1).reshape(-1, 2)
        return TestSet(points, u.T.reshape(-1, 1), (len(xs), len(ts)))
