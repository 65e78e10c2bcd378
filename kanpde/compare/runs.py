"""Run directories found below some folders: each one that holds a metrics.json, read once.

A Hydra multirun leaves one run directory per job; ``find_runs`` collects them, each directory once
however the folders given overlap, and warns about any it cannot read.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from ..errors import KanpdeError
from ..io import read_history, read_json

REQUIRED = ("problem", "model", "status")
NUMBERS = ("rel_l2", "max_abs_error", "final_loss", "train_seconds", "n_params")  # what the tables compute with


@dataclass
class Run:
    """One run directory: its metrics and (when readable) its history."""

    path: Path
    metrics: dict
    history: dict[str, np.ndarray] | None

    @property
    def ok(self) -> bool:
        return self.metrics["status"] == "ok"

    @property
    def scored(self) -> bool:
        """Whether the run has a test error (a problem without reference data has none)."""
        value = self.metrics.get("rel_l2")
        return isinstance(value, (int, float)) and np.isfinite(value)

    @property
    def key(self) -> tuple[str, str]:
        return self.metrics["problem"], self.metrics["model"]

    def time_to_reach(self, level: float) -> float | None:
        """Training seconds until the test error first fell to ``level`` (None: never)."""
        if not self.history or "eval/elapsed_s" not in self.history:
            return None
        reached = np.nonzero(self.history["eval/rel_l2"] <= level)[0]
        return float(self.history["eval/elapsed_s"][reached[0]]) if len(reached) else None


def find_runs(dirs: Sequence[str | Path]) -> tuple[list[Run], list[str]]:
    """All runs under ``dirs`` and one warning per run directory that could not be read."""
    runs, warnings, seen = [], [], set()
    for d in map(Path, dirs):
        if not d.is_dir():
            raise KanpdeError(f"{d}: no such directory")
        for metrics_path in sorted(d.rglob("metrics.json")):
            if metrics_path.resolve() in seen:  # folders given that hold one another
                continue
            seen.add(metrics_path.resolve())
            try:
                metrics = read_json(metrics_path)
                missing = [k for k in REQUIRED if k not in metrics]
                if missing:
                    raise KanpdeError(f"{metrics_path} lacks {', '.join(missing)}")
                bad = [k for k in NUMBERS if k in metrics and not _number(metrics[k])]
                if bad:
                    raise KanpdeError(f"{metrics_path}: {bad[0]} is not a number ({metrics[bad[0]]!r})")
            except KanpdeError as exc:
                warnings.append(f"skipped {metrics_path.parent}: {exc}")
                continue
            history = None
            if (metrics_path.parent / "history.h5").exists():
                try:
                    history = read_history(metrics_path.parent / "history.h5")
                except KanpdeError as exc:
                    warnings.append(f"no error history for {metrics_path.parent}: {exc}")
            runs.append(Run(metrics_path.parent, metrics, history))
    if not runs:
        raise KanpdeError(f"no runs (no readable metrics.json) under {', '.join(map(str, dirs))}")
    return runs, warnings


def _number(value: object) -> bool:
    return value is None or (isinstance(value, (int, float)) and not isinstance(value, bool))


def group(runs: Sequence[Run]) -> dict[tuple[str, str], list[Run]]:
    groups: dict[tuple[str, str], list[Run]] = defaultdict(list)
    for run in runs:
        groups[run.key].append(run)
    return dict(sorted(groups.items()))
