"""Solution networks: KANs, the MLP baseline, and the input normalisation around them."""
from __future__ import annotations

from typing import Any, Callable, Sequence

import torch
from torch import Tensor, nn

from ..registry import Registry
from .bases import BASES, Basis, BSpline, Chebyshev, GaussianRBF
from .jet import Jet
from .kan import KAN, KANLayer
from .mlp import MLP

MODELS: Registry[Callable[[Any, list[int]], nn.Module]] = Registry("model", "model.name")


@MODELS.register("kan")
def _kan(cfg: Any, widths: list[int]) -> KAN:
    return KAN(widths, cfg.basis, grid_size=cfg.grid_size, order=cfg.order, degree=cfg.degree,
               grid_range=cfg.grid_range, base_activation=cfg.base_activation, noise=cfg.noise)


@MODELS.register("mlp")
def _mlp(cfg: Any, widths: list[int]) -> MLP:
    return MLP(widths, cfg.activation, cfg.fourier_features, cfg.fourier_scale)


class SolutionNet(nn.Module):
    """u(x) = core(2 (x - lo) / (hi - lo) - 1): the core network sees inputs in [-1, 1]^d.

    x: (N, n_in) physical coordinates -> (N, n_out).
    """

    def __init__(self, core: nn.Module, lo: Tensor, hi: Tensor):
        super().__init__()
        self.core = core
        self.register_buffer("shift", (lo + hi) / 2)
        self.register_buffer("inv_half_width", 2 / (hi - lo))

    def normalize(self, x: Tensor) -> Tensor:
        return (x - self.shift) * self.inv_half_width

    def forward(self, x: Tensor) -> Tensor:
        return self.core(self.normalize(x))

    def jet(self, x: Tensor, pairs: Sequence[tuple[int, int]] = ()) -> Jet:
        """Value, first partials and the second partials d^2/dx_k dx_l for ``pairs`` in the
        physical inputs x (N, d), propagated in closed form: a Jet with data (1 + d + P, N, n_out)."""
        return self.core.jet(Jet.affine_input(self.normalize(x), self.inv_half_width, pairs))

    @property
    def is_kan(self) -> bool:
        return isinstance(self.core, KAN)

    @property
    def prefers_jet(self) -> bool:
        """Closed-form jets beat nested autograd for KANs (measured 3-4x), not for small MLPs."""
        return self.is_kan


def build_model(cfg: Any, n_in: int, n_out: int, lo, hi) -> SolutionNet:
    """The network named by ``cfg.name`` with widths [n_in, *cfg.hidden, n_out], normalised to the
    domain's bounding box [lo, hi] (sequences of n_in floats)."""
    core = MODELS.get(cfg.name)(cfg, [n_in, *cfg.hidden, n_out])
    dtype = torch.get_default_dtype()
    return SolutionNet(core, torch.as_tensor(lo, dtype=dtype), torch.as_tensor(hi, dtype=dtype))


__all__ = ["BASES", "MODELS", "Basis", "BSpline", "Chebyshev", "GaussianRBF", "KAN", "KANLayer", "MLP",
           "SolutionNet", "build_model"]
