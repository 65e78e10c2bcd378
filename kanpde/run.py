"""One run: build the problem and the network, train, evaluate, and write the output contract.

Run directory contents: metrics.json, history.h5, checkpoint.pt, solution.vtu (+ solution.xdmf),
solution.png, reference.png, error.png, loss.png; every file written atomically.
"""
from __future__ import annotations

import importlib
import inspect
import logging
import typing
from pathlib import Path
from typing import Any

import numpy as np
import torch
from omegaconf import OmegaConf

from . import __version__
from .config import choice, validate
from .errors import ConfigError, KanpdeError
from .export import write_solution
from .io import load_checkpoint, save_checkpoint, write_history, write_json
from .nets import SolutionNet, build_model
from .plot import plot_fields, plot_history
from .problem import Problem, TestSet
from .train import ADAM, LBFGS, DivergedError, Trainer

log = logging.getLogger("kanpde")
CHECKPOINT, METRICS = "checkpoint.pt", "metrics.json"
RESUME_KEYS = ("problem", "model", "sampler", "seed", "dtype", "diff")


def instantiate_problem(node: Any) -> Problem:
    """The Problem named by ``node._target_`` built with the node's other keys, each checked
    against the constructor's parameters and their type hints."""
    spec = OmegaConf.to_container(node, resolve=True) if OmegaConf.is_config(node) else dict(node)
    target = spec.pop("_target_", None)
    if not target:
        raise ConfigError("problem._target_", "missing: name the Problem class, e.g. kanpde.problems.Poisson2D")
    module_name, _, class_name = target.rpartition(".")
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError, ValueError) as exc:
        raise ConfigError("problem._target_", f"cannot import {target!r} ({exc})") from None
    if not (inspect.isclass(cls) and issubclass(cls, Problem)):
        raise ConfigError("problem._target_", f"{target!r} is not a kanpde.problem.Problem subclass")
    params = inspect.signature(cls).parameters
    hints = typing.get_type_hints(cls.__init__)
    for key, value in spec.items():
        if key not in params:
            raise ConfigError(f"problem.{key}", f"not a parameter of {cls.__name__}; parameters: {', '.join(params)}")
        expected = hints.get(key)
        if expected in (int, float, bool, str) and not _fits(value, expected):
            raise ConfigError(f"problem.{key}", f"expected {expected.__name__}, got {value!r}")
    return cls(**spec)


def _fits(value: Any, expected: type) -> bool:
    if expected is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if expected is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, expected)


def select_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device", "cuda was asked for but torch.cuda.is_available() is False")
    return torch.device(name)


class Evaluator:
    """Predictions and errors of a network on the problem's test set."""

    def __init__(self, test: TestSet, device: torch.device, dtype: torch.dtype):
        self.test = test
        self.x = torch.as_tensor(test.points, dtype=dtype, device=device)
        self.ref = np.asarray(test.values, dtype=np.float64)

    @torch.no_grad()
    def predict(self, net: SolutionNet) -> np.ndarray:
        return net(self.x).double().cpu().numpy()

    def rel_l2_fields(self, pred: np.ndarray) -> np.ndarray:
        """(n_out,) relative L2 error of every field."""
        return np.linalg.norm(pred - self.ref, axis=0) / np.linalg.norm(self.ref, axis=0)

    def rel_l2(self, net: SolutionNet) -> float:
        """Mean over the fields of the relative L2 error."""
        return float(self.rel_l2_fields(self.predict(net)).mean())


def _check_run_dir(cfg: Any, run_dir: Path) -> dict | None:
    """The checkpoint to resume from (None for a fresh run); refuses to clobber a run."""
    ckpt = run_dir / CHECKPOINT
    if cfg.resume:
        if not ckpt.exists():
            raise KanpdeError(f"resume=true but there is no checkpoint {ckpt}")
        state = load_checkpoint(ckpt)
        if "trainer" not in state or "config" not in state:
            raise KanpdeError(f"cannot read checkpoint {ckpt}: not a kanpde checkpoint")
        now = OmegaConf.to_container(cfg, resolve=True)
        for key in RESUME_KEYS:
            if state["config"].get(key) != now.get(key):
                raise ConfigError(key, f"differs from the checkpoint's in {ckpt}; resume with the same {key}")
        return state
    if (ckpt.exists() or (run_dir / METRICS).exists()) and not cfg.overwrite:
        raise KanpdeError(f"{run_dir} already holds a run; pass resume=true to continue it or overwrite=true to replace it")
    return None


def solve(cfg: Any, run_dir: str | Path, problem_name: str | None = None, model_name: str | None = None) -> dict:
    """Train and evaluate one configuration, writing every output into ``run_dir``.

    Returns the metrics dict (also written to metrics.json).
    """
    run_dir = Path(run_dir)
    validate(cfg)
    problem = instantiate_problem(cfg.problem)
    problem_name = problem_name or type(problem).__name__
    model_name = model_name or cfg.model.name
    dtype = torch.float64 if choice(cfg.dtype) == "float64" else torch.float32
    device = select_device(choice(cfg.device))
    problem.check()  # bad weights, boundaries or fields fail before anything is written
    resume_state = _check_run_dir(cfg, run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)

    torch.manual_seed(cfg.seed)
    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        lo, hi = problem.domain.bounds
        periodic = {problem.inputs.index(name): period for name, period in problem.periodic_inputs.items()}
        constraint = problem.hard_constraint if problem.hard else None
        net = build_model(cfg.model, len(problem.inputs), len(problem.outputs), lo, hi, periodic, constraint).to(device)
    finally:
        torch.set_default_dtype(previous)
    test = problem.test_set()
    evaluator = Evaluator(test, device, dtype)
    config = OmegaConf.to_container(cfg, resolve=True)

    def checkpoint(state: dict) -> None:
        save_checkpoint(run_dir / CHECKPOINT, {"trainer": state, "config": config, "kanpde_version": __version__})

    trainer = Trainer(problem, net, cfg, device=device, dtype=dtype, evaluate=evaluator.rel_l2, checkpoint=checkpoint)
    if resume_state is not None:
        trainer.restore(resume_state["trainer"])
        log.info("resuming %s at step %d", run_dir, trainer.global_step)
    base = {"problem": problem_name, "model": model_name, "network": "kan" if net.is_kan else "mlp",
            "inputs": list(problem.inputs), "outputs": list(problem.outputs), "seed": int(cfg.seed), "n_params": sum(p.numel() for p in net.parameters()), "device": str(device),
            "dtype": str(dtype).replace("torch.", ""), "kanpde_version": __version__, "torch_version": torch.__version__}
    write_json(run_dir / METRICS, {**base, "status": "running"})

    status = "ok"
    try:
        trainer.run()
    except KeyboardInterrupt:
        trainer.checkpoint()
        _write_outputs(cfg, run_dir, problem, trainer, evaluator, base, "interrupted")
        raise
    except DivergedError as exc:
        status = f"diverged: {exc}"
    metrics = _write_outputs(cfg, run_dir, problem, trainer, evaluator, base, status)
    if status != "ok":
        raise KanpdeError(f"{status} (outputs written to {run_dir})")
    return metrics


def _write_outputs(cfg: Any, run_dir: Path, problem: Problem, trainer: Trainer, evaluator: Evaluator,
                   base: dict, status: str) -> dict:
    """Final evaluation, then history.h5, solution.vtu, figures and metrics.json (last)."""
    trainer.record_eval(max(trainer.global_step - 1, 0))  # after the last step
    pred = evaluator.predict(trainer.net)
    ref, test = evaluator.ref, evaluator.test
    errors = evaluator.rel_l2_fields(pred)
    final_loss, final_terms = trainer.final_loss()
    history = {k: np.asarray(v) for k, v in trainer.history.rows.items()}
    phases = history.get("phase", np.zeros(0))
    write_history(run_dir / "history.h5", history)

    fields = {}
    for i, name in enumerate(problem.outputs):
        fields.update({name: pred[:, i], f"{name}_ref": ref[:, i], f"{name}_error": pred[:, i] - ref[:, i]})
    write_solution(run_dir / "solution.vtu", test.points, fields, test.grid_shape, xdmf=cfg.output.xdmf,
                   triangles=test.triangles)
    if cfg.output.figures:
        predicted = {n: pred[:, i] for i, n in enumerate(problem.outputs)}
        reference = {n: ref[:, i] for i, n in enumerate(problem.outputs)}
        plot_fields(run_dir, test.points, predicted, reference, problem.inputs, test.grid_shape, test.triangles)
        plot_history(run_dir / "loss.png", history)

    metrics = {**base, "rel_l2": float(errors.mean()),
               "rel_l2_fields": {n: float(e) for n, e in zip(problem.outputs, errors)},
               "max_abs_error": float(np.abs(pred - ref).max()), "final_loss": final_loss,
               "final_loss_terms": final_terms, "adam_steps": int((phases == ADAM).sum()),
               "lbfgs_steps": int((phases == LBFGS).sum()), "train_seconds": trainer.elapsed, "status": status,
               "grid_sizes": trainer.net.core.grid_sizes() if trainer.net.is_kan else None,
               "events": trainer.events}
    if trainer.problem.unknowns:
        found, true = trainer.unknown_values(), trainer.problem.true_unknowns
        metrics["unknowns"] = found
        metrics["unknowns_true"] = true
        metrics["unknowns_rel_error"] = {k: abs(found[k] - v) / abs(v) for k, v in true.items() if v != 0}
    write_json(run_dir / METRICS, metrics)
    return metrics
