"""Korteweg-de Vries reference (the jaxpi benchmark): u_t + eta u u_x + mu^2 u_xxx = 0 with eta = 1,
mu = 0.022 (Zabusky & Kruskal 1965), x in [-1, 1] periodic, t in [0, 1], u(0, x) = cos(pi x).

Fourier pseudo-spectral in x with the dispersion diagonal, i mu^2 k^3, integrated by ETDRK4 (Kassam &
Trefethen 2005, whose KdV example this is); the nonlinear term -eta/2 (u^2)_x is taken on the grid.
Accuracy and runtime are measured in tests/test_references.py and stated in the docstring below.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy import fft

from ._common import etdrk4

ETA, MU = 1.0, 0.022
_MODES = 256  # FFT size
_DT = 5e-5  # largest ETDRK4 step


def grid(n: int) -> np.ndarray:
    """The n periodic points x_j = -1 + 2j/n (n,)."""
    return -1.0 + 2.0 * np.arange(n) / n


@lru_cache(maxsize=4)
def _solve(n: int, dt: float, n_levels: int) -> np.ndarray:
    coeffs = evolve(np.cos(np.pi * grid(n)), dt, n_levels)
    coeffs.setflags(write=False)
    return coeffs


def evolve(u0: np.ndarray, dt: float, n_levels: int) -> np.ndarray:
    """rfft coefficients (n_levels, n//2+1) of KdV's u at t_k = k / (n_levels-1) from u0 (n,) on
    ``grid(n)``, Nyquist mode dropped."""
    n = len(u0)
    k = np.pi * np.arange(n // 2 + 1)
    v0 = fft.rfft(u0)
    v0[-1] = 0.0

    def nonlinear(v: np.ndarray) -> np.ndarray:
        out = -0.5j * ETA * k * fft.rfft(fft.irfft(v, n) ** 2)
        out[-1] = 0.0
        return out

    return etdrk4(v0, 1j * MU**2 * k**3, nonlinear, n_levels, dt)


@lru_cache(maxsize=8)
def kdv(nx: int = 256, nt: int = 201, dt: float = _DT, n_modes: int = _MODES
        ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """KdV u on the grid x_j = -1 + 2j/nx (j = 0..nx, x = 1 repeating x = -1), t_k = k/(nt-1):
    (x (nx+1,), t (nt,), u (nt, nx+1)), read-only. n_modes must be a multiple of nx (values at the
    grid points come from the FFT grid). With the defaults the max difference to a run with twice the
    modes and half the step is below 1e-9 (asserted in tests/test_references.py); about 1 s."""
    if n_modes % nx:
        raise ValueError(f"n_modes ({n_modes}) must be a multiple of nx ({nx})")
    u = fft.irfft(_solve(n_modes, dt, nt), n_modes, axis=-1)[:, :: n_modes // nx]
    u = np.concatenate([u, u[:, :1]], axis=1)
    x, t = np.linspace(-1.0, 1.0, nx + 1), np.linspace(0.0, 1.0, nt)
    for a in (x, t, u):
        a.setflags(write=False)
    return x, t, u


__all__ = ["ETA", "MU", "evolve", "grid", "kdv"]
