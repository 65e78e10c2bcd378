"""VTU / XDMF export of solutions: points, point data and cell connectivity read back with meshio."""
from __future__ import annotations

import meshio
import numpy as np
import pytest
from kanpde.io.vtu import grid_cells, write_solution


def grid(*axes):
    """(N, d) points of the tensor grid of ``axes`` in C order, and its shape."""
    mesh = np.meshgrid(*axes, indexing="ij")
    return np.stack([m.ravel() for m in mesh], axis=1), tuple(len(a) for a in axes)


def fields_for(points):
    u = np.sin(points).sum(axis=1)
    u_ref = u + 0.01 * points[:, 0]
    return {"u": u, "u_ref": u_ref, "u_error": u - u_ref}


def check_points_and_data(mesh, points, fields):
    n, d = points.shape
    assert mesh.points.shape == (n, 3)
    np.testing.assert_array_equal(mesh.points[:, :d], points)
    np.testing.assert_array_equal(mesh.points[:, d:], 0.0)
    assert set(mesh.point_data) == set(fields)
    for name, values in fields.items():
        assert mesh.point_data[name].dtype == np.float64
        np.testing.assert_array_equal(mesh.point_data[name], values)


def quad_areas(points, cells):
    """Twice the signed area of each quad (cross product of its diagonals)."""
    p = points[cells]
    a, b = p[:, 2] - p[:, 0], p[:, 3] - p[:, 1]
    return a[:, 0] * b[:, 1] - a[:, 1] * b[:, 0]


def test_2d_grid_quads_counter_clockwise(tmp_path):
    points, shape = grid(np.linspace(0, 2, 11), np.linspace(-1, 1, 7) ** 3)
    fields = fields_for(points)
    written = write_solution(tmp_path / "solution.vtu", points, fields, grid_shape=shape)
    assert written == [tmp_path / "solution.vtu"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["solution.vtu"]
    mesh = meshio.read(written[0])
    check_points_and_data(mesh, points, fields)
    assert [block.type for block in mesh.cells] == ["quad"]
    quads = mesh.cells[0].data
    assert quads.shape == (10 * 6, 4)
    assert np.all(quad_areas(points, quads) > 0)
    # the quads tile the rectangle exactly
    np.testing.assert_allclose(0.5 * quad_areas(points, quads).sum(), 2.0 * 2.0)


def test_descending_axis_still_counter_clockwise():
    points, shape = grid(np.linspace(1, 0, 4), np.linspace(0, 1, 3))
    assert np.all(quad_areas(points, grid_cells(points, shape)) > 0)


def test_1d_grid_lines(tmp_path):
    points, shape = grid(np.linspace(-1, 1, 9))
    fields = fields_for(points)
    (path,) = write_solution(tmp_path / "line.vtu", points, fields, grid_shape=shape)
    mesh = meshio.read(path)
    check_points_and_data(mesh, points, fields)
    assert [block.type for block in mesh.cells] == ["line"]
    np.testing.assert_array_equal(mesh.cells[0].data, np.stack([np.arange(8), np.arange(1, 9)], axis=1))


def test_3d_grid_hexahedra_positive_volume(tmp_path):
    points, shape = grid(np.linspace(0, 1, 4), np.linspace(0, 2, 3), np.linspace(-1, 0, 5))
    fields = fields_for(points)
    (path,) = write_solution(tmp_path / "box.vtu", points, fields, grid_shape=shape)
    mesh = meshio.read(path)
    check_points_and_data(mesh, points, fields)
    assert [block.type for block in mesh.cells] == ["hexahedron"]
    hexes = mesh.cells[0].data
    assert hexes.shape == (3 * 2 * 4, 8)
    p = mesh.points[hexes]
    edges = np.stack([p[:, 1] - p[:, 0], p[:, 3] - p[:, 0], p[:, 4] - p[:, 0]], axis=1)
    volumes = np.linalg.det(edges)
    assert np.all(volumes > 0)
    np.testing.assert_allclose(volumes.sum(), 1.0 * 2.0 * 1.0)


def test_scattered_points_are_vertices(tmp_path):
    points = np.random.default_rng(0).uniform(size=(50, 2))
    fields = fields_for(points)
    (path,) = write_solution(tmp_path / "cloud.vtu", points, fields)
    mesh = meshio.read(path)
    check_points_and_data(mesh, points, fields)
    assert [block.type for block in mesh.cells] == ["vertex"]
    np.testing.assert_array_equal(mesh.cells[0].data.ravel(), np.arange(50))


@pytest.mark.parametrize("use_grid", [True, False])
def test_xdmf_round_trip_is_self_contained(tmp_path, use_grid):
    points, shape = grid(np.linspace(0, 1, 5), np.linspace(0, 3, 4))
    fields = fields_for(points)
    written = write_solution(
        tmp_path / "solution.vtu", points, fields, grid_shape=shape if use_grid else None, xdmf=True
    )
    assert written == [tmp_path / "solution.vtu", tmp_path / "solution.xdmf"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["solution.vtu", "solution.xdmf"]
    text = written[1].read_text()
    assert ".tmp-" not in text and ".h5" not in text and 'Format="XML"' in text
    mesh = meshio.read(written[1])
    check_points_and_data(mesh, points, fields)
    assert [block.type for block in mesh.cells] == (["quad"] if use_grid else ["vertex"])


@pytest.mark.parametrize(
    ("points", "fields", "grid_shape", "message"),
    [
        (np.zeros((6, 4)), {}, None, "points must have shape"),
        (np.zeros(6), {}, None, "points must have shape"),
        (np.zeros((6, 2)), {"u": np.zeros(5)}, None, "field 'u' has shape"),
        (np.zeros((6, 2)), {"u": np.zeros((6, 1))}, None, "field 'u' has shape"),
        (np.zeros((6, 2)), {}, (3, 3), "holds 9 points"),
        (np.zeros((6, 2)), {}, (6,), "has 1 axes"),
        (np.zeros((6, 2)), {}, (6, 1), "at least 2 points"),
    ],
)
def test_bad_shapes_raise_value_error(tmp_path, points, fields, grid_shape, message):
    with pytest.raises(ValueError, match=message):
        write_solution(tmp_path / "solution.vtu", points, fields, grid_shape=grid_shape)
    assert list(tmp_path.iterdir()) == []


def test_path_must_be_vtu(tmp_path):
    with pytest.raises(ValueError, match=r"\.vtu"):
        write_solution(tmp_path / "solution.xdmf", np.zeros((3, 1)), {})


def test_vtk_reader_opens_vtu(tmp_path):
    vtk = pytest.importorskip("vtk")
    points, shape = grid(np.linspace(0, 1, 11), np.linspace(0, 1, 7))
    (path,) = write_solution(tmp_path / "solution.vtu", points, fields_for(points), grid_shape=shape)
    reader = vtk.vtkXMLUnstructuredGridReader()
    reader.SetFileName(str(path))
    reader.Update()
    output = reader.GetOutput()
    assert output.GetNumberOfPoints() == 77 and output.GetNumberOfCells() == 60
    assert output.GetPointData().GetArray("u_error") is not None
