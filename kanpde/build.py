"""From a config to the objects of a run: the problem, the device and dtype, the network, and the
training loop (loss, phases, callbacks).

The network is built from a problem here and nowhere else (training, ``kanpde.load`` and
interpretation all call ``build_net``), so input normalisation, periodic embeddings and hard
constraints cannot drift apart between a run and its reloads.
"""
from __future__ import annotations

import copy
import importlib
import inspect
import os
import typing
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import torch
from omegaconf import OmegaConf

from .errors import ConfigError, KanpdeError
from .io.run_dir import RunDirectory
from .nets import MODELS, CoreNet, SolutionNet, build_core
from .pde import Problem
from .training import (PHASES, AdaptWeights, Callback, Checkpoint, Collocation, DivergenceGuard, Evaluation,
                       GridSchedule, Loop, Loss, Progress, Resample, Sparsity, TimeLimit, build_weighting)
from .training.data_parallel import AgreeOnStops, DataParallelLoss
from .training.distributed import DataParallel
from .training.interrupt import StopOnSignals

INCOMPLETE = "_incomplete_"  # spec key: constructor arguments that a config cannot hold


def instantiate_problem(node: Any) -> Problem:
    """The Problem named by ``node._target_`` built with the node's other keys, each checked
    against the constructor's parameters and their type hints; ``reference`` (a data file, made
    absolute in ``node`` so that the recorded config finds it from anywhere) is set after."""
    spec = OmegaConf.to_container(node, resolve=True) if OmegaConf.is_config(node) else dict(node)
    reference = spec.pop("reference", None)
    if reference is not None:
        reference = str(Path(reference).expanduser().resolve())
        if not Path(reference).is_file():
            raise ConfigError("problem.reference", f"no such file: {reference}")
        if OmegaConf.is_config(node):
            node.reference = reference
    target = spec.pop("_target_", None)
    if not target:
        raise ConfigError("problem._target_", "missing: name the Problem class, e.g. kanpde.problems.Poisson2D")
    if spec.pop(INCOMPLETE, None):
        raise KanpdeError(f"the problem {target} was given as an object whose arguments a config cannot hold; "
                          "pass that object again (kanpde.load(run_dir, problem=...))")
    module_name, _, class_name = target.rpartition(".")
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError, ValueError) as exc:
        raise ConfigError("problem._target_", f"cannot import {target!r} ({exc})") from None
    if not (inspect.isclass(cls) and issubclass(cls, Problem)):
        raise ConfigError("problem._target_", f"{target!r} is not a kanpde Problem subclass")
    params = inspect.signature(cls).parameters
    hints = typing.get_type_hints(cls.__init__)
    for key, value in spec.items():
        if key not in params:
            raise ConfigError(f"problem.{key}", f"not a parameter of {cls.__name__}; parameters: {', '.join(params)}")
        expected = hints.get(key)
        if expected in (int, float, bool, str) and not _fits(value, expected):
            raise ConfigError(f"problem.{key}", f"expected {expected.__name__}, got {value!r}")
    problem = cls(**spec)
    if reference is not None:
        problem.reference = reference
    return problem


def _fits(value: Any, expected: type) -> bool:
    if expected is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if expected is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, expected)


def problem_spec(problem: Problem) -> dict:
    """The config node that rebuilds ``problem``: its class as ``_target_`` and the constructor
    arguments it was made with; arguments a config cannot hold (arrays, functions) are named under
    ``_incomplete_``, and such a run reloads only with the object passed again."""
    cls = type(problem)
    spec: dict[str, Any] = {"_target_": f"{cls.__module__}.{cls.__qualname__}"}
    args, kwargs = problem.init_args
    bound = inspect.signature(cls).bind_partial(*args, **kwargs).arguments
    missing = []
    for name, value in bound.items():
        if _plain(value):
            spec[name] = value
        else:
            missing.append(name)
    if missing:
        spec[INCOMPLETE] = missing
    if problem.reference is not None and problem.reference != cls.reference:
        spec["reference"] = str(Path(problem.reference).resolve())
    return spec


def _plain(value: Any) -> bool:
    """Whether a config can hold ``value`` as it is (numbers, strings, None, lists and dicts of them)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return True
    if isinstance(value, (list, tuple)):
        return all(_plain(v) for v in value)
    if isinstance(value, Mapping):
        return all(isinstance(k, str) and _plain(v) for k, v in value.items())
    return False


def select_device(name: str) -> torch.device:
    """``auto`` (CUDA when available), ``cpu`` or ``cuda``."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device", "cuda was asked for but torch.cuda.is_available() is False")
    return torch.device(name)


def select_dtype(name: str) -> torch.dtype:
    """``float32`` or ``float64``."""
    return {"float32": torch.float32, "float64": torch.float64}[name]


def check_size(cfg: Any, problem: Problem, dtype: torch.dtype, device: torch.device) -> None:
    """Refuse a run that cannot fit in memory, before anything is allocated. A lower bound: the
    parameters with their gradients and Adam moments (4 copies), and one copy of every layer's
    basis rows (KAN: n_in n_basis per point, MLP: n_in) and outputs for every derivative component
    at every collocation point; the error names the key that makes it large."""
    model, n_in = cfg.model, len(problem.inputs) + len(problem.periodic_inputs)
    widths = [n_in, *model.hidden, len(problem.outputs)]
    kan = model.get("name") == "kan"
    cls = MODELS.get(model.name)
    basis = cls.features_per_input(cls.Options(**OmegaConf.to_container(model, resolve=True)))
    params = sum(a * b * (basis + 1 if kan else 1) + b for a, b in zip(widths[:-1], widths[1:]))
    components = 1 + len(problem.inputs) * (len(problem.inputs) + 3) // 2  # value, first and second partials
    points = cfg.sampler.n_interior + cfg.sampler.n_boundary * max(len(problem.conditions), 1)
    per_point = components * sum(a * basis + b for a, b in zip(widths[:-1], widths[1:]))
    size = torch.finfo(dtype).bits // 8
    need_params, need_points = 4 * size * params, size * points * per_point
    available = _available_memory(device)
    if need_params + need_points > available:
        if need_params > need_points:
            key = "model.grid_size" if kan and basis > max(widths) else "model.hidden"
        else:
            key = "sampler.n_interior" if points * components > basis else "model.grid_size"
        raise ConfigError(key, f"this run needs at least {(need_params + need_points) / 2**30:.1f} GiB "
                          f"({params:,} parameters, {points:,} collocation points), {device.type} memory "
                          f"available: {available / 2**30:.1f} GiB")


def _available_memory(device: torch.device) -> float:
    """Bytes free for a run on ``device``: CUDA's free memory, or the system's MemAvailable."""
    if device.type == "cuda":
        return float(torch.cuda.mem_get_info(device)[0])
    try:
        with open("/proc/meminfo") as f:
            info = dict(line.split(":", 1) for line in f)
        return float(info["MemAvailable"].split()[0]) * 1024
    except (OSError, KeyError, ValueError):
        return float(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))


def build_net(problem: Problem, model: Any, dtype: torch.dtype, device: torch.device,
              core: CoreNet | None = None) -> SolutionNet:
    """The network for ``problem`` described by the ``model`` config: widths [n_in (+1 per periodic
    input), *model.hidden, n_out], inputs normalised to the domain's bounding box, the problem's
    periodic inputs embedded and its hard constraint applied. Initial weights come from torch's
    global generator (seed it first), or are a copy of ``core``'s, a network built by the caller,
    whose first and last widths must fit the problem."""
    lo, hi = problem.domain.bounds
    periodic = {problem.inputs.index(name): period for name, period in problem.periodic_inputs.items()}
    constraint = problem.hard_constraint
    widths = [len(problem.inputs) + len(periodic), *model.hidden, len(problem.outputs)]
    if core is not None:
        if core.widths[0] != widths[0] or core.widths[-1] != widths[-1]:
            raise ConfigError("model", f"{type(core).__name__} widths {core.widths} do not fit {type(problem).__name__}: "
                                       f"it needs {widths[0]} inputs ({', '.join(problem.inputs)}"
                                       f"{', +1 per periodic input' if periodic else ''}) and {widths[-1]} outputs")
        core = copy.deepcopy(core).to(dtype)
    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        core = build_core(model, widths) if core is None else core
        net = SolutionNet(core, torch.as_tensor(lo, dtype=dtype), torch.as_tensor(hi, dtype=dtype), periodic, constraint)
    finally:
        torch.set_default_dtype(previous)
    return net.to(device)


def build_loop(cfg: Any, problem: Problem, net: SolutionNet, evaluate: Callable[[SolutionNet], float] | None,
               out: RunDirectory | None = None, callbacks: Sequence[Callback] = (),
               signals: StopOnSignals | None = None) -> tuple[Loop, Evaluation]:
    """The training loop a config describes: its loss (weights, sparsity term, collocation), its
    phases (``optim.phases``) and callbacks: ``signals`` first, then time limit, NaN guard,
    resampling, grid schedule, progress, evaluation, the user's ``callbacks``, checkpoints into
    ``out`` and, under torchrun, the ranks' agreement on stops (training/data_parallel.py)."""
    sampler, optim, dtype, device = cfg.sampler, cfg.optim, net.shift.dtype, net.shift.device
    parallel = DataParallel.current()
    if parallel is not None and sampler.adaptive:
        raise ConfigError("sampler.adaptive", f"adaptive sampling is not available in a run of {parallel.size} "
                                              "processes yet (each rank would pick from its own residuals)")
    collocation = Collocation(problem, sampler, cfg.seed, dtype, device, cfg.diff, parallel)
    if sampler.time_windows > 1 and not problem.has_time:
        raise ConfigError("sampler.time_windows", f"{type(problem).__name__} has no time axis (a SpaceTime domain)")
    sparsity, grid = optim.sparsity, optim.grid
    regularizers = {"sparsity": Sparsity(sparsity.l1, sparsity.entropy)} if sparsity.weight and net.is_kan else {}
    weighting = build_weighting(optim.weighting, {**problem.loss_weights(), "sparsity": sparsity.weight}, problem)
    options: dict[str, Any] = dict(engine=cfg.diff, regularizers=regularizers, compile=optim.compile)
    points = collocation.sample(0)
    loss = (Loss(problem, net, points, weighting, **options) if parallel is None
            else DataParallelLoss(problem, net, points, weighting, parallel=parallel, **options))
    phases = [PHASES.get(name)(**optim[name]) for name in optim.phases]
    evaluation = Evaluation(evaluate, cfg.output.eval_every)
    steps: list[Callback] = [signals] if signals is not None else []
    steps += [TimeLimit(optim.time_limit)] if optim.time_limit else []
    steps += [DivergenceGuard(), Resample(collocation, loss, sampler.resample_every, sampler.time_windows),
              GridSchedule(grid.update_every, grid.update_until, grid.eps, grid.extend_at, grid.extend_to,
                           grid.carry_state),
              AdaptWeights(loss), Progress(cfg.output.progress and (parallel is None or parallel.rank == 0)), evaluation,
              *callbacks]
    steps += [Checkpoint(out.save_checkpoint, cfg.output.checkpoint_every)] if out is not None else []
    steps += [AgreeOnStops(parallel, signals)] if parallel is not None else []
    return Loop(loss, phases, steps), evaluation


__all__ = ["build_loop", "build_net", "check_size", "instantiate_problem", "problem_spec", "select_device", "select_dtype"]
