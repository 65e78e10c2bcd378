"""Named residuals of a problem for a network: the PDE's at interior points, each condition's on its
own points; a loss term is the mean square of one of them.

    terms["pde"] = mean_i r(x_i)^2,   terms[c.name] = mean_j r_c(x_j)^2

Partial derivatives come from the derivative engine named ``engine`` (pde/derivatives.py).
"""
from __future__ import annotations

from typing import Mapping

import numpy as np
import torch
from torch import Tensor

from ..errors import KanpdeError
from .derivatives import derivatives
from .problem import Problem, condition_data


def pde_residuals(problem: Problem, net: torch.nn.Module, x: Tensor, engine: str = "auto") -> dict[str, Tensor]:
    """The PDE residuals at interior points x (N, n_in): {"pde": (N,)}, or one entry per equation of a
    system (``residual_names``)."""
    d = derivatives(engine, net, x, problem.inputs, problem.outputs, problem.max_order)
    r = problem.residual(d.x, d.u, d)
    return r if isinstance(r, dict) else {"pde": r}


def pointwise_residuals(problem: Problem, net: torch.nn.Module, points: Mapping[str, Tensor],
                        engine: str = "auto") -> dict[str, Tensor]:
    """Every residual of ``problem`` at its points: {name: (N,) or (N, k)}. ``points``: the
    collocation points of training/collocation.py ("pde", each soft condition's name, and the
    conditions' per-point data as "name/key")."""
    residuals = pde_residuals(problem, net, points["pde"], engine)
    for c in problem.soft_conditions:
        d = derivatives(engine, net, points[c.name], problem.inputs, problem.outputs, c.order)
        residuals[c.name] = c.residual(d.x, d, condition_data(points, c.name))
    return residuals


def check_shapes(problem: Problem, residuals: Mapping[str, Tensor], points: Mapping[str, Tensor]) -> None:
    """One-line errors for residuals whose shape does not follow their points: a PDE residual must be
    (N,) or (N, k) with k < N at N interior points; a condition's at most 2 n n_outputs values at
    its n points. Catches the broadcasting slip of a column x[:, :1] against a row x[:, 0] (N, N)
    and a residual reduced to a scalar."""
    conditions = {c.name for c in problem.soft_conditions}
    owner = type(problem).__name__
    for name, r in residuals.items():
        n = len(points[name if name in conditions else "pde"])
        if name in conditions:
            ok = r.dim() in (1, 2) and 0 < r.numel() <= 2 * n * max(len(problem.outputs), 1)
            where, expected = f"{owner}: condition {name!r}", f"about ({n},)"
        else:
            ok = r.dim() in (1, 2) and r.shape[0] == n and (r.dim() == 1 or r.shape[1] < n)
            where, expected = f"{owner}.residual" + (f" [{name!r}]" if name != "pde" else ""), f"({n},) or ({n}, k)"
        if not ok:
            raise KanpdeError(f"{where} returned shape {tuple(r.shape)} at {n} points, expected {expected} "
                              "(a column x[:, :1] against a row x[:, 0] broadcasts to (N, N))")


def mean_square_terms(problem: Problem, net: torch.nn.Module, points: Mapping[str, Tensor],
                      engine: str = "auto") -> dict[str, Tensor]:
    """Every loss term of ``problem``, the mean square of its residual: {name: scalar}."""
    return {name: (r**2).mean() for name, r in pointwise_residuals(problem, net, points, engine).items()}


def residual_norms(problem: Problem, net: torch.nn.Module, x: Tensor, engine: str = "auto",
                   batch: int = 8192) -> np.ndarray:
    """|r(x)| at the points x (M, n_in), the root sum of squares over a system's residuals: (M,)."""
    out = []
    for chunk in x.split(batch):
        parts = pde_residuals(problem, net, chunk, engine).values()
        out.append(torch.sqrt(sum(p.detach() ** 2 for p in parts)).cpu().numpy())
    return np.concatenate(out)


__all__ = ["check_shapes", "mean_square_terms", "pde_residuals", "pointwise_residuals", "residual_norms"]
