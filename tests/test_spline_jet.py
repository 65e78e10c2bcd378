"""The fused uniform B-spline layer (nets/spline_jet.py) against the plain basis-row path.

The plain path builds every basis function by Cox-de Boor (or its closed-form derivatives) and
lets autograd differentiate it; the fused path uses polynomial pieces and a hand-written backward.
Values, jets and every gradient must agree to round-off in float64.
"""
from __future__ import annotations

import pytest
import torch
from kanpde.nets import KAN, BSpline
from kanpde.nets.jet import Jet

pytestmark = pytest.mark.usefixtures("float64")

PAIRS = {"values": None, "first": (), "laplacian": ((0, 0), (1, 1)), "hessian": ((0, 0), (0, 1), (1, 1)),
         "mixed": ((0, 1),)}


def rel(a: torch.Tensor, b: torch.Tensor) -> float:
    a, b = a.detach(), b.detach()
    return float((a - b).abs().max() / b.abs().max().clamp_min(1e-300))


def plain_jet(layer, jet: Jet) -> torch.Tensor:
    """The reference: basis rows of every jet component (autograd through the basis) times W."""
    c, n = jet.data.shape[:2]
    out = (layer.jet_rows(jet) @ layer.weight()).reshape(c, n, layer.n_out)
    if layer.base is not None:
        from kanpde.nets.jet import UNIT_DERIVATIVES
        out = out + (jet.chain(UNIT_DERIVATIVES["silu"](jet.value)) @ layer.base_weight())
    return out


def curved_jet(x: torch.Tensor, pairs) -> tuple[Jet, torch.Tensor]:
    """A jet with nonzero first and second partials (as a hidden layer sees), and its leaf."""
    leaf = Jet.affine_input(x, torch.tensor([1.3, -0.7]), pairs).data.clone().requires_grad_(True)
    data = leaf + 0.3 * torch.sin(3 * leaf.detach()) * leaf
    return Jet(data, 2, tuple(pairs)), leaf


@pytest.mark.parametrize("order", [1, 2, 3, 4, 5, 6])
@pytest.mark.parametrize("n_out", [1, 3])
@pytest.mark.parametrize("kind", list(PAIRS))
@pytest.mark.parametrize("base", [False, True])
def test_fused_layer_equals_the_basis_rows(order, n_out, kind, base):
    torch.manual_seed(order + 10 * n_out)
    layer = KAN([2, n_out], basis=BSpline(grid_size=4, order=order), base_activation=base).layers[0]
    with torch.no_grad():
        layer.scale.uniform_(0.5, 1.5)
        if base:
            layer.base.normal_()
    # inside, outside on both sides (the splines vanish beyond the extended knots), on knots
    x = torch.cat([torch.rand(60, 2) * 4 - 2, torch.tensor([[-1.0, 1.0], [0.5, -0.5], [-2.5, 2.5]])])
    pairs = PAIRS[kind]
    if pairs is None:
        leaf = x.clone().requires_grad_(True)
        z = leaf * torch.tensor([1.1, 0.9])
        fused = layer.fused(z.T[:, None, :], 0, ())[:, 0].T
        reference = layer(z)
    else:
        jet, leaf = curved_jet(x, pairs)
        fused = layer.fused(jet.data.permute(2, 0, 1), jet.d, jet.pairs).permute(1, 2, 0)
        reference = plain_jet(layer, jet)
    assert rel(fused, reference) < 1e-12
    weights = torch.randn_like(reference)
    params = [leaf, *layer.parameters()]
    expected = torch.autograd.grad((reference * weights).sum(), params, retain_graph=True)
    got = torch.autograd.grad((fused * weights).sum(), params)
    for name, g, e in zip(["input", *dict(layer.named_parameters())], got, expected):
        assert rel(g, e) < 1e-10, name


def test_network_values_fused_and_plain_agree_with_their_gradients():
    torch.manual_seed(1)
    net = KAN([2, 5, 4, 1], basis=BSpline(grid_size=6, order=3))
    x = torch.rand(80, 2) * 2.2 - 1.1
    fused = net(x)  # inputs without grad: the fused layers
    plain = net(x.clone().requires_grad_(True))  # nested-autograd ready: the plain layers
    assert rel(fused, plain) < 1e-12
    for g, e in zip(torch.autograd.grad(fused.sum(), list(net.parameters())),
                    torch.autograd.grad(plain.sum(), list(net.parameters()))):
        assert rel(g, e) < 1e-10


def test_pruned_edges_stay_pruned_in_the_fused_path():
    torch.manual_seed(2)
    net = KAN([2, 4, 1], basis=BSpline(order=3))
    net.layers[0].mask[0, 1:] = 0
    net.layers[1].mask[2, 0] = 0
    x = torch.rand(30, 2) * 2 - 1
    assert rel(net(x), net(x.clone().requires_grad_(True))) < 1e-12
    jet = Jet.affine_input(x, torch.ones(2), ((0, 0), (1, 1)))
    reference = jet
    for layer in net.layers:
        reference = Jet(plain_jet(layer, reference), 2, reference.pairs)
    assert rel(net.jet(jet).data, reference.data) < 1e-12


def test_tables_follow_the_knots_through_grid_extension_and_update():
    torch.manual_seed(3)
    net = KAN([2, 3, 1], basis=BSpline(grid_size=3, order=3))
    x = torch.rand(200, 2) * 2 - 1
    basis = net.layers[0].basis
    before = basis.tables()
    assert basis.tables() is before  # cached while the knots stay
    net.extend_grid(x, 6)  # still uniform: new tables, still fused
    assert net.fusable and basis.tables() is not before and basis.tables().n_basis == 6 + basis.order
    assert rel(net(x), net(x.clone().requires_grad_(True))) < 1e-12
    net.update_grid(x)  # knots follow the samples: not uniform, the plain path takes over
    assert not net.fusable
    assert rel(net(x), net(x.clone().requires_grad_(True))) < 1e-12
