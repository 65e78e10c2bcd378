"""Test helpers: every problem config shipped with kanpde, composed configs."""
from __future__ import annotations

from importlib import resources

from hydra import compose, initialize_config_module
from omegaconf import DictConfig

from kanpde.config import register_configs
from kanpde.problem import Problem
from kanpde.run import instantiate_problem

register_configs()
PROBLEMS = tuple(sorted(p.name[:-5] for p in (resources.files("kanpde.conf") / "problem").iterdir()
                        if p.name.endswith(".yaml")))


def make_config(*overrides: str) -> DictConfig:
    """The run config that ``kanpde OVERRIDES`` would use."""
    with initialize_config_module("kanpde.conf", version_base="1.3"):
        return compose("config", overrides=list(overrides))


def make_problem(name: str) -> Problem:
    return instantiate_problem(make_config(f"problem={name}").problem)
