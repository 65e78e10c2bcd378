"""Allen–Cahn references on x in [-1, 1], t in [0, 1], u(0, x) = x^2 cos(pi x), two variants.

periodic (Raissi / jaxpi):    u_t = 1e-4 u_xx + 5 u - 5 u^3, x periodic.
dirichlet (DeepXDE / jaxKAN): u_t = 1e-3 u_xx + 5 (u - u^3), u(t, +-1) = -1.

Both are pseudo-spectral in x with the diffusion diagonal, integrated by ETDRK4 (Kassam & Trefethen 2005):
a Fourier series for the periodic variant, a sine series of u + 1 for the Dirichlet one. Only FFTs are
used (no LAPACK, so no BLAS-thread contention with a concurrent torch). Values between the stored time
levels (spacing 1e-3) come from quintic Hermite interpolation with u_t, u_tt taken from the PDE, values in
x from the series itself. Accuracy and runtime are measured in tests/test_references.py and stated in each
function's docstring.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy import fft

from ._common import etdrk4, evaluate_points, hermite5

NU_PERIODIC = 1e-4
NU_DIRICHLET = 1e-3
_DT = 1e-3  # default largest ETDRK4 step
_PERIODIC_MODES = 2048  # FFT size of the periodic run
_DIRICHLET_MODES = 2048  # odd sine modes of the Dirichlet run (wavenumbers up to 4095 pi/2)
_STORED = 1001  # time levels kept for the interpolating functions (spacing 1e-3)


def _frozen(a: np.ndarray) -> np.ndarray:
    a.setflags(write=False)
    return a


def _sign(j: np.ndarray) -> np.ndarray:
    """(-1)^j for integer j."""
    return np.where(j % 2 == 0, 1.0, -1.0)


def _u0(x: np.ndarray) -> np.ndarray:
    return x * x * np.cos(np.pi * x)


def _levels(nt: int) -> int:
    """Number of levels to solve for: the stored set when it contains the nt uniform levels."""
    if nt < 2:
        raise ValueError("nt must be >= 2")
    return _STORED if (_STORED - 1) % (nt - 1) == 0 else nt


# ---------------------------------------------------------------- periodic: Fourier + ETDRK4

def _periodic_initial(n: int) -> np.ndarray:
    """rfft coefficients (n//2+1,) of x^2 cos(pi x) on x_j = -1 + 2j/n, from its exact Fourier series.

    Exact coefficients (not an FFT of samples) keep the kink at x = +-1 from aliasing into the low modes:
    c_m = (I(m+1) + I(m-1)) / 2 with I(0) = 1/3, I(a) = 2 (-1)^a / (a pi)^2. The Nyquist mode is dropped.
    """
    m = np.arange(n // 2 + 1)
    a = np.abs(np.concatenate([m + 1, m - 1]))
    integral = 2.0 * _sign(a) / (np.pi * np.maximum(a, 1)) ** 2  # a = 0 (m = 1) replaced next line
    integral[a == 0] = 1.0 / 3.0
    c = 0.5 * (integral[: m.size] + integral[m.size:])
    c[-1] = 0.0
    return (n * c * _sign(m)).astype(np.complex128)  # (-1)^m: the grid starts at x = -1


def _periodic_linear(n: int) -> np.ndarray:
    """Diagonal linear part 5 - nu k^2 on the rfft modes (n//2+1,), k = pi m."""
    return 5.0 - NU_PERIODIC * (np.pi * np.arange(n // 2 + 1)) ** 2


def _rfft(u: np.ndarray) -> np.ndarray:
    """rfft of u (..., n) without its Nyquist mode."""
    out = fft.rfft(u, axis=-1)
    out[..., -1] = 0.0
    return out


@lru_cache(maxsize=4)
def _periodic_solve(n_modes: int, dt: float, n_levels: int) -> np.ndarray:
    """rfft coefficients (n_levels, n_modes//2+1) at t_k = k / (n_levels-1)."""
    def nonlinear(v: np.ndarray) -> np.ndarray:
        return -5.0 * _rfft(fft.irfft(v, n_modes) ** 3)

    return _frozen(etdrk4(_periodic_initial(n_modes), _periodic_linear(n_modes), nonlinear, n_levels, dt))


def _fourier_basis(x: np.ndarray, n: int) -> np.ndarray:
    """Real basis (len(x), n+2) pairing with _fourier_coeffs: [w cos(pi m (x+1)), -w sin(pi m (x+1))]."""
    theta = np.pi * (x[:, None] + 1.0) * np.arange(n // 2 + 1)
    w = np.full(n // 2 + 1, 2.0 / n)
    w[0] = 1.0 / n
    return np.concatenate([w * np.cos(theta), -w * np.sin(theta)], axis=1)


def _fourier_coeffs(v: np.ndarray) -> np.ndarray:
    return np.concatenate([v.real, v.imag], axis=-1)


@lru_cache(maxsize=8)
def allen_cahn_periodic(nx: int = 512, nt: int = 201, dt: float = _DT, n_modes: int = _PERIODIC_MODES
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Periodic Allen–Cahn u_t = 1e-4 u_xx + 5u - 5u^3: (x (nx+1,), t (nt,), u (nt, nx+1)), read-only.

    x_j = -1 + 2j/nx for j = 0..nx: the periodic grid plus x = 1, whose column equals that of x = -1.
    t_k = k/(nt-1). Fourier pseudo-spectral with n_modes points (modes |m| < n_modes/2, exact initial
    coefficients) and ETDRK4 with steps <= dt. Row t = 0 is the exact u0. With the defaults, the max
    difference to a run with twice the modes and half the step is 5e-10 for t >= 0.01 (< 1e-8 asserted);
    about 0.5 s. Before t ~ 0.01 the smoothed kink of u0 at x = +-1 is under-resolved (2e-7 at t = 0.005).
    """
    levels = _levels(nt)
    coeffs = _periodic_solve(n_modes, dt, levels)[:: (levels - 1) // (nt - 1)]
    x, t = np.linspace(-1.0, 1.0, nx + 1), np.linspace(0.0, 1.0, nt)
    u = _fourier_coeffs(coeffs) @ _fourier_basis(x[:-1], n_modes).T
    u = np.concatenate([u, u[:, :1]], axis=1)
    u[0] = _u0(x)
    return _frozen(x), _frozen(t), _frozen(u)


def _periodic_level_data(idx: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Real Fourier coefficients of u, u_t, u_tt at the default run's stored levels idx, from the PDE."""
    n = _PERIODIC_MODES
    v = _periodic_solve(n, _DT, _STORED)[idx]
    lin = _periodic_linear(n)
    u = fft.irfft(v, n, axis=-1)
    vt = lin * v - 5.0 * _rfft(u**3)
    vtt = lin * vt - 15.0 * _rfft(u * u * fft.irfft(vt, n, axis=-1))
    return _fourier_coeffs(v), _fourier_coeffs(vt), _fourier_coeffs(vtt)


def allen_cahn_periodic_interp(x: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Periodic Allen–Cahn u at broadcast points x (any real, period 2) and t in [0, 1].

    Fourier series in x and quintic Hermite in t between the levels k/1000 of the default
    allen_cahn_periodic run (equal to it at those levels; exact u0 at t = 0). Between levels it matches
    a direct run to 2e-11 for t >= 0.01 (< 1e-9 asserted). Returns the broadcast shape.
    """
    x, t = np.broadcast_arrays(np.asarray(x, dtype=np.float64), np.asarray(t, dtype=np.float64))
    n, t_levels = _PERIODIC_MODES, np.linspace(0.0, 1.0, _STORED)
    u = evaluate_points(x, t, lambda ut: hermite5(t_levels, ut, _periodic_level_data),
                        lambda ux: _fourier_basis(ux, n), n + 2)
    return np.where(t == 0.0, _u0((x + 1.0) % 2.0 - 1.0), u)


# ---------------------------------------------------------------- dirichlet: sine series + ETDRK4
# u is even in x, so u + 1 = sum_q b_q sin(k_q (x+1)), k_q = (2q+1) pi/2, q = 0..p-1 (odd sine modes only),
# sampled at x_j = -1 + j/p, j = 1..p (left half and x = 0): a DST-II / DST-III pair of size p.

def _wavenumbers(p: int) -> np.ndarray:
    return 0.5 * np.pi * (2 * np.arange(p) + 1)


def _dirichlet_initial(p: int) -> np.ndarray:
    """Exact coefficients b_q (p,) of x^2 cos(pi x) + 1: 2/k - g(k + pi) - g(k - pi), g(a) = 1/a - 2/a^3."""
    k = _wavenumbers(p)
    return 2.0 / k - sum(1.0 / a - 2.0 / a**3 for a in (k + np.pi, k - np.pi))


def _dirichlet_linear(p: int) -> np.ndarray:
    """Eigenvalues -nu k_q^2 (p,) of nu d^2/dx^2 with zero boundary values."""
    return -NU_DIRICHLET * _wavenumbers(p) ** 2


def _sine_values(b: np.ndarray) -> np.ndarray:
    """u + 1 at x_j = -1 + j/p, j = 1..p, from the coefficients b (..., p)."""
    return 0.5 * fft.dst(b, type=2, axis=-1)


def _sine_coeffs(values: np.ndarray) -> np.ndarray:
    return 2.0 * fft.idst(values, type=2, axis=-1)


def _reaction(u: np.ndarray) -> np.ndarray:
    return 5.0 * (u - u**3)


@lru_cache(maxsize=4)
def _dirichlet_solve(n_modes: int, dt: float, n_levels: int) -> np.ndarray:
    """Coefficients b of u + 1 (n_levels, n_modes) at t_k = k / (n_levels-1)."""
    def nonlinear(b: np.ndarray) -> np.ndarray:
        return _sine_coeffs(_reaction(_sine_values(b) - 1.0))

    return _frozen(etdrk4(_dirichlet_initial(n_modes), _dirichlet_linear(n_modes), nonlinear, n_levels, dt))


def _sine_basis(x: np.ndarray, p: int) -> np.ndarray:
    """sin(k_q (x+1)), shape (len(x), p)."""
    return np.sin((x[:, None] + 1.0) * _wavenumbers(p))


@lru_cache(maxsize=8)
def allen_cahn_dirichlet(nx: int = 201, nt: int = 101, *, n_modes: int = _DIRICHLET_MODES, dt: float = _DT
                         ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Dirichlet Allen–Cahn u_t = 1e-3 u_xx + 5(u - u^3), u(+-1) = -1: (x (nx,), t (nt,), u (nt, nx)).

    Uniform x in [-1, 1], t in [0, 1]; arrays are read-only. Series of u + 1 in the n_modes sine modes
    sin((2q+1) pi (x+1)/2) that are even in x (exact initial coefficients; a power of two keeps the DST
    fast) and ETDRK4 with steps <= dt. Row t = 0 is the exact u0. u0 violates u_xx(+-1) = 0 (true for
    t > 0), so early on the series converges only algebraically near the walls. With the defaults, the
    max difference to a run with twice the modes and half the step is 1e-11 for t >= 0.01 (< 1e-10
    asserted); about 0.5 s.
    """
    levels = _levels(nt)
    coeffs = _dirichlet_solve(n_modes, dt, levels)[:: (levels - 1) // (nt - 1)]
    x, t = np.linspace(-1.0, 1.0, nx), np.linspace(0.0, 1.0, nt)
    u = coeffs @ _sine_basis(x, n_modes).T - 1.0
    u[0] = _u0(x)
    return _frozen(x), _frozen(t), _frozen(u)


def _dirichlet_level_data(idx: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sine coefficients of u + 1, u_t, u_tt at the default run's stored levels idx, from the PDE."""
    m = _DIRICHLET_MODES
    b = _dirichlet_solve(m, _DT, _STORED)[idx]
    lin = _dirichlet_linear(m)
    u = _sine_values(b) - 1.0
    bt = lin * b + _sine_coeffs(_reaction(u))
    btt = lin * bt + _sine_coeffs(5.0 * (1.0 - 3.0 * u * u) * _sine_values(bt))
    return b, bt, btt


def allen_cahn_dirichlet_interp(x: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Dirichlet Allen–Cahn u at broadcast points x in [-1, 1] and t in [0, 1].

    Sine series in x and quintic Hermite in t between the levels k/1000 of the default
    allen_cahn_dirichlet run (equal to it at those levels; exact u0 at t = 0). Between levels it matches
    a direct run to 1e-11 for t >= 0.01 (< 1e-9 asserted). Returns the broadcast shape.
    """
    x, t = np.broadcast_arrays(np.asarray(x, dtype=np.float64), np.asarray(t, dtype=np.float64))
    if np.any(np.abs(x) > 1.0):
        raise ValueError("x must lie in [-1, 1]")
    m, t_levels = _DIRICHLET_MODES, np.linspace(0.0, 1.0, _STORED)
    u = evaluate_points(x, t, lambda ut: hermite5(t_levels, ut, _dirichlet_level_data),
                        lambda ux: _sine_basis(ux, m), m) - 1.0
    return np.where(t == 0.0, _u0(x), u)
