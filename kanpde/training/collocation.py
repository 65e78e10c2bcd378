"""Collocation points, fresh or adaptive, and the callback that resamples them during training.

Round r of the points is the problem's sampler with seed (seed + 104729 r), so every round can be
drawn again exactly. With residual-based adaptive sampling (RAD, Wu et al. 2023) the interior
points of rounds after 0 are drawn without replacement from a pool of candidates x_j with
probability p_j ∝ |r(x_j)|^k / mean_j |r|^k + c: c = 0 chases the residual alone, a large c tends
to uniform sampling. Those depend on the network when drawn, so checkpoints keep them.
In a data-parallel run every rank draws the points of all ranks and keeps its own share.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping

import numpy as np
import torch
from torch import Tensor

from ..errors import ConfigError
from ..geometry.sampling import SAMPLERS
from ..options import Options, at_least
from ..pde import Problem
from ..pde.residuals import residual_norms
from .base import TrainingState
from .callbacks import Callback
from .distributed import DataParallel
from .loss import Loss


ROUND_STRIDE = 104729  # seed offset between resampling rounds


def collocation_points(problem: Problem, n_interior: int, n_boundary: int, method: str, seed: int,
                       time_fraction: float = 1.0) -> dict[str, np.ndarray]:
    """Training points for every loss term of ``problem``: {"pde": (n_interior, n_in), soft
    condition name: (n, n_in), and "name/key" for every per-point array a condition needs}; the
    i-th soft condition samples with seed + 1000 (i + 1). ``time_fraction`` f < 1 (a time window):
    sampled points cover t0 + f (t1 - t0) instead of t1 (fixed data points stay)."""
    window = time_window(problem, time_fraction)
    points = {"pde": window(problem.domain.sample_interior(n_interior, method, seed))}
    for i, c in enumerate(problem.soft_conditions):
        n = c.n_points if c.n_points is not None else n_boundary
        x = c.sample(problem.domain, n, method, seed + 1000 * (i + 1))
        x = points[c.name] = x if c.n_points is not None else window(x)
        points.update({f"{c.name}/{key}": value for key, value in c.point_data(problem.domain, x).items()})
    return points


def time_window(problem: Problem, fraction: float) -> Callable[[np.ndarray], np.ndarray]:
    """x (N, n_in) -> x with t mapped from [t0, t1] to [t0, t0 + fraction (t1 - t0)]."""
    if fraction == 1.0:
        return lambda x: x
    if not problem.has_time:
        raise ConfigError("sampler.time_windows", f"{type(problem).__name__} has no time axis (a SpaceTime domain)")
    i, t0 = problem.inputs.index(problem.domain.time_name), problem.domain.t0

    def window(x: np.ndarray) -> np.ndarray:
        x = np.array(x, dtype=float)
        x[:, i] = t0 + (x[:, i] - t0) * fraction
        return x

    return window


def rad_choice(residual: np.ndarray, n: int, k: float, c: float, seed: int) -> np.ndarray:
    """Indices of n of the pool's points, drawn without replacement with probabilities
    |r|^k / mean |r|^k + c (normalised): (n,)."""
    weight = np.abs(residual) ** k
    mean = weight.mean()
    p = (weight / mean if mean > 0 and np.isfinite(mean) else np.zeros_like(weight)) + c
    p = np.where(np.isfinite(p), p, 0.0) + 1e-300
    return np.random.default_rng(seed).choice(len(residual), size=n, replace=False, p=p / p.sum())


@dataclass
class SamplerOptions(Options):
    """The config section ``sampler``: how collocation points are drawn and renewed."""

    method: str = "sobol"  # SAMPLERS: sobol | halton | lhs | uniform | grid
    n_interior: int = 512
    n_boundary: int = 128
    resample_every: int = 0  # Adam steps between fresh collocation points (0: never)
    adaptive: bool = False  # resample interior points where the residual is large (RAD), not uniformly
    adaptive_pool: int = 8  # RAD draws from n_interior * adaptive_pool candidates
    adaptive_k: float = 1.0  # RAD: probability ~ |r|^k / mean |r|^k + c
    adaptive_c: float = 1.0
    time_windows: int = 0  # time marching: Adam's steps in K stretches, stretch k sampling t up to t0 + (k+1)/K (t1-t0)

    def check(self) -> None:
        SAMPLERS.get(self.method, key="method")
        for name in ("n_interior", "n_boundary", "adaptive_pool"):
            at_least(self, name, 1)
        for name in ("resample_every", "time_windows", "adaptive_k", "adaptive_c"):
            at_least(self, name, 0)


class Collocation:
    """The training points of ``problem`` per round, from the ``sampler`` options (a
    SamplerOptions or the config section), as tensors of ``dtype`` on ``device``; with
    ``parallel``, this rank's share of ``parallel.size`` times as many."""

    Options = SamplerOptions

    def __init__(self, problem: Problem, sampler: Any, seed: int, dtype: torch.dtype, device: torch.device,
                 engine: str = "auto", parallel: DataParallel | None = None):
        self.problem, self.cfg, self.seed = problem, sampler, seed
        self.dtype, self.device, self.engine, self.parallel = dtype, device, engine, parallel

    def as_tensor(self, x: np.ndarray | Tensor) -> Tensor:
        return torch.as_tensor(x, dtype=self.dtype, device=self.device)

    def sample(self, round_: int, net: torch.nn.Module | None = None, time_fraction: float = 1.0) -> dict[str, Tensor]:
        """The points of round ``round_`` ({"pde": (n_interior, n_in), condition: (n, n_in), ...});
        with adaptive sampling and round > 0 the interior points follow ``net``'s residual;
        ``time_fraction`` < 1: only the first part of the time interval (a time window)."""
        s, ranks = self.cfg, 1 if self.parallel is None else self.parallel.size
        seed = self.seed + ROUND_STRIDE * round_
        points = collocation_points(self.problem, s.n_interior * ranks, s.n_boundary * ranks, s.method, seed,
                                    time_fraction)
        points = {k: self.as_tensor(v) for k, v in points.items()}
        if self.parallel is not None:
            points = {k: self.parallel.share(v) for k, v in points.items()}
        if s.adaptive and round_ > 0:
            window = time_window(self.problem, time_fraction)
            pool = self.as_tensor(window(self.problem.domain.sample_interior(s.n_interior * s.adaptive_pool, s.method,
                                                                             seed + 1)))
            r = residual_norms(self.problem, net, pool, self.engine)
            pick = rad_choice(r, s.n_interior, s.adaptive_k, s.adaptive_c, seed)
            points["pde"] = pool[torch.as_tensor(pick, device=self.device)]
        return points


class Resample(Callback):
    """Fresh collocation points for ``loss`` (round + 1) every ``every`` steps of a phase that
    accepts changes (0: never). With ``windows`` K > 1 (time marching), the first such phase is
    cut into K equal stretches of steps and the points of stretch k cover the time interval up to
    t0 + (k + 1)/K (t1 - t0); every later phase sees the whole interval. Its state is the round
    and the window, and the points themselves when adaptive."""

    def __init__(self, collocation: Collocation, loss: Loss, every: int, windows: int = 1):
        self.collocation, self.loss, self.every, self.windows = collocation, loss, every, max(windows, 1)
        self.round, self.fraction = 0, 1.0
        self._marching_phase: int | None = None

    def on_train_begin(self, loop: TrainingState) -> None:
        if self.windows > 1 and loop.global_step == 0:
            self._marching_phase = next((i for i, p in enumerate(loop.phases) if p.accepts_changes and p.steps), None)
            if self._marching_phase is not None:
                self._sample(1.0 / self.windows)

    def on_phase_begin(self, loop: TrainingState) -> None:
        if self.fraction < 1.0 and loop.phase_index != self._marching_phase:
            self._sample(1.0)

    def prepare_step(self, loop: TrainingState) -> None:
        fraction = self.fraction
        if loop.phase_index == self._marching_phase:
            fraction = (loop.phase_step * self.windows // loop.phase.steps + 1) / self.windows
        if self.every and loop.phase_step > 0 and loop.phase_step % self.every == 0:
            self.round += 1
        elif fraction == self.fraction:
            return
        self._sample(fraction)

    def _sample(self, fraction: float) -> None:
        self.fraction = fraction
        self.loss.points = self.collocation.sample(self.round, self.loss.net, fraction)

    def state_dict(self) -> dict:
        adaptive = self.collocation.cfg.adaptive
        return {"round": self.round, "fraction": self.fraction, "marching_phase": self._marching_phase,
                "points": {k: v.cpu() for k, v in self.loss.points.items()} if adaptive else None}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.round, saved = state["round"], state["points"]
        self.fraction, self._marching_phase = state.get("fraction", 1.0), state.get("marching_phase")
        self.loss.points = ({k: self.collocation.as_tensor(v) for k, v in saved.items()} if saved is not None
                            else self.collocation.sample(self.round, time_fraction=self.fraction))


__all__ = ["Collocation", "Resample", "collocation_points", "rad_choice", "time_window"]
