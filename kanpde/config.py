"""Structured-config schemas: Hydra validates every key and type of a run against them.

The YAML files in ``conf/`` fill these in; a misspelt key or a wrong type is refused by Hydra at
composition, and ``validate`` checks the ranges that types cannot express and the names that a
registry lists (a basis, a sampling method, a phase: the registry is the one list of choices).
``compose`` builds a run's config from Python as the command line does, ``describe`` turns a
Hydra or OmegaConf error into the one line the user sees.
"""
from __future__ import annotations

import dataclasses
import datetime
import difflib
import math
import os
import re
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any, Mapping, Sequence

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING, DictConfig, OmegaConf

from .errors import ConfigError, KanpdeError, describe
from .options import Options, at_least, build_options, in_section


class DType(str, Enum):
    float32 = "float32"
    float64 = "float64"


class Objective(str, Enum):
    """What a job returns to Hydra, so what a sweeper (Optuna) minimises: a metrics.json number."""
    rel_l2 = "rel_l2"
    final_loss = "final_loss"
    max_abs_error = "max_abs_error"


class Device(str, Enum):
    auto = "auto"
    cpu = "cpu"
    cuda = "cuda"


@dataclass
class OutputConfig(Options):
    eval_every: int = 100  # steps between test-set errors in history.h5
    checkpoint_every: int = 200  # steps between checkpoints
    xdmf: bool = False  # also write solution.xdmf
    figures: bool = True
    progress: bool = True
    time_slices: list[float] = field(default_factory=list)  # space-time: u(x) at these t (empty: 4, evenly spaced)
    objective: Objective = Objective.rel_l2  # the job's return value, what hydra/sweeper=optuna minimises

    def check(self) -> None:
        at_least(self, "eval_every", 0)
        at_least(self, "checkpoint_every", 1)


def strategy_fields(registry: Any) -> list[tuple[str, type, Any]]:
    """One schema field per registered strategy with options: its name, its Options dataclass and
    their defaults, in the order of registration."""
    return [(name, cls.Options, field(default_factory=cls.Options)) for name, cls in registry.items()
            if dataclasses.fields(cls.Options)]


def _build_schema(phases: Any, weightings: Any) -> dict[str, type]:
    """The run's schema with a section per registered phase (optim.<name>) and weighting
    (optim.weighting.<name>): the dataclasses Config, OptimConfig and WeightingConfig."""
    from .training import GridOptions, SamplerOptions, SparsityOptions

    weighting = dataclasses.make_dataclass("WeightingConfig", [
        ("name", str, field(default="fixed")),  # WEIGHTINGS; each reads its section here
        *strategy_fields(weightings)])
    optim = dataclasses.make_dataclass("OptimConfig", [
        ("phases", list[str], field(default_factory=lambda: ["adam", "lbfgs"])),  # PHASES, in order
        *strategy_fields(phases),
        ("weighting", weighting, field(default_factory=weighting)),
        ("grid", GridOptions, field(default_factory=GridOptions)),
        ("sparsity", SparsityOptions, field(default_factory=SparsityOptions)),
        ("time_limit", float, field(default=0.0)),  # stop training after this many seconds (0: no limit)
        ("compile", bool, field(default=False)),  # torch.compile the residual losses (compiling takes ~25 s on CPU)
    ])
    config = dataclasses.make_dataclass("Config", [
        ("problem", Any, field(default=MISSING)),
        ("model", Any, field(default=MISSING)),
        ("optim", optim, field(default_factory=optim)),
        ("sampler", SamplerOptions, field(default_factory=SamplerOptions)),
        ("output", OutputConfig, field(default_factory=OutputConfig)),
        ("seed", int, field(default=0)),
        ("dtype", DType, field(default=DType.float64)),
        ("device", Device, field(default=Device.auto)),
        ("diff", str, field(default="auto")),  # auto (closed-form jets where the network has them) or a DERIVATIVES name
        ("resume", bool, field(default=False)),  # continue the checkpoint in the run directory
        ("overwrite", bool, field(default=False)),  # allow a fresh run in a directory that holds a finished one
        ("debug", bool, field(default=False)),  # show tracebacks
        ("plugins", list[str], field(default_factory=list)),  # modules imported first: they register strategies
    ])
    classes = {"Config": config, "OptimConfig": optim, "WeightingConfig": weighting}
    for cls in classes.values():
        cls.__module__ = __name__  # pickle finds them through this module's __getattr__
    return classes


_SCHEMAS: dict[tuple, dict[str, type]] = {}
_CURRENT: dict[str, type] = {}


def schema() -> type:
    """The dataclass of a whole run's config, derived from the registries as they are now (a
    strategy registered later, in a plugin, gets its section in the next call)."""
    from .training import PHASES, WEIGHTINGS  # the registries import torch, which `kanpde --help` need not

    key = (tuple(PHASES.items()), tuple(WEIGHTINGS.items()))
    if key not in _SCHEMAS:
        _SCHEMAS[key] = _build_schema(PHASES, WEIGHTINGS)
    _CURRENT.update(_SCHEMAS[key])
    return _SCHEMAS[key]["Config"]


def __getattr__(name: str) -> Any:
    """``Config``, ``OptimConfig``, ``WeightingConfig``: the schema classes now (pickle finds a
    composed config's classes here)."""
    if name in ("Config", "OptimConfig", "WeightingConfig"):
        if name not in _CURRENT:
            schema()
        return _CURRENT[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def plugins_in(overrides: Sequence[str]) -> list[str]:
    """The modules that ``plugins=[...]`` names among command-line ``overrides`` (read before the
    config is composed, since their strategies' sections belong to the schema)."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    found: list[str] = []
    for item in overrides:
        if re.match(r"^\+{0,2}plugins=", item):
            try:
                value = OverridesParser.create().parse_override(item).value()
            except Exception as exc:  # noqa: BLE001 - Hydra's grammar errors are long
                raise ConfigError("plugins", f"cannot parse {item!r} ({describe(exc)})") from None
            found += [str(v) for v in (value if isinstance(value, list) else [value])]
    return found


def import_plugins(modules: Sequence[str]) -> None:
    """Import the user's ``modules`` (config key ``plugins``), whose import registers their own
    phases and weightings; one line naming the module if one cannot be imported."""
    import importlib

    for module in modules:
        try:
            importlib.import_module(str(module))
        except Exception as exc:  # noqa: BLE001 - any failure of the user's module is one line
            raise ConfigError("plugins", f"cannot import {module!r} ({type(exc).__name__}: {exc})") from None


def register_configs() -> None:
    """Put the schemas in Hydra's ConfigStore (the YAML files extend them) and register the
    ``run_time`` resolver of the default run directory's name."""
    OmegaConf.register_new_resolver("run_time", _run_time, use_cache=True, replace=True)
    cs = ConfigStore.instance()
    cs.store(name="kanpde_schema", node=schema())
    from .nets import MODELS

    for name, cls in MODELS.items():  # <name>_schema, extended by conf/model/<name>*.yaml
        cs.store(name=f"{name}_schema", node=cls.Options)


def _run_time(pattern: str) -> str:
    """The start time in ``pattern`` (strftime): rank 0's in a data-parallel run (KANPDE_RUN_TIME,
    set by training/distributed.py), so that every rank writes into the same directory."""
    start = os.environ.get("KANPDE_RUN_TIME")
    return (datetime.datetime.fromisoformat(start) if start else datetime.datetime.now()).strftime(pattern)


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


__all__ = ["DType", "Device", "OutputConfig", "check_options", "compose",
           "import_plugins", "register_configs", "schema", "validate"]
