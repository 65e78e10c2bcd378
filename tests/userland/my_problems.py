"""A problem that lives outside kanpde, as a user would write it: -u'' = pi^2 sin(pi x) on [0, 1]."""
import math

import torch
from kanpde.geometry import Interval
from kanpde.pde import Dirichlet, Problem


class Poisson1D(Problem):
    inputs, outputs = ("x",), ("u",)

    def __init__(self, frequency: float = 1.0, ends: str = "boundary", field: str = "u", weights=None):
        super().__init__(weights)
        self.k = frequency * math.pi
        self.domain = Interval(0.0, 1.0)
        self.conditions = [Dirichlet("ends", value=lambda x: torch.sin(self.k * x[:, 0]), field=field, on=ends)]

    def residual(self, x, u, d):
        return -d("u", "x", "x") - self.k**2 * torch.sin(self.k * x[:, 0])

    def exact(self, x):
        return torch.sin(self.k * x[:, :1])


class Source1D(Problem):
    """-u'' = 1 on [0, 1], u = 0 at the ends, given without its solution (a problem with no reference)."""

    inputs, outputs = ("x",), ("u",)

    def __init__(self, weights=None):
        super().__init__(weights)
        self.domain = Interval(0.0, 1.0)
        self.conditions = [Dirichlet("ends", value=0.0)]

    def residual(self, x, u, d):
        return d("u", "x", "x") + 1.0
