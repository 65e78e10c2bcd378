"""Figures of a KAN's edges: the network diagram and the per-layer grid of edge plots.

Every edge is drawn as its learned function phi_io over the values its input takes on the sample
points (the test set), with opacity tanh(3 |phi_io|_1) as in the KAN paper; a snapped edge's
symbolic function is overlaid (dashed) and named. matplotlib's object API only; PNG and PDF,
each written atomically.
"""
from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure

from ..io import save_figure
from ..nets import SolutionNet
from ..nets.edges import EdgeActivations, opacity
from .fit import Fit
from .library import LIBRARY
from .symbolic_net import Edge

DPI = 150
CURVE_POINTS = 200  # per edge: the curve is drawn through this many quantiles of its input
LEARNED, SYMBOLIC = "#1f4e9c", "#d1495b"


def node_names(net: SolutionNet, inputs: Sequence[str], outputs: Sequence[str]) -> list[list[str]]:
    """Names of every node layer: the core's inputs (normalised problem inputs, cos/sin of a periodic
    one), hidden nodes h{layer},{index}, and the problem's outputs."""
    first = [inputs[k] for k in net.plain] + [f"cos {inputs[k]}" for k in net.periodic] + \
            [f"sin {inputs[k]}" for k in net.periodic]
    hidden = [[f"h{l},{j}" for j in range(w)] for l, w in enumerate(net.core.widths[1:-1], start=1)]
    return [first, *hidden, list(outputs)]


def _curve(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(x, y) sorted by x, thinned to CURVE_POINTS quantiles of x."""
    order = np.argsort(x, kind="stable")
    pick = order[np.unique(np.linspace(0, len(x) - 1, CURVE_POINTS).round().astype(int))]
    return x[pick], y[pick]


def _fit_curve(fit: Fit, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    grid = np.linspace(x.min(), x.max(), CURVE_POINTS)
    with np.errstate(all="ignore"):
        return grid, fit.a * LIBRARY[fit.name].numpy_fn(fit.b * grid + fit.c) + fit.d


def plot_network(stem: str | Path, acts: EdgeActivations, masks: Sequence[np.ndarray], names: list[list[str]],
                 fits: Mapping[Edge, Fit] | None = None) -> list[Path]:
    """The network diagram: nodes bottom (inputs) to top (outputs), every live edge a small plot of
    phi_io between its nodes, faded by its size. ``masks[l]``: (n_in, n_out) live edges.
    Writes ``stem``.png and .pdf; returns the paths."""
    fits = fits or {}
    n_layers = len(acts.values)
    slots = max(v.shape[1] * v.shape[2] for v in acts.values)
    fig = Figure(figsize=(max(4.0, 1.1 * slots), 2.4 * n_layers + 0.6), layout=None)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, 1)
    ax.set_ylim(-0.35, n_layers + 0.35)
    ax.axis("off")
    xs = [(np.arange(len(layer)) + 0.5) / len(layer) for layer in names]
    for l, layer in enumerate(names):
        ax.scatter(xs[l], np.full(len(layer), l), s=40, color="black", zorder=3)
        for j, name in enumerate(layer):
            if l in (0, n_layers):
                ax.text(xs[l][j], l + (-0.18 if l == 0 else 0.18), name, ha="center", va="center", fontsize=11)
    height = 0.42
    for l, (x, phi) in enumerate(zip(acts.inputs, acts.values)):
        x, phi = x.double().numpy(), phi.double().numpy()
        n_in, n_out = phi.shape[1:]
        alpha = opacity(acts.l1()[l].double()).numpy()
        width = min(0.8 / (n_in * n_out), 0.14)
        for i in range(n_in):
            for o in range(n_out):
                if not masks[l][i, o]:
                    continue
                cx, a = ((i * n_out + o) + 0.5) / (n_in * n_out), float(max(alpha[i, o], 0.04))
                bottom, top = l + 0.5 - height / 2, l + 0.5 + height / 2
                ax.plot([xs[l][i], cx], [l, bottom], color="black", alpha=a, lw=1)
                ax.plot([cx, xs[l + 1][o]], [top, l + 1], color="black", alpha=a, lw=1)
                inset = ax.inset_axes((cx - width / 2, bottom, width, height), transform=ax.transData)
                inset.plot(*_curve(x[:, i], phi[:, i, o]), color=LEARNED, alpha=a, lw=1.5)
                inset.set_xticks([])
                inset.set_yticks([])
                for spine in inset.spines.values():
                    spine.set_alpha(a)
                if (l, i, o) in fits:
                    inset.set_title(fits[(l, i, o)].name, fontsize=8, color=SYMBOLIC, pad=2)
    return save_figure(fig, stem, ("png", "pdf"), dpi=DPI)


def plot_edge_grid(stem: str | Path, acts: EdgeActivations, masks: Sequence[np.ndarray], names: list[list[str]],
                   fits: Mapping[Edge, Fit] | None = None) -> list[Path]:
    """One panel per edge with axes, a block per layer (rows: output nodes, columns: input nodes):
    phi_io against its input (solid), and the snapped a f(b x + c) + d (dashed; its name and R^2
    in the panel's title).
    Writes ``stem``.png and .pdf; returns the paths."""
    fits = fits or {}
    cols = [v.shape[1] for v in acts.values]
    rows = max(v.shape[2] for v in acts.values)
    fig = Figure(figsize=(2.3 * sum(cols) + 0.4 * len(cols), 2.0 * rows + 0.6), layout="constrained")
    subfigs = np.atleast_1d(fig.subfigures(1, len(cols), width_ratios=cols))
    for l, (sub, x, phi) in enumerate(zip(subfigs, acts.inputs, acts.values)):
        x, phi = x.double().numpy(), phi.double().numpy()
        n_in, n_out = phi.shape[1:]
        sub.suptitle(f"layer {l + 1}: {n_in} -> {n_out}", fontsize=10)
        axes = sub.subplots(rows, n_in, squeeze=False)
        for o in range(rows):
            for i in range(n_in):
                ax = axes[o, i]
                if o >= n_out:
                    ax.axis("off")
                    continue
                ax.set_title(f"{names[l][i]} -> {names[l + 1][o]}", fontsize=8)
                ax.tick_params(labelsize=7)
                if o == n_out - 1:
                    ax.set_xlabel(names[l][i], fontsize=8)
                if not masks[l][i, o]:
                    ax.text(0.5, 0.5, "pruned", ha="center", va="center", transform=ax.transAxes, color="grey")
                    ax.set_xticks([])
                    ax.set_yticks([])
                    continue
                ax.plot(*_curve(x[:, i], phi[:, i, o]), color=LEARNED, lw=1.5)
                fit = fits.get((l, i, o))
                if fit is not None:
                    ax.plot(*_fit_curve(fit, x[:, i]), "--", color=SYMBOLIC, lw=1.2)
                    ax.set_title(f"{names[l][i]} -> {names[l + 1][o]}\n{fit.name}, R² = {fit.r2:.6f}", fontsize=8)
    return save_figure(fig, stem, ("png", "pdf"), dpi=DPI)


__all__ = ["node_names", "plot_edge_grid", "plot_network"]
