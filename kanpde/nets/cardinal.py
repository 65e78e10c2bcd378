"""B-splines on uniform knots, from their polynomial pieces (the fast path of the B-spline basis).

On knots t_j = t_0 + j h, a point x lies in interval j = floor(u), u = (x - t_0) / h, at local
coordinate s = u - j in [0, 1), and only the k + 1 splines B_{j-k}, ..., B_j are nonzero there:
B_{j-k+q}(x) = N_k(s + k - q), with N_k the cardinal B-spline of degree k on 0, 1, ..., k+1. Each
of those is a fixed polynomial in s, so every value and derivative is one small matmul of the powers
of s with precomputed coefficients, scattered into the dense (n_basis) layout. Not differentiated
by autograd (floor and scatter): BasisJet supplies the backward in closed form.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch
from scipy.interpolate import BSpline as ScipyBSpline
from torch import Tensor

_PIECES: dict[tuple, Tensor] = {}


@torch.compiler.assume_constant_result  # under torch.compile: called while tracing, its result a constant
def piece_tensor(k: int, order: int, dtype: torch.dtype, device: torch.device) -> Tensor:
    """``piece_coefficients`` as a tensor, made once per dtype and device."""
    key = (k, order, dtype, device)
    if key not in _PIECES:
        _PIECES[key] = torch.as_tensor(piece_coefficients(k, order), dtype=dtype, device=device)
    return _PIECES[key]


@lru_cache(maxsize=None)
def piece_coefficients(k: int, order: int) -> np.ndarray:
    """(order + 1, k + 1, k + 1) array C with d^r/ds^r N_k(s + k - q) = sum_p C[r, p, q] s^p."""
    cardinal = ScipyBSpline.basis_element(np.arange(k + 2), extrapolate=False)
    s = (np.arange(k + 1) + 0.5) / (k + 1)
    vander = np.vander(s, k + 1, increasing=True)  # (samples, powers)
    coefficients = np.zeros((order + 1, k + 1, k + 1))
    for r in range(order + 1):
        f = cardinal.derivative(r) if 0 < r <= k else cardinal
        for q in range(k + 1):
            values = f(s + k - q) if r <= k else np.zeros_like(s)
            coefficients[r, :, q] = np.linalg.solve(vander, values)
    return coefficients


def is_uniform(knots: Tensor) -> bool:
    """Whether every input's knots are equally spaced (to 1e-5 relative)."""
    h = knots[:, 1:] - knots[:, :-1]
    return bool(torch.allclose(h, h[:, :1].expand_as(h), rtol=1e-5, atol=0.0))


def uniform_derivatives(x: Tensor, knots: Tensor, k: int, order: int) -> Tensor:
    """Values and derivatives up to ``order`` of the n_basis = M - k - 1 B-splines of degree k on
    uniform knots (n_in, M), at x (N, n_in): (order + 1, N, n_in, n_basis)."""
    n_spans = knots.shape[1] - 1
    inv_h = 1.0 / (knots[:, 1] - knots[:, 0])  # (n_in,)
    u = (x - knots[:, 0]) * inv_h
    j = torch.floor(u).nan_to_num_(nan=0.0).clamp_(0, n_spans - 1)  # a NaN input gives NaN values, not a bad index
    s = u - j
    inside = ((u >= 0) & (u < n_spans)).to(x.dtype)
    powers = torch.stack([s**p for p in range(k + 1)], dim=-1)  # (N, n_in, k+1)
    c = piece_tensor(k, order, x.dtype, x.device)
    local = torch.einsum("nip,rpq->rniq", powers, c)  # (R, N, n_in, k+1)
    scale = inv_h[None, :] ** torch.arange(order + 1, device=x.device, dtype=x.dtype)[:, None]  # (R, n_in)
    local = local * (scale[:, None, :, None] * inside[None, ..., None])
    index = (j.long()[..., None] + torch.arange(k + 1, device=x.device)).expand(order + 1, *j.shape, k + 1)
    dense = x.new_zeros(order + 1, *x.shape, n_spans + k + 1)
    dense.scatter_(-1, index, local)
    return dense[..., k : n_spans]  # padded index j + q is basis j - k + q
