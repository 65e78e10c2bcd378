"""The Problem API: a PDE is a domain, a residual, named conditions and a reference solution.

A new equation is one subclass::

    class Poisson2D(Problem):
        inputs, outputs = ("x", "y"), ("u",)
        def __init__(self, weights=None):
            super().__init__(weights)
            self.domain = Box([-1, -1], [1, 1])
            self.conditions = [Dirichlet("boundary", value=0.0)]
        def residual(self, x, u, d):            # -lap u - f = 0
            return -d.laplacian("u") - self.source(x)
        def exact(self, x):
            return torch.sin(pi * x[:, :1]) * torch.sin(pi * x[:, 1:2])

plus one YAML file naming it with ``_target_``. Loss terms are ``pde`` (or the keys of a dict that
``residual`` returns) and the conditions' names; each term is the mean square of its residual,
times its weight from ``weights`` (default 1).
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

import numpy as np
import torch
from torch import Tensor

from .diff import Derivatives
from .errors import ConfigError
from .geometry import Box, Domain


@dataclass
class TestSet:
    """Evaluation points (N, n_in), reference values (N, n_out), and the grid shape when the
    points form a tensor-product grid in C order (None for scattered points)."""

    points: np.ndarray
    values: np.ndarray
    grid_shape: tuple[int, ...] | None = None


class Condition(ABC):
    """A named loss term away from the interior: boundary, initial or data points."""

    name: str
    n_points: int | None  # None: the sampler's n_boundary
    order: int = 0  # highest derivative order the residual asks for

    @abstractmethod
    def sample(self, domain: Domain, n: int, method: str, seed: int) -> np.ndarray:
        """Points where the condition is imposed: (n, n_in)."""

    @abstractmethod
    def residual(self, x: Tensor, d: Derivatives) -> Tensor:
        """(N,) residual, zero where the condition holds."""


ValueFn = Callable[[Tensor], Tensor]


class Dirichlet(Condition):
    """u_field = g on the boundary: residual u_field(x) - g(x); g a constant or a function (N, n_in) -> (N,)."""

    def __init__(self, name: str = "boundary", value: float | ValueFn = 0.0, field: str = "u",
                 n_points: int | None = None):
        self.name, self.value, self.field, self.n_points = name, value, field, n_points

    def sample(self, domain: Domain, n: int, method: str, seed: int) -> np.ndarray:
        return domain.sample_boundary(n, method, seed)

    def residual(self, x: Tensor, d: Derivatives) -> Tensor:
        g = self.value(x) if callable(self.value) else self.value
        return d(self.field) - g


class Problem(ABC):
    """Base class of every PDE problem. Subclasses set ``domain`` and ``conditions`` in
    ``__init__`` and implement ``residual``, and ``exact`` (or override ``test_set``)."""

    inputs: tuple[str, ...] = ("x", "y")
    outputs: tuple[str, ...] = ("u",)
    residual_names: tuple[str, ...] = ("pde",)
    max_order: int = 2  # highest derivative order that ``residual`` asks for
    test_points_per_axis: int = 101

    domain: Domain
    conditions: Sequence[Condition]

    def __init__(self, weights: Mapping[str, float] | None = None):
        self.weights = dict(weights or {})

    @abstractmethod
    def residual(self, x: Tensor, u: Tensor, d: Derivatives) -> Tensor | dict[str, Tensor]:
        """PDE residual at interior points x (N, n_in) with u (N, n_out): (N,), or a dict of them
        named as in ``residual_names`` for systems."""

    def exact(self, x: Tensor) -> Tensor:
        """Exact solution (N, n_in) -> (N, n_out); problems without one override ``test_set``."""
        raise NotImplementedError(f"{type(self).__name__} has no exact solution; override test_set()")

    @property
    def term_names(self) -> list[str]:
        return [*self.residual_names, *(c.name for c in self.conditions)]

    def loss_weights(self) -> dict[str, float]:
        """Weight of every loss term; unknown names in ``weights`` are an error."""
        names = self.term_names
        for key in self.weights:
            if key not in names:
                raise ConfigError(f"problem.weights.{key}", f"no loss term named {key!r}; terms: {', '.join(names)}")
        return {name: float(self.weights.get(name, 1.0)) for name in names}

    def collocation(self, n_interior: int, n_boundary: int, method: str, seed: int) -> dict[str, np.ndarray]:
        """Training points for every term: {"pde": (n_interior, n_in), condition name: (n, n_in)}."""
        points = {"pde": self.domain.sample_interior(n_interior, method, seed)}
        for i, c in enumerate(self.conditions):
            n = c.n_points if c.n_points is not None else n_boundary
            points[c.name] = c.sample(self.domain, n, method, seed + 1000 * (i + 1))
        return points

    def losses(self, points: Mapping[str, Tensor], derivatives: Callable[[Tensor, int], Derivatives]
               ) -> dict[str, Tensor]:
        """Mean-square residual of every term: {name: scalar}. ``derivatives(x, order)`` builds
        the derivative engine of the network at x for partials up to ``order``."""
        d = derivatives(points["pde"], self.max_order)
        r = self.residual(d.x, d.u, d)
        residuals = r if isinstance(r, dict) else {"pde": r}
        terms = {name: (value**2).mean() for name, value in residuals.items()}
        for c in self.conditions:
            dc = derivatives(points[c.name], c.order)
            terms[c.name] = (c.residual(dc.x, dc) ** 2).mean()
        return terms

    def test_set(self) -> TestSet:
        """Reference on the grid with ``test_points_per_axis`` points per axis (box domains)."""
        if not isinstance(self.domain, Box):
            raise NotImplementedError(f"{type(self).__name__} must define test_set() for a non-box domain")
        shape = (self.test_points_per_axis,) * self.domain.dim
        x = self.domain.grid(shape)
        with torch.no_grad():
            values = self.exact(torch.as_tensor(x, dtype=torch.float64)).reshape(len(x), -1).numpy()
        return TestSet(x, values, shape)
