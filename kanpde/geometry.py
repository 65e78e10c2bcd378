"""Domains: where collocation points live. A Box covers intervals, rectangles and cubes."""
from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Sequence

import numpy as np

from .sampling import grid_points, sample_unit_cube


class Domain(ABC):
    """A domain in R^dim with interior and boundary samplers."""

    dim: int

    @property
    @abstractmethod
    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Bounding box (lo, hi), each (dim,)."""

    @abstractmethod
    def sample_interior(self, n: int, method: str = "sobol", seed: int = 0) -> np.ndarray:
        """n interior points: (n, dim)."""

    @abstractmethod
    def sample_boundary(self, n: int, method: str = "sobol", seed: int = 0) -> np.ndarray:
        """n boundary points: (n, dim)."""

    @abstractmethod
    def boundary_normal(self, x: np.ndarray) -> np.ndarray:
        """Outward unit normals at boundary points x (n, dim): (n, dim)."""


class Box(Domain):
    """The axis-aligned box [lo_1, hi_1] x ... x [lo_d, hi_d]; an interval when d = 1."""

    def __init__(self, lo: Sequence[float], hi: Sequence[float]):
        self.lo = np.asarray(lo, dtype=float).reshape(-1)
        self.hi = np.asarray(hi, dtype=float).reshape(-1)
        if self.lo.shape != self.hi.shape or not np.all(self.hi > self.lo):
            raise ValueError(f"Box needs lo < hi in every coordinate, got lo={lo}, hi={hi}")
        self.dim = self.lo.size

    @property
    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        return self.lo, self.hi

    def _scale(self, u: np.ndarray) -> np.ndarray:
        return self.lo + (self.hi - self.lo) * u

    def sample_interior(self, n: int, method: str = "sobol", seed: int = 0) -> np.ndarray:
        return self._scale(sample_unit_cube(n, self.dim, method, seed))

    def grid(self, shape: Sequence[int]) -> np.ndarray:
        """Tensor-product grid including the boundary, C order: (prod(shape), dim)."""
        return self._scale(grid_points(tuple(shape)))

    def face_sizes(self) -> np.ndarray:
        """(2 dim,) measure of each face, ordered lo_0, hi_0, lo_1, hi_1, ..."""
        width = self.hi - self.lo
        sizes = [np.prod(np.delete(width, axis)) for axis in range(self.dim)]
        return np.repeat(sizes, 2)

    def sample_boundary(self, n: int, method: str = "sobol", seed: int = 0) -> np.ndarray:
        """n points spread over the 2 dim faces in proportion to their measure."""
        sizes = self.face_sizes()
        counts = np.floor(n * sizes / sizes.sum()).astype(int)
        counts[np.argsort(-(n * sizes / sizes.sum() - counts), kind="stable")[: n - counts.sum()]] += 1
        points = []
        for face, count in enumerate(counts):
            axis, side = divmod(face, 2)
            if self.dim == 1:
                u = np.zeros((count, 1))
            else:
                u = np.insert(sample_unit_cube(count, self.dim - 1, method, seed + 7919 * face), axis, 0.0, axis=1)
            u[:, axis] = float(side)
            points.append(self._scale(u))
        return np.concatenate(points, axis=0)

    def boundary_normal(self, x: np.ndarray) -> np.ndarray:
        """Normal of the nearest face (at an edge or corner, the first nearest one)."""
        dist = np.stack([np.abs(x - self.lo), np.abs(x - self.hi)], axis=2).reshape(len(x), -1)  # faces' order
        nearest = np.argmin(dist, axis=1)
        axis, side = np.divmod(nearest, 2)
        normals = np.zeros_like(x, dtype=float)
        normals[np.arange(len(x)), axis] = np.where(side == 1, 1.0, -1.0)
        return normals


def Interval(lo: float, hi: float) -> Box:  # noqa: N802 - reads as a constructor
    """The interval [lo, hi] as a 1-D Box."""
    return Box([lo], [hi])


def Rectangle(lo: Sequence[float], hi: Sequence[float]) -> Box:  # noqa: N802
    """A 2-D Box."""
    if len(lo) != 2 or len(hi) != 2:
        raise ValueError("Rectangle needs two coordinates in lo and hi")
    return Box(lo, hi)
