"""Every shipped problem: its reference satisfies the PDE and the conditions; the API checks names."""
from __future__ import annotations

import pytest
import torch
from helpers import PROBLEMS, make_problem

from kanpde.diff import derivatives
from kanpde.errors import ConfigError
from kanpde.problems import Poisson2D

pytestmark = pytest.mark.usefixtures("float64")


def test_the_foundation_problems_are_shipped():
    assert {"poisson2d", "poisson2d_kan_paper"} <= set(PROBLEMS)


@pytest.mark.parametrize("name", PROBLEMS)
def test_reference_satisfies_pde_and_conditions(name):
    problem = make_problem(name)
    pts = problem.collocation(500, 200, "sobol", seed=0)
    x = torch.as_tensor(pts["pde"])
    d = derivatives("autograd", problem.exact, x, problem.inputs, problem.outputs)
    r = problem.residual(d.x, d.u, d)
    for value in (r.values() if isinstance(r, dict) else [r]):
        assert value.abs().max() < 1e-10
    for c in problem.conditions:
        dc = derivatives("autograd", problem.exact, torch.as_tensor(pts[c.name]), problem.inputs, problem.outputs)
        assert c.residual(dc.x, dc).abs().max() < 1e-10, c.name


@pytest.mark.parametrize("name", PROBLEMS)
def test_test_set_is_the_reference_on_a_grid(name):
    problem = make_problem(name)
    test = problem.test_set()
    assert test.points.shape == (101 ** len(problem.inputs), len(problem.inputs))
    assert test.values.shape == (len(test.points), len(problem.outputs))
    assert test.grid_shape == (101,) * len(problem.inputs)


def test_poisson2d_source_is_minus_laplacian_of_exact():
    problem = Poisson2D()
    x = torch.rand(50, 2) * 2 - 1
    assert torch.allclose(problem.source(x), 2 * torch.pi**2 * problem.exact(x)[:, 0])


def test_weights_name_existing_terms():
    assert Poisson2D({"pde": 0.5}).loss_weights() == {"pde": 0.5, "boundary": 1.0}
    with pytest.raises(ConfigError, match="problem.weights.bc: no loss term named 'bc'; terms: pde, boundary"):
        Poisson2D({"bc": 1.0}).loss_weights()
