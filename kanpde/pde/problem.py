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

plus one YAML file naming it with ``_target_`` (or pass an instance to ``kanpde.solve``). Loss terms
are ``pde`` (or the keys of a dict that ``residual`` returns) and the conditions' names; each term
is the mean square of its residual (pde/residuals.py), times its weight from ``weights`` (default 1).
"""
from __future__ import annotations

import math
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import torch
from torch import Tensor

from ..errors import ConfigError, KanpdeError
from ..geometry import Domain
from ..io.reference import read_reference
from .conditions import Condition
from .derivatives import Derivatives
from .test_set import TestSet, delaunay_in


class Problem(ABC):
    """Base class of every PDE problem. Subclasses set ``domain`` and ``conditions`` in
    ``__init__`` and implement ``residual``, and ``exact`` (or override ``test_set``).

    Optional: ``unknowns`` (name -> initial value) are coefficients learned with the network (an
    inverse problem: read them as ``self.unknown("nu")`` in ``residual``); ``periodic_inputs``
    (input name -> period) makes the network exactly periodic in those inputs through a
    (cos, sin) input embedding; ``hard`` = True with ``hard_constraint`` imposes conditions exactly
    through an output transform (drop those conditions from ``conditions``).
    """

    inputs: tuple[str, ...] = ("x", "y")
    outputs: tuple[str, ...] = ("u",)
    residual_names: tuple[str, ...] = ("pde",)
    max_order: int = 2  # highest derivative order that ``residual`` asks for
    test_points_per_axis: int = 101
    reference: str | Path | None = None  # a reference data file instead of exact() (config: problem.reference)

    domain: Domain
    conditions: Sequence[Condition]

    def __new__(cls, *args: Any, **kwargs: Any) -> "Problem":
        problem = super().__new__(cls)
        problem._init_args = (args, kwargs)  # a run records them to rebuild the problem (build.problem_spec)
        return problem

    def __init__(self, weights: Mapping[str, float] | None = None):
        self.weights = dict(weights or {})
        self.unknowns: dict[str, torch.Tensor] = {}
        self.true_unknowns: dict[str, float] = {}
        self.periodic_inputs: dict[str, float] = {}
        self.hard = False  # True: the network satisfies conditions exactly through hard_constraint()
        self.replaced: tuple[str, ...] = ()  # conditions the hard constraint replaces (their weights are ignored)

    @abstractmethod
    def residual(self, x: Tensor, u: Tensor, d: Derivatives) -> Tensor | dict[str, Tensor]:
        """PDE residual at interior points x (N, n_in) with u (N, n_out): (N,), or a dict of them
        named as in ``residual_names`` for systems."""

    def exact(self, x: Tensor) -> Tensor:
        """Exact solution (N, n_in) -> (N, n_out), NaN where it is not known; a problem without
        one leaves it out and may give ``reference`` data or override ``test_set``."""
        raise NotImplementedError(f"{type(self).__name__} has no exact solution")

    def hard_constraint(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """(g, phi), each (N, n_out), for the output transform u = g + phi * network(x) used when
        ``self.hard`` is set: g meets the conditions it replaces, phi vanishes where they apply."""
        raise NotImplementedError(f"{type(self).__name__} has no hard constraint")

    @property
    def init_args(self) -> tuple[tuple, dict]:
        """The positional and keyword arguments this instance was constructed with."""
        return self._init_args

    # ----- unknown coefficients (inverse problems) ----------------------------------------------
    def add_unknown(self, name: str, initial: float, true: float | None = None) -> None:
        """Declare a scalar coefficient learned with the network, starting at ``initial``; ``true``
        (when known, as in a benchmark) is reported beside the recovered value."""
        self.unknowns[name] = torch.nn.Parameter(torch.tensor(float(initial), dtype=torch.float64))
        if true is not None:
            self.true_unknowns[name] = float(true)

    def unknown(self, name: str) -> Tensor:
        """The current value of an unknown coefficient (a 0-d tensor with gradient)."""
        return self.unknowns[name]

    def to(self, device: torch.device, dtype: torch.dtype) -> "Problem":
        """Move the unknowns to the training device and dtype (same Parameter objects)."""
        for p in self.unknowns.values():
            p.data = p.data.to(device=device, dtype=dtype)
        return self

    # ----- loss terms ------------------------------------------------------------------------------
    @property
    def term_names(self) -> list[str]:
        return [*self.residual_names, *(c.name for c in self.conditions)]

    def loss_weights(self) -> dict[str, float]:
        """Weight of every loss term; unknown names in ``weights`` are an error."""
        names = self.term_names
        for key in self.weights:
            if key not in names and key not in self.replaced:
                raise ConfigError(f"problem.weights.{key}", f"no loss term named {key!r}; terms: {', '.join(names)}")
        weights = {name: _weight(name, self.weights.get(name, 1.0)) for name in names}
        if weights and not any(weights.values()):
            raise ConfigError("problem.weights", "every loss term has weight 0: there is nothing to train")
        return weights

    def impose_hard(self) -> None:
        """Drop the conditions when ``hard``: the output transform satisfies them exactly."""
        if self.hard:
            self.replaced, self.conditions = tuple(c.name for c in self.conditions), []

    def check(self) -> None:
        """One-line errors for conditions on missing boundaries or fields, and bad weights."""
        names = [c.name for c in self.conditions]
        for name in names:
            if names.count(name) > 1 or name in self.residual_names:
                raise ConfigError(f"conditions.{name}", "two loss terms share this name")
        for c in self.conditions:
            c.check(self.domain, self.outputs, self.inputs)
        for name in self.periodic_inputs:
            if name not in self.inputs:
                raise ConfigError("periodic_inputs", f"no input named {name!r}; inputs: {', '.join(self.inputs)}")
        self.loss_weights()

    def collocation(self, n_interior: int, n_boundary: int, method: str, seed: int,
                    time_fraction: float = 1.0) -> dict[str, np.ndarray]:
        """Training points for every term: {"pde": (n_interior, n_in), condition name: (n, n_in),
        and "name/key" for every per-point array a condition needs}. ``time_fraction`` f < 1 (a
        time window): sampled points cover t0 + f (t1 - t0) instead of t1 (fixed data points stay)."""
        window = self.time_window(time_fraction)
        points = {"pde": window(self.domain.sample_interior(n_interior, method, seed))}
        for i, c in enumerate(self.conditions):
            n = c.n_points if c.n_points is not None else n_boundary
            x = c.sample(self.domain, n, method, seed + 1000 * (i + 1))
            x = points[c.name] = x if c.n_points is not None else window(x)
            points.update({f"{c.name}/{key}": value for key, value in c.point_data(self.domain, x).items()})
        return points

    @property
    def has_time(self) -> bool:
        """Whether the domain has a time axis (a SpaceTime domain)."""
        return self.domain.time_name is not None

    def time_window(self, fraction: float) -> Callable[[np.ndarray], np.ndarray]:
        """x (N, n_in) -> x with t mapped from [t0, t1] to [t0, t0 + fraction (t1 - t0)]."""
        if fraction == 1.0:
            return lambda x: x
        if not self.has_time:
            raise ConfigError("sampler.time_windows", f"{type(self).__name__} has no time axis (a SpaceTime domain)")
        i, t0 = self.inputs.index(self.domain.time_name), self.domain.t0

        def window(x: np.ndarray) -> np.ndarray:
            x = np.array(x, dtype=float)
            x[:, i] = t0 + (x[:, i] - t0) * fraction
            return x

        return window

    def test_set(self) -> TestSet:
        """The reference data file ``reference`` (io/reference.py: any subset of the fields), or
        ``exact`` on the domain's test points (a full grid with ``test_points_per_axis`` points
        per axis on boxes), or, for a problem with neither, those points without reference values
        (the prediction is written and plotted, nothing is scored; NaN from ``exact`` means the same)."""
        if self.reference is not None:
            x, values, triangles = read_reference(self.reference, self.inputs, self.outputs)
            if triangles is None and x.shape[1] == 2:
                triangles = delaunay_in(x, self.domain)
            return TestSet(x, values, None, triangles)
        x, shape = self.domain.test_points(self.test_points_per_axis)
        if type(self).exact is Problem.exact:
            return TestSet(x, np.full((len(x), len(self.outputs)), np.nan), shape, None if shape else self.domain_triangles(x))
        with torch.no_grad():
            values = torch.as_tensor(self.exact(torch.as_tensor(x, dtype=torch.float64)))
        if values.shape == (len(x),) and len(self.outputs) == 1:
            values = values[:, None]
        if values.shape != (len(x), len(self.outputs)):
            raise KanpdeError(f"{type(self).__name__}.exact returned shape {tuple(values.shape)} at {len(x)} points, "
                              f"expected ({len(x)}, {len(self.outputs)}) for the outputs ({', '.join(self.outputs)})")
        return TestSet(x, values.numpy(), shape, None if shape else self.domain_triangles(x))

    def test_sets(self) -> dict[str, TestSet]:
        """Named test sets; the first is drawn in solution.png and written to solution.vtu, the
        others to <name>.png and solution_<name>.vtu; those marked ``scored`` make the run's score
        (test_set.py). Default: ``{"test": self.test_set()}``; override it to add, e.g., published
        values along a centreline (``line_set``) beside the whole field."""
        return {"test": self.test_set()}

    def check_test_sets(self, sets: Mapping[str, TestSet]) -> None:
        """One-line error unless there is a set, each named by a plain word, with points (N, n_in)
        and values (N, n_out)."""
        n_in, n_out = len(self.inputs), len(self.outputs)
        if not isinstance(sets, Mapping) or not sets:
            raise KanpdeError(f"{type(self).__name__}.test_sets must return a non-empty dict of name -> TestSet")
        for name, test in sets.items():
            if not (isinstance(name, str) and name.isidentifier()) or not isinstance(test, TestSet):
                raise KanpdeError(f"{type(self).__name__}.test_sets: {name!r} must be a plain name (letters, digits, _) "
                                  f"with a TestSet, got {type(test).__name__}")
            points, values = np.shape(test.points), np.shape(test.values)
            if len(points) != 2 or points[1] != n_in or values != (points[0], n_out):
                raise KanpdeError(f"{type(self).__name__}: its test set {name!r} has points {points} and values {values}, "
                                  f"expected (N, {n_in}) and (N, {n_out})")

    def domain_triangles(self, x: np.ndarray) -> np.ndarray | None:
        """Triangles (M, 3) over scattered 2-D test points x (N, 2): the mesh's own cells for a mesh
        domain, else the Delaunay triangles whose centroids lie in the domain (None in other dims)."""
        if x.shape[1] != 2:
            return None
        cells = self.domain.cells
        return cells if cells is not None else delaunay_in(x, self.domain)


def _weight(name: str, value: Any) -> float:
    """A loss weight: a finite number >= 0 (0 switches the term off)."""
    try:
        weight = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"problem.weights.{name}", f"must be a number, got {value!r}") from None
    if isinstance(value, bool) or not (math.isfinite(weight) and weight >= 0):
        raise ConfigError(f"problem.weights.{name}", f"must be a finite number >= 0, got {value!r}")
    return weight


def condition_data(points: Mapping[str, Tensor], name: str) -> dict[str, Tensor]:
    """The per-point arrays of condition ``name`` among the collocation ``points``."""
    prefix = name + "/"
    return {key[len(prefix):]: value for key, value in points.items() if key.startswith(prefix)}


def check_constraints(constraints: str) -> bool:
    """True for "hard" (conditions imposed through the network's output), False for "soft"."""
    if constraints not in ("soft", "hard"):
        raise ConfigError("problem.constraints", f"must be soft or hard, got {constraints!r}")
    return constraints == "hard"
