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
A problem only declares; training samples its collocation points (training/collocation.py) and
builds its test sets from what it declares (test_set.py).
"""
from __future__ import annotations

import math
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, Mapping, Sequence

import torch
from torch import Tensor

from ..errors import ConfigError
from ..geometry import Domain
from .conditions import Condition
from .constraints import HardConstraint
from .derivatives import Derivatives
from .test_set import TestSet, default_test_set


class Problem(ABC):
    """Base class of every PDE problem. Subclasses set ``domain`` and ``conditions`` in
    ``__init__`` and implement ``residual``, and ``exact`` (or override ``test_set``).

    Optional: ``unknowns`` (name -> initial value) are coefficients learned with the network (an
    inverse problem: read them as ``self.unknown("nu")`` in ``residual``); ``periodic_inputs``
    (input name -> period) makes the network exactly periodic in those inputs through a
    (cos, sin) input embedding; ``hard_constraint`` (a constraints.HardConstraint) imposes the
    conditions it names exactly through an output transform, and they leave the loss.
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
        self.hard_constraint: HardConstraint | None = None

    @abstractmethod
    def residual(self, x: Tensor, u: Tensor, d: Derivatives) -> Tensor | dict[str, Tensor]:
        """PDE residual at interior points x (N, n_in) with u (N, n_out): (N,), or a dict of them
        named as in ``residual_names`` for systems."""

    def exact(self, x: Tensor) -> Tensor:
        """Exact solution (N, n_in) -> (N, n_out), NaN where it is not known; a problem without
        one leaves it out and may give ``reference`` data or override ``test_set``."""
        raise NotImplementedError(f"{type(self).__name__} has no exact solution")

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
    def soft_conditions(self) -> list[Condition]:
        """The conditions trained as loss terms: all but those the hard constraint replaces."""
        replaced = () if self.hard_constraint is None else self.hard_constraint.replaces
        return [c for c in self.conditions if c.name not in replaced]

    @property
    def term_names(self) -> list[str]:
        return [*self.residual_names, *(c.name for c in self.soft_conditions)]

    def loss_weights(self) -> dict[str, float]:
        """Weight of every loss term; unknown names in ``weights`` are an error."""
        names, conditions = self.term_names, {c.name for c in self.conditions}
        for key in self.weights:
            if key not in names and key not in conditions:  # a replaced condition's weight is unused
                raise ConfigError(f"problem.weights.{key}", f"no loss term named {key!r}; terms: {', '.join(names)}")
        weights = {name: _weight(name, self.weights.get(name, 1.0)) for name in names}
        if weights and not any(weights.values()):
            raise ConfigError("problem.weights", "every loss term has weight 0: there is nothing to train")
        return weights

    def check(self) -> None:
        """One-line errors for conditions on missing boundaries or fields, and bad weights."""
        names = [c.name for c in self.conditions]
        for name in names:
            if names.count(name) > 1 or name in self.residual_names:
                raise ConfigError(f"conditions.{name}", "two loss terms share this name")
        for c in self.conditions:
            c.check(self.domain, self.outputs, self.inputs)
        for name in () if self.hard_constraint is None else self.hard_constraint.replaces:
            if name not in names:
                raise ConfigError("hard_constraint", f"replaces {name!r}, which is no condition; conditions: "
                                                     f"{', '.join(names) or 'none'}")
        for name in self.periodic_inputs:
            if name not in self.inputs:
                raise ConfigError("periodic_inputs", f"no input named {name!r}; inputs: {', '.join(self.inputs)}")
        self.loss_weights()

    @property
    def has_time(self) -> bool:
        """Whether the domain has a time axis (a SpaceTime domain)."""
        return self.domain.time_name is not None

    def test_set(self) -> TestSet:
        """The reference on test points: by default from ``reference`` (a data file) or ``exact``
        (test_set.default_test_set); override it for a reference computed another way."""
        return default_test_set(self)

    def test_sets(self) -> dict[str, TestSet]:
        """Named test sets; the first is drawn in solution.png and written to solution.vtu, the
        others to <name>.png and solution_<name>.vtu; those marked ``scored`` make the run's score
        (test_set.py). Default: ``{"test": self.test_set()}``; override it to add, e.g., published
        values along a centreline (``line_set``) beside the whole field."""
        return {"test": self.test_set()}


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
