"""A run directory and its output contract: metrics.json, history.h5, checkpoint.pt, solution.vtu
(+ solution.xdmf), solution.png, reference.png, error.png, loss.png; every file written atomically.

``RunDirectory`` refuses to clobber a finished run, checks that a resumed run is the same run, and
writes the files; metrics.json is written first as ``running`` and last with the final status.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import numpy as np
from omegaconf import OmegaConf

from ..errors import ConfigError, KanpdeError
from .figures import plot_fields, plot_history
from .files import atomic_path, load_checkpoint, save_checkpoint, write_history, write_json
from .vtu import write_solution

if TYPE_CHECKING:
    from ..pde import TestSet

CHECKPOINT, METRICS, CONFIG = "checkpoint.pt", "metrics.json", ".hydra/config.yaml"
RESUME_KEYS = ("problem", "model", "sampler", "seed", "dtype", "diff")  # what a resumed run may not change


class RunDirectory:
    """The folder ``path`` of one run whose composed config (plain containers) is ``config``."""

    def __init__(self, path: str | Path, config: Mapping[str, Any]):
        self.path, self.config = Path(path), dict(config)

    def holds_run(self) -> bool:
        return (self.path / CHECKPOINT).exists() or (self.path / METRICS).exists()

    def resume_state(self, resume: bool, overwrite: bool) -> dict | None:
        """The checkpoint to continue (``resume``) or None for a fresh run; refuses a fresh run in a
        directory that holds one (unless ``overwrite``) and a resume whose config changed a
        ``RESUME_KEYS`` key."""
        ckpt = self.path / CHECKPOINT
        if resume:
            if not ckpt.exists():
                raise KanpdeError(f"resume=true but there is no checkpoint {ckpt}")
            state = read_checkpoint(ckpt)
            for key in RESUME_KEYS:
                if state["config"].get(key) != self.config.get(key):
                    raise ConfigError(key, f"differs from the checkpoint's in {ckpt}; resume with the same {key}")
            return state
        if self.holds_run() and not overwrite:
            raise KanpdeError(f"{self.path} already holds a run; pass resume=true to continue it or overwrite=true "
                              "to replace it")
        return None

    def start(self, metrics: Mapping[str, Any], write_config: bool = True) -> None:
        """Create the folder; metrics.json says ``running``; the composed config as .hydra/config.yaml
        (``write_config`` False where Hydra has written it)."""
        self.path.mkdir(parents=True, exist_ok=True)
        if write_config:
            self.write_config()
        write_json(self.path / METRICS, {**metrics, "status": "running"})

    def write_config(self) -> None:
        """.hydra/config.yaml: the composed config, where a Hydra run keeps it."""
        (self.path / CONFIG).parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(self.path / CONFIG) as tmp:
            tmp.write_text(OmegaConf.to_yaml(self.config), encoding="utf-8")

    def save_checkpoint(self, state: Mapping[str, Any]) -> None:
        """checkpoint.pt: the training loop's state and the config."""
        from .. import __version__

        save_checkpoint(self.path / CHECKPOINT, {"loop": dict(state), "config": self.config, "kanpde_version": __version__})

    def write(self, history: Mapping[str, np.ndarray], test: TestSet, prediction: np.ndarray, inputs: Sequence[str],
              outputs: Sequence[str], metrics: Mapping[str, Any]) -> None:
        """history.h5, solution.vtu (+ .xdmf) of ``prediction`` (N, n_out) on ``test``, the figures
        and, last, metrics.json."""
        output = self.config["output"]
        write_history(self.path / "history.h5", history)
        ref = np.asarray(test.values, dtype=np.float64)
        fields = {}
        for i, name in enumerate(outputs):
            fields.update({name: prediction[:, i], f"{name}_ref": ref[:, i], f"{name}_error": prediction[:, i] - ref[:, i]})
        write_solution(self.path / "solution.vtu", test.points, fields, test.grid_shape, xdmf=output["xdmf"],
                       triangles=test.triangles)
        if output["figures"]:
            predicted = {n: prediction[:, i] for i, n in enumerate(outputs)}
            reference = {n: ref[:, i] for i, n in enumerate(outputs)}
            plot_fields(self.path, test.points, predicted, reference, inputs, test.grid_shape, test.triangles)
            plot_history(self.path / "loss.png", history)
        write_json(self.path / METRICS, metrics)


def read_checkpoint(path: Path) -> dict:
    """A kanpde checkpoint ({"loop": state, "config": ...}); KanpdeError naming the file otherwise."""
    state = load_checkpoint(path)
    if "loop" not in state or "config" not in state:
        raise KanpdeError(f"cannot read checkpoint {path}: not a kanpde checkpoint of this version")
    return state


__all__ = ["CHECKPOINT", "METRICS", "RunDirectory", "read_checkpoint"]
