"""The Domain interface shared by every shape, and helpers for splitting and thinning samples.

A domain is a closed set Omega in R^dim. Point arrays are float64 of shape (n, dim); masks are
(n,) bool. Its boundary is split into named parts; ``parts[0]`` is always "boundary", the whole
boundary (for a space-time domain: the lateral boundary, see ``SpaceTime``).
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Callable

import numpy as np

from .sampling import grid_points

TOL = 1e-9  # default tolerance of ``contains``, relative to the largest side of the bounding box


class Domain(ABC):
    """A closed domain in R^dim with interior and boundary samplers and outward normals."""

    dim: int
    names: tuple[str, ...] = ()  # axis names where the domain has them (a Box's)
    cells: np.ndarray | None = None  # (M, 3) triangles of a mesh domain's own, else None
    time_name: str | None = None  # the time axis of a space-time domain (SpaceTime), else None

    @property
    def parts(self) -> tuple[str, ...]:
        """Names of the boundary parts a sampler accepts; the first is "boundary" (all of it)."""
        return ("boundary",)

    @property
    @abstractmethod
    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Bounding box (lo, hi), each (dim,)."""

    @abstractmethod
    def measure(self) -> float:
        """Volume (length, area, ...) of the domain."""

    @abstractmethod
    def boundary_measure(self, part: str = "boundary") -> float:
        """(dim - 1)-dimensional measure of a boundary part."""

    @abstractmethod
    def sample_interior(self, n: int, method: str = "sobol", seed: int = 0) -> np.ndarray:
        """n points inside the domain, deterministic in (method, seed): (n, dim)."""

    @abstractmethod
    def sample_boundary(self, n: int, method: str = "sobol", seed: int = 0, part: str = "boundary") -> np.ndarray:
        """n points on the boundary part ``part``, spread in proportion to its measure: (n, dim)."""

    @abstractmethod
    def boundary_normal(self, x: np.ndarray) -> np.ndarray:
        """Outward unit normals at boundary points x (n, dim): (n, dim)."""

    @abstractmethod
    def _contains(self, x: np.ndarray, tol: float) -> np.ndarray:
        """(n,) mask of x (n, dim) within distance tol of the domain (tol > 0: the closed domain
        grown by tol; tol < 0: the interior shrunk by |tol|)."""

    def contains(self, x: np.ndarray, tol: float | None = None) -> np.ndarray:
        """(n,) mask of the points x (n, dim) in the closed domain, up to an absolute tolerance
        ``tol`` (default TOL times the bounding box's largest side; a negative tol tests the
        interior, keeping points at least |tol| away from the boundary)."""
        x = np.asarray(x, dtype=float).reshape(-1, self.dim)
        return self._contains(x, self.default_tol() if tol is None else tol)

    def default_tol(self) -> float:
        """The default absolute tolerance of ``contains``: TOL * max(hi - lo)."""
        lo, hi = self.bounds
        return TOL * float(np.max(hi - lo))

    def test_points(self, n_per_axis: int) -> tuple[np.ndarray, tuple[int, ...] | None]:
        """Evaluation points for error measurement: the (n_per_axis,)*dim grid of the bounding box
        (C order, ends included) restricted to the domain, and None as the grid shape."""
        lo, hi = self.bounds
        x = lo + (hi - lo) * grid_points((n_per_axis,) * self.dim)
        return x[self.contains(x)], None

    def check_part(self, part: str) -> None:
        """Refuse a boundary part the domain lacks, naming the ones it has."""
        if part not in self.parts:
            raise ValueError(f"no boundary part {part!r}; parts: {', '.join(self.parts)}")


def split_counts(n: int, weights: np.ndarray) -> np.ndarray:
    """Split n into len(weights) integer counts proportional to weights, summing exactly to n
    (largest remainder; ties go to the earlier entry)."""
    share = n * np.asarray(weights, dtype=float) / np.sum(weights)
    counts = np.floor(share).astype(int)
    counts[np.argsort(-(share - counts), kind="stable")[: n - counts.sum()]] += 1
    return counts


def thin(x: np.ndarray, n: int) -> np.ndarray:
    """n of the rows of x (len(x) >= n), evenly spread over its index range: rows floor(i len / n)."""
    return x[(np.arange(n) * len(x)) // max(n, 1)]


def rejection(draw: Callable[[int], np.ndarray], keep: Callable[[np.ndarray], np.ndarray], n: int,
              fraction: float, what: str) -> np.ndarray:
    """Exactly n of the points ``draw(m)`` (m, dim) that pass ``keep`` ((m,) mask).

    m starts at about n / fraction (fraction: the expected share kept) and doubles until at
    least n pass; the survivors are then thinned evenly to n, so a sample drawn in blocks (faces,
    edges) keeps its proportions. Deterministic whenever ``draw`` is.
    """
    m = int(np.ceil(1.1 * n / max(fraction, 1e-3))) + 16
    for _ in range(20):
        x = draw(m)
        x = x[keep(x)]
        if len(x) >= n:
            return thin(x, n)
        m *= 2
    raise ValueError(f"rejection sampling of {what} kept {len(x)} of {m // 2} points, fewer than {n}; "
                     "is the domain empty?")


def segment_distance(x: np.ndarray, a: np.ndarray, b: np.ndarray, chunk: int = 2048) -> np.ndarray:
    """Distances from points x (n, 2) to segments a[j] -> b[j] (k, 2): (n, k), in row chunks."""
    ab = b - a  # (k, 2)
    ab2 = np.maximum((ab * ab).sum(axis=1), 1e-300)
    out = np.empty((len(x), len(a)))
    for start in range(0, len(x), chunk):
        ax = x[start:start + chunk, None, :] - a[None, :, :]  # (c, k, 2)
        t = np.clip((ax * ab).sum(axis=2) / ab2, 0.0, 1.0)
        out[start:start + chunk] = np.linalg.norm(ax - t[:, :, None] * ab, axis=2)
    return out
