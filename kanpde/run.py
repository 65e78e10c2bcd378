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
from typing import Any, Sequence

import torch
from omegaconf import DictConfig, OmegaConf

from .build import (build_loop, build_net, check_size, instantiate_problem, problem_spec, select_device,
                    select_dtype)
from .config import choice, compose, validate
from .errors import ConfigError, KanpdeError
from .io.run_dir import CHECKPOINT, RunDirectory, checkpoint_mismatch
from .nets import CoreNet
from .pde import Problem
from .report import Scoring, run_facts
from .schema import import_plugins, strategy_options
from .solution import Solution
from .training import Callback, DivergedError, Interrupted, Loop, Phase, StalledError, Weighting
from .training.distributed import DataParallel
from .training.interrupt import StopOnSignals

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
    parallel = DataParallel.current()  # under torchrun: this rank's place; only rank 0 writes
    out, resume_state = _open(cfg, run_dir, parallel)
    torch.manual_seed(cfg.seed)
    net = build_net(problem, cfg.model, dtype, device, core)
    scoring = Scoring(problem, dtype, device)
    problem.to(device, dtype)
    signals = StopOnSignals()
    loop, evaluation = build_loop(cfg, problem, net, scoring.evaluator(), out, callbacks, signals)
    loop.loss.check()  # residuals of the wrong shape fail here, before anything is written
    if resume_state is not None:
        try:
            loop.load_state_dict(resume_state["loop"])
        except (KeyError, RuntimeError, ValueError, TypeError) as exc:
            raise checkpoint_mismatch(out.path / CHECKPOINT, exc) from None
        log.info("resuming %s at step %d", out.path, loop.global_step)
    facts = run_facts(cfg, problem, net, dtype, device, 1 if parallel is None else parallel.size, problem_name,
                      model_name)
    if out is not None:
        out.start(facts, overrides)
    status, error = _train(loop, signals, out)
    solution = scoring.finish(cfg, loop, evaluation, facts, status, out)
    if error is None:
        return solution
    error.solution = solution  # type: ignore[attr-defined]
    raise error from None


def _open(cfg: DictConfig, run_dir: str | Path | None,
          parallel: DataParallel | None) -> tuple[RunDirectory | None, dict | None]:
    """The run directory (None without ``run_dir``) and the checkpoint to resume (None: a fresh
    run), rank 0's on every rank."""
    lead = parallel is None or parallel.rank == 0
    config = OmegaConf.to_container(cfg, resolve=True, enum_to_str=True)
    out = RunDirectory(run_dir, config, writes=lead) if run_dir is not None else None
    if out is None and cfg.resume:
        raise ConfigError("resume", "needs the run directory to continue (run_dir)")
    state = out.resume_state(cfg.resume, cfg.overwrite) if out is not None and lead else None
    return out, state if parallel is None else parallel.broadcast(state)


def _train(loop: Loop, signals: StopOnSignals, out: RunDirectory | None) -> tuple[str, KanpdeError | None]:
    """Run the loop: its status (ok, interrupted, diverged: ..., stalled: ...) and the error that
    ``run`` raises once the outputs are written (None when ok). An interrupted run first writes a
    checkpoint, unless a second signal cut a step short (the last checkpoint stays); any other
    failure is recorded in the run directory and raised at once."""
    try:
        loop.run()
    except KeyboardInterrupt:  # a second signal, in the middle of a step
        return "interrupted", _interrupted(loop, (signals.caught or [signal.SIGINT])[0], out, "the last checkpoint is kept")
    except (DivergedError, StalledError) as failed:
        kind = "diverged" if isinstance(failed, DivergedError) else "stalled"
        where = f" (outputs written to {out.path})" if out is not None else ""
        return f"{kind}: {failed}", type(failed)(f"{kind}: {failed}{where}")
    except Exception as exc:
        if out is not None:
            out.record_failure(exc)
        raise
    if not signals.caught:
        return "ok", None
    if out is not None:
        out.save_checkpoint(loop.state_dict())
    return "interrupted", _interrupted(loop, signals.caught[0], out, "checkpoint written")


def _interrupted(loop: Loop, signum: int, out: RunDirectory | None, kept: str) -> Interrupted:
    where = f" in {out.path}: {kept}; continue with resume=true" if out is not None else ""
    return Interrupted(f"interrupted by {signal.Signals(signum).name} at step {loop.global_step}{where}", signum)


__all__ = ["run", "solve"]
