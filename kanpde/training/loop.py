"""The training loop: phases in order, one optimiser step at a time, callbacks around each step.

    for phase in phases:                      (a resumed run starts inside its phase)
        on_phase_begin
        while phase_step < phase.steps:
            on_step_begin                     off the clock: snapshots, time limit, stops
            prepare_step                      on the clock, phases that accept changes only
            step = phase.step(loop)           Converged ends the phase early
            accept_step                       False: the step was undone and is not recorded
            history row; on_step_end          progress, evaluation, checkpoints
    on_train_end; close

The loop owns the step counters, the training clock (``elapsed``: steps only, evaluation and
checkpoints excluded), the history and the events; each phase owns its optimiser (phases.py). It
gives a checkpoint everything a resumed run needs to continue bitwise-identically on the same
machine (``state_dict``).
"""
from __future__ import annotations

import copy
import logging
import time
from typing import Any, Mapping, Sequence

from ..errors import ConfigError
from .callbacks import Callback, StalledError
from .history import History
from .base import Converged, TrainingState
from .loss import Loss
from .phases import Phase

log = logging.getLogger("kanpde")


class Loop(TrainingState):
    """Trains ``loss.net`` (and ``loss.problem``'s unknowns) through ``phases`` with ``callbacks``."""

    def __init__(self, loss: Loss, phases: Sequence[Phase], callbacks: Sequence[Callback] = ()):
        self.loss, self.phases, self.callbacks = loss, list(phases), list(callbacks)
        keys = [cb.key for cb in self.callbacks]
        if len(set(keys)) != len(keys):
            raise ValueError(f"two callbacks share a key (give each its own `key`): {keys}")
        self.history = History()
        self.events: list[dict] = []
        self.phase_index, self.phase_step, self.elapsed, self.lr_scale = 0, 0, 0.0, 1.0
        self.stop_reason: str | None = None
        if self.phases:
            self.phase.start(self.parameters(), self.lr_scale)
        self._rebuild = False

    # ----- what callbacks may do (stop and event: TrainingState) ------------------------------------
    def parameters_replaced(self) -> None:
        """Parameters were replaced (e.g. a grid extension): the optimiser restarts before the step."""
        self._rebuild = True

    def snapshot(self) -> dict:
        """A copy of the trained state at this step, for ``rewind``."""
        return {"step": self.phase_step, "net": copy.deepcopy(self.net.state_dict()), "grid_sizes": self.net.grid_sizes(),
                "unknowns": self.unknown_values(), "optimizer": copy.deepcopy(self.phase.state_dict())}

    def rewind(self, snapshot: dict, lr_scale: float) -> None:
        """Back to ``snapshot`` (of this phase): parameters, step and history; a fresh optimiser with
        its step size scaled by ``lr_scale`` (carrying the saved state if the phase keeps it)."""
        self.net.load_trained(snapshot["net"], snapshot["grid_sizes"])
        self.set_unknowns(snapshot["unknowns"])
        self.phase_step = snapshot["step"]
        self.history.truncate(self.global_step)
        self.lr_scale = lr_scale
        self.phase.start(self.parameters(), lr_scale, snapshot["optimizer"] if self.phase.keeps_state else None)

    # ----- the loop ------------------------------------------------------------------------------
    def _call(self, hook: str, *args: Any) -> None:
        for cb in self.callbacks:
            getattr(cb, hook)(self, *args)

    def run(self) -> None:
        """Train to the end of the last phase, or until a callback stops it. Raises StalledError
        when there were steps to take and no phase took one."""
        try:
            self._call("on_train_begin")
            while not self.finished:
                self._call("on_phase_begin")
                if self._run_phase(self.phase):
                    break
                self._next_phase()
            self._call("on_train_end")
        finally:
            self._call("close")
        if self.total_steps and self.history.last("step") is None and self.stop_reason is None:
            why = "; ".join(e["event"] for e in self.events) or "every phase stopped before its first step"
            raise StalledError(f"no phase moved the parameters ({why})")

    def _next_phase(self) -> None:
        self.phase.stop()
        self.phase_index += 1
        self.phase_step, self.lr_scale = 0, 1.0
        if not self.finished:
            self.phase.start(self.parameters(), self.lr_scale)

    def _run_phase(self, phase: Phase) -> bool:
        """The steps of ``phase`` from ``phase_step`` on; True when training stops."""
        while self.phase_step < phase.steps:
            self._call("on_step_begin")
            if self.stop_reason is not None:
                return True
            start = time.perf_counter()
            if phase.accepts_changes:
                self._call("prepare_step")
                if self._rebuild:
                    phase.start(self.parameters(), self.lr_scale)
                    self._rebuild = False
            try:
                step = phase.step(self.loss, self.phase_step)
            except Converged as done:
                if self.phase_step == 0:  # a phase that could not take one step: say so in the metrics
                    self.event(f"{done}: the phase did not move the parameters", warn=True)
                else:
                    log.info("%s", done)
                return False
            self.elapsed += time.perf_counter() - start
            if not all(cb.accept_step(self, step) for cb in self.callbacks):
                continue
            step.index = self.global_step
            self.history.append_step(step, phase.code, self.elapsed, self.unknown_values())
            self.phase_step += 1
            self._call("on_step_end", step)
        return False

    # ----- checkpoints ---------------------------------------------------------------------------
    def state_dict(self) -> dict:
        """Everything needed to continue this run exactly, the objective's own state included."""
        return {"net": self.net.state_dict(), "grid_sizes": self.net.grid_sizes(), "unknowns": self.unknown_values(),
                "optimizer": None if self.finished else self.phase.state_dict(),
                "phases": [p.name for p in self.phases], "phase": self.phase_index, "phase_step": self.phase_step,
                "elapsed": self.elapsed, "lr_scale": self.lr_scale, "events": self.events, "history": self.history.rows,
                **self.loss.state_dict(), "callbacks": {cb.key: cb.state_dict() for cb in self.callbacks}}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Continue from ``state_dict()`` of a loop with the same phases and callbacks. A stop (a
        time limit) is not part of the state: the callbacks decide again."""
        names = [p.name for p in self.phases]
        if state["phases"] != names:
            raise ConfigError("optim.phases", f"{names} differs from the checkpoint's {state['phases']}")
        self.net.load_trained(state["net"], state["grid_sizes"])
        self.set_unknowns(state["unknowns"])
        self.phase_index, self.phase_step, self.elapsed = state["phase"], state["phase_step"], state["elapsed"]
        self.lr_scale, self.events = state["lr_scale"], state["events"]
        self.history.rows = state["history"]
        for cb in self.callbacks:
            if cb.key in state["callbacks"]:
                cb.load_state_dict(state["callbacks"][cb.key])
        self.loss.load_state_dict(state)  # after the callbacks have restored the points
        for phase in self.phases:
            phase.stop()
        if not self.finished:
            self.phase.start(self.parameters(), self.lr_scale, state["optimizer"])

__all__ = ["Loop"]
