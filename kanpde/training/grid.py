"""The KAN grid schedule: B-spline grid updates and grid extension at given steps of a phase that
accepts changes (Adam), fitted at the current collocation points.

    update (every ``update_every`` steps up to ``update_until``): knots follow the distribution of
        each layer's inputs (eps: weight of the uniform grid), coefficients refitted
    extension (at step ``extend_at[i]``, grid size ``extend_to[i]``): knots subdivided, every edge's
        function refitted by least squares; the parameters change shape: with ``carry_state`` the
        optimiser's moments are refitted the same way and it goes on (jaxKAN does this for Adam),
        else it restarts
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import torch

from ..errors import ConfigError
from ..options import Options, at_least, within
from .base import TrainingState
from .callbacks import Callback



@dataclass
class GridOptions(Options):
    """The config section optim.grid."""

    update_every: int = 0  # Adam steps between grid updates from the samples (0: none)
    update_until: int = -1  # last Adam step that may update the grid (-1: all of Adam)
    eps: float = 0.02  # weight of the uniform grid against the sample quantiles
    extend_at: list[int] = field(default_factory=list)  # Adam steps at which ...
    extend_to: list[int] = field(default_factory=list)  # ... the grid is extended to these sizes
    carry_state: bool = True  # refit Adam's moments onto the extended grid (false: restart Adam)

    def check(self) -> None:
        at_least(self, "update_every", 0)
        within(self, "eps", 0, 1, closed=True)
        if len(self.extend_at) != len(self.extend_to):
            raise ConfigError("extend_to", "needs one grid size per step in optim.grid.extend_at")
        if any(b <= a for a, b in zip(self.extend_at, self.extend_at[1:])):
            raise ConfigError("extend_at", f"steps must increase, got {list(self.extend_at)}")


class GridSchedule(Callback):
    """Grid updates and extensions of a KAN on schedule (nothing for other networks), with the
    options of ``GridOptions``."""

    Options = GridOptions

    def __init__(self, update_every: int = 0, update_until: int = -1, eps: float = 0.02,
                 extend_at: Sequence[int] = (), extend_to: Sequence[int] = (), carry_state: bool = True):
        self.update_every, self.update_until, self.eps = update_every, update_until, eps
        self.extend = dict(zip(extend_at, extend_to))
        self.carry_state = carry_state

    def prepare_step(self, loop: TrainingState) -> None:
        net, step = loop.net, loop.phase_step
        update = (self.update_every and step > 0 and step % self.update_every == 0
                  and (self.update_until < 0 or step <= self.update_until))
        if not net.is_kan or not (step in self.extend or update):
            return
        # in a data-parallel run every rank fits the same grid, at all ranks' points
        x = loop.loss.gather(net.normalize(torch.cat([v for k, v in loop.loss.points.items() if "/" not in k])))
        if step in self.extend:
            optimizer = loop.phase.optimizer
            carry = self.carry_state and isinstance(optimizer, torch.optim.Adam)
            net.core.extend_grid(x, self.extend[step], optimizer if carry else None)
            loop.event(f"grid extended to {self.extend[step]}" + (", optimiser state carried over" if carry else ""))
            if not carry:
                loop.parameters_replaced()
        else:
            net.core.update_grid(x, self.eps)


__all__ = ["GridSchedule"]
