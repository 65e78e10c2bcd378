"""A trained KAN run directory, back in memory: its config, problem, network and test set.

The config saved in checkpoint.pt is merged onto the current schema (keys added since the run get
their defaults); the network is rebuilt in float64 with the checkpoint's grid sizes and weights.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from ..config import Config
from ..errors import KanpdeError
from ..io import load_checkpoint
from ..nets import SolutionNet, build_model
from ..problem import Problem, TestSet
from ..run import CHECKPOINT, instantiate_problem


@dataclass
class LoadedRun:
    """A run directory's config (on the current schema), problem, float64 network and test set."""

    run_dir: Path
    cfg: DictConfig
    problem: Problem
    net: SolutionNet
    test: TestSet


def load_run(run_dir: str | Path) -> LoadedRun:
    """Read ``run_dir``/checkpoint.pt; KanpdeError (one line naming the path) when the directory or
    checkpoint is missing or unreadable, or the run is not a KAN run."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise KanpdeError(f"{run_dir}: no such run directory")
    path = run_dir / CHECKPOINT
    state = load_checkpoint(path)
    if "trainer" not in state or "config" not in state:
        raise KanpdeError(f"cannot read checkpoint {path}: not a kanpde checkpoint")
    try:
        cfg = OmegaConf.merge(OmegaConf.structured(Config), state["config"])
    except OmegaConfBaseException as exc:
        raise KanpdeError(f"{path}: its config does not fit this kanpde version ({exc.msg})") from None
    if cfg.model.get("name") != "kan":
        raise KanpdeError(f"{run_dir} is a {cfg.model.get('name')} run (model.name={cfg.model.get('name')}); "
                          "kanpde-interpret needs a KAN run")
    problem = instantiate_problem(cfg.problem)
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        lo, hi = problem.domain.bounds
        periodic = {problem.inputs.index(name): period for name, period in problem.periodic_inputs.items()}
        net = build_model(cfg.model, len(problem.inputs), len(problem.outputs), lo, hi, periodic)
    finally:
        torch.set_default_dtype(previous)
    net.core.resize_grids(state["trainer"]["grid_sizes"])
    net.load_state_dict(state["trainer"]["net"])
    with torch.no_grad():
        for name, value in state["trainer"].get("unknowns", {}).items():
            problem.unknowns[name].fill_(value)
    return LoadedRun(run_dir, cfg, problem, net.eval(), problem.test_set())


__all__ = ["LoadedRun", "load_run"]
