"""Loss weighting: a strategy that turns the named loss terms into the one scalar the optimiser
minimises. A strategy is built from plain keyword arguments, ``ResidualAttention(gamma=0.999,
eta=0.01)``, filling its ``Options`` dataclass (the config section ``optim.weighting.<name>``,
whose schema schema.py derives from it); ``bind`` then gives it the terms' fixed weights and the
problem. A new strategy is one ``Weighting`` subclass with its options plus one
``@WEIGHTINGS.register`` line, in kanpde or in your own module; an adaptive one keeps its weights
in ``state_dict`` so that a resumed run continues them, and changes them only in ``update``
(called by the ``AdaptWeights`` callback between steps, never inside a line search).

    fixed       sum_k w_k L_k,  L_k = mean_i r_k(x_i)^2 and w_k the problem's weights
    grad_norm   sum_k lambda_k w_k L_k, lambda_k <- alpha lambda_k + (1 - alpha) sum_j |grad w_j L_j| / |grad w_k L_k|
                every ``every`` steps (Wang, Wang, Perdikaris 2023, "An expert's guide to training PINNs")
    rba         sum_k w_k mean_i (lambda_ki r_ki)^2, lambda_i <- gamma lambda_i + eta |r_i| / max_i |r_i| every
                ``every`` steps, lambda = 1 at the start and after resampling (Anagnostopoulos et al., CMAME
                2024); in a quasi-Newton phase each update costs one more loss evaluation
    causal      the PDE term as (1/M) sum_m c_m L_m over M time chunks, c_m = exp(-eps sum_{l<m} L_l)
                (not differentiated), the other terms fixed (Wang, Sankaran, Perdikaris, CMAME 2024)
"""
from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar, Mapping

import torch
from torch import Tensor

from ..errors import ConfigError
from ..options import Configured, Options, at_least, build_options, within
from ..pde import Problem
from ..registry import Registry
from .callbacks import Callback
from .base import Objective, Step, TrainingState



class Weighting(Configured, ABC):
    """total = combination of the terms {name: scalar with graph}, which may look at the pointwise
    residuals {name: (N,) or (N, k)} and the points they were taken at. Built from the keyword
    arguments of its ``Options``; ``bind`` gives it ``weights``, the fixed weight of each term
    (problem.weights, optim.sparsity.weight), and the problem trained. ``name`` is set by
    ``WEIGHTINGS.register``."""

    name: ClassVar[str]
    Options: ClassVar[type[Options]]

    def __init__(self, **options: Any):
        self.options = build_options(self.Options, options, f"the {type(self).__name__} weighting")
        self.weights: dict[str, float] = {}
        self.problem: Problem | None = None

    def bind(self, weights: Mapping[str, float], problem: Problem | None = None) -> "Weighting":
        """Set the fixed weight of every term and the problem trained; returns self."""
        self.weights, self.problem = dict(weights), problem
        return self

    @property
    def every(self) -> int:
        """Steps between ``update`` calls (adaptive strategies)."""
        return 1

    @abstractmethod
    def __call__(self, terms: Mapping[str, Tensor], residuals: Mapping[str, Tensor],
                 points: Mapping[str, Tensor]) -> Tensor:
        """The scalar to minimise."""

    adaptive = False  # True: ``update`` changes the objective between steps

    def update(self, loss: Objective) -> None:
        """Adapt the weights between steps (adaptive strategies only)."""

    def points_changed(self) -> None:
        """The collocation points were replaced (pointwise weights start again)."""

    def current(self) -> dict[str, float]:
        """The effective weight of each term now (for the history)."""
        return dict(self.weights)

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: Mapping) -> None:
        pass


WEIGHTINGS: Registry[type[Weighting]] = Registry("loss weighting", "optim.weighting.name", label=True)


@dataclass
class NoOptions(Options):
    """A strategy without options."""


@WEIGHTINGS.register("fixed")
class FixedWeights(Weighting):
    """total = sum_k w_k L_k with constant weights w."""

    Options = NoOptions

    def __call__(self, terms: Mapping[str, Tensor], residuals: Mapping[str, Tensor] | None = None,
                 points: Mapping[str, Tensor] | None = None) -> Tensor:
        return sum(self.weights[k] * v for k, v in terms.items())


@dataclass
class GradNormOptions(Options):
    every: int = 100  # steps between weight updates
    alpha: float = 0.9  # moving-average factor of the weights

    def check(self) -> None:
        at_least(self, "every", 1)
        within(self, "alpha", 0, 1)


@dataclass
class RBAOptions(Options):
    gamma: float = 0.999  # decay of the pointwise multipliers
    eta: float = 0.01  # rate: lambda <- gamma lambda + eta |r| / max |r|
    every: int = 1  # steps between updates (each costs a quasi-Newton phase one more loss evaluation)

    def check(self) -> None:
        at_least(self, "every", 1)
        at_least(self, "eta", 0)
        within(self, "gamma", 0, 1)


@dataclass
class CausalOptions(Options):
    eps: float = 1.0  # causality strength: chunk m weighs exp(-eps * sum of the earlier chunks' losses)
    chunks: int = 32  # equal time chunks

    def check(self) -> None:
        at_least(self, "chunks", 1)
        at_least(self, "eps", 0)


@WEIGHTINGS.register("grad_norm")
class GradNormWeights(Weighting):
    """total = sum_k lambda_k w_k L_k, lambda balancing the gradient norms of the weighted terms
    (moving average ``alpha``, recomputed every ``every`` steps, lambda = 1 at the start)."""

    adaptive = True
    Options = GradNormOptions

    def bind(self, weights: Mapping[str, float], problem: Problem | None = None) -> Weighting:
        super().bind(weights, problem)
        self.lam = {k: 1.0 for k in self.weights}
        return self

    @property
    def every(self) -> int:
        return self.options.every

    def __call__(self, terms: Mapping[str, Tensor], residuals: Mapping[str, Tensor] | None = None,
                 points: Mapping[str, Tensor] | None = None) -> Tensor:
        return sum(self.lam[k] * self.weights[k] * v for k, v in terms.items())

    def update(self, loss: Objective) -> None:
        params = [p for p in loss.parameters() if p.requires_grad]
        terms = {k: v for k, v in loss.terms().items() if self.weights.get(k, 0.0) > 0 and v.requires_grad}
        norms = {}
        for i, (k, v) in enumerate(terms.items()):
            grads = torch.autograd.grad(self.weights[k] * v, params, retain_graph=i < len(terms) - 1, allow_unused=True)
            norms[k] = math.sqrt(sum(float((g.detach() ** 2).sum()) for g in grads if g is not None))
        total = sum(norms.values())
        for k, n in norms.items():
            if n > 0 and math.isfinite(total):
                alpha = self.options.alpha
                self.lam[k] = alpha * self.lam[k] + (1 - alpha) * total / n

    def current(self) -> dict[str, float]:
        return {k: self.lam[k] * w for k, w in self.weights.items()}

    def state_dict(self) -> dict:
        return {"lambda": dict(self.lam)}

    def load_state_dict(self, state: Mapping) -> None:
        self.lam.update(state["lambda"])


@WEIGHTINGS.register("rba")
class ResidualAttention(Weighting):
    """total = sum_k w_k mean_i (lambda_ki r_ki)^2 with pointwise multipliers lambda following
    lambda <- gamma lambda + eta |r| / max |r| after every ``every`` steps (decay ``gamma``, rate ``eta``)."""

    adaptive = True
    Options = RBAOptions

    def __init__(self, **options: Any):
        super().__init__(**options)
        self.lam: dict[str, Tensor] = {}
        self._seen: dict[str, Tensor] = {}

    @property
    def every(self) -> int:
        return self.options.every

    def points_changed(self) -> None:
        self.lam = {}

    def __call__(self, terms: Mapping[str, Tensor], residuals: Mapping[str, Tensor],
                 points: Mapping[str, Tensor]) -> Tensor:
        for k, r in residuals.items():
            lam = self.lam.get(k)
            if lam is None or lam.shape != r.shape:
                self.lam[k] = torch.ones_like(r.detach())
            elif lam.device != r.device or lam.dtype != r.dtype:
                self.lam[k] = lam.to(r.device, r.dtype)
        self._seen = {k: r.detach() for k, r in residuals.items()}
        total = sum(self.weights[k] * ((self.lam[k] * r) ** 2).mean() for k, r in residuals.items())
        return total + sum(self.weights[k] * v for k, v in terms.items() if k not in residuals)

    @torch.no_grad()
    def update(self, loss: Objective) -> None:
        for k, r in self._seen.items():
            scale = r.abs().max()
            if k in self.lam and torch.isfinite(scale) and scale > 0:
                self.lam[k] = self.options.gamma * self.lam[k] + self.options.eta * r.abs() / scale

    def state_dict(self) -> dict:
        return {"lambda": {k: v.cpu() for k, v in self.lam.items()}}

    def load_state_dict(self, state: Mapping) -> None:
        self.lam = dict(state["lambda"])


@WEIGHTINGS.register("causal")
class CausalWeights(Weighting):
    """The PDE term respects causality: (1/M) sum_m c_m L_m over ``chunks`` equal time chunks,
    c_m = exp(-eps sum_{l<m} L_l) without gradient, so later times count once earlier ones are
    resolved; the other terms are weighted as ``fixed``. Needs a problem with a time input."""

    Options = CausalOptions

    def __init__(self, **options: Any):
        super().__init__(**options)
        self.last_weights: Tensor | None = None

    @property
    def eps(self) -> float:
        return self.options.eps

    @property
    def chunks(self) -> int:
        return self.options.chunks

    def bind(self, weights: Mapping[str, float], problem: Problem | None = None) -> Weighting:
        super().bind(weights, problem)
        if problem is None or not problem.has_time:
            raise ConfigError("optim.weighting.name",
                              "causal weighting needs a time-dependent problem (a SpaceTime domain)")
        domain = problem.domain
        self.t_index = problem.inputs.index(domain.time_name)
        self.t0, self.t1 = domain.t0, domain.t1
        return self

    def chunk_losses(self, residual: Tensor, points: Tensor) -> Tensor:
        """Mean square residual per time chunk: (M,); empty chunks give 0."""
        t = points[:, self.t_index]
        idx = ((t - self.t0) / (self.t1 - self.t0) * self.chunks).long().clamp(0, self.chunks - 1)
        sq = residual.reshape(len(t), -1).pow(2).mean(dim=1)
        sums = torch.zeros(self.chunks, dtype=sq.dtype, device=sq.device).index_add(0, idx, sq)
        counts = torch.zeros(self.chunks, dtype=sq.dtype, device=sq.device).index_add(0, idx, torch.ones_like(sq))
        return sums / counts.clamp(min=1)

    def causal_weights(self, chunk_losses: Tensor) -> Tensor:
        """c_m = exp(-eps sum_{l<m} L_l): (M,), non-increasing in m, c_0 = 1."""
        earlier = torch.cumsum(chunk_losses.detach(), 0) - chunk_losses.detach()
        return torch.exp(-self.eps * earlier)

    def __call__(self, terms: Mapping[str, Tensor], residuals: Mapping[str, Tensor],
                 points: Mapping[str, Tensor]) -> Tensor:
        pde = [k for k in residuals if k == "pde" or k not in points]  # conditions have their own points
        total = sum(self.weights[k] * v for k, v in terms.items() if k not in pde)
        for k in pde:
            losses = self.chunk_losses(residuals[k], points["pde"])
            self.last_weights = self.causal_weights(losses)
            total = total + self.weights[k] * (self.last_weights * losses).mean()
        return total


class AdaptWeights(Callback):
    """Calls ``loss.weighting.update`` after every step of any phase (an adaptive weighting's own
    ``every`` thins that out); the objective changes, so cached gradients are dropped."""

    def __init__(self, loss: Objective):
        self.loss = loss

    def on_step_end(self, loop: TrainingState, step: Step) -> None:
        weighting = self.loss.weighting
        if weighting.adaptive and step.index % weighting.every == 0:
            weighting.update(self.loss)
            self.loss.revision += 1


def build_weighting(cfg: Any, weights: Mapping[str, float], problem: Problem) -> Weighting:
    """The weighting ``cfg.name`` (optim.weighting) with its section's options, bound to ``weights``
    and ``problem``."""
    cls = WEIGHTINGS.get(cfg.name)
    options = dict(cfg[cfg.name]) if cfg.name in cfg else {}
    return cls(**options).bind(weights, problem)


__all__ = ["AdaptWeights", "CausalOptions", "CausalWeights", "GradNormOptions", "NoOptions", "RBAOptions",
           "FixedWeights", "GradNormWeights", "ResidualAttention", "WEIGHTINGS",
           "Weighting", "build_weighting"]
