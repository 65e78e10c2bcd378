"""The PNG figures of kanpde.io.figures: files exist, are valid PNGs of the expected size, and bad input fails."""
from __future__ import annotations

import matplotlib.image
import numpy as np
import pytest
from kanpde.io.figures import DPI, _Panel, plot_fields, plot_history, plot_test_set

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def check_png(path, min_width_in=3.0, max_width_in=15.0, rows=1):
    """``path`` is a PNG that matplotlib reads back at a plausible size (in inches at DPI) for
    ``rows`` rows of panels."""
    assert path.read_bytes()[:8] == PNG_SIGNATURE
    image = matplotlib.image.imread(path)
    height, width = image.shape[:2]
    assert min_width_in * DPI <= width <= max_width_in * DPI
    assert 2.0 * DPI * rows <= height <= 6.0 * DPI * rows
    assert image.std() > 0.01  # not a blank canvas
    return width


def grid(*axes):
    mesh = np.meshgrid(*axes, indexing="ij")
    return np.stack([m.ravel() for m in mesh], axis=1), tuple(len(a) for a in axes)


def check_fields(outdir, written, rows=1):
    assert written == [outdir / "solution.png", outdir / "reference.png", outdir / "error.png"]
    assert sorted(p.name for p in outdir.iterdir()) == ["error.png", "reference.png", "solution.png"]
    return [check_png(path, rows=rows) for path in written]


def test_1d(tmp_path):
    x = np.random.default_rng(0).uniform(-1, 1, size=(80, 1))  # unsorted: lines must sort by x
    u = np.sin(np.pi * x[:, 0])
    written = plot_fields(tmp_path, x, {"u": u + 0.01}, {"u": u}, ["x"])
    check_fields(tmp_path, written)


def test_2d_grid(tmp_path):
    points, shape = grid(np.linspace(-1, 1, 41), np.linspace(0, 1, 21))
    u = np.sin(np.pi * points[:, 0]) * np.exp(-points[:, 1])
    written = plot_fields(tmp_path, points, {"u": u * 1.01}, {"u": u}, ["x", "t"], grid_shape=shape)
    check_fields(tmp_path, written)


def test_2d_scattered_constant_and_exact(tmp_path):
    points = np.random.default_rng(1).uniform(size=(200, 2))
    u = np.ones(200)  # constant field, zero error: colour limits must not collapse
    written = plot_fields(tmp_path / "new" / "dir", points, {"u": u}, {"u": u}, ["x", "y"])
    check_fields(tmp_path / "new" / "dir", written)


@pytest.mark.slow
def test_3d_grid_and_scattered(tmp_path):
    points, shape = grid(np.linspace(0, 1, 6), np.linspace(0, 1, 5), np.linspace(0, 2, 7))
    u = points.sum(axis=1)
    check_fields(tmp_path / "grid", plot_fields(tmp_path / "grid", points, {"u": u}, {"u": 0.9 * u}, "xyz", shape), rows=3)
    cloud = np.random.default_rng(2).uniform(size=(100, 3))
    v = cloud[:, 0]
    check_fields(tmp_path / "cloud", plot_fields(tmp_path / "cloud", cloud, {"v": v}, {"v": v**2}, ["x", "y", "t"]))


@pytest.mark.slow
def test_system_of_three_fields_is_wider(tmp_path):
    points = np.random.default_rng(3).uniform(size=(150, 2))
    ref = {"u": points[:, 0], "v": points[:, 1], "p": points.prod(axis=1)}
    pred = {name: values + 0.02 for name, values in ref.items()}
    widths = check_fields(tmp_path / "system", plot_fields(tmp_path / "system", points, pred, ref, ["x", "y"]))
    one = plot_fields(tmp_path / "single", points, {"u": pred["u"]}, {"u": ref["u"]}, ["x", "y"])
    single = check_fields(tmp_path / "single", one)
    assert min(widths) > 2 * max(single)


def test_non_finite_prediction_still_plots(tmp_path):
    points, shape = grid(np.linspace(0, 1, 10), np.linspace(0, 1, 10))
    pred = np.full(100, np.nan)
    check_fields(tmp_path, plot_fields(tmp_path, points, {"u": pred}, {"u": points[:, 0]}, ["x", "y"], shape))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"input_names": ["x"]}, "1 input names for 2-D points"),
        ({"reference": {"v": np.zeros(12)}}, "differ"),
        ({"predicted": {"u": np.zeros(11)}}, "expected \\(12,\\)"),
        ({"grid_shape": (3, 3)}, "grid_shape"),
    ],
)
def test_bad_input_raises_value_error(tmp_path, kwargs, message):
    args = {
        "outdir": tmp_path,
        "points": np.zeros((12, 2)),
        "predicted": {"u": np.zeros(12)},
        "reference": {"u": np.zeros(12)},
        "input_names": ["x", "y"],
        **kwargs,
    }
    with pytest.raises(ValueError, match=message):
        plot_fields(**args)


def history(n=300, with_eval=True):
    step = np.arange(n)
    loss = np.exp(-step / 50) + 1e-5
    result = {
        "step": step,
        "phase": (step >= 200).astype(np.int64),
        "elapsed_s": 0.01 * step,
        "lr": np.full(n, 1e-3),
        "loss": loss,
        "loss_terms/pde": 0.8 * loss,
        "loss_terms/boundary": np.where(step < 10, 0.0, 0.2 * loss),  # zeros are masked on log y
    }
    if with_eval:
        result["eval/step"] = step[::50]
        result["eval/rel_l2"] = np.exp(-step[::50] / 100)
    else:
        result["eval/step"] = np.zeros(0, dtype=np.int64)
        result["eval/rel_l2"] = np.zeros(0)
    return result


def test_history_with_eval_has_two_panels(tmp_path):
    with_eval = plot_history(tmp_path / "loss.png", history())
    assert with_eval == tmp_path / "loss.png"
    without = plot_history(tmp_path / "loss_no_eval.png", history(with_eval=False))
    assert check_png(with_eval) > check_png(without)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["loss.png", "loss_no_eval.png"]


def test_history_minimal_keys(tmp_path):
    path = plot_history(tmp_path / "loss.png", {"step": np.arange(5), "loss": np.linspace(1, 0.1, 5)})
    check_png(path)


def test_history_needs_loss(tmp_path):
    with pytest.raises(ValueError, match="'loss'"):
        plot_history(tmp_path / "loss.png", {"step": np.arange(3)})


def test_3d_grid_planes():
    """A 3-D grid is drawn on planes: the middle plane across each input, or for a space-time grid
    the layers nearest the chosen times (3 evenly spaced by default); each plane's values are the
    field there."""
    points, shape = grid(np.linspace(0, 1, 5), np.linspace(0, 2, 9), np.linspace(0, 1, 11))
    u = points[:, 0] + 10 * points[:, 1] + 100 * points[:, 2]
    panel = _Panel(points, ["x", "y", "z"], shape)
    assert panel.views == [(0, 2), (1, 4), (2, 5)]
    assert [panel.plane_name(v) for v in panel.views] == ["x = 0.5", "y = 1", "z = 0.5"]
    xy, values, plane_shape, names, _ = panel.plane(u, 1, 4)  # y = 1: u = x + 10 + 100 z
    assert names == ["x", "z"] and plane_shape == (5, 11)
    np.testing.assert_allclose(values, xy[:, 0] + 10 + 100 * xy[:, 1])
    timed = _Panel(points, ["x", "y", "t"], shape, time_input="t")
    assert [timed.plane_name(v) for v in timed.views] == ["t = 0", "t = 0.5", "t = 1"]
    chosen = _Panel(points, ["x", "y", "t"], shape, time_input="t", times=[0.31, 0.9])
    assert [chosen.plane_name(v) for v in chosen.views] == ["t = 0.3", "t = 0.9"]


def test_a_line_test_set_with_published_points(tmp_path):
    """A test set on a line with reference values at a few points (a centreline table): a figure of
    two rows (prediction with the reference as markers, then the error at those points)."""
    y = np.linspace(0, 1, 101)
    points = np.stack([np.full_like(y, 0.5), y], axis=1)
    ref = np.full_like(y, np.nan)
    ref[::10] = np.sin(y[::10])
    path = plot_test_set(tmp_path / "centre.png", points, {"u": np.sin(y), "p": y}, {"u": ref, "p": np.full_like(y, np.nan)},
                         ["x", "y"], "centreline")
    check_png(path, rows=2)


def test_colour_limits_leave_out_a_few_singular_values():
    """A field with a singular point (the lid cavity's pressure at its corners) is drawn on the range
    of its other values; an ordinary field on its full range."""
    from kanpde.io.figures import _limits

    values = np.linspace(-1, 1, 1001)
    assert _limits(values) == (-1.0, 1.0)
    lo, hi = _limits(np.r_[values, 1e10], values)
    assert -1 <= lo < -0.98 and 0.98 < hi <= 1
    assert _limits(np.full(5, 2.0)) == (1.0, 3.0)  # a constant field is widened
