"""The training objective: a network's named loss terms on a problem at the collocation points,
weighted into one scalar.

    residuals = {pde, <condition names>: pointwise residuals (pde/residuals.py)}
    terms = {name: mean_i residuals[name]_i^2} + regularisers
    total = weighting(terms, residuals, points)

The collocation points are an attribute that callbacks may replace (resampling, RAD). A
data-parallel run trains a subclass over every rank's share of the points (data_parallel.py).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping

import torch
from torch import Tensor

from ..nets import SolutionNet
from ..nets.sparsity import regularizer
from ..options import Options, at_least
from ..pde import Problem
from ..pde.residuals import check_shapes, pointwise_residuals
from ..errors import ConfigError
from .base import Objective
from .weighting import Weighting

Regularizer = Callable[[SolutionNet, Mapping[str, Tensor]], Tensor]  # (net, points) -> scalar


class Loss(Objective):
    """``loss()`` -> (total with graph, {term: float}) for ``net`` on ``problem`` at ``points``.

    ``engine``: the derivative engine (pde/derivatives.py); ``regularizers``: extra named terms;
    ``compile``: torch.compile the residual terms (after one eager evaluation, which builds the
    basis tables outside tracing).
    """

    processes = 1  # how many processes share the points (data_parallel.DataParallelLoss: more)

    def __init__(self, problem: Problem, net: SolutionNet, points: dict[str, Tensor], weighting: Weighting, *,
                 engine: str = "auto", regularizers: Mapping[str, Regularizer] | None = None, compile: bool = False):
        self.problem, self.net, self.weighting = problem, net, weighting
        self.revision = 0  # counts changes of the objective (points, weights): cached gradients go stale
        self.points = points
        self.engine, self.regularizers = engine, dict(regularizers or {})
        residuals = lambda pts: pointwise_residuals(problem, net, pts, engine)  # noqa: E731
        if compile:
            residuals(points)
            residuals = torch.compile(residuals)
        self._residuals = residuals

    @property
    def points(self) -> dict[str, Tensor]:
        """The collocation points {"pde": (N, n_in), condition: (n, n_in), ...}; replacing them
        changes the objective (``revision``)."""
        return self._points

    @points.setter
    def points(self, points: dict[str, Tensor]) -> None:
        self._points = points
        self.revision += 1
        self.weighting.points_changed()

    def _mean_square(self, name: str, r: Tensor) -> Tensor:
        """The term of residual ``name`` at these points: mean_i r_i^2."""
        return (r**2).mean()

    def _evaluate(self) -> tuple[dict[str, Tensor], dict[str, Tensor]]:
        residuals = self._residuals(self.points)
        terms = {name: self._mean_square(name, r) for name, r in residuals.items()}
        terms.update({name: reg(self.net, self.points) for name, reg in self.regularizers.items()})
        return terms, residuals

    def check(self) -> None:
        """Evaluate every residual once and refuse wrong shapes (pde/residuals.check_shapes)."""
        check_shapes(self.problem, pointwise_residuals(self.problem, self.net, self.points, self.engine), self.points)

    def terms(self) -> dict[str, Tensor]:
        """Every named term at the current points, unweighted: {name: scalar with graph}."""
        return self._evaluate()[0]

    def __call__(self) -> tuple[Tensor, dict[str, float]]:
        terms, residuals = self._evaluate()
        total = self.weighting(terms, residuals, self.points)
        return total, {k: float(v.detach()) for k, v in terms.items()}

    def parameters(self) -> list[Tensor]:
        """What training changes: the network's parameters and the problem's unknown coefficients."""
        return [*self.net.parameters(), *self.problem.unknowns.values()]

    def gather(self, x: Tensor) -> Tensor:
        """Rows (n, ...) computed at this process's points, with those of every process that shares
        the points, in rank order (one process: ``x`` itself)."""
        return x

    def state_dict(self) -> dict:
        """The objective's part of a checkpoint: how many processes shared the points and the
        weighting's state (adaptive weights, which may be pointwise)."""
        return {"processes": self.processes, "weighting": self.weighting.state_dict()}

    def load_state_dict(self, state: Mapping) -> None:
        """Continue from ``state_dict()``: refused when another number of processes trained it."""
        if state.get("processes", 1) != self.processes:
            raise ConfigError("processes", f"the run was trained by {state.get('processes', 1)} processes and resumes "
                                           f"with {self.processes}; resume it with as many (torchrun --nproc_per_node)")
        self.weighting.load_state_dict(state["weighting"])


@dataclass
class SparsityOptions(Options):
    """The config section optim.sparsity."""

    weight: float = 0.0  # weight of the loss term `sparsity` (0: off); KANs only
    l1: float = 1.0  # mu_1: weight of the edges' L1 norms in it
    entropy: float = 2.0  # mu_2: weight of the per-layer entropies in it

    def check(self) -> None:
        for name in ("weight", "l1", "entropy"):
            at_least(self, name, 0)


class Sparsity:
    """The KAN paper's L1 + entropy regulariser (nets/sparsity.py) of the edge activations at the
    interior collocation points, weighted l1 and entropy inside (the loss term's weight is
    ``SparsityOptions.weight``)."""

    Options = SparsityOptions

    def __init__(self, l1: float = 1.0, entropy: float = 2.0):
        self.l1, self.entropy = l1, entropy

    def __call__(self, net: SolutionNet, points: Mapping[str, Tensor]) -> Tensor:
        return regularizer(net.core, net.normalize(points["pde"]), self.l1, self.entropy)


__all__ = ["Loss", "Sparsity"]
