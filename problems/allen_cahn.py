"""Allen-Cahn reaction-diffusion on x in [-1, 1], t in [0, 1], u(0, x) = x^2 cos(pi x), in its two
benchmark variants, which differ in equation and boundary condition (never compare them):

- ``allen_cahn`` (Raissi 2019 / jaxpi):      u_t = 1e-4 u_xx - 5 u^3 + 5 u, periodic in x;
- ``allen_cahn_dirichlet`` (DeepXDE / jaxKAN): u_t = 1e-3 u_xx + 5 (u - u^3), u(t, +-1) = -1.

References: Fourier spectral + ETDRK4 and sine series + ETDRK4 (kanpde.references.allen_cahn).
"""
from __future__ import annotations

import math
from typing import Callable, Mapping

import numpy as np
import torch
from torch import Tensor

from kanpde.errors import ConfigError
from kanpde.geometry import Interval, SpaceTime
from kanpde.pde import HardConstraint, Derivatives, Dirichlet, Initial, Periodic, Problem, TestSet
from kanpde.references import allen_cahn_dirichlet, allen_cahn_periodic


def _initial(x: Tensor) -> Tensor:
    return x[:, 0] ** 2 * torch.cos(math.pi * x[:, 0])


def _grid_test_set(solver: Callable[..., tuple[np.ndarray, np.ndarray, np.ndarray]], **size: int) -> TestSet:
    """The reference (x, t, u (nt, nx)) as a C-order (x, t) grid; t = 0 is the exact u0."""
    xs, ts, u = solver(**size)
    u = np.array(u)
    u[0] = xs**2 * np.cos(np.pi * xs)  # a truncated series would blur the periodic extension's corner
    points = np.stack(np.meshgrid(xs, ts, indexing="ij"), axis=-1).reshape(-1, 2)
    return TestSet(points, u.T.reshape(-1, 1), (len(xs), len(ts)))


class AllenCahnPeriodic(Problem):
    """u_t - 1e-4 u_xx + 5 u^3 - 5 u = 0, periodic in x. ``periodic``: "embedding" (exact,
    through a (cos, sin) input embedding) or "soft" (a loss term on u and u_x at x = +-1);
    ``constraints``: "soft" (an initial loss term) or "hard" (u = u0(x) + t N)."""

    inputs, outputs = ("x", "t"), ("u",)

    def __init__(self, periodic: str = "embedding", constraints: str = "soft",
                 weights: Mapping[str, float] | None = None):
        super().__init__(weights)
        self.domain = SpaceTime(Interval(-1.0, 1.0), 0.0, 1.0)
        self.conditions = [Initial("initial", value=_initial)]
        # the initial condition only: periodicity is the embedding's or a loss term's
        self.hard_constraint = HardConstraint.chosen(constraints, self.output_transform, replaces=("initial",))
        if periodic == "embedding":
            self.periodic_inputs = {"x": 2.0}
        elif periodic == "soft":
            self.conditions.append(Periodic("periodic", axis="x", order=1))
        else:
            raise ConfigError("problem.periodic", f"must be embedding or soft, got {periodic!r}")

    def output_transform(self, x: Tensor) -> tuple[Tensor, Tensor]:
        return _initial(x)[:, None], x[:, 1:2]

    def residual(self, x: Tensor, u: Tensor, d: Derivatives) -> Tensor:
        v = u[:, 0]
        return d("u", "t") - 1e-4 * d("u", "x", "x") + 5 * v**3 - 5 * v

    def test_set(self) -> TestSet:
        return _grid_test_set(allen_cahn_periodic, nx=200, nt=101)  # x: 201 points, -1 and 1 included


class AllenCahnDirichlet(Problem):
    """u_t = 1e-3 u_xx + 5 (u - u^3), u(t, +-1) = -1. ``constraints``: "soft" (loss terms) or
    "hard" (u = u0(x) + t (1 - x^2) N, since u0(+-1) = -1)."""

    inputs, outputs = ("x", "t"), ("u",)

    def __init__(self, constraints: str = "soft", weights: Mapping[str, float] | None = None):
        super().__init__(weights)
        self.domain = SpaceTime(Interval(-1.0, 1.0), 0.0, 1.0)
        self.conditions = [Dirichlet("boundary", value=-1.0), Initial("initial", value=_initial)]
        self.hard_constraint = HardConstraint.chosen(constraints, self.output_transform,
                                                     replaces=("boundary", "initial"))

    def output_transform(self, x: Tensor) -> tuple[Tensor, Tensor]:
        return _initial(x)[:, None], x[:, 1:2] * (1 - x[:, :1] ** 2)

    def residual(self, x: Tensor, u: Tensor, d: Derivatives) -> Tensor:
        v = u[:, 0]
        return d("u", "t") - 1e-3 * d("u", "x", "x") - 5 * (v - v**3)

    def test_set(self) -> TestSet:
        return _grid_test_set(allen_cahn_dirichlet, nx=201, nt=101)
