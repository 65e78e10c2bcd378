"""Jets: a network's value, first partials, chosen second partials and chosen partials of order 3-4
in its inputs, carried forward in closed form through each layer. One forward pass gives u and the derivatives a
residual needs; one ordinary backward pass then gives the parameter gradients (instead of the
many small ops of nested autograd).

A jet stacks its components in one tensor ``data`` of shape (C, N, n): component 0 is the value,
components 1..d the first partials d/dx_k, and then one component per pair (k, l) in ``pairs``
for d^2/dx_k dx_l, then one per multi-index S in ``higher`` (sorted input indices, length 3 or
4: (0, 0, 0) is d^3/dx_0^3). For a unit-wise map a = f(z) the chain rule reads

    a = f(z),   a_k = f'(z) z_k,   a_kl = f''(z) z_k z_l + f'(z) z_kl

and for a higher S Faa di Bruno's formula, a sum over the set partitions pi of S's positions,
a_S = sum_pi f^(|pi|)(z) prod_{B in pi} z_B; along one input (z_r the r-th derivative of z)

    a_3 = f^(3) z_1^3 + 3 f^(2) z_1 z_2 + f^(1) z_3,
    a_4 = f^(4) z_1^4 + 6 f^(3) z_1^2 z_2 + f^(2) (3 z_2^2 + 4 z_1 z_3) + f^(1) z_4.

Every lower partial of a higher S must be in the jet too.

and a KAN layer y_o = sum_i phi_io(z_i) is the same with phi_io, summed over i, which is one
matrix product of the stacked basis rows with the coefficients.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from itertools import combinations, combinations_with_replacement
from typing import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor


MAX_ORDER = 4  # the highest derivative order the unit-wise maps below supply


@dataclass
class Jet:
    data: Tensor  # (C, N, n) with C = 1 + d + len(pairs) + len(higher)
    d: int
    pairs: tuple[tuple[int, int], ...]
    higher: tuple[tuple[int, ...], ...] = ()

    @classmethod
    def affine_input(cls, z: Tensor, scale: Tensor, pairs: Sequence[tuple[int, int]],
                     higher: Sequence[tuple[int, ...]] = ()) -> "Jet":
        """Jet of z = (x - shift) * scale given z (N, d): dz_i/dx_k = scale_k [i = k], no curvature."""
        n, d = z.shape
        grads = torch.diag_embed(scale.expand(d)).unsqueeze(1).expand(d, n, d)
        second = z.new_zeros(len(pairs) + len(higher), n, d)
        return cls(torch.cat([z[None], grads, second]), d, tuple(pairs), tuple(higher))

    @property
    def order(self) -> int:
        """The highest derivative order the jet carries."""
        return max((len(s) for s in self.higher), default=2 if self.pairs else 1 if self.d else 0)

    def row(self, wrt: tuple[int, ...]) -> int:
        """The component of the partial in the sorted input indices ``wrt`` (() the value)."""
        return components(self.d, self.pairs, self.higher)[wrt]

    @property
    def value(self) -> Tensor:
        return self.data[0]

    def parts(self) -> tuple[Tensor, Tensor, Tensor]:
        """(value (1, N, n), first partials (d, N, n), second partials (P, N, n)), split in one op
        (a split's backward is one concatenation, where separate slices would each allocate);
        the higher partials, if any, are not among them."""
        if self.higher:
            return self.data.split([1, self.d, len(self.pairs), len(self.higher)])[:3]
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
        if self.higher:
            top = self.data[1 + self.d + len(self.pairs):]
            terms = f1 * top[expand]
            for k, (coef, blocks, target) in faa_di_bruno(self.d, self.pairs, self.higher).items():
                product = self._weighted(coef, blocks[0])
                for rows in blocks[1:]:
                    product = product * self.data[list(rows)]
                summed = top.new_zeros(top.shape).index_add_(0, self._rows(target), product)
                terms = terms + f[k] * summed[expand]
            parts.append(terms)
        return torch.cat(parts)

    def _weighted(self, coef: tuple[float, ...], rows: tuple[int, ...]) -> Tensor:
        """coef_t * data[rows_t] for every term t: (T, N, n)."""
        return self.data[list(rows)] * torch.tensor(coef, dtype=self.data.dtype, device=self.data.device)[:, None, None]

    def _rows(self, rows: tuple[int, ...]) -> Tensor:
        return torch.tensor(rows, dtype=torch.long, device=self.data.device)

    def replace(self, data: Tensor) -> "Jet":
        return Jet(data, self.d, self.pairs, self.higher)

    def times(self, other: "Jet") -> "Jet":
        """Jet of the product a b (same points, inputs and pairs), by Leibniz:
        (ab)_k = a_k b + a b_k,  (ab)_kl = a_kl b + a_k b_l + a_l b_k + a b_kl."""
        (a0, ag, ah), (b0, bg, bh) = self.parts(), other.parts()
        parts = [a0 * b0, ag * b0 + a0 * bg]
        if self.pairs:
            k, l = [p[0] for p in self.pairs], [p[1] for p in self.pairs]
            parts.append(ah * b0 + ag[k] * bg[l] + ag[l] * bg[k] + a0 * bh)
        if self.higher:
            coef, rows_a, rows_b, target = leibniz(self.d, self.pairs, self.higher)
            product = self._weighted(coef, rows_a) * other.data[list(rows_b)]
            top = product.new_zeros(len(self.higher), *product.shape[1:])
            parts.append(top.index_add_(0, self._rows(target), product))
        return self.replace(torch.cat(parts))

    @classmethod
    def of_function(cls, fn: Callable[[Tensor], Tensor], x: Tensor, pairs: Sequence[tuple[int, int]],
                    higher: Sequence[tuple[int, ...]] = ()) -> "Jet":
        """Jet of a parameter-free fn: (N, d) -> (N, n) at x by nested autograd, detached: for known
        functions of the inputs (a hard constraint's lift and distance), not for the network."""
        pairs, higher = tuple(pairs), tuple(higher)
        n, d = x.shape
        index = components(d, pairs, higher)
        with torch.enable_grad():
            xg = x.detach().requires_grad_(True)
            value = fn(xg)
            data = torch.zeros(len(index), n, value.shape[1], dtype=value.dtype, device=value.device)
            data[0] = value.detach()
            top = max(len(s) for s in index)
            for j in range(value.shape[1] if value.requires_grad else 0):  # a constant fn: zero derivatives
                known = {(): value[:, j]}
                for wrt in sorted(index, key=len)[1:]:
                    if wrt not in known:
                        lower = known.get(wrt[:-1])
                        if lower is None or not lower.requires_grad:
                            continue  # constant in these inputs: zero
                        (g,) = torch.autograd.grad(lower.sum(), xg, create_graph=len(wrt) < top, retain_graph=True,
                                                   allow_unused=True)
                        if g is None:
                            continue
                        for i in range(d):
                            known[tuple(sorted(wrt[:-1] + (i,)))] = g[:, i]
                    data[index[wrt], :, j] = known[wrt].detach()
        return cls(data, d, pairs, higher)


def pure_indices(d: int, order: int) -> tuple[tuple[tuple[int, int], ...], tuple[tuple[int, ...], ...]]:
    """(pairs, higher) of the pure partials d^r/dx_k^r, r = 2..order, of every input k."""
    pairs = tuple((k, k) for k in range(d)) if order >= 2 else ()
    return pairs, tuple((k,) * r for r in range(3, order + 1) for k in range(d))


def all_indices(d: int, order: int) -> tuple[tuple[tuple[int, int], ...], tuple[tuple[int, ...], ...]]:
    """(pairs, higher) of every partial of orders 2..order, mixed ones included."""
    pairs = tuple(combinations_with_replacement(range(d), 2)) if order >= 2 else ()
    return pairs, tuple(s for r in range(3, order + 1) for s in combinations_with_replacement(range(d), r))


@lru_cache(maxsize=None)
def components(d: int, pairs: tuple, higher: tuple) -> dict[tuple[int, ...], int]:
    """{sorted input indices: component} of a jet: () the value, (k,) the first partials, then the
    pairs and the higher partials in their order. Raises if a higher partial lacks a lower one."""
    index = {(): 0, **{(k,): 1 + k for k in range(d)}}
    for s in (*pairs, *higher):
        index[tuple(sorted(s))] = len(index)
    for s in higher:
        for r in range(2, len(s)):
            for sub in combinations(sorted(s), r):
                if sub not in index:
                    raise ValueError(f"a jet with the partial {s} needs {sub} too")
    return index


def _set_partitions(n: int) -> list[list[tuple[int, ...]]]:
    """Every partition of the positions 0..n-1 into blocks (the Bell number B_n of them: 5 for 3,
    15 for 4)."""
    if n == 0:
        return [[]]
    out = []
    for part in _set_partitions(n - 1):
        out.append([*part, (n - 1,)])
        for i in range(len(part)):
            out.append(part[:i] + [(*part[i], n - 1)] + part[i + 1:])
    return out


@lru_cache(maxsize=None)
def faa_di_bruno(d: int, pairs: tuple, higher: tuple) -> dict[int, tuple[tuple[float, ...], list[tuple[int, ...]], tuple[int, ...]]]:
    """For k = 2..order, the sum over partitions into k blocks of prod_B z_B, per higher component:
    {k: (multiplicities (T,), k tuples of component rows (T,), target higher component (T,))},
    equal products merged (4 z_1 z_3 + 3 z_2^2 in a fourth derivative)."""
    index = components(d, pairs, higher)
    merged: dict[int, dict[tuple[int, tuple[int, ...]], int]] = {}
    for t, s in enumerate(higher):
        for part in _set_partitions(len(s)):
            if len(part) > 1:  # one block: f' z_S, the jet's own component
                rows = tuple(sorted(index[tuple(sorted(s[i] for i in block))] for block in part))
                terms = merged.setdefault(len(part), {})
                terms[(t, rows)] = terms.get((t, rows), 0) + 1
    table = {}
    for k, terms in sorted(merged.items()):
        blocks = [tuple(rows[j] for _, rows in terms) for j in range(k)]
        table[k] = (tuple(float(c) for c in terms.values()), blocks, tuple(t for t, _ in terms))
    return table


@lru_cache(maxsize=None)
def leibniz(d: int, pairs: tuple, higher: tuple) -> tuple[tuple[float, ...], tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
    """The terms of (ab)_S = sum over subsets A of S's positions of a_{S[A]} b_{S[not A]}, per
    higher component: (multiplicities, rows of a, rows of b, target), equal products merged."""
    index = components(d, pairs, higher)
    merged: dict[tuple[int, int, int], int] = {}
    for t, s in enumerate(higher):
        for r in range(len(s) + 1):
            for chosen in combinations(range(len(s)), r):
                a = tuple(sorted(s[i] for i in chosen))
                b = tuple(sorted(s[i] for i in range(len(s)) if i not in chosen))
                key = (index[a], index[b], t)
                merged[key] = merged.get(key, 0) + 1
    keys = list(merged)
    return (tuple(float(c) for c in merged.values()), tuple(k[0] for k in keys), tuple(k[1] for k in keys),
            tuple(k[2] for k in keys))


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


def _tanh(z: Tensor, order: int = 2) -> Tensor:
    a = torch.tanh(z)
    d1 = 1 - a * a
    rows = [a, d1, -2 * a * d1]
    if order >= 3:
        rows.append(d1 * (6 * a * a - 2))
    if order >= 4:
        rows.append(8 * a * d1 * (2 - 3 * a * a))
    return torch.stack(rows[: max(order, 2) + 1])


def _sin(z: Tensor, order: int = 2) -> Tensor:
    s = torch.sin(z)
    c = torch.cos(z)
    return torch.stack([s, c, -s, -c, s][: max(order, 2) + 1])


def _cos(z: Tensor, order: int = 2) -> Tensor:
    c = torch.cos(z)
    s = torch.sin(z)
    return torch.stack([c, -s, -c, s, c][: max(order, 2) + 1])


def _sigmoid_derivatives(s: Tensor, order: int) -> list[Tensor]:
    """sigma and its derivatives up to ``order`` from s = sigma(z): sigma' = s (1 - s), ..."""
    s1 = s * (1 - s)
    rows = [s, s1, s1 * (1 - 2 * s), s1 * (1 - 6 * s1)]
    if order >= 4:
        rows.append(s1 * (1 - 2 * s) * (1 - 12 * s1))
    return rows[: order + 1]


def _silu(z: Tensor, order: int = 2) -> Tensor:
    s = torch.sigmoid(z)
    rows = [z * s, s * (1 + z * (1 - s)), s * (1 - s) * (2 + z * (1 - 2 * s))]
    if order >= 3:  # (z sigma)^(r) = z sigma^(r) + r sigma^(r-1)
        sig = _sigmoid_derivatives(s, order)
        rows += [z * sig[r] + r * sig[r - 1] for r in range(3, order + 1)]
    return torch.stack(rows[: max(order, 2) + 1])


def _softplus(z: Tensor, order: int = 2) -> Tensor:
    s = torch.sigmoid(z)
    rows = [F.softplus(z), s, s * (1 - s)]
    if order >= 3:
        rows += _sigmoid_derivatives(s, order - 1)[2:]
    return torch.stack(rows[: max(order, 2) + 1])


def _gelu(z: Tensor, order: int = 2) -> Tensor:
    pdf = torch.exp(-0.5 * z * z) / (2 * torch.pi) ** 0.5
    cdf = 0.5 * (1 + torch.erf(z / 2**0.5))
    rows = [z * cdf, cdf + z * pdf, pdf * (2 - z * z)]
    if order >= 3:
        rows.append(pdf * z * (z * z - 4))
    if order >= 4:
        z2 = z * z
        rows.append(pdf * (7 * z2 - z2 * z2 - 4))
    return torch.stack(rows[: max(order, 2) + 1])


UNIT_DERIVATIVES: dict[str, Callable[..., Tensor]] = {  # fn(z, order=2): (order + 1, *z.shape), order <= MAX_ORDER
    "tanh": _tanh, "sin": _sin, "cos": _cos, "silu": _silu, "softplus": _softplus, "gelu": _gelu,
}
