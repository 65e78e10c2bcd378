"""Export a solution sampled at points to ParaView files (VTU, optionally XDMF) with meshio.

Points are the problem's inputs, (N, d) with d in 1..3 (e.g. (x, y) or (x, t)), padded
with zeros to (N, 3). Fields are (N,) arrays written as float64 point data. On a
tensor-product grid the points are joined into lines, quads or hexahedra; otherwise each
point is a vertex cell (or, for a 2-D mesh, its triangles).
"""
from __future__ import annotations

from pathlib import Path

import meshio
import numpy as np

from .files import atomic_path

# Corner offsets of one grid cell, in VTK node order (counter-clockwise, then the top face).
_CORNERS: dict[int, list[tuple[int, ...]]] = {
    1: [(0,), (1,)],
    2: [(0, 0), (1, 0), (1, 1), (0, 1)],
    3: [(0, 0, 0), (1, 0, 0), (1, 1, 0), (0, 1, 0), (0, 0, 1), (1, 0, 1), (1, 1, 1), (0, 1, 1)],
}
_CELL_TYPES = {1: "line", 2: "quad", 3: "hexahedron"}
# Node permutations that reverse a cell's orientation (mirror it), per dimension.
_MIRROR = {2: [0, 3, 2, 1], 3: [0, 3, 2, 1, 4, 7, 6, 5]}


def write_solution(
    path: str | Path,
    points: np.ndarray,
    fields: dict[str, np.ndarray],
    grid_shape: tuple[int, ...] | None = None,
    xdmf: bool = False,
    triangles: np.ndarray | None = None,
) -> list[Path]:
    """Write ``points`` and ``fields`` to the binary VTU file ``path``, atomically.

    ``points``: (N, d) with d in 1..3. ``fields``: name -> (N,) array. ``grid_shape``: the
    shape of a tensor-product grid whose points are in C order
    (``np.meshgrid(*axes, indexing="ij")`` raveled), giving line/quad/hexahedron cells;
    ``triangles`` (M, 3) point indices (a 2-D mesh) give triangle cells instead; with neither,
    every point is a vertex cell. With ``xdmf=True`` the same mesh is also
    written to ``path.with_suffix(".xdmf")`` with its data inline (one self-contained file).
    Returns the written paths. Raises ValueError on mismatched shapes.
    """
    path = Path(path)
    if path.suffix != ".vtu":
        raise ValueError(f"solution file must end in .vtu, got {path}")
    points = np.asarray(points, dtype=np.float64)
    if points.ndim != 2 or not 1 <= points.shape[1] <= 3:
        raise ValueError(f"points must have shape (N, d) with d in 1..3, got {points.shape}")
    n, d = points.shape
    point_data = {}
    for name, values in fields.items():
        values = np.asarray(values, dtype=np.float64)
        if values.shape != (n,):
            raise ValueError(f"field {name!r} has shape {values.shape}, expected ({n},) to match points")
        point_data[name] = values
    if grid_shape is not None:
        cells = [(_CELL_TYPES[d], grid_cells(points, grid_shape))]
    elif triangles is not None:
        cells = [("triangle", np.asarray(triangles, dtype=np.int64))]
    else:
        cells = [("vertex", np.arange(n).reshape(n, 1))]
    padded = np.zeros((n, 3))
    padded[:, :d] = points
    mesh = meshio.Mesh(padded, cells, point_data=point_data)

    with atomic_path(path) as tmp:
        meshio.write(tmp, mesh, file_format="vtu", binary=True)
    written = [path]
    if xdmf:
        xdmf_path = path.with_suffix(".xdmf")
        with atomic_path(xdmf_path) as tmp:
            meshio.write(tmp, mesh, file_format="xdmf", data_format="XML")
        written.append(xdmf_path)
    return written


def grid_cells(points: np.ndarray, grid_shape: tuple[int, ...]) -> np.ndarray:
    """Cells of a tensor-product grid: (n_cells, 2**d) point indices in VTK node order.

    ``points``: (N, d) grid points in C order, N = prod(grid_shape). Cells are oriented so
    that quads have positive signed area and hexahedra positive volume, whichever way the
    grid axes run.
    """
    n, d = points.shape
    shape = tuple(int(s) for s in grid_shape)
    if len(shape) != d:
        raise ValueError(f"grid_shape {shape} has {len(shape)} axes but points have d={d}")
    if int(np.prod(shape)) != n:
        raise ValueError(f"grid_shape {shape} holds {int(np.prod(shape))} points but there are {n}")
    if min(shape) < 2:
        raise ValueError(f"grid_shape {shape} needs at least 2 points per axis to form cells")
    index = np.arange(n).reshape(shape)
    cells = np.stack(
        [index[tuple(slice(o, s - 1 + o) for o, s in zip(offset, shape))].ravel() for offset in _CORNERS[d]],
        axis=1,
    )
    if d > 1:
        flip = _orientation(points, cells) < 0
        cells[flip] = cells[flip][:, _MIRROR[d]]
    return cells


def _orientation(points: np.ndarray, cells: np.ndarray) -> np.ndarray:
    """Per-cell orientation: twice the signed area of quads, or the signed volume
    (edges from node 0 to nodes 1, 3, 4) of hexahedra. Returns (n_cells,)."""
    p = points[cells]  # (n_cells, nodes, d)
    if points.shape[1] == 2:
        a, b = p[:, 2] - p[:, 0], p[:, 3] - p[:, 1]
        return a[:, 0] * b[:, 1] - a[:, 1] * b[:, 0]
    edges = np.stack([p[:, 1] - p[:, 0], p[:, 3] - p[:, 0], p[:, 4] - p[:, 0]], axis=1)
    return np.linalg.det(edges)
