"""Every basis against a direct formula; closed-form derivatives against autograd; grids."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from kanpde.errors import ConfigError
from kanpde.nets.bases import BASES, BSpline, Chebyshev, GaussianRBF, basis_from
from numpy.polynomial import chebyshev as npcheb
from scipy.interpolate import BSpline as ScipyBSpline

pytestmark = pytest.mark.usefixtures("float64")


OPTIONS = {"grid_size": 6, "order": 3, "degree": 7, "grid_range": [-1.0, 1.0]}  # each basis reads its own


def make_basis(name, n_in, values):
    return basis_from(name, values).for_inputs(n_in)


def sample(n=200, n_in=3, lo=-0.999, hi=0.999, seed=0):
    g = torch.Generator().manual_seed(seed)
    return lo + (hi - lo) * torch.rand(n, n_in, generator=g)


@pytest.mark.parametrize("order", [1, 2, 3, 5])
def test_bspline_matches_scipy(order):
    basis = BSpline(n_in=2, grid_size=7, order=order, grid_range=(-1.5, 2.0))
    x = sample(300, 2, -1.5, 1.999)
    values = basis(x)
    for i in range(2):
        t = basis.knots[i].numpy()
        for j in range(basis.n_basis):
            c = np.zeros(basis.n_basis)
            c[j] = 1.0
            expected = ScipyBSpline(t, c, order, extrapolate=False)(x[:, i].numpy())
            np.testing.assert_allclose(values[:, i, j].numpy(), np.nan_to_num(expected), atol=1e-13)


def test_bspline_partition_of_unity():
    basis = BSpline(n_in=1, grid_size=5, order=3)
    assert torch.allclose(basis(sample(100, 1)).sum(-1), torch.ones(100, 1), atol=1e-13)


def test_chebyshev_matches_numpy():
    basis = Chebyshev(n_in=2, degree=9)
    x = sample(100, 2, -3, 3)
    z = np.tanh(x.numpy())
    expected = np.stack([npcheb.chebval(z, np.eye(10)[n]) for n in range(10)], axis=-1)
    np.testing.assert_allclose(basis(x).numpy(), expected, atol=1e-13)


def test_rbf_matches_formula():
    basis = GaussianRBF(n_in=2, grid_size=4, grid_range=(-2.0, 2.0))
    x = sample(50, 2, -3, 3)
    centers, h = np.linspace(-2, 2, 5), 1.0
    expected = np.exp(-(((x.numpy()[..., None] - centers) / h) ** 2))
    np.testing.assert_allclose(basis(x).numpy(), expected, atol=1e-14)


@pytest.mark.parametrize("name", BASES.names())
@pytest.mark.parametrize("order", [1, 2, 3])
def test_closed_form_derivative_matches_autograd(name, order):
    basis = make_basis(name, 3, OPTIONS)
    x = sample().requires_grad_(True)
    values = basis(x)
    # d^m/dx^m of sum over points of every basis function, one output at a time
    derivs = []
    for m in range(values.shape[-1]):
        f = values[..., m]
        for _ in range(order):
            (f,) = torch.autograd.grad(f.sum(), x, create_graph=True)
        derivs.append(f)
    autograd = torch.stack(derivs, dim=-1)
    closed = basis.derivative(x.detach(), order)
    assert torch.allclose(closed, autograd, rtol=1e-10, atol=1e-10 * float(autograd.detach().abs().max()))


@pytest.mark.parametrize("name", BASES.names())
@pytest.mark.parametrize("order", [0, 1, 2, 3, 5])
def test_stacked_derivatives_match_single_ones(name, order):
    basis = make_basis(name, 3, OPTIONS)
    x = sample()
    stacked = basis.derivatives(x, order)
    assert stacked.shape == (order + 1, *x.shape, basis.n_basis)
    assert torch.allclose(stacked[0], basis(x), atol=1e-14)
    for r in range(1, order + 1):
        assert torch.allclose(stacked[r], basis.derivative(x, r), rtol=1e-12, atol=1e-12), r


@pytest.mark.parametrize("name", BASES.names())
def test_closed_form_derivative_matches_finite_differences(name):
    basis = make_basis(name, 3, OPTIONS)
    x, h = sample(), 1e-6
    fd = (basis(x + h) - basis(x - h)) / (2 * h)
    assert torch.allclose(basis.derivative(x, 1), fd, atol=1e-6 * float(fd.abs().max()))


@pytest.mark.parametrize("name", BASES.names())
def test_identity_coefficients_make_near_linear_edges(name):
    basis = make_basis(name, 3, OPTIONS)
    x = sample(200, 3, -0.9, 0.9)
    edge = torch.einsum("bim,im->bi", basis(x), basis.identity_coefficients())
    tolerance = 1e-12 if name == "bspline" else 0.05
    assert (edge - x).abs().max() < tolerance


def test_grid_extension_preserves_the_spline():
    torch.manual_seed(0)
    basis = BSpline(n_in=3, grid_size=5, order=3)
    coef = torch.randn(3, 4, basis.n_basis)
    x_fit = sample(1000, 3, -1.0, 1.0, seed=1)
    x_test = sample(500, 3, -1.0, 1.0, seed=2)
    before = torch.einsum("bim,iom->bio", basis(x_test), coef)
    new_coef = basis.refit(x_fit, coef, basis.refined_nodes(10))
    after = torch.einsum("bim,iom->bio", basis(x_test), new_coef)
    assert basis.grid_size == 10 and new_coef.shape == (3, 4, 13)
    assert (after - before).abs().max() <= 1e-6 * before.abs().max()


def test_grid_update_follows_samples_and_keeps_the_function():
    torch.manual_seed(0)
    basis = BSpline(n_in=2, grid_size=8, order=3, grid_range=(-1, 1))
    coef = torch.randn(2, 1, basis.n_basis) * 0.1 + basis.identity_coefficients()[:, None, :]
    x = 0.5 * sample(2000, 2, -1, 1) ** 3  # concentrated near 0, range [-0.5, 0.5]
    before = torch.einsum("bim,iom->bio", basis(x), coef)
    new_coef = basis.refit(x, coef, basis.adaptive_nodes(x, eps=0.02))
    after = torch.einsum("bim,iom->bio", basis(x), new_coef)
    lo, hi = basis.fit_range().unbind(-1)
    assert torch.allclose(lo, x.min(0).values) and torch.allclose(hi, x.max(0).values)
    assert (after - before).abs().max() < 1e-2 * before.abs().max()


def test_refit_is_bitwise_reproducible():
    def once():
        torch.manual_seed(3)
        basis = BSpline(n_in=4, grid_size=5, order=3)
        coef = torch.randn(4, 6, basis.n_basis)
        return basis.refit(sample(777, 4, seed=5), coef, basis.refined_nodes(20))

    assert torch.equal(once(), once())


def test_unknown_basis_names_the_key_and_choices():
    with pytest.raises(ConfigError, match=r"model.basis: unknown basis 'fourier'; choices: bspline, chebyshev, rbf"):
        make_basis("fourier", 2, OPTIONS)


@pytest.mark.parametrize("name", BASES.names())
def test_every_basis_takes_keyword_arguments_and_checks_them(name):
    cls = BASES.get(name)
    basis = cls()
    assert basis.n_in == 1 and basis.options == cls.Options()
    copy = basis.for_inputs(3)
    assert copy.n_in == 3 and copy.options == basis.options and copy.n_basis == basis.n_basis
    bad = {"bspline": {"order": 0}, "chebyshev": {"degree": 0}, "rbf": {"grid_range": [1.0, -1.0]}}[name]
    key = next(iter(bad))
    with pytest.raises(ConfigError, match=rf"^{key}: "):
        cls(**bad)
    with pytest.raises(ConfigError, match=r"^nope: not an option of the"):
        cls(nope=1)
