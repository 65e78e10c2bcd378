"""The solution network u(x): a core network (a KAN or an MLP, registry ``MODELS``) behind the input
normalisation, periodic embeddings and hard constraints of a problem."""
from __future__ import annotations

import math
from typing import Any, Callable, Mapping, Sequence

import torch
from torch import Tensor, nn

from .jet import UNIT_DERIVATIVES, Jet
from .kan import KAN
from .model import MODELS, CoreNet

Constraint = Callable[[Tensor], tuple[Tensor, Tensor]]


class SolutionNet(nn.Module):
    """u(x) = core(z), z_k = 2 (x_k - c_k) / (hi_k - lo_k) in [-1, 1]: the core sees normalised inputs.

    An input k that is periodic with period p enters as the pair (cos theta_k, sin theta_k),
    theta_k = 2 pi (x_k - c_k) / p, so u is exactly periodic in it (c the box centre).
    A hard constraint ``constraint(x) -> (g, phi)``, each (N, n_out), makes the output
    u = g + phi core(z): with phi = 0 where a condition holds and g satisfying it there, the
    condition holds exactly.
    x: (N, n_in) physical coordinates -> (N, n_out).
    """

    def __init__(self, core: nn.Module, lo: Tensor, hi: Tensor, periodic: Mapping[int, float] | None = None,
                 constraint: Constraint | None = None):
        super().__init__()
        self.core, self.constraint = core, constraint
        self._constraint_jets: list[tuple[Tensor, int, tuple, Jet, Jet]] = []
        scale = 2 / (hi - lo)
        for k, period in (periodic or {}).items():
            scale[k] = 2 * math.pi / period
        self.periodic = sorted(periodic or {})
        self.plain = [k for k in range(len(lo)) if k not in self.periodic]
        self.register_buffer("shift", (lo + hi) / 2)
        self.register_buffer("inv_half_width", scale)

    def normalize(self, x: Tensor) -> Tensor:
        """The core network's inputs (N, n_in + number of periodic inputs)."""
        z = (x - self.shift) * self.inv_half_width
        if not self.periodic:
            return z
        theta = z[:, self.periodic]
        return torch.cat([z[:, self.plain], torch.cos(theta), torch.sin(theta)], dim=1)

    def forward(self, x: Tensor) -> Tensor:
        u = self.core(self.normalize(x))
        if self.constraint is None:
            return u
        g, phi = self.constraint(x)
        return g + phi * u

    def jet(self, x: Tensor, pairs: Sequence[tuple[int, int]] = (), higher: Sequence[tuple[int, ...]] = ()) -> Jet:
        """Value, first partials, the second partials d^2/dx_k dx_l for ``pairs`` and the partials
        of order 3-4 for ``higher`` (sorted input indices) in the physical inputs x (N, d),
        propagated in closed form: a Jet with data (1 + d + P + H, N, n_out)."""
        z = (x - self.shift) * self.inv_half_width
        jet = Jet.affine_input(z, self.inv_half_width, pairs, higher)
        if self.periodic:
            angles = jet.replace(jet.data[..., self.periodic])
            cos = angles.chain(UNIT_DERIVATIVES["cos"](angles.value, jet.order))
            sin = angles.chain(UNIT_DERIVATIVES["sin"](angles.value, jet.order))
            jet = jet.replace(torch.cat([jet.data[..., self.plain], cos, sin], dim=-1))
        out = self.core.jet(jet)
        if self.constraint is None:
            return out
        g, phi = self._lift_jets(x, tuple(pairs), tuple(higher))
        product = phi.times(out)
        return product.replace(product.data + g.data)

    def _lift_jets(self, x: Tensor, pairs: tuple[tuple[int, int], ...],
                   higher: tuple[tuple[int, ...], ...]) -> tuple[Jet, Jet]:
        """Jets of the constraint's g and phi at x, cached per point tensor (they have no
        parameters); the cache holds the tensors themselves, so a freed one is never mistaken."""
        for points, version, cached_pairs, g, phi in self._constraint_jets:
            if points is x and version == x._version and cached_pairs == (pairs, higher):
                return g, phi
        if len(self._constraint_jets) >= 16:
            self._constraint_jets.clear()
        g = Jet.of_function(lambda y: self.constraint(y)[0], x, pairs, higher)
        phi = Jet.of_function(lambda y: self.constraint(y)[1], x, pairs, higher)
        self._constraint_jets.append((x, x._version, (pairs, higher), g, phi))
        return g, phi

    @property
    def is_kan(self) -> bool:
        return isinstance(self.core, KAN)

    @property
    def prefers_jet(self) -> bool:
        """Whether diff=auto takes closed-form jets: the core's declared choice (KANs: yes)."""
        return isinstance(self.core, CoreNet) and self.core.prefers_jet

    @property
    def family(self) -> str:
        """The core's declared family, "kan" or "mlp" ("mlp" for a snapped symbolic core)."""
        return self.core.family if isinstance(self.core, CoreNet) else "mlp"

    def grid_sizes(self) -> list[int]:
        """Every KAN layer's grid size (grid extension changes them); empty for other cores."""
        return self.core.grid_sizes() if isinstance(self.core, CoreNet) else []  # a snapped core has none

    def load_trained(self, state_dict: Mapping[str, Tensor], grid_sizes: Sequence[int] = ()) -> None:
        """Weights saved by ``state_dict()``: a KAN's grids are first resized to ``grid_sizes``."""
        if grid_sizes and isinstance(self.core, CoreNet):
            self.core.resize_grids(grid_sizes)
        self.load_state_dict(state_dict)


def build_core(cfg: Any, widths: list[int]) -> CoreNet:
    """The core network named by ``cfg.name`` (``MODELS``) of the flat model config ``cfg`` with
    layer widths ``widths``."""
    return MODELS.get(cfg.name).from_config(cfg, widths)
