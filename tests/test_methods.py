"""The training methods of the hard benchmarks against their papers' definitions: the self-scaled
quasi-Newton updates (secant condition, positive definiteness, faster than L-BFGS on a fixed
budget), RBA multipliers, gradient-norm balancing and causal weights."""
from __future__ import annotations

import copy

import math

import numpy as np
import pytest
import torch
from helpers import make_config, make_problem, net_for
from omegaconf import OmegaConf

from kanpde.errors import ConfigError
from kanpde.problems import Poisson2D
from kanpde.build import build_loop
from kanpde.training import PHASES, Loop, DivergenceGuard
from kanpde.training.quasi_newton import UPDATES, SelfScaledQuasiNewton, inverse_hessian_update
from kanpde.training.weighting import CausalWeights, GradNormWeights, ResidualAttention

pytestmark = pytest.mark.usefixtures("float64")
SMALL = ("sampler.n_interior=64", "sampler.n_boundary=32", "output.progress=false", "model=kan_small")


def curvature_pair(n: int, seed: int):
    """An inverse Hessian approximation H, and the step s = -alpha H g on a quadratic whose true
    Hessian is another positive definite matrix (y = B s)."""
    gen = torch.Generator().manual_seed(seed)
    a, c = torch.randn(n, n, generator=gen), torch.randn(n, n, generator=gen)
    H, B = a @ a.T / n + torch.eye(n), c @ c.T / n + 0.5 * torch.eye(n)
    g = torch.randn(n, generator=gen)
    alpha = 0.7
    s = -alpha * (H @ g)
    return H, s, B @ s, alpha, g


@pytest.mark.parametrize("update", UPDATES)
@pytest.mark.parametrize("seed", range(5))
def test_every_update_meets_the_secant_condition_and_stays_positive_definite(update, seed):
    H, s, y, alpha, g = curvature_pair(12, seed)
    new = inverse_hessian_update(H.clone(), s, y, alpha, g, update)
    assert torch.allclose(new @ y, s, atol=1e-10 * float(new.abs().max() * y.abs().max()))
    assert torch.allclose(new, new.T, atol=1e-12) and float(torch.linalg.eigvalsh(new).min()) > 0


def test_bfgs_is_the_textbook_formula_and_ssbfgs_scales_it():
    H, s, y, alpha, g = curvature_pair(8, 0)
    rho, eye = 1 / float(y @ s), torch.eye(8)
    textbook = (eye - rho * torch.outer(s, y)) @ H @ (eye - rho * torch.outer(y, s)) + rho * torch.outer(s, s)
    assert torch.allclose(inverse_hessian_update(H.clone(), s, y, alpha, g, "bfgs"), textbook, atol=1e-12)
    b = -alpha * rho * float(s @ g)
    tau = min(1.0, 1 / b)
    scaled = (textbook - rho * torch.outer(s, s)) / tau + rho * torch.outer(s, s)
    assert torch.allclose(inverse_hessian_update(H.clone(), s, y, alpha, g, "ssbfgs"), scaled, atol=1e-12)


@pytest.mark.parametrize("update", ["bfgs", "ssbfgs"])
def test_the_in_place_update_is_the_formula_as_written_to_the_last_bit(update):
    """H itself is updated, through one work buffer, and every entry equals the formula
    (H - Hy Hy^T / y.Hy + phi y.Hy v v^T) / tau + rho s s^T evaluated out of place (phi = 1)."""
    H, s, y, alpha, g = curvature_pair(16, 3)
    rho, Hy = 1.0 / float(y @ s), H @ y
    yHy = float(y @ Hy)
    tau = 1.0 if update == "bfgs" else min(1.0, 1.0 / (-alpha * rho * float(s @ g)))
    v = rho * s - Hy / yHy
    formula = (H - torch.outer(Hy, Hy) / yHy + yHy * torch.outer(v, v)) / tau + rho * torch.outer(s, s)
    work = torch.empty_like(H)
    same = H
    assert inverse_hessian_update(H, s, y, alpha, g, update, work=work) is same
    assert torch.equal(H, formula)


def test_a_restored_optimiser_updates_its_own_inverse_hessian():
    """The update is in place, so a state loaded from a snapshot (which a rollback may load again)
    must not be changed by the steps after it."""
    x = torch.tensor([-1.2, 1.0], dtype=torch.float64, requires_grad=True)

    def closure():
        x.grad = None
        loss = (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2
        loss.backward()
        return loss, None

    opt = SelfScaledQuasiNewton([x], "ssbroyden")
    for _ in range(3):
        opt.step(closure)
    snapshot = copy.deepcopy(opt.state_dict())
    kept = snapshot["state"][0]["H"].clone()
    again = SelfScaledQuasiNewton([x], "ssbroyden")
    again.load_state_dict(snapshot)
    for _ in range(3):
        again.step(closure)
    assert torch.equal(snapshot["state"][0]["H"], kept) and not torch.equal(again.state[x]["H"], kept)


@pytest.mark.parametrize("update", UPDATES)
def test_every_update_minimises_rosenbrock(update):
    x = torch.tensor([-1.2, 1.0], requires_grad=True)
    opt = SelfScaledQuasiNewton([x], update)

    def closure():
        opt.zero_grad()
        f = 100 * (x[1] - x[0] ** 2) ** 2 + (1 - x[0]) ** 2
        f.backward()
        return f, None

    for _ in range(100):
        if opt.step(closure) is None:
            break
    assert torch.allclose(x.detach(), torch.ones(2), atol=1e-6)


@pytest.mark.slow
def test_self_scaled_phases_reach_a_lower_loss_than_lbfgs_on_the_same_budget():
    """After the same Adam start, 100 iterations of each: SSBFGS and SSBroyden end below L-BFGS
    (Kiyani et al. 2025 on smooth problems), on a KAN and an MLP."""
    for model in ("kan_small", "mlp_small"):
        final = {}
        for name in ("lbfgs", "ssbfgs", "ssbroyden"):
            cfg = make_config(*SMALL, f"model={model}", "sampler.n_interior=128", "optim.adam.steps=100",
                              f"optim.phases=[adam,{name}]", f"optim.{name}.steps=100")
            problem = Poisson2D()
            torch.manual_seed(0)
            loop, _ = build_loop(cfg, problem, net_for(problem, cfg.model), lambda net: 0.0)
            loop.run()
            final[name] = loop.history.arrays()["loss"][-1]
        assert final["ssbfgs"] < final["lbfgs"] and final["ssbroyden"] < final["lbfgs"], (model, final)


def test_the_dense_phase_refuses_too_many_parameters():
    cfg = make_config(*SMALL, "optim.ssbroyden.max_parameters=10")
    phase = PHASES.get("ssbroyden")(**cfg.optim.ssbroyden)
    loop = Loop(build_loop(cfg, Poisson2D(), net_for(Poisson2D(), cfg.model), lambda net: 0.0)[0].loss, [], [])
    with pytest.raises(ConfigError, match=r"optim.ssbroyden.max_parameters: \d+ trained parameters need"):
        phase.start(loop.parameters(), 1.0)


def test_a_quasi_newton_run_resumes_bitwise():
    args = ("optim.adam.steps=10", "optim.phases=[adam,ssbroyden]", "optim.ssbroyden.steps=20",
            "optim.weighting.name=rba")

    def loop_for(callbacks=()):
        cfg = make_config(*SMALL, *args)
        torch.manual_seed(0)
        problem = Poisson2D()
        return build_loop(cfg, problem, net_for(problem, cfg.model), lambda net: 0.0, callbacks=callbacks)[0]

    whole = loop_for()
    whole.run()

    class Halt(DivergenceGuard):
        def on_step_begin(self, loop):
            if loop.global_step == 17:
                loop.stop("halt")

    first = loop_for([Halt()])
    first.run()
    second = loop_for()
    second.load_state_dict(first.state_dict())
    second.run()
    assert np.array_equal(second.history.arrays()["loss"], whole.history.arrays()["loss"])
    assert torch.equal(second.flat_parameters(), whole.flat_parameters())


def test_rba_multipliers_follow_their_update_rule():
    rba = ResidualAttention(gamma=0.9, eta=0.1).bind({"pde": 1.0, "boundary": 2.0})
    r = {"pde": torch.tensor([1.0, -2.0, 4.0]), "boundary": torch.tensor([0.5, 0.0])}
    points = {"pde": torch.zeros(3, 2), "boundary": torch.zeros(2, 2)}
    terms = {k: (v**2).mean() for k, v in r.items()}
    total = rba(terms, r, points)  # multipliers start at 1: the fixed weighting
    assert float(total) == pytest.approx(float(terms["pde"] + 2 * terms["boundary"]))
    rba.update(None)
    assert torch.allclose(rba.lam["pde"], 0.9 + 0.1 * torch.tensor([0.25, 0.5, 1.0]))
    assert torch.allclose(rba.lam["boundary"], 0.9 + 0.1 * torch.tensor([1.0, 0.0]))
    total = rba(terms, r, points)
    expected = ((rba.lam["pde"] * r["pde"]) ** 2).mean() + 2 * ((rba.lam["boundary"] * r["boundary"]) ** 2).mean()
    assert float(total) == pytest.approx(float(expected))
    rba.points_changed()
    assert rba.lam == {}


def test_grad_norm_weights_balance_the_gradient_norms():
    cfg = make_config(*SMALL, "optim.weighting.name=grad_norm", "optim.weighting.grad_norm.alpha=0.0")
    problem = Poisson2D()
    torch.manual_seed(0)
    loss = build_loop(cfg, problem, net_for(problem, cfg.model), lambda net: 0.0)[0].loss
    weighting = loss.weighting
    assert isinstance(weighting, GradNormWeights)
    weighting.update(loss)
    params = loss.parameters()
    norms = {}
    for k, v in loss.terms().items():
        if weighting.weights[k] > 0:
            grads = torch.autograd.grad(weighting.lam[k] * weighting.weights[k] * v, params, allow_unused=True)
            norms[k] = math.sqrt(sum(float((g**2).sum()) for g in grads if g is not None))
    values = list(norms.values())
    assert len(values) == 2 and values[0] == pytest.approx(values[1], rel=1e-9)


def test_causal_weights_are_monotone_in_time_and_match_the_formula():
    problem = make_problem("heat1d")
    causal = CausalWeights(eps=2.0, chunks=4).bind({"pde": 1.0, "initial": 1.0, "boundary": 1.0}, problem)
    t = torch.tensor([0.1, 0.2, 0.3, 0.6, 0.8, 0.95])
    points = torch.stack([torch.zeros(6), t], dim=1)
    r = torch.tensor([1.0, 1.0, 0.5, 0.2, 2.0, 1.0], requires_grad=True)
    losses = causal.chunk_losses(r, points)
    assert torch.allclose(losses.detach(), torch.tensor([1.0, 0.25, 0.04, 2.5]))  # chunks [0,.25) [.25,.5) ...
    w = causal.causal_weights(losses)
    assert torch.allclose(w, torch.exp(-2.0 * torch.tensor([0.0, 1.0, 1.25, 1.29])))
    assert all(b <= a for a, b in zip(w, w[1:]))
    total = causal({"pde": (r**2).mean()}, {"pde": r}, {"pde": points})
    total.backward()
    assert float(total.detach()) == pytest.approx(float((w * losses.detach()).mean()))
    with pytest.raises(ConfigError, match="causal weighting needs a time-dependent problem"):
        CausalWeights().bind({"pde": 1.0}, Poisson2D())


def test_weighting_options_are_checked():
    from kanpde.config import validate

    for bad, key in (("optim.weighting.rba.gamma=1.0", "optim.weighting.rba.gamma"),
                     ("optim.weighting.name=nope", "optim.weighting.name"),
                     ("optim.ssbfgs.c2=1e-5", "optim.ssbfgs.c2")):
        with pytest.raises(ConfigError, match=key):
            validate(make_config(bad))
    OmegaConf.to_container(make_config("optim.weighting.name=causal", "problem=heat1d"))


def test_grid_extension_carries_adams_moments_onto_the_new_grid():
    """G = 5 -> 10 contains the old spline space: the moments, read as functions of each layer's
    inputs, are the same before and after (the hidden layer's inputs partly leave its grid, where
    the refit is a least-squares fit); Adam keeps its step count and steps on the new parameters."""
    from kanpde.nets import KAN, BSpline

    torch.manual_seed(0)
    kan = KAN([2, 3, 1], basis=BSpline(grid_size=5, order=3))
    opt = torch.optim.Adam(kan.parameters(), lr=1e-2)
    x = torch.rand(400, 2) * 2 - 1
    for _ in range(5):
        opt.zero_grad()
        (kan(x) ** 2).mean().backward()
        opt.step()

    def moment_functions(inputs):
        out = []
        for layer in kan.layers:
            rows = layer.basis(inputs)
            state = opt.state[layer.coef]
            out.append([torch.einsum("bim,iom->bio", rows, state[k]) for k in ("exp_avg", "exp_avg_sq")])
            inputs = layer(inputs)
        return out

    before = moment_functions(x)
    steps = [opt.state[layer.coef]["step"].clone() for layer in kan.layers]
    kan.extend_grid(x, 10, opt)
    after = moment_functions(x)
    assert kan.grid_sizes() == [10, 10]
    for i, (b, a) in enumerate(zip(before, after)):
        for old, new in zip(b, a):  # exact on the first layer; a least-squares fit where inputs leave the grid
            assert float((old - new).abs().max()) < (1e-8 if i == 0 else 1e-2) * float(old.abs().max())
    assert [opt.state[layer.coef]["step"] for layer in kan.layers] == steps
    assert {id(p) for p in opt.param_groups[0]["params"]} == {id(p) for p in kan.parameters()}
    opt.zero_grad()
    (kan(x) ** 2).mean().backward()
    opt.step()


def test_time_windows_march_through_the_interval_during_adam_only():
    seen = []

    class Record(DivergenceGuard):
        key = "Record"

        def on_step_end(self, loop, step):
            seen.append((loop.phase.name, round(float(loop.loss.points["pde"][:, 1].max()), 6),
                         round(float(loop.loss.points["boundary"][:, 1].max()), 6)))

    cfg = make_config(*SMALL, "problem=heat1d", "sampler.time_windows=4", "optim.adam.steps=8", "optim.lbfgs.steps=2")
    problem = make_problem("heat1d")
    torch.manual_seed(0)
    loop = build_loop(cfg, problem, net_for(problem, cfg.model), lambda net: 0.0, callbacks=[Record()])[0]
    loop.run()
    limits = [0.25, 0.25, 0.5, 0.5, 0.75, 0.75, 1.0, 1.0, 1.0, 1.0]
    assert [name for name, *_ in seen] == ["adam"] * 8 + ["lbfgs"] * 2
    for (_, pde, edge), limit in zip(seen, limits):
        assert limit - 0.1 < pde <= limit and limit - 0.1 < edge <= limit
    with pytest.raises(ConfigError, match="sampler.time_windows: Poisson2D has no time axis"):
        build_loop(make_config(*SMALL, "sampler.time_windows=2"), Poisson2D(), net_for(Poisson2D(), cfg.model),
                   lambda net: 0.0)
