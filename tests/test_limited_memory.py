"""The limited-memory self-scaled inverse Hessian (training/limited_memory.py): the dense update's
operator while every pair is kept, and an optimiser that converges with few pairs."""
from __future__ import annotations

import copy

import pytest
import torch
from kanpde.errors import ConfigError
from kanpde.training import PHASES
from kanpde.training.limited_memory import LimitedMemoryInverseHessian
from kanpde.training.quasi_newton import UPDATES, DenseInverseHessian, SelfScaledQuasiNewton

pytestmark = pytest.mark.usefixtures("float64")


def quadratic(n: int, seed: int, condition: float = 100.0):
    """f(x) = x.A x / 2 - b.x with A SPD of the given condition number: (A, b)."""
    gen = torch.Generator().manual_seed(seed)
    q, _ = torch.linalg.qr(torch.randn(n, n, generator=gen))
    A = q @ torch.diag(torch.logspace(0, torch.log10(torch.tensor(condition)), n)) @ q.T
    return A, torch.randn(n, generator=gen)


@pytest.mark.parametrize("update", UPDATES)
def test_with_every_pair_kept_it_is_the_dense_operator(update):
    """Pairs from the steps of a quadratic (y = A s), each update applied by both engines from
    H = I: H q agrees to round-off after every update, for random q."""
    n, k = 12, 9
    A, _ = quadratic(n, 0)
    gen = torch.Generator().manual_seed(1)
    dense, limited = DenseInverseHessian(update), LimitedMemoryInverseHessian(k, update)
    sd, sl = {}, {}
    like = torch.zeros(n)
    dense.reset(sd, like)
    limited.reset(sl, like)
    for j in range(k):
        g = torch.randn(n, generator=gen)
        d = -dense.apply(sd, g)
        assert torch.allclose(d, -limited.apply(sl, g), rtol=1e-10, atol=1e-12)
        alpha = 0.3 + 0.1 * j
        s = alpha * d
        y = A @ s
        dense.update(sd, s, y, alpha, g, first=j == 0)
        limited.update(sl, s, y, alpha, g, first=j == 0)
        q = torch.randn(n, generator=gen)
        assert torch.allclose(limited.apply(sl, q), sd["H"] @ q, rtol=1e-10, atol=1e-12 * float(sd["H"].abs().max()))
        assert torch.allclose(limited.apply(sl, y), s, rtol=1e-10, atol=1e-12)  # the secant condition


def minimise(opt: SelfScaledQuasiNewton, x: torch.Tensor, A: torch.Tensor, b: torch.Tensor, steps: int) -> list:
    def closure():
        opt.zero_grad()
        f = 0.5 * x @ (A @ x) - b @ x
        f.backward()
        return f, None

    path = []
    for _ in range(steps):
        if opt.step(closure) is None:
            break
        path.append(x.detach().clone())
    return path


@pytest.mark.parametrize("update", UPDATES)
def test_the_optimiser_takes_the_dense_steps_while_the_memory_holds_every_pair(update):
    A, b = quadratic(20, 2)
    paths = []
    for inverse in (None, LimitedMemoryInverseHessian(50, update)):
        x = torch.zeros(20, requires_grad=True)
        paths.append(minimise(SelfScaledQuasiNewton([x], update, inverse_hessian=inverse), x, A, b, 15))
    assert len(paths[0]) == len(paths[1]) == 15
    for a, c in zip(*paths):
        assert torch.allclose(a, c, rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("update", UPDATES)
def test_with_few_pairs_it_still_converges(update):
    """n = 60, condition 1e4, five pairs: f within 1e-9 of its minimum and x within 1e-4 of the
    minimiser (relative), as the dense optimiser gets with its 60 x 60 H."""
    A, b = quadratic(60, 3, condition=1e4)
    x_star = torch.linalg.solve(A, b)
    f_star = float(-0.5 * b @ x_star)
    x = torch.zeros(60, requires_grad=True)
    opt = SelfScaledQuasiNewton([x], update, inverse_hessian=LimitedMemoryInverseHessian(5, update))
    minimise(opt, x, A, b, 2000)
    found = x.detach()
    assert float(0.5 * found @ (A @ found) - b @ found) - f_star < 1e-9
    assert float((found - x_star).norm()) < 1e-4 * float(x_star.norm())
    state = opt.state[x]
    assert state["count"] <= 5 and state["S"].shape == (5, 60)  # 5 x 60 numbers where dense H holds 60 x 60


def test_a_restored_state_continues_bit_for_bit():
    A, b = quadratic(30, 4)
    x = torch.zeros(30, requires_grad=True)
    opt = SelfScaledQuasiNewton([x], "ssbroyden", inverse_hessian=LimitedMemoryInverseHessian(4, "ssbroyden"))
    minimise(opt, x, A, b, 6)
    snapshot, at = copy.deepcopy(opt.state_dict()), x.detach().clone()
    straight = minimise(opt, x, A, b, 6)
    x2 = at.clone().requires_grad_(True)
    again = SelfScaledQuasiNewton([x2], "ssbroyden", inverse_hessian=LimitedMemoryInverseHessian(4, "ssbroyden"))
    again.load_state_dict(snapshot)
    resumed = minimise(again, x2, A, b, 6)
    assert all(torch.equal(p, q) for p, q in zip(straight, resumed)) and len(resumed) == 6
    assert not torch.equal(snapshot["state"][0]["S"], again.state[x2]["S"])  # the snapshot was not written into


def test_the_phase_takes_a_network_beyond_the_dense_limit_with_memory():
    params = [torch.zeros(40, requires_grad=True)]
    with pytest.raises(ConfigError, match="memory=m"):
        PHASES.get("ssbroyden")(max_parameters=10).make_optimizer(params, 1.0)
    opt = PHASES.get("ssbroyden")(max_parameters=10, memory=7).make_optimizer(params, 1.0)
    assert isinstance(opt.inverse_hessian, LimitedMemoryInverseHessian) and opt.inverse_hessian.memory == 7
    with pytest.raises(ConfigError, match="memory"):
        PHASES.get("ssbfgs")(memory=-1)


def test_a_state_of_the_other_engine_restarts_h_instead_of_failing():
    """A checkpoint of a dense run resumed with memory=m (or the reverse): H starts again as I."""
    A, b = quadratic(10, 5)
    x = torch.zeros(10, requires_grad=True)
    dense = SelfScaledQuasiNewton([x], "ssbfgs")
    minimise(dense, x, A, b, 3)
    limited = SelfScaledQuasiNewton([x], "ssbfgs", inverse_hessian=LimitedMemoryInverseHessian(4, "ssbfgs"))
    limited.load_state_dict(dense.state_dict())
    assert len(minimise(limited, x, A, b, 3)) == 3 and limited.state[x]["S"].shape == (4, 10)
    back = SelfScaledQuasiNewton([x], "ssbfgs")
    back.load_state_dict(limited.state_dict())
    assert len(minimise(back, x, A, b, 3)) == 3 and back.state[x]["H"].shape == (10, 10) and "S" not in back.state[x]
