"""SIGTERM (what a cluster scheduler sends before it kills a job) and SIGINT (Ctrl-C) end training
cleanly: the first one asks the loop to stop after the step under way, so the run can write its
checkpoint and outputs with ``status: interrupted``; a second one interrupts at once
(KeyboardInterrupt)."""
from __future__ import annotations

import signal
import threading
from contextlib import contextmanager
from typing import Any, Iterator

from ..errors import KanpdeError
from .base import TrainingState


SIGNALS = (signal.SIGTERM, signal.SIGINT)


class Interrupted(KanpdeError):
    """Training was stopped by a signal; ``signal`` names it, ``solution`` is what was trained (set
    by kanpde.solve) and ``exit_code`` is the shell's 128 + signal number."""

    def __init__(self, message: str, signum: int):
        super().__init__(message)
        self.signal, self.exit_code = signal.Signals(signum).name, 128 + signum

    solution: Any = None


@contextmanager
def stop_on_signals(loop: TrainingState) -> Iterator[list[int]]:
    """While the block runs, the first SIGTERM or SIGINT calls ``loop.stop`` and is appended to the
    yielded list; the next one raises KeyboardInterrupt. The previous handlers come back after.
    A signal the process was told to ignore stays ignored (SIGINT in a shell's background job);
    outside the main thread (where Python allows no handlers) nothing changes."""
    caught: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield caught
        return

    def handler(signum: int, frame: Any) -> None:
        if caught:
            raise KeyboardInterrupt
        caught.append(signum)
        loop.stop(f"interrupted by {signal.Signals(signum).name}")

    previous = {s: signal.signal(s, handler) for s in SIGNALS if signal.getsignal(s) is not signal.SIG_IGN}
    try:
        yield caught
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


__all__ = ["Interrupted", "stop_on_signals"]
