"""Named test sets: a problem may have several (the whole field for the figures, published values
on a centreline for the score); the scored ones together make the run's errors, each gets its
own entry in metrics.json, its VTU file and its figure. The lid-driven cavity uses them."""
from __future__ import annotations

import math

import meshio
import numpy as np
import pytest
import torch
from matplotlib.image import imread

import kanpde
from kanpde.errors import KanpdeError
from kanpde.io import read_json
from kanpde.pde import TestSet as NamedSet  # (a name pytest does not collect)
from kanpde.pde import line_set
from kanpde.problems import Poisson2D
from kanpde.problems.lid_cavity import LidCavity, corner_flow

QUICK = ["optim.adam.steps=40", "optim.lbfgs.steps=10", "sampler.n_interior=128", "sampler.n_boundary=64",
         "output.progress=false"]


def test_the_score_is_the_scored_sets_together():
    a = NamedSet(np.zeros((2, 1)), np.array([[1.0, np.nan], [2.0, np.nan]]))  # u only
    b = NamedSet(np.ones((3, 1)), np.array([[np.nan, 1.0], [np.nan, -1.0], [np.nan, 2.0]]))  # v only
    c = NamedSet(np.ones((1, 1)), np.array([[5.0, 5.0]]), scored=False)
    score = NamedSet.score({"a": a, "b": b, "c": c}, 1, 2)
    assert score.points.shape == (5, 1) and list(score.scored_points()) == [2, 3]
    pred = np.array([[1.0, 0.0], [2.5, 0.0], [0.0, 1.5], [0.0, -1.0], [0.0, 0.0]])
    np.testing.assert_allclose(score.rel_l2_fields(pred), [0.5 / math.sqrt(5), math.sqrt(0.25 + 4) / math.sqrt(6)])
    np.testing.assert_allclose(score.max_abs_error_fields(pred), [0.5, 2.0])
    np.testing.assert_allclose(score.rms_error_fields(pred), [math.sqrt(0.25 / 2), math.sqrt(4.25 / 3)])
    summary = score.summary(pred, ("u", "v"))
    assert summary["scored_points"] == {"u": 2, "v": 3} and summary["max_abs_error_fields"] == {"u": 0.5, "v": 2.0}
    assert NamedSet.score({"a": a}, 1, 2) is a
    empty = NamedSet.score({"c": c}, 1, 2)
    assert empty.points.shape == (0, 1) and math.isnan(empty.rel_l2(np.zeros((0, 2))))
    assert math.isnan(empty.max_abs_error(np.zeros((0, 2))))


def test_a_line_set_holds_the_drawn_points_then_the_published_ones():
    data = {1: (np.array([[0.5, 0.25], [0.5, 0.75]]), np.array([0.1, 0.2]))}
    line = line_set((0.5, 0.0), (0.5, 1.0), 5, 3, data, scored=True)
    np.testing.assert_allclose(line.points[:5], [[0.5, 0.0], [0.5, 0.25], [0.5, 0.5], [0.5, 0.75], [0.5, 1.0]])
    assert np.isnan(line.values[:5]).all() and list(line.scored_points()) == [0, 2, 0]
    np.testing.assert_array_equal(line.values[5:, 1], [0.1, 0.2])


class Diagonal(Poisson2D):
    """Poisson 2-D scored on 9 exact values along the diagonal only; the whole grid is drawn."""

    def test_sets(self):
        x = np.linspace(-1, 1, 9)[:, None] * np.ones((1, 2))
        exact = self.exact(torch.as_tensor(x)).numpy()[:, 0]
        field = self.test_set()
        field.scored = False
        return {"field": field, "diagonal": line_set((-1, -1), (1, 1), 50, 1, {0: (x, exact)})}


@pytest.mark.slow
def test_each_named_set_has_its_errors_file_and_figure(tmp_path):
    sol = kanpde.solve(Diagonal(), "kan_small", overrides=QUICK, run_dir=tmp_path / "run")
    metrics = read_json(tmp_path / "run" / "metrics.json")
    sets = metrics["test_sets"]
    assert list(sets) == ["field", "diagonal"]
    assert sets["field"]["points"] == 101**2 and not sets["field"]["scored"]
    assert sets["field"]["scored_points"] == {"u": 101**2}  # errors there are written, not scored
    assert sets["diagonal"]["points"] == 59 and sets["diagonal"]["scored_points"] == {"u": 9}
    # the run's errors are the scored set's, and they are what the prediction says there
    x = np.linspace(-1, 1, 9)[:, None] * np.ones((1, 2))
    error = sol(x)[:, 0] - Diagonal().exact(torch.as_tensor(x)).numpy()[:, 0]
    assert metrics["max_abs_error"] == pytest.approx(np.abs(error).max(), rel=1e-9)
    assert metrics["rms_error_fields"]["u"] == pytest.approx(np.sqrt(np.mean(error**2)), rel=1e-9)
    assert metrics["rel_l2"] == sets["diagonal"]["rel_l2_fields"]["u"] != sets["field"]["rel_l2_fields"]["u"]
    assert sol.test_set.points.shape == (59, 2) and list(sol.test_sets) == ["field", "diagonal"]
    line = meshio.read(tmp_path / "run" / "solution_diagonal.vtu")
    assert len(line.points) == 59 and np.isfinite(line.point_data["u_ref"]).sum() == 9
    assert len(meshio.read(tmp_path / "run" / "solution.vtu").points) == 101**2
    image = imread(tmp_path / "run" / "diagonal.png")[..., :3]
    assert image.std() > 0.05 and image.shape[0] > image.shape[1] / 2  # two rows of panels, drawn
    again = kanpde.load(tmp_path / "run", problem=Diagonal())
    np.testing.assert_array_equal(again.test_predictions()["diagonal"], sol.test_predictions()["diagonal"])


class BadSets(Poisson2D):
    def __init__(self, sets):
        super().__init__()
        self.sets = sets

    def test_sets(self):
        return self.sets


@pytest.mark.parametrize("sets, message", [
    ({}, "BadSets.test_sets must return a non-empty dict of name -> TestSet"),
    ({"a b": NamedSet(np.zeros((2, 2)), np.zeros((2, 1)))}, "'a b' must be a plain name"),
    ({"line": NamedSet(np.zeros((2, 3)), np.zeros((2, 1)))}, r"its test set 'line' has points \(2, 3\)"),
])
def test_bad_test_sets_are_one_line_before_training(sets, message, tmp_path):
    with pytest.raises(KanpdeError, match=message):
        kanpde.solve(BadSets(sets), "kan_small", overrides=QUICK, run_dir=tmp_path / "run")
    assert not (tmp_path / "run").exists()


def test_the_lid_cavity_is_scored_on_ghias_centrelines():
    sets = LidCavity().test_sets()
    assert list(sets) == ["field", "ghia_u", "ghia_v", "fd_u", "fd_v"]
    assert [name for name, s in sets.items() if s.scored] == ["ghia_u", "ghia_v"]
    assert list(sets["ghia_u"].scored_points()) == [17, 0, 0] and list(sets["ghia_v"].scored_points()) == [0, 17, 0]
    assert list(sets["field"].scored_points()) == [101**2 - 2] * 3  # the lid corners, where p is infinite, left out
    u = sets["ghia_u"].values[201:, 0]
    assert u.min() == -0.21090 and np.all(sets["ghia_u"].points[:, 0] == 0.5)  # Table I, Re = 100
    # the finite-difference reference on the centrelines, scored as a prediction against Ghia
    for name, f in (("u", 0), ("v", 1)):
        fd, ghia = sets[f"fd_{name}"], sets[f"ghia_{name}"]
        along = 1 - f  # u varies along y on x = 0.5, v along x on y = 0.5
        pred = np.zeros_like(ghia.values)
        pred[:, f] = np.interp(ghia.points[:, along], fd.points[:, along], fd.values[:, f])
        assert ghia.max_abs_error(pred) < (6e-3 if name == "u" else 1.2e-2)  # Ghia's own error (tests/test_lid_cavity_reference.py)
    assert LidCavity(Re=400).test_sets()["ghia_v"].scored_points()[1] == 17
    other = LidCavity(Re=250).test_sets()
    assert list(other) == ["field", "ghia_u", "ghia_v"]
    assert not any(s.scored_points().any() for s in other.values())  # no table at Re = 250: nothing to score


@pytest.mark.slow
def test_a_lid_cavity_run_writes_its_centreline_figures(tmp_path):
    kanpde.solve("lid_cavity", "mlp_small", overrides=[*QUICK, "optim.ssbroyden.steps=5"], run_dir=tmp_path / "run")
    metrics = read_json(tmp_path / "run" / "metrics.json")
    assert metrics["status"] == "ok" and metrics["scored_points"] == {"u": 17, "v": 17, "p": 0}
    assert set(metrics["max_abs_error_fields"]) == {"u", "v"} and set(metrics["test_sets"]["fd_u"]["rms_error_fields"]) == {"u"}
    for name in ("ghia_u.png", "ghia_v.png", "fd_u.png", "solution_ghia_v.vtu", "solution.png"):
        assert (tmp_path / "run" / name).stat().st_size > 1000


def test_the_corner_flows_are_exact_stokes_flows():
    """corner_flow (Taylor's scraper, subtracted in the lid's corners): nu lap u = grad p and
    div u = 0 to round-off (autograd), u = speed on the sliding wall, u = 0 on the fixed one."""
    x = (torch.rand(500, 2, dtype=torch.float64) * 0.5 + 1e-3).requires_grad_(True)
    nu = 0.01
    fields = corner_flow(x[:, 0], x[:, 1], 0.7, nu)

    def grad(f):
        return torch.autograd.grad(f.sum(), x, create_graph=True)[0]

    (u_x, u_y), (v_x, v_y), (p_x, p_y) = (grad(f).unbind(1) for f in fields)
    lap_u = grad(u_x)[:, 0] + grad(u_y)[:, 1]
    lap_v = grad(v_x)[:, 0] + grad(v_y)[:, 1]
    scale = p_x.abs().max()
    assert (u_x + v_y).abs().max() < 1e-12
    assert (nu * lap_u - p_x).abs().max() < 1e-12 * scale and (nu * lap_v - p_y).abs().max() < 1e-12 * scale
    s = torch.linspace(0.01, 1, 9, dtype=torch.float64)
    wall_u, wall_v, _ = corner_flow(s, torch.zeros_like(s), 0.7, nu)  # sliding wall Y = 0
    assert torch.allclose(wall_u, torch.full_like(s, 0.7), atol=1e-14) and wall_v.abs().max() < 1e-14
    fixed_u, fixed_v, _ = corner_flow(torch.zeros_like(s), s, 0.7, nu)  # fixed wall X = 0
    assert fixed_u.abs().max() < 1e-14 and fixed_v.abs().max() < 1e-14
    # in the cavity both corner flows carry the lid's speed along the lid (g = 2); what is left to the
    # network, target - g, is continuous at the corners: -1 on the lid and about -1 on the walls next to them
    near = torch.tensor([[0.001, 1.0], [0.0, 0.999], [0.999, 1.0], [1.0, 0.999]], dtype=torch.float64)
    g = LidCavity().hard_constraint(near)[0][:, 0]
    assert torch.allclose(g[[0, 2]], torch.full((2,), 2.0, dtype=torch.float64)) and torch.allclose(0 - g[[1, 3]], 1 - g[[0, 2]], atol=3e-3)
