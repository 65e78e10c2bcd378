"""The training history: one row per optimiser step, and a row per test-set evaluation (eval/).

Columns are the datasets of history.h5 (step, phase, elapsed_s, lr, loss, loss_terms/<name>,
unknowns/<name>; eval/step, eval/elapsed_s, eval/rel_l2).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..io.files import INT_DATASETS
from .base import Step


@dataclass
class History:
    """Columns of equal length per prefix ("" for step rows, "eval/" for evaluation rows)."""

    rows: dict[str, list] = field(default_factory=dict)

    def append(self, **values: float) -> None:
        for key, value in values.items():
            self.rows.setdefault(key, []).append(value)

    def append_step(self, step: Step, phase: int, elapsed: float, unknowns: dict[str, float]) -> None:
        """The row of one accepted optimiser step (``step.index`` already set)."""
        self.append(step=step.index, phase=phase, elapsed_s=elapsed, lr=step.lr, loss=step.loss,
                    **{f"loss_terms/{k}": v for k, v in step.terms.items()},
                    **{f"unknowns/{k}": v for k, v in unknowns.items()})

    def truncate(self, step: int) -> None:
        """Drop the rows of steps >= ``step`` (after a rollback)."""
        for prefix in ("", "eval/"):
            steps = self.rows.get(prefix + "step", [])
            keep = sum(1 for s in steps if s < step)
            for key in self.rows:
                if key.startswith("eval/") == (prefix == "eval/"):
                    del self.rows[key][keep:]

    def last(self, key: str) -> float | None:
        """The latest value of a column (None when it is empty)."""
        column = self.rows.get(key)
        return column[-1] if column else None

    def arrays(self) -> dict[str, np.ndarray]:
        """Every column as a 1-D array (int64 or float64), as history.h5 stores them."""
        return {k: np.asarray(v, dtype=np.int64 if k in INT_DATASETS else np.float64) for k, v in self.rows.items()}


__all__ = ["History"]
