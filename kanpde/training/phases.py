"""Optimiser phases: the loop runs the phases of ``optim.phases`` in order, each a small class here.

A phase is built from plain keyword arguments, ``Adam(steps=1000, lr=1e-2, lr_final=1e-3)``, that
fill its ``Options`` dataclass (declared beside it; its fields are the config section
``optim.<name>``, from which schema.py derives the schema). It owns its torch optimiser: ``start``
builds it over the trained parameters (from a saved ``state_dict`` on a resume or a rollback),
``step`` takes one step on the loss. A new optimiser is one subclass with its options plus one
``@PHASES.register("name")`` line, in kanpde or in your own module. Learning-rate schedules are
registered in ``SCHEDULES``.

    adam    Adam, lr from a schedule between lr and lr_final over the phase; callbacks may resample
            points and change the KAN grid between its steps
    lbfgs   L-BFGS with a strong-Wolfe line search, one iteration per step; ends early when it
            makes no progress
    bfgs, ssbfgs, ssbroyden
            dense quasi-Newton with a strong-Wolfe line search (quasi_newton.py): plain BFGS, and
            the self-scaled BFGS and Broyden updates; up to max_parameters parameters

A phase's number in history.h5 (``code``) is its place in the registry: adam 0, lbfgs 1, bfgs 2,
ssbfgs 3, ssbroyden 4, then phases registered later in the order they are imported.
"""
from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, Callable, ClassVar, Mapping

import torch
from torch import Tensor

from ..errors import ConfigError
from ..options import Configured, Options, above, at_least, build_options
from ..registry import Registry
from .base import Converged, Objective, Step, flat_parameters
from .limited_memory import LimitedMemoryInverseHessian
from .quasi_newton import DenseInverseHessian, InverseHessian, SelfScaledQuasiNewton


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


class Phase(Configured, ABC):
    """One optimiser over ``steps`` steps, built from the keyword arguments of its ``Options``.

    ``accepts_changes``: whether callbacks may resample the points or change the grid between its
    steps (a quasi-Newton method's curvature pairs assume a fixed loss); ``keeps_state``: whether a
    rollback restores the optimiser state saved with the parameters (or starts afresh). ``name``
    is set by ``PHASES.register``.
    """

    name: ClassVar[str]
    Options: ClassVar[type[Options]]
    accepts_changes: ClassVar[bool] = False
    keeps_state: ClassVar[bool] = False

    def __init__(self, **options: Any):
        self.options = build_options(self.Options, options, f"the {type(self).__name__} phase")
        self.optimizer: torch.optim.Optimizer | None = None
        self.lr_scale = 1.0

    @property
    def steps(self) -> int:
        return int(self.options.steps)

    @property
    def code(self) -> int:
        """The phase's number in history.h5's ``phase``: its place in ``PHASES``."""
        return PHASES.index(self.name)

    def start(self, params: list[Tensor], lr_scale: float = 1.0, state: Mapping[str, Any] | None = None) -> None:
        """A fresh optimiser over ``params`` with its step size scaled by ``lr_scale`` (rollbacks
        halve it), continuing ``state`` (a ``state_dict()``) when given; cached losses forgotten."""
        self.lr_scale = lr_scale
        self.optimizer = self.make_optimizer(params, lr_scale)
        if state is not None:
            self.optimizer.load_state_dict(state)
        self.reset()

    def stop(self) -> None:
        """The phase is over: its optimiser is released."""
        self.optimizer = None

    def state_dict(self) -> dict | None:
        """The optimiser's state (None before ``start`` and after ``stop``)."""
        return None if self.optimizer is None else self.optimizer.state_dict()

    @abstractmethod
    def make_optimizer(self, params: list[Tensor], lr_scale: float) -> torch.optim.Optimizer:
        """The torch optimiser over ``params``, its step size scaled by ``lr_scale``."""

    @abstractmethod
    def step(self, loss: Objective, phase_step: int) -> Step:
        """Step ``phase_step`` of the phase on ``loss``; raises Converged when there is no progress."""

    def reset(self) -> None:
        """Forget anything cached about the loss (the parameters or points changed under the phase)."""


PHASES: Registry[type[Phase]] = Registry("optimiser phase", "optim.phases", label=True)


@dataclass
class AdamOptions(Options):
    steps: int = 1000
    lr: float = 1e-2
    lr_final: float = 1e-3  # the exponential / cosine schedules end here
    schedule: str = "exponential"  # SCHEDULES: constant | exponential | cosine

    def check(self) -> None:
        at_least(self, "steps", 0)
        above(self, "lr", 0)
        above(self, "lr_final", 0)
        if self.schedule not in SCHEDULES:
            raise ConfigError("schedule", f"unknown learning-rate schedule {self.schedule!r}; "
                                          f"choices: {', '.join(SCHEDULES.names())}")


@PHASES.register("adam")
class Adam(Phase):
    """torch.optim.Adam; learning rate SCHEDULES[schedule](lr, lr_final, step / steps) * lr_scale."""

    Options, accepts_changes, keeps_state = AdamOptions, True, True

    def make_optimizer(self, params: list[Tensor], lr_scale: float) -> torch.optim.Optimizer:
        return torch.optim.Adam(params, lr=self.options.lr * lr_scale)

    def learning_rate(self, step: int) -> float:
        """The schedule's learning rate at ``step`` of the phase (before any rollback scaling)."""
        o = self.options
        return SCHEDULES.get(o.schedule)(o.lr, o.lr_final, step / max(self.steps, 1))

    def step(self, loss: Objective, phase_step: int) -> Step:
        lr = self.learning_rate(phase_step) * self.lr_scale
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        self.optimizer.zero_grad()
        total, terms = loss()
        if not torch.isfinite(total):
            return Step(math.nan, terms, lr)
        total.backward()
        self.optimizer.step()
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


@dataclass
class LBFGSOptions(Options):
    steps: int = 3000  # iterations; each is one history row
    lr: float = 1.0
    history_size: int = 50

    def check(self) -> None:
        at_least(self, "steps", 0)
        above(self, "lr", 0)
        at_least(self, "history_size", 1)


@PHASES.register("lbfgs")
class LBFGS(Phase):
    """torch.optim.LBFGS, one iteration per step (at most 25 line-search evaluations), strong-Wolfe
    line search; the loss at a point just evaluated is reused, not recomputed."""

    Options = LBFGSOptions

    def __init__(self, **options: Any):
        super().__init__(**options)
        self._memo: _Memo | None = None

    def make_optimizer(self, params: list[Tensor], lr_scale: float) -> torch.optim.Optimizer:
        return torch.optim.LBFGS(params, lr=self.options.lr * lr_scale, max_iter=1, max_eval=26,
                                 history_size=self.options.history_size, tolerance_grad=1e-12, tolerance_change=1e-14,
                                 line_search_fn="strong_wolfe")

    def reset(self) -> None:
        self._memo = None

    def _closure(self, loss: Objective) -> Tensor:
        """The loss and its gradients at the current parameters, memoised."""
        params = loss.parameters()
        flat = flat_parameters(params)
        memo = self._memo
        if memo is not None and memo.revision == loss.revision and torch.equal(flat, memo.params):
            for p, g in zip(params, memo.grads):
                p.grad = g
            return memo.loss
        self.optimizer.zero_grad()
        total, terms = loss()
        total.backward()
        self._memo = _Memo(flat, loss.revision, [p.grad for p in params], total.detach(), terms)
        return self._memo.loss

    def step(self, loss: Objective, phase_step: int) -> Step:
        before = flat_parameters(loss.parameters())
        self.optimizer.step(lambda: self._closure(loss))
        self._closure(loss)  # the loss at the accepted point (free when the line search ended there)
        memo = self._memo
        if torch.equal(before, flat_parameters(loss.parameters())) and torch.isfinite(memo.loss):
            raise Converged(f"L-BFGS converged after {phase_step} iterations")
        return Step(float(memo.loss), memo.terms, self.optimizer.param_groups[0]["lr"])


@dataclass
class QuasiNewtonOptions(Options):
    steps: int = 5000  # iterations; each is one history row
    lr: float = 1.0  # length of the very first (steepest-descent) step; later trial steps start at 1
    c1: float = 1.0e-4  # strong Wolfe: sufficient decrease
    c2: float = 0.9  # strong Wolfe: curvature
    max_ls: int = 25  # line-search iterations per step
    max_parameters: int = 20000  # the dense inverse Hessian takes 8 n^2 bytes (20,000: 3.2 GB)
    memory: int = 0  # 0: the dense inverse Hessian; m > 0: built from the last m pairs (limited_memory.py), any size

    def check(self) -> None:
        at_least(self, "steps", 0)
        at_least(self, "max_ls", 1)
        at_least(self, "max_parameters", 1)
        at_least(self, "memory", 0)
        if not 0 < self.c1 < self.c2 < 1:
            raise ConfigError("c2", f"the Wolfe constants need 0 < c1 < c2 < 1, got c1={self.c1}, c2={self.c2}")
        above(self, "lr", 0)


class QuasiNewton(Phase):
    """SelfScaledQuasiNewton with the update ``name`` (its H dense, or from the last ``memory``
    pairs), one iteration per step; the loss at the accepted point is the line search's last
    evaluation. Ends early when the line search finds no decrease even along steepest descent."""

    Options = QuasiNewtonOptions

    def __init__(self, **options: Any):
        super().__init__(**options)
        self._revision = -1

    def make_optimizer(self, params: list[Tensor], lr_scale: float) -> torch.optim.Optimizer:
        n, o = sum(p.numel() for p in params), self.options
        if o.memory:
            inverse: InverseHessian = LimitedMemoryInverseHessian(o.memory, self.name)
        elif n > o.max_parameters:
            raise ConfigError(f"optim.{self.name}.max_parameters",
                              f"{n} trained parameters need a {n} x {n} inverse Hessian ({8 * n * n / 2**30:.1f} GiB "
                              f"in float64), over the limit of {o.max_parameters}; raise it, or keep the last m "
                              f"pairs only with optim.{self.name}.memory=m (e.g. 50)")
        else:
            inverse = DenseInverseHessian(self.name)
        return SelfScaledQuasiNewton(params, self.name, lr=o.lr * lr_scale, c1=o.c1, c2=o.c2, max_ls=o.max_ls,
                                     inverse_hessian=inverse)

    def reset(self) -> None:
        self._revision = -1

    def step(self, loss: Objective, phase_step: int) -> Step:
        optimizer: SelfScaledQuasiNewton = self.optimizer  # type: ignore[assignment]
        if self._revision != loss.revision:  # new points or weights: the stored gradient is stale
            optimizer.forget_gradient()
            self._revision = loss.revision

        def closure() -> tuple[Tensor, dict[str, float]]:
            optimizer.zero_grad()
            total, terms = loss()
            if torch.isfinite(total):
                total.backward()
            return total, terms

        done = optimizer.step(closure)
        if done is None:
            raise Converged(f"{self.name}: no decrease along the quasi-Newton or steepest-descent direction "
                            f"after {phase_step} iterations")
        return Step(done[0], done[1], optimizer.param_groups[0]["lr"])


@PHASES.register("bfgs")
class BFGS(QuasiNewton):
    """Dense BFGS (phi = 1, tau = 1)."""


@PHASES.register("ssbfgs")
class SSBFGS(QuasiNewton):
    """Self-scaled BFGS: the BFGS update of H scaled by 1 / tau, tau = min(1, 1/b)."""


@PHASES.register("ssbroyden")
class SSBroyden(QuasiNewton):
    """Self-scaled Broyden: phi and tau of the Broyden family chosen per step (quasi_newton.py)."""


__all__ = ["Adam", "AdamOptions", "BFGS", "Converged", "LBFGS", "LBFGSOptions", "PHASES", "Phase", "QuasiNewton",
           "QuasiNewtonOptions", "SCHEDULES", "SSBFGS", "SSBroyden", "Step"]
