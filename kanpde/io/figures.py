"""PNG figures of a run: the solution against the reference, and the training history.

Uses matplotlib's object API only (``Figure`` + ``savefig``), never pyplot, so nothing
touches global state or needs a display. Every file is written atomically.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.cm import ScalarMappable
from matplotlib.figure import Figure
from matplotlib.tri import Triangulation

from .files import save_figure

DPI = 150
PANEL_HEIGHT = 3.0  # inches
MAX_WIDTH = 14.0  # inches, for a figure of many equal-aspect panels
FIELD_CMAP = "viridis"
ERROR_CMAP = "RdBu_r"
OUTLIER_RANGE = 20.0  # a field whose full range is this many times its 99 % range is drawn on the latter


def plot_fields(
    outdir: str | Path,
    points: np.ndarray,
    predicted: dict[str, np.ndarray],
    reference: dict[str, np.ndarray],
    input_names: Sequence[str],
    grid_shape: tuple[int, ...] | None = None,
    triangles: np.ndarray | None = None,
    time_input: str | None = None,
    times: Sequence[float] = (),
) -> list[Path]:
    """Write ``solution.png``, ``reference.png`` and ``error.png`` into ``outdir``.

    ``points``: (N, d) inputs, d in 1..3, named by ``input_names`` (e.g. "x", "t").
    ``predicted`` and ``reference``: the same field names, each an (N,) array; one panel per
    field. ``grid_shape``: shape of the tensor grid the points come from (C order), if any;
    ``triangles`` (M, 3): the triangles of scattered 2-D points (else a Delaunay triangulation).
    A 3-D grid is drawn as planes, one row each: at ``times`` (else 3 evenly spaced) across the
    input ``time_input`` of a space-time problem, else the middle plane across each input.
    Prediction and reference of a field share one colour scale; the error (prediction -
    reference) uses a symmetric diverging one. Returns the three paths.
    """
    points = np.asarray(points, dtype=np.float64)
    if points.ndim != 2 or not 1 <= points.shape[1] <= 3:
        raise ValueError(f"points must have shape (N, d) with d in 1..3, got {points.shape}")
    n, d = points.shape
    if len(input_names) != d:
        raise ValueError(f"{len(input_names)} input names for {d}-D points")
    if list(predicted) != list(reference) or not predicted:
        raise ValueError(f"predicted fields {list(predicted)} and reference fields {list(reference)} differ")
    pred = {name: np.asarray(v, dtype=np.float64) for name, v in predicted.items()}
    ref = {name: np.asarray(v, dtype=np.float64) for name, v in reference.items()}
    for name in pred:
        if pred[name].shape != (n,) or ref[name].shape != (n,):
            raise ValueError(
                f"field {name!r}: predicted {pred[name].shape} and reference {ref[name].shape}, expected ({n},)"
            )
    if grid_shape is not None and (len(grid_shape) != d or int(np.prod(grid_shape)) != n):
        raise ValueError(f"grid_shape {tuple(grid_shape)} does not match points of shape {points.shape}")

    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    panel = _Panel(points, list(input_names), grid_shape, triangles, time_input, times)
    names, views = list(pred), panel.views
    width = panel.figure_width(len(names))
    figures = {
        "solution.png": _field_figure(len(views), len(names), width, "Prediction"),
        "reference.png": _field_figure(len(views), len(names), width, "Reference"),
        "error.png": _field_figure(len(views), len(names), width, "Error (prediction \N{MINUS SIGN} reference)"),
    }
    for row, view in enumerate(views):
        for i, name in enumerate(names):
            _draw_field(panel, name, pred[name], ref[name], *(fig.axes[row * len(names) + i] for fig in figures.values()),
                        view=view)
    return [path for filename, fig in figures.items() for path in save_figure(fig, outdir / filename, dpi=DPI)]


def _draw_field(panel: "_Panel", name: str, pred: np.ndarray, ref: np.ndarray, sol_ax: Axes, ref_ax: Axes | None,
                err_ax: Axes, view: tuple[int, int] | None = None) -> None:
    """One field (N,): prediction, reference (one colour scale; no axis: not drawn apart) and error
    (symmetric scale), on the plane ``view`` of a 3-D grid (the colour scales cover the whole field)."""
    lim = _limits(pred, ref)
    error = pred - ref
    max_error = _max_abs(error)
    scale = min(max_error, max(np.abs(_limits(error))))  # the whole range, unless a few values lie far out
    error_lim = (-scale, scale) if max_error > 0 else (-1.0, 1.0)
    if panel.along is not None:
        panel.lines(sol_ax, {"prediction": pred, "reference": ref}, name, lim)
        if ref_ax is not None:
            panel.lines(ref_ax, {"reference": ref}, name, lim)
        panel.lines(err_ax, {"error": error}, f"{name} error", error_lim, zero_line=True)
    else:
        panel.colour(sol_ax, pred, name, FIELD_CMAP, lim, view)
        if ref_ax is not None:
            panel.colour(ref_ax, ref, name, FIELD_CMAP, lim, view)
        panel.colour(err_ax, error, f"{name} error", ERROR_CMAP, error_lim, view)
    n_bad = int(np.count_nonzero(~np.isfinite(pred)))
    where = ""
    if view is not None:  # the largest error on this plane
        _, plane_error, _, _, plane = panel.plane(error, *view)
        where, max_error = f" at {plane}", _max_abs(plane_error)
    err_ax.set_title(f"{name}{where}: max |error| = {max_error:.3g}" + (f" ({n_bad} non-finite)" if n_bad else ""))


def plot_test_set(path: str | Path, points: np.ndarray, predicted: dict[str, np.ndarray],
                  reference: dict[str, np.ndarray], input_names: Sequence[str], title: str,
                  grid_shape: tuple[int, ...] | None = None, triangles: np.ndarray | None = None) -> Path:
    """Write ``path`` (``<name>.png`` of a named test set), titled ``title``: a column per field
    with a reference (and per plane of a 3-D grid), with the prediction, the reference and the
    error in rows as in solution/reference/error.png; on a line, prediction and reference share
    the first row."""
    points = np.asarray(points, dtype=np.float64)
    panel = _Panel(points, list(input_names), grid_shape, triangles)
    names = [n for n in predicted if np.isfinite(reference[n]).any()] or list(predicted)
    columns = [(name, view) for name in names for view in panel.views]
    rows = 2 if panel.along is not None else 3
    fig = Figure(figsize=(panel.figure_width(len(columns)), rows * PANEL_HEIGHT), layout="constrained")
    axes = fig.subplots(rows, len(columns), squeeze=False)
    for i, (name, view) in enumerate(columns):
        sol_ax, *rest = axes[:, i]
        ref_ax, err_ax = rest if rows == 3 else (None, rest[0])
        _draw_field(panel, name, np.asarray(predicted[name], dtype=np.float64),
                    np.asarray(reference[name], dtype=np.float64), sol_ax, ref_ax, err_ax, view)
    fig.suptitle(title)
    return save_figure(fig, Path(path), dpi=DPI)[0]


def plot_time_slices(path: str | Path, points: np.ndarray, predicted: dict[str, np.ndarray],
                     reference: dict[str, np.ndarray], input_names: Sequence[str], time_input: str,
                     times: Sequence[float] = ()) -> Path | None:
    """Write ``path`` (``time_slices.png``): each field u(x) at chosen times of a space-time test
    set, the prediction solid (a colour per time) and the reference dashed black, one panel per field.

    ``points`` (N, 2): one space input and ``time_input``; ``times``: the times wanted (each drawn at
    the nearest time the points have; empty: 4 evenly spaced from the first to the last). Returns
    None (and writes nothing) unless the points have exactly one space input.
    """
    points = np.asarray(points, dtype=np.float64)
    if points.ndim != 2 or points.shape[1] != 2 or time_input not in input_names:
        return None
    it = list(input_names).index(time_input)
    x, t = points[:, 1 - it], points[:, it]
    present = np.unique(t)
    wanted = list(times) or list(np.linspace(present[0], present[-1], 4))
    chosen = sorted({float(present[np.argmin(np.abs(present - w))]) for w in wanted})
    names = list(predicted)
    fig = Figure(figsize=(max(6.0, 4.2 * len(names)), 3.4), layout="constrained")
    axes = fig.subplots(1, len(names), squeeze=False)[0]
    for ax, name in zip(axes, names):
        for k, when in enumerate(chosen):
            at = np.flatnonzero(t == when)
            at = at[np.argsort(x[at], kind="stable")]
            colour = f"C{k % 10}"
            ax.plot(x[at], predicted[name][at], "-", color=colour, linewidth=1.4, label=f"{time_input} = {when:.3g}")
            if np.isfinite(reference[name][at]).any():
                ax.plot(x[at], reference[name][at], "--", color="black", linewidth=0.9, alpha=0.8,
                        label="reference" if k == 0 else None)
        ax.set(xlabel=input_names[1 - it], ylabel=name, title=f"{name}({input_names[1 - it]}) at chosen times")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize="small")
    fig.suptitle("Prediction (solid) and reference (dashed)")
    return save_figure(fig, Path(path), dpi=DPI)[0]


def plot_history(path: str | Path, history: dict[str, np.ndarray]) -> Path:
    """Write the loss curves of a run to the PNG file ``path`` (e.g. ``run/loss.png``).

    ``history`` has the keys of :func:`kanpde.io.write_history`: 1-D ``step`` and ``loss``,
    optional ``phase`` (0 Adam, 1 L-BFGS), ``loss_terms/<name>``, ``eval/step`` and
    ``eval/rel_l2``. Left panel: total loss and each term vs step (log y); right panel,
    only when there are eval rows: relative L2 error vs step (log y). A dashed vertical
    line marks the switch from Adam to L-BFGS. Returns ``path``.
    """
    for key in ("step", "loss"):
        if key not in history:
            raise ValueError(f"history has no {key!r} dataset (keys: {sorted(history)})")
    step = np.asarray(history["step"])
    eval_step = np.asarray(history.get("eval/step", []))
    has_eval = eval_step.size > 0 and "eval/rel_l2" in history
    phase = np.asarray(history.get("phase", np.zeros_like(step)))
    switches = step[1:][(phase[:-1] == 0) & (phase[1:] == 1)]

    fig = Figure(figsize=(10.0 if has_eval else 6.0, 3.8), layout="constrained")
    axes = fig.subplots(1, 2 if has_eval else 1, squeeze=False)[0]
    loss_ax = axes[0]
    loss_ax.plot(step, history["loss"], color="black", linewidth=1.6, label="total")
    for key in sorted(k for k in history if k.startswith("loss_terms/")):
        loss_ax.plot(step, history[key], linewidth=1.0, label=key.removeprefix("loss_terms/"))
    loss_ax.set(title="Training loss", xlabel="step", ylabel="loss")
    if has_eval:
        eval_ax = axes[1]
        eval_ax.plot(eval_step, history["eval/rel_l2"], marker="o", markersize=3, color="tab:red")
        eval_ax.set(title="Relative L2 error", xlabel="step", ylabel="relative L2 error")
    for ax in axes:
        ax.set_yscale("log", nonpositive="mask")
        ax.grid(True, which="major", alpha=0.3)
        for j, s in enumerate(switches):
            label = "Adam \N{RIGHTWARDS ARROW} L-BFGS" if j == 0 else None
            ax.axvline(s, color="gray", linestyle="--", linewidth=1.0, label=label)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize="small")
    return save_figure(fig, Path(path), dpi=DPI)[0]


class _Panel:
    """Draws one field on one axis, for points (N, d) with input names and optional grid."""

    def __init__(self, points: np.ndarray, input_names: list[str], grid_shape: tuple[int, ...] | None,
                 triangles: np.ndarray | None = None, time_input: str | None = None, times: Sequence[float] = ()):
        self.points, self.triangles = points, triangles
        self.names = input_names
        self.grid_shape = None if grid_shape is None else tuple(int(s) for s in grid_shape)
        # The input to draw curves against: 0 for 1-D points, the most varying one for scattered
        # points on a line (a centreline), None for a field in 2-D or 3-D.
        self.along: int | None = 0 if points.shape[1] == 1 else None
        if self.along is None and grid_shape is None and triangles is None and _on_a_line(points):
            self.along = int(np.argmax(np.ptp(points, axis=0)))
        self.order = np.argsort(points[:, self.along or 0], kind="stable")
        # A 3-D grid is drawn as planes (axis, layer): at chosen times of a time input, else the
        # middle plane across each axis; anything else as one view (None).
        self.views: list[tuple[int, int] | None] = [None]
        if points.shape[1] == 3 and self.grid_shape is not None:
            it = list(input_names).index(time_input) if time_input in input_names else None
            self.views = ([(it, k) for k in self._layers(it, times, 3)] if it is not None
                          else [(axis, k) for axis in range(3) for k in self._layers(axis)])
        # Width / height of the (x, y) extent when equal aspect reads well (within a factor 3), else None.
        self.ratio = _ratio(points[:, :2]) if self.along is None else None
        if self.views[0] is not None:  # the widest plane sets the width
            ratios = [_ratio(self.plane(points[:, 0], *view)[0]) for view in self.views]
            self.ratio = None if None in ratios else max(ratios)

    def figure_width(self, n_fields: int) -> float:
        """Inches for ``n_fields`` panels side by side, labels and colourbars included: each
        panel follows the data's aspect when drawn with equal axes, else 6 inches in all."""
        if self.ratio is None:
            return max(6.0, 3.4 * n_fields)
        return min(MAX_WIDTH, n_fields * (0.75 * PANEL_HEIGHT * self.ratio + 1.6))

    def lines(
        self, ax: Axes, curves: dict[str, np.ndarray], label: str, ylim: tuple[float, float], zero_line: bool = False
    ) -> None:
        """1-D input or points on a line: each (N,) curve against the input ``along``, sorted,
        with a legend when several."""
        x = self.points[self.order, self.along]
        for (curve_label, values), style in zip(curves.items(), ("-", "--")):
            values = values[self.order]
            if np.isfinite(values).all():
                ax.plot(x, values, style, linewidth=1.4, label=curve_label)
            else:  # values at some points only (published data along a line): markers
                ax.plot(x, values, "o", markersize=4, fillstyle="none" if style == "--" else "full", label=curve_label)
        if len(curves) > 1:
            ax.legend(fontsize="small")
        if zero_line:
            ax.axhline(0.0, color="gray", linewidth=0.8)
        pad = 0.05 * (ylim[1] - ylim[0])
        fixed = [f"{n} = {self.points[0, i]:.3g}" for i, n in enumerate(self.names)
                 if i != self.along and np.ptp(self.points[:, i]) == 0]  # a centreline names where it lies
        title = label + (f" at {', '.join(fixed)}" if fixed else "")
        ax.set(xlabel=self.names[self.along], ylabel=label, title=title, ylim=(ylim[0] - pad, ylim[1] + pad))
        ax.set_xlim(x[0], x[-1])

    def colour(self, ax: Axes, values: np.ndarray, label: str, cmap: str, clim: tuple[float, float],
               view: tuple[int, int] | None = None) -> None:
        """2-D or 3-D input: the (N,) values as a colour map with a labelled colourbar, on the plane
        ``view`` of a 3-D grid (a panel saying so when no value is finite: a field without reference)."""
        if not np.isfinite(values).any():
            ax.text(0.5, 0.5, f"{label}: no reference", ha="center", va="center", transform=ax.transAxes)
            ax.set_axis_off()
            return
        vmin, vmax = clim
        points, names, shape, title = self.points, self.names, self.grid_shape, label
        if view is not None:
            points, values, shape, names, where = self.plane(values, *view)
            title = f"{label} at {where}"
        elif points.shape[1] == 3:
            title = f"{label} (projected on {self.names[0]}, {self.names[1]})"
        x, y = points[:, 0], points[:, 1]
        if points.shape[1] == 2 and shape is not None:
            image: ScalarMappable = ax.pcolormesh(
                x.reshape(shape), y.reshape(shape), values.reshape(shape),
                shading="gouraud", cmap=cmap, vmin=vmin, vmax=vmax,
            )
        elif points.shape[1] == 2 and len(x) >= 3:
            mesh = Triangulation(x, y, self.triangles)
            given = np.isfinite(values)
            if not given.all():  # only the triangles whose corners all have a value
                mesh.set_mask(~given[mesh.triangles].all(axis=1))
            image = ax.tripcolor(mesh, np.where(given, values, 0.0), shading="gouraud", cmap=cmap, vmin=vmin, vmax=vmax)
        else:
            image = ax.scatter(x, y, c=values, s=6, cmap=cmap, vmin=vmin, vmax=vmax)
        ax.figure.colorbar(image, ax=ax, label=label)
        ax.set(xlabel=names[0], ylabel=names[1], title=title)
        ax.set_xlim(x.min(), x.max())
        ax.set_ylim(y.min(), y.max())
        ax.set_aspect("equal" if _ratio(points[:, :2]) is not None else "auto")

    def _layers(self, axis: int, wanted: Sequence[float] = (), default: int = 1) -> list[int]:
        """Layers of a 3-D grid across ``axis``: those nearest the ``wanted`` coordinates (at most
        4), else ``default`` evenly spaced ones (1: the middle one)."""
        c = np.moveaxis(self.points[:, axis].reshape(self.grid_shape), axis, 0)[:, 0, 0]
        spread = np.linspace(c.min(), c.max(), default) if default > 1 else [0.5 * (c.min() + c.max())]
        wanted = list(wanted)[:4] or list(spread)
        return sorted({int(np.argmin(np.abs(c - w))) for w in wanted})

    def plane_name(self, view: tuple[int, int]) -> str:
        """Where the plane ``view`` = (axis, layer) of a 3-D grid lies, as text ("z = 0.5")."""
        return self.plane(self.points[:, 0], *view)[4]

    def plane(self, values: np.ndarray, axis: int, k: int) -> tuple[np.ndarray, np.ndarray, tuple[int, int], list[str], str]:
        """Layer ``k`` across ``axis`` of a 3-D grid: (points (M, 2) of the other two inputs, values
        (M,), their grid shape, their names, where the plane lies as text)."""
        keep = [i for i in range(3) if i != axis]
        grid = np.moveaxis(self.points.reshape(*self.grid_shape, 3), axis, 0)[k]
        layer = np.moveaxis(np.asarray(values).reshape(self.grid_shape), axis, 0)[k]
        where = f"{self.names[axis]} = {float(grid.reshape(-1, 3)[0, axis]):.3g}"
        return grid[..., keep].reshape(-1, 2), layer.ravel(), layer.shape, [self.names[i] for i in keep], where


def _ratio(points: np.ndarray) -> float | None:
    """Width / height of 2-D points' extent when equal aspect reads well (within a factor 3), else None."""
    width, height = np.ptp(points[:, 0]), np.ptp(points[:, 1])
    if not (width > 0 and height > 0):
        return None
    ratio = float(width / height)
    return ratio if 1 / 3 <= ratio <= 3 else None


def _field_figure(n_rows: int, n_fields: int, width: float, title: str) -> Figure:
    """An empty figure ``width`` inches wide with ``n_rows`` rows of ``n_fields`` axes side by
    side, titled ``title``."""
    fig = Figure(figsize=(width, PANEL_HEIGHT * n_rows), layout="constrained")
    fig.subplots(n_rows, n_fields, squeeze=False)
    fig.suptitle(title)
    return fig


def _limits(*arrays: np.ndarray) -> tuple[float, float]:
    """(min, max) over the finite values of the arrays, widened when they are equal; when a few
    values lie far out (a singular point), the 0.5 to 99.5 percentile range, which then holds
    99 % of the values (the colour bar saturates beyond it)."""
    finite = np.concatenate([a[np.isfinite(a)] for a in arrays])
    if finite.size == 0:
        return -1.0, 1.0
    lo, hi = float(finite.min()), float(finite.max())
    q_lo, q_hi = (float(q) for q in np.percentile(finite, [0.5, 99.5]))
    if hi - lo > OUTLIER_RANGE * (q_hi - q_lo) > 0:
        lo, hi = q_lo, q_hi
    if hi - lo <= 1e-12 * max(abs(lo), abs(hi), 1.0):
        widen = 0.5 * max(abs(lo), 1.0)
        lo, hi = lo - widen, hi + widen
    return lo, hi


def _on_a_line(points: np.ndarray) -> bool:
    """Whether (N, d) points lie on one straight line (fewer than 3 distinct points count)."""
    centred = points - points.mean(axis=0)
    scale = max(float(np.abs(centred).max()), 1e-300)
    return len(points) < 3 or np.linalg.matrix_rank(centred / scale, tol=1e-9) < 2


def _max_abs(values: np.ndarray) -> float:
    """Largest finite |value|, or NaN when no value is finite."""
    finite = np.abs(values[np.isfinite(values)])
    return float(finite.max()) if finite.size else float("nan")
