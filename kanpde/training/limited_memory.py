"""The self-scaled Broyden-family inverse Hessian from the last m curvature pairs (limited memory),
so that networks of 10k-100k parameters can take quasi-Newton steps (the dense H of
quasi_newton.py takes 8 n^2 bytes).

The dense update of quasi_newton.py, written with V = I - rho y s^T and v = rho s - H y / y.Hy, is

    H_{j+1} = ( V_j^T H_j V_j + c_j v_j v_j^T ) / tau_j + rho_j s_j s_j^T,   c_j = (phi_j - 1) y_j.H_j y_j

(the identity H - Hy Hy^T / y.Hy + y.Hy v v^T = V^T H V gives BFGS, phi = 1, c = 0). Applied to a
vector q and unrolled over the stored pairs j = 0..k-1 (oldest first) it is a two-loop recursion,
L-BFGS's (Nocedal 1980) with two more terms per pair:

    down, j = k-1..0:  a_j = rho_j s_j.q,  w_j = v_j.q,  q <- q - a_j y_j
    r = base q
    up, j = 0..k-1:    r <- ( r - rho_j s_j (y_j.r) + c_j w_j v_j ) / tau_j + a_j s_j

With every pair since the start kept (k = the number of updates, base = 1), H q is the dense
H_k q to round-off (tests/test_limited_memory.py). Each update stores s_j, y_j, v_j = rho_j s_j - u_j / y.u_j
with u_j = H_j y_j (one more recursion) and the scalars rho_j, tau_j, c_j; phi and tau are the dense
update's own (quasi_newton.broyden_scalars, with n the parameter count). When the memory is full
the oldest pair is dropped and the initial matrix becomes L-BFGS's: base = (y.s / y.y) of the newest
pair times the product of the kept taus, so that the recursion's H_0 is the Shanno-Phua scaling
(with BFGS, tau = 1, this is L-BFGS exactly). After a drop the stored u_j are those of the longer
history: the secant condition H_{j+1} y_j = s_j still holds for the newest pair, but SSBroyden's
v_j terms may cost positive definiteness, and a direction that is not a descent direction restarts
the memory (the optimiser's rule). Measured (``python benchmarks/limited_memory.py``; steps to
f - f* < 1e-9 with m = 5 / 20 / dense H): on a 60-dimensional quadratic of condition 1e4, bfgs
564 / 469 / 283, ssbfgs 592 / 559 / 131, ssbroyden 680 / 682 / 90 (with 80 / 29 restarts); on the
30-dimensional Rosenbrock function 187 / 170 / 209, 176 / 182 / 162 and 373 / 233 / 233: with few
pairs ssbfgs is the robust choice.

Cost per iteration: two recursions (the direction H g and u = H y), each about (4 + 2 [c != 0]) m n
flops; memory (3 m + O(1)) n floats for SSBroyden, 2 m n for BFGS and SSBFGS (m = 50, n = 100,000:
120 MB in float64).
"""
from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from .quasi_newton import InverseHessian, broyden_scalars, secant_b


class LimitedMemoryInverseHessian(InverseHessian):
    """The operator H of the last ``memory`` pairs, its numbers in the optimiser's ``state`` dict
    (so that they go into checkpoints): S, Y, V (memory, n) ring buffers (V for ssbroyden only),
    scalars (memory, 3) = (rho, tau, c), count, head (the next slot) and base."""

    def __init__(self, memory: int, update: str):
        self.memory, self.update_name = memory, update

    def reset(self, state: dict[str, Any], like: Tensor) -> None:
        """H = I: no pairs, base 1."""
        n, m = like.numel(), self.memory
        state["S"], state["Y"] = like.new_zeros(m, n), like.new_zeros(m, n)
        if self.update_name == "ssbroyden":
            state["V"] = like.new_zeros(m, n)
        state["scalars"] = like.new_zeros(m, 3)
        state["count"], state["head"], state["base"] = 0, 0, 1.0

    def holds(self, state: dict[str, Any]) -> bool:
        return "S" in state and state["S"].shape[0] == self.memory and ("V" in state) == (self.update_name == "ssbroyden")

    def _order(self, state: dict[str, Any]) -> list[int]:
        """Slots of the stored pairs, oldest first."""
        count, head, m = state["count"], state["head"], self.memory
        return [(head - count + i) % m for i in range(count)]

    def apply(self, state: dict[str, Any], q: Tensor) -> Tensor:
        """H q by the two-loop recursion of the module docstring: (n,)."""
        S, Y, V, scalars = state["S"], state["Y"], state.get("V"), state["scalars"].tolist()
        slots = self._order(state)
        q = q.clone()
        a, w = {}, {}
        for j in reversed(slots):
            rho, _, c = scalars[j]
            a[j] = rho * float(S[j] @ q)
            if c != 0.0:
                w[j] = float(V[j] @ q)
            q.add_(Y[j], alpha=-a[j])
        r = q.mul_(state["base"])
        for j in slots:
            rho, tau, c = scalars[j]
            r.add_(S[j], alpha=-rho * float(Y[j] @ r))
            if c != 0.0:
                r.add_(V[j], alpha=c * w[j])
            r.div_(tau).add_(S[j], alpha=a[j])
        return r

    def update(self, state: dict[str, Any], s: Tensor, y: Tensor, alpha: float, g: Tensor, first: bool) -> None:
        """Store the pair (s, y) of the step s = alpha d from gradient g, dropping the oldest when full."""
        rho = 1.0 / float(y @ s)
        u = self.apply(state, y)
        yHy = float(y @ u)
        phi, tau = broyden_scalars(rho, yHy, secant_b(rho, s, g, alpha, first), self.update_name, s.numel(), first)
        full = state["count"] == self.memory
        if full:  # the oldest pair leaves
            state["count"] -= 1
        j = state["head"]
        state["S"][j], state["Y"][j] = s, y
        c = (phi - 1.0) * yHy
        if "V" in state:  # ssbroyden (bfgs and ssbfgs: phi = 1, c = 0)
            torch.sub(s, u, alpha=1.0 / (rho * yHy), out=state["V"][j]).mul_(rho)  # rho s - u / y.u
        state["scalars"][j] = torch.tensor([rho, tau, c], dtype=s.dtype, device=s.device)
        state["head"], state["count"] = (j + 1) % self.memory, state["count"] + 1
        if full:  # the initial matrix: L-BFGS's y.s / y.y of the newest pair, through the taus kept
            state["base"] = float(s @ y) / float(y @ y) * float(state["scalars"][:, 1].prod())


__all__ = ["LimitedMemoryInverseHessian"]
