"""Partial derivatives of a network's outputs with respect to its inputs, by name.

A residual asks ``d("u", "x", "x")`` for u_xx, ``d.grad("u")`` for (u_x, u_y, ...), ``d.laplacian("u")``.
Three interchangeable engines: ``jet`` (value, gradient and Hessian carried forward through the
network in closed form, see nets/jet.py; up to order 4, the fast path), nested
``torch.autograd.grad`` (any order, any callable) and ``torch.func`` (vmap of nested
jacrev/jacfwd). All keep the graph so the loss can be differentiated again in the network
parameters; they are tested against each other and against finite differences. ``auto`` picks
``jet`` when the network prefers it (KANs, where it is several times faster) and the order allows
it, else ``autograd`` (faster than jets for small tanh MLPs).
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Callable, Sequence

import torch
from torch import Tensor

from ..errors import KanpdeError
from ..nets import SolutionNet
from ..nets.jet import MAX_ORDER, all_indices, components, pure_indices
from ..registry import Registry

DERIVATIVES: Registry[type["Derivatives"]] = Registry("derivative engine", "diff")


class Derivatives(ABC):
    """Derivatives of ``net`` (N, n_in) -> (N, n_out) at the points x (N, n_in).

    ``inputs``/``outputs`` name the columns, e.g. ("x", "t") and ("u",). Every partial is cached,
    so asking twice costs nothing; mixed partials commute (u_xy is u_yx).
    """

    def __init__(self, net: Callable[[Tensor], Tensor], x: Tensor, inputs: Sequence[str], outputs: Sequence[str],
                 order: int = 2):
        self.net, self.inputs, self.outputs, self.order = net, tuple(inputs), tuple(outputs), order
        self._in = {name: i for i, name in enumerate(self.inputs)}
        self._out = {name: i for i, name in enumerate(self.outputs)}
        self.x = x
        self.u = self._values()  # (N, n_out)

    def _field(self, name: str) -> int:
        if name not in self._out:
            raise KanpdeError(f"unknown output field {name!r}; the problem's fields: {', '.join(self.outputs)}")
        return self._out[name]

    def _wrt(self, names: Sequence[str]) -> tuple[int, ...]:
        for name in names:
            if name not in self._in:
                raise KanpdeError(f"unknown input {name!r}; the problem's inputs: {', '.join(self.inputs)}")
        return tuple(sorted(self._in[n] for n in names))

    def __call__(self, field: str, *wrt: str) -> Tensor:
        """The partial derivative of ``field`` in the inputs ``wrt`` (none: the values): (N,)."""
        return self.partial(self._field(field), self._wrt(wrt))

    def grad(self, field: str) -> Tensor:
        """(N, n_in) gradient of ``field``."""
        f = self._field(field)
        return torch.stack([self.partial(f, (i,)) for i in range(len(self.inputs))], dim=-1)

    def laplacian(self, field: str, over: Sequence[str] | None = None) -> Tensor:
        """Sum of the second partials of ``field`` over the inputs ``over`` (default: all but "t"): (N,)."""
        over = [n for n in self.inputs if n != "t"] if over is None else over
        f = self._field(field)
        return sum(self.partial(f, (i, i)) for i in self._wrt(over))

    @abstractmethod
    def _values(self) -> Tensor:
        """Network outputs at x: (N, n_out)."""

    @abstractmethod
    def partial(self, field: int, wrt: tuple[int, ...]) -> Tensor:
        """d^len(wrt) u_field / dx_wrt[0] ... : (N,), by column indices (wrt sorted)."""


@DERIVATIVES.register("autograd")
class AutogradDerivatives(Derivatives):
    """Nested reverse mode: each new order differentiates the sum over points of a lower one.

    Valid because every output row depends only on its own input row. One backward pass gives a
    whole gradient row, which is cached in full.
    """

    def _values(self) -> Tensor:
        self.x = self.x if self.x.requires_grad else self.x.detach().requires_grad_(True)
        self._cache: dict[tuple[int, tuple[int, ...]], Tensor] = {}
        return self.net(self.x)

    def partial(self, field: int, wrt: tuple[int, ...]) -> Tensor:
        if not wrt:
            return self.u[:, field]
        key = (field, wrt)
        if key not in self._cache:
            lower = self.partial(field, wrt[:-1])
            (g,) = torch.autograd.grad(lower.sum(), self.x, create_graph=True)
            for i in range(len(self.inputs)):
                self._cache.setdefault((field, tuple(sorted(wrt[:-1] + (i,)))), g[:, i])
        return self._cache[key]


@DERIVATIVES.register("func")
class FuncDerivatives(Derivatives):
    """torch.func: the order-m derivative tensor (N, n_out, n_in, ..., n_in) of the per-point map
    x_j -> u(x_j), as vmap(jacfwd^(m-1)(jacrev(f))), computed once per order and cached."""

    def _values(self) -> Tensor:
        self._tensors: dict[int, Tensor] = {}
        return self.net(self.x)

    def _point_map(self) -> Callable[[Tensor], Tensor]:
        return lambda xi: self.net(xi.unsqueeze(0)).squeeze(0)

    def partial(self, field: int, wrt: tuple[int, ...]) -> Tensor:
        order = len(wrt)
        if order == 0:
            return self.u[:, field]
        if order not in self._tensors:
            fn = torch.func.jacrev(self._point_map())
            for _ in range(order - 1):
                fn = torch.func.jacfwd(fn)
            self._tensors[order] = torch.func.vmap(fn)(self.x)
        return self._tensors[order][(slice(None), field, *wrt)]


@DERIVATIVES.register("jet")
class JetDerivatives(Derivatives):
    """Closed-form forward propagation through the network's ``jet`` (see nets/jet.py), for
    derivatives up to ``order`` <= 4. The pure partials (d^r/dx_k^r, r <= order) come with the
    first pass; the first mixed partial asked for recomputes the jet with every partial up to the
    order."""

    def _values(self) -> Tensor:
        if self.order > MAX_ORDER or not isinstance(self.net, SolutionNet):
            raise KanpdeError(f"diff=jet needs a network with a jet() and derivatives of order <= {MAX_ORDER} "
                              f"(asked: {self.order})")
        if self.order == 0:
            return self.net(self.x)
        return self._propagate(*pure_indices(len(self.inputs), self.order))

    def _propagate(self, pairs: tuple, higher: tuple) -> Tensor:
        self.jet = self.net.jet(self.x, pairs, higher)
        self._row = components(len(self.inputs), self.jet.pairs, self.jet.higher)
        return self.jet.value

    def partial(self, field: int, wrt: tuple[int, ...]) -> Tensor:
        if len(wrt) > self.order:
            raise KanpdeError(f"a derivative of order {len(wrt)} was asked for, above the declared order "
                              f"{self.order} (set max_order on the problem, or order on its condition)")
        if not wrt:
            return self.u[:, field]
        if wrt not in self._row:
            self._propagate(*all_indices(len(self.inputs), self.order))
        return self.jet.data[self._row[wrt], :, field]


def derivatives(engine: str, net: Callable[[Tensor], Tensor], x: Tensor, inputs: Sequence[str],
                outputs: Sequence[str], order: int = 2) -> Derivatives:
    """The derivative engine registered as ``engine`` at points x, for partials up to ``order``;
    ``auto`` is ``jet`` where the network prefers it and order <= 4, else ``autograd``."""
    if engine == "auto":
        engine = "jet" if isinstance(net, SolutionNet) and net.prefers_jet and order <= MAX_ORDER else "autograd"
    return DERIVATIVES.get(engine)(net, x, inputs, outputs, order)
