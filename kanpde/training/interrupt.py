"""SIGTERM (what a cluster scheduler sends before it kills a job) and SIGINT (Ctrl-C) end training
cleanly: the first one stops the loop before its next step, so the run can write its checkpoint
and outputs with ``status: interrupted``; a second one interrupts at once (KeyboardInterrupt)."""
from __future__ import annotations

import signal
import threading
from typing import Any

from ..errors import KanpdeError
from .base import TrainingState
from .callbacks import Callback


SIGNALS = (signal.SIGTERM, signal.SIGINT)


class Interrupted(KanpdeError):
    """Training was stopped by a signal; ``signal`` names it, ``solution`` is what was trained (set
    by kanpde.solve) and ``exit_code`` is the shell's 128 + signal number."""

    def __init__(self, message: str, signum: int):
        super().__init__(message)
        self.signal, self.exit_code = signal.Signals(signum).name, 128 + signum

    solution: Any = None


class StopOnSignals(Callback):
    """From the start of training to its end, the first SIGTERM or SIGINT is kept in ``caught``
    and stops the loop before the next step; the next one raises KeyboardInterrupt (``at_once``).
    The previous handlers come back when training ends. A signal the process was told to ignore
    stays ignored (SIGINT in a shell's background job); outside the main thread (where Python
    allows no handlers) nothing changes. Put it first: its stop wins over the others'."""

    def __init__(self) -> None:
        self.caught: list[int] = []  # the first signal, once one came
        self.at_once = False
        self._previous: dict[int, Any] = {}

    def _handler(self, signum: int, frame: Any) -> None:
        if self.caught:
            self.at_once = True
            raise KeyboardInterrupt
        self.caught.append(signum)

    def on_train_begin(self, loop: TrainingState) -> None:
        if threading.current_thread() is threading.main_thread():
            self._previous = {s: signal.signal(s, self._handler) for s in SIGNALS
                              if signal.getsignal(s) is not signal.SIG_IGN}

    def on_step_begin(self, loop: TrainingState) -> None:
        if self.caught:
            loop.stop(f"interrupted by {signal.Signals(self.caught[0]).name}")

    def close(self, loop: TrainingState) -> None:
        for s, h in self._previous.items():
            signal.signal(s, h)
        self._previous = {}


__all__ = ["Interrupted", "StopOnSignals"]
