"""Loss weighting: a strategy that turns the named loss terms into the one scalar the optimiser
minimises. A new strategy is one ``Weighting`` subclass plus one ``@WEIGHTINGS.register`` line; an
adaptive one keeps its weights in ``state_dict`` so that a resumed run continues them.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Mapping

from torch import Tensor

from ..registry import Registry


class Weighting(ABC):
    """total = combination of the terms {name: scalar tensor with graph}."""

    @abstractmethod
    def __call__(self, terms: Mapping[str, Tensor]) -> Tensor:
        """The scalar to minimise."""

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: Mapping) -> None:
        pass


WEIGHTINGS: Registry[type[Weighting]] = Registry("loss weighting", "optim.weighting")


@WEIGHTINGS.register("fixed")
class FixedWeights(Weighting):
    """total = sum_k w_k L_k with constant weights w (problem.weights, optim.sparsity.weight)."""

    def __init__(self, weights: Mapping[str, float]):
        self.weights = dict(weights)

    def __call__(self, terms: Mapping[str, Tensor]) -> Tensor:
        return sum(self.weights[k] * v for k, v in terms.items())


__all__ = ["FixedWeights", "WEIGHTINGS", "Weighting"]
