"""Structured-config schemas: Hydra validates every key and type of a run against them.

The YAML files in ``conf/`` fill these in; a misspelt key or a wrong type is refused by Hydra at
composition, and ``validate`` checks the ranges that types cannot express and the names that a
registry lists (a basis, a sampling method, a phase: the registry is the one list of choices).
``compose`` builds a run's config from Python as the command line does, ``describe`` turns a
Hydra or OmegaConf error into the one line the user sees.
"""
from __future__ import annotations

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
class KANConfig:
    name: str = "kan"
    hidden: list[int] = field(default_factory=lambda: [8, 8])
    basis: str = "bspline"  # bspline | chebyshev | rbf
    grid_size: int = 5  # intervals of the B-spline / RBF grid
    order: int = 4  # B-spline order k (4: the second derivatives a PDE residual takes are C^1)
    degree: int = 5  # Chebyshev degree
    grid_range: list[float] = field(default_factory=lambda: [-1.0, 1.0])
    base_activation: bool = False  # add pykan's SiLU branch to every edge
    noise: float = 0.1  # std of the initial coefficient noise
    fused: bool = True  # uniform B-splines: fused layers with a hand-written backward (false: plain autograd ops)


@dataclass
class MLPConfig:
    name: str = "mlp"
    hidden: list[int] = field(default_factory=lambda: [20, 20, 20])
    activation: str = "tanh"
    fourier_features: int = 0
    fourier_scale: float = 1.0


@dataclass
class AdamConfig:
    steps: int = 1000
    lr: float = 1e-2
    lr_final: float = 1e-3  # the exponential / cosine schedules end here
    schedule: str = "exponential"  # SCHEDULES: constant | exponential | cosine


@dataclass
class LBFGSConfig:
    steps: int = 3000  # iterations; each is one history row
    lr: float = 1.0
    history_size: int = 50


@dataclass
class QuasiNewtonConfig:
    steps: int = 5000  # iterations; each is one history row
    lr: float = 1.0  # length of the very first (steepest-descent) step; later trial steps start at 1
    c1: float = 1.0e-4  # strong Wolfe: sufficient decrease
    c2: float = 0.9  # strong Wolfe: curvature
    max_ls: int = 25  # line-search iterations per step
    max_parameters: int = 20000  # the dense inverse Hessian takes 8 n^2 bytes (20,000: 3.2 GB)


@dataclass
class GridConfig:
    update_every: int = 0  # Adam steps between grid updates from the samples (0: none)
    update_until: int = -1  # last Adam step that may update the grid (-1: all of Adam)
    eps: float = 0.02  # weight of the uniform grid against the sample quantiles
    extend_at: list[int] = field(default_factory=list)  # Adam steps at which ...
    extend_to: list[int] = field(default_factory=list)  # ... the grid is extended to these sizes
    carry_state: bool = True  # refit Adam's moments onto the extended grid (false: restart Adam)


@dataclass
class SparsityConfig:
    weight: float = 0.0  # weight of the loss term `sparsity` (0: off); KANs only
    l1: float = 1.0  # mu_1: weight of the edges' L1 norms in it
    entropy: float = 2.0  # mu_2: weight of the per-layer entropies in it


@dataclass
class GradNormConfig:
    every: int = 100  # steps between weight updates
    alpha: float = 0.9  # moving-average factor of the weights


@dataclass
class RBAConfig:
    gamma: float = 0.999  # decay of the pointwise multipliers
    eta: float = 0.01  # rate: lambda <- gamma lambda + eta |r| / max |r|
    every: int = 1  # steps between updates (each costs a quasi-Newton phase one more loss evaluation)


@dataclass
class CausalConfig:
    eps: float = 1.0  # causality strength: chunk m weighs exp(-eps * sum of the earlier chunks' losses)
    chunks: int = 32  # equal time chunks


@dataclass
class WeightingConfig:
    name: str = "fixed"  # WEIGHTINGS: fixed | grad_norm | rba | causal; each reads its section here
    grad_norm: GradNormConfig = field(default_factory=GradNormConfig)
    rba: RBAConfig = field(default_factory=RBAConfig)
    causal: CausalConfig = field(default_factory=CausalConfig)


@dataclass
class OptimConfig:
    phases: list[str] = field(default_factory=lambda: ["adam", "lbfgs"])  # PHASES, in order; each reads optim.<name>
    adam: AdamConfig = field(default_factory=AdamConfig)
    lbfgs: LBFGSConfig = field(default_factory=LBFGSConfig)
    bfgs: QuasiNewtonConfig = field(default_factory=QuasiNewtonConfig)
    ssbfgs: QuasiNewtonConfig = field(default_factory=QuasiNewtonConfig)
    ssbroyden: QuasiNewtonConfig = field(default_factory=QuasiNewtonConfig)
    weighting: WeightingConfig = field(default_factory=WeightingConfig)
    grid: GridConfig = field(default_factory=GridConfig)
    sparsity: SparsityConfig = field(default_factory=SparsityConfig)
    time_limit: float = 0.0  # stop training after this many seconds (0: no limit), for equal-time comparisons
    compile: bool = False  # torch.compile the residual losses (pays off in long runs: compiling takes ~25 s on CPU)


@dataclass
class SamplerConfig:
    method: str = "sobol"  # SAMPLERS: sobol | halton | lhs | uniform | grid
    n_interior: int = 512
    n_boundary: int = 128
    resample_every: int = 0  # Adam steps between fresh collocation points (0: never)
    adaptive: bool = False  # resample interior points where the residual is large (RAD), not uniformly
    adaptive_pool: int = 8  # RAD draws from n_interior * adaptive_pool candidates
    adaptive_k: float = 1.0  # RAD: probability ~ |r|^k / mean |r|^k + c
    adaptive_c: float = 1.0
    time_windows: int = 0  # time marching: Adam's steps in K stretches, stretch k sampling t up to t0 + (k+1)/K (t1-t0)


@dataclass
class OutputConfig:
    eval_every: int = 100  # steps between test-set errors in history.h5
    checkpoint_every: int = 200  # steps between checkpoints
    xdmf: bool = False  # also write solution.xdmf
    figures: bool = True
    progress: bool = True
    time_slices: list[float] = field(default_factory=list)  # space-time: u(x) at these t (empty: 4, evenly spaced)
    objective: Objective = Objective.rel_l2  # the job's return value, what hydra/sweeper=optuna minimises


@dataclass
class Config:
    problem: Any = MISSING
    model: Any = MISSING
    optim: OptimConfig = field(default_factory=OptimConfig)
    sampler: SamplerConfig = field(default_factory=SamplerConfig)
    output: OutputConfig = field(default_factory=OutputConfig)
    seed: int = 0
    dtype: DType = DType.float64
    device: Device = Device.auto
    diff: str = "auto"  # auto (closed-form jets where the network has them) or a DERIVATIVES name
    resume: bool = False  # continue the checkpoint in the run directory
    overwrite: bool = False  # allow a fresh run in a directory that holds a finished one
    debug: bool = False  # show tracebacks


def register_configs() -> None:
    """Put the schemas in Hydra's ConfigStore (the YAML files extend them) and register the
    ``run_time`` resolver of the default run directory's name."""
    OmegaConf.register_new_resolver("run_time", _run_time, use_cache=True, replace=True)
    cs = ConfigStore.instance()
    cs.store(name="kanpde_schema", node=Config)
    cs.store(name="kan_schema", node=KANConfig)  # extended by conf/model/kan.yaml
    cs.store(name="mlp_schema", node=MLPConfig)


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


SCHEMAS = {"kan": KANConfig, "mlp": MLPConfig}
FREE = ("problem", "hydra")  # nodes without a schema here: the problem's keys are checked against its class


def check_known_keys(cfg: Any) -> None:
    """Refuse keys that no schema declares, such as ``+foo=1`` or ``+optim.adam.stepz=10`` (Hydra
    lets ``+`` add them), and non-finite numbers anywhere in the schema's sections."""
    schema = OmegaConf.structured(Config)
    model_schema = SCHEMAS.get(str(cfg.model.get("name", ""))) if isinstance(cfg.model, DictConfig) else None
    if model_schema is not None:
        schema.model = OmegaConf.structured(model_schema)
    for key in cfg:
        if key in FREE or (key == "model" and model_schema is None):
            continue
        _compare(cfg[key], schema, key, key)


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
    from .geometry.sampling import SAMPLERS  # the registries import torch, which `kanpde --help` need not
    from .nets import MODELS
    from .pde import DERIVATIVES
    from .training import PHASES, SCHEDULES, WEIGHTINGS

    check_known_keys(cfg)
    for key in ("optim.adam.steps", "optim.lbfgs.steps", "optim.grid.update_every", "sampler.resample_every",
                "optim.time_limit", "optim.sparsity.weight", "optim.sparsity.l1", "optim.sparsity.entropy",
                "output.eval_every", "seed", "sampler.time_windows", "sampler.adaptive_k", "sampler.adaptive_c"):
        _at_least(cfg, key, 0)
    for key in ("sampler.n_interior", "sampler.n_boundary", "output.checkpoint_every", "optim.lbfgs.history_size",
                "sampler.adaptive_pool"):
        _at_least(cfg, key, 1)
    for key in ("optim.adam.lr", "optim.adam.lr_final", "optim.lbfgs.lr"):
        if not cfg_get(cfg, key) > 0:
            raise ConfigError(key, f"must be > 0, got {cfg_get(cfg, key)}")
    MODELS.get(cfg.model.name)
    WEIGHTINGS.get(cfg.optim.weighting.name)
    weighting = cfg.optim.weighting
    _at_least(cfg, "optim.weighting.grad_norm.every", 1)
    _at_least(cfg, "optim.weighting.rba.every", 1)
    _at_least(cfg, "optim.weighting.causal.chunks", 1)
    _at_least(cfg, "optim.weighting.causal.eps", 0)
    _at_least(cfg, "optim.weighting.rba.eta", 0)
    for key, value in (("grad_norm.alpha", weighting.grad_norm.alpha), ("rba.gamma", weighting.rba.gamma)):
        if not 0 <= value < 1:
            raise ConfigError(f"optim.weighting.{key}", f"must be in [0, 1), got {value}")
    SAMPLERS.get(cfg.sampler.method)
    SCHEDULES.get(cfg.optim.adam.schedule)
    if cfg.diff != "auto":
        DERIVATIVES.get(cfg.diff)
    for name in cfg.optim.phases:
        PHASES.get(name)
        if name not in cfg.optim:
            raise ConfigError("optim.phases", f"phase {name!r} has no config section optim.{name}")
    for name in ("bfgs", "ssbfgs", "ssbroyden"):
        for key in ("steps", "max_ls", "max_parameters"):
            _at_least(cfg, f"optim.{name}.{key}", 1 if key != "steps" else 0)
        section = cfg.optim[name]
        if not 0 < section.c1 < section.c2 < 1:
            raise ConfigError(f"optim.{name}.c2", f"the Wolfe constants need 0 < c1 < c2 < 1, got c1={section.c1}, "
                              f"c2={section.c2}")
        if not section.lr > 0:
            raise ConfigError(f"optim.{name}.lr", f"must be > 0, got {section.lr}")
    if any(w < 1 for w in cfg.model.hidden):
        raise ConfigError("model.hidden", f"layer widths must be >= 1, got {list(cfg.model.hidden)}")
    grid = cfg.optim.grid
    if len(grid.extend_at) != len(grid.extend_to):
        raise ConfigError("optim.grid.extend_to", "needs one grid size per step in optim.grid.extend_at")
    if any(b <= a for a, b in zip(grid.extend_at, grid.extend_at[1:])):
        raise ConfigError("optim.grid.extend_at", f"steps must increase, got {list(grid.extend_at)}")
    sizes = [cfg.model.get("grid_size", 1), *grid.extend_to]
    if any(b <= a for a, b in zip(sizes, sizes[1:])):
        raise ConfigError("optim.grid.extend_to", f"grid sizes must grow from model.grid_size={sizes[0]}, "
                          f"got {list(grid.extend_to)}")
    if (grid.update_every or grid.extend_at) and cfg.model.get("basis", "bspline") != "bspline":
        raise ConfigError("optim.grid", f"grid updates and extension need model.basis=bspline, not {cfg.model.basis}")
    if not 0 <= grid.eps <= 1:
        raise ConfigError("optim.grid.eps", f"must be in [0, 1], got {grid.eps}")


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


__all__ = ["Config", "DType", "Device", "KANConfig", "MLPConfig", "OptimConfig", "OutputConfig", "SamplerConfig",
           "compose", "register_configs", "validate"]
