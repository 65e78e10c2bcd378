"""The Trainer: Adam (with an lr schedule and KAN grid updates) then L-BFGS (strong Wolfe).

One history row per optimiser step (an L-BFGS step is one iteration). A NaN/inf guard rolls back
to the last good state and halves the step size. ``state()``/``restore()`` give everything a
checkpoint needs for a resumed run to continue bitwise-identically on the same machine.
"""
from __future__ import annotations

import copy
import logging
import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import torch
from torch import Tensor
from tqdm.auto import tqdm

from .adaptive import rad_choice, residual_norms
from .config import choice
from .diff import derivatives
from .errors import KanpdeError
from .interpret.sparsity import sparsity_terms
from .nets import SolutionNet
from .problem import Problem

log = logging.getLogger("kanpde")
ADAM, LBFGS = 0, 1
MAX_ROLLBACKS = 8
SNAPSHOT_EVERY = 50


class DivergedError(KanpdeError):
    """The loss stayed non-finite after repeated rollbacks."""


@dataclass
class _Memo:
    """The last loss evaluation: the flat parameters it was made at, its gradients and terms."""

    params: Tensor
    grads: list[Tensor | None]
    loss: Tensor
    terms: dict[str, float]


@dataclass
class History:
    """Rows of history.h5: one per optimiser step, plus periodic test-set errors."""

    rows: dict[str, list] = field(default_factory=dict)

    def append(self, **values: float) -> None:
        for key, value in values.items():
            self.rows.setdefault(key, []).append(value)

    def truncate(self, step: int) -> None:
        """Drop the rows of steps >= ``step`` (after a rollback)."""
        for prefix in ("", "eval/"):
            steps = self.rows.get(prefix + "step", [])
            keep = sum(1 for s in steps if s < step)
            for key in self.rows:
                if key.startswith("eval/") == (prefix == "eval/"):
                    del self.rows[key][keep:]


def lr_at(cfg: Any, step: int) -> float:
    """Adam's learning rate at ``step``: constant, or decaying from lr to lr_final over the phase."""
    s = choice(cfg.schedule)
    frac = step / max(cfg.steps, 1)
    if s == "constant":
        return cfg.lr
    if s == "exponential":
        return cfg.lr * (cfg.lr_final / cfg.lr) ** frac
    return cfg.lr_final + 0.5 * (cfg.lr - cfg.lr_final) * (1 + math.cos(math.pi * frac))


class Trainer:
    """Trains ``net`` on ``problem``'s loss. ``cfg`` is the run config (keys optim, sampler,
    output, diff, seed); ``evaluate(net) -> rel L2`` gives the periodic test errors and
    ``checkpoint(state)`` stores a state dict."""

    def __init__(self, problem: Problem, net: SolutionNet, cfg: Any, *, device: torch.device, dtype: torch.dtype,
                 evaluate: Callable[[SolutionNet], float], checkpoint: Callable[[dict], None]):
        self.problem, self.net, self.cfg = problem, net, cfg
        problem.to(device, dtype)
        self.device, self.dtype = device, dtype
        self.evaluate_fn, self.checkpoint_fn = evaluate, checkpoint
        self.weights = {**problem.loss_weights(), "sparsity": cfg.optim.sparsity.weight}
        self.history = History()
        self.phase, self.phase_step, self.elapsed = ADAM, 0, 0.0
        self.lr_scale, self.rollbacks, self.events = 1.0, 0, []
        self.sample_round, self.converged, self.out_of_time = 0, False, False
        self.points = self._sample(0)
        losses = lambda points: problem.losses(points, self._derivatives)  # noqa: E731
        if cfg.optim.compile:  # one eager evaluation first builds the constant tables outside tracing
            losses(self.points)
            losses = torch.compile(losses)
        self._losses = losses
        self.optimizer = self._make_optimizer()
        self._memo: _Memo | None = None
        self._snapshot: dict | None = None

    # ----- collocation points and the loss ---------------------------------------------------
    def _sample(self, round_: int) -> dict[str, Tensor]:
        """Collocation points of resampling round ``round_``; with sampler.adaptive, the interior
        points after round 0 are drawn by RAD from a pool where the residual is large."""
        s = self.cfg.sampler
        seed = self.cfg.seed + 104729 * round_
        pts = self.problem.collocation(s.n_interior, s.n_boundary, choice(s.method), seed)
        points = {k: torch.as_tensor(v, dtype=self.dtype, device=self.device) for k, v in pts.items()}
        if s.adaptive and round_ > 0:
            pool = torch.as_tensor(self.problem.domain.sample_interior(s.n_interior * s.adaptive_pool, choice(s.method),
                                                                       seed + 1), dtype=self.dtype, device=self.device)
            r = residual_norms(self.problem, self._derivatives, pool)
            pick = rad_choice(r, s.n_interior, s.adaptive_k, s.adaptive_c, seed)
            points["pde"] = pool[torch.as_tensor(pick, device=self.device)]
        return points

    def _derivatives(self, x: Tensor, order: int):
        return derivatives(choice(self.cfg.diff), self.net, x, self.problem.inputs, self.problem.outputs, order)

    def loss(self) -> tuple[Tensor, dict[str, float]]:
        """Weighted total loss (a scalar with graph) and every term's value."""
        terms = self._losses(self.points)
        terms.update(sparsity_terms(self.net, self.points["pde"], self.cfg.optim.sparsity))
        total = sum(self.weights[k] * v for k, v in terms.items())
        return total, {k: float(v.detach()) for k, v in terms.items()}

    def parameters(self) -> list[Tensor]:
        """What the optimisers train: the network's parameters and the problem's unknowns."""
        return [*self.net.parameters(), *self.problem.unknowns.values()]

    def _flat_params(self) -> Tensor:
        return torch.cat([p.detach().reshape(-1) for p in self.parameters()])

    def _closure(self) -> Tensor:
        """L-BFGS closure, memoised: re-evaluating at the point just evaluated costs nothing."""
        flat = self._flat_params()
        memo = self._memo
        if memo is not None and torch.equal(flat, memo.params):
            for p, g in zip(self.parameters(), memo.grads):
                p.grad = g
            return memo.loss
        self.optimizer.zero_grad()
        total, terms = self.loss()
        total.backward()
        self._memo = _Memo(flat, [p.grad for p in self.parameters()], total.detach(), terms)
        return self._memo.loss

    # ----- optimisers --------------------------------------------------------------------------
    def _make_optimizer(self) -> torch.optim.Optimizer:
        params = self.parameters()
        if self.phase == ADAM:
            return torch.optim.Adam(params, lr=self.cfg.optim.adam.lr * self.lr_scale)
        lb = self.cfg.optim.lbfgs
        return torch.optim.LBFGS(params, lr=lb.lr * self.lr_scale, max_iter=1, max_eval=26, history_size=lb.history_size,
                                 tolerance_grad=1e-12, tolerance_change=1e-14, line_search_fn="strong_wolfe")

    @property
    def total_steps(self) -> int:
        return self.cfg.optim.adam.steps + self.cfg.optim.lbfgs.steps

    @property
    def global_step(self) -> int:
        return self.phase_step + (self.cfg.optim.adam.steps if self.phase == LBFGS else 0)

    # ----- one step of each phase ----------------------------------------------------------------
    def _grid_events(self, step: int) -> bool:
        """Grid extension / update / resampling due before Adam step ``step``; True if the
        parameters were replaced (the optimiser must be rebuilt)."""
        g, s = self.cfg.optim.grid, self.cfg.sampler
        rebuilt = False
        if s.resample_every and step > 0 and step % s.resample_every == 0:
            self.sample_round += 1
            self.points = self._sample(self.sample_round)
        if not self.net.is_kan:
            return False
        x = self.net.normalize(torch.cat([v for k, v in self.points.items() if "/" not in k]))
        if step in g.extend_at:
            size = list(g.extend_to)[list(g.extend_at).index(step)]
            self.net.core.extend_grid(x, size)
            self.events.append({"step": step, "event": f"grid extended to {size}"})
            rebuilt = True
        elif g.update_every and step > 0 and step % g.update_every == 0 and (g.update_until < 0 or step <= g.update_until):
            self.net.core.update_grid(x, g.eps)
        return rebuilt

    def _adam_step(self) -> tuple[float, dict[str, float], float]:
        step = self.phase_step
        if self._grid_events(step):
            self.optimizer = self._make_optimizer()
        lr = lr_at(self.cfg.optim.adam, step) * self.lr_scale
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        self.optimizer.zero_grad()
        total, terms = self.loss()
        if not torch.isfinite(total):
            return math.nan, terms, lr
        total.backward()
        self.optimizer.step()
        return float(total.detach()), terms, lr

    def _lbfgs_step(self) -> tuple[float, dict[str, float], float]:
        before = self._flat_params()
        self.optimizer.step(self._closure)
        self._closure()  # loss at the accepted point (free when the line search ended there)
        memo = self._memo
        if torch.equal(before, self._flat_params()) and torch.isfinite(memo.loss):
            raise StopIteration  # converged: L-BFGS makes no further progress
        return float(memo.loss), memo.terms, self.optimizer.param_groups[0]["lr"]

    # ----- the NaN guard -------------------------------------------------------------------------
    def _take_snapshot(self) -> None:
        self._snapshot = {"step": self.phase_step, "net": copy.deepcopy(self.net.state_dict()),
                          "unknowns": self.unknown_values(),
                          "optimizer": copy.deepcopy(self.optimizer.state_dict())}

    def _rollback(self, reason: str) -> None:
        self.rollbacks += 1
        if self.rollbacks > MAX_ROLLBACKS or self._snapshot is None:
            raise DivergedError(f"training diverged: {reason} after {self.rollbacks - 1} rollbacks")
        self.net.load_state_dict(self._snapshot["net"])
        self._set_unknowns(self._snapshot["unknowns"])
        failed_at, self.phase_step = self.phase_step, self._snapshot["step"]
        self.history.truncate(self.global_step)
        self.lr_scale *= 0.5
        self.optimizer = self._make_optimizer()
        if self.phase == ADAM:
            self.optimizer.load_state_dict(self._snapshot["optimizer"])
        self._memo = None
        phase = "adam" if self.phase == ADAM else "lbfgs"
        message = (f"{reason} at {phase} step {failed_at}: rolled back to step {self.phase_step},"
                   f" step size scaled by {self.lr_scale:g}")
        log.warning(message)
        self.events.append({"step": self.global_step, "event": message})

    # ----- the loop --------------------------------------------------------------------------------
    def run(self) -> None:
        """Train to the end of both phases (L-BFGS stops early once it makes no progress)."""
        bar = tqdm(total=self.total_steps, initial=self.global_step, dynamic_ncols=True, leave=False,
                   disable=None if self.cfg.output.progress else True)  # None: only on a terminal
        try:
            for phase, steps in ((ADAM, self.cfg.optim.adam.steps), (LBFGS, self.cfg.optim.lbfgs.steps)):
                if self.phase > phase or (phase == LBFGS and self.converged) or self.out_of_time:
                    continue
                if self.phase < phase:
                    self.phase, self.phase_step, self.lr_scale = phase, 0, 1.0
                    self.optimizer, self._memo, self._snapshot = self._make_optimizer(), None, None
                bar.set_description("adam" if phase == ADAM else "lbfgs")
                self._run_phase(steps, bar)
            self.checkpoint()
        finally:
            bar.close()

    def _run_phase(self, steps: int, bar) -> None:
        limit = self.cfg.optim.time_limit
        while self.phase_step < steps:
            if limit and self.elapsed >= limit:
                self.out_of_time = True
                self.events.append({"step": self.global_step, "event": f"time limit of {limit:g} s reached"})
                log.info("time limit of %g s reached at step %d", limit, self.global_step)
                return
            if self._snapshot is None or self.phase_step % SNAPSHOT_EVERY == 0:
                self._take_snapshot()
            start = time.perf_counter()
            try:
                loss, terms, lr = self._adam_step() if self.phase == ADAM else self._lbfgs_step()
            except StopIteration:
                log.info("L-BFGS converged after %d iterations", self.phase_step)
                self.converged = True
                return
            self.elapsed += time.perf_counter() - start
            if not math.isfinite(loss) or not torch.isfinite(self._flat_params()).all():
                self._rollback("non-finite loss")
                continue
            step = self.global_step
            self.history.append(step=step, phase=self.phase, elapsed_s=self.elapsed, lr=lr, loss=loss,
                                **{f"loss_terms/{k}": v for k, v in terms.items()},
                                **{f"unknowns/{k}": v for k, v in self.unknown_values().items()})
            self.phase_step += 1
            bar.update(1)
            if step % 25 == 0:
                bar.set_postfix({"loss": f"{loss:.2e}", **{k: f"{v:.1e}" for k, v in terms.items()}})
            if self.cfg.output.eval_every and step % self.cfg.output.eval_every == 0:
                self.record_eval(step)
            if self.phase_step % self.cfg.output.checkpoint_every == 0:
                self.checkpoint()

    def record_eval(self, step: int) -> None:
        """Test-set error now, as a row of eval/ (not counted in the training time)."""
        rows = self.history.rows
        if rows.get("eval/step") and rows["eval/step"][-1] == step:
            return
        self.history.append(**{"eval/step": step, "eval/elapsed_s": self.elapsed,
                               "eval/rel_l2": self.evaluate_fn(self.net)})

    def final_loss(self) -> tuple[float, dict[str, float]]:
        """Loss and terms at the final parameters."""
        total, terms = self.loss()
        return float(total.detach()), terms

    # ----- checkpoints ------------------------------------------------------------------------------
    def state(self) -> dict:
        """Everything needed to continue this run exactly."""
        grids = self.net.core.grid_sizes() if self.net.is_kan else []
        return {"net": self.net.state_dict(), "unknowns": self.unknown_values(), "grid_sizes": grids, "optimizer": self.optimizer.state_dict(),
                "phase": self.phase, "phase_step": self.phase_step, "elapsed": self.elapsed,
                "lr_scale": self.lr_scale, "rollbacks": self.rollbacks, "events": self.events,
                "sample_round": self.sample_round, "history": self.history.rows, "converged": self.converged,
                "out_of_time": self.out_of_time,
                "points": {k: v.cpu() for k, v in self.points.items()} if self.cfg.sampler.adaptive else None}

    def restore(self, state: dict) -> None:
        if self.net.is_kan:
            self.net.core.resize_grids(state["grid_sizes"])
        self.net.load_state_dict(state["net"])
        self._set_unknowns(state.get("unknowns", {}))
        self.phase, self.phase_step, self.elapsed = state["phase"], state["phase_step"], state["elapsed"]
        self.lr_scale, self.rollbacks, self.events = state["lr_scale"], state["rollbacks"], state["events"]
        self.sample_round, self.converged = state["sample_round"], state["converged"]
        self.out_of_time = state["out_of_time"]
        saved = state.get("points")  # adaptive points depend on the network when drawn: restore them
        self.points = ({k: v.to(self.device, self.dtype) for k, v in saved.items()} if saved is not None
                       else self._sample(self.sample_round))
        self.history.rows = state["history"]
        self.optimizer = self._make_optimizer()
        self.optimizer.load_state_dict(state["optimizer"])
        self._memo, self._snapshot = None, None

    def unknown_values(self) -> dict[str, float]:
        """The problem's unknown coefficients now: {name: value}."""
        return {k: float(p.detach()) for k, p in self.problem.unknowns.items()}

    @torch.no_grad()
    def _set_unknowns(self, values: dict[str, float]) -> None:
        for k, v in values.items():
            self.problem.unknowns[k].fill_(v)

    def checkpoint(self) -> None:
        """Hand the current state to the checkpoint writer."""
        self.checkpoint_fn(self.state())
