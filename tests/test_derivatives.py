"""Derivative engines: against closed forms, finite differences, and each other."""
from __future__ import annotations

import itertools

import pytest
import torch
from kanpde.errors import KanpdeError
from kanpde.nets import KAN, KKAN, BSpline, Chebyshev, GaussianRBF, MLP, SolutionNet
from kanpde.pde import DERIVATIVES, derivatives

pytestmark = pytest.mark.usefixtures("float64")
INPUTS, OUTPUTS = ("x", "y", "t"), ("u", "v")
ANY_CALLABLE = ("autograd", "func")  # "jet" needs a network with a jet()


def analytic(x):
    """u = sin(x) y^2 e^t, v = x y t: every partial known in closed form."""
    return torch.stack([torch.sin(x[:, 0]) * x[:, 1] ** 2 * torch.exp(x[:, 2]), x.prod(dim=1)], dim=1)


def points(n=40, dim=3, seed=0):
    return torch.rand(n, dim, generator=torch.Generator().manual_seed(seed)) * 2 - 1


@pytest.mark.parametrize("engine", ANY_CALLABLE)
def test_closed_forms(engine):
    x = points()
    d = derivatives(engine, analytic, x, INPUTS, OUTPUTS)
    s, c, y, e = torch.sin(x[:, 0]), torch.cos(x[:, 0]), x[:, 1], torch.exp(x[:, 2])
    expected = {
        ("u",): s * y**2 * e, ("u", "x"): c * y**2 * e, ("u", "y"): 2 * s * y * e, ("u", "x", "x"): -s * y**2 * e,
        ("u", "x", "y"): 2 * c * y * e, ("u", "y", "x"): 2 * c * y * e, ("u", "x", "x", "y"): -2 * s * y * e,
        ("u", "t", "t"): s * y**2 * e, ("v", "x", "y", "t"): torch.ones_like(y), ("v", "x", "x"): torch.zeros_like(y),
    }
    for (field, *wrt), value in expected.items():
        assert torch.allclose(d(field, *wrt), value, atol=1e-12), (field, wrt)
    assert torch.allclose(d.laplacian("u"), -s * y**2 * e + 2 * s * e, atol=1e-12)  # t excluded
    assert torch.allclose(d.grad("v"), torch.stack([y * x[:, 2], x[:, 0] * x[:, 2], x[:, 0] * y], 1), atol=1e-12)


CORES = {
    "kan_bspline": lambda: KAN([3, 4, 2], basis=BSpline(grid_size=5, order=3)),
    "kan_bspline_k2": lambda: KAN([3, 4, 2], basis=BSpline(grid_size=4, order=2)),
    "kan_bspline_k5": lambda: KAN([3, 4, 2], basis=BSpline(grid_size=3, order=5)),
    "kan_chebyshev": lambda: KAN([3, 4, 2], basis=Chebyshev(degree=4)),
    "kan_rbf": lambda: KAN([3, 3, 2], basis=GaussianRBF(grid_size=4)),
    "kan_deep_base": lambda: KAN([3, 3, 3, 2], basis=BSpline(order=3), base_activation=True),
    "kkan": lambda: KKAN([3, 5, 4, 2]),
    "kkan_bspline_silu": lambda: KKAN([3, 4, 3, 2], "silu", BSpline(grid_size=4, order=4)),
    "mlp": lambda: MLP([3, 8, 8, 2]),
    "mlp_fourier_silu": lambda: MLP([3, 6, 2], "silu", fourier_features=4),
    "mlp_sin": lambda: MLP([3, 6, 6, 2], "sin"),
    "mlp_gelu": lambda: MLP([3, 6, 2], "gelu"),
    "mlp_softplus": lambda: MLP([3, 6, 2], "softplus"),
}
NETS = {name: (lambda make=make: SolutionNet(make(), torch.tensor([-1.0, 0.0, 0.0]), torch.tensor([1.0, 2.0, 0.5])))
        for name, make in CORES.items()}
PARTIALS = [w for k in (1, 2, 3, 4) for w in itertools.combinations_with_replacement(INPUTS, k)]


@pytest.mark.slow
@pytest.mark.parametrize("name", NETS)
def test_engines_agree_on_networks(name):
    """Every engine against nested autograd in float64: all partials up to order 4 (func: 3)."""
    torch.manual_seed(0)
    net, x = NETS[name](), points(30)
    a = derivatives("autograd", net, x, INPUTS, OUTPUTS, order=4)
    for engine in DERIVATIVES.names():
        order = 3 if engine == "func" else 4
        e = derivatives(engine, net, x, INPUTS, OUTPUTS, order=order)
        for field, wrt in itertools.product(OUTPUTS, PARTIALS):
            if len(wrt) <= order:
                ref = a(field, *wrt)
                assert torch.allclose(e(field, *wrt), ref, rtol=1e-10, atol=1e-10 * (1 + float(ref.detach().abs().max()))), \
                    (engine, field, wrt)


def test_jets_refuse_orders_they_were_not_built_for():
    net, x = NETS["kan_bspline"](), points(5)
    with pytest.raises(KanpdeError, match="order 2 was asked for, above the declared order 1"):
        derivatives("jet", net, x, INPUTS, OUTPUTS, order=1)("u", "x", "x")
    with pytest.raises(KanpdeError, match="order <= 4"):
        derivatives("jet", net, x, INPUTS, OUTPUTS, order=5)


def test_auto_picks_jets_for_kans_and_autograd_for_mlps():
    x = points(5)
    assert type(derivatives("auto", NETS["kan_rbf"](), x, INPUTS, OUTPUTS)).__name__ == "JetDerivatives"
    assert type(derivatives("auto", NETS["mlp"](), x, INPUTS, OUTPUTS)).__name__ == "AutogradDerivatives"
    assert type(derivatives("auto", NETS["kan_rbf"](), x, INPUTS, OUTPUTS, order=4)).__name__ == "JetDerivatives"
    assert type(derivatives("auto", NETS["kan_rbf"](), x, INPUTS, OUTPUTS, order=5)).__name__ == "AutogradDerivatives"


@pytest.mark.parametrize("name", NETS)
def test_second_partials_match_finite_differences(name):
    torch.manual_seed(1)
    net, x, h = NETS[name](), points(30), 1e-4
    d = derivatives("autograd", net, x, INPUTS, OUTPUTS)
    e = torch.eye(3) * h
    u = lambda z: net(z)[:, 0].detach()  # noqa: E731
    for i, j in [(0, 0), (0, 1), (2, 1)]:
        fd = (u(x + e[i] + e[j]) - u(x + e[i] - e[j]) - u(x - e[i] + e[j]) + u(x - e[i] - e[j])) / (4 * h * h)
        assert torch.allclose(d("u", INPUTS[i], INPUTS[j]), fd, atol=1e-5 * (1 + float(fd.abs().max())))


@pytest.mark.parametrize("engine", DERIVATIVES.names())
def test_parameter_gradients_flow_through_derivatives(engine):
    torch.manual_seed(2)
    net = NETS["kan_deep_base"]()
    loss = derivatives(engine, net, points(20), INPUTS, OUTPUTS).laplacian("u").pow(2).mean()
    loss.backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in net.parameters())
    assert sum(float(p.grad.abs().sum()) for p in net.parameters()) > 0


@pytest.mark.parametrize("name", NETS)
def test_parameter_gradients_agree_between_engines(name):
    """A Laplacian + mixed-partial loss differentiated in the parameters: jets (with their
    closed-form basis backward) against nested autograd, float64."""
    torch.manual_seed(3)
    net, x = NETS[name](), points(25)

    def grads(engine):
        net.zero_grad()
        d = derivatives(engine, net, x, INPUTS, OUTPUTS, order=2)
        loss = (d.laplacian("u") ** 2).mean() + (d("v", "x", "t") * d("u")).mean() + d.grad("v").pow(2).mean()
        loss.backward()
        return [p.grad.clone() for p in net.parameters()]

    for g_jet, g_ref in zip(grads("jet"), grads("autograd")):
        assert torch.allclose(g_jet, g_ref, rtol=1e-9, atol=1e-10 * (1 + float(g_ref.abs().max())))


def test_unknown_names_are_clear():
    d = derivatives("autograd", analytic, points(5), INPUTS, OUTPUTS)
    with pytest.raises(KanpdeError, match="unknown output field 'w'"):
        d("w")
    with pytest.raises(KanpdeError, match="unknown input 'z'"):
        d("u", "z")


@pytest.mark.parametrize("name", ["kan_bspline", "kan_chebyshev", "kan_rbf", "kan_deep_base", "mlp", "mlp_fourier_silu",
                                  "mlp_sin", "mlp_gelu", "mlp_softplus"])
def test_pure_higher_partials_of_the_first_jet_pass(name):
    """Order 4: the first pass carries only the pure partials (u_xxx, u_tttt, ...): each against
    nested autograd in float64, before any mixed partial makes the engine propagate them all."""
    torch.manual_seed(4)
    net, x = NETS[name](), points(20)
    a = derivatives("autograd", net, x, INPUTS, OUTPUTS, order=4)
    jet = derivatives("jet", net, x, INPUTS, OUTPUTS, order=4)
    assert jet.jet.higher == tuple((k,) * r for r in (3, 4) for k in range(3))
    for field, var, r in itertools.product(OUTPUTS, INPUTS, (3, 4)):
        ref = a(field, *([var] * r))
        assert torch.allclose(jet(field, *([var] * r)), ref, rtol=1e-10, atol=1e-10 * (1 + float(ref.detach().abs().max())))
    assert jet.jet.higher == tuple((k,) * r for r in (3, 4) for k in range(3))  # no second pass


@pytest.mark.parametrize("name", ["kan_bspline", "kan_chebyshev", "kan_rbf", "kan_deep_base", "mlp_fourier_silu"])
def test_parameter_gradients_of_third_and_fourth_order_residuals(name):
    """A KdV- and Kuramoto-Sivashinsky-like loss (u_xxx, u_xxxx, a mixed u_xxt) differentiated in
    the parameters: jets against nested autograd, float64."""
    torch.manual_seed(5)
    net, x = NETS[name](), points(20)

    def grads(engine):
        net.zero_grad()
        d = derivatives(engine, net, x, INPUTS, OUTPUTS, order=4)
        loss = ((d("u", "t") + d("u") * d("u", "x") + d("u", "x", "x", "x")) ** 2).mean() \
            + ((d("v", "x", "x") + d("v", "x", "x", "x", "x")) ** 2).mean() + d("u", "x", "x", "t").pow(2).mean()
        loss.backward()
        return [p.grad.clone() for p in net.parameters()]

    for g_jet, g_ref in zip(grads("jet"), grads("autograd")):
        assert torch.allclose(g_jet, g_ref, rtol=1e-9, atol=1e-10 * (1 + float(g_ref.abs().max())))


@pytest.mark.parametrize("core", [lambda: KAN([4, 4, 2], basis=BSpline(grid_size=5, order=3)), lambda: MLP([4, 8, 2])],
                         ids=["kan_bspline", "mlp"])
def test_fourth_order_jets_through_periodic_inputs_and_a_hard_constraint(core):
    """u = g + phi * net with x periodic: the lift's jets (nested autograd, of_function) and the
    product (Leibniz to fourth order) against nested autograd through the whole net, float64."""
    torch.manual_seed(6)

    def constraint(x):
        g = torch.stack([torch.sin(x[:, 0]) * x[:, 2], x[:, 1] ** 3], 1)
        phi = torch.stack([x[:, 2] * (1 - x[:, 1] ** 2), torch.exp(x[:, 0] * x[:, 1])], 1)
        return g, phi

    net = SolutionNet(core(), torch.tensor([-1.0, 0.0, 0.0]), torch.tensor([1.0, 2.0, 0.5]),
                      periodic={0: 2.0}, constraint=constraint)
    x = points(20)
    a = derivatives("autograd", net, x, INPUTS, OUTPUTS, order=4)
    jet = derivatives("jet", net, x, INPUTS, OUTPUTS, order=4)
    for field, wrt in itertools.product(OUTPUTS, PARTIALS):
        ref = a(field, *wrt)
        assert torch.allclose(jet(field, *wrt), ref, rtol=1e-10, atol=1e-10 * (1 + float(ref.detach().abs().max()))), \
            (field, wrt)


@pytest.mark.parametrize("base_activation", [False, True])
def test_fused_fourth_order_jets_of_a_one_output_kan(base_activation):
    """The fused B-spline layer's one-output route (edge functions' derivatives, bincount
    backward) and its several-output route, both with partials of order 3-4: values and parameter
    gradients of a fourth-order loss against nested autograd through the unfused layers, float64."""
    torch.manual_seed(7)
    core = KAN([3, 4, 3, 1], basis=BSpline(grid_size=4, order=3), base_activation=base_activation)
    net = SolutionNet(core, torch.tensor([-1.0, 0.0, 0.0]), torch.tensor([1.0, 2.0, 0.5]))
    x = points(25)

    def run(engine):
        net.zero_grad()
        d = derivatives(engine, net, x, INPUTS, ("u",), order=4)
        values = [d("u", *wrt) for wrt in PARTIALS]
        loss = (d("u", "x", "x", "x") + d("u") * d("u", "x")).pow(2).mean() + d("u", "y", "y", "y", "y").pow(2).mean() \
            + d("u", "x", "x", "t").pow(2).mean()
        loss.backward()
        return values, [p.grad.clone() for p in net.parameters()]

    (v_jet, g_jet), (v_ref, g_ref) = run("jet"), run("autograd")
    for wrt, a, b in zip(PARTIALS, v_jet, v_ref):
        assert torch.allclose(a, b, rtol=1e-10, atol=1e-10 * (1 + float(b.detach().abs().max()))), wrt
    for a, b in zip(g_jet, g_ref):
        assert torch.allclose(a, b, rtol=1e-9, atol=1e-10 * (1 + float(b.abs().max())))


@pytest.mark.parametrize("name", ["kan_deep_base", "kan_chebyshev"])
@pytest.mark.parametrize("order", [2, 4])
def test_a_jet_through_the_layers_in_chunks_of_points_gives_the_same_numbers(name, order, monkeypatch):
    """The layers take a jet a few points at a time (here chunks of 7, the last one shorter):
    values and parameter gradients against nested autograd, float64, fused and basis-row layers."""
    from kanpde.nets import kan

    monkeypatch.setattr(kan, "JET_CHUNK_POINTS", 7)
    torch.manual_seed(8)
    net, x = NETS[name](), points(31)

    def run(engine):
        net.zero_grad()
        d = derivatives(engine, net, x, INPUTS, OUTPUTS, order=order)
        values = [d(field, *wrt) for field in OUTPUTS for wrt in PARTIALS if len(wrt) <= order]
        loss = sum(v.pow(2).mean() for v in values)
        loss.backward()
        return values, [p.grad.clone() for p in net.parameters()]

    (v_jet, g_jet), (v_ref, g_ref) = run("jet"), run("autograd")
    for a, b in zip(v_jet, v_ref):
        assert torch.allclose(a, b, rtol=1e-10, atol=1e-10 * (1 + float(b.detach().abs().max())))
    for a, b in zip(g_jet, g_ref):
        assert torch.allclose(a, b, rtol=1e-9, atol=1e-10 * (1 + float(b.abs().max())))
