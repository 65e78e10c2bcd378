"""A 2-D domain given by a triangle mesh file (any format meshio reads: .msh, .vtu, ...)."""
from __future__ import annotations

import contextlib
import io
from pathlib import Path

import numpy as np

from ..errors import KanpdeError
from .base import Domain, segment_distance
from .sampling import sample_unit_cube

CORNERS = {"triangle": 3, "triangle6": 3, "triangle7": 3, "quad": 4, "quad8": 4, "quad9": 4}  # meshio cell types


def read_triangles(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Points (N, 2) (z dropped) and triangles (M, 3) of a mesh file, quads split along their
    0-2 diagonal, other cells ignored. A missing or unreadable file is a one-line KanpdeError."""
    import meshio

    if path.is_dir():
        raise KanpdeError(f"mesh file {path} is a directory, not a mesh file")
    if not path.is_file():
        raise KanpdeError(f"mesh file {path} does not exist")
    said = io.StringIO()  # meshio prints why it failed, and exits for some files
    try:
        with contextlib.redirect_stdout(said), contextlib.redirect_stderr(said):
            mesh = meshio.read(path)
    except (Exception, SystemExit) as err:
        text = str(err) if isinstance(err, Exception) else said.getvalue().replace("Error:", "")
        raise KanpdeError(f"cannot read mesh file {path}: {' '.join(text.split()) or type(err).__name__}") from err
    triangles = [np.zeros((0, 3), dtype=np.int64)]
    for block in mesh.cells:
        corners = block.data[:, : CORNERS.get(block.type, 0)]
        if corners.shape[1] == 4:
            corners = np.concatenate([corners[:, [0, 1, 2]], corners[:, [0, 2, 3]]])
        if corners.shape[1] == 3:
            triangles.append(corners)
    points, cells = np.asarray(mesh.points, dtype=float)[:, :2], np.concatenate(triangles).astype(np.int64)
    bad = (cells < 0) | (cells >= len(points))
    if bad.any():
        cell = int(np.nonzero(bad.any(axis=1))[0][0])
        raise KanpdeError(f"mesh file {path}: triangle {cell} uses vertex {int(cells[bad][0])}, but the file has "
                          f"{len(points)} vertices (0 to {len(points) - 1})")
    return points, cells


class MeshDomain(Domain):
    """The union of a 2-D mesh's triangles (quads split in two; line and vertex cells ignored;
    a z coordinate dropped). One boundary part, "boundary": the facets (edges) that belong to
    exactly one triangle.

    ``points`` (N, 2) are the vertices the cells use, ``cells`` (M, 3) the counter-clockwise
    triangles as indices into ``points``, ``facets`` (F, 2) the boundary edges as directed in
    their triangle, with outward unit ``facet_normals`` (F, 2) (away from the third vertex).
    Interior samples: with (u, v, w) in [0, 1)^3, u picks triangle j by the inverse CDF of the
    areas, and A + sqrt(v) ((1 - w)(B - A) + w (C - A)) is uniform in triangle ABC. Boundary
    samples: s in [0, 1) picks a point by arc length along the facets.
    """

    dim = 2

    def __init__(self, path: str | Path):
        self.path = Path(path)
        points, triangles = read_triangles(self.path)
        cells, self.areas = self._oriented(points, triangles)
        if not len(cells):
            raise KanpdeError(f"mesh file {self.path} has no 2-D cells (triangles or quads)")
        used, cells = np.unique(cells, return_inverse=True)  # keep only the vertices cells use
        self.points, self.cells = points[used], cells.reshape(-1, 3)
        self._tri_finder = self._finder()
        self._boundary_facets()

    @staticmethod
    def _oriented(points: np.ndarray, cells: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Triangles (M, 3) made counter-clockwise with zero-area ones dropped, and their areas."""
        a, b, c = (points[cells[:, i]] for i in range(3))
        signed = 0.5 * ((b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0]))
        keep = signed != 0
        return np.where((signed < 0)[:, None], cells[:, [0, 2, 1]], cells)[keep], np.abs(signed[keep])

    def _finder(self):
        """matplotlib's trapezoid-map point locator: (x (n,), y (n,)) -> (n,) triangle or -1."""
        from matplotlib.tri import Triangulation

        try:
            return Triangulation(self.points[:, 0], self.points[:, 1], self.cells).get_trifinder()
        except (RuntimeError, ValueError) as err:
            raise KanpdeError(f"mesh file {self.path} has overlapping or invalid triangles: {err}") from err

    def _boundary_facets(self) -> None:
        """Boundary facets (F, 2), their lengths (F,), outward unit normals (F, 2) and end points."""
        edges = np.concatenate([self.cells[:, [0, 1]], self.cells[:, [1, 2]], self.cells[:, [2, 0]]])
        _, inverse, counts = np.unique(np.sort(edges, axis=1), axis=0, return_inverse=True, return_counts=True)
        self.facets = edges[counts[inverse.reshape(-1)] == 1]
        start, end = self.points[self.facets[:, 0]], self.points[self.facets[:, 1]]
        d = end - start
        self.facet_lengths = np.linalg.norm(d, axis=1)
        self.facet_normals = np.stack([d[:, 1], -d[:, 0]], axis=1) / self.facet_lengths[:, None]
        self._facet_ends = (start, end)

    @property
    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        return self.points.min(axis=0), self.points.max(axis=0)

    def measure(self) -> float:
        return float(self.areas.sum())

    def boundary_measure(self, part: str = "boundary") -> float:
        self.check_part(part)
        return float(self.facet_lengths.sum())

    @staticmethod
    def _pick(weights: np.ndarray, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Inverse CDF: for u (n,) in [0, 1), the index j with cum[j-1] <= u total < cum[j] and
        the position (u total - cum[j-1]) / weights[j] in [0, 1] within it."""
        cum = np.cumsum(weights)
        s = u * cum[-1]
        j = np.minimum(np.searchsorted(cum, s, side="right"), len(weights) - 1)
        return j, np.clip((s - (cum[j] - weights[j])) / weights[j], 0.0, 1.0)

    def sample_interior(self, n: int, method: str = "sobol", seed: int = 0) -> np.ndarray:
        u = sample_unit_cube(n, 3, method, seed)
        j, _ = self._pick(self.areas, u[:, 0])
        a, b, c = (self.points[self.cells[j, i]] for i in range(3))
        r, w = np.sqrt(u[:, 1:2]), u[:, 2:3]
        return a + r * ((1 - w) * (b - a) + w * (c - a))

    def sample_boundary(self, n: int, method: str = "sobol", seed: int = 0, part: str = "boundary") -> np.ndarray:
        self.check_part(part)
        j, t = self._pick(self.facet_lengths, sample_unit_cube(n, 1, method, seed)[:, 0])
        start, end = self._facet_ends
        return start[j] + t[:, None] * (end[j] - start[j])

    def boundary_normal(self, x: np.ndarray) -> np.ndarray:
        """Outward normal of the nearest boundary facet (at a corner, the first nearest one)."""
        x = np.asarray(x, dtype=float).reshape(-1, 2)
        return self.facet_normals[np.argmin(segment_distance(x, *self._facet_ends), axis=1)]

    def _contains(self, x: np.ndarray, tol: float) -> np.ndarray:
        """In a triangle (matplotlib's trapezoid-map finder), then points within |tol| of a
        boundary facet added (tol >= 0) or removed (tol < 0)."""
        inside = self._tri_finder(x[:, 0], x[:, 1]) >= 0
        near = segment_distance(x, *self._facet_ends).min(axis=1) <= abs(tol)
        return inside | near if tol >= 0 else inside & ~near

    def test_points(self, n_per_axis: int) -> tuple[np.ndarray, tuple[int, ...] | None]:
        """The mesh's vertices (N, 2) (n_per_axis is ignored), and None."""
        return self.points.copy(), None
