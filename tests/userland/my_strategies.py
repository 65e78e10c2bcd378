"""A user's own optimiser phase and loss weighting, registered on import (outside kanpde)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import torch
from torch import Tensor

from kanpde.options import Options, above, at_least, within
from kanpde.training import PHASES, WEIGHTINGS, Phase, Step, Weighting


@dataclass
class HeavyBallOptions(Options):
    steps: int = 100
    lr: float = 1e-3
    momentum: float = 0.9

    def check(self) -> None:
        at_least(self, "steps", 0)
        above(self, "lr", 0)
        within(self, "momentum", 0, 1)


@PHASES.register("heavy_ball")
class HeavyBall(Phase):
    """Gradient descent with heavy-ball momentum: v <- momentum v + g, theta <- theta - lr v."""

    Options, accepts_changes, keeps_state = HeavyBallOptions, True, True

    def make_optimizer(self, params: list[Tensor], lr_scale: float) -> torch.optim.Optimizer:
        return torch.optim.SGD(params, lr=self.options.lr * lr_scale, momentum=self.options.momentum)

    def step(self, loss, phase_step: int) -> Step:
        self.optimizer.zero_grad()
        total, terms = loss()
        total.backward()
        self.optimizer.step()
        return Step(float(total.detach()), terms, self.optimizer.param_groups[0]["lr"])


@dataclass
class LogSumOptions(Options):
    scale: float = 1.0

    def check(self) -> None:
        above(self, "scale", 0)


@WEIGHTINGS.register("log_sum")
class LogSum(Weighting):
    """total = sum_k w_k scale log(1 + L_k / scale): large terms count less than linearly."""

    Options = LogSumOptions

    def __call__(self, terms: Mapping[str, Tensor], residuals: Mapping[str, Tensor],
                 points: Mapping[str, Tensor]) -> Tensor:
        s = self.options.scale
        return sum(self.weights[k] * s * torch.log1p(v / s) for k, v in terms.items())
