"""Second-order jets: a network's value, first partials and chosen second partials in its inputs,
carried forward in closed form through each layer. One forward pass gives u and the derivatives a
residual needs; one ordinary backward pass then gives the parameter gradients (instead of the
many small ops of nested autograd).

A jet stacks its components in one tensor ``data`` of shape (C, N, n): component 0 is the value,
components 1..d the first partials d/dx_k, and then one component per pair (k, l) in ``pairs``
for d^2/dx_k dx_l. For a unit-wise map a = f(z) the chain rule reads

    a = f(z),   a_k = f'(z) z_k,   a_kl = f''(z) z_k z_l + f'(z) z_kl

and a KAN layer y_o = sum_i phi_io(z_i) is the same with phi_io, summed over i, which is one
matrix product of the stacked basis rows with the coefficients.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor


@dataclass
class Jet:
    data: Tensor  # (C, N, n) with C = 1 + d + len(pairs)
    d: int
    pairs: tuple[tuple[int, int], ...]

    @classmethod
    def affine_input(cls, z: Tensor, scale: Tensor, pairs: Sequence[tuple[int, int]]) -> "Jet":
        """Jet of z = (x - shift) * scale given z (N, d): dz_i/dx_k = scale_k [i = k], no curvature."""
        n, d = z.shape
        grads = torch.diag_embed(scale.expand(d)).unsqueeze(1).expand(d, n, d)
        second = z.new_zeros(len(pairs), n, d)
        return cls(torch.cat([z[None], grads, second]), d, tuple(pairs))

    @property
    def value(self) -> Tensor:
        return self.data[0]

    def parts(self) -> tuple[Tensor, Tensor, Tensor]:
        """(value (1, N, n), first partials (d, N, n), second partials (P, N, n)), split in one op
        (a split's backward is one concatenation, where separate slices would each allocate)."""
        return self.data.split([1, self.d, len(self.pairs)])

    def grad_products(self, g: Tensor) -> Tensor:
        """z_k z_l for every pair, from the first partials g (d, N, n): (P, N, n)."""
        if self.pairs == tuple((i, i) for i in range(self.d)):
            return g * g
        return g[[p[0] for p in self.pairs]] * g[[p[1] for p in self.pairs]]

    def chain(self, f: Tensor) -> Tensor:
        """Components of f(z) from f, f', f'' at z stacked as f (R, N, n, ...) (R >= 2, and 3 when
        there are pairs); trailing dims of f beyond the jet's broadcast (e.g. a basis axis):
        (C, N, n, ...)."""
        expand = (...,) + (None,) * (f.dim() - 3)
        _, g, h = self.parts()
        f0, f1, *higher = f.split(1)
        parts = [f0, f1 * g[expand]]
        if self.pairs:
            parts.append(higher[0] * self.grad_products(g)[expand] + f1 * h[expand])
        return torch.cat(parts)

    def replace(self, data: Tensor) -> "Jet":
        return Jet(data, self.d, self.pairs)

    def times(self, other: "Jet") -> "Jet":
        """Jet of the product a b (same points, inputs and pairs), by Leibniz:
        (ab)_k = a_k b + a b_k,  (ab)_kl = a_kl b + a_k b_l + a_l b_k + a b_kl."""
        (a0, ag, ah), (b0, bg, bh) = self.parts(), other.parts()
        parts = [a0 * b0, ag * b0 + a0 * bg]
        if self.pairs:
            k, l = [p[0] for p in self.pairs], [p[1] for p in self.pairs]
            parts.append(ah * b0 + ag[k] * bg[l] + ag[l] * bg[k] + a0 * bh)
        return self.replace(torch.cat(parts))

    @classmethod
    def of_function(cls, fn: Callable[[Tensor], Tensor], x: Tensor, pairs: Sequence[tuple[int, int]]) -> "Jet":
        """Jet of a parameter-free fn: (N, d) -> (N, n) at x by autograd, detached: for known
        functions of the inputs (a hard constraint's lift and distance), not for the network."""
        pairs = tuple(pairs)
        with torch.enable_grad():
            xg = x.detach().requires_grad_(True)
            value = fn(xg)
            n, d = x.shape
            first = torch.zeros(d, n, value.shape[1], dtype=value.dtype, device=value.device)
            second = torch.zeros(len(pairs), n, value.shape[1], dtype=value.dtype, device=value.device)
            for j in range(value.shape[1] if value.requires_grad else 0):  # a constant fn: zero derivatives
                (g,) = torch.autograd.grad(value[:, j].sum(), xg, create_graph=bool(pairs), allow_unused=True)
                if g is None:
                    continue
                first[:, :, j] = g.T.detach()
                for i, (k, l) in enumerate(pairs):
                    if g.requires_grad:
                        (h,) = torch.autograd.grad(g[:, k].sum(), xg, retain_graph=True, allow_unused=True)
                        if h is not None:
                            second[i, :, j] = h[:, l]
        return cls(torch.cat([value.detach()[None], first, second]), d, pairs)


def elementwise(f: Tensor, jet: Jet) -> Jet:
    """Jet of a = f(z) applied unit by unit, given f, f', f'' at z as f (3, N, n)."""
    return jet.replace(jet.chain(f))


def linear(jet: Jet, weight: Tensor, bias: Tensor | None) -> Jet:
    """Jet of z W^T + b; weight (n_out, n_in); the bias enters the value only."""
    data = jet.data @ weight.T
    if bias is not None:
        value, rest = data.split([1, data.shape[0] - 1])
        data = torch.cat([value + bias, rest])
    return jet.replace(data)


def _tanh(z: Tensor) -> Tensor:
    a = torch.tanh(z)
    d1 = 1 - a * a
    return torch.stack([a, d1, -2 * a * d1])


def _sin(z: Tensor) -> Tensor:
    s = torch.sin(z)
    return torch.stack([s, torch.cos(z), -s])


def _cos(z: Tensor) -> Tensor:
    c = torch.cos(z)
    return torch.stack([c, -torch.sin(z), -c])


def _silu(z: Tensor) -> Tensor:
    s = torch.sigmoid(z)
    return torch.stack([z * s, s * (1 + z * (1 - s)), s * (1 - s) * (2 + z * (1 - 2 * s))])


def _softplus(z: Tensor) -> Tensor:
    s = torch.sigmoid(z)
    return torch.stack([F.softplus(z), s, s * (1 - s)])


def _gelu(z: Tensor) -> Tensor:
    pdf = torch.exp(-0.5 * z * z) / (2 * torch.pi) ** 0.5
    cdf = 0.5 * (1 + torch.erf(z / 2**0.5))
    return torch.stack([z * cdf, cdf + z * pdf, pdf * (2 - z * z)])


UNIT_DERIVATIVES: dict[str, Callable[[Tensor], Tensor]] = {
    "tanh": _tanh, "sin": _sin, "cos": _cos, "silu": _silu, "softplus": _softplus, "gelu": _gelu,
}
