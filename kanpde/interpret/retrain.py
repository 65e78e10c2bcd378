"""Continued training of a (pruned or snapped) network against its run's PDE loss.

The standard Trainer, on the run's problem and collocation points, in float64 on the CPU: optional
Adam steps, then L-BFGS; no grid updates, no sparsity term, no checkpoints, no progress bar.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from omegaconf import OmegaConf

from ..nets import SolutionNet
from ..run import Evaluator
from ..train import ADAM, DivergedError, Trainer
from .load import LoadedRun


@dataclass
class Retrained:
    """rel L2 on the test set after training, the training seconds, the Adam / L-BFGS steps, the
    final loss and "ok" or the reason training stopped (its last finite state is kept)."""

    rel_l2: float
    seconds: float
    adam_steps: int
    lbfgs_steps: int
    final_loss: float
    status: str


def retrain(run: LoadedRun, net: SolutionNet, lbfgs_steps: int, adam_steps: int = 0) -> Retrained:
    """Train ``net`` in place on ``run``'s problem; returns how it went."""
    cfg = OmegaConf.merge(run.cfg, {
        "optim": {"adam": {"steps": adam_steps}, "lbfgs": {"steps": lbfgs_steps}, "time_limit": 0.0,
                  "grid": {"update_every": 0, "extend_at": [], "extend_to": []}, "sparsity": {"weight": 0.0}},
        "output": {"eval_every": 0, "checkpoint_every": 10**9, "progress": False},
        "device": "cpu", "dtype": "float64"})
    torch.manual_seed(cfg.seed)
    evaluator = Evaluator(run.test, torch.device("cpu"), torch.float64)
    trainer = Trainer(run.problem, net, cfg, device=torch.device("cpu"), dtype=torch.float64,
                      evaluate=evaluator.rel_l2, checkpoint=lambda state: None)
    status = "ok"
    try:
        trainer.run()
    except DivergedError as exc:
        status = f"diverged: {exc}"
    phases = trainer.history.rows.get("phase", [])
    adam = sum(1 for p in phases if p == ADAM)
    return Retrained(evaluator.rel_l2(net), trainer.elapsed, adam, len(phases) - adam, trainer.final_loss()[0],
                     status)


__all__ = ["Retrained", "retrain"]
