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

import torch
from torch import Tensor

from ..errors import ConfigError
from ..nets import SolutionNet
from .callbacks import Callback, StalledError
from .history import History
from .loss import Loss
from .base import Converged, TrainingState
from .phases import Phase, flat_parameters

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

    # ----- where training stands ----------------------------------------------------------------
    @property
    def net(self) -> SolutionNet:
        return self.loss.net

    @property
    def phase(self) -> Phase:
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
        return sum(p.steps for p in self.phases)

    @property
    def finished(self) -> bool:
        return self.phase_index >= len(self.phases)

    def parameters(self) -> list[Tensor]:
        return self.loss.parameters()

    def flat_parameters(self) -> Tensor:
        """Every trained parameter, detached, in one vector."""
        return flat_parameters(self.parameters())

    def unknown_values(self) -> dict[str, float]:
        """The problem's unknown coefficients now: {name: value}."""
        return {k: float(p.detach()) for k, p in self.loss.problem.unknowns.items()}

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
        self._set_unknowns(snapshot["unknowns"])
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

    def _stopping(self) -> bool:
        """Whether training stops before this step. In a data-parallel run the ranks decide together:
        a stop on any rank (a time limit, a signal) stops all of them here, with its reason."""
        reason, parallel = self.stop_reason, self.loss.parallel
        if parallel is None or not parallel.any(reason is not None):
            return reason is not None
        if reason is None:
            self.stop(next(r for r in parallel.gather_objects(reason) if r is not None))
        else:
            parallel.gather_objects(reason)
        return True

    def _run_phase(self, phase: Phase) -> bool:
        """The steps of ``phase`` from ``phase_step`` on; True when training stops."""
        while self.phase_step < phase.steps:
            self._call("on_step_begin")
            if self._stopping():
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
            self.history.append(step=step.index, phase=phase.code, elapsed_s=self.elapsed, lr=step.lr, loss=step.loss,
                                **{f"loss_terms/{k}": v for k, v in step.terms.items()},
                                **{f"unknowns/{k}": v for k, v in self.unknown_values().items()})
            self.phase_step += 1
            self._call("on_step_end", step)
        return False

    # ----- checkpoints ---------------------------------------------------------------------------
    def state_dict(self) -> dict:
        """Everything needed to continue this run exactly (in a data-parallel run every rank calls
        it together: the weighting state, which may be pointwise, is kept for each rank)."""
        parallel, weighting = self.loss.parallel, self.loss.weighting.state_dict()
        return {"net": self.net.state_dict(), "grid_sizes": self.net.grid_sizes(), "unknowns": self.unknown_values(),
                "optimizer": None if self.finished else self.phase.state_dict(),
                "phases": [p.name for p in self.phases], "phase": self.phase_index, "phase_step": self.phase_step,
                "elapsed": self.elapsed, "lr_scale": self.lr_scale, "events": self.events, "history": self.history.rows,
                "processes": 1 if parallel is None else parallel.size,
                "weighting": weighting if parallel is None else parallel.gather_objects(weighting),
                "callbacks": {cb.key: cb.state_dict() for cb in self.callbacks}}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Continue from ``state_dict()`` of a loop with the same phases and callbacks. A stop (a
        time limit) is not part of the state: the callbacks decide again."""
        names, parallel = [p.name for p in self.phases], self.loss.parallel
        if state["phases"] != names:
            raise ConfigError("optim.phases", f"{names} differs from the checkpoint's {state['phases']}")
        processes = 1 if parallel is None else parallel.size
        if state.get("processes", 1) != processes:
            raise ConfigError("processes", f"the run was trained by {state.get('processes', 1)} processes and resumes "
                                           f"with {processes}; resume it with as many (torchrun --nproc_per_node)")
        self.net.load_trained(state["net"], state["grid_sizes"])
        self._set_unknowns(state["unknowns"])
        self.phase_index, self.phase_step, self.elapsed = state["phase"], state["phase_step"], state["elapsed"]
        self.lr_scale, self.events = state["lr_scale"], state["events"]
        self.history.rows = state["history"]
        for cb in self.callbacks:
            if cb.key in state["callbacks"]:
                cb.load_state_dict(state["callbacks"][cb.key])
        weighting = state["weighting"] if parallel is None else state["weighting"][parallel.rank]
        self.loss.weighting.load_state_dict(weighting)  # after the callbacks have restored the points
        for phase in self.phases:
            phase.stop()
        if not self.finished:
            self.phase.start(self.parameters(), self.lr_scale, state["optimizer"])

    @torch.no_grad()
    def _set_unknowns(self, values: Mapping[str, float]) -> None:
        for k, v in values.items():
            self.loss.problem.unknowns[k].fill_(v)


__all__ = ["Loop"]
