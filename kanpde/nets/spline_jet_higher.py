"""The fused uniform-B-spline KAN layer for jets that carry partials of order 3-4 (KdV's u_xxx, a
Kuramoto-Sivashinsky u_xxxx), by Faa di Bruno's formula written once for every order.

For a unit-wise map a = f(z) and a partial S of the jet (a sorted multi-index of the inputs),

    a_S = sum_{k=1..K} f^(k)(z) P_{k,S},   P_{k,S} = sum over the partitions pi of S into k blocks
                                                     of prod_{B in pi} z_B                     (1)

(P_{1,S} = z_S; P_{2,kl} = z_k z_l; P_{2,xxx} = 3 z_x z_xx; P_{3,xxx} = z_x^3; nets/jet.py gives the
tables). The P depend on the incoming jet only, not on the basis, so they are built once per layer
with plain autograd ops (``partition_products``, (K, n_in, C, N)), and the layer itself

    y_o,S = sum_i sum_q W_{i, j(i)-k+q, o} (L_0 [S = ()] + sum_k L_k P_{k,S})_{q,i}

with L_k = d^k/dz^k of the k + 1 splines alive at z (inv_h^k times their derivatives in the knot
coordinate, nets/spline_jet.py) is one Function with a hand-written backward: dW by the
transposed matmul (several outputs) or a bincount (one output), dP_k = sum_q e L_k, and dz through
dL_k/dz = L_{k+1}. Features first, points last, as in nets/spline_jet.py; the order-2 jets keep
that module's specialised layer.
"""
from __future__ import annotations

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable

from .jet import faa_di_bruno
from .spline_jet import SplineTables, contract, local_derivatives, rows_gradient


def partition_products(data: Tensor, d: int, pairs: tuple, higher: tuple) -> Tensor:
    """P (K, n, C, N) of (1) from a features-first jet (n, C, N) of z (component 0 the value,
    then d first partials, the pairs, the higher partials): P[k - 1][:, c] for k = 1..K, zero for
    the value and wherever a component has fewer than k indices. K = the jet's order."""
    n, c, points = data.shape
    top = max((len(s) for s in higher), default=2 if pairs else 1)
    lower = 1 + d + len(pairs)  # components of order <= 2
    first = torch.cat([data.new_zeros(n, 1, points), data[:, 1:]], dim=1)
    table = faa_di_bruno(d, pairs, higher)
    out = [first]
    for k in range(2, top + 1):
        head = data.new_zeros(n, 1 + d if k == 2 else lower, points)
        parts = [head]
        if k == 2 and pairs:
            parts.append(data[:, [1 + a for a, _ in pairs]] * data[:, [1 + b for _, b in pairs]])
        if k in table:
            coef, blocks, target = table[k]
            product = data[:, list(blocks[0])] * data.new_tensor(coef)[:, None]
            for rows in blocks[1:]:
                product = product * data[:, list(rows)]
            index = torch.tensor(target, device=data.device)
            parts.append(data.new_zeros(n, len(higher), points).index_add(1, index, product))
        else:
            parts.append(data.new_zeros(n, len(higher), points))
        out.append(torch.cat(parts, dim=1))
    return torch.stack(out)


class SplineLayerJetHigher(torch.autograd.Function):
    """apply(z (n_in, N), P (K, n_in, C, N), weight (n_in, n_basis, n_out), tables) -> jet
    (n_out, C, N): the layer (2) on the value z and the partition products P of its jet."""

    @staticmethod
    def forward(ctx, z: Tensor, products: Tensor, weight: Tensor, tables: SplineTables) -> Tensor:
        top, n_in, c, n = products.shape
        n_out = weight.shape[2]
        u = torch.addcmul(tables.neg_shift, z.contiguous(), tables.inv_h)
        local, index = local_derivatives(u, tables, top + 1)  # one order more, for the backward
        powers = tables.inv_h ** torch.arange(top + 2, device=z.device, dtype=z.dtype)[:, None, None]
        local = local * powers[:, None]  # d^r/dz^r: (K + 2, k + 1, n_in, N)
        w = torch.nn.functional.pad(weight.reshape(-1, n_out), (0, 0, 0, 1))  # with the (zero) dump row
        if n_out == 1:
            phi = (w[index, 0] * local).sum(1)  # the edge functions' derivatives (K + 2, n_in, N)
            out = (phi[1 : top + 1, :, None] * products).sum((0, 1))
            out[0] += phi[0].sum(0)
            ctx.save_for_backward(products, local, index, phi)
            out = out[None]
        else:
            rows = local[1][:, :, None] * products[0][None]  # (k + 1, n_in, C, N)
            for r in range(2, top + 1):
                rows.addcmul_(local[r][:, :, None], products[r - 1][None])
            rows[:, :, 0] = local[0]
            out, dense = contract(rows, index, w)
            ctx.save_for_backward(products, local, index, dense, w)
        ctx.n_rows = w.shape[0]
        return out

    @staticmethod
    @once_differentiable
    def backward(ctx, grad: Tensor):
        grad = grad.contiguous()
        n_out, c, n = grad.shape
        grad_z = grad_products = grad_weight = None
        if n_out == 1:
            products, local, index, phi = ctx.saved_tensors
            top, n_in = products.shape[:2]
            g = grad[0]
            grad_products = phi[1 : top + 1, :, None] * g
            d_phi = torch.cat([g[0].expand(1, n_in, n), (products * g).sum(2)])  # (K + 1, n_in, N)
            grad_z = (d_phi * phi[1 : top + 2]).sum(0)
            if ctx.needs_input_grad[2]:
                d_picked = (d_phi[:, None] * local[: top + 1]).sum(0)  # (k + 1, n_in, N)
                flat = torch.bincount(index.reshape(-1), d_picked.reshape(-1), minlength=ctx.n_rows)
                grad_weight = flat[:-1].reshape(n_in, -1, 1)
        else:
            products, local, index, dense, w = ctx.saved_tensors
            top, n_in = products.shape[:2]
            if ctx.needs_input_grad[2]:
                grad_weight = (dense @ grad.reshape(n_out, c * n).T)[:-1].reshape(n_in, -1, n_out)
            e = rows_gradient(grad, index, w)
            grad_products = torch.stack([(e * local[r][:, :, None]).sum(0) for r in range(1, top + 1)])
            d_local = e[:, :, 0] * local[1]
            for r in range(1, top + 1):
                d_local += (e * products[r - 1][None]).sum(2) * local[r + 1]
            grad_z = d_local.sum(0)
        return grad_z, grad_products, grad_weight, None


def unit_chain_higher(f: Tensor, products: Tensor) -> Tensor:
    """Jets (n, C, N) of unit-wise maps from f, f', ..., f^(K) at z (K + 1, n, N) and the partition
    products P (K, n, C, N) of z's jet, by (1)."""
    out = (f[1:, :, None] * products).sum(0)
    return torch.cat([f[0][:, None], out[:, 1:]], dim=1)
