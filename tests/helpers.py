"""Test helpers: every problem config shipped with kanpde, composed configs, runs and networks."""
from __future__ import annotations

from importlib import resources

import torch
from hydra import compose, initialize_config_module
from kanpde.build import build_net, instantiate_problem
from kanpde.schema import register_configs
from kanpde.nets import SolutionNet
from kanpde.pde import Problem
from kanpde.run import run
from omegaconf import DictConfig

register_configs()
PROBLEMS = tuple(sorted(p.name[:-5] for p in (resources.files("kanpde.conf") / "problem").iterdir()
                        if p.name.endswith(".yaml")))


def make_config(*overrides: str) -> DictConfig:
    """The run config that ``kanpde OVERRIDES`` would use."""
    with initialize_config_module("kanpde.conf", version_base="1.3"):
        return compose("config", overrides=list(overrides))


def make_problem(name: str, *overrides: str) -> Problem:
    return instantiate_problem(make_config(f"problem={name}", *overrides).problem)


def train(cfg: DictConfig, run_dir, problem: str | None = None, model: str | None = None) -> dict:
    """``kanpde.run.run`` on a composed config (as the command line runs it): the metrics."""
    return run(cfg, run_dir, problem_name=problem, model_name=model).metrics


def net_for(problem: Problem, model_cfg) -> SolutionNet:
    """The network ``kanpde`` builds for ``problem`` with ``model_cfg``, in the default dtype on the CPU."""
    return build_net(problem, model_cfg, torch.get_default_dtype(), torch.device("cpu"))
