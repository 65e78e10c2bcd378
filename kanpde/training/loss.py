"""The training objective: a network's named loss terms on a problem at the collocation points,
weighted into one scalar.

    terms = {pde, <condition names>: mean-square residuals (pde/residuals.py)} + regularisers
    total = weighting(terms)

The collocation points are an attribute that callbacks may replace (resampling, RAD).
"""
from __future__ import annotations

from typing import Callable, Mapping

import torch
from torch import Tensor

from ..nets import SolutionNet
from ..nets.sparsity import regularizer
from ..pde import Problem
from ..pde.residuals import mean_square_terms
from .weighting import Weighting

Regularizer = Callable[[SolutionNet, Mapping[str, Tensor]], Tensor]  # (net, points) -> scalar


class Loss:
    """``loss()`` -> (total with graph, {term: float}) for ``net`` on ``problem`` at ``points``.

    ``engine``: the derivative engine (pde/derivatives.py); ``regularizers``: extra named terms;
    ``compile``: torch.compile the residual terms (after one eager evaluation, which builds the
    basis tables outside tracing).
    """

    def __init__(self, problem: Problem, net: SolutionNet, points: dict[str, Tensor], weighting: Weighting, *,
                 engine: str = "auto", regularizers: Mapping[str, Regularizer] | None = None, compile: bool = False):
        self.problem, self.net, self.points, self.weighting = problem, net, points, weighting
        self.engine, self.regularizers = engine, dict(regularizers or {})
        residual_terms = lambda pts: mean_square_terms(problem, net, pts, engine)  # noqa: E731
        if compile:
            residual_terms(points)
            residual_terms = torch.compile(residual_terms)
        self._residual_terms = residual_terms

    def terms(self) -> dict[str, Tensor]:
        """Every named term at the current points: {name: scalar with graph}."""
        terms = self._residual_terms(self.points)
        terms.update({name: reg(self.net, self.points) for name, reg in self.regularizers.items()})
        return terms

    def __call__(self) -> tuple[Tensor, dict[str, float]]:
        terms = self.terms()
        return self.weighting(terms), {k: float(v.detach()) for k, v in terms.items()}

    def parameters(self) -> list[Tensor]:
        """What training changes: the network's parameters and the problem's unknown coefficients."""
        return [*self.net.parameters(), *self.problem.unknowns.values()]


class Sparsity:
    """The KAN paper's L1 + entropy regulariser (nets/sparsity.py) of the edge activations at the
    interior collocation points, weighted l1 and entropy inside."""

    def __init__(self, l1: float = 1.0, entropy: float = 2.0):
        self.l1, self.entropy = l1, entropy

    def __call__(self, net: SolutionNet, points: Mapping[str, Tensor]) -> Tensor:
        return regularizer(net.core, net.normalize(points["pde"]), self.l1, self.entropy)


__all__ = ["Loss", "Sparsity"]
