"""A trained KAN run, interpreted: prune, retrain, fit every edge, snap, train the formula, compose it.

``interpret`` does the computing and returns an ``Interpretation``; it writes no files (the CLI
does). Stages, each with its parameters and rel L2 on the problem's test set: ``trained`` (the
checkpoint), ``pruned`` and ``retrained`` (with a prune threshold), ``snapped`` (every edge its
chosen function with the fitted affine parameters) and ``symbolic`` (those parameters trained
against the PDE loss); then the formula, tidied, with its own rel L2.
"""
from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import sympy
import torch

from ..nets import SolutionNet
from ..solution import Solution, predict
from ..nets.edges import EdgeActivations, edge_activations
from .fit import Fit, choose, fit_edge
from .formula import evaluate, network_expressions, tidy
from .library import select
from .prune import live_parameters, prune
from .retrain import retrain
from .symbolic_net import Edge, SymbolicKAN


@dataclass
class Options:
    """What to do: prune threshold (None: no pruning) and retraining steps, the symbolic snap
    (library names, None for all; R^2 tolerance for preferring simpler functions), its PDE
    training steps, and the rounding of the formula's constants."""

    prune: float | None = None
    prune_steps: int = 200
    symbolic: bool = True
    library: Sequence[str] | None = None
    r2_tol: float = 1e-3
    symbolic_steps: int = 500
    round_tol: float = 1e-6
    digits: int = 6
    fit_samples: int = 2000
    seed: int = 0


@dataclass
class Interpretation:
    """Everything the CLI reports: per-stage numbers, the final KAN and its edge activations on the
    test set, every edge's ranked fits and choice, the snapped network and the formula."""

    stages: dict[str, dict] = field(default_factory=dict)
    kan: SolutionNet | None = None
    activations: EdgeActivations | None = None
    fits: dict[Edge, list[Fit]] = field(default_factory=dict)
    chosen: dict[Edge, Fit] = field(default_factory=dict)
    symbolic: SolutionNet | None = None
    formulas: list[sympy.Expr] = field(default_factory=list)
    formula_names: list[str] = field(default_factory=list)
    formula_note: str | None = None
    formula_rel_l2: float | None = None
    formula_rel_l2_unrounded: float | None = None
    formula_vs_network: float | None = None


def _stage(net: SolutionNet, run: Solution, params: int, seconds: float | None = None, **extra) -> dict:
    timing = {} if seconds is None else {"seconds": seconds}
    x = net.shift.new_tensor(run.test_set.points)
    return {"rel_l2": run.test_set.rel_l2(predict(net, x)), "parameters": params, **timing, **extra}


def _fit_all(acts: EdgeActivations, kan_net: SolutionNet, opts: Options) -> dict[Edge, list[Fit]]:
    """Ranked fits of every live edge, on a seeded subset of the test points."""
    candidates = select(opts.library)
    rng = np.random.default_rng(opts.seed)
    fits = {}
    for l, (x, phi) in enumerate(zip(acts.inputs, acts.values)):
        extremes = torch.cat([x.argmin(dim=0), x.argmax(dim=0)]).numpy()  # fits must hold over the whole range
        rows = np.unique(np.concatenate([rng.permutation(x.shape[0])[:opts.fit_samples], extremes]))
        xs, ys = x[rows].double().numpy(), phi[rows].double().numpy()
        mask = kan_net.core.layers[l].mask
        for i in range(x.shape[1]):
            for o in range(phi.shape[2]):
                if mask[i, o] > 0:
                    fits[(l, i, o)] = fit_edge(candidates, xs[:, i], ys[:, i, o], opts.seed)
    return fits


def interpret(run: Solution, opts: Options) -> Interpretation:
    """Run every stage that ``opts`` asks for on ``run`` (whose network is left untouched)."""
    select(opts.library)  # an unknown name fails before any work
    x_test = run.net.shift.new_tensor(run.test_set.points)
    out = Interpretation()
    net = copy.deepcopy(run.net)
    out.stages["trained"] = _stage(net, run, live_parameters(net.core), widths=list(net.core.widths))
    if opts.prune is not None:
        start = time.perf_counter()
        net.core = prune(net.core, net.normalize(x_test), opts.prune)
        out.stages["pruned"] = _stage(net, run, live_parameters(net.core), time.perf_counter() - start,
                                      widths=list(net.core.widths), threshold=opts.prune)
        if opts.prune_steps:
            done = retrain(run, net, opts.prune_steps)
            out.stages["retrained"] = _stage(net, run, live_parameters(net.core), done.seconds,
                                             widths=list(net.core.widths), lbfgs_steps=done.lbfgs_steps,
                                             status=done.status)
    out.kan = net
    with torch.no_grad():
        out.activations = edge_activations(net.core, net.normalize(x_test))
    if not opts.symbolic:
        return out

    start = time.perf_counter()
    out.fits = _fit_all(out.activations, net, opts)
    out.chosen = {edge: choose(fits, opts.r2_tol) for edge, fits in out.fits.items()}
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        snapped = copy.deepcopy(net)
        snapped.core = SymbolicKAN(net.core.widths, out.chosen)
    finally:
        torch.set_default_dtype(previous)
    n_free = sum(p.numel() for p in snapped.core.parameters())
    out.stages["snapped"] = _stage(snapped, run, n_free, time.perf_counter() - start)
    if opts.symbolic_steps:
        done = retrain(run, snapped, opts.symbolic_steps)
        out.stages["symbolic"] = _stage(snapped, run, n_free, done.seconds, lbfgs_steps=done.lbfgs_steps,
                                        final_loss=done.final_loss, status=done.status)
    out.symbolic = snapped

    start = time.perf_counter()
    names, points = run.problem.inputs, run.test_set.points
    raw = network_expressions(snapped, names)  # the core network N; u = N without a hard constraint
    with torch.no_grad():
        network = snapped.core(snapped.normalize(x_test)).numpy()
        constraint = None if snapped.constraint is None else [t.numpy() for t in snapped.constraint(x_test)]
    out.formula_names = list(run.problem.outputs)
    if constraint is not None:  # u = g + phi N with the problem's (numerical) g and phi
        out.formula_names = [f"N_{name}" for name in run.problem.outputs]
        out.formula_note = (f"u = g + phi * N_u for every output u, with (g, phi) from "
                            f"{type(run.problem).__name__}.hard_constraint")

    def lift(v: np.ndarray) -> np.ndarray:
        return v if constraint is None else constraint[0] + constraint[1] * v

    raw_values = np.stack([evaluate(e, names, points) for e in raw], axis=1)
    out.formula_vs_network = float(np.abs(raw_values - network).max())
    out.formula_rel_l2_unrounded = run.test_set.rel_l2(lift(raw_values))
    out.formulas = [tidy(e, opts.round_tol, opts.digits) for e in raw]
    values = np.stack([evaluate(e, names, points) for e in out.formulas], axis=1)
    out.formula_rel_l2 = run.test_set.rel_l2(lift(values))
    out.stages["formula"] = {"rel_l2": out.formula_rel_l2, "seconds": time.perf_counter() - start}
    return out


__all__ = ["Interpretation", "Options", "interpret"]
