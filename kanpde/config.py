"""Checking and composing a run's config against the schema (schema.py).

A misspelt key or a wrong type is refused by Hydra at composition (or by ``check_known_keys`` for
keys added with ``+``); ``validate`` has each section's options class check its ranges, with the
config key in front of its one-line error, and checks what spans sections and the names that a
registry lists (a basis, a sampling method, a phase: the registry is the one list of choices).
``compose`` builds a run's config from Python as the command line does, ``describe`` turns a
Hydra or OmegaConf error into the one line the user sees.
"""
from __future__ import annotations

import difflib
import math
import re
from pathlib import Path
from typing import Any, Mapping, Sequence

from omegaconf import DictConfig, OmegaConf

from .errors import ConfigError, KanpdeError, describe
from .options import build_options, in_section
from .schema import OutputConfig, import_plugins, plugins_in, register_configs, schema


def choice(value: Any) -> str:
    """The plain string of an enum-typed config value (Hydra gives enums, plain dicts strings)."""
    return str(getattr(value, "value", value))


def cfg_get(cfg: Any, key: str) -> Any:
    """The value at a dotted key."""
    value = cfg
    for part in key.split("."):
        value = value[part]
    return value


def _at_least(cfg: Any, key: str, minimum: float) -> None:
    value = cfg_get(cfg, key)
    if not value >= minimum:  # also refuses NaN
        raise ConfigError(key, f"must be >= {minimum}, got {value}")


FREE = ("problem", "hydra")  # nodes without a schema here: the problem's keys are checked against its class


def check_known_keys(cfg: Any) -> None:
    """Refuse keys that no schema declares, such as ``+foo=1`` or ``+optim.adam.stepz=10`` (Hydra
    lets ``+`` add them), and non-finite numbers anywhere in the schema's sections."""
    from .nets import MODELS

    full = OmegaConf.structured(schema())
    name = str(cfg.model.get("name", "")) if isinstance(cfg.model, DictConfig) else ""
    model_schema = MODELS.get(name).Options if name in MODELS else None
    if model_schema is not None:
        full.model = OmegaConf.structured(model_schema)
    for key in cfg:
        if key in FREE or (key == "model" and model_schema is None):
            continue
        _compare(cfg[key], full, key, key)


def _compare(node: Any, parent: DictConfig, name: str, key: str) -> None:
    """``node`` at ``key`` against ``parent[name]`` of the schema, recursively."""
    if name not in parent:
        keys = list(parent.keys())
        close = difflib.get_close_matches(name, keys, n=1)
        prefix = key[: -len(name)]
        hint = f"did you mean {prefix}{close[0]}?" if close else f"valid keys there: {', '.join(keys)}"
        raise KanpdeError(f"unknown config key {key!r}; {hint}")
    schema = parent[name]
    if isinstance(node, DictConfig) and isinstance(schema, DictConfig):
        for child in node:
            _compare(node[child], schema, child, f"{key}.{child}")
    elif isinstance(node, float) and not math.isfinite(node):
        raise ConfigError(key, f"must be a finite number, got {node}")


def validate(cfg: Any) -> None:
    """Range checks that the schema's types cannot express, and names checked against their
    registries; raises ConfigError naming the key."""
    from .nets import MODELS  # the registries import torch, which `kanpde --help` need not
    from .pde import DERIVATIVES
    from .training import PHASES, WEIGHTINGS, Collocation, GridSchedule, Sparsity

    check_known_keys(cfg)
    for key in ("optim.time_limit", "seed"):
        _at_least(cfg, key, 0)
    for key, cls in (("model", MODELS.get(cfg.model.name)), ("sampler", Collocation), ("optim.grid", GridSchedule),
                     ("optim.sparsity", Sparsity), ("output", Outputs)):
        check_options(cls, cfg_get(cfg, key), key)
    WEIGHTINGS.get(cfg.optim.weighting.name)
    for name, cls in WEIGHTINGS.items():
        if name in cfg.optim.weighting:
            check_options(cls, cfg.optim.weighting[name], f"optim.weighting.{name}")
    if cfg.diff != "auto":
        DERIVATIVES.get(cfg.diff)
    for name in cfg.optim.phases:
        PHASES.get(name)
        if name not in cfg.optim:
            raise ConfigError("optim.phases", f"phase {name!r} has no config section optim.{name}")
    for name, cls in PHASES.items():
        if name in cfg.optim:
            check_options(cls, cfg.optim[name], f"optim.{name}")
    grid = cfg.optim.grid
    sizes = [cfg.model.get("grid_size", 1), *grid.extend_to]
    if any(b <= a for a, b in zip(sizes, sizes[1:])):
        raise ConfigError("optim.grid.extend_to", f"grid sizes must grow from model.grid_size={sizes[0]}, "
                          f"got {list(grid.extend_to)}")
    if (grid.update_every or grid.extend_at) and cfg.model.get("basis", "bspline") != "bspline":
        raise ConfigError("optim.grid", f"grid updates and extension need model.basis=bspline, not {cfg.model.basis}")


class Outputs:
    """What a run writes (io/run_dir.py), for ``check_options``."""

    Options = OutputConfig


def check_options(cls: Any, section: Any, key: str) -> None:
    """Build ``cls.Options`` from the config ``section`` at ``key``: its own range checks, with the
    key in front of their one-line errors."""
    values = OmegaConf.to_container(section, resolve=True) if OmegaConf.is_config(section) else dict(section)
    try:
        build_options(cls.Options, values, f"{key} ({cls.__name__})")
    except ConfigError as exc:
        raise in_section(exc, key) from None


def compose(problem: str | None, model: str, overrides: Sequence[str] = (), options: Mapping[str, Any] | None = None,
            config_dir: str | Path | None = None) -> DictConfig:
    """The config ``kanpde problem=PROBLEM model=MODEL OVERRIDES...`` runs, then ``options`` (plain
    values or nested dicts of config keys) merged on top; ``config_dir`` adds a folder of the user's
    own configs (as ``--config-dir``). ``problem=None``: the defaults without any problem's
    settings, for a problem given as an object. Bad input raises KanpdeError with the command
    line's one-line message."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_module
    from hydra.core.global_hydra import GlobalHydra

    for item in overrides:
        if re.match(r"^[+~]*(problem|model)=", item):
            raise ConfigError("overrides", f"{item!r}: name the problem and the model as solve's arguments")
    import_plugins([*plugins_in(overrides), *(options or {}).get("plugins", [])])
    chosen = [f"problem={problem}"] if problem is not None else ["problem=poisson2d", "~problem_model"]
    search = [f"hydra.searchpath=[file://{Path(config_dir).resolve()}]"] if config_dir is not None else []
    register_configs()
    global_hydra = GlobalHydra.instance()
    outer = global_hydra.hydra  # inside someone's own Hydra app: put its state back afterwards
    global_hydra.clear()
    try:
        with initialize_config_module("kanpde.conf", version_base="1.3"):
            cfg = hydra_compose("config", overrides=[*chosen, f"model={model}", *search, *overrides])
        if options:
            cfg = OmegaConf.merge(cfg, options)
    except Exception as exc:
        if isinstance(exc, KanpdeError) or not _is_input_error(exc):
            raise
        raise KanpdeError(describe(exc)) from None
    finally:
        global_hydra.clear()
        global_hydra.hydra = outer
    if problem is None:
        cfg.problem = None  # the caller puts the object's spec here
    return cfg


def _is_input_error(exc: BaseException) -> bool:
    import yaml
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    return isinstance(exc, (HydraException, OmegaConfBaseException, yaml.YAMLError))


__all__ = ["check_known_keys", "check_options", "choice", "compose", "validate"]
