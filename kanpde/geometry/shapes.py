"""Non-box domains: a disk, a simple polygon, and the difference a minus b of two domains."""
from __future__ import annotations

from typing import Sequence

import numpy as np

from .base import Domain, rejection, segment_distance, split_counts
from .sampling import sample_unit_cube

N_ESTIMATE = 4096  # points of the fixed (sobol, seed 0) samples that estimate a Difference's measures


class Disk(Domain):
    """The closed disk |x - center| <= radius in R^2; one boundary part, "boundary" (the circle).

    Interior: (u, v) in [0, 1)^2 -> center + R sqrt(u) (cos 2 pi v, sin 2 pi v), which maps
    uniform density to uniform density (area-preserving). Boundary: angle 2 pi s, s in [0, 1).
    """

    dim = 2

    def __init__(self, center: Sequence[float], radius: float):
        self.center = np.asarray(center, dtype=float).reshape(-1)
        self.radius = float(radius)
        if self.center.shape != (2,) or not self.radius > 0:
            raise ValueError(f"Disk needs a 2-D center and a radius > 0, got center={center}, radius={radius}")

    @property
    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        return self.center - self.radius, self.center + self.radius

    def measure(self) -> float:
        return np.pi * self.radius**2

    def boundary_measure(self, part: str = "boundary") -> float:
        self.check_part(part)
        return 2 * np.pi * self.radius

    def _polar(self, r: np.ndarray, theta: np.ndarray) -> np.ndarray:
        return self.center + np.stack([r * np.cos(theta), r * np.sin(theta)], axis=1)

    def sample_interior(self, n: int, method: str = "sobol", seed: int = 0) -> np.ndarray:
        u = sample_unit_cube(n, 2, method, seed)
        return self._polar(self.radius * np.sqrt(u[:, 0]), 2 * np.pi * u[:, 1])

    def sample_boundary(self, n: int, method: str = "sobol", seed: int = 0, part: str = "boundary") -> np.ndarray:
        self.check_part(part)
        return self._polar(np.full(n, self.radius), 2 * np.pi * sample_unit_cube(n, 1, method, seed)[:, 0])

    def boundary_normal(self, x: np.ndarray) -> np.ndarray:
        """Radial unit vectors (x - center) / |x - center|."""
        d = np.asarray(x, dtype=float).reshape(-1, 2) - self.center
        return d / np.linalg.norm(d, axis=1, keepdims=True)

    def _contains(self, x: np.ndarray, tol: float) -> np.ndarray:
        return np.linalg.norm(x - self.center, axis=1) <= self.radius + tol


class Polygon(Domain):
    """A closed simple polygon in R^2 (vertices in either orientation, stored counter-clockwise).

    ``vertices`` (k, 2) is the stored order; edge i runs from vertices[i] to vertices[(i+1) % k],
    and the parts are "boundary", "edge0", ..., f"edge{k-1}". Interior points come from the
    bounding box's sample by rejection; boundary points are spread over the edges in proportion
    to their length. Self-intersection is not checked.
    """

    dim = 2

    def __init__(self, vertices: Sequence[Sequence[float]]):
        v = np.asarray(vertices, dtype=float)
        if v.ndim != 2 or v.shape[1] != 2 or len(v) < 3:
            raise ValueError(f"Polygon needs (k, 2) vertices with k >= 3, got shape {v.shape}")
        x, y = v[:, 0], v[:, 1]
        signed = 0.5 * float(np.sum(x * np.roll(y, -1) - np.roll(x, -1) * y))  # shoelace
        if signed == 0:
            raise ValueError("Polygon has zero area")
        self.vertices = v if signed > 0 else v[::-1].copy()
        self.area = abs(signed)
        self.ends = np.roll(self.vertices, -1, axis=0)  # (k, 2): edge i is vertices[i] -> ends[i]
        edge = self.ends - self.vertices
        self.lengths = np.linalg.norm(edge, axis=1)
        self.normals = np.stack([edge[:, 1], -edge[:, 0]], axis=1) / self.lengths[:, None]  # outward (CCW)

    @property
    def parts(self) -> tuple[str, ...]:
        return ("boundary", *(f"edge{i}" for i in range(len(self.vertices))))

    @property
    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        return self.vertices.min(axis=0), self.vertices.max(axis=0)

    def measure(self) -> float:
        return self.area

    def boundary_measure(self, part: str = "boundary") -> float:
        self.check_part(part)
        return float(self.lengths.sum() if part == "boundary" else self.lengths[self.parts.index(part) - 1])

    def sample_interior(self, n: int, method: str = "sobol", seed: int = 0) -> np.ndarray:
        lo, hi = self.bounds
        return rejection(lambda m: lo + (hi - lo) * sample_unit_cube(m, 2, method, seed),
                         lambda x: self.contains(x, -self.default_tol()), n,
                         self.area / float(np.prod(hi - lo)), "a Polygon's interior")

    def _sample_edge(self, edge: int, n: int, method: str, seed: int) -> np.ndarray:
        s = sample_unit_cube(n, 1, method, seed + 7919 * edge)
        return self.vertices[edge] + s * (self.ends[edge] - self.vertices[edge])

    def sample_boundary(self, n: int, method: str = "sobol", seed: int = 0, part: str = "boundary") -> np.ndarray:
        self.check_part(part)
        if part != "boundary":
            return self._sample_edge(self.parts.index(part) - 1, n, method, seed)
        counts = split_counts(n, self.lengths)
        return np.concatenate([self._sample_edge(i, c, method, seed) for i, c in enumerate(counts)])

    def boundary_normal(self, x: np.ndarray) -> np.ndarray:
        """Outward normal of the nearest edge (at a vertex, the first nearest one)."""
        x = np.asarray(x, dtype=float).reshape(-1, 2)
        return self.normals[np.argmin(segment_distance(x, self.vertices, self.ends), axis=1)]

    def _contains(self, x: np.ndarray, tol: float) -> np.ndarray:
        """Even-odd rule (a horizontal ray to +x crosses the boundary an odd number of times),
        then points within |tol| of an edge added (tol >= 0) or removed (tol < 0)."""
        (xa, ya), (xb, yb) = self.vertices.T[:, None, :], self.ends.T[:, None, :]  # (1, k) each
        px, py = x[:, :1], x[:, 1:]  # (n, 1)
        straddles = (ya > py) != (yb > py)
        with np.errstate(divide="ignore", invalid="ignore"):
            crossing = px < xa + (py - ya) * (xb - xa) / (yb - ya)
        inside = np.count_nonzero(straddles & crossing, axis=1) % 2 == 1
        near = segment_distance(x, self.vertices, self.ends).min(axis=1) <= abs(tol)
        return inside | near if tol >= 0 else inside & ~near


class Difference(Domain):
    """The closure of a minus b (any dimension; b may reach outside a).

    Parts: "boundary" = "outer" + "inner"; "outer" is a's boundary outside b, with a's outward
    normal; "inner" is b's boundary inside a, with MINUS b's outward normal. Samples come from
    a's (interior, outer) or b's (inner) samples by rejection; the measures of the domain and of
    both parts are estimated once from fixed samples of N_ESTIMATE points (the share that
    survives times a's or b's measure), and "boundary" splits n in proportion to them.
    """

    def __init__(self, a: Domain, b: Domain):
        if a.dim != b.dim:
            raise ValueError(f"Difference needs domains of one dimension, got {a.dim} and {b.dim}")
        self.a, self.b, self.dim = a, b, a.dim
        tol = self.default_tol()
        self._outer_share = float(np.mean(self._keep_outer(a.sample_boundary(N_ESTIMATE, "sobol", 0))))
        self._inner_share = float(np.mean(self._keep_inner(b.sample_boundary(N_ESTIMATE, "sobol", 0))))
        self._area_share = float(np.mean(~b.contains(a.sample_interior(N_ESTIMATE, "sobol", 0), tol)))

    def _keep_outer(self, x: np.ndarray) -> np.ndarray:
        return ~self.b.contains(x, self.default_tol())

    def _keep_inner(self, x: np.ndarray) -> np.ndarray:
        return self.a.contains(x, -self.default_tol())

    @property
    def parts(self) -> tuple[str, ...]:
        return ("boundary", "outer", "inner")

    @property
    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        return self.a.bounds

    def measure(self) -> float:
        return self.a.measure() * self._area_share

    def boundary_measure(self, part: str = "boundary") -> float:
        self.check_part(part)
        outer = self.a.boundary_measure() * self._outer_share
        inner = self.b.boundary_measure() * self._inner_share
        return {"boundary": outer + inner, "outer": outer, "inner": inner}[part]

    def sample_interior(self, n: int, method: str = "sobol", seed: int = 0) -> np.ndarray:
        return rejection(lambda m: self.a.sample_interior(m, method, seed), self._keep_outer, n,
                         self._area_share, "a Difference's interior")

    def sample_boundary(self, n: int, method: str = "sobol", seed: int = 0, part: str = "boundary") -> np.ndarray:
        self.check_part(part)
        if part == "outer":
            return rejection(lambda m: self.a.sample_boundary(m, method, seed), self._keep_outer, n,
                             self._outer_share, "a Difference's outer boundary")
        if part == "inner":
            return rejection(lambda m: self.b.sample_boundary(m, method, seed), self._keep_inner, n,
                             self._inner_share, "a Difference's inner boundary")
        n_outer, n_inner = split_counts(n, [self.boundary_measure("outer"), self.boundary_measure("inner")])
        return np.concatenate([self.sample_boundary(n_outer, method, seed, "outer"),
                               self.sample_boundary(n_inner, method, seed, "inner")])

    def boundary_normal(self, x: np.ndarray) -> np.ndarray:
        """-(b's normal) at points on b's boundary (within the default tolerance), else a's."""
        x = np.asarray(x, dtype=float).reshape(-1, self.dim)
        tol = self.default_tol()
        on_b = self.b.contains(x, tol) & ~self.b.contains(x, -tol)
        normals = np.empty_like(x)
        normals[on_b] = -self.b.boundary_normal(x[on_b])
        normals[~on_b] = self.a.boundary_normal(x[~on_b])
        return normals

    def _contains(self, x: np.ndarray, tol: float) -> np.ndarray:
        return self.a.contains(x, tol) & ~self.b.contains(x, -tol)
