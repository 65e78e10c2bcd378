"""1-D basis families for KAN edges.

Every basis maps inputs ``x`` of shape (B, n_in) to basis values of shape (B, n_in, n_basis):
input i has its own copy of the basis (for B-splines, its own knot vector). An edge function is
``phi(x_i) = sum_m c_m basis_m(x_i)``. ``derivative(x, order)`` gives the closed-form derivatives of
the basis functions, same shape; the autograd path through ``forward`` is tested against them.

A basis is built from plain keyword arguments, ``BSpline(grid_size=5, order=4)``, filling its
``Options`` dataclass (declared beside it, with its own range checks); a KAN layer takes
``basis.for_inputs(n_in)``, a copy with one set of functions per input. A new basis is one subclass
with its options here plus one ``@BASES.register("name")`` line.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import torch
from numpy.polynomial import chebyshev as npcheb
from torch import Tensor, nn

from ..errors import ConfigError
from ..options import Configured, Options, at_least, build_options
from ..registry import Registry
from .cardinal import is_uniform, uniform_derivatives
from .spline_jet import SplineTables

BASES: Registry[type["Basis"]] = Registry("basis", "model.basis", label=True)


def solve_normal_equations(a: Tensor, y: Tensor, ridge: float = 1e-10) -> Tensor:
    """Least squares ``min_c |a c - y|^2`` per batch entry, deterministically.

    a: (n_in, B, n_basis), y: (n_in, B, n_out) -> c: (n_in, n_basis, n_out). Float64 normal
    equations with a relative ridge and a Cholesky solve: bitwise reproducible, unlike
    ``torch.linalg.lstsq`` whose result varied between identical processes.
    """
    a64, y64 = a.double(), y.double()
    gram = a64.transpose(1, 2) @ a64
    scale = gram.diagonal(dim1=1, dim2=2).mean(dim=1).clamp_min(1e-300)
    eye = torch.eye(gram.shape[-1], dtype=gram.dtype, device=gram.device)
    gram = gram + ridge * scale[:, None, None] * eye
    chol = torch.linalg.cholesky(gram)
    return torch.cholesky_solve(a64.transpose(1, 2) @ y64, chol).to(a.dtype)


class Basis(Configured, nn.Module, ABC):
    """A family of n_basis univariate functions, one copy per input (``n_in`` copies), built from
    the keyword arguments of its ``Options``. ``name`` is set by ``BASES.register``."""

    name: ClassVar[str]
    Options: ClassVar[type[Options]]
    n_basis: int

    def __init__(self, n_in: int = 1, **options: Any):
        super().__init__()
        self.n_in = n_in
        self.options = build_options(self.Options, options, f"the {type(self).__name__} basis")

    def for_inputs(self, n_in: int) -> "Basis":
        """A fresh basis of the same options with a copy for each of ``n_in`` inputs."""
        return type(self)(n_in=n_in, **self.options.as_dict())

    def keep_inputs(self, rows: list[int]) -> None:
        """Keep the copies of inputs ``rows`` only (pruning); per-input state is cut to them."""
        self.n_in = len(rows)

    @abstractmethod
    def forward(self, x: Tensor) -> Tensor:
        """Basis values: (B, n_in) -> (B, n_in, n_basis)."""

    @abstractmethod
    def derivative(self, x: Tensor, order: int = 1) -> Tensor:
        """Closed-form d^order/dx^order of every basis function: (B, n_in) -> (B, n_in, n_basis)."""

    def derivatives(self, x: Tensor, order: int) -> Tensor:
        """Values and derivatives up to ``order``: (order + 1, B, n_in, n_basis)."""
        return torch.stack([self(x), *(self.derivative(x, r) for r in range(1, order + 1))])

    @abstractmethod
    def fit_range(self) -> Tensor:
        """(n_in, 2) interval on which each input's basis is meant to be used."""

    def identity_coefficients(self) -> Tensor:
        """(n_in, n_basis) coefficients c with sum_m c_m basis_m(x) ~ x on ``fit_range``."""
        lo, hi = self.fit_range().unbind(-1)
        s = torch.linspace(0, 1, 8 * self.n_basis, dtype=lo.dtype, device=lo.device)
        x = lo[None, :] + (hi - lo)[None, :] * s[:, None]  # (S, n_in)
        a = self(x).transpose(0, 1)  # (n_in, S, n_basis)
        return solve_normal_equations(a, x.T[:, :, None], ridge=1e-8)[..., 0]


def check_grid_range(grid_range: Any) -> None:
    """One line unless ``grid_range`` is [lo, hi] with lo < hi."""
    if len(grid_range) != 2 or not float(grid_range[1]) > float(grid_range[0]):
        raise ConfigError("grid_range", f"needs lo < hi, got {list(grid_range)}")


@dataclass
class BSplineOptions(Options):
    grid_size: int = 5  # intervals G
    order: int = 4  # order k (4: the second derivatives a PDE residual takes are C^1)
    grid_range: list[float] = field(default_factory=lambda: [-1.0, 1.0])

    def check(self) -> None:
        at_least(self, "grid_size", 1)
        if not self.order >= 1:
            raise ConfigError("order", f"must be >= 1 (a KAN edge must be able to be linear), got {self.order}")
        check_grid_range(self.grid_range)


@BASES.register("bspline")
class BSpline(Basis):
    """B-splines of order k on G intervals, extended by k knots on each side.

    knots: (n_in, G + 2k + 1), strictly increasing; n_basis = G + k. Evaluated by the vectorised
    Cox-de Boor recursion (no loop over edges, only over the k degrees).
    """

    Options = BSplineOptions

    def __init__(self, n_in: int = 1, **options: Any):
        super().__init__(n_in, **options)
        o = self.options
        lo, hi = float(o.grid_range[0]), float(o.grid_range[1])
        self.order = o.order
        nodes = torch.linspace(lo, hi, o.grid_size + 1, dtype=torch.float64)
        self.register_buffer("knots", self._extend(nodes.expand(n_in, -1)).to(torch.get_default_dtype()))

    @property
    def grid_size(self) -> int:
        return self.knots.shape[1] - 2 * self.order - 1

    @property
    def uniform(self) -> bool:
        """Equally spaced knots (checked again whenever the knots change)."""
        return self._knot_cache()["uniform"]

    def keep_inputs(self, rows: list[int]) -> None:
        super().keep_inputs(rows)
        self.knots = self.knots[rows].clone()  # per-input knots

    def tables(self) -> SplineTables:
        """The knot arithmetic of the fused uniform-knot layer (nets/spline_jet.py)."""
        cache = self._knot_cache()
        if "tables" not in cache:
            cache["tables"] = SplineTables.from_knots(self.knots, self.order)
        return cache["tables"]

    def _knot_cache(self) -> dict:
        """Facts about the current knots, recomputed when they change (another tensor, or an
        in-place write); the cache holds the tensor itself, so a freed one is never mistaken."""
        cache = getattr(self, "_cache", None)
        if cache is None or cache["knots"] is not self.knots or cache["version"] != self.knots._version:
            cache = {"knots": self.knots, "version": self.knots._version, "uniform": is_uniform(self.knots)}
            self._cache = cache
        return cache

    @property
    def n_basis(self) -> int:
        return self.grid_size + self.order

    def _extend(self, nodes: Tensor) -> Tensor:
        """(n_in, G+1) grid nodes -> (n_in, G+2k+1) knots, extended with the end spacings."""
        k = self.order
        steps = torch.arange(1, k + 1, dtype=nodes.dtype, device=nodes.device)
        h_lo = nodes[:, 1:2] - nodes[:, 0:1]
        h_hi = nodes[:, -1:] - nodes[:, -2:-1]
        left = nodes[:, :1] - h_lo * steps.flip(0)
        right = nodes[:, -1:] + h_hi * steps
        return torch.cat([left, nodes, right], dim=1)

    def fit_range(self) -> Tensor:
        k = self.order
        return torch.stack([self.knots[:, k], self.knots[:, -k - 1]], dim=-1)

    def _cox_de_boor(self, x: Tensor, degree: int) -> Tensor:
        """B-splines of the given degree on the knots: (B, n_in) -> (B, n_in, M - 1 - degree)."""
        t = self.knots
        b = ((x.unsqueeze(-1) >= t[:, :-1]) & (x.unsqueeze(-1) < t[:, 1:])).to(x.dtype)
        for p in range(1, degree + 1):
            b = self._raise_degree(x, b, p)
        return b

    def _raise_degree(self, x: Tensor, b: Tensor, p: int) -> Tensor:
        """One Cox-de Boor step: B-splines of degree p-1 -> degree p."""
        t, x = self.knots, x.unsqueeze(-1)
        left = (x - t[:, : -(p + 1)]) / (t[:, p:-1] - t[:, : -(p + 1)])
        right = (t[:, p + 1 :] - x) / (t[:, p + 1 :] - t[:, 1:-p])
        return left * b[..., :-1] + right * b[..., 1:]

    def _differentiate(self, v: Tensor, p: int) -> Tensor:
        """Degree p-1 values -> derivative of the degree-p splines:
        p (v_j/(t_{j+p}-t_j) - v_{j+1}/(t_{j+p+1}-t_{j+1}))."""
        t = self.knots
        return p * (v[..., :-1] / (t[:, p:-1] - t[:, : -(p + 1)]) - v[..., 1:] / (t[:, p + 1 :] - t[:, 1:-p]))

    def forward(self, x: Tensor) -> Tensor:
        return self._cox_de_boor(x, self.order)

    def derivative(self, x: Tensor, order: int = 1) -> Tensor:
        """d^m B_{j,k} from the B-splines of degree k-m by the difference formula
        dB_{j,p}/dx = p (B_{j,p-1}/(t_{j+p}-t_j) - B_{j+1,p-1}/(t_{j+p+1}-t_{j+1}))."""
        k = self.order
        if order > k:
            return x.new_zeros(*x.shape, self.n_basis)
        v = self._cox_de_boor(x, k - order)
        for p in range(k - order + 1, k + 1):
            v = self._differentiate(v, p)
        return v

    def derivatives(self, x: Tensor, order: int) -> Tensor:
        """Uniform knots and no autograd graph wanted: the polynomial pieces (nets/cardinal.py).
        Otherwise one Cox-de Boor recursion up to degree k, each derivative branching off."""
        k = self.order
        if not (x.requires_grad and torch.is_grad_enabled()) and self.uniform:
            return uniform_derivatives(x, self.knots, k, order)
        lowest = max(k - order, 0)
        b = self._cox_de_boor(x, lowest)
        branches = [b]  # branches[r]: the r-th derivative of degree lowest + r splines
        for p in range(lowest + 1, k + 1):
            branches = [self._raise_degree(x, branches[0], p)] + [self._differentiate(v, p) for v in branches]
        zeros = [x.new_zeros(*x.shape, self.n_basis)] * (order + 1 - len(branches))
        return torch.stack([*branches, *zeros])

    def identity_coefficients(self) -> Tensor:
        """Greville abscissae: the spline with c_j = mean(t_{j+1..j+k}) is exactly x."""
        k = self.order
        windows = self.knots.unfold(1, k, 1)[:, 1 : 1 + self.n_basis]  # (n_in, n_basis, k)
        return windows.mean(dim=-1)

    @torch.no_grad()
    def refit(self, x: Tensor, coef: Tensor, nodes: Tensor, *carried: Tensor) -> Tensor | list[Tensor]:
        """Move the knots to the grid ``nodes`` (n_in, G'+1) and return coefficients
        (n_in, n_out, G'+k) whose splines match the old ones at the samples x (B, n_in)
        in the least-squares sense. ``carried``: more tensors of coef's shape (an optimiser's
        moments) mapped by the same linear refit; then the list [coef, *carried] is returned."""
        old_rows = self(x)
        olds = [torch.einsum("bim,iom->ibo", old_rows, c) for c in (coef, *carried)]  # (n_in, B, n_out) each
        self.knots = self._extend(nodes.to(self.knots.dtype))
        rows = self(x).transpose(0, 1)
        new = [solve_normal_equations(rows, old).transpose(1, 2).contiguous() for old in olds]  # (n_in, n_out, n_basis)
        return new if carried else new[0]

    def adaptive_nodes(self, x: Tensor, eps: float = 0.02) -> Tensor:
        """Grid nodes (n_in, G+1) from samples x (B, n_in): a mix of sample quantiles
        (weight 1-eps) and a uniform grid over the sample range (weight eps), as in pykan."""
        g = self.grid_size
        xs = torch.sort(x.detach(), dim=0).values
        idx = torch.linspace(0, xs.shape[0] - 1, g + 1, device=x.device).round().long()
        adaptive = xs[idx].T  # (n_in, G+1)
        lo, hi = xs[0], xs[-1]
        uniform = lo[:, None] + (hi - lo)[:, None] * torch.linspace(0, 1, g + 1, device=x.device, dtype=x.dtype)
        return eps * uniform + (1 - eps) * adaptive

    def refined_nodes(self, grid_size: int) -> Tensor:
        """Grid nodes (n_in, G'+1) that subdivide the current ones piecewise linearly; when G'
        is a multiple of G the new spline space contains the old one (exact grid extension)."""
        k, g = self.order, self.grid_size
        old = self.knots[:, k : k + g + 1].double().cpu().numpy()
        pos = np.linspace(0, g, grid_size + 1)
        new = np.stack([np.interp(pos, np.arange(g + 1), row) for row in old])
        return torch.as_tensor(new, dtype=self.knots.dtype, device=self.knots.device)


@dataclass
class ChebyshevOptions(Options):
    degree: int = 5  # highest degree D

    def check(self) -> None:
        at_least(self, "degree", 1)


@BASES.register("chebyshev")
class Chebyshev(Basis):
    """Chebyshev polynomials T_0..T_D of z = tanh(x), which maps any input into (-1, 1).

    x-derivatives are polynomials in z too (d/dx = (1 - z^2) d/dz); their Chebyshev coefficients
    are precomputed once per order.
    """

    Options = ChebyshevOptions

    def __init__(self, n_in: int = 1, **options: Any):
        super().__init__(n_in, **options)
        self.degree = self.options.degree
        self._derivative_maps: dict[int, Tensor] = {}

    @property
    def n_basis(self) -> int:
        return self.degree + 1

    def fit_range(self) -> Tensor:
        return torch.tensor([[-1.0, 1.0]]).expand(self.n_in, 2)

    @staticmethod
    def _chebyshev(z: Tensor, n: int) -> Tensor:
        """T_0..T_{n-1} at z by the three-term recurrence: (...) -> (..., n)."""
        ts = [torch.ones_like(z), z]
        for _ in range(2, n):
            ts.append(2 * z * ts[-1] - ts[-2])
        return torch.stack(ts[:n], dim=-1)

    def forward(self, x: Tensor) -> Tensor:
        return self._chebyshev(torch.tanh(x), self.n_basis)

    def _derivative_map(self, order: int) -> Tensor:
        """(D+order+1, D+1) matrix M with d^order/dx^order T_n(tanh x) = sum_j T_j(z) M[j, n]."""
        if order not in self._derivative_maps:
            one_minus_z2 = np.array([0.5, 0.0, -0.5])  # 1 - z^2 in the Chebyshev basis
            cols = []
            for n in range(self.n_basis):
                c = np.zeros(n + 1)
                c[n] = 1.0
                for _ in range(order):
                    c = npcheb.chebmul(one_minus_z2, npcheb.chebder(c))
                col = np.zeros(self.n_basis + order)
                col[: len(c)] = c
                cols.append(col)
            self._derivative_maps[order] = torch.as_tensor(np.stack(cols, axis=1))
        return self._derivative_maps[order]

    def derivative(self, x: Tensor, order: int = 1) -> Tensor:
        m = self._derivative_map(order).to(x)
        return self._chebyshev(torch.tanh(x), m.shape[0]) @ m

    def derivatives(self, x: Tensor, order: int) -> Tensor:
        """T_0..T_{D+order} of tanh(x) once, then one small matmul per derivative order."""
        t = self._chebyshev(torch.tanh(x), self.n_basis + order)
        return torch.stack([t[..., : self.n_basis], *(t[..., : self.n_basis + r] @ self._derivative_map(r).to(x)
                                                      for r in range(1, order + 1))])


@dataclass
class RBFOptions(Options):
    grid_size: int = 5  # intervals of the grid of centres
    grid_range: list[float] = field(default_factory=lambda: [-1.0, 1.0])

    def check(self) -> None:
        at_least(self, "grid_size", 1)
        check_grid_range(self.grid_range)


@BASES.register("rbf")
class GaussianRBF(Basis):
    """Gaussian bumps exp(-((x - c_j)/h)^2) centred on the G+1 nodes of a uniform grid, h its spacing."""

    Options = RBFOptions

    def __init__(self, n_in: int = 1, **options: Any):
        super().__init__(n_in, **options)
        o = self.options
        lo, hi = float(o.grid_range[0]), float(o.grid_range[1])
        self.register_buffer("centers", torch.linspace(lo, hi, o.grid_size + 1, dtype=torch.float64).to(torch.get_default_dtype()))
        self.width = (hi - lo) / o.grid_size

    @property
    def n_basis(self) -> int:
        return self.centers.shape[0]

    def fit_range(self) -> Tensor:
        return torch.stack([self.centers[0], self.centers[-1]]).expand(self.n_in, 2)

    def forward(self, x: Tensor) -> Tensor:
        s = (x.unsqueeze(-1) - self.centers) / self.width
        return torch.exp(-s * s)

    def derivative(self, x: Tensor, order: int = 1) -> Tensor:
        """d^m/dx^m exp(-s^2) = (-1/h)^m H_m(s) exp(-s^2), H_m the physicists' Hermite polynomials."""
        s = (x.unsqueeze(-1) - self.centers) / self.width
        h_prev, h = torch.ones_like(s), 2 * s
        if order == 0:
            h = h_prev
        for m in range(1, order):
            h_prev, h = h, 2 * s * h - 2 * m * h_prev
        return (-1.0 / self.width) ** order * h * torch.exp(-s * s)


def basis_from(name: str, values: Any) -> Basis:
    """The basis registered under ``name`` built from those of ``values`` (a flat model config:
    grid_size, order, degree, grid_range, ...) that are its options."""
    cls = BASES.get(name)
    return cls(**{f: values[f] for f in cls.Options.__dataclass_fields__ if f in values})


__all__ = ["BASES", "BSpline", "BSplineOptions", "Basis", "Chebyshev", "ChebyshevOptions", "GaussianRBF", "RBFOptions",
           "basis_from", "solve_normal_equations"]
