"""One KAN layer on uniform B-spline knots, jet in and jet out, with a hand-written backward.

At a point, input i lies in knot span j and only the k + 1 splines B_{j-k}, ..., B_j are nonzero
there (nets/cardinal.py); their r-th derivatives L_r are polynomials in the local coordinate. The
chain rule (nets/jet.py) gives the compact rows of every jet component c,

    A_0 = L_0,   A_k = L_1 z_k,   A_kl = L_2 z_k z_l + L_1 z_kl          (n_in, k+1, C, N)

which are scattered to the coefficients they multiply and contracted with the edge weights W
(coefficients times edge scales) in one matmul. Backward is written out: dW by the transposed
matmul, and the gradient to the incoming jet through the rows (with dL_r/dz = L_{r+1}). Autograd
would record some forty small ops per layer; this is a dozen large ones.

Layout: features first, points last, (n, C, N), so every elementwise step runs along the points.
Points outside the knots feed a zero "dump" row, so no mask is needed.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable

from .cardinal import piece_tensor


@dataclass(frozen=True)
class SplineTables:
    """Knot arithmetic of one layer's uniform B-splines, made once per knot vector.

    inv_h, neg_shift (n_in, 1): knot coordinates u = z inv_h + neg_shift (knot t_j at u = j); rows
    (n_in (n_spans + 2), k + 1): for input i and span j = -1 .. n_spans (the ends: outside), the
    weight row i n_basis + j - k + q of its k + 1 live splines, or the dump row n_in n_basis;
    pieces ((order + 1)(k + 1), k + 1): d^r/ds^r of spline q = sum_p pieces[r (k+1) + q, p] s^p.
    """

    inv_h: Tensor
    neg_shift: Tensor
    rows: Tensor
    span_offsets: Tensor
    pieces: Tensor
    n_spans: int
    n_basis: int
    k: int

    @classmethod
    def from_knots(cls, knots: Tensor, k: int, order: int = 3) -> "SplineTables":
        n_in, n_knots = knots.shape
        n_spans, n_basis = n_knots - 1, n_knots - k - 1
        inv_h = (1.0 / (knots[:, 1] - knots[:, 0]))[:, None]
        m = torch.arange(-1, n_spans + 1, device=knots.device)[:, None] + torch.arange(-k, 1, device=knots.device)
        flat = m + torch.arange(0, n_in * n_basis, n_basis, device=knots.device)[:, None, None]
        rows = torch.where((m >= 0) & (m < n_basis), flat, n_in * n_basis).reshape(-1, k + 1)
        span_offsets = torch.arange(1, n_in * (n_spans + 2), n_spans + 2, device=knots.device)[:, None]
        pieces = piece_tensor(k, order, knots.dtype, knots.device).transpose(1, 2).reshape(-1, k + 1)
        return cls(inv_h, -knots[:, :1] * inv_h, rows, span_offsets, pieces, n_spans, n_basis, k)


def local_derivatives(u: Tensor, tables: SplineTables, order: int) -> tuple[Tensor, Tensor]:
    """L (n_in, order + 1, k + 1, N): the r-th derivatives in u of the k + 1 splines alive at u
    (n_in, N); index (n_in, k + 1, N): each one's weight row (the dump row outside the knots)."""
    n_in, n = u.shape
    k = tables.k
    j = torch.floor(u)
    s = u - j
    span = j.clamp_(-1, tables.n_spans).long() + tables.span_offsets
    index = tables.rows[span].transpose(1, 2).contiguous()
    powers = [torch.ones_like(s), s]
    while len(powers) <= k:
        powers.append(powers[-1] * s)
    local = tables.pieces[: (order + 1) * (k + 1)] @ torch.stack(powers, dim=1)  # (n_in, R q, N)
    return local.reshape(n_in, order + 1, k + 1, n), index


class SplineLayerJet(torch.autograd.Function):
    """apply(jet (n_in, C, N), weight (n_in, n_basis, n_out), tables, d, pairs) -> jet
    (n_out, C, N). Components: value, d first partials, one second partial per pair."""

    @staticmethod
    def forward(ctx, data: Tensor, weight: Tensor, tables: SplineTables, d: int, pairs: tuple) -> Tensor:
        n_in, c, n = data.shape
        n_out = weight.shape[2]
        order = 2 if pairs else min(d, 1)
        data = data.contiguous()  # points innermost
        u = torch.addcmul(tables.neg_shift, data[:, 0], tables.inv_h)
        part = data[:, 1:] * tables.inv_h[..., None]  # (n_in, C - 1, N): u_k and u_kl
        local, index = local_derivatives(u, tables, order + 1)  # one order more, for the backward
        rows = _rows(part, local, d, pairs)
        w = torch.cat([weight.reshape(-1, n_out), weight.new_zeros(1, n_out)])  # with the dump row
        if n_out == 1:  # gather the weights: a one-column matmul would not pay for the scatter
            picked = w[index, 0][:, :, None]  # (n_in, k+1, 1, N)
            out = (rows * picked).sum((0, 1))[None]
            ctx.save_for_backward(part, local, index, rows, picked, tables.inv_h)
        else:
            dense = _scatter(rows, index, w.shape[0]).reshape(-1, c * n)
            out = (w.T @ dense).reshape(n_out, c, n)
            ctx.save_for_backward(part, local, index, dense, w, tables.inv_h)
        ctx.d, ctx.pairs, ctx.n_rows = d, pairs, w.shape[0]
        return out

    @staticmethod
    @once_differentiable
    def backward(ctx, grad: Tensor):
        part, local, index, rows_or_dense, w, inv_h = ctx.saved_tensors
        d, pairs = ctx.d, ctx.pairs
        grad = grad.contiguous()  # points innermost (it may arrive permuted), so every step below runs along them
        n_in, q, n = index.shape
        n_out, c = grad.shape[:2]
        grad_data = grad_weight = None
        if n_out == 1:  # rows (n_in, k+1, C, N) and the picked weights (n_in, k+1, 1, N)
            if ctx.needs_input_grad[1]:
                per_row = (rows_or_dense * grad).sum(2)  # (n_in, k+1, N)
                flat = torch.bincount(index.reshape(-1), per_row.reshape(-1), minlength=ctx.n_rows)
                grad_weight = flat[:-1].reshape(n_in, -1, 1)
            e = w * grad
        else:  # the scattered rows (n_in n_basis + 1, C N) and the weights with the dump row
            g = grad.reshape(n_out, c * n)
            if ctx.needs_input_grad[1]:
                grad_weight = (rows_or_dense @ g.T)[:-1].reshape(n_in, -1, n_out)
            full = (w @ g).reshape(-1, c, n)
            e = full.gather(0, index.reshape(n_in * q, 1, n).expand(-1, c, -1)).reshape(n_in, q, c, n)
        if ctx.needs_input_grad[0]:
            grad_data = _rows_backward(part, local, e, d, pairs) * inv_h[..., None]
        return grad_data, grad_weight, None, None, None


def _scatter(rows: Tensor, index: Tensor, n_rows: int) -> Tensor:
    """The compact rows (n_in, k+1, C, N) placed at their coefficients: (n_rows, C, N), zeros elsewhere."""
    n_in, q, c, n = rows.shape
    dense = rows.new_zeros(n_rows, c, n)
    return dense.scatter_(0, index.reshape(n_in * q, 1, n).expand(-1, c, -1), rows.reshape(n_in * q, c, n))


def _products(g: Tensor, d: int, pairs: tuple) -> Tensor:
    """u_k u_l for every pair from the first partials g (n_in, d, N): (n_in, P, N)."""
    if pairs == tuple((i, i) for i in range(d)):
        return g * g
    return g[:, [p[0] for p in pairs]] * g[:, [p[1] for p in pairs]]


def _rows(part: Tensor, local: Tensor, d: int, pairs: tuple) -> Tensor:
    """The chain rule on the compact rows: (n_in, k+1, C, N) from the partials (n_in, C - 1, N)
    and L (n_in, R, k+1, N)."""
    n_in, _, q, n = local.shape
    rows = local.new_empty(n_in, q, 1 + part.shape[1], n)
    rows[:, :, 0] = local[:, 0]
    if d:
        torch.mul(part[:, None, :d], local[:, 1, :, None], out=rows[:, :, 1 : 1 + d])
    if pairs:
        second = rows[:, :, 1 + d :]
        torch.mul(_products(part[:, :d], d, pairs)[:, None], local[:, 2, :, None], out=second)
        second.addcmul_(part[:, None, d:], local[:, 1, :, None])
    return rows


def _rows_backward(part: Tensor, local: Tensor, e: Tensor, d: int, pairs: tuple) -> Tensor:
    """Gradient (n_in, C, N) to (u, u_k, u_kl) from the gradient e (n_in, k+1, C, N) of the rows:
    through L_0, L_1, L_2 to u (dL_r/du = L_{r+1}), and to the partials."""
    d_local = e[:, :, 0] * local[:, 1]  # (n_in, k+1, N)
    if not d:
        return d_local.sum(1, keepdim=True)
    tail = (e[:, :, 1:] * local[:, 1, :, None]).sum(1)  # through L_1 u_k and L_1 u_kl: (n_in, C - 1, N)
    d_local += (e[:, :, 1:] * part[:, None]).sum(2) * local[:, 2]
    if pairs:
        g, e2 = part[:, :d], e[:, :, 1 + d :]
        d_local += (e2 * _products(g, d, pairs)[:, None]).sum(2) * local[:, 3]
        t = (e2 * local[:, 2, :, None]).sum(1)  # through L_2 u_k u_l: (n_in, P, N)
        if pairs == tuple((i, i) for i in range(d)):
            tail[:, :d] += 2 * t * g
        else:
            for p, (a, b) in enumerate(pairs):
                tail[:, a] += t[:, p] * g[:, b]
                tail[:, b] += t[:, p] * g[:, a]
    return torch.cat([d_local.sum(1, keepdim=True), tail], dim=1)
