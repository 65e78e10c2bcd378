"""A run directory and its output contract: metrics.json, history.h5, checkpoint.pt, solution.vtu
(+ solution.xdmf), solution.png, reference.png, error.png, loss.png (and a VTU file and a figure of
each further named test set); every file written atomically.

``RunDirectory`` refuses to clobber a finished run, checks that a resumed run is the same run, and
writes the files; metrics.json is written first as ``running`` and last with the final status.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import numpy as np
from omegaconf import OmegaConf

from ..errors import ConfigError, KanpdeError, first_line
from .figures import plot_fields, plot_history, plot_test_set, plot_time_slices
from .files import atomic_path, load_checkpoint, make_folder, read_json, save_checkpoint, write_history, write_json
from .vtu import write_solution

if TYPE_CHECKING:
    from ..pde import TestSet

CHECKPOINT, METRICS, CONFIG, OVERRIDES = "checkpoint.pt", "metrics.json", ".hydra/config.yaml", ".hydra/overrides.yaml"
log = logging.getLogger("kanpde")
RESUME_KEYS = ("problem", "model", "sampler", "seed", "dtype", "diff")  # what a resumed run may not change


class RunDirectory:
    """The folder ``path`` of one run whose composed config (plain containers) is ``config``;
    ``writes=False`` (the ranks after 0 of a data-parallel run): every write is skipped."""

    def __init__(self, path: str | Path, config: Mapping[str, Any], writes: bool = True):
        self.path, self.config, self.writes = Path(path), dict(config), writes

    def holds_run(self) -> bool:
        return (self.path / CHECKPOINT).exists() or (self.path / METRICS).exists()

    def resume_state(self, resume: bool, overwrite: bool) -> dict | None:
        """The checkpoint to continue (``resume``) or None for a fresh run; refuses a fresh run in a
        directory that holds one (unless ``overwrite``) and a resume whose config changed a
        ``RESUME_KEYS`` key. A resume without a checkpoint (a run stopped before its first one, or
        none yet: a scheduler that always passes resume=true) starts from step 0."""
        ckpt = self.path / CHECKPOINT
        if resume:
            if not ckpt.exists():
                log.warning("resume=true: no checkpoint in %s, starting from step 0", self.path)
                return None
            state = read_checkpoint(ckpt)
            for key in RESUME_KEYS:
                if state["config"].get(key) != self.config.get(key):
                    raise ConfigError(key, f"differs from the checkpoint's in {ckpt}; resume with the same {key}")
            return state
        if self.holds_run() and not overwrite:
            raise KanpdeError(f"{self.path} already holds a run; pass resume=true to continue it or overwrite=true "
                              "to replace it")
        return None

    def start(self, metrics: Mapping[str, Any], overrides: Sequence[str] = ()) -> None:
        """Create the folder, remove temporary files a killed run left, write the composed config
        (.hydra/config.yaml, and the command line's ``overrides`` as .hydra/overrides.yaml) and
        metrics.json saying ``running``; a finished result there (a resumed run) keeps its numbers
        until the new ones replace them."""
        if not self.writes:
            return
        make_folder(self.path, "run directory")
        for tmp in (*self.path.glob(".*.tmp-*"), *self.path.glob(".hydra/.*.tmp-*")):
            if not _alive(tmp.name.rpartition("-")[2]):
                tmp.unlink(missing_ok=True)
        self.write_config(overrides)
        try:
            previous = read_json(self.path / METRICS) if (self.path / METRICS).exists() else {}
        except KanpdeError:
            previous = {}
        finished = previous.get("status") not in (None, "running")
        kept = {**previous, "previous_status": previous["status"]} if finished else {}
        write_json(self.path / METRICS, {**kept, **metrics, "status": "running"})

    def record_failure(self, exc: BaseException) -> None:
        """metrics.json says ``failed: <first line of exc>`` (best effort: on a full disk even this
        small write may fail, and the file keeps saying ``running``)."""
        if not self.writes:
            return
        reason = first_line(str(exc)) or type(exc).__name__
        try:
            metrics = read_json(self.path / METRICS)
            write_json(self.path / METRICS, {**metrics, "status": f"failed: {reason}"})
        except KanpdeError:
            pass

    def write_config(self, overrides: Sequence[str] | None = None) -> None:
        """.hydra/config.yaml: the composed config, where a Hydra run keeps it (and overrides.yaml)."""
        if not self.writes:
            return
        make_folder((self.path / CONFIG).parent, "run directory")
        with atomic_path(self.path / CONFIG) as tmp:
            tmp.write_text(OmegaConf.to_yaml(self.config), encoding="utf-8")
        if overrides:
            with atomic_path(self.path / OVERRIDES) as tmp:
                tmp.write_text(OmegaConf.to_yaml(list(overrides)), encoding="utf-8")

    def save_checkpoint(self, state: Mapping[str, Any]) -> None:
        """checkpoint.pt: the training loop's state and the config."""
        if not self.writes:
            return
        from .. import __version__

        save_checkpoint(self.path / CHECKPOINT, {"loop": dict(state), "config": self.config, "kanpde_version": __version__})

    def write(self, history: Mapping[str, np.ndarray], sets: Mapping[str, TestSet], predictions: Mapping[str, np.ndarray],
              inputs: Sequence[str], outputs: Sequence[str], metrics: Mapping[str, Any],
              time_input: str | None = None) -> None:
        """history.h5; for the first test set solution.vtu (+ .xdmf) of its prediction (N, n_out) and
        the figures (with ``time_input``, the name of a space-time problem's time: u(x) at
        ``output.time_slices`` too); for every other set solution_<name>.vtu and <name>.png; last,
        metrics.json."""
        if not self.writes:
            return
        output = self.config["output"]
        write_history(self.path / "history.h5", history)
        for k, (name, test) in enumerate(sets.items()):
            prediction, ref = predictions[name], np.asarray(test.values, dtype=np.float64)
            fields = {}
            for i, field in enumerate(outputs):
                fields.update({field: prediction[:, i], f"{field}_ref": ref[:, i],
                               f"{field}_error": prediction[:, i] - ref[:, i]})
            write_solution(self.path / ("solution.vtu" if k == 0 else f"solution_{name}.vtu"), test.points, fields,
                           test.grid_shape, xdmf=output["xdmf"], triangles=test.triangles)
            if not output["figures"]:
                continue
            predicted = {n: prediction[:, i] for i, n in enumerate(outputs)}
            reference = {n: ref[:, i] for i, n in enumerate(outputs)}
            if k > 0:
                plot_test_set(self.path / f"{name}.png", test.points, predicted, reference, inputs,
                              f"Test set {name!r}" + (" (scored)" if test.scored else ""), test.grid_shape, test.triangles)
                continue
            plot_fields(self.path, test.points, predicted, reference, inputs, test.grid_shape, test.triangles,
                        time_input, output.get("time_slices") or ())
            plot_history(self.path / "loss.png", history)
            if time_input is not None:
                plot_time_slices(self.path / "time_slices.png", test.points, predicted, reference, inputs, time_input,
                                 output.get("time_slices") or ())
        write_json(self.path / METRICS, metrics)


def _alive(pid: str) -> bool:
    """Whether the process ``pid`` (the suffix of a temporary file's name) still runs."""
    if not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, owned by someone else
        pass
    return True


def checkpoint_mismatch(path: Path, exc: BaseException) -> KanpdeError:
    """The one-line error for a checkpoint whose contents do not fit the network or loop built
    from its config (missing keys, other shapes)."""
    if isinstance(exc, KeyError):
        what = f"it lacks {exc.args[0]!r}"
    else:
        lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
        detail = next((line for line in lines if "size mismatch" in line or "Missing key" in line), lines[0] if lines else "")
        what = detail.rstrip(".")
    return KanpdeError(f"cannot use checkpoint {path}: {what}")


def read_checkpoint(path: Path) -> dict:
    """A kanpde checkpoint ({"loop": state, "config": ...}); KanpdeError naming the file otherwise."""
    state = load_checkpoint(path)
    if "loop" not in state or "config" not in state:
        raise KanpdeError(f"cannot read checkpoint {path}: not a kanpde checkpoint of this version")
    return state


__all__ = ["CHECKPOINT", "METRICS", "RunDirectory", "checkpoint_mismatch", "read_checkpoint"]
