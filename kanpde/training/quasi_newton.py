"""Dense quasi-Newton optimisers of the Broyden family with self-scaling (BFGS, SSBFGS, SSBroyden).

The inverse Hessian approximation H (n x n, n = trained parameters) is updated after every step
s = x_{k+1} - x_k, y = g_{k+1} - g_k (rho = 1 / y.s, Hy = H y, v = rho s - Hy / y.Hy):

    H <- (H - Hy Hy^T / y.Hy + phi y.Hy v v^T) / tau + rho s s^T

phi = 1, tau = 1 is BFGS; self-scaling picks tau (and, for SSBroyden, phi) from
b = -alpha rho s.g_k and h = rho y.Hy (Al-Baali 1998; the choices of Urban, Stefanou, Pons 2025
and Kiyani, Shukla, Urban, Darbon, Karniadakis, CMAME 446:118308, 2025):

    ssbfgs      phi = 1,   tau = min(1, 1/b)
    ssbroyden   a = h b - 1, c = sqrt(a / (1 + a)), rho- = min(1, h (1 - c)),
                theta in [(rho- - 1) / a, 1 / rho-] nearest to (1 - b) / b, sigma = 1 + theta a,
                phi = (1 - theta) / sigma, tau from sigma^(1/(1-n)), min(1, 1/b) and theta

Every update keeps the secant condition H_{k+1} y = s and, for y.s > 0, positive definiteness.
The step is x + alpha d with d = -H g and alpha from a strong-Wolfe line search
(scipy.optimize.line_search, which tries alpha = 1 first). The very first step, before any
curvature pair, is steepest descent of length min(1, 1/|g|) lr; the first update scales H_0 = I
by y.s / y.y (Shanno-Phua) before applying the formula.

Cost per iteration: the loss and gradient at 1-3 trial points (usually 1) plus O(n^2) for d and
the rank-2 update, made in place in H with one n x n work buffer kept by the optimiser (memory
2 x 8 n^2 bytes in float64: n = 2,000: 64 MB; 20,000: 6.4 GB; H alone goes into every
checkpoint). Beyond that, the same updates from the last m pairs (``memory=m``, limited_memory.py)
or L-BFGS (phases.py).
"""
from __future__ import annotations

import math
import warnings
from abc import ABC, abstractmethod
from typing import Any, Callable, Iterable

import numpy as np
import torch
from scipy.optimize import line_search
from torch import Tensor

UPDATES = ("bfgs", "ssbfgs", "ssbroyden")

# closure() -> (loss with gradients in .grad, auxiliary value kept with that point)
Closure = Callable[[], tuple[Tensor, Any]]


def broyden_scalars(rho: float, yHy: float, b: float, update: str, n: int, first: bool = False) -> tuple[float, float]:
    """(phi, tau) of the update ``update`` for rho = 1 / y.s, y.Hy and b (module docstring), n
    trained parameters; ``first``: H is the initial identity, whose scale the first pair sets."""
    h = yHy * rho
    a = max(h * b - 1.0, 0.0)  # >= 0 by Cauchy-Schwarz for a positive definite H; clipped for round-off
    if update == "bfgs":
        theta, tau = 0.0, 1.0
    elif update == "ssbfgs":
        theta, tau = 0.0, min(1.0, 1.0 / b)
    elif update == "ssbroyden":
        c = math.sqrt(a / (1.0 + a))
        rho_minus = min(1.0, h * (1.0 - c))
        theta_minus = (rho_minus - 1.0) / a if a > 1e-12 else 0.0
        theta_plus = 1.0 / rho_minus if rho_minus > 0 else 0.0
        theta = max(theta_minus, min(theta_plus, (1.0 - b) / b)) if abs(b) > 1e-12 else theta_minus
        sigma = 1.0 + theta * a
        sigma_n = abs(sigma) ** (1.0 / (1.0 - n)) if n > 1 else 1.0
        scale = min(1.0, 1.0 / b)
        tau = min(scale * sigma_n, sigma) if theta <= 0 else scale * min(sigma_n, 1.0 / theta)
    else:
        raise ValueError(f"unknown update {update!r}; choices: {', '.join(UPDATES)}")
    phi = (1.0 - theta) / (1.0 + a * theta)
    if first:  # H_0 = I: the first pair sets its scale (tau = h / (1 + a theta) with H = I)
        tau = h / (1.0 + a * theta)
    return phi, tau


def secant_b(rho: float, s: Tensor, g: Tensor, alpha: float, first: bool) -> float:
    """b = s.B s / y.s with B = H^-1: -alpha rho s.g since B s = -alpha g; for the initial H = I, rho s.s."""
    return rho * float(s @ s) if first else -alpha * rho * float(s @ g)


def inverse_hessian_update(H: Tensor, s: Tensor, y: Tensor, alpha: float, g: Tensor, update: str,
                           first: bool = False, work: Tensor | None = None) -> Tensor:
    """The Broyden-family update of the inverse Hessian H (n, n) for the step s = alpha d taken from
    gradient g to gradient g + y, in place: returns H itself, updated. ``first``: H is the initial
    identity, which is rescaled by the update's tau before the formula. ``work``: an (n, n) buffer
    of H's dtype for the rank-one terms (made when not given), so an update allocates no n x n
    array beyond it; the arithmetic, term by term, is the formula's as written, to the last bit."""
    rho = 1.0 / float(y @ s)
    Hy = H @ y
    yHy = float(y @ Hy)
    phi, tau = broyden_scalars(rho, yHy, secant_b(rho, s, g, alpha, first), update, H.shape[0], first)
    v = rho * s - Hy / yHy
    work = torch.empty_like(H) if work is None else work
    H.sub_(torch.outer(Hy, Hy, out=work).div_(yHy))  # H - Hy Hy^T / y.Hy
    H.add_(torch.outer(v, v, out=work).mul_(phi * yHy))  # + phi y.Hy v v^T
    H.div_(tau)
    return H.add_(torch.outer(s, s, out=work).mul_(rho))  # + rho s s^T


class InverseHessian(ABC):
    """How an optimiser holds H: its numbers live in the optimiser's per-parameter ``state`` dict
    (so that checkpoints carry them); the object holds only settings."""

    @abstractmethod
    def reset(self, state: dict[str, Any], like: Tensor) -> None:
        """H = I for the flat parameter vector ``like`` (n,)."""

    @abstractmethod
    def holds(self, state: dict[str, Any]) -> bool:
        """Whether ``state`` holds this engine's H (not another engine's, from a changed config)."""

    @abstractmethod
    def apply(self, state: dict[str, Any], q: Tensor) -> Tensor:
        """H q: (n,)."""

    @abstractmethod
    def update(self, state: dict[str, Any], s: Tensor, y: Tensor, alpha: float, g: Tensor, first: bool) -> None:
        """The Broyden-family update for the step s = alpha d from gradient g to g + y; ``first``:
        the first update since a reset (H = I)."""


class DenseInverseHessian(InverseHessian):
    """H as an n x n array, updated in place by ``inverse_hessian_update`` with one n x n work
    buffer (not in the state: it is scratch)."""

    def __init__(self, update: str):
        self.update_name = update
        self._work: Tensor | None = None

    def reset(self, state: dict[str, Any], like: Tensor) -> None:
        state["H"] = torch.eye(like.numel(), dtype=like.dtype, device=like.device)

    def holds(self, state: dict[str, Any]) -> bool:
        return "H" in state

    def apply(self, state: dict[str, Any], q: Tensor) -> Tensor:
        return state["H"] @ q

    def update(self, state: dict[str, Any], s: Tensor, y: Tensor, alpha: float, g: Tensor, first: bool) -> None:
        if self._work is None or self._work.shape != state["H"].shape:
            self._work = torch.empty_like(state["H"])
        inverse_hessian_update(state["H"], s, y, alpha, g, self.update_name, first=first, work=self._work)


class SelfScaledQuasiNewton(torch.optim.Optimizer):
    """One quasi-Newton iteration per ``step(closure)`` over all ``params`` as one flat vector,
    with the inverse Hessian update ``update`` (bfgs | ssbfgs | ssbroyden) held by
    ``inverse_hessian`` (dense by default; limited_memory.py for large n) and a strong-Wolfe
    line search (c1, c2, at most ``max_ls`` trial steps). ``step`` returns (loss, aux) at the
    accepted point, or None when no step could be taken (converged or no descent)."""

    def __init__(self, params: Iterable[Tensor], update: str = "ssbroyden", lr: float = 1.0, c1: float = 1e-4,
                 c2: float = 0.9, max_ls: int = 25, inverse_hessian: InverseHessian | None = None):
        if update not in UPDATES:
            raise ValueError(f"unknown update {update!r}; choices: {', '.join(UPDATES)}")
        super().__init__(params, dict(update=update, lr=lr, c1=c1, c2=c2, max_ls=max_ls))
        self._params = [p for group in self.param_groups for p in group["params"]]
        self._aux: dict[bytes, Any] = {}
        self.inverse_hessian = inverse_hessian or DenseInverseHessian(update)

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """As torch's, then H's numbers are made this optimiser's own copies: they are updated in
        place, and torch may hand back the very tensors of ``state_dict`` (a snapshot that a
        rollback reuses)."""
        super().load_state_dict(state_dict)
        state = self._state
        for key, value in state.items():
            if key not in ("g", "f", "aux") and isinstance(value, Tensor):
                state[key] = value.clone()

    # ----- the flat parameter vector ------------------------------------------------------------
    def _get(self) -> Tensor:
        return torch.cat([p.detach().reshape(-1) for p in self._params])

    @torch.no_grad()
    def _set(self, x: Tensor) -> None:
        offset = 0
        for p in self._params:
            p.copy_(x[offset:offset + p.numel()].view_as(p))
            offset += p.numel()

    def _grad(self) -> Tensor:
        return torch.cat([(torch.zeros_like(p) if p.grad is None else p.grad).reshape(-1) for p in self._params])

    @property
    def _state(self) -> dict:
        return self.state[self._params[0]]

    def forget_gradient(self) -> None:
        """The loss changed (new points or weights): the next step re-evaluates it; H is kept."""
        self._state.pop("g", None)

    def _evaluate(self, closure: Closure, x: Tensor) -> tuple[float, Tensor, Any]:
        self._set(x)
        with torch.enable_grad():
            loss, aux = closure()
        return float(loss.detach()), self._grad().detach().clone(), aux

    @torch.no_grad()
    def step(self, closure: Closure) -> tuple[float, Any] | None:  # type: ignore[override]
        group, state = self.param_groups[0], self._state
        x = self._get()
        if "g" not in state:
            state["f"], state["g"], state["aux"] = self._evaluate(closure, x)
        f, g = state["f"], state["g"]
        if not (math.isfinite(f) and torch.isfinite(g).all()):
            return f, state["aux"]
        if not g.any():  # a stationary point
            return None
        inverse = self.inverse_hessian
        if "updates" not in state or not inverse.holds(state):  # a first step, or H kept by another engine
            for key in [k for k in state if k not in ("f", "g", "aux")]:
                del state[key]
            inverse.reset(state, x)
            state["updates"] = 0
        if state["updates"] == 0:
            d = -g * (group["lr"] * min(1.0, 1.0 / max(float(g.norm()), 1e-300)))
        else:
            d = -inverse.apply(state, g)
            if not float(g @ d) < 0:  # H lost positive definiteness to round-off: start it again
                inverse.reset(state, x)
                state["updates"] = 0
                d = -g * (group["lr"] * min(1.0, 1.0 / max(float(g.norm()), 1e-300)))
        found = self._line_search(closure, x, d, f, g, group)
        if found is None:
            if state["updates"] == 0:
                self._set(x)
                return None
            state["updates"] = 0  # retry once along steepest descent with a fresh H
            inverse.reset(state, x)
            d = -g * (group["lr"] * min(1.0, 1.0 / max(float(g.norm()), 1e-300)))
            found = self._line_search(closure, x, d, f, g, group)
            if found is None:
                self._set(x)
                return None
        alpha, f_new, g_new, aux = found
        s, y = alpha * d, g_new - g
        if not s.any():
            self._set(x)
            return None
        self._set(x + s)
        if float(y @ s) > 1e-300 * max(float(y @ y), 1e-300):
            inverse.update(state, s, y, alpha, g, first=state["updates"] == 0)
            state["updates"] += 1
        state["f"], state["g"], state["aux"] = f_new, g_new, aux
        return f_new, aux

    def _line_search(self, closure: Closure, x: Tensor, d: Tensor, f: float, g: Tensor,
                     group: dict) -> tuple[float, float, Tensor, Any] | None:
        """(alpha, f, g, aux) at x + alpha d meeting the strong Wolfe conditions, or None."""
        seen: dict[bytes, tuple[float, Tensor, Any]] = {}

        def at(xn: np.ndarray) -> tuple[float, Tensor, Any]:
            key = xn.tobytes()
            if key not in seen:
                seen[key] = self._evaluate(closure, torch.as_tensor(xn, dtype=x.dtype, device=x.device))
            return seen[key]

        x_np, d_np = x.cpu().double().numpy(), d.cpu().double().numpy()
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="The line search algorithm")  # failure is None here
            alpha, *_ = line_search(lambda xn: at(xn)[0], lambda xn: at(xn)[1].cpu().double().numpy(), x_np, d_np,
                                    gfk=g.cpu().double().numpy(), old_fval=f, c1=group["c1"], c2=group["c2"],
                                    maxiter=group["max_ls"])
        if alpha is None or not alpha > 0:
            return None
        f_new, g_new, aux = at(x_np + alpha * d_np)
        if not math.isfinite(f_new) or f_new > f:
            return None
        return float(alpha), f_new, g_new, aux


__all__ = ["DenseInverseHessian", "InverseHessian", "SelfScaledQuasiNewton", "UPDATES", "broyden_scalars",
           "inverse_hessian_update", "secant_b"]
