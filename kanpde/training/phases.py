"""Optimiser phases: the loop runs the phases of ``optim.phases`` in order, each a small class here.

A phase builds its torch optimiser over the trained parameters and takes one step at a time; a new
optimiser is one subclass plus one ``@PHASES.register("name")`` line and a config section
``optim.<name>`` (config.py). Learning-rate schedules are registered in ``SCHEDULES``.

    adam    Adam, lr from a schedule between lr and lr_final over the phase; callbacks may resample
            points and change the KAN grid between its steps
    lbfgs   L-BFGS with a strong-Wolfe line search, one iteration per step; ends early when it
            makes no progress
    bfgs, ssbfgs, ssbroyden
            dense quasi-Newton with a strong-Wolfe line search (quasi_newton.py): plain BFGS, and
            the self-scaled BFGS and Broyden updates; up to optim.<name>.max_parameters parameters
"""
from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, ClassVar

import torch
from torch import Tensor

from ..errors import ConfigError
from ..registry import Registry
from .quasi_newton import SelfScaledQuasiNewton

if TYPE_CHECKING:
    from .loop import Loop

Schedule = Callable[[float, float, float], float]  # (lr, lr_final, fraction of the phase done) -> lr
SCHEDULES: Registry[Schedule] = Registry("learning-rate schedule", "optim.adam.schedule")


@SCHEDULES.register("constant")
def constant(lr: float, lr_final: float, frac: float) -> float:
    """lr throughout."""
    return lr


@SCHEDULES.register("exponential")
def exponential(lr: float, lr_final: float, frac: float) -> float:
    """lr (lr_final / lr)^frac: geometric decay from lr to lr_final."""
    return lr * (lr_final / lr) ** frac


@SCHEDULES.register("cosine")
def cosine(lr: float, lr_final: float, frac: float) -> float:
    """lr_final + (lr - lr_final) (1 + cos(pi frac)) / 2."""
    return lr_final + 0.5 * (lr - lr_final) * (1 + math.cos(math.pi * frac))


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


class Phase(ABC):
    """One optimiser over ``steps`` steps. ``code`` is the phase's number in history.h5;
    ``accepts_changes``: whether callbacks may resample the points or change the grid between
    its steps (a quasi-Newton method's curvature pairs assume a fixed loss); ``keeps_state``:
    whether a rollback restores the optimiser state saved with the parameters (or starts afresh)."""

    name: ClassVar[str]
    code: ClassVar[int]
    accepts_changes: ClassVar[bool] = False
    keeps_state: ClassVar[bool] = False

    def __init__(self, cfg: Any):
        self.cfg = cfg
        self.steps = int(cfg.steps)

    @abstractmethod
    def optimizer(self, params: list[Tensor], lr_scale: float) -> torch.optim.Optimizer:
        """A fresh optimiser over ``params``, its step size scaled by ``lr_scale`` (rollbacks halve it)."""

    @abstractmethod
    def step(self, loop: Loop) -> Step:
        """One step of ``loop.optimizer`` on ``loop.loss``; raises Converged when there is no progress."""

    def reset(self) -> None:
        """Forget anything cached about the loss (the parameters or points changed under the phase)."""


PHASES: Registry[type[Phase]] = Registry("optimiser phase", "optim.phases")


@PHASES.register("adam")
class Adam(Phase):
    """torch.optim.Adam; learning rate SCHEDULES[schedule](lr, lr_final, step / steps) * lr_scale."""

    name, code, accepts_changes, keeps_state = "adam", 0, True, True

    def optimizer(self, params: list[Tensor], lr_scale: float) -> torch.optim.Optimizer:
        return torch.optim.Adam(params, lr=self.cfg.lr * lr_scale)

    def learning_rate(self, step: int) -> float:
        """The schedule's learning rate at ``step`` of the phase (before any rollback scaling)."""
        return SCHEDULES.get(self.cfg.schedule)(self.cfg.lr, self.cfg.lr_final, step / max(self.steps, 1))

    def step(self, loop: Loop) -> Step:
        lr = self.learning_rate(loop.phase_step) * loop.lr_scale
        for group in loop.optimizer.param_groups:
            group["lr"] = lr
        loop.optimizer.zero_grad()
        total, terms = loop.loss()
        if not torch.isfinite(total):
            return Step(math.nan, terms, lr)
        total.backward()
        loop.optimizer.step()
        return Step(float(total.detach()), terms, lr)


@dataclass
class _Memo:
    """The last loss evaluation: the flat parameters and loss revision it was made at, its
    gradients and terms."""

    params: Tensor
    revision: int
    grads: list[Tensor | None]
    loss: Tensor
    terms: dict[str, float]


@PHASES.register("lbfgs")
class LBFGS(Phase):
    """torch.optim.LBFGS, one iteration per step (at most 25 line-search evaluations), strong-Wolfe
    line search; the loss at a point just evaluated is reused, not recomputed."""

    name, code = "lbfgs", 1

    def __init__(self, cfg: Any):
        super().__init__(cfg)
        self._memo: _Memo | None = None

    def optimizer(self, params: list[Tensor], lr_scale: float) -> torch.optim.Optimizer:
        return torch.optim.LBFGS(params, lr=self.cfg.lr * lr_scale, max_iter=1, max_eval=26,
                                 history_size=self.cfg.history_size, tolerance_grad=1e-12, tolerance_change=1e-14,
                                 line_search_fn="strong_wolfe")

    def reset(self) -> None:
        self._memo = None

    def _closure(self, loop: Loop) -> Tensor:
        """The loss and its gradients at the current parameters, memoised."""
        params = loop.parameters()
        flat = loop.flat_parameters()
        memo = self._memo
        if memo is not None and memo.revision == loop.loss.revision and torch.equal(flat, memo.params):
            for p, g in zip(params, memo.grads):
                p.grad = g
            return memo.loss
        loop.optimizer.zero_grad()
        total, terms = loop.loss()
        total.backward()
        self._memo = _Memo(flat, loop.loss.revision, [p.grad for p in params], total.detach(), terms)
        return self._memo.loss

    def step(self, loop: Loop) -> Step:
        before = loop.flat_parameters()
        loop.optimizer.step(lambda: self._closure(loop))
        self._closure(loop)  # the loss at the accepted point (free when the line search ended there)
        memo = self._memo
        if torch.equal(before, loop.flat_parameters()) and torch.isfinite(memo.loss):
            raise Converged(f"L-BFGS converged after {loop.phase_step} iterations")
        return Step(float(memo.loss), memo.terms, loop.optimizer.param_groups[0]["lr"])


class DenseQuasiNewton(Phase):
    """SelfScaledQuasiNewton with the update ``name``, one iteration per step; the loss at the
    accepted point is the line search's last evaluation. Ends early when the line search finds no
    decrease even along steepest descent."""

    def __init__(self, cfg: Any):
        super().__init__(cfg)
        self._revision = -1

    def optimizer(self, params: list[Tensor], lr_scale: float) -> torch.optim.Optimizer:
        n = sum(p.numel() for p in params)
        if n > self.cfg.max_parameters:
            raise ConfigError(f"optim.{self.name}.max_parameters",
                              f"{n} trained parameters need a {n} x {n} inverse Hessian ({8 * n * n / 2**30:.1f} GiB "
                              f"in float64), over the limit of {self.cfg.max_parameters}; raise it or use lbfgs")
        return SelfScaledQuasiNewton(params, self.name, lr=self.cfg.lr * lr_scale, c1=self.cfg.c1, c2=self.cfg.c2,
                                     max_ls=self.cfg.max_ls)

    def reset(self) -> None:
        self._revision = -1

    def step(self, loop: Loop) -> Step:
        optimizer: SelfScaledQuasiNewton = loop.optimizer  # type: ignore[assignment]
        if self._revision != loop.loss.revision:  # new points or weights: the stored gradient is stale
            optimizer.forget_gradient()
            self._revision = loop.loss.revision

        def closure() -> tuple[Tensor, dict[str, float]]:
            optimizer.zero_grad()
            total, terms = loop.loss()
            if torch.isfinite(total):
                total.backward()
            return total, terms

        done = optimizer.step(closure)
        if done is None:
            raise Converged(f"{self.name}: no decrease along the quasi-Newton or steepest-descent direction "
                            f"after {loop.phase_step} iterations")
        return Step(done[0], done[1], optimizer.param_groups[0]["lr"])


@PHASES.register("bfgs")
class BFGS(DenseQuasiNewton):
    """Dense BFGS (phi = 1, tau = 1)."""

    name, code = "bfgs", 2


@PHASES.register("ssbfgs")
class SSBFGS(DenseQuasiNewton):
    """Self-scaled BFGS: the BFGS update of H scaled by 1 / tau, tau = min(1, 1/b)."""

    name, code = "ssbfgs", 3


@PHASES.register("ssbroyden")
class SSBroyden(DenseQuasiNewton):
    """Self-scaled Broyden: phi and tau of the Broyden family chosen per step (quasi_newton.py)."""

    name, code = "ssbroyden", 4


__all__ = ["Adam", "BFGS", "Converged", "DenseQuasiNewton", "LBFGS", "PHASES", "Phase", "SCHEDULES", "SSBFGS",
           "SSBroyden", "Step"]
