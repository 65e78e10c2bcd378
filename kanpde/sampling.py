"""Point sets in the unit cube [0, 1]^d: quasi-random (scipy.stats.qmc), random, or a grid."""
from __future__ import annotations

import math
import warnings

import numpy as np
from scipy.stats import qmc

METHODS = ("sobol", "halton", "lhs", "uniform", "grid")


def grid_points(shape: tuple[int, ...]) -> np.ndarray:
    """Tensor-product grid with both ends included, in C order: (prod(shape), len(shape))."""
    axes = [np.linspace(0.0, 1.0, n) if n > 1 else np.array([0.5]) for n in shape]
    return np.stack([a.ravel() for a in np.meshgrid(*axes, indexing="ij")], axis=-1)


def sample_unit_cube(n: int, dim: int, method: str = "sobol", seed: int = 0) -> np.ndarray:
    """n points in [0, 1]^dim: (n, dim). Deterministic for a given (method, seed).

    ``sobol`` is scrambled (its balance needs n a power of two, other n are fine), ``halton``
    scrambled, ``lhs`` Latin hypercube, ``uniform`` i.i.d. uniform, ``grid`` the cell centres of
    the most nearly cubic grid with at least n cells, truncated to n points.
    """
    if method not in METHODS:
        raise ValueError(f"unknown sampling method {method!r}; choices: {', '.join(METHODS)}")
    if n < 0 or dim < 1:
        raise ValueError(f"need n >= 0 and dim >= 1, got n={n}, dim={dim}")
    if n == 0:
        return np.zeros((0, dim))
    if method == "uniform":
        return np.random.default_rng(seed).random((n, dim))
    if method == "grid":
        per_axis = max(1, math.ceil(n ** (1.0 / dim) - 1e-9))
        centres = (np.arange(per_axis) + 0.5) / per_axis
        pts = np.stack([a.ravel() for a in np.meshgrid(*([centres] * dim), indexing="ij")], axis=-1)
        return pts[np.linspace(0, len(pts) - 1, n).round().astype(int)] if len(pts) > n else pts
    engines = {
        "sobol": lambda: qmc.Sobol(dim, scramble=True, seed=seed),
        "halton": lambda: qmc.Halton(dim, scramble=True, seed=seed),
        "lhs": lambda: qmc.LatinHypercube(dim, seed=seed),
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # Sobol's "balance properties" note for n != 2^m
        return engines[method]().random(n)
