"""Wave equation u_tt = 4 u_xx on x, t in [0, 1] (the PINN benchmark with two modes)."""
from __future__ import annotations

import math
from typing import Mapping

import torch
from torch import Tensor

from kanpde.geometry import Interval, SpaceTime
from kanpde.pde import HardConstraint, Derivatives, Dirichlet, Initial, InitialRate, Problem

PI = math.pi


class Wave1D(Problem):
    """u_tt = c^2 u_xx with c = 2, u(t, 0) = u(t, 1) = 0, u(0, x) = sin(pi x) + sin(4 pi x) / 2,
    u_t(0, x) = 0; exact u = sin(pi x) cos(2 pi t) + sin(4 pi x) cos(8 pi t) / 2. ``constraints``:
    "soft" (loss terms) or "hard" (u = u(0, x) + x (1 - x) t^2 N meets all three exactly)."""

    inputs, outputs = ("x", "t"), ("u",)

    def __init__(self, constraints: str = "soft", weights: Mapping[str, float] | None = None):
        super().__init__(weights)
        self.c = 2.0
        self.domain = SpaceTime(Interval(0.0, 1.0), 0.0, 1.0)
        self.conditions = [
            Dirichlet("boundary", value=0.0),
            Initial("initial", value=lambda x: self.exact(x)[:, 0]),
            InitialRate("initial_rate", value=0.0),
        ]
        self.hard_constraint = HardConstraint.chosen(constraints, self.output_transform,
                                                     replaces=("boundary", "initial", "initial_rate"))

    def output_transform(self, x: Tensor) -> tuple[Tensor, Tensor]:
        s, t = x[:, :1], x[:, 1:2]
        return torch.sin(PI * s) + 0.5 * torch.sin(4 * PI * s), s * (1 - s) * t * t

    def residual(self, x: Tensor, u: Tensor, d: Derivatives) -> Tensor:
        return d("u", "t", "t") - self.c**2 * d("u", "x", "x")

    def exact(self, x: Tensor) -> Tensor:
        s, t = x[:, 0], x[:, 1]
        return (torch.sin(PI * s) * torch.cos(2 * PI * t) + 0.5 * torch.sin(4 * PI * s) * torch.cos(8 * PI * t))[:, None]
