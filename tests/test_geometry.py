"""Domains and samplers: bounds, counts, determinism, boundary placement, normals."""
from __future__ import annotations

from importlib import resources
from pathlib import Path

import meshio
import numpy as np
import pytest
from kanpde.errors import KanpdeError
from kanpde.geometry import Box, Difference, Disk, Interval, MeshDomain, Polygon, Rectangle, SpaceTime
from kanpde.geometry.sampling import SAMPLERS, grid_points, sample_unit_cube
from matplotlib.path import Path as MplPath


@pytest.mark.parametrize("method", SAMPLERS.names())
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


# --- Disk, Polygon, Difference, MeshDomain, SpaceTime and the shared Domain API -------------------

MESH = Path(str(resources.files("kanpde.problems") / "data" / "plate_with_hole.msh"))
HOLE, R = np.array([0.6, 0.5]), 0.25
ARROW = [[0, 0], [0, 2], [1, 1], [2, 2], [2, 0]]  # clockwise, with a reflex vertex at (1, 1)
L_EDGES = [[-1, -1], [1, -1], [1, 0], [0, 0], [0, 1], [-1, 1]]  # the L-shape's 6 corners


def edge_distance(x: np.ndarray, corners, closed: bool = True) -> np.ndarray:
    """(n,) distance from x (n, 2) to the polygonal line through corners (independent code)."""
    c = np.asarray(corners, dtype=float)
    best = np.full(len(x), np.inf)
    for a, b in zip(c, np.roll(c, -1, axis=0)[: len(c) if closed else len(c) - 1]):
        t = np.clip(((x - a) @ (b - a)) / ((b - a) @ (b - a)), 0, 1)
        best = np.minimum(best, np.linalg.norm(x - a - t[:, None] * (b - a), axis=1))
    return best


def mesh_facet_distance(m: MeshDomain, x: np.ndarray) -> np.ndarray:
    return np.min([edge_distance(x, m.points[f], closed=False) for f in m.facets], axis=0)


@pytest.fixture(scope="module")
def mesh():
    return MeshDomain(MESH)


def box_dist(lo, hi):
    return lambda x: np.minimum(np.abs(x - lo), np.abs(x - hi)).min(axis=1)


# name -> (domain, strictly inside the exact shape (n,) bool, distance to the exact boundary (n,))
CASES = {
    "box": (lambda: Box([0, -1], [2, 1]), lambda x: np.all((x > [0, -1]) & (x < [2, 1]), axis=1),
            box_dist(np.array([0, -1]), np.array([2, 1]))),
    "disk": (lambda: Disk([0.5, -0.2], 0.7), lambda x: np.linalg.norm(x - [0.5, -0.2], axis=1) < 0.7,
             lambda x: np.abs(np.linalg.norm(x - [0.5, -0.2], axis=1) - 0.7)),
    "polygon": (lambda: Polygon(ARROW), lambda x: MplPath(ARROW).contains_points(x) & (edge_distance(x, ARROW) > 0),
                lambda x: edge_distance(x, ARROW)),
    "lshape": (lambda: Difference(Box([-1, -1], [1, 1]), Box([0, 0], [1, 1])),
               lambda x: MplPath(L_EDGES).contains_points(x) & (edge_distance(x, L_EDGES) > 0),
               lambda x: edge_distance(x, L_EDGES)),
    "mesh": (lambda: MeshDomain(MESH), lambda x: np.all((x > 0) & (x < [2, 1]), axis=1)
             & (np.linalg.norm(x - HOLE, axis=1) > 0.99 * R), None),
    "heat": (lambda: SpaceTime(Interval(0, 1), 0, 2), lambda x: np.all((x > 0) & (x < [1, 2]), axis=1),
             lambda x: np.minimum(x[:, 0], 1 - x[:, 0])),
    "disk_time": (lambda: SpaceTime(Disk([0, 0], 1), -1, 1), lambda x: (np.linalg.norm(x[:, :2], axis=1) < 1)
                  & (np.abs(x[:, 2]) < 1), lambda x: np.abs(np.linalg.norm(x[:, :2], axis=1) - 1)),
}


@pytest.mark.parametrize("name", CASES)
def test_domain_samples_and_normals(name):
    make, strictly_inside, boundary_distance = CASES[name]
    domain = make()
    inner = domain.sample_interior(1000, "sobol", 1)
    assert inner.shape == (1000, domain.dim) and np.array_equal(inner, domain.sample_interior(1000, "sobol", 1))
    assert not np.array_equal(inner, domain.sample_interior(1000, "sobol", 2))
    assert np.all(domain.contains(inner)) and np.all(strictly_inside(inner))
    lo, hi = domain.bounds
    assert np.all(inner >= lo) and np.all(inner <= hi) and domain.parts[0] == "boundary"
    for part in domain.parts:
        x = domain.sample_boundary(301, "halton", 3, part)
        assert x.shape == (301, domain.dim) and np.array_equal(x, domain.sample_boundary(301, "halton", 3, part))
        assert np.all(domain.contains(x)) and not np.any(domain.contains(x, -1e-9)), part
        if part not in ("initial", "final"):
            d = mesh_facet_distance(domain, x) if name == "mesh" else boundary_distance(x)
            assert d.max() < 1e-12, part
        n = domain.boundary_normal(x)
        assert np.allclose(np.linalg.norm(n, axis=1), 1), part
        assert not np.any(domain.contains(x + 1e-6 * n)) and np.all(domain.contains(x - 1e-6 * n)), part
    for method in ("grid", "uniform", "lhs"):
        assert domain.sample_interior(37, method, 0).shape == (37, domain.dim)
        assert domain.sample_boundary(37, method, 0).shape == (37, domain.dim)
    with pytest.raises(ValueError, match=r"^no boundary part 'nope'; parts: boundary"):
        domain.sample_boundary(5, part="nope")


def test_part_names_and_bad_part_message():
    assert Rectangle([0, 0], [1, 1]).parts == ("boundary", "x_lo", "x_hi", "y_lo", "y_hi")
    assert Interval(0, 1, name="r").parts == ("boundary", "r_lo", "r_hi")
    assert Box([0] * 4, [1] * 4).parts[1:3] == ("x0_lo", "x0_hi")
    assert Polygon([[0, 0], [1, 0], [0, 1]]).parts == ("boundary", "edge0", "edge1", "edge2")
    assert SpaceTime(Rectangle([0, 0], [1, 1]), 0, 1).parts == (
        "boundary", "x_lo", "x_hi", "y_lo", "y_hi", "initial", "final")
    with pytest.raises(ValueError) as err:
        Disk([0, 0], 1).sample_boundary(4, part="x_lo")
    assert str(err.value) == "no boundary part 'x_lo'; parts: boundary"


def test_box_faces_and_polygon_edges_make_up_the_boundary():
    box = Rectangle([0, 0], [3, 1])
    assert np.all(box.sample_boundary(20, part="x_hi")[:, 0] == 3)
    assert np.all(box.sample_boundary(20, part="y_lo")[:, 1] == 0)
    poly = Polygon(ARROW)  # stored counter-clockwise: (2, 0), (2, 2), (1, 1), (0, 2), (0, 0)
    assert np.array_equal(poly.vertices[0], [2, 0]) and poly.measure() == 3
    assert np.allclose(poly.sample_boundary(50, part="edge0")[:, 0], 2)
    x = poly.sample_boundary(1000)
    on_edge = np.stack([edge_distance(x, poly.vertices[[i, (i + 1) % 5]], closed=False) < 1e-12 for i in range(5)])
    assert np.all(on_edge.any(axis=0))
    assert np.allclose(on_edge.sum(axis=1) / 1000, poly.lengths / poly.lengths.sum(), atol=2e-3)


def test_l_shape_outer_and_inner_parts():
    lshape = CASES["lshape"][0]()
    assert np.isclose(lshape.measure(), 3, atol=1e-2) and np.isclose(lshape.boundary_measure("outer"), 6, atol=1e-2)
    assert np.isclose(lshape.boundary_measure("inner"), 2, atol=1e-2)
    outer, inner = lshape.sample_boundary(150, part="outer"), lshape.sample_boundary(50, part="inner")
    assert edge_distance(outer, [[1, 0], [1, -1], [-1, -1], [-1, 1], [0, 1]], closed=False).max() < 1e-12
    assert edge_distance(inner, [[0, 1], [0, 0], [1, 0]], closed=False).max() < 1e-12
    assert np.allclose(lshape.boundary_normal(np.array([[0, 0.5], [0.5, 0], [1, -0.5], [-0.5, 1]])),
                       [[1, 0], [0, 1], [1, 0], [0, 1]])
    x = lshape.sample_boundary(200)
    assert np.sum(np.all(x >= -1e-12, axis=1) & (np.abs(x).min(axis=1) < 1e-12)) == 50  # 2 : 6 of the length


def test_space_time_parts_normals_and_test_points():
    heat = SpaceTime(Interval(0, 1), 0, 2)
    assert np.all(heat.sample_boundary(20, part="initial")[:, 1] == 0)
    assert np.all(heat.sample_boundary(20, part="final")[:, 1] == 2)
    assert set(heat.sample_boundary(20)[:, 0]) == {0.0, 1.0} and np.all(heat.sample_boundary(9, part="x_hi")[:, 0] == 1)
    assert np.array_equal(heat.boundary_normal(np.array([[0.5, 0], [0.5, 2], [1, 1]])), [[0, -1], [0, 1], [1, 0]])
    x, shape = heat.test_points(5)
    assert shape == (5, 5) and x.shape == (25, 2) and np.array_equal(x[:2], [[0, 0], [0, 0.5]])
    disk_time = SpaceTime(Disk([0, 0], 1), 0, 1)
    xs, _ = Disk([0, 0], 1).test_points(9)
    x, shape = disk_time.test_points(9)
    assert shape is None and x.shape == (9 * len(xs), 3) and np.all(disk_time.contains(x))
    lo, hi = disk_time.bounds
    assert np.array_equal(lo, [-1, -1, 0]) and np.array_equal(hi, [1, 1, 1])


def test_test_points():
    x, shape = Box([0, 0, 0], [1, 2, 3]).test_points(4)
    assert shape == (4, 4, 4) and x.shape == (64, 3)
    x, shape = Disk([0, 0], 1).test_points(21)
    assert shape is None and np.all(np.linalg.norm(x, axis=1) <= 1 + 1e-12) and len(x) > 0.7 * 21**2


def test_mesh_domain_reads_the_shipped_plate(mesh):
    hole = np.linalg.norm(mesh.points - HOLE, axis=1)
    n_hole = np.sum(np.isclose(hole, R, atol=1e-9))
    polygon_hole = 0.5 * n_hole * R**2 * np.sin(2 * np.pi / n_hole)  # the inscribed polygon's area
    assert mesh.measure() == pytest.approx(2 - polygon_hole, abs=1e-9)
    assert mesh.measure() == pytest.approx(2 - np.pi / 16, abs=2e-3)
    assert mesh.boundary_measure() == pytest.approx(6 + np.pi / 2, abs=5e-3)
    assert 1000 <= len(mesh.cells) <= 3000 and mesh.cells.max() == len(mesh.points) - 1
    assert MESH.stat().st_size < 300_000
    x, shape = mesh.test_points(101)
    assert shape is None and np.array_equal(x, mesh.points)
    b = mesh.sample_boundary(2000)
    on_circle = np.abs(np.linalg.norm(b - HOLE, axis=1) - R) < 1e-3
    assert np.mean(on_circle) == pytest.approx(np.pi / 2 / (6 + np.pi / 2), abs=0.01)
    assert np.allclose(mesh.boundary_normal(np.array([[1.0, 0.0], [2.0, 0.3], [0.35, 0.5]])),
                       [[0, -1], [1, 0], [1, 0]], atol=1e-2)


def test_mesh_domain_splits_quads(tmp_path):
    points = np.array([[0, 0, 0], [1, 0, 0], [2, 0, 0], [0, 1, 0], [1, 1, 0], [2, 1, 0]], dtype=float)
    path = tmp_path / "quads.vtu"
    meshio.write(path, meshio.Mesh(points, [("quad", np.array([[0, 1, 4, 3], [1, 2, 5, 4]])), ("line", [[0, 1]])]))
    quads = MeshDomain(path)
    assert quads.cells.shape == (4, 3) and quads.measure() == pytest.approx(2)
    assert quads.boundary_measure() == pytest.approx(6) and len(quads.facets) == 6
    assert np.all(quads.contains(quads.sample_interior(100))) and quads.points.shape == (6, 2)


def test_mesh_domain_errors_name_the_file(tmp_path):
    with pytest.raises(KanpdeError, match=r"mesh file .*nothere\.msh does not exist"):
        MeshDomain(tmp_path / "nothere.msh")
    garbage = tmp_path / "garbage.msh"
    garbage.write_text("this is not a mesh\n")
    with pytest.raises(KanpdeError, match=r"cannot read mesh file .*garbage\.msh") as err:
        MeshDomain(garbage)
    assert "\n" not in str(err.value)
    lines = tmp_path / "lines.vtu"
    meshio.write(lines, meshio.Mesh(np.array([[0.0, 0, 0], [1, 0, 0], [1, 1, 0]]), [("line", np.array([[0, 1], [1, 2]]))]))
    with pytest.raises(KanpdeError, match=r"lines\.vtu has no 2-D cells \(triangles or quads\)$"):
        MeshDomain(lines)


def test_mesh_domain_refuses_a_directory_and_a_missing_vertex(tmp_path):
    with pytest.raises(KanpdeError, match=rf"^mesh file {tmp_path} is a directory, not a mesh file$"):
        MeshDomain(tmp_path)
    broken = tmp_path / "broken.vtu"
    points = np.array([[0.0, 0, 0], [1, 0, 0], [1, 1, 0]])
    meshio.write(broken, meshio.Mesh(points, [("triangle", np.array([[0, 1, 2], [0, 2, 7]]))]))
    with pytest.raises(KanpdeError, match=r"broken\.vtu: triangle 1 uses vertex 7, but the file has 3 vertices"):
        MeshDomain(broken)
