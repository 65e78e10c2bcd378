"""The types every part of training shares: a step's record, the end of a phase, and the view of
the loop that callbacks and weightings are given (``TrainingState``, which ``Loop`` implements).
Nothing here imports the rest of training/, so no module there needs the loop's own module."""
from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, Sequence

import torch
from torch import Tensor

log = logging.getLogger("kanpde")


@dataclass
class Step:
    """What one optimiser step did: the loss and its terms, the learning rate it used, and (set by
    the loop once the step is accepted) its number over all phases."""

    loss: float
    terms: dict[str, float]
    lr: float
    index: int = -1


class Converged(Exception):
    """The phase can make no further progress; the loop goes on to the next phase."""


class Objective(ABC):
    """What phases and weightings see of the loss (loss.Loss): ``objective()`` -> (total with
    graph, {term: float}); ``revision`` counts its changes (points, weights), so cached gradients
    of an older revision are stale; ``points`` are the collocation points; ``weighting`` (a
    weighting.Weighting) combines the terms."""

    revision: int
    points: dict[str, Tensor]
    weighting: Any

    @abstractmethod
    def __call__(self) -> tuple[Tensor, dict[str, float]]:
        """The weighted total (with its graph) and every term's value."""

    @abstractmethod
    def terms(self) -> dict[str, Tensor]:
        """Every named term, unweighted, with its graph."""

    @abstractmethod
    def parameters(self) -> list[Tensor]:
        """What training changes: the network's parameters and the problem's unknowns."""


def flat_parameters(params: Sequence[Tensor]) -> Tensor:
    """Every parameter, detached, in one vector."""
    return torch.cat([p.detach().reshape(-1) for p in params])


class TrainingState(ABC):
    """Where training stands and what a callback may do to it. Attributes: ``loss`` (the
    objective, loss.Loss), ``phases`` (phases.Phase) and ``phase_index``, ``phase_step`` (the
    next step of the phase), ``elapsed`` (training seconds, evaluation excluded), ``lr_scale``
    (rollbacks halve it), ``history`` (history.History), ``events`` and ``stop_reason`` (set by
    ``stop``; None while training goes on). The views below follow from them; the loop (loop.Loop)
    implements the actions. The types are named, not imported: this module imports nothing else
    of training/."""

    loss: Any
    phases: Sequence[Any]
    phase_index: int
    phase_step: int
    elapsed: float
    lr_scale: float
    history: Any
    events: list[dict]
    stop_reason: str | None

    # ----- where training stands ----------------------------------------------------------------
    @property
    def net(self) -> Any:
        """The network trained (a nets.SolutionNet)."""
        return self.loss.net

    @property
    def phase(self) -> Any:
        """The phase running now (the last one once training is over)."""
        return self.phases[min(self.phase_index, len(self.phases) - 1)]

    @property
    def global_step(self) -> int:
        """The number of the next step over all phases (history's ``step``)."""
        return sum(p.steps for p in self.phases[:self.phase_index]) + self.phase_step

    @property
    def last_step(self) -> int:
        """The number of the last step taken (0 before any; a phase that ended early leaves a gap
        in the numbering, so this is the history's last step, not global_step - 1)."""
        last = self.history.last("step")
        return 0 if last is None else int(last)

    @property
    def total_steps(self) -> int:
        """The steps of every phase together."""
        return sum(p.steps for p in self.phases)

    @property
    def finished(self) -> bool:
        return self.phase_index >= len(self.phases)

    def parameters(self) -> list[Tensor]:
        """What training changes: the network's parameters and the problem's unknowns."""
        return self.loss.parameters()

    def flat_parameters(self) -> Tensor:
        """Every trained parameter, detached, in one vector."""
        return flat_parameters(self.parameters())

    def unknown_values(self) -> dict[str, float]:
        """The problem's unknown coefficients now: {name: value}."""
        return {k: float(p.detach()) for k, p in self.loss.problem.unknowns.items()}

    @torch.no_grad()
    def set_unknowns(self, values: dict[str, float]) -> None:
        """Set the problem's unknown coefficients from ``unknown_values()`` (a rewind, a resume)."""
        for k, v in values.items():
            self.loss.problem.unknowns[k].fill_(v)

    # ----- what callbacks may do ----------------------------------------------------------------
    def stop(self, reason: str) -> None:
        """End training before the next step; the reason becomes an event (once: a resumed run
        stopped again for the same reason at the same step adds none)."""
        if self.stop_reason is None:
            self.stop_reason = reason
            if self.events[-1:] != [{"step": self.global_step, "event": reason}]:
                self.event(reason)

    def event(self, message: str, warn: bool = False) -> None:
        """Record something that happened at the current step (metrics.json ``events``) and log it."""
        self.events.append({"step": self.global_step, "event": message})
        (log.warning if warn else log.info)("%s (step %d)", message, self.global_step)

    @abstractmethod
    def parameters_replaced(self) -> None:
        """Parameters were replaced (a grid extension): the phase's optimiser restarts."""

    @abstractmethod
    def snapshot(self) -> dict:
        """A copy of the trained state at this step, for ``rewind``."""

    @abstractmethod
    def rewind(self, snapshot: dict, lr_scale: float) -> None:
        """Back to ``snapshot`` with the step size scaled by ``lr_scale``."""

    @abstractmethod
    def state_dict(self) -> dict:
        """Everything a resumed run needs."""

    @abstractmethod
    def load_state_dict(self, state: Any) -> None:
        """Continue from ``state_dict()``."""


__all__ = ["Converged", "Objective", "Step", "TrainingState", "flat_parameters"]
