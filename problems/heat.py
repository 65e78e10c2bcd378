"""Heat equation u_t = kappa u_xx + f on x, t in [0, 1], exact e^{-t} sin(pi x); and its inverse
problem, recovering kappa from sparse noisy observations."""
from __future__ import annotations

import math
from typing import Mapping

import numpy as np
import torch
from torch import Tensor

from kanpde.geometry import Interval, SpaceTime
from kanpde.geometry.sampling import sample_unit_cube
from kanpde.pde import HardConstraint, Derivatives, Dirichlet, Initial, PointData, Problem

PI = math.pi


class Heat1D(Problem):
    """u_t = u_xx + e^{-t} (pi^2 - 1) sin(pi x), u(t, 0) = u(t, 1) = 0, u(0, x) = sin(pi x);
    exact u = e^{-t} sin(pi x). ``constraints``: "soft" (loss terms) or "hard" (exactly, through
    u = sin(pi x) + x (1 - x) t N(x, t))."""

    inputs, outputs = ("x", "t"), ("u",)

    def __init__(self, constraints: str = "soft", weights: Mapping[str, float] | None = None):
        super().__init__(weights)
        self.domain = SpaceTime(Interval(0.0, 1.0), 0.0, 1.0)
        self.conditions = [Dirichlet("boundary", value=0.0), Initial("initial", value=lambda x: torch.sin(PI * x[:, 0]))]
        self.hard_constraint = HardConstraint.chosen(constraints, self.output_transform,
                                                     replaces=("boundary", "initial"))

    def output_transform(self, x: Tensor) -> tuple[Tensor, Tensor]:
        s, t = x[:, :1], x[:, 1:]
        return torch.sin(PI * s), s * (1 - s) * t

    def source(self, x: Tensor) -> Tensor:
        """f = e^{-t} (pi^2 - 1) sin(pi x): (N,)."""
        return torch.exp(-x[:, 1]) * (PI**2 - 1) * torch.sin(PI * x[:, 0])

    def diffusivity(self) -> Tensor | float:
        return 1.0

    def residual(self, x: Tensor, u: Tensor, d: Derivatives) -> Tensor:
        return d("u", "t") - self.diffusivity() * d("u", "x", "x") - self.source(x)

    def exact(self, x: Tensor) -> Tensor:
        return (torch.exp(-x[:, 1]) * torch.sin(PI * x[:, 0]))[:, None]


class Heat1DInverse(Heat1D):
    """Heat1D with the diffusivity kappa unknown (true value 1, first guess ``kappa_guess``),
    recovered from ``n_observations`` scattered observations of u with Gaussian noise of standard
    deviation ``noise`` (relative to max |u| = 1), drawn once from ``data_seed``."""

    def __init__(self, kappa_guess: float = 0.5, n_observations: int = 64, noise: float = 0.01, data_seed: int = 1234,
                 constraints: str = "soft", weights: Mapping[str, float] | None = None):
        super().__init__(constraints, weights)
        self.add_unknown("kappa", kappa_guess, true=1.0)
        points = sample_unit_cube(n_observations, 2, "sobol", data_seed)  # [0, 1]^2 is the (x, t) domain
        with torch.no_grad():
            clean = self.exact(torch.as_tensor(points))[:, 0].numpy()
        values = clean + noise * np.random.default_rng(data_seed).standard_normal(n_observations)
        data = PointData("data", points, values)
        data.tolerance = 6 * noise  # the reference misses noisy data by the noise, not by round-off
        self.conditions = [*self.conditions, data]

    def diffusivity(self) -> Tensor:
        return self.unknown("kappa")
