"""Comparison figures (PNG and PDF), one set per problem, sized for a paper's column:

- ``<problem>_convergence``: test error against training seconds and against step, one curve per run;
- ``<problem>_error_vs_params``: final test error against parameter count;
- ``<problem>_fields``: prediction, reference and error of the best KAN and the best MLP, the
  predictions and the reference on one colour scale, the two errors on another.

Colour follows the model (the same model has the same colour in every figure).
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import matplotlib
import matplotlib.ticker
import meshio
import numpy as np
from matplotlib.figure import Figure
from matplotlib.tri import Triangulation

from ..io import save_figure
from .runs import Run, group

FONT = {"font.size": 8, "axes.titlesize": 8, "axes.labelsize": 8, "legend.fontsize": 7,
        "xtick.labelsize": 7, "ytick.labelsize": 7}


def _colours(runs: Sequence[Run]) -> dict[str, str]:
    """Blues and greens for KAN models, oranges and reds for MLPs, stable across figures."""
    families = {"kan": ["#1f77b4", "#17becf", "#2ca02c", "#9467bd"], "mlp": ["#ff7f0e", "#d62728", "#8c564b", "#e377c2"]}
    colours, used = {}, {"kan": 0, "mlp": 0}
    for model in sorted({r.key[1] for r in runs}):
        network = next(r.metrics.get("network", "kan" if model.startswith("kan") else "mlp")
                       for r in runs if r.key[1] == model)
        palette = families.get(network, families["mlp"])
        colours[model] = palette[used.setdefault(network, 0) % len(palette)]
        used[network] += 1
    return colours


def convergence(problem: str, runs: Sequence[Run], colours: dict[str, str], out: Path) -> list[Path]:
    """The test error against time and step; the training loss instead when no run of the
    problem has a reference to score."""
    scored = any(r.history and len(r.history.get("eval/step", [])) for r in runs)
    x_time, x_step, y = ("eval/elapsed_s", "eval/step", "eval/rel_l2") if scored else ("elapsed_s", "step", "loss")
    with matplotlib.rc_context(FONT):
        fig = Figure(figsize=(7.0, 2.6), layout="constrained")
        ax_t, ax_s = fig.subplots(1, 2, sharey=True)
        labelled = set()
        for run in sorted(runs, key=lambda r: r.key[1]):
            h = run.history
            if not h or len(h.get(x_step, [])) == 0 or not np.any(np.asarray(h[y]) > 0):
                continue
            model = run.key[1]
            label = None if model in labelled else model
            labelled.add(model)
            style = {"color": colours[model], "lw": 1.0, "alpha": 0.85 if run.ok else 0.4,
                     "ls": "-" if run.ok else ":"}
            ax_t.plot(h[x_time], h[y], label=label, **style)
            ax_s.plot(h[x_step], h[y], **style)
        if not labelled:
            return []
        for ax, xlabel in ((ax_t, "training time (s)"), (ax_s, "optimiser step")):
            ax.set_yscale("log", nonpositive="mask")
            ax.set_xlabel(xlabel)
            ax.grid(True, which="both", alpha=0.3)
        ax_t.set_ylabel("relative L2 error" if scored else "training loss")
        ax_t.legend(title="model")
        what = "test error" if scored else "training loss (no reference data)"
        fig.suptitle(f"{problem}: {what} during training ({len(runs)} runs)")
        return save_figure(fig, out / f"{problem}_convergence", ("png", "pdf"), dpi=200, bbox_inches="tight")


def error_vs_params(problem: str, runs: Sequence[Run], colours: dict[str, str], out: Path) -> list[Path]:
    """The final test error against parameter count (nothing when no run has a score)."""
    runs = [r for r in runs if r.scored]
    if not any(r.ok for r in runs):
        return []
    with matplotlib.rc_context(FONT):
        fig = Figure(figsize=(3.5, 2.6), layout="constrained")
        ax = fig.subplots()
        for model, members in group(runs).items():
            ok = [r for r in members if r.ok]
            ax.scatter([r.metrics["n_params"] for r in ok], [r.metrics["rel_l2"] for r in ok],
                       color=colours[model[1]], label=model[1], s=14)
        sizes = [r.metrics["n_params"] for r in runs if r.ok]
        if sizes and max(sizes) >= 10 * min(sizes):
            ax.set_xscale("log")
        else:
            ax.margins(x=0.3)
            ax.xaxis.set_major_formatter(matplotlib.ticker.StrMethodFormatter("{x:.0f}"))
        ax.set_yscale("log")
        ax.set_xlabel("parameters")
        ax.set_ylabel("final relative L2 error")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(title="model")
        ax.set_title(f"{problem}: error against size")
        return save_figure(fig, out / f"{problem}_error_vs_params", ("png", "pdf"), dpi=200, bbox_inches="tight")


def _best(runs: Sequence[Run], network: str) -> Run | None:
    ok = [r for r in runs if r.ok and r.metrics.get("network", r.key[1][:3]) == network
          and (r.path / "solution.vtu").exists()]
    if any(r.scored for r in ok):
        return min((r for r in ok if r.scored), key=lambda r: r.metrics["rel_l2"])
    return min(ok, key=lambda r: r.metrics.get("final_loss") or np.inf) if ok else None


def fields(problem: str, runs: Sequence[Run], out: Path) -> list[Path]:
    """Best KAN and best MLP side by side (2-D inputs: colour maps; 1-D: curves)."""
    best = [(name, run) for name, run in (("KAN", _best(runs, "kan")), ("MLP", _best(runs, "mlp"))) if run]
    if not best:
        return []
    meshes = [(name, run, meshio.read(run.path / "solution.vtu")) for name, run in best]
    points = meshes[0][2].points
    dims = [i for i in range(3) if np.ptp(points[:, i]) > 0]
    if len(dims) == 2 and np.linalg.matrix_rank(points[:, dims] - points[:, dims].mean(axis=0), tol=1e-9) < 2:
        dims = [max(dims, key=lambda i: np.ptp(points[:, i]))]  # points on a line: curves along it
    field = next(k for k in meshes[0][2].point_data if not k.endswith(("_ref", "_error")))
    if len(dims) > 2:
        return []
    reference = meshes[0][2].point_data[f"{field}_ref"]
    with matplotlib.rc_context(FONT):
        fig = Figure(figsize=(7.0, 4.4 if len(dims) == 2 else 3.6), layout="constrained")
        axes = fig.subplots(2, 3)
        errors = np.concatenate([np.abs(m.point_data[f"{field}_error"]) for *_, m in meshes])
        err_max = float(errors[np.isfinite(errors)].max()) if np.isfinite(errors).any() else 1.0
        shown = np.concatenate([reference, *(m.point_data[field] for *_, m in meshes)])
        lo, hi = float(np.nanmin(shown)), float(np.nanmax(shown))
        # (title, values, row, column, colour map, colour limits): the reference above the empty corner
        panels = [(f"reference {field}", reference, 0, 0, "viridis", (lo, hi))]
        for col, (n, r, m) in enumerate(meshes, start=1):
            score = f"rel L2 {r.metrics['rel_l2']:.1e}" if r.scored else f"loss {r.metrics.get('final_loss', np.nan):.1e}"
            panels.append((f"{n} {field} ({score})", m.point_data[field], 0, col, "viridis", (lo, hi)))
            panels.append((f"{n} error", m.point_data[f"{field}_error"], 1, col, "RdBu_r", (-err_max, err_max)))
        names = best[0][1].metrics.get("inputs") or [f"input {i + 1}" for i in range(3)]
        images = [None, None]
        tri = Triangulation(points[:, dims[0]], points[:, dims[1]]) if len(dims) == 2 else None
        for title, values, row, col, cmap, clim in panels:
            ax = axes[row, col]
            if not np.isfinite(values).any():
                ax.text(0.5, 0.5, f"{title}: no reference", ha="center", va="center", transform=ax.transAxes)
                ax.set_axis_off()
                continue
            if tri is not None:
                given = np.isfinite(values)
                tri.set_mask(None if given.all() else ~given[tri.triangles].all(axis=1))
                images[row] = ax.tripcolor(tri, np.where(given, values, 0.0), shading="gouraud", cmap=cmap,
                                           vmin=clim[0], vmax=clim[1])
                ax.set_aspect("equal", adjustable="box")
                ax.set_ylabel(names[dims[1]])
            else:
                order = np.argsort(points[:, dims[0]])
                ax.plot(points[order, dims[0]], values[order], color="k" if row == 0 else "C3", lw=1)
                ax.set_ylim(*clim)
                ax.set_ylabel(field if row == 0 else f"{field} error")
            ax.set_title(title)
            ax.set_xlabel(names[dims[0]])
        used = {(p[2], p[3]) for p in panels}
        for ax in (axes[r, c] for r in (0, 1) for c in range(3) if (r, c) not in used):
            ax.axis("off")
        for row, image in enumerate(images):
            if image is not None:
                fig.colorbar(image, ax=axes[row, :], shrink=0.9, label=[field, f"{field} error"][row])
        fig.suptitle(f"{problem}: best KAN and best MLP" + (" against the reference" if np.isfinite(reference).any()
                                                             else " (no reference data)"))
        return save_figure(fig, out / f"{problem}_fields", ("png", "pdf"), dpi=200, bbox_inches="tight")


def write_figures(runs: Sequence[Run], out: Path) -> list[Path]:
    """Every figure for every problem; returns the written files."""
    colours = _colours(runs)
    written = []
    for problem in sorted({r.key[0] for r in runs}):
        members = [r for r in runs if r.key[0] == problem]
        written += convergence(problem, members, colours, out)
        written += error_vs_params(problem, members, colours, out)
        written += fields(problem, members, out)
    return written
