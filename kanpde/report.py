"""What a run is scored on and what it reports: the problem's test sets, the error measure that
training follows, and the final metrics (metrics.json) with the Solution they belong to.

    sets     Problem.test_sets(), checked (pde/test_set.check_test_sets)
    test     the scored sets together: what ``rel_l2`` measures (TestSet.score)
    metrics  the run's facts (problem, network, versions), the errors on ``test`` and on each
             named set, the final loss and its terms, steps per phase, time, status, events
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np
import torch
from omegaconf import DictConfig

from . import __version__
from .io.run_dir import RunDirectory
from .nets import SolutionNet
from .pde import Problem, TestSet
from .pde.test_set import check_test_sets
from .solution import Solution, predict
from .training import PHASES, Evaluation, Loop


class Scoring:
    """The test sets of ``problem`` and their points as tensors of ``dtype`` on ``device``."""

    def __init__(self, problem: Problem, dtype: torch.dtype, device: torch.device):
        self.sets = problem.test_sets()
        check_test_sets(problem, self.sets)
        self.test = TestSet.score(self.sets, len(problem.inputs), len(problem.outputs))
        self.x = torch.as_tensor(self.test.points, dtype=dtype, device=device)

    def evaluator(self) -> Callable[[SolutionNet], float] | None:
        """net -> rel_l2 on the score set, for the training history; None when no point has a
        reference value (there is no error to follow)."""
        if not self.test.scored_points().any():
            return None
        return lambda net: self.test.rel_l2(predict(net, self.x))

    def finish(self, cfg: DictConfig, loop: Loop, evaluation: Evaluation, facts: dict, status: str,
               out: RunDirectory | None) -> Solution:
        """The final evaluation and metrics; the Solution; its files when there is a run directory."""
        net, problem, sets = loop.net, loop.loss.problem, self.sets
        pred = predict(net, self.x)
        predictions = {name: predict(net, self.x.new_tensor(s.points)) for name, s in sets.items()}
        rel_l2 = self.test.rel_l2(pred)
        evaluation.record(loop, loop.last_step, rel_l2)
        total, terms = loop.loss()
        history = loop.history.arrays()
        phases = history.get("phase", np.zeros(0))
        score = self.test.summary(pred, problem.outputs)
        metrics = {**facts, "rel_l2": rel_l2,  # NaN (null in metrics.json) when no field has a reference
                   "rel_l2_fields": score["rel_l2_fields"], "max_abs_error": self.test.max_abs_error(pred),
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
        solution = Solution(net, problem, cfg, history, metrics, loop.state_dict(),
                            run_dir=None if out is None else out.path)
        solution.remember_test(sets, predictions)
        if out is not None:
            out.write(history, sets, predictions, problem.inputs, problem.outputs, metrics,
                      problem.domain.time_name if problem.has_time else None)
        return solution


def run_facts(cfg: DictConfig, problem: Problem, net: SolutionNet, dtype: torch.dtype, device: torch.device,
              processes: int, problem_name: str | None = None, model_name: str | None = None) -> dict[str, Any]:
    """What a run was: problem, network, sizes, device, versions (the head of metrics.json)."""
    return {"problem": problem_name or type(problem).__name__, "model": model_name or cfg.model.name,
            "network": net.family, "inputs": list(problem.inputs), "outputs": list(problem.outputs),
            "seed": int(cfg.seed), "n_params": sum(p.numel() for p in net.parameters()), "device": str(device),
            "dtype": str(dtype).replace("torch.", ""), "kanpde_version": __version__,
            "torch_version": torch.__version__, "threads": torch.get_num_threads(), "processes": processes}


__all__ = ["Scoring", "run_facts"]
