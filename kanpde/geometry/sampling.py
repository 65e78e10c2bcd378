"""Point sets in the unit cube [0, 1]^d: quasi-random (scipy.stats.qmc), random, or a grid.

Each method is one function in the registry ``SAMPLERS`` (the config's ``sampler.method``):
``sobol`` scrambled (its balance needs n a power of two, other n are fine), ``halton`` scrambled,
``lhs`` Latin hypercube, ``uniform`` i.i.d. uniform, ``grid`` the cell centres of the most nearly
cubic grid with at least n cells, truncated to n points.
"""
from __future__ import annotations

import math
import warnings
from typing import Callable

import numpy as np
from scipy.stats import qmc

from ..registry import Registry

Sampler = Callable[[int, int, int], np.ndarray]  # (n >= 1, dim, seed) -> (n, dim)
SAMPLERS: Registry[Sampler] = Registry("sampling method", "sampler.method")


def _qmc(engine: type, **options) -> Sampler:
    def draw(n: int, dim: int, seed: int) -> np.ndarray:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # Sobol's "balance properties" note for n != 2^m
            return engine(dim, seed=seed, **options).random(n)
    return draw


SAMPLERS.register("sobol")(_qmc(qmc.Sobol, scramble=True))
SAMPLERS.register("halton")(_qmc(qmc.Halton, scramble=True))
SAMPLERS.register("lhs")(_qmc(qmc.LatinHypercube))


@SAMPLERS.register("uniform")
def uniform(n: int, dim: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).random((n, dim))


@SAMPLERS.register("grid")
def cell_centres(n: int, dim: int, seed: int) -> np.ndarray:
    per_axis = max(1, math.ceil(n ** (1.0 / dim) - 1e-9))
    centres = (np.arange(per_axis) + 0.5) / per_axis
    pts = np.stack([a.ravel() for a in np.meshgrid(*([centres] * dim), indexing="ij")], axis=-1)
    return pts[np.linspace(0, len(pts) - 1, n).round().astype(int)] if len(pts) > n else pts


def grid_points(shape: tuple[int, ...]) -> np.ndarray:
    """Tensor-product grid with both ends included, in C order: (prod(shape), len(shape))."""
    axes = [np.linspace(0.0, 1.0, n) if n > 1 else np.array([0.5]) for n in shape]
    return np.stack([a.ravel() for a in np.meshgrid(*axes, indexing="ij")], axis=-1)


def sample_unit_cube(n: int, dim: int, method: str = "sobol", seed: int = 0) -> np.ndarray:
    """n points in [0, 1]^dim by the registered ``method``: (n, dim), deterministic for (method, seed)."""
    draw = SAMPLERS.get(method)
    if n < 0 or dim < 1:
        raise ValueError(f"need n >= 0 and dim >= 1, got n={n}, dim={dim}")
    return np.zeros((0, dim)) if n == 0 else draw(n, dim, seed)
