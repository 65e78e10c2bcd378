"""Continued training of a (pruned or snapped) network against its run's PDE loss.

The standard loop (training/) on the run's problem and round-0 collocation points, in the network's
dtype and device: optional Adam steps, then L-BFGS, with the NaN guard and nothing else (no grid
changes, no sparsity term, no checkpoints, no progress bar). The derivatives come from the default
engine (jets for KANs, autograd for the snapped network).
"""
from __future__ import annotations

from dataclasses import dataclass

from ..nets import SolutionNet
from ..solution import Solution, predict
from ..training import LBFGS, Adam, Collocation, DivergedError, DivergenceGuard, FixedWeights, Loop, Loss, StalledError


@dataclass
class Retrained:
    """rel L2 on the test set after training, the training seconds, the Adam / L-BFGS steps, the
    final loss and "ok" or the reason training stopped."""

    rel_l2: float
    seconds: float
    adam_steps: int
    lbfgs_steps: int
    final_loss: float
    status: str


def retrain(run: Solution, net: SolutionNet, lbfgs_steps: int, adam_steps: int = 0) -> Retrained:
    """Train ``net`` in place on ``run``'s problem; returns how it went."""
    cfg, problem = run.config, run.problem
    dtype, device = net.shift.dtype, net.shift.device
    points = Collocation(problem, cfg.sampler, cfg.seed, dtype, device).sample(0)
    loss = Loss(problem, net, points, FixedWeights().bind(problem.loss_weights()))
    phases = [Adam(**{**cfg.optim.adam, "steps": adam_steps}), LBFGS(**{**cfg.optim.lbfgs, "steps": lbfgs_steps})]
    loop = Loop(loss, phases, [DivergenceGuard()])
    status = "ok"
    try:
        loop.run()
    except DivergedError as exc:
        status = f"diverged: {exc}"
    except StalledError as exc:  # e.g. an exact formula that L-BFGS cannot improve on
        status = f"stalled: {exc}"
    phase = loop.history.arrays().get("phase")
    adam = 0 if phase is None else int((phase == phases[0].code).sum())
    lbfgs = 0 if phase is None else int((phase == phases[1].code).sum())
    x_test = run.net.shift.new_tensor(run.test_set.points)
    return Retrained(run.test_set.rel_l2(predict(net, x_test)), loop.elapsed, adam, lbfgs, float(loss()[0].detach()),
                     status)


__all__ = ["Retrained", "retrain"]
