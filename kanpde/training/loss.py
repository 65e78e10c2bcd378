"""The training objective: a network's named loss terms on a problem at the collocation points,
weighted into one scalar.

    residuals = {pde, <condition names>: pointwise residuals (pde/residuals.py)}
    terms = {name: mean_i residuals[name]_i^2} + regularisers
    total = weighting(terms, residuals, points)

The collocation points are an attribute that callbacks may replace (resampling, RAD). In a
data-parallel run (distributed.py) each rank holds a share of the points; the loss and its
gradients are then the global ones, averaged over the ranks.
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
from .base import Objective
from .distributed import DataParallel
from .weighting import Weighting

Regularizer = Callable[[SolutionNet, Mapping[str, Tensor]], Tensor]  # (net, points) -> scalar


class Loss(Objective):
    """``loss()`` -> (total with graph, {term: float}) for ``net`` on ``problem`` at ``points``.

    ``engine``: the derivative engine (pde/derivatives.py); ``regularizers``: extra named terms;
    ``compile``: torch.compile the residual terms (after one eager evaluation, which builds the
    basis tables outside tracing); ``parallel``: this process's place in a data-parallel run.
    """

    def __init__(self, problem: Problem, net: SolutionNet, points: dict[str, Tensor], weighting: Weighting, *,
                 engine: str = "auto", regularizers: Mapping[str, Regularizer] | None = None, compile: bool = False,
                 parallel: DataParallel | None = None):
        self.problem, self.net, self.weighting, self.parallel = problem, net, weighting, parallel
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
        self._share = {k: 1.0 for k in points}  # a rank's term = sum over its share / global count * ranks
        if self.parallel is not None:
            counts = torch.tensor([float(len(v)) for v in points.values()], dtype=torch.float64)
            totals = self.parallel.sum(counts)
            self._share = {k: float(self.parallel.size * n / total) for k, n, total in zip(points, counts, totals)}

    def _evaluate(self) -> tuple[dict[str, Tensor], dict[str, Tensor]]:
        residuals = self._residuals(self.points)
        terms = {name: (r**2).mean() * self._share.get(name, 1.0) for name, r in residuals.items()}
        terms.update({name: reg(self.net, self.points) for name, reg in self.regularizers.items()})
        return terms, residuals

    def check(self) -> None:
        """Evaluate every residual once and refuse wrong shapes (pde/residuals.check_shapes)."""
        check_shapes(self.problem, pointwise_residuals(self.problem, self.net, self.points, self.engine), self.points)

    def terms(self) -> dict[str, Tensor]:
        """Every named term at the current points, unweighted: {name: scalar with graph} (in a
        data-parallel run: this rank's part, whose gradients backward averages over the ranks)."""
        if self.parallel is not None:
            self.parallel.average_gradients(self.parameters())
        return self._evaluate()[0]

    def __call__(self) -> tuple[Tensor, dict[str, float]]:
        if self.parallel is not None:
            self.parallel.average_gradients(self.parameters())
        terms, residuals = self._evaluate()
        total = self.weighting(terms, residuals, self.points)
        values = torch.stack([total.detach(), *(v.detach() for v in terms.values())])
        if self.parallel is not None:  # every rank sees the global value; gradients stay local until backward
            values = self.parallel.mean(values)
            total = total + (values[0] - total).detach()
        return total, {k: float(v) for k, v in zip(terms, values[1:])}

    def parameters(self) -> list[Tensor]:
        """What training changes: the network's parameters and the problem's unknown coefficients."""
        return [*self.net.parameters(), *self.problem.unknowns.values()]


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
