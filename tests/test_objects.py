"""A run built from plain Python objects: a KAN or an MLP, a problem, phases and a weighting given
to kanpde.solve as objects train exactly as the configs that name them, and reload."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import kanpde
from kanpde import ConfigError
from kanpde.geometry import Interval
from kanpde.nets import KAN, KKAN, MLP, BSpline, Chebyshev
from kanpde.pde import Dirichlet, HardConstraint, Problem
from kanpde.problems import Burgers1D, Poisson2D
from kanpde.training import LBFGS, Adam, ResidualAttention

pytestmark = pytest.mark.usefixtures("float64")
SMALL = {"sampler": {"n_interior": 64, "n_boundary": 32}, "output": {"progress": False, "figures": False}}


def flat(solution) -> torch.Tensor:
    return torch.cat([p.detach().reshape(-1) for p in solution.net.parameters()])


@pytest.mark.slow
@pytest.mark.parametrize("make, overrides", [
    (lambda: KAN([2, 5, 1], basis=BSpline(grid_size=4, order=3)),
     ["model=kan", "model.hidden=[5]", "model.grid_size=4", "model.order=3"]),
    (lambda: KAN([2, 4, 1], basis=Chebyshev(degree=3), base_activation=True),
     ["model=kan", "model.hidden=[4]", "model.basis=chebyshev", "model.degree=3", "model.base_activation=true"]),
    (lambda: MLP([2, 8, 8, 1], "sin"), ["model=mlp", "model.hidden=[8,8]", "model.activation=sin"]),
    (lambda: KKAN([2, 6, 3, 1], basis=Chebyshev(degree=4)), ["model=kkan", "model.hidden=[6,3]", "model.degree=4"]),
], ids=["kan_bspline", "kan_chebyshev", "mlp", "kkan"])
def test_a_network_object_trains_as_its_config_does(tmp_path, make, overrides):
    """Built after the seed, under the run's dtype, the object is the network the config builds:
    the two runs are bitwise the same, and the object's run reloads from its recorded config."""
    phases = [Adam(steps=30, lr=5e-3), LBFGS(steps=15)]
    torch.manual_seed(0)
    net = make()
    before = [p.detach().clone() for p in net.parameters()]
    mine = kanpde.solve(Poisson2D(), net, phases=phases, weighting=ResidualAttention(eta=0.05), run_dir=tmp_path / "obj",
                        **SMALL)
    model, *keys = overrides
    named = kanpde.solve(Poisson2D(), model.split("=")[1], overrides=keys, phases=phases,
                         weighting=ResidualAttention(eta=0.05), **SMALL)
    assert all(torch.equal(a, b) for a, b in zip(before, net.parameters()))  # the caller's object is untouched
    assert np.array_equal(mine.history["loss"], named.history["loss"]) and torch.equal(flat(mine), flat(named))
    assert mine.history["loss"][-1] < 0.5 * mine.history["loss"][0] and mine.metrics["model"] == model.split("=")[1]
    assert mine.metrics["network"] == type(net).family
    again = kanpde.load(tmp_path / "obj")
    x = torch.rand(50, 2, dtype=torch.float64) * 2 - 1
    assert torch.equal(again(x), mine(x))


def test_a_hard_constrained_problem_from_objects_meets_its_conditions_exactly():
    problem = Burgers1D(constraints="hard")
    sol = kanpde.solve(problem, MLP([2, 10, 10, 1]), phases=[Adam(steps=40)], **SMALL)
    x = torch.linspace(-1, 1, 21, dtype=torch.float64)
    initial = sol(torch.stack([x, torch.zeros_like(x)], dim=1))[:, 0]
    walls = sol(torch.tensor([[-1.0, 0.3], [1.0, 0.7]], dtype=torch.float64))[:, 0]
    assert torch.allclose(initial, -torch.sin(torch.pi * x), atol=1e-14) and walls.abs().max() < 1e-14
    assert sol.metrics["adam_steps"] == 40 and list(sol.config.optim.phases) == ["adam"]


class Bar(Problem):
    """-u'' = pi^2 sin(pi x) on [0, 1] with u = 0 at both ends, met exactly by u = x (1 - x) N(x)
    when ``hard``; exact u = sin(pi x)."""

    inputs, outputs = ("x",), ("u",)

    def __init__(self, hard: bool = True, replaces: tuple = ("boundary",)):
        super().__init__()
        self.domain = Interval(0.0, 1.0)
        self.conditions = [Dirichlet("boundary", value=0.0)]
        if hard:
            self.hard_constraint = HardConstraint(lambda x: (torch.zeros_like(x), x * (1 - x)), replaces=replaces)

    def residual(self, x, u, d):
        return -d("u", "x", "x") - torch.pi**2 * torch.sin(torch.pi * x[:, 0])

    def exact(self, x):
        return torch.sin(torch.pi * x)


def test_a_users_hard_constraint_object_replaces_its_condition():
    """A problem of the user's own with a HardConstraint object and a KAN object: the boundary
    leaves the loss and holds to round-off; the soft variant keeps it as a term."""
    problem = Bar()
    assert problem.soft_conditions == [] and problem.term_names == ["pde"]
    assert Bar(hard=False).term_names == ["pde", "boundary"]
    sol = kanpde.solve(problem, KAN([1, 6, 1], basis=BSpline(grid_size=5)), phases=[Adam(steps=60, lr=1e-2),
                                                                                  LBFGS(steps=40)], **SMALL)
    assert set(sol.metrics["final_loss_terms"]) == {"pde"} and sol.metrics["rel_l2"] < 1e-2
    ends = sol(torch.tensor([[0.0], [1.0]], dtype=torch.float64))
    assert ends.abs().max() < 1e-14
    with pytest.raises(ConfigError, match=r"^hard_constraint: replaces 'walls', which is no condition; conditions: "
                                          r"boundary$"):
        kanpde.solve(Bar(replaces=("walls",)), "mlp", **SMALL)


def test_a_network_that_does_not_fit_the_problem_is_refused():
    with pytest.raises(ConfigError, match=r"^model: KAN widths \[3, 4, 1\] do not fit Poisson2D: it needs 2 inputs"):
        kanpde.solve(Poisson2D(), KAN([3, 4, 1]), **SMALL)
    with pytest.raises(ConfigError, match=r"^widths: layer widths must be positive"):
        MLP([2, 0, 1])
    with pytest.raises(ConfigError, match=r"^basis: expected a Basis"):
        KAN([2, 1], basis="bspline")
