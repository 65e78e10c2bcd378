"""Lid-driven cavity: steady incompressible Navier-Stokes in the unit square, fields (u, v, p).

No closed form: the run is scored against the centreline velocities of Ghia, Ghia & Shin (1982),
shipped in data/ghia1982/ for Re = 100, 400 and 1000; the whole field is drawn against a fine
finite-difference solution at Re = 100 (data/lid_cavity_re100.npz, from
``python -m kanpde.references.lid_cavity``).

The lid's velocity jumps from 1 to 0 at its two corners, where the pressure grows like 1/r: a
smooth network cannot follow, and its residuals there spoil the whole field. As spectral methods
do (Botella & Peyret 1998), ``corners="subtract"`` writes the solution as Taylor's Stokes flow in
each lid corner (exact, singular) plus the network, which then only carries a smoother remainder.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Mapping

import numpy as np
import torch
from torch import Tensor

from kanpde.errors import ConfigError
from kanpde.geometry import Box
from kanpde.pde.reference import read_reference
from kanpde.pde import HardConstraint, Derivatives, Dirichlet, PointData, Problem, TestSet, line_set

from .navier_stokes import RESIDUALS, steady_navier_stokes

DATA = Path(__file__).resolve().parent / "data"
GHIA_RE = (100, 400, 1000)  # the Reynolds numbers of the shipped Ghia tables
FIELD_REFERENCE = {100: DATA / "lid_cavity_re100.npz"}
# Taylor's corner flow psi = r f(theta), f = A sin + C theta sin + D theta cos, for a wall theta = 0
# sliding at speed 1 away from the corner and a fixed wall theta = pi/2: f(0) = f(pi/2) = f'(pi/2) = 0, f'(0) = 1.
_D = 4 / (4 - math.pi**2)
_C, _A = math.pi / 2 * _D, -math.pi**2 / 4 * _D


def corner_flow(X: Tensor, Y: Tensor, speed: float, nu: float) -> tuple[Tensor, Tensor, Tensor]:
    """Stokes flow in the quarter plane X, Y > 0 (local frame) whose wall Y = 0 slides at ``speed``
    along X and whose wall X = 0 is fixed: (U_X, U_Y, p), each (N,); nu lap U = grad p, div U = 0
    exactly, with p = nu (2 D cos + 2 C sin) / r singular at the corner."""
    r = torch.clamp(torch.hypot(X, Y), min=1e-12)
    theta = torch.atan2(Y, X)
    s, c = torch.sin(theta), torch.cos(theta)
    f = speed * (_A * s + _C * theta * s + _D * theta * c)
    df = speed * (_A * c + _C * (s + theta * c) + _D * (c - theta * s))  # f'(theta): u_r = f', u_theta = -f
    return df * c + f * s, df * s - f * c, speed * nu * (2 * _D * c + 2 * _C * s) / r


class LidCavity(Problem):
    """u.grad u + grad p - lap u / Re = 0, div u = 0 on [0, 1]^2; the lid y = 1 moves at u = 1
    (corners included, as in Ghia et al.), u = v = 0 on the other walls, p(0, 0) = 0 fixes the
    pressure's constant. Test sets: ``field`` (101 x 101 points but the two lid corners, the
    finite-difference reference at Re = 100, drawn, not scored), ``ghia_u`` (u on x = 0.5) and ``ghia_v`` (v on y = 0.5),
    scored at Ghia's 17 points each and drawn on 201, and ``fd_u``, ``fd_v``: those lines in the
    finite-difference reference (101 points each, not scored). ``corners``: "subtract" (u = the
    two corner flows + network, module docstring) or "none" (the network alone)."""

    inputs, outputs = ("x", "y"), ("u", "v", "p")
    residual_names = RESIDUALS

    def __init__(self, Re: float = 100.0, corners: str = "subtract", weights: Mapping[str, float] | None = None):
        super().__init__(weights)
        if corners not in ("subtract", "none"):
            raise ConfigError("problem.corners", f"must be subtract or none, got {corners!r}")
        self.Re = float(Re)
        # an output transform with phi = 1: the conditions stay loss terms
        self.hard_constraint = HardConstraint(self.output_transform) if corners == "subtract" else None
        self.domain = Box([0.0, 0.0], [1.0, 1.0])
        self.conditions = [
            Dirichlet("walls_u", value=self.lid_velocity, field="u"),
            Dirichlet("walls_v", value=0.0, field="v"),
            PointData("pressure_gauge", points=np.zeros((1, 2)), values=np.zeros(1), field="p"),
        ]

    @staticmethod
    def lid_velocity(x: Tensor) -> Tensor:
        """u on the walls: 1 on the lid y = 1, 0 elsewhere: (N, 2) -> (N,)."""
        return (x[:, 1] >= 1.0).to(x.dtype)

    def output_transform(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """g = the corner flows at (0, 1) and (1, 1) in the global frame, phi = 1: (N, 3) each."""
        Y = 1 - x[:, 1]  # local frames: X along the lid away from the corner, Y down the side wall
        u_left, v_left, p_left = corner_flow(x[:, 0], Y, 1.0, 1 / self.Re)
        u_right, v_right, p_right = corner_flow(1 - x[:, 0], Y, -1.0, 1 / self.Re)  # the lid moves towards it
        g = torch.stack([u_left - u_right, -v_left - v_right, p_left + p_right], dim=1)
        return g, torch.ones_like(g)

    def residual(self, x: Tensor, u: Tensor, d: Derivatives) -> dict[str, Tensor]:
        return steady_navier_stokes(u, d, self.Re)

    def test_sets(self) -> dict[str, TestSet]:
        """``field``: the finite-difference reference at Re = 100 (else no reference); ``ghia_u``,
        ``ghia_v``: Ghia's centrelines (no reference at a Re not in the tables); at Re = 100 also
        ``fd_u``, ``fd_v``: the same lines from the finite-difference reference."""
        re = int(self.Re) if self.Re == int(self.Re) else None
        if re in FIELD_REFERENCE:
            points, values, _ = read_reference(FIELD_REFERENCE[re], self.inputs, self.outputs)
            inside = ~np.all(points[:, None] == [[0.0, 1.0], [1.0, 1.0]], axis=2).any(axis=1)  # p is infinite at the lid corners
            field = TestSet(points[inside], values[inside], scored=False)
        else:
            points, shape = self.domain.test_points(101)
            field = TestSet(points, np.full((len(points), 3), np.nan), shape, scored=False)
        sets = {"field": field}
        lines = (("u", 0, (0.5, 0.0), (0.5, 1.0)), ("v", 1, (0.0, 0.5), (1.0, 0.5)))
        for name, index, start, end in lines:
            data = None
            if re in GHIA_RE:
                x, values, _ = read_reference(DATA / "ghia1982" / f"re{re}_{name}.csv", self.inputs, self.outputs)
                data = {index: (x, values[:, index])}
            sets[f"ghia_{name}"] = line_set(start, end, 201, len(self.outputs), data)
        if re in FIELD_REFERENCE:
            for name, index, _, _ in lines:
                on = field.points[:, index] == 0.5  # x = 0.5 for u, y = 0.5 for v
                values = np.full((int(on.sum()), 3), np.nan)
                values[:, index] = field.values[on, index]
                sets[f"fd_{name}"] = TestSet(field.points[on], values, scored=False)
        return sets

    def test_set(self) -> TestSet:
        """The scored centrelines together (what ``rel_l2`` measures)."""
        return TestSet.score(self.test_sets(), len(self.inputs), len(self.outputs))


__all__ = ["LidCavity"]
