"""Conditions: the loss terms away from the interior (boundary, initial and data points).

Each condition is named (its loss term and weight key), sampled on one part of the domain's
boundary (``on``: "boundary", a face such as "x_lo", "initial" of a space-time domain, ...) and
gives a residual that is zero where it holds. Per-point data a residual needs (outward normals,
observed values) comes from ``point_data`` and reaches ``residual`` as ``data``.

    Dirichlet   u = g                      Neumann   du/dn = g
    Robin       alpha u + beta du/dn = g   Initial   u(t0, x) = g(x);  InitialRate: u_t(t0, x) = g(x)
    Periodic    u and its first derivative equal on the faces {axis}_lo and {axis}_hi
    PointData   u(x_i) = y_i at given (possibly noisy) observation points
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Callable, Mapping, Sequence

import numpy as np
import torch
from torch import Tensor

from ..errors import ConfigError
from ..geometry import Domain
from .derivatives import Derivatives

ValueFn = Callable[[Tensor], Tensor]
Data = Mapping[str, Tensor]


def _value(value: float | ValueFn, x: Tensor) -> Tensor | float:
    return value(x) if callable(value) else value


class Condition(ABC):
    """A named loss term on the part ``on`` of the domain's boundary."""

    name: str
    n_points: int | None = None  # None: the sampler's n_boundary
    order: int = 0  # highest derivative order the residual asks for
    on: str = "boundary"
    fields: tuple[str, ...] = ("u",)  # the output fields the residual uses

    def sample(self, domain: Domain, n: int, method: str, seed: int) -> np.ndarray:
        """Points where the condition is imposed: (n, n_in)."""
        return domain.sample_boundary(n, method, seed, part=self.on)

    def point_data(self, domain: Domain, x: np.ndarray) -> dict[str, np.ndarray]:
        """Per-point arrays the residual needs, each (n, ...); none by default."""
        return {}

    @abstractmethod
    def residual(self, x: Tensor, d: Derivatives, data: Data) -> Tensor:
        """(N,) residual, zero where the condition holds."""

    def check(self, domain: Domain, outputs: Sequence[str], inputs: Sequence[str]) -> None:
        """One-line errors for a boundary part or a field that does not exist."""
        parts = domain.parts
        if self.on not in parts:
            raise ConfigError(f"conditions.{self.name}", f"is on the boundary {self.on!r}, which the domain "
                                                       f"({type(domain).__name__}) lacks; its boundaries: {', '.join(parts)}")
        for field in self.fields:
            if field not in outputs:
                raise ConfigError(f"conditions.{self.name}",
                                  f"names the field {field!r}, which the problem lacks; its fields: {', '.join(outputs)}")


class Dirichlet(Condition):
    """u_field = g: residual u_field(x) - g(x); g a constant or a function (N, n_in) -> (N,)."""

    def __init__(self, name: str = "boundary", value: float | ValueFn = 0.0, field: str = "u",
                 n_points: int | None = None, on: str = "boundary"):
        self.name, self.value, self.field, self.n_points, self.on = name, value, field, n_points, on
        self.fields = (field,)

    def residual(self, x: Tensor, d: Derivatives, data: Data) -> Tensor:
        return d(self.field) - _value(self.value, x)


class Robin(Condition):
    """alpha u + beta du/dn = g with n the outward unit normal; Neumann is alpha = 0, beta = 1.

    The normal derivative du/dn = grad u . n uses the spatial inputs only (a time input has a zero
    normal component).
    """

    order = 1

    def __init__(self, name: str = "boundary", alpha: float = 1.0, beta: float = 1.0, value: float | ValueFn = 0.0,
                 field: str = "u", n_points: int | None = None, on: str = "boundary"):
        self.name, self.alpha, self.beta, self.value = name, alpha, beta, value
        self.field, self.n_points, self.on, self.fields = field, n_points, on, (field,)

    def point_data(self, domain: Domain, x: np.ndarray) -> dict[str, np.ndarray]:
        return {"normal": domain.boundary_normal(x)}

    def residual(self, x: Tensor, d: Derivatives, data: Data) -> Tensor:
        du_dn = (d.grad(self.field) * data["normal"]).sum(dim=1)
        lhs = self.beta * du_dn if self.alpha == 0 else self.alpha * d(self.field) + self.beta * du_dn
        return lhs - _value(self.value, x)


class Neumann(Robin):
    """du/dn = g on the part ``on`` of the boundary (n the outward unit normal)."""

    def __init__(self, name: str = "boundary", value: float | ValueFn = 0.0, field: str = "u",
                 n_points: int | None = None, on: str = "boundary"):
        super().__init__(name, 0.0, 1.0, value, field, n_points, on)


class Initial(Dirichlet):
    """u_field(t0, x) = g(x) on the "initial" slice of a space-time domain."""

    def __init__(self, name: str = "initial", value: float | ValueFn = 0.0, field: str = "u",
                 n_points: int | None = None):
        super().__init__(name, value, field, n_points, on="initial")


class InitialRate(Condition):
    """d u_field / dt (t0, x) = g(x): an initial velocity, for second order in time."""

    order = 1
    on = "initial"

    def __init__(self, name: str = "initial_rate", value: float | ValueFn = 0.0, field: str = "u",
                 time: str = "t", n_points: int | None = None):
        self.name, self.value, self.field, self.time, self.n_points = name, value, field, time, n_points
        self.fields = (field,)

    def residual(self, x: Tensor, d: Derivatives, data: Data) -> Tensor:
        return d(self.field, self.time) - _value(self.value, x)


class Periodic(Condition):
    """u(.., lo, ..) = u(.., hi, ..) along ``axis``, and so for the derivatives up to ``order``
    in that axis, for every field in ``fields``: a soft periodic constraint. The points come as
    n pairs: rows [0, n) on the face {axis}_lo, rows [n, 2n) the same points moved to {axis}_hi."""

    def __init__(self, name: str = "periodic", axis: str = "x", order: int = 1, fields: Sequence[str] = ("u",),
                 n_points: int | None = None):
        self.name, self.axis, self.order, self.n_points = name, axis, order, n_points
        self.fields, self.on = tuple(fields), f"{axis}_lo"

    def sample(self, domain: Domain, n: int, method: str, seed: int) -> np.ndarray:
        lo_points = domain.sample_boundary(n, method, seed, part=self.on)
        column = list(domain.names).index(self.axis)
        hi_points = lo_points.copy()
        hi_points[:, column] = domain.bounds[1][column]
        return np.concatenate([lo_points, hi_points])

    def residual(self, x: Tensor, d: Derivatives, data: Data) -> Tensor:
        jumps = []
        for field in self.fields:
            for r in range(self.order + 1):
                value = d(field, *(self.axis,) * r)
                lo, hi = value.chunk(2)
                jumps.append(lo - hi)
        return torch.cat(jumps)


class PointData(Condition):
    """u_field(x_i) = y_i at fixed observation points x_i (n, n_in) with values y_i (n,); the
    sampler's point count does not apply."""

    def __init__(self, name: str = "data", points: np.ndarray | None = None, values: np.ndarray | None = None,
                 field: str = "u"):
        if points is None or values is None or len(points) != len(values):
            raise ValueError(f"PointData {name!r} needs points (n, n_in) and values (n,) of the same length")
        self.name, self.field, self.fields = name, field, (field,)
        self.points = np.asarray(points, dtype=float)
        self.values = np.asarray(values, dtype=float).reshape(-1)
        self.n_points = len(self.points)

    def sample(self, domain: Domain, n: int, method: str, seed: int) -> np.ndarray:
        return self.points

    def point_data(self, domain: Domain, x: np.ndarray) -> dict[str, np.ndarray]:
        return {"values": self.values}

    def check(self, domain: Domain, outputs: Sequence[str], inputs: Sequence[str]) -> None:
        super().check(domain, outputs, inputs)
        if self.points.ndim != 2 or self.points.shape[1] != len(inputs):
            raise ConfigError(f"conditions.{self.name}", f"points must be (n, {len(inputs)}), got {self.points.shape}")

    def residual(self, x: Tensor, d: Derivatives, data: Data) -> Tensor:
        return d(self.field) - data["values"]
