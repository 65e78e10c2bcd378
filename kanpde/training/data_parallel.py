"""Data parallelism as two plug-ins on the single-process loop (the reductions are distributed.py's):

    DataParallelLoss   the loss over the union of every rank's points
                       term_k = sum_{i in share} r_ki^2 / N_k * world (N_k: the global count), so the
                       mean over ranks of a term, its value and its gradient, is the global mean; the
                       total and the terms are averaged over ranks (one all-reduce per evaluation), so
                       every rank sees the same loss and line searches, rollbacks and convergence
                       tests agree; each parameter's gradient is averaged over ranks during backward
    AgreeOnStops       a callback, last in the list: a stop on any rank (a time limit, a signal) stops
                       every rank before the same step, with its reason

Every rank then takes the same steps as one process over the union of the points, up to the order
of floating-point sums. Adaptive weightings adapt on each rank's own points (the objective is the
mean of the ranks' objectives); a checkpoint keeps each rank's weighting state.
"""
from __future__ import annotations

from typing import Any, Mapping

import torch
from torch import Tensor

from .base import TrainingState
from .callbacks import Callback
from .distributed import DataParallel
from .interrupt import StopOnSignals
from .loss import Loss


class DataParallelLoss(Loss):
    """``Loss`` on this rank's share of the points, summing to the global objective over the
    ``parallel.size`` ranks (the arguments are Loss's, plus this process's place ``parallel``)."""

    def __init__(self, *args: Any, parallel: DataParallel, **kwargs: Any):
        self.parallel, self.processes = parallel, parallel.size
        super().__init__(*args, **kwargs)

    @Loss.points.setter  # type: ignore[attr-defined]
    def points(self, points: dict[str, Tensor]) -> None:
        Loss.points.fset(self, points)  # type: ignore[attr-defined]
        counts = torch.tensor([float(len(v)) for v in points.values()], dtype=torch.float64)
        totals = self.parallel.sum(counts)
        self._share = {k: float(self.parallel.size * n / total) for k, n, total in zip(points, counts, totals)}

    def _mean_square(self, name: str, r: Tensor) -> Tensor:
        return (r**2).mean() * self._share.get(name, 1.0)

    def terms(self) -> dict[str, Tensor]:
        """This rank's part of every term, whose gradients backward averages over the ranks."""
        self.parallel.average_gradients(self.parameters())
        return super().terms()

    def __call__(self) -> tuple[Tensor, dict[str, float]]:
        self.parallel.average_gradients(self.parameters())
        terms, residuals = self._evaluate()
        total = self.weighting(terms, residuals, self.points)
        values = self.parallel.mean(torch.stack([total.detach(), *(v.detach() for v in terms.values())]))
        total = total + (values[0] - total).detach()  # the global value; gradients stay local until backward
        return total, {k: float(v) for k, v in zip(terms, values[1:])}

    def gather(self, x: Tensor) -> Tensor:
        return self.parallel.gather(x)

    def state_dict(self) -> dict:
        """Every rank's weighting state, in rank order (all ranks call it together)."""
        return {"processes": self.processes, "weighting": self.parallel.gather_objects(self.weighting.state_dict())}

    def load_state_dict(self, state: Mapping) -> None:
        super().load_state_dict({**state, "weighting": state["weighting"][self.parallel.rank]}
                                if state.get("processes", 1) == self.processes else state)


class AgreeOnStops(Callback):
    """A stop on any rank stops every rank before the same step, with that rank's reason; when
    ``signals`` is given, a signal to one rank counts as one to every rank (each ends
    ``interrupted``). It goes last among the callbacks, after every one that may stop."""

    def __init__(self, parallel: DataParallel, signals: StopOnSignals | None = None):
        self.parallel, self.signals = parallel, signals

    def on_step_begin(self, loop: TrainingState) -> None:
        reason = loop.stop_reason
        if self.parallel.any(reason is not None):
            reasons = self.parallel.gather_objects(reason)
            if reason is None:
                loop.stop(next(r for r in reasons if r is not None))

    def on_train_end(self, loop: TrainingState) -> None:
        if self.signals is not None:  # a signal may come after the last step's stop check
            found = [s for caught in self.parallel.gather_objects(self.signals.caught[:1]) for s in caught]
            if found and not self.signals.caught:
                self.signals.caught.append(found[0])


__all__ = ["AgreeOnStops", "DataParallelLoss"]
