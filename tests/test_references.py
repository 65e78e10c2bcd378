"""Reference solvers (kanpde.references): convergence, PDE residuals, known values, boundary data."""
from __future__ import annotations

import numpy as np
import pytest
from kanpde.references import (
    allen_cahn_dirichlet,
    allen_cahn_dirichlet_interp,
    allen_cahn_periodic,
    allen_cahn_periodic_interp,
    burgers_cole_hopf,
    burgers_cole_hopf_dx,
    burgers_reference_grid,
)
from scipy.optimize import minimize_scalar

NU = 0.01 / np.pi


def u0(x: np.ndarray) -> np.ndarray:
    return x * x * np.cos(np.pi * x)


# ------------------------------------------------------------------------------------------ Burgers

def burgers_points() -> tuple[np.ndarray, np.ndarray]:
    """256 x 100 grid plus a dense band around the front at x = 0."""
    x = np.concatenate([np.linspace(-1.0, 1.0, 256), np.linspace(-0.01, 0.01, 41)])
    return x[None, :], np.linspace(0.0, 1.0, 100)[:, None]


@pytest.mark.slow
def test_burgers_quadrature_converged():
    x, t = burgers_points()
    for f in (burgers_cole_hopf, burgers_cole_hopf_dx):
        coarse, fine = f(x, t, NU), f(x, t, NU, n_panels=48)
        assert np.abs(coarse - fine).max() < 1e-9  # measured: 4e-15 (u), 4e-13 (u_x, up to 152)


def test_burgers_initial_boundary_symmetry():
    x, t = burgers_points()
    u = burgers_cole_hopf(x, t, NU)
    assert np.array_equal(u[0], -np.sin(np.pi * x[0]))
    assert np.abs(burgers_cole_hopf(np.array([-1.0, 1.0]), t, NU)).max() < 1e-14
    assert np.abs(u + burgers_cole_hopf(-x, t, NU)).max() < 1e-14
    assert np.abs(u).max() <= 1.0


def test_burgers_basdevant_gradient():
    """max_t |u_x(t, 0)| = 152.00516 at t = 1.6037/pi (Basdevant et al. 1986); |u_x(1/pi, 0)| ~ 34.2."""
    res = minimize_scalar(lambda t: float(burgers_cole_hopf_dx(0.0, t, NU)), bounds=(0.45, 0.6),
                          method="bounded", options={"xatol": 1e-10})
    assert -res.fun == pytest.approx(152.00516, rel=1e-4)
    assert res.x * np.pi == pytest.approx(1.6037, abs=1e-3)
    assert abs(burgers_cole_hopf_dx(0.0, 1.0 / np.pi, NU)) == pytest.approx(34.2, abs=0.1)


def test_burgers_dx_matches_difference_quotient():
    x = np.concatenate([np.linspace(-0.9, 0.9, 19), np.linspace(-0.005, 0.005, 11)])[None, :]
    t = np.linspace(0.1, 1.0, 10)[:, None]
    h = 1e-6  # central difference: truncation h^2 |u_xxx| / 6 <= 1e-12 * 2e7 / 6, rounding 1e-16 / h
    fd = (burgers_cole_hopf(x + h, t, NU) - burgers_cole_hopf(x - h, t, NU)) / (2 * h)
    assert np.abs(fd - burgers_cole_hopf_dx(x, t, NU)).max() < 1e-5


def burgers_residual(x: np.ndarray, t: np.ndarray, h: float, k: float) -> np.ndarray:
    """u_t + u u_x - nu u_xx with central differences (u_t step k, u_xx from u_x with step h)."""
    u_t = (burgers_cole_hopf(x, t + k, NU) - burgers_cole_hopf(x, t - k, NU)) / (2 * k)
    u_xx = (burgers_cole_hopf_dx(x + h, t, NU) - burgers_cole_hopf_dx(x - h, t, NU)) / (2 * h)
    return u_t + burgers_cole_hopf(x, t, NU) * burgers_cole_hopf_dx(x, t, NU) - NU * u_xx


def test_burgers_pde_residual():
    # Away from the front the error is the O(k^2) truncation of the difference quotients, k^2 |u_ttt| / 6:
    # 2.6e-5 at k = 1e-3 and 2.6e-7 at k = 1e-4 (ratio 100 = second order), against terms of size ~2.
    t = np.linspace(0.05, 0.95, 19)[:, None]
    x = np.concatenate([np.linspace(-0.95, -0.2, 16), np.linspace(0.2, 0.95, 16)])[None, :]
    coarse, fine = (np.abs(burgers_residual(x, t, 1e-4, k)).max() for k in (1e-3, 1e-4))
    assert fine < 1e-6
    assert 50 < coarse / fine < 200
    # Across the front (|u u_x| up to 57, u_xxx ~ 1e7) smaller steps are needed; measured 1.2e-6.
    x = np.linspace(-0.02, 0.02, 41)[None, :]
    assert np.abs(burgers_residual(x, t, 1e-6, 1e-5)).max() < 1e-5


def test_burgers_reference_grid_cached_readonly():
    x, t, u = burgers_reference_grid()
    assert x.shape == (256,) and t.shape == (101,) and u.shape == (101, 256)
    assert burgers_reference_grid()[2] is u
    assert not u.flags.writeable
    assert np.array_equal(u, burgers_cole_hopf(x[None, :], t[:, None], NU))


# ------------------------------------------------------------------------------------------ Allen–Cahn

def fd_residual(grid, interp, nu: float, interior: slice) -> np.ndarray:
    """u_t - nu u_xx - 5 (u - u^3) at levels t in [0.05, 0.95], at the grid x (without `interior`'s cut).

    u_t: fourth-order central differences of the stored levels (spacing 1e-3), so it checks the time
    integration; u_xx: fourth-order central differences of the interpolant in x (h = 1e-4). Truncation
    1e-12 |u_ttttt| / 30 + nu 1e-16 |u_xxxxxx| / 90, rounding ~ nu 1e-15 / h^2.
    """
    x, t, u = grid(nt=1001)
    x, u, ks, step, h = x[interior], u[:, interior], np.arange(50, 951, 25), t[1] - t[0], 1e-4
    u_t = (-u[ks + 2] + 8 * u[ks + 1] - 8 * u[ks - 1] + u[ks - 2]) / (12 * step)
    shifted = [interp(x[None, :] + d, t[ks][:, None]) for d in (-2 * h, -h, h, 2 * h)]
    u_xx = (-shifted[0] + 16 * shifted[1] - 30 * u[ks] + 16 * shifted[2] - shifted[3]) / (12 * h * h)
    return np.stack([u_t - 5 * (u[ks] - u[ks] ** 3), nu * u_xx])


@pytest.mark.parametrize("variant", ["periodic", "dirichlet"])
def test_allen_cahn_residual(variant):
    grid, interp, nu, interior = {
        "periodic": (allen_cahn_periodic, allen_cahn_periodic_interp, 1e-4, slice(None)),
        "dirichlet": (allen_cahn_dirichlet, allen_cahn_dirichlet_interp, 1e-3, slice(1, -1)),
    }[variant]
    rest, diffusion = fd_residual(grid, interp, nu, interior)
    assert np.abs(rest - diffusion).max() < 1e-7  # measured: 4e-9 (terms up to ~2)
    assert np.abs(rest - 1.01 * diffusion).max() > 1e-3  # a 1 % wrong viscosity is detected


def test_allen_cahn_periodic_grid():
    x, t, u = allen_cahn_periodic()
    assert x.shape == (513,) and t.shape == (201,) and u.shape == (201, 513)
    assert np.allclose(x, -1.0 + 2.0 * np.arange(513) / 512, atol=1e-15, rtol=0) and x[-1] == 1.0
    assert np.allclose(t, np.arange(201) / 200, atol=1e-15, rtol=0)
    assert np.array_equal(u[:, -1], u[:, 0])
    assert np.array_equal(u[0], u0(x))
    assert np.abs(u[:, ::-1] - u).max() < 1e-12  # the solution stays even in x
    assert not u.flags.writeable


def test_allen_cahn_periodic_refinement():
    """Twice the modes and half the step: < 1e-8 for t >= 0.01 (measured 5e-10)."""
    _, t, u = allen_cahn_periodic()
    _, _, fine = allen_cahn_periodic(n_modes=4096, dt=5e-4)
    assert np.abs(u - fine)[t >= 0.01].max() < 1e-8


def test_allen_cahn_dirichlet_grid():
    x, t, u = allen_cahn_dirichlet()
    assert x.shape == (201,) and t.shape == (101,) and u.shape == (101, 201)
    assert np.array_equal(x, np.linspace(-1.0, 1.0, 201)) and np.array_equal(t, np.linspace(0.0, 1.0, 101))
    assert np.abs(u[:, [0, -1]] + 1.0).max() < 1e-12
    assert np.array_equal(u[0], u0(x))
    assert np.abs(u[:, ::-1] - u).max() < 1e-12
    assert not u.flags.writeable


def test_allen_cahn_dirichlet_refinement():
    """Twice the modes and half the step: < 1e-10 for t >= 0.01 (measured 1e-11)."""
    _, t, u = allen_cahn_dirichlet()
    _, _, fine = allen_cahn_dirichlet(n_modes=4096, dt=5e-4)
    assert np.abs(u - fine)[t >= 0.01].max() < 1e-10


@pytest.mark.slow
@pytest.mark.parametrize("variant", ["periodic", "dirichlet"])
def test_allen_cahn_interp(variant):
    grid, interp = {"periodic": (allen_cahn_periodic, allen_cahn_periodic_interp),
                    "dirichlet": (allen_cahn_dirichlet, allen_cahn_dirichlet_interp)}[variant]
    x, t, u = grid()
    assert np.abs(interp(x[None, :], t[:, None]) - u).max() < 1e-13  # stored levels: the same series
    # Halfway between stored levels, against a direct run that stores them (steps 5e-4 instead of 1e-3).
    x, t, direct = grid(nx=64, nt=2001)
    between = slice(21, None, 2)  # t = 0.0105, 0.0115, ...
    assert np.abs(interp(x[None, :], t[between, None]) - direct[between]).max() < 1e-9  # measured 2e-11
    # Scattered points take the pointwise path and agree with the grid path.
    rng = np.random.default_rng(0)
    xs, ts = rng.uniform(-1, 1, 400), rng.uniform(0, 1, 400)
    on_grid = np.diagonal(interp(xs[None, :], ts[:, None]))
    assert np.abs(interp(xs, ts) - on_grid).max() < 1e-12


# ---------------------------------------------------------------- KdV (Fourier + ETDRK4, dispersive)

@pytest.mark.slow
def test_kdv_carries_a_soliton_at_its_exact_speed():
    """u = 3c sech^2(sqrt(c) (x - c t) / (2 mu)) solves u_t + u u_x + mu^2 u_xxx = 0 (its tails are
    e^-40 at the domain's ends, so periodicity does not matter): the solver against the closed form."""
    from kanpde.references.kdv import MU, evolve, grid
    from scipy import fft

    c, n = 1.0, 512
    x = grid(n)
    soliton = lambda t: 3 * c / np.cosh(np.sqrt(c) * (((x - c * t + 1) % 2) - 1) / (2 * MU)) ** 2  # noqa: E731
    u = fft.irfft(evolve(soliton(0.0), 2.5e-5, 3), n, axis=-1)
    assert np.abs(u[-1] - soliton(1.0)).max() < 1e-6 * 3 * c  # one full lap of the domain
    assert np.abs(u[1] - soliton(0.5)).max() < 1e-6 * 3 * c


@pytest.mark.slow
def test_kdv_refinement_and_invariants():
    """The default reference against twice the modes and half the step (< 1e-9), and KdV's
    conserved mass and L2 norm (sums over the periodic grid) kept to 1e-10."""
    from kanpde.references import kdv

    x, t, u = kdv()
    _, _, fine = kdv(n_modes=512, dt=2.5e-5)
    assert np.abs(u - fine).max() < 1e-9
    assert u.shape == (201, 257) and np.array_equal(u[:, 0], u[:, -1]) and not u.flags.writeable
    np.testing.assert_allclose(u[0], np.cos(np.pi * x), rtol=0, atol=1e-14)
    periodic = u[:, :-1]
    assert np.abs(periodic.sum(1) - periodic[0].sum()).max() / len(x) < 1e-10
    energy = (periodic**2).sum(1)
    assert np.abs(energy - energy[0]).max() / energy[0] < 1e-10
