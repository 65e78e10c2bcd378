"""Boxes and space-time: ``Box`` covers intervals, rectangles and cubes (faces x_lo, x_hi, ...);
``SpaceTime`` is a spatial domain times [t0, t1], time last. Both follow ``Domain``.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from .base import Domain, split_counts
from .sampling import grid_points, sample_unit_cube

__all__ = ["Box", "Interval", "Rectangle", "SpaceTime"]


class Box(Domain):
    """The axis-aligned box [lo_1, hi_1] x ... x [lo_d, hi_d]; an interval when d = 1.

    Boundary parts: "boundary", then one per face, f"{name}_lo" and f"{name}_hi" for each axis
    name (default x, y, z for d <= 3, else x0, x1, ...), e.g. x_lo, x_hi, y_lo, y_hi in 2-D.
    """

    def __init__(self, lo: Sequence[float], hi: Sequence[float], names: Sequence[str] | None = None):
        self.lo = np.asarray(lo, dtype=float).reshape(-1)
        self.hi = np.asarray(hi, dtype=float).reshape(-1)
        if self.lo.shape != self.hi.shape or not np.all(self.hi > self.lo):
            raise ValueError(f"Box needs lo < hi in every coordinate, got lo={lo}, hi={hi}")
        self.dim = self.lo.size
        default = ("x", "y", "z")[: self.dim] if self.dim <= 3 else tuple(f"x{i}" for i in range(self.dim))
        self.names = tuple(default if names is None else names)
        if len(self.names) != self.dim or len(set(self.names)) != self.dim:
            raise ValueError(f"Box needs {self.dim} distinct axis names, got {names}")

    @property
    def parts(self) -> tuple[str, ...]:
        return ("boundary", *(f"{name}_{side}" for name in self.names for side in ("lo", "hi")))

    @property
    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        return self.lo, self.hi

    def _scale(self, u: np.ndarray) -> np.ndarray:
        return self.lo + (self.hi - self.lo) * u

    def measure(self) -> float:
        return float(np.prod(self.hi - self.lo))

    def boundary_measure(self, part: str = "boundary") -> float:
        self.check_part(part)
        sizes = self.face_sizes()
        return float(sizes.sum() if part == "boundary" else sizes[self.parts.index(part) - 1])

    def sample_interior(self, n: int, method: str = "sobol", seed: int = 0) -> np.ndarray:
        return self._scale(sample_unit_cube(n, self.dim, method, seed))

    def grid(self, shape: Sequence[int]) -> np.ndarray:
        """Tensor-product grid including the boundary, C order: (prod(shape), dim)."""
        return self._scale(grid_points(tuple(shape)))

    def test_points(self, n_per_axis: int) -> tuple[np.ndarray, tuple[int, ...] | None]:
        """The full (n_per_axis,)*dim grid, C order, and its shape."""
        shape = (n_per_axis,) * self.dim
        return self.grid(shape), shape

    def face_sizes(self) -> np.ndarray:
        """(2 dim,) measure of each face, ordered lo_0, hi_0, lo_1, hi_1, ..."""
        width = self.hi - self.lo
        sizes = [np.prod(np.delete(width, axis)) for axis in range(self.dim)]
        return np.repeat(sizes, 2)

    def _sample_face(self, face: int, n: int, method: str, seed: int) -> np.ndarray:
        """n points on face ``face`` (axis, side = divmod(face, 2)): (n, dim)."""
        axis, side = divmod(face, 2)
        if self.dim == 1:
            u = np.zeros((n, 1))
        else:
            u = np.insert(sample_unit_cube(n, self.dim - 1, method, seed + 7919 * face), axis, 0.0, axis=1)
        u[:, axis] = float(side)
        return self._scale(u)

    def sample_boundary(self, n: int, method: str = "sobol", seed: int = 0, part: str = "boundary") -> np.ndarray:
        """n points on one face, or (part "boundary") spread over the 2 dim faces in proportion
        to their measure, face by face."""
        self.check_part(part)
        if part != "boundary":
            return self._sample_face(self.parts.index(part) - 1, n, method, seed)
        counts = split_counts(n, self.face_sizes())
        return np.concatenate([self._sample_face(face, count, method, seed) for face, count in enumerate(counts)])

    def boundary_normal(self, x: np.ndarray) -> np.ndarray:
        """Normal of the nearest face (at an edge or corner, the first nearest one)."""
        x = np.asarray(x, dtype=float).reshape(-1, self.dim)
        dist = np.stack([np.abs(x - self.lo), np.abs(x - self.hi)], axis=2).reshape(len(x), 2 * self.dim)  # faces' order
        axis, side = np.divmod(np.argmin(dist, axis=1), 2)
        normals = np.zeros_like(x)
        normals[np.arange(len(x)), axis] = np.where(side == 1, 1.0, -1.0)
        return normals

    def _contains(self, x: np.ndarray, tol: float) -> np.ndarray:
        return np.all((x >= self.lo - tol) & (x <= self.hi + tol), axis=1)


def Interval(lo: float, hi: float, name: str = "x") -> Box:  # noqa: N802 - reads as a constructor
    """The interval [lo, hi] as a 1-D Box; parts boundary, {name}_lo, {name}_hi."""
    return Box([lo], [hi], names=(name,))


def Rectangle(lo: Sequence[float], hi: Sequence[float], names: Sequence[str] = ("x", "y")) -> Box:  # noqa: N802
    """A 2-D Box; parts boundary, x_lo, x_hi, y_lo, y_hi (with the default names)."""
    if len(lo) != 2 or len(hi) != 2:
        raise ValueError("Rectangle needs two coordinates in lo and hi")
    return Box(lo, hi, names=names)


class SpaceTime(Domain):
    """space x [t0, t1]: points (x_1, ..., x_d, t) with time last, dim = space.dim + 1.

    Parts: "boundary" is the lateral boundary (space boundary) x [t0, t1] only; then each other
    part P of the space as P x [t0, t1] under the same name; then "initial" (space x {t0}) and
    "final" (space x {t1}). Times are t0 + (t1 - t0) s with s the last column of a
    (space.dim + 2)-dimensional sample of the same (method, seed) as the spatial points: its
    quasi-random directions differ from the first space.dim + 1 ones that the spatial samplers
    here use, so s is not (nearly) a function of the spatial coordinates.
    """

    def __init__(self, space: Domain, t0: float, t1: float, time_name: str = "t"):
        if not t1 > t0:
            raise ValueError(f"SpaceTime needs t0 < t1, got t0={t0}, t1={t1}")
        clash = {"initial", "final"} & set(space.parts)
        if clash:
            raise ValueError(f"the space's boundary parts {sorted(clash)} clash with SpaceTime's")
        self.space, self.t0, self.t1, self.time_name = space, float(t0), float(t1), time_name
        self.dim = space.dim + 1

    @property
    def parts(self) -> tuple[str, ...]:
        return (*self.space.parts, "initial", "final")

    @property
    def names(self) -> tuple[str, ...]:
        """Axis names: the space's (x, y, ... for a Box) and the time's."""
        return (*self.space.names, self.time_name)

    @property
    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        lo, hi = self.space.bounds
        return np.append(lo, self.t0), np.append(hi, self.t1)

    def measure(self) -> float:
        return self.space.measure() * (self.t1 - self.t0)

    def boundary_measure(self, part: str = "boundary") -> float:
        self.check_part(part)
        if part in ("initial", "final"):
            return self.space.measure()
        return self.space.boundary_measure(part) * (self.t1 - self.t0)

    def _times(self, n: int, method: str, seed: int) -> np.ndarray:
        """(n, 1) times in [t0, t1] (see the class docstring)."""
        s = sample_unit_cube(n, self.space.dim + 2, method, seed)[:, -1:]
        return self.t0 + (self.t1 - self.t0) * s

    def sample_interior(self, n: int, method: str = "sobol", seed: int = 0) -> np.ndarray:
        return np.hstack([self.space.sample_interior(n, method, seed), self._times(n, method, seed)])

    def sample_boundary(self, n: int, method: str = "sobol", seed: int = 0, part: str = "boundary") -> np.ndarray:
        """Lateral parts: space boundary points x times; "initial"/"final": space interior
        points at t0 / t1."""
        self.check_part(part)
        if part in ("initial", "final"):
            t = self.t0 if part == "initial" else self.t1
            return np.hstack([self.space.sample_interior(n, method, seed), np.full((n, 1), t)])
        return np.hstack([self.space.sample_boundary(n, method, seed, part), self._times(n, method, seed)])

    def boundary_normal(self, x: np.ndarray) -> np.ndarray:
        """(space normal, 0) where the spatial point is on the space's boundary; elsewhere
        (0, ..., 0, -1) if t is nearer t0 than t1, else (0, ..., 0, 1)."""
        x = np.asarray(x, dtype=float).reshape(-1, self.dim)
        xs, t = x[:, :-1], x[:, -1]
        lateral = ~self.space.contains(xs, -self.space.default_tol())
        normals = np.zeros_like(x)
        normals[lateral, :-1] = self.space.boundary_normal(xs[lateral])
        normals[~lateral, -1] = np.where(np.abs(t - self.t0) <= np.abs(t - self.t1), -1.0, 1.0)[~lateral]
        return normals

    def _contains(self, x: np.ndarray, tol: float) -> np.ndarray:
        t = x[:, -1]
        return self.space.contains(x[:, :-1], tol) & (t >= self.t0 - tol) & (t <= self.t1 + tol)

    def test_points(self, n_per_axis: int) -> tuple[np.ndarray, tuple[int, ...] | None]:
        """A Box space: the full (n_per_axis,)*dim grid over (space, t) and its shape. Otherwise
        the space's test points, each at n_per_axis equally spaced times (time fastest), None."""
        if isinstance(self.space, Box):
            lo, hi = self.bounds
            return Box(lo, hi).test_points(n_per_axis)
        xs, _ = self.space.test_points(n_per_axis)
        t = np.linspace(self.t0, self.t1, n_per_axis)
        return np.hstack([np.repeat(xs, n_per_axis, axis=0), np.tile(t, len(xs))[:, None]]), None
