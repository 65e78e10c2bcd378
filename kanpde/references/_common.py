"""Shared numerics: ETDRK4 for diagonal linear parts, quintic Hermite in time, evaluation at points."""
from __future__ import annotations

from typing import Callable

import numpy as np

LevelData = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray, np.ndarray]]


def _phi_coefficients(lh: np.ndarray, n_contour: int) -> tuple[np.ndarray, ...]:
    """ETDRK4 scalars for z = h*lambda (n,): e^z, e^(z/2) and Q, f1, f2, f3 (divided by h).

    Kassam & Trefethen (2005): the phi-function combinations are averaged over a circle of radius 1
    around each z, which avoids the cancellation of the closed forms for small |z|. For real z the
    upper half circle suffices (the mean's real part); complex z (dispersive terms) take the whole.
    """
    real = not np.iscomplexobj(lh)
    r = np.exp(1j * np.pi * (np.arange(1, n_contour + 1) - 0.5) / n_contour * (1 if real else 2))
    z = lh[:, None] + r
    ez = np.exp(z)
    parts = [np.mean((np.exp(z / 2) - 1) / z, axis=1),
             np.mean((-4 - z + ez * (4 - 3 * z + z * z)) / z**3, axis=1),
             np.mean((2 + z + ez * (z - 2)) / z**3, axis=1),
             np.mean((-4 - 3 * z - z * z + ez * (4 - z)) / z**3, axis=1)]
    q, f1, f2, f3 = (p.real for p in parts) if real else parts
    return np.exp(lh), np.exp(lh / 2), q, f1, f2, f3


def etdrk4(v0: np.ndarray, lam: np.ndarray, nonlinear: Callable[[np.ndarray], np.ndarray],
           n_levels: int, dt: float, n_contour: int = 32) -> np.ndarray:
    """Integrate v' = lam * v + N(v) (lam real or complex, shape (n,)) on t in [0, 1]; states at n_levels
    uniform times.

    Each interval 1/(n_levels-1) is split into equal steps no longer than dt. Returns (n_levels, n).
    """
    interval = 1.0 / (n_levels - 1)
    n_sub = int(np.ceil(interval / dt - 1e-9))
    h = interval / n_sub
    e, e2, q, f1, f2, f3 = _phi_coefficients(h * lam, n_contour)
    q, f1, f2, f3 = h * q, h * f1, 2 * h * f2, h * f3
    out = np.empty((n_levels,) + v0.shape, dtype=v0.dtype)
    out[0] = v = v0
    for level in range(1, n_levels):
        for _ in range(n_sub):
            nv = nonlinear(v)
            a = e2 * v + q * nv
            na = nonlinear(a)
            b = e2 * v + q * na
            nb = nonlinear(b)
            c = e2 * a + q * (2 * nb - nv)
            v = e * v + f1 * nv + f2 * (na + nb) + f3 * nonlinear(c)
        out[level] = v
    return out


def _hermite_bases(s: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Quintic Hermite bases on [0, 1] for the value, slope and curvature at s = 0."""
    value = 1 - s**3 * (10 - 15 * s + 6 * s * s)
    return value, s * (1 - s**2 * (6 - 8 * s + 3 * s * s)), 0.5 * s * s * (1 - s) ** 3


def hermite5(t_levels: np.ndarray, t: np.ndarray, level_data: LevelData) -> np.ndarray:
    """Quintic Hermite interpolation in time between uniform levels t_levels (L,) at times t (k,).

    level_data(idx) gives (f, f_t, f_tt), each (len(idx), m), at the levels idx; returns (k, m).
    Error ~ dt^6 max|f^(6)| / 46080 with dt the level spacing; exact at the levels.
    """
    if np.any((t < t_levels[0]) | (t > t_levels[-1])):
        raise ValueError(f"t must lie in [{t_levels[0]}, {t_levels[-1]}]")
    step = t_levels[1] - t_levels[0]
    i = np.clip(np.searchsorted(t_levels, t, side="right") - 1, 0, len(t_levels) - 2)
    tau = ((t - t_levels[i]) / step)[:, None]
    (a0, a1, a2), (b0, b1, b2) = _hermite_bases(tau), _hermite_bases(1.0 - tau)
    levels, where = np.unique(np.concatenate([i, i + 1]), return_inverse=True)
    f, d, s = level_data(levels)
    lo, hi = where[: i.size], where[i.size :]
    return (f[lo] * a0 + step * d[lo] * a1 + step**2 * s[lo] * a2
            + f[hi] * b0 - step * d[hi] * b1 + step**2 * s[hi] * b2)


def evaluate_points(x: np.ndarray, t: np.ndarray, coeffs_at: Callable[[np.ndarray], np.ndarray],
                    basis_at: Callable[[np.ndarray], np.ndarray], width: int) -> np.ndarray:
    """sum_m C(t)_m B(x)_m at broadcast points; C = coeffs_at(t) (k, width), B = basis_at(x) (k, width).

    When the unique x and t values form a small enough grid, C and B are built once per unique value
    (in blocks); otherwise point by point, in chunks of points sorted by t. Returns the broadcast shape.
    """
    x, t = np.broadcast_arrays(np.asarray(x, dtype=np.float64), np.asarray(t, dtype=np.float64))
    ux, ix = np.unique(x.ravel(), return_inverse=True)
    ut, it = np.unique(t.ravel(), return_inverse=True)
    block = max(1, (1 << 22) // width)
    if ux.size * ut.size <= 4 * ix.size:
        grid = np.empty((ut.size, ux.size))
        for i in range(0, ut.size, block):
            coeffs = coeffs_at(ut[i : i + block])
            for j in range(0, ux.size, block):
                grid[i : i + block, j : j + block] = coeffs @ basis_at(ux[j : j + block]).T
        out = grid[it, ix]
    else:
        out = np.empty(ix.size)
        order = np.argsort(it, kind="stable")
        for i in range(0, ix.size, block):
            sl = order[i : i + block]
            out[sl] = np.einsum("pm,pm->p", coeffs_at(ut[it[sl]]), basis_at(ux[ix[sl]]))
    return out.reshape(x.shape)
