"""Problems without a closed form: reference data for some fields or points only, read from the
files people have, test sets on a line, runs with no reference at all, and kanpde-compare on them."""
from __future__ import annotations

import math

import h5py
import meshio
import numpy as np
import pytest
import torch
from matplotlib.image import imread
from scipy.io import savemat

import kanpde
from kanpde.compare.cli import main as compare_main
from kanpde.compare.runs import find_runs
from kanpde.compare.tables import summarize
from kanpde.errors import KanpdeError
from kanpde.geometry import Box
from kanpde.io import read_json
from kanpde.pde.reference import read_reference
from kanpde.pde import Dirichlet, Problem
from kanpde.pde import TestSet as ReferenceSet  # (a name pytest does not collect)

QUICK = ["optim.adam.steps=60", "optim.lbfgs.steps=20", "sampler.n_interior=128", "sampler.n_boundary=64",
         "output.progress=false"]
RNG = np.random.default_rng(0)
X, Y = RNG.uniform(-1, 1, 50), RNG.uniform(-1, 1, 50)
U, P = np.sin(X) * Y, X + Y


def write(path, fmt):
    """x, y, u and p at 50 points (no v) in the format ``fmt``."""
    columns = {"x": X, "y": Y, "u": U, "p": P}
    if fmt == "npz":
        np.savez(path, **columns)
    elif fmt == "csv":
        np.savetxt(path, np.stack(list(columns.values()), 1), delimiter=",", header="x,y,u,p", comments="")
    elif fmt == "mat":
        savemat(path, columns)
    elif fmt == "h5":
        with h5py.File(path, "w") as f:
            for k, v in columns.items():
                f[k] = v
    else:
        meshio.write(path, meshio.Mesh(np.stack([X, Y, 0 * X], 1), [("vertex", np.arange(50)[:, None])],
                                       point_data={"u": U, "p": P}))
    return path


@pytest.mark.parametrize("fmt", ["npz", "csv", "mat", "h5", "vtu"])
def test_every_supported_format_reads_the_same_points_and_values(fmt, tmp_path):
    points, values, triangles = read_reference(write(tmp_path / f"ref.{fmt}", fmt), ("x", "y"), ("u", "v", "p"))
    np.testing.assert_allclose(points, np.stack([X, Y], 1), rtol=0, atol=1e-15)
    np.testing.assert_allclose(values[:, 0], U, rtol=0, atol=1e-15)
    np.testing.assert_allclose(values[:, 2], P, rtol=0, atol=1e-15)
    assert np.isnan(values[:, 1]).all() and triangles is None  # no v in the file: not scored


@pytest.mark.parametrize("content, message", [
    ("x,u\n0,1\n", r"no column for the input\(s\) y; it has u, x"),
    ("x,y,q\n0,1,2\n", r"none of the fields u, v, p; it has q, x, y"),
])
def test_a_file_that_does_not_fit_the_problem_is_one_line_naming_it(content, message, tmp_path):
    (tmp_path / "bad.csv").write_text(content)
    with pytest.raises(KanpdeError, match=f"^reference data {tmp_path / 'bad.csv'}: {message}"):
        read_reference(tmp_path / "bad.csv", ("x", "y"), ("u", "v", "p"))
    with pytest.raises(KanpdeError, match="no such file"):
        read_reference(tmp_path / "missing.npz", ("x", "y"), ("u",))


def test_errors_are_taken_over_the_given_values_only():
    ref = np.array([[1.0, np.nan], [2.0, np.nan], [np.nan, np.nan]])
    pred = np.array([[1.5, 7.0], [2.0, 8.0], [100.0, 9.0]])
    test = ReferenceSet(np.zeros((3, 1)), ref)
    errors = test.rel_l2_fields(pred)
    assert errors[0] == pytest.approx(0.5 / math.sqrt(5.0), rel=1e-15) and np.isnan(errors[1])
    assert test.rel_l2(pred) == errors[0] and test.max_abs_error(pred) == 0.5
    assert list(test.scored_points()) == [2, 0]
    assert math.isnan(ReferenceSet(np.zeros((3, 1)), np.full((3, 1), np.nan)).rel_l2(pred[:, :1]))


@pytest.mark.slow
def test_a_reference_for_one_of_three_fields_scores_that_field_alone(tmp_path):
    """kovasznay (u, v, p) with +problem.reference naming a file that gives u only."""
    problem = kanpde.solve("kovasznay", "kan_small", overrides=["optim.adam.steps=0", "optim.lbfgs.steps=0",
                                                                "output.progress=false"]).problem
    x = torch.as_tensor(np.stack([RNG.uniform(-0.5, 1.0, 64), RNG.uniform(-0.5, 1.5, 64)], 1))
    u = problem.exact(x)[:, 0].numpy()
    np.savez(tmp_path / "u.npz", x=x[:, 0].numpy(), y=x[:, 1].numpy(), u=u)
    sol = kanpde.solve("kovasznay", "kan_small", overrides=[*QUICK, f"+problem.reference={tmp_path / 'u.npz'}"],
                       run_dir=tmp_path / "run")
    metrics = read_json(tmp_path / "run" / "metrics.json")
    assert metrics["scored_points"] == {"u": 64, "v": 0, "p": 0} and list(metrics["rel_l2_fields"]) == ["u"]
    predicted = sol(x.numpy())[:, 0]
    assert metrics["rel_l2"] == pytest.approx(np.linalg.norm(predicted - u) / np.linalg.norm(u), rel=1e-6)
    assert metrics["max_abs_error"] == pytest.approx(np.abs(predicted - u).max(), rel=1e-6)
    assert kanpde.load(tmp_path / "run").config.problem.reference == str(tmp_path / "u.npz")


@pytest.mark.slow
def test_a_test_set_on_a_line_gives_line_figures(tmp_path):
    """A centreline (x = 0.5) used to crash in the Delaunay triangulation after training."""
    y = np.linspace(-1, 1, 41)
    np.savetxt(tmp_path / "line.csv", np.stack([np.full_like(y, 0.5), y, np.sin(np.pi * y)], 1), delimiter=",",
               header="x,y,u", comments="")
    kanpde.solve("poisson2d", "kan_small", overrides=[*QUICK, f"+problem.reference={tmp_path / 'line.csv'}"],
                 run_dir=tmp_path / "run")
    metrics = read_json(tmp_path / "run" / "metrics.json")
    assert metrics["status"] == "ok" and metrics["scored_points"] == {"u": 41} and metrics["rel_l2"] < 0.5
    for name in ("solution.png", "reference.png", "error.png"):
        image = imread(tmp_path / "run" / name)
        assert image.shape[0] > 100 and image[..., :3].std() > 0.01  # drawn, not blank


class Source(Problem):
    """-lap u = 1 on the square, u = 0 on its edges: no closed form, no data."""

    def __init__(self):
        super().__init__()
        self.domain = Box([-1, -1], [1, 1])
        self.conditions = [Dirichlet("boundary", lambda x: torch.zeros(len(x)))]

    def residual(self, x, u, d):
        return d.laplacian("u") + 1.0


@pytest.mark.slow
def test_runs_without_any_reference_train_write_and_compare(tmp_path):
    for model in ("kan_small", "mlp_small"):
        sol = kanpde.solve(Source(), model, overrides=QUICK, run_dir=tmp_path / "sweep" / model)
        assert sol.metrics["status"] == "ok" and math.isnan(sol.metrics["rel_l2"])
        assert "eval/step" not in sol.history  # no error history of NaNs
    metrics = read_json(tmp_path / "sweep" / "kan_small" / "metrics.json")
    assert metrics["rel_l2"] is None and metrics["scored_points"] == {"u": 0} and metrics["rel_l2_fields"] == {}
    runs, skipped = find_runs([tmp_path / "sweep"])
    rows = summarize(runs)
    assert not skipped and [r["unscored"] for r in rows] == [1, 1]
    assert all(math.isnan(r["rel_l2"][0]) and r["final_loss"][0] > 0 for r in rows)
    compare_main([str(tmp_path / "sweep"), "--out", str(tmp_path / "cmp")])
    table = (tmp_path / "cmp" / "table.md").read_text()
    assert "Runs without reference data" in table and "- Source / kan_small: 1 of 1 finished runs" in table
    assert (tmp_path / "cmp" / "Source_convergence.png").exists() and (tmp_path / "cmp" / "Source_fields.png").exists()
    assert not (tmp_path / "cmp" / "Source_error_vs_params.png").exists()  # no error to draw against size


@pytest.mark.slow
def test_a_space_time_problem_draws_its_solution_at_chosen_times(tmp_path):
    """heat1d with output.time_slices=[0,0.5,1]: time_slices.png, looked at: three coloured
    prediction curves and the dashed black reference, on a drawn (not blank) canvas."""
    kanpde.solve("heat1d", "kan_small", overrides=[*QUICK, "output.time_slices=[0,0.5,1]"], run_dir=tmp_path / "run")
    image = imread(tmp_path / "run" / "time_slices.png")[..., :3]
    assert image.shape[1] > 500 and image.std() > 0.05
    colours = {c: np.all(np.abs(image - np.array(rgb)) < 0.08, axis=-1).sum()
               for c, rgb in {"C0": (0.12, 0.47, 0.71), "C1": (1.0, 0.5, 0.05), "C2": (0.17, 0.63, 0.17)}.items()}
    assert all(n > 200 for n in colours.values()), colours  # one curve per chosen time
    assert not np.all(np.abs(image - np.array((0.84, 0.15, 0.16))) < 0.08, axis=-1).sum() > 200  # no fourth (C3)
