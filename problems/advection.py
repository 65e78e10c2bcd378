"""Linear advection u_t + c u_x = 0, x in [0, 2 pi] periodic, t in [0, 1], u(0, x) = sin x."""
from __future__ import annotations

import math
from typing import Mapping

import torch
from torch import Tensor

from kanpde.errors import ConfigError
from kanpde.geometry import Interval, SpaceTime
from kanpde.pde import HardConstraint, Derivatives, Initial, Periodic, Problem


class Advection1D(Problem):
    """Exact u = sin(x - c t). ``periodic``: "embedding" makes the network exactly 2 pi-periodic
    in x (a (cos, sin) input embedding); "soft" adds a loss term u(t, 0) = u(t, 2 pi).
    ``constraints``: "soft" (an initial loss term) or "hard" (u = sin x + t N)."""

    inputs, outputs = ("x", "t"), ("u",)
    max_order = 1

    def __init__(self, c: float = 20.0, periodic: str = "embedding", constraints: str = "soft",
                 weights: Mapping[str, float] | None = None):
        super().__init__(weights)
        self.c = c
        self.domain = SpaceTime(Interval(0.0, 2 * math.pi), 0.0, 1.0)
        self.conditions = [Initial("initial", value=lambda x: torch.sin(x[:, 0]))]
        # the initial condition only: periodicity is the embedding's or a loss term's
        self.hard_constraint = HardConstraint.chosen(constraints, self.output_transform, replaces=("initial",))
        if periodic == "embedding":
            self.periodic_inputs = {"x": 2 * math.pi}
        elif periodic == "soft":
            self.conditions.append(Periodic("periodic", axis="x", order=0))
        else:
            raise ConfigError("problem.periodic", f"must be embedding or soft, got {periodic!r}")

    def output_transform(self, x: Tensor) -> tuple[Tensor, Tensor]:
        return torch.sin(x[:, :1]), x[:, 1:2]

    def residual(self, x: Tensor, u: Tensor, d: Derivatives) -> Tensor:
        return d("u", "t") + self.c * d("u", "x")

    def exact(self, x: Tensor) -> Tensor:
        return torch.sin(x[:, :1] - self.c * x[:, 1:2])
