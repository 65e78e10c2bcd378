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
    (k + 1, n_in (n_spans + 2)): for input i and span j = -1 .. n_spans (the ends: outside), the
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
    def from_knots(cls, knots: Tensor, k: int, order: int = 5) -> "SplineTables":
        n_in, n_knots = knots.shape
        n_spans, n_basis = n_knots - 1, n_knots - k - 1
        inv_h = (1.0 / (knots[:, 1] - knots[:, 0]))[:, None]
        m = torch.arange(-1, n_spans + 1, device=knots.device)[:, None] + torch.arange(-k, 1, device=knots.device)
        flat = m + torch.arange(0, n_in * n_basis, n_basis, device=knots.device)[:, None, None]
        rows = torch.where((m >= 0) & (m < n_basis), flat, n_in * n_basis).reshape(-1, k + 1).T.contiguous()
        span_offsets = torch.arange(1, n_in * (n_spans + 2), n_spans + 2, device=knots.device)[:, None]
        pieces = piece_tensor(k, order, knots.dtype, knots.device).transpose(1, 2).reshape(-1, k + 1)
        return cls(inv_h, -knots[:, :1] * inv_h, rows, span_offsets, pieces, n_spans, n_basis, k)


def local_derivatives(u: Tensor, tables: SplineTables, order: int) -> tuple[Tensor, Tensor]:
    """L (order + 1, k + 1, n_in, N): the r-th derivatives in u of the k + 1 splines alive at u
    (n_in, N); index (k + 1, n_in, N): each one's weight row (the dump row outside the knots)."""
    n_in, n = u.shape
    k = tables.k
    j = torch.floor(u)
    s = u - j
    span = j.nan_to_num_(nan=-1.0).clamp_(-1, tables.n_spans).long() + tables.span_offsets  # NaN: the dump row
    index = tables.rows[:, span]
    powers = [torch.ones_like(s), s]
    while len(powers) <= k:
        powers.append(powers[-1] * s)
    local = tables.pieces[: (order + 1) * (k + 1)] @ torch.stack(powers).reshape(k + 1, -1)  # (R q, n_in N)
    return local.reshape(order + 1, k + 1, n_in, n), index


class SplineLayerJet(torch.autograd.Function):
    """apply(jet (n_in, C, N), weight (n_in, n_basis, n_out), tables, d, pairs) -> jet
    (n_out, C, N). Components: value, d first partials, one second partial per pair.

    Two routes to the same numbers: with one output, the edge functions' own derivatives
    phi_r = sum_q W L_r (R, n_in, N) and the chain rule on them (nothing per basis function and
    component); with several, the compact rows scattered to their coefficients and one matmul.
    """

    @staticmethod
    def forward(ctx, data: Tensor, weight: Tensor, tables: SplineTables, d: int, pairs: tuple) -> Tensor:
        n_in, c, n = data.shape
        n_out = weight.shape[2]
        order = 2 if pairs else min(d, 1)
        data = data.contiguous()  # points innermost
        u = torch.addcmul(tables.neg_shift, data[:, 0], tables.inv_h)
        part = data[:, 1:] * tables.inv_h[..., None]  # (n_in, C - 1, N): u_k and u_kl
        local, index = local_derivatives(u, tables, order + 1)  # one order more, for the backward
        w = torch.nn.functional.pad(weight.reshape(-1, n_out), (0, 0, 0, 1))  # with the (zero) dump row
        if n_out == 1:
            phi = (w[index, 0] * local).sum(1)  # (R, n_in, N)
            out = _edge_chain(phi, part, d, pairs)[None]
            ctx.save_for_backward(part, local, index, phi, tables.inv_h)
        else:
            out, dense = contract(_rows(part, local, d, pairs), index, w)
            ctx.save_for_backward(part, local, index, dense, w, tables.inv_h)
        ctx.d, ctx.pairs, ctx.n_rows = d, pairs, w.shape[0]
        return out

    @staticmethod
    @once_differentiable
    def backward(ctx, grad: Tensor):
        d, pairs = ctx.d, ctx.pairs
        grad = grad.contiguous()  # points innermost (it may arrive permuted), so every step below runs along them
        n_out, c, n = grad.shape
        grad_data = grad_weight = None
        if n_out == 1:
            part, local, index, phi, inv_h = ctx.saved_tensors
            n_in = part.shape[0]
            d_phi, grad_data = _edge_chain_backward(phi, part, grad[0], d, pairs)
            if ctx.needs_input_grad[1]:
                d_picked = (d_phi[:, None] * local[: d_phi.shape[0]]).sum(0)  # (k+1, n_in, N)
                flat = torch.bincount(index.reshape(-1), d_picked.reshape(-1), minlength=ctx.n_rows)
                grad_weight = flat[:-1].reshape(n_in, -1, 1)
        else:
            part, local, index, dense, w, inv_h = ctx.saved_tensors
            n_in = index.shape[1]
            if ctx.needs_input_grad[1]:
                grad_weight = (dense @ grad.reshape(n_out, c * n).T)[:-1].reshape(n_in, -1, n_out)
            if ctx.needs_input_grad[0]:
                grad_data = _rows_backward(part, local, rows_gradient(grad, index, w), d, pairs)
        if ctx.needs_input_grad[0]:
            grad_data = grad_data * inv_h[..., None]
        return grad_data, grad_weight, None, None, None


def unit_chain(phi: Tensor, part: Tensor, d: int, pairs: tuple) -> Tensor:
    """Jets (n, C, N) of unit-wise maps phi_i(u_i) from their derivatives phi (R, n, N) at u and the
    partials of u (n, C - 1, N): value, phi' u_k, phi'' u_k u_l + phi' u_kl."""
    parts = [phi[0][:, None]]
    if d:
        parts.append(phi[1][:, None] * part[:, :d])
    if pairs:
        parts.append(phi[2][:, None] * _products(part[:, :d], d, pairs) + phi[1][:, None] * part[:, d:])
    return torch.cat(parts, dim=1)


def _edge_chain(phi: Tensor, part: Tensor, d: int, pairs: tuple) -> Tensor:
    """Jet (C, N) of sum_i phi_i(u_i): the edge functions' jets summed over the inputs."""
    return unit_chain(phi, part, d, pairs).sum(0)


def _edge_chain_backward(phi: Tensor, part: Tensor, g: Tensor, d: int, pairs: tuple) -> tuple[Tensor, Tensor]:
    """From the output gradient g (C, N): the gradient to the edge derivatives phi_0.. (R', n_in, N)
    and to (u, u_k, u_kl) (n_in, C, N), with d phi_r / du = phi_{r+1}."""
    d_phi = [g[0].expand_as(phi[0])]
    tail = g[None, 1:] * phi[1][:, None]  # through phi' u_k and phi' u_kl: (n_in, C - 1, N)
    if d:
        d_phi.append((g[None, 1:] * part).sum(1))
    if pairs:
        gs = part[:, :d]
        d_phi.append((g[None, 1 + d :] * _products(gs, d, pairs)).sum(1))
        t = g[None, 1 + d :] * phi[2][:, None]  # through phi'' u_k u_l: (n_in, P, N)
        _add_pair_terms(tail, t, gs, d, pairs)
    d_phi = torch.stack(d_phi)
    d_u = (d_phi * phi[1 : d_phi.shape[0] + 1]).sum(0)
    return d_phi, torch.cat([d_u[:, None], tail], dim=1)


def _add_pair_terms(tail: Tensor, t: Tensor, g: Tensor, d: int, pairs: tuple) -> None:
    """tail[:, k] += d(u_k u_l)/du_k t for every pair: the first partials' share of the second."""
    if pairs == tuple((i, i) for i in range(d)):
        tail[:, :d] += 2 * t * g
        return
    for p, (a, b) in enumerate(pairs):
        tail[:, a] += t[:, p] * g[:, b]
        tail[:, b] += t[:, p] * g[:, a]


def _scatter(rows: Tensor, index: Tensor, n_rows: int) -> Tensor:
    """The compact rows (k+1, n_in, C, N) placed at their coefficients: (n_rows, C, N), zeros elsewhere."""
    q, n_in, c, n = rows.shape
    dense = rows.new_zeros(n_rows, c, n)
    return dense.scatter_(0, index.reshape(q * n_in, 1, n).expand(-1, c, -1), rows.reshape(q * n_in, c, n))


def contract(rows: Tensor, index: Tensor, w: Tensor) -> tuple[Tensor, Tensor]:
    """y = w^T (the compact rows (k+1, n_in, C, N) scattered to their coefficient rows ``index``
    (k+1, n_in, N)): (n_out, C, N), and the scattered rows (n_rows, C N) for the backward."""
    c, n = rows.shape[2:]
    dense = _scatter(rows, index, w.shape[0]).reshape(-1, c * n)
    return (w.T @ dense).reshape(w.shape[1], c, n), dense


def rows_gradient(grad: Tensor, index: Tensor, w: Tensor) -> Tensor:
    """The gradient (k+1, n_in, C, N) to the compact rows of ``contract`` from dL/dy (n_out, C, N)."""
    n_out, c, n = grad.shape
    q, n_in = index.shape[:2]
    full = (w @ grad.reshape(n_out, c * n)).reshape(-1, c, n)
    return full.gather(0, index.reshape(q * n_in, 1, n).expand(-1, c, -1)).reshape(q, n_in, c, n)


def _products(g: Tensor, d: int, pairs: tuple) -> Tensor:
    """u_k u_l for every pair from the first partials g (n_in, d, N): (n_in, P, N)."""
    if pairs == tuple((i, i) for i in range(d)):
        return g * g
    return g[:, [p[0] for p in pairs]] * g[:, [p[1] for p in pairs]]


def _rows(part: Tensor, local: Tensor, d: int, pairs: tuple) -> Tensor:
    """The chain rule on the compact rows: (k+1, n_in, C, N) from the partials (n_in, C - 1, N)
    and L (R, k+1, n_in, N)."""
    _, q, n_in, n = local.shape
    rows = local.new_empty(q, n_in, 1 + part.shape[1], n)
    rows[:, :, 0] = local[0]
    if d:
        torch.mul(part[None, :, :d], local[1][:, :, None], out=rows[:, :, 1 : 1 + d])
    if pairs:
        second = rows[:, :, 1 + d :]
        torch.mul(_products(part[:, :d], d, pairs)[None], local[2][:, :, None], out=second)
        second.addcmul_(part[None, :, d:], local[1][:, :, None])
    return rows


def _rows_backward(part: Tensor, local: Tensor, e: Tensor, d: int, pairs: tuple) -> Tensor:
    """Gradient (n_in, C, N) to (u, u_k, u_kl) from the gradient e (k+1, n_in, C, N) of the rows:
    through L_0, L_1, L_2 to u (dL_r/du = L_{r+1}), and to the partials."""
    d_local = e[:, :, 0] * local[1]  # (k+1, n_in, N)
    if not d:
        return d_local.sum(0)[:, None]
    tail = (e[:, :, 1:] * local[1][:, :, None]).sum(0)  # through L_1 u_k and L_1 u_kl: (n_in, C - 1, N)
    d_local += (e[:, :, 1:] * part[None]).sum(2) * local[2]
    if pairs:
        g, e2 = part[:, :d], e[:, :, 1 + d :]
        d_local += (e2 * _products(g, d, pairs)[None]).sum(2) * local[3]
        t = (e2 * local[2][:, :, None]).sum(0)  # through L_2 u_k u_l: (n_in, P, N)
        _add_pair_terms(tail, t, g, d, pairs)
    return torch.cat([d_local.sum(0)[:, None], tail], dim=1)
