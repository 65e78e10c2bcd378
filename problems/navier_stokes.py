"""The steady incompressible Navier-Stokes residuals in 2-D, shared by the problems with fields (u, v, p)."""
from __future__ import annotations

from torch import Tensor

from kanpde.pde import Derivatives

RESIDUALS = ("momentum_x", "momentum_y", "continuity")


def steady_navier_stokes(u: Tensor, d: Derivatives, reynolds: float) -> dict[str, Tensor]:
    """u.grad u + grad p - lap u / Re (two components) and div u, each (N,), for outputs u (N, 3)
    ordered (u, v, p) over inputs (x, y)."""
    vx, vy = u[:, 0], u[:, 1]
    return {
        "momentum_x": vx * d("u", "x") + vy * d("u", "y") + d("p", "x") - d.laplacian("u") / reynolds,
        "momentum_y": vx * d("v", "x") + vy * d("v", "y") + d("p", "y") - d.laplacian("v") / reynolds,
        "continuity": d("u", "x") + d("v", "y"),
    }
