"""The front door: ``solve`` trains a network on a problem and returns a ``Solution``.

    sol = kanpde.solve("burgers1d", "kan", overrides=["optim.lbfgs.steps=500"], seed=1)

``solve`` composes the config exactly as the command line does (the same schemas, the same
one-line errors), ``run`` trains on a composed config: the problem and network (build.py), the
loss, phases and callbacks (training/), the final metrics, and, given a run directory, the output
contract (io/run_dir.py). The ``kanpde`` command is a thin adapter over ``run``.
"""
from __future__ import annotations

import copy
import logging
import signal
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import torch
from omegaconf import DictConfig, OmegaConf

from . import __version__
from .build import build_net, check_size, instantiate_problem, problem_spec, select_device, select_dtype
from .config import choice, compose, validate
from .schema import import_plugins
from .errors import ConfigError, KanpdeError
from .io.run_dir import CHECKPOINT, RunDirectory, checkpoint_mismatch
from .nets import CoreNet, SolutionNet
from .pde import Problem, TestSet
from .solution import Solution, predict
from .training import (
    PHASES,
    AdaptWeights,
    Callback,
    Checkpoint,
    Collocation,
    DivergedError,
    DivergenceGuard,
    Evaluation,
    GridSchedule,
    Interrupted,
    Loop,
    Loss,
    Phase,
    Progress,
    Resample,
    Sparsity,
    StalledError,
    TimeLimit,
    WEIGHTINGS,
    Weighting,
    build_weighting,
)
from .training.distributed import DataParallel
from .training.interrupt import stop_on_signals

log = logging.getLogger("kanpde")


def solve(problem: str | Problem = "poisson2d", model: str | CoreNet = "kan", *, overrides: Sequence[str] = (),
          run_dir: str | Path | None = None, callbacks: Sequence[Callback] = (), config_dir: str | Path | None = None,
          phases: Sequence[Phase] | None = None, weighting: Weighting | None = None, **options: Any) -> Solution:
    """Train ``model`` (a config in conf/model: kan, mlp, kan_small, ...; or a network object such
    as ``KAN([2, 8, 8, 1], basis=BSpline(grid_size=5))``, copied, whose initial weights are
    trained) on ``problem`` (a name in conf/problem, or a Problem object, which is copied: yours
    stays untouched) and return the Solution.

    ``overrides``: the command line's ``key=value`` strings (``"optim.adam.steps=200"``);
    ``options``: config keys as Python values, nested dicts for groups (``seed=1``,
    ``optim={"lbfgs": {"steps": 500}}``), applied after the overrides; ``callbacks``: your own
    training callbacks (kanpde.training.Callback); ``config_dir``: a folder of your own configs
    (as ``kanpde --config-dir``); ``phases`` (``[Adam(steps=500), SSBroyden(steps=2000)]``) and
    ``weighting`` (``ResidualAttention(eta=0.01)``): strategy objects, kanpde's or your own
    registered ones, which set ``optim.phases`` with each phase's section and ``optim.weighting``
    (so that the run's config records them and a resume rebuilds them). Nothing is written unless ``run_dir`` is given, which then
    receives the full output contract. Bad input raises a KanpdeError with a one-line message;
    a run that diverges raises DivergedError, one that could not take a single step StalledError;
    the ``solution`` of either is what was trained.
    """
    core = None
    if isinstance(model, CoreNet):
        core, model = model, model.name
        options = {**options, "model": OmegaConf.merge(options.get("model", {}), core.config())}
    elif not isinstance(model, str):
        raise KanpdeError(f"model must be the name of a model config (kan, mlp, kan_small, ...) or a network such as "
                          f"kanpde.nets.KAN([2, 8, 8, 1]), got {model!r}")
    if phases is not None or weighting is not None:
        options = {**options, "optim": OmegaConf.merge(options.get("optim", {}), strategy_options(phases, weighting))}
    if isinstance(problem, Problem):
        if "problem" in options:
            raise ConfigError("problem", "the problem is given as an object: set its parameters when you build it")
        cfg = compose(None, model, overrides, options, config_dir)
        cfg.problem = problem_spec(problem)
        return run(cfg, run_dir, problem_name=type(problem).__name__, model_name=model,
                   problem=copy.deepcopy(problem), callbacks=callbacks, core=core)  # the caller's objects stay as they were
    if not isinstance(problem, str):
        raise KanpdeError(f"problem must be a registered name or a kanpde Problem, got {type(problem).__name__}")
    cfg = compose(problem, model, overrides, options, config_dir)
    return run(cfg, run_dir, problem_name=problem, model_name=model, callbacks=callbacks, core=core)


def strategy_options(phases: Sequence[Phase] | None, weighting: Weighting | None) -> dict:
    """The ``optim`` config keys that set these phase and weighting objects: their names and their
    options. Each must be an instance of a registered class (PHASES, WEIGHTINGS); two phases of
    one class would share a config section, so they are refused."""
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


def run(cfg: DictConfig, run_dir: str | Path | None = None, *, problem_name: str | None = None,
        model_name: str | None = None, problem: Problem | None = None, callbacks: Sequence[Callback] = (),
        overrides: Sequence[str] = (), core: CoreNet | None = None) -> Solution:
    """Train on the composed config ``cfg`` (problem built from ``cfg.problem`` unless given).
    With ``run_dir``: refuses to clobber a run there, resumes it with ``resume=true``, and writes
    the output contract, .hydra/config.yaml and (the command line's ``overrides``) overrides.yaml
    included, once every check has passed. ``core``: the network to train (a copy), instead of one
    built from ``cfg.model``."""
    import_plugins(cfg.get("plugins", []))  # a job in a fresh process (a sweep's worker) registers them again
    validate(cfg)
    problem = problem if problem is not None else instantiate_problem(cfg.problem)
    dtype, device = select_dtype(choice(cfg.dtype)), select_device(choice(cfg.device))
    problem.check()  # bad weights, boundaries or fields fail before anything is written
    check_size(cfg, problem, dtype, device)
    config = OmegaConf.to_container(cfg, resolve=True, enum_to_str=True)
    parallel = DataParallel.current()  # under torchrun: this rank's place; only rank 0 writes
    lead = parallel is None or parallel.rank == 0
    out = RunDirectory(run_dir, config, writes=lead) if run_dir is not None else None
    if out is None and cfg.resume:
        raise ConfigError("resume", "needs the run directory to continue (run_dir)")
    resume_state = out.resume_state(cfg.resume, cfg.overwrite) if out is not None and lead else None
    if parallel is not None:
        resume_state = parallel.broadcast(resume_state)

    torch.manual_seed(cfg.seed)
    net = build_net(problem, cfg.model, dtype, device, core)
    sets = problem.test_sets()
    problem.check_test_sets(sets)
    test = TestSet.score(sets, len(problem.inputs), len(problem.outputs))  # what rel_l2 measures
    problem.to(device, dtype)
    x_test = torch.as_tensor(test.points, dtype=dtype, device=device)
    scored = test.scored_points().any()  # without any reference value there is no error to follow
    loop, evaluation = build_loop(cfg, problem, net, (lambda n: test.rel_l2(predict(n, x_test))) if scored else None,
                                  out, callbacks)
    loop.loss.check()  # residuals of the wrong shape fail here, before anything is written
    if resume_state is not None:
        try:
            loop.load_state_dict(resume_state["loop"])
        except (KeyError, RuntimeError, ValueError, TypeError) as exc:
            raise checkpoint_mismatch(out.path / CHECKPOINT, exc) from None
        log.info("resuming %s at step %d", out.path, loop.global_step)
    base = {"problem": problem_name or type(problem).__name__, "model": model_name or cfg.model.name,
            "network": "kan" if net.is_kan else "mlp", "inputs": list(problem.inputs),
            "outputs": list(problem.outputs), "seed": int(cfg.seed), "n_params": sum(p.numel() for p in net.parameters()),
            "device": str(device), "dtype": str(dtype).replace("torch.", ""), "kanpde_version": __version__,
            "torch_version": torch.__version__, "threads": torch.get_num_threads(),
            "processes": 1 if parallel is None else parallel.size}
    if out is not None:
        out.start(base, overrides)

    failed, at_once = None, False
    with stop_on_signals(loop) as signals:
        try:
            loop.run()
        except KeyboardInterrupt:  # a second signal, in the middle of a step
            signals[:] = signals or [signal.SIGINT]
            at_once = True
        except (DivergedError, StalledError) as exc:
            failed = exc
        except Exception as exc:
            if out is not None:
                out.record_failure(exc)
            raise
    if parallel is not None and not at_once:  # a signal to one rank interrupts them all (loop._stopping)
        signals[:] = [s for s in parallel.gather_objects(signals[0] if signals else None) if s is not None][:1]
    if signals:
        if out is not None and not at_once:
            out.save_checkpoint(loop.state_dict())
        solution = _finish(cfg, loop, evaluation, x_test, test, sets, base, "interrupted", out)
        name = signal.Signals(signals[0]).name
        kept = ("the last checkpoint is kept" if at_once else "checkpoint written") + "; continue with resume=true"
        where = f" in {out.path}: {kept}" if out is not None else ""
        error: KanpdeError = Interrupted(f"interrupted by {name} at step {loop.global_step}{where}", signals[0])
    elif failed is not None:
        kind = "diverged" if isinstance(failed, DivergedError) else "stalled"
        solution = _finish(cfg, loop, evaluation, x_test, test, sets, base, f"{kind}: {failed}", out)
        where = f" (outputs written to {out.path})" if out is not None else ""
        error = type(failed)(f"{solution.metrics['status']}{where}")
    else:
        return _finish(cfg, loop, evaluation, x_test, test, sets, base, "ok", out)
    error.solution = solution  # type: ignore[attr-defined]
    raise error from None


def build_loop(cfg: DictConfig, problem: Problem, net: SolutionNet, evaluate: Callable[[SolutionNet], float] | None,
               out: RunDirectory | None = None, callbacks: Sequence[Callback] = ()) -> tuple[Loop, Evaluation]:
    """The training loop a config describes: its loss (weights, sparsity term, collocation), its
    phases (``optim.phases``) and callbacks: time limit, NaN guard, resampling, grid schedule,
    progress, evaluation, then the user's ``callbacks``, then checkpoints into ``out``."""
    sampler, optim, dtype, device = cfg.sampler, cfg.optim, net.shift.dtype, net.shift.device
    parallel = DataParallel.current()
    if parallel is not None and sampler.adaptive:
        raise ConfigError("sampler.adaptive", f"adaptive sampling is not available in a run of {parallel.size} "
                                              "processes yet (each rank would pick from its own residuals)")
    collocation = Collocation(problem, sampler, cfg.seed, dtype, device, cfg.diff, parallel)
    if sampler.time_windows > 1 and not problem.has_time:
        raise ConfigError("sampler.time_windows", f"{type(problem).__name__} has no time axis (a SpaceTime domain)")
    sparsity = optim.sparsity
    regularizers = {"sparsity": Sparsity(sparsity.l1, sparsity.entropy)} if sparsity.weight and net.is_kan else {}
    weighting = build_weighting(optim.weighting, {**problem.loss_weights(), "sparsity": sparsity.weight}, problem)
    loss = Loss(problem, net, collocation.sample(0), weighting, engine=cfg.diff, regularizers=regularizers,
                compile=optim.compile, parallel=parallel)
    phases = [PHASES.get(name)(**optim[name]) for name in optim.phases]
    evaluation = Evaluation(evaluate, cfg.output.eval_every)
    grid = optim.grid
    steps: list[Callback] = [TimeLimit(optim.time_limit)] if optim.time_limit else []
    steps += [DivergenceGuard(), Resample(collocation, loss, sampler.resample_every, sampler.time_windows),
              GridSchedule(grid.update_every, grid.update_until, grid.eps, grid.extend_at, grid.extend_to,
                           grid.carry_state),
              AdaptWeights(loss), Progress(cfg.output.progress and (parallel is None or parallel.rank == 0)), evaluation,
              *callbacks]
    if out is not None:
        steps.append(Checkpoint(out.save_checkpoint, cfg.output.checkpoint_every))
    return Loop(loss, phases, steps), evaluation


def _finish(cfg: DictConfig, loop: Loop, evaluation: Evaluation, x_test: torch.Tensor, test: TestSet,
            sets: dict[str, TestSet], base: dict, status: str, out: RunDirectory | None) -> Solution:
    """The final evaluation and metrics on the score ``test`` and on each of the named ``sets``; the
    Solution; its files when there is a run directory."""
    net, problem = loop.net, loop.loss.problem
    pred = predict(net, x_test)
    predictions = {name: predict(net, x_test.new_tensor(s.points)) for name, s in sets.items()}
    rel_l2 = test.rel_l2(pred)
    evaluation.record(loop, loop.last_step, rel_l2)
    total, terms = loop.loss()
    history = loop.history.arrays()
    phases = history.get("phase", np.zeros(0))
    score = test.summary(pred, problem.outputs)
    metrics = {**base, "rel_l2": rel_l2,  # NaN (null in metrics.json) when no field has a reference
               "rel_l2_fields": score["rel_l2_fields"], "max_abs_error": test.max_abs_error(pred),
               "max_abs_error_fields": score["max_abs_error_fields"], "rms_error_fields": score["rms_error_fields"],
               "scored_points": score["scored_points"],
               "test_sets": {name: s.summary(predictions[name], problem.outputs) for name, s in sets.items()},
               "final_loss": float(total.detach()), "final_loss_terms": terms,
               **{f"{name}_steps": int((phases == PHASES.index(name)).sum()) for name in PHASES.names()},
               "train_seconds": loop.elapsed, "status": status,
               "grid_sizes": net.grid_sizes() if net.is_kan else None, "events": loop.events}
    if problem.unknowns:
        found, true = loop.unknown_values(), problem.true_unknowns
        metrics.update({"unknowns": found, "unknowns_true": true,
                        "unknowns_rel_error": {k: abs(found[k] - v) / abs(v) for k, v in true.items() if v != 0}})
    solution = Solution(net, problem, cfg, history, metrics, loop.state_dict(), run_dir=None if out is None else out.path)
    solution.remember_test(sets, predictions)
    if out is not None:
        out.write(history, sets, predictions, problem.inputs, problem.outputs, metrics,
                  problem.domain.time_name if problem.has_time else None)
    return solution


__all__ = ["build_loop", "run", "solve"]
