"""Nonlinear Klein-Gordon equation (DeepXDE's example): x in [-1, 1], t in [0, 10]."""
from __future__ import annotations

from typing import Mapping

import torch
from torch import Tensor

from kanpde.geometry import Interval, SpaceTime
from kanpde.pde import HardConstraint, Derivatives, Dirichlet, Initial, InitialRate, Problem


class KleinGordon(Problem):
    """u_tt + alpha u_xx + beta u + gamma u^k = -x cos t + x^2 cos^2 t with alpha = -1, beta = 0,
    gamma = 1, k = 2; u(0, x) = x, u_t(0, x) = 0, u(t, -1) = -cos t, u(t, 1) = cos t; exact
    u = x cos t. ``constraints``: "soft" (loss terms) or "hard" (u = x cos t + (1 - x^2)
    (t / t_end)^2 N meets the boundary and both initial conditions exactly)."""

    inputs, outputs = ("x", "t"), ("u",)

    def __init__(self, alpha: float = -1.0, beta: float = 0.0, gamma: float = 1.0, k: int = 2,
                 t_end: float = 10.0, constraints: str = "soft", weights: Mapping[str, float] | None = None):
        super().__init__(weights)
        self.alpha, self.beta, self.gamma, self.k, self.t_end = alpha, beta, gamma, k, t_end
        self.domain = SpaceTime(Interval(-1.0, 1.0), 0.0, t_end)
        self.conditions = [
            Dirichlet("boundary", value=lambda x: self.exact(x)[:, 0]),
            Initial("initial", value=lambda x: x[:, 0]),
            InitialRate("initial_rate", value=0.0),
        ]
        self.hard_constraint = HardConstraint.chosen(constraints, self.output_transform,
                                                     replaces=("boundary", "initial", "initial_rate"))

    def output_transform(self, x: Tensor) -> tuple[Tensor, Tensor]:
        s, t = x[:, :1], x[:, 1:2]
        return s * torch.cos(t), (1 - s * s) * (t / self.t_end) ** 2

    def source(self, x: Tensor) -> Tensor:
        """f(x, t) = -x cos t + x^2 cos^2 t (the right-hand side that makes x cos t exact): (N,)."""
        s, c = x[:, 0], torch.cos(x[:, 1])
        return -s * c + (s * c) ** 2

    def residual(self, x: Tensor, u: Tensor, d: Derivatives) -> Tensor:
        v = u[:, 0]
        return (d("u", "t", "t") + self.alpha * d("u", "x", "x") + self.beta * v + self.gamma * v**self.k
                - self.source(x))

    def exact(self, x: Tensor) -> Tensor:
        return (x[:, 0] * torch.cos(x[:, 1]))[:, None]
