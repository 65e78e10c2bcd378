"""Conditions against closed forms, the checks on boundary and field names, the periodic input
embedding (exact periodicity, jets equal autograd), and unknown coefficients."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from kanpde.training.collocation import collocation_points
from kanpde.errors import ConfigError
from kanpde.geometry import Box, Disk, Interval, SpaceTime
from kanpde.pde import Dirichlet, Initial, InitialRate, Neumann, Periodic, PointData, Robin, condition_data, derivatives
from kanpde.problems import Advection1D, Heat1DInverse, Poisson2D

from helpers import PROBLEMS, make_config, make_problem, net_for, train

pytestmark = pytest.mark.usefixtures("float64")


def residual_of(condition, domain, fn, inputs, outputs=("u",), n=64):
    x = condition.sample(domain, n, "sobol", 0)
    data = {k: torch.as_tensor(v) for k, v in condition.point_data(domain, x).items()}
    d = derivatives("autograd", fn, torch.as_tensor(x), inputs, outputs, order=max(condition.order, 1))
    return condition.residual(d.x, d, data)


def test_neumann_and_robin_on_a_disk_use_the_outward_normal():
    disk = Disk([0.5, -0.2], 2.0)

    def u(x):  # u = x y^2: grad u = (y^2, 2 x y)
        return (x[:, 0] * x[:, 1] ** 2)[:, None]

    def dudn(x):
        n = (x - torch.tensor([0.5, -0.2])) / 2.0
        return x[:, 1] ** 2 * n[:, 0] + 2 * x[:, 0] * x[:, 1] * n[:, 1]

    assert residual_of(Neumann(value=dudn), disk, u, ("x", "y")).abs().max() < 1e-12
    robin = Robin(alpha=2.0, beta=-3.0, value=lambda x: 2 * u(x)[:, 0] - 3 * dudn(x))
    assert residual_of(robin, disk, u, ("x", "y")).abs().max() < 1e-12
    assert residual_of(Neumann(value=0.0), disk, u, ("x", "y")).abs().max() > 0.1


def test_neumann_on_one_face_of_a_box():
    box = Box([0.0, 0.0], [2.0, 1.0])
    cond = Neumann("right", value=lambda x: 3 * x[:, 0] ** 2, on="x_hi")  # u = x^3: du/dn = 3 x^2 on x = 2
    r = residual_of(cond, box, lambda x: x[:, :1] ** 3, ("x", "y"))
    assert r.abs().max() < 1e-12


def test_initial_value_and_rate():
    domain = SpaceTime(Interval(0.0, 1.0), 0.0, 2.0)

    def u(x):  # u = sin(pi x) cos(3 t) + t sin(x): u(0, x) = sin(pi x), u_t(0, x) = sin(x)
        return (torch.sin(math.pi * x[:, 0]) * torch.cos(3 * x[:, 1]) + x[:, 1] * torch.sin(x[:, 0]))[:, None]

    initial = Initial(value=lambda x: torch.sin(math.pi * x[:, 0]))
    assert residual_of(initial, domain, u, ("x", "t")).abs().max() < 1e-14
    rate = InitialRate(value=lambda x: torch.sin(x[:, 0]))
    assert residual_of(rate, domain, u, ("x", "t")).abs().max() < 1e-14
    assert np.allclose(initial.sample(domain, 10, "sobol", 0)[:, 1], 0.0)


def test_periodic_pairs_points_and_penalises_jumps():
    domain = SpaceTime(Interval(0.0, 2 * math.pi), 0.0, 1.0)
    cond = Periodic(axis="x", order=1)
    x = cond.sample(domain, 20, "sobol", 0)
    assert x.shape == (40, 2) and np.allclose(x[:20, 0], 0) and np.allclose(x[20:, 0], 2 * math.pi)
    assert np.array_equal(x[:20, 1], x[20:, 1])
    periodic = residual_of(cond, domain, lambda x: torch.sin(x[:, :1] - 3 * x[:, 1:]), ("x", "t"), n=20)
    assert periodic.shape == (40,) and periodic.abs().max() < 1e-12
    assert residual_of(cond, domain, lambda x: x[:, :1] * x[:, 1:], ("x", "t")).abs().max() > 0.5


def test_point_data_returns_its_own_points_and_values():
    pts, vals = np.array([[0.1, 0.2], [0.3, 0.4]]), np.array([1.0, 2.0])
    cond = PointData("obs", pts, vals)
    r = residual_of(cond, Box([0, 0], [1, 1]), lambda x: x.sum(dim=1, keepdim=True), ("x", "y"))
    assert torch.allclose(r, torch.tensor([0.3 - 1.0, 0.7 - 2.0]))
    with pytest.raises(ValueError, match="PointData 'bad' needs points"):
        PointData("bad", pts, vals[:1])


def test_collocation_carries_per_point_data_under_the_condition_name():
    problem = Poisson2D()
    problem.domain = Disk([0.0, 0.0], 1.0)
    problem.conditions = [Neumann("flux")]
    pts = collocation_points(problem, 32, 16, "sobol", 0)
    assert set(pts) == {"pde", "flux", "flux/normal"}
    assert np.allclose(pts["flux/normal"], pts["flux"])  # the unit circle's normal is the point itself
    assert set(condition_data(pts, "flux")) == {"normal"}


def test_a_condition_on_a_missing_boundary_or_field_is_one_clear_error():
    problem = Poisson2D()
    problem.conditions = [Dirichlet("left", on="left")]
    with pytest.raises(ConfigError, match=r"conditions.left: is on the boundary 'left', which the domain \(Box\) "
                                          r"lacks; its boundaries: boundary, x_lo, x_hi, y_lo, y_hi"):
        problem.check()
    problem.conditions = [Dirichlet("boundary", field="w")]
    with pytest.raises(ConfigError, match="names the field 'w', which the problem lacks; its fields: u"):
        problem.check()


@pytest.mark.parametrize("model", ["kan", "mlp", "kkan"])
def test_periodic_embedding_is_exactly_periodic_and_its_jets_match_autograd(model):
    cfg = make_config(f"model={model}").model
    torch.manual_seed(0)
    net = net_for(Advection1D(), cfg)  # x in [0, 2 pi] periodic, t in [0, 1]
    t = torch.rand(50, 1)
    lo, hi = torch.cat([torch.zeros(50, 1), t], 1), torch.cat([torch.full((50, 1), 2 * math.pi), t], 1)
    assert torch.allclose(net(lo), net(hi), atol=1e-12)
    x = torch.rand(40, 2) * torch.tensor([2 * math.pi, 1.0])
    jet = derivatives("jet", net, x, ("x", "t"), ("u",))
    auto = derivatives("autograd", net, x, ("x", "t"), ("u",))
    for wrt in [(), ("x",), ("t",), ("x", "x"), ("t", "t"), ("x", "t")]:
        assert torch.allclose(jet("u", *wrt), auto("u", *wrt), rtol=1e-10, atol=1e-10), wrt


def test_unknowns_train_with_the_network_and_are_reported(tmp_path):
    cfg = make_config("problem=heat1d_inverse", "model=mlp_small", "optim.adam.steps=30", "optim.lbfgs.steps=5",
                      "sampler.n_interior=64", "sampler.n_boundary=32", "output.figures=false",
                      "output.progress=false")
    metrics = train(cfg, tmp_path, "heat1d_inverse", "mlp_small")
    assert metrics["unknowns_true"] == {"kappa": 1.0}
    assert metrics["unknowns"]["kappa"] != 0.5  # it moved from the first guess
    assert Heat1DInverse().unknowns["kappa"].item() == 0.5


@pytest.mark.parametrize("model", ["kan", "mlp", "kkan"])
def test_hard_constraint_meets_the_conditions_exactly_and_its_jets_match_autograd(model):
    from kanpde.problems import Burgers1D

    problem = Burgers1D(constraints="hard")
    assert problem.hard_constraint.replaces == ("boundary", "initial") and problem.soft_conditions == []
    torch.manual_seed(0)
    net = net_for(problem, make_config(f"model={model}").model)
    edge = torch.as_tensor(problem.domain.sample_boundary(50, "sobol", 0))
    start = torch.as_tensor(problem.domain.sample_boundary(50, "sobol", 0, part="initial"))
    assert net(edge).abs().max() < 1e-12
    assert torch.allclose(net(start)[:, 0], -torch.sin(math.pi * start[:, 0]), atol=1e-12)
    x = torch.as_tensor(problem.domain.sample_interior(40, "sobol", 1))
    jet = derivatives("jet", net, x, ("x", "t"), ("u",))
    auto = derivatives("autograd", net, x, ("x", "t"), ("u",))
    for wrt in [(), ("x",), ("t",), ("x", "x"), ("t", "t"), ("x", "t")]:
        assert torch.allclose(jet("u", *wrt), auto("u", *wrt), rtol=1e-10, atol=1e-10), wrt
    assert problem.loss_weights() == {"pde": 1.0}  # the replaced terms' weights are accepted and unused
    with pytest.raises(ConfigError, match="problem.constraints: must be soft or hard, got 'exact'"):
        Burgers1D(constraints="exact")


HARD = [name for name in PROBLEMS if "constraints" in make_config(f"problem={name}").problem]


@pytest.mark.slow
@pytest.mark.parametrize("name", HARD)
def test_every_hard_constraint_meets_the_conditions_it_replaces(name):
    """The soft variant's condition residuals, evaluated on a hard-constrained network, vanish."""
    soft = make_problem(name, "problem.constraints=soft")
    hard = make_problem(name, "problem.constraints=hard")
    replaced = hard.hard_constraint.replaces
    assert replaced and set(replaced) <= {c.name for c in soft.conditions}
    torch.manual_seed(0)
    net = net_for(hard, make_config("model=mlp").model)
    points = {k: torch.as_tensor(v) for k, v in collocation_points(soft, 64, 64, "sobol", 0).items()}
    for c in soft.conditions:
        if c.name in replaced:
            d = derivatives("autograd", net, points[c.name], soft.inputs, soft.outputs, order=max(c.order, 1))
            r = c.residual(d.x, d, condition_data(points, c.name))
            assert r.abs().max() < 1e-10, (c.name, float(r.abs().max()))
    kan = net_for(hard, make_config("model=kan_small").model)  # the closed-form jets through u = g + phi N
    jet = derivatives("jet", kan, points["pde"], hard.inputs, hard.outputs)
    auto = derivatives("autograd", kan, points["pde"], hard.inputs, hard.outputs)
    for wrt in [(), *((a,) for a in hard.inputs), *((a, b) for a in hard.inputs for b in hard.inputs)]:
        assert torch.allclose(jet("u", *wrt), auto("u", *wrt), rtol=1e-10, atol=1e-10), wrt
