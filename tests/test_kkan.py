"""KKAN (nets/kkan.py): the Kolmogorov-Arnold form with inner MLPs of one input each."""
from __future__ import annotations

import math

import pytest
import torch
from kanpde.errors import ConfigError
from kanpde.nets import KKAN, BSpline

pytestmark = pytest.mark.usefixtures("float64")


def test_each_inner_block_sees_its_own_input_only():
    """Before the sum over the inputs, block p of the inner features is a function of x_p alone:
    its Jacobian in every other input is zero, and the features are the sum of the blocks."""
    torch.manual_seed(0)
    net = KKAN([3, 6, 6, 4, 2])
    x = torch.rand(5, 3) * 2 - 1

    def blocks(x):
        h = x
        for i, layer in enumerate(net.inner):
            h = layer(h)
            if i < len(net.inner) - 1:
                h = torch.tanh(h)
        return h.reshape(x.shape[0], 3, 4)

    jac = torch.autograd.functional.jacobian(lambda y: blocks(y[None])[0], x[0])  # (3, 4, 3)
    for p in range(3):
        for other in range(3):
            if other != p:
                assert float(jac[p, :, other].abs().max()) == 0.0
        assert float(jac[p, :, p].abs().max()) > 0
    assert torch.allclose(net.features(x), blocks(x).sum(1))


def test_it_learns_a_function_of_kolmogorov_arnold_form():
    """u = exp(sin(pi x) + y^2 - 1) is g(psi_1(x) + psi_2(y)): a small KKAN (251 parameters) fits it
    by L-BFGS to 5e-3 relative L2 on fresh points (measured 3.3e-3; an MLP [2, 16, 16, 1], 337
    parameters, 2.1e-3)."""
    torch.manual_seed(1)
    gen = torch.Generator().manual_seed(2)
    x, test = torch.rand(400, 2, generator=gen) * 2 - 1, torch.rand(400, 2, generator=gen) * 2 - 1

    def target(x):
        return torch.exp(torch.sin(math.pi * x[:, :1]) + x[:, 1:] ** 2 - 1)

    net = KKAN([2, 8, 8, 3, 1])
    opt = torch.optim.LBFGS(net.parameters(), max_iter=1500, tolerance_grad=1e-14, tolerance_change=1e-16,
                            history_size=50, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = (net(x) - target(x)).pow(2).mean()
        loss.backward()
        return loss

    opt.step(closure)
    error = float((net(test) - target(test)).detach().norm() / target(test).norm())
    assert error < 5e-3, error


def test_bad_widths_and_options_are_one_line():
    with pytest.raises(ConfigError, match="number of inner features"):
        KKAN([2, 1])
    with pytest.raises(ConfigError, match="activation"):
        KKAN.from_config({"hidden": [4, 3], "activation": "relu6"}, [2, 4, 3, 1])
    net = KKAN.from_config({"hidden": [4, 3], "basis": "bspline", "grid_size": 4}, [2, 4, 3, 1])
    assert isinstance(net.outer.basis, BSpline) and net.config()["grid_size"] == 4
