"""Domains and samplers: bounds, counts, determinism, boundary placement, normals."""
from __future__ import annotations

import numpy as np
import pytest

from kanpde.geometry import Box, Interval, Rectangle
from kanpde.sampling import METHODS, grid_points, sample_unit_cube


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("dim", [1, 2, 3])
def test_unit_cube_samples(method, dim):
    pts = sample_unit_cube(100, dim, method, seed=3)
    assert pts.shape == (100, dim) and pts.min() >= 0 and pts.max() <= 1
    assert np.array_equal(pts, sample_unit_cube(100, dim, method, seed=3))
    if method != "grid":
        assert not np.array_equal(pts, sample_unit_cube(100, dim, method, seed=4))
    assert len(np.unique(pts, axis=0)) == 100


def test_quasi_random_points_fill_the_square_more_evenly_than_random():
    from scipy.stats import qmc

    disc = {m: qmc.discrepancy(sample_unit_cube(256, 2, m, 0)) for m in ("sobol", "uniform")}
    assert disc["sobol"] < disc["uniform"]


def test_grid_points_are_c_ordered_and_include_ends():
    pts = grid_points((3, 2))
    assert np.array_equal(pts, [[0, 0], [0, 1], [0.5, 0], [0.5, 1], [1, 0], [1, 1]])


def test_box_boundary_points_lie_on_faces_in_proportion():
    box = Box([0, -1], [4, 1])  # faces x=0, x=4 have length 2; y=+-1 have length 4
    pts = box.sample_boundary(120, "sobol", 0)
    on_x = np.isclose(pts[:, 0], 0) | np.isclose(pts[:, 0], 4)
    on_y = np.isclose(pts[:, 1], -1) | np.isclose(pts[:, 1], 1)
    assert pts.shape == (120, 2) and np.all(on_x | on_y)
    assert on_x.sum() == 40 and on_y.sum() == 80
    normals = box.boundary_normal(pts)
    assert np.allclose(np.linalg.norm(normals, axis=1), 1)
    assert np.all(normals[np.isclose(pts[:, 0], 4), 0] == 1) and np.all(normals[np.isclose(pts[:, 1], -1), 1] == -1)


def test_interval_and_cube():
    line = Interval(-2, 3)
    assert sorted(set(line.sample_boundary(10)[:, 0])) == [-2, 3]
    cube = Box([0, 0, 0], [1, 1, 1])
    pts = cube.sample_boundary(60, "halton", 1)
    assert np.all(np.any(np.isclose(pts, 0) | np.isclose(pts, 1), axis=1))
    inner = cube.sample_interior(50, "lhs", 2)
    assert np.all((inner > 0) & (inner < 1))
    assert cube.grid((3, 4, 5)).shape == (60, 3)


def test_bad_boxes_are_refused():
    with pytest.raises(ValueError):
        Box([0, 1], [1, 0])
    with pytest.raises(ValueError):
        Rectangle([0], [1])
