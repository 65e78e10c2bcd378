"""The run's schema: Hydra validates every key and type of a run against it.

The YAML files in ``conf/`` fill it in. It is derived from the registries as they are when it is
asked for: a section ``optim.<name>`` per registered phase and ``optim.weighting.<name>`` per
weighting, from each class's ``Options`` dataclass, ``model`` from the ``MODELS`` entry's, and
``sampler``, ``optim.grid``, ``optim.sparsity`` from the options beside their classes. A user's own
strategies join it once their module is imported (``plugins=[module]``, read before composition).
config.py checks a composed config against it and composes from Python.
"""
from __future__ import annotations

import dataclasses
import datetime
import importlib
import os
import re
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Sequence

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING, OmegaConf

from .errors import ConfigError, describe
from .options import Options, at_least


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


def strategy_options(phases: Sequence[Any] | None, weighting: Any | None) -> dict:
    """The ``optim`` config keys that set these phase and weighting objects: their names and their
    options. Each must be an instance of a registered class (PHASES, WEIGHTINGS); two phases of
    one class would share a config section, so they are refused."""
    from .training import PHASES, WEIGHTINGS

    optim: dict[str, Any] = {}
    if phases is not None:
        registered = {cls: name for name, cls in PHASES.items()}
        names = []
        for phase in phases:
            name = registered.get(type(phase))
            if name is None:
                raise ConfigError("phases", f"{phase!r} is not a registered phase: decorate its class with "
                                            "@kanpde.training.PHASES.register(\"name\")")
            if name in names:
                raise ConfigError("phases", f"two {name} phases would share the section optim.{name}")
            names.append(name)
            optim[name] = phase.options.as_dict()
        optim["phases"] = names
    if weighting is not None:
        name = {cls: n for n, cls in WEIGHTINGS.items()}.get(type(weighting))
        if name is None:
            raise ConfigError("weighting", f"{weighting!r} is not a registered weighting: decorate its class with "
                                           "@kanpde.training.WEIGHTINGS.register(\"name\")")
        optim["weighting"] = {"name": name, **({name: weighting.options.as_dict()} if weighting.options.as_dict() else {})}
    return optim


__all__ = ["strategy_options", "DType", "Device", "Objective", "OutputConfig", "import_plugins", "plugins_in", "register_configs", "schema"]
