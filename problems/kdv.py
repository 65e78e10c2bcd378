"""Korteweg-de Vries (the jaxpi benchmark, after Zabusky & Kruskal 1965):

    u_t + eta u u_x + mu^2 u_xxx = 0,  eta = 1, mu = 0.022,  x in [-1, 1] periodic, t in [0, 1],
    u(0, x) = cos(pi x).

The cosine steepens and breaks into a train of solitons by t = 1. No closed form: the reference is
Fourier pseudo-spectral with ETDRK4 (kanpde.references.kdv, converged to 1e-9).
"""
from __future__ import annotations

import math
from typing import Mapping

import numpy as np
import torch
from torch import Tensor

from kanpde.geometry import Interval, SpaceTime
from kanpde.pde import HardConstraint, Derivatives, Initial, Problem, TestSet
from kanpde.references.kdv import ETA, MU, kdv


def _initial(x: Tensor) -> Tensor:
    return torch.cos(math.pi * x[:, 0])


class KdV(Problem):
    """u_t + u u_x + 0.022^2 u_xxx = 0, periodic in x through a (cos, sin) input embedding;
    ``constraints``: "soft" (an initial loss term) or "hard" (u = cos(pi x) + t N)."""

    inputs, outputs = ("x", "t"), ("u",)
    max_order = 3

    def __init__(self, constraints: str = "soft", weights: Mapping[str, float] | None = None):
        super().__init__(weights)
        self.domain = SpaceTime(Interval(-1.0, 1.0), 0.0, 1.0)
        self.conditions = [Initial("initial", value=_initial)]
        self.periodic_inputs = {"x": 2.0}
        self.hard_constraint = HardConstraint.chosen(constraints, self.output_transform, replaces=("initial",))

    def output_transform(self, x: Tensor) -> tuple[Tensor, Tensor]:
        return _initial(x)[:, None], x[:, 1:2]

    def residual(self, x: Tensor, u: Tensor, d: Derivatives) -> Tensor:
        return d("u", "t") + ETA * u[:, 0] * d("u", "x") + MU**2 * d("u", "x", "x", "x")

    def test_set(self) -> TestSet:
        xs, ts, u = kdv(nx=256, nt=101)
        points = np.stack(np.meshgrid(xs, ts, indexing="ij"), axis=-1).reshape(-1, 2)
        return TestSet(points, u.T.reshape(-1, 1), (len(xs), len(ts)))
