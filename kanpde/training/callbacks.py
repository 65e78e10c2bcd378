"""Callbacks: everything around the optimiser steps, as hooks the loop calls in list order.

A callback overrides the hooks it needs (``Callback``); one with state that a resumed run must
continue returns it from ``state_dict``. The ones here: ``DivergenceGuard`` (roll back diverging steps),
``TimeLimit``, ``Evaluation`` (test-set errors into the history), ``Checkpoint`` and ``Progress``;
collocation.py has ``Resample``, grid.py ``GridSchedule``. Pass your own to ``kanpde.solve(...,
callbacks=[...])``.
"""
from __future__ import annotations

import logging
import math
from typing import Any, Callable, Mapping

import torch
from tqdm.auto import tqdm

from ..errors import KanpdeError
from ..nets import SolutionNet
from .base import Step, TrainingState


log = logging.getLogger("kanpde")


class Callback:
    """Hooks around training; each does nothing unless overridden. ``key`` names the callback's
    state in checkpoints (the class name unless set)."""

    @property
    def key(self) -> str:
        return type(self).__name__

    def on_train_begin(self, loop: TrainingState) -> None:
        """Before the first step (of a fresh or a resumed run)."""

    def on_phase_begin(self, loop: TrainingState) -> None:
        """When ``loop.phase`` starts or resumes."""

    def on_step_begin(self, loop: TrainingState) -> None:
        """Before a step, off the training clock; ``loop.stop(reason)`` ends training here."""

    def prepare_step(self, loop: TrainingState) -> None:
        """On the clock, before the step, in phases that accept changes: resample points, change
        grids; after replacing parameters call ``loop.parameters_replaced()``."""

    def accept_step(self, loop: TrainingState, step: Step) -> bool:
        """After the step: False undoes it (it is not recorded; the callback has rewound the loop)."""
        return True

    def on_step_end(self, loop: TrainingState, step: Step) -> None:
        """After the step's history row (``step.index``) is written."""

    def on_train_end(self, loop: TrainingState) -> None:
        """After the last phase or a stop; not after an exception."""

    def close(self, loop: TrainingState) -> None:
        """Always, last (release resources)."""

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        pass


class DivergedError(KanpdeError):
    """Training could not go on: the loss kept diverging after repeated rollbacks."""

    solution: Any = None  # set by kanpde.solve: the Solution at the last good state


class StalledError(KanpdeError):
    """Training took no step at all: every phase stopped before its first one (a line search that
    cannot move, a step size of 1e30); the network is the untrained one."""

    solution: Any = None  # set by kanpde.solve: the Solution (untrained)


class DivergenceGuard(Callback):
    """Undoes steps that diverge: a non-finite loss or parameter, a parameter above
    ``max_parameter`` in size, or a loss above ``blowup`` times the lowest one seen in the phase on
    the current collocation points. Training goes back to the last state whose loss was seen to be
    good (saved every ``snapshot_every`` steps of the phase; at first the state the phase started
    from) with the step size scaled by 1/2 and an event recorded; after ``max_rollbacks`` rollbacks
    it stays at that state and raises DivergedError."""

    def __init__(self, snapshot_every: int = 50, max_rollbacks: int = 8, blowup: float = 1e6,
                 max_parameter: float = 1e8):
        self.snapshot_every, self.max_rollbacks, self.blowup = snapshot_every, max_rollbacks, blowup
        self.max_parameter = max_parameter
        self.rollbacks = 0
        self._pending: dict | None = None  # saved before a step, good once that step's loss is
        self._good: dict | None = None
        self._best, self._points = math.inf, None

    def on_phase_begin(self, loop: TrainingState) -> None:
        self._pending = self._good = None
        self._best, self._points = math.inf, None

    def on_step_begin(self, loop: TrainingState) -> None:
        if self._good is None:  # the state the phase starts (or resumes) from
            self._good = loop.snapshot()
        elif loop.phase_step % self.snapshot_every == 0:
            self._pending = loop.snapshot()

    def _diverged(self, loop: TrainingState, step: Step) -> str | None:
        if loop.loss.points is not self._points:  # new points: a new objective, a new reference
            self._best, self._points = math.inf, loop.loss.points
        flat = loop.flat_parameters()
        if not (math.isfinite(step.loss) and torch.isfinite(flat).all()):
            return "non-finite loss"
        if flat.abs().max() > self.max_parameter:
            return f"a parameter grew to {float(flat.abs().max()):.3g}"
        if step.loss > self.blowup * self._best:
            return f"loss {step.loss:.3g} above {self.blowup:g} times the phase's best {self._best:.3g}"
        self._best = min(self._best, step.loss)
        return None

    def accept_step(self, loop: TrainingState, step: Step) -> bool:
        reason = self._diverged(loop, step)
        if reason is None:
            if self._pending is not None and self._pending["step"] == loop.phase_step:
                self._good, self._pending = self._pending, None
            return True
        self.rollbacks += 1
        failed_at = loop.phase_step
        if self.rollbacks > self.max_rollbacks:
            loop.rewind(self._good, loop.lr_scale)
            raise DivergedError(f"{reason} at {loop.phase.name} step {failed_at} after "
                                f"{self.rollbacks - 1} rollbacks; the state of step {loop.phase_step} is kept")
        loop.rewind(self._good, loop.lr_scale * 0.5)
        self._pending = None
        loop.event(f"{reason} at {loop.phase.name} step {failed_at}: rolled back to step {loop.phase_step},"
                   f" step size scaled by {loop.lr_scale:g}", warn=True)
        return False

    def state_dict(self) -> dict:
        return {"rollbacks": self.rollbacks}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.rollbacks = state["rollbacks"]


class TimeLimit(Callback):
    """Stops training once ``seconds`` of training time (``loop.elapsed``) have passed."""

    def __init__(self, seconds: float):
        self.seconds = seconds

    def on_step_begin(self, loop: TrainingState) -> None:
        if loop.elapsed >= self.seconds:
            later = [p.name for p in loop.phases[loop.phase_index + 1:] if p.steps]
            skipped = (f"; not run: {', '.join(later)} (a larger optim.time_limit and resume=true run them)"
                       if later else "")
            loop.stop(f"time limit of {self.seconds:g} s reached in {loop.phase.name}{skipped}")


class Evaluation(Callback):
    """The test-set error ``evaluate(net)`` every ``every`` steps (0: only at the end), as a row of
    eval/step, eval/elapsed_s, eval/rel_l2; evaluation time does not count as training time.
    ``evaluate=None`` (a test set without any reference value): no rows."""

    def __init__(self, evaluate: Callable[[SolutionNet], float] | None, every: int):
        self.evaluate, self.every = evaluate, every

    def record(self, loop: TrainingState, step: int, error: float | None = None) -> None:
        """The error now (``error`` when the caller has it already), as the eval row of ``step``
        (once per step)."""
        if self.evaluate is None or loop.history.last("eval/step") == step:
            return
        error = self.evaluate(loop.net) if error is None else error
        loop.history.append(**{"eval/step": step, "eval/elapsed_s": loop.elapsed, "eval/rel_l2": error})

    def on_step_end(self, loop: TrainingState, step: Step) -> None:
        if self.every and step.index % self.every == 0:
            self.record(loop, step.index)

    def on_train_end(self, loop: TrainingState) -> None:
        self.record(loop, loop.last_step)


class Checkpoint(Callback):
    """Hands ``loop.state_dict()`` to ``save`` before the first step (so a run killed early can be
    resumed), every ``every`` steps of a phase and at the end."""

    def __init__(self, save: Callable[[dict], None], every: int):
        self.save, self.every = save, every

    def on_train_begin(self, loop: TrainingState) -> None:
        if loop.global_step == 0:
            self.save(loop.state_dict())

    def on_step_end(self, loop: TrainingState, step: Step) -> None:
        if loop.phase_step % self.every == 0:
            self.save(loop.state_dict())

    def on_train_end(self, loop: TrainingState) -> None:
        self.save(loop.state_dict())


class Progress(Callback):
    """A tqdm progress bar over all steps with the loss terms (only on a terminal unless forced)."""

    def __init__(self, enabled: bool = True, every: int = 25):
        self.enabled, self.every = enabled, every
        self._bar: Any = None

    def on_train_begin(self, loop: TrainingState) -> None:
        self._bar = tqdm(total=loop.total_steps, initial=loop.global_step, dynamic_ncols=True, leave=False,
                         disable=None if self.enabled else True)  # None: only on a terminal

    def on_phase_begin(self, loop: TrainingState) -> None:
        self._bar.set_description(loop.phase.name)

    def on_step_end(self, loop: TrainingState, step: Step) -> None:
        self._bar.update(1)
        if step.index % self.every == 0:
            self._bar.set_postfix({"loss": f"{step.loss:.2e}", **{k: f"{v:.1e}" for k, v in step.terms.items()}})

    def close(self, loop: TrainingState) -> None:
        if self._bar is not None:
            self._bar.close()


__all__ = ["Callback", "Checkpoint", "DivergedError", "DivergenceGuard", "Evaluation", "Progress", "TimeLimit"]
