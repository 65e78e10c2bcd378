"""Residual-based adaptive collocation (RAD, Wu et al. 2023): where the PDE residual is large,
put more interior points.

From a pool of candidates x_j, n points are drawn without replacement with probability
p_j ∝ |r(x_j)|^k / mean_j |r|^k + c, so c = 0 chases the residual alone and large c tends to
uniform sampling.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import torch
from torch import Tensor

from .diff import Derivatives
from .problem import Problem


def residual_norms(problem: Problem, derivatives: Callable[[Tensor, int], Derivatives], x: Tensor,
                   batch: int = 8192) -> np.ndarray:
    """|r(x)| at the points x (M, n_in), root sum of squares over a system's residuals: (M,)."""
    out = []
    for chunk in x.split(batch):
        d = derivatives(chunk, problem.max_order)
        r = problem.residual(d.x, d.u, d)
        parts = r.values() if isinstance(r, dict) else [r]
        out.append(torch.sqrt(sum(p.detach() ** 2 for p in parts)).cpu().numpy())
    return np.concatenate(out)


def rad_choice(residual: np.ndarray, n: int, k: float, c: float, seed: int) -> np.ndarray:
    """Indices of n of the pool's points, drawn without replacement with probabilities
    |r|^k / mean |r|^k + c (normalised): (n,)."""
    weight = np.abs(residual) ** k
    mean = weight.mean()
    p = (weight / mean if mean > 0 and np.isfinite(mean) else np.zeros_like(weight)) + c
    p = np.where(np.isfinite(p), p, 0.0) + 1e-300
    return np.random.default_rng(seed).choice(len(residual), size=n, replace=False, p=p / p.sum())
