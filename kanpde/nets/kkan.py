"""KKAN, the Kurkova-Kolmogorov-Arnold network (Toscano, Wang, Karniadakis, Neural Networks 2025):
an inner block of small MLPs, one per input, and an outer layer of basis-function expansions.

    xi_q(x) = sum_{p=1..d} psi_{p,q}(x_p)              (q = 1..m; psi_p: R -> R^m an MLP of x_p alone)
    y_o(x)  = sum_{q=1..m} g_{q,o}(xi_q),   g_{q,o}(xi) = sum_k c_{q,o,k} B_k(xi)

the Kolmogorov-Arnold form with learned inner functions of one variable each (Kurkova's MLP
approximation of them) and the outer functions as a KAN layer (nets/kan.py's KANLayer, any basis;
Chebyshev of tanh by default, as the paper's cPIKAN-style outer block). The d inner MLPs are run
as one MLP with block-diagonal weights (input p's block maps only x_p), so values and jets take the
MLP's ops (nets/jet.py: linear, elementwise) and the outer layer's jet; d times the flops of
separate MLPs, one matmul per layer instead of d.

Widths: [d, *hidden, n_out] with ``hidden`` = the inner MLPs' hidden widths and, last, m (the
number of inner features, 2d + 1 in the Kolmogorov-Arnold theorem).

Measured at kanpde's budget (one thread, 570 s, seed 0, `kanpde problem=allen_cahn model=kkan`,
the problem's recipe otherwise): 4.6e-3 rel L2 with the default [16, 16, 7] (895 parameters), where
the default KAN reaches 1.05e-3 and the MLP 8.4e-4 (results/benchmarks.md); its step is 2.5x the
MLP's (nested autograd, which it prefers to jets: 35 against 50 ms, ``python
benchmarks/higher_order_jets.py --problem allen_cahn``). The paper's 4.8x over the MLP is at 22k
parameters and 300k GPU steps; not reproduced here.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import torch
from torch import Tensor, nn

from ..errors import ConfigError
from ..options import Options, build_options
from .bases import BASES, basis_from
from .jet import UNIT_DERIVATIVES, Jet, elementwise, linear
from .kan import KANLayer
from .mlp import ACTIVATIONS
from .model import MODELS, CoreNet, check_widths


@dataclass
class KKANOptions(Options):
    """The model config of a KKAN (conf/model/kkan.yaml): ``hidden`` is the inner MLPs' hidden
    widths followed by the number of inner features m; the outer basis's options are flat keys."""

    name: str = "kkan"
    hidden: list[int] = field(default_factory=lambda: [16, 16, 7])
    activation: str = "tanh"  # of the inner MLPs: tanh | sin | silu | gelu | softplus
    basis: str = "chebyshev"  # BASES, of the outer layer
    grid_size: int = 5
    order: int = 4
    degree: int = 5
    grid_range: list[float] = field(default_factory=lambda: [-1.0, 1.0])
    noise: float = 0.1  # std of the outer coefficients' initial noise

    def check(self) -> None:
        if len(self.hidden) < 1 or any(int(w) < 1 for w in self.hidden):
            raise ConfigError("hidden", f"needs the inner hidden widths and m, each >= 1, got {list(self.hidden)}")
        if self.activation not in ACTIVATIONS:
            raise ConfigError("activation", f"unknown activation {self.activation!r}; choices: {', '.join(ACTIVATIONS)}")
        cls = BASES.get(self.basis, key="basis")
        values = self.as_dict()
        build_options(cls.Options, {k: values[k] for k in cls.Options.__dataclass_fields__}, f"the {self.basis} basis")


class BlockLinear(nn.Module):
    """d independent affine maps R^a -> R^b, one per input block, as one (d b, d a) block-diagonal
    weight: (N, d a) -> (N, d b). Each block Xavier-initialised, biases zero."""

    def __init__(self, blocks: int, a: int, b: int):
        super().__init__()
        weight = torch.empty(blocks, b, a)
        for w in weight:
            nn.init.xavier_normal_(w)
        self.weight = nn.Parameter(weight)
        self.bias = nn.Parameter(torch.zeros(blocks * b))

    def dense(self) -> Tensor:
        return torch.block_diag(*self.weight)

    def forward(self, x: Tensor) -> Tensor:
        return torch.addmm(self.bias, x, self.dense().T)


@MODELS.register("kkan")
class KKAN(CoreNet):
    """KKAN(widths=[d, *inner_hidden, m, n_out], activation="tanh", basis=Chebyshev()): the d
    inner MLPs [1, *inner_hidden, m] (one per input), their outputs summed over the inputs, then
    one KAN layer [m, n_out] of ``basis``. (N, d) -> (N, n_out)."""

    Options = KKANOptions
    family = "kan"

    def __init__(self, widths: Sequence[int], activation: str = "tanh", basis: Any = None, noise: float = 0.1):
        super().__init__()
        self.widths = check_widths(widths)
        if len(self.widths) < 3:
            raise ConfigError("hidden", f"a KKAN needs at least the number of inner features m, got widths {self.widths}")
        basis = basis_from("chebyshev", {}) if basis is None else basis
        self.activation, self.noise = activation, noise
        self.basis_name, self.basis_options = basis.name, basis.options
        d, *inner, m = self.widths[:-1]
        sizes = [1, *inner, m]
        self.inner = nn.ModuleList(BlockLinear(d, a, b) for a, b in zip(sizes[:-1], sizes[1:]))
        self.outer = KANLayer(m, self.widths[-1], basis.for_inputs(m), noise=noise)
        self.d, self.m = d, m

    @classmethod
    def from_options(cls, options: KKANOptions, widths: Sequence[int]) -> "KKAN":
        return cls(widths, options.activation, basis_from(options.basis, options.as_dict()), options.noise)

    @classmethod
    def features_per_input(cls, options: KKANOptions) -> int:
        return basis_from(options.basis, options.as_dict()).n_basis

    def config(self) -> dict[str, Any]:
        return {**KKANOptions().as_dict(), "hidden": self.widths[1:-1], "activation": self.activation,
                "basis": self.basis_name, **self.basis_options.as_dict(), "noise": self.noise}

    def features(self, x: Tensor) -> Tensor:
        """The inner features xi (N, m)."""
        act = ACTIVATIONS[self.activation]()
        h = x
        for i, layer in enumerate(self.inner):
            h = layer(h)
            if i < len(self.inner) - 1:
                h = act(h)
        return h.reshape(x.shape[0], self.d, self.m).sum(1)

    def forward(self, x: Tensor) -> Tensor:
        return self.outer(self.features(x))

    def jet(self, jet: Jet) -> Jet:
        """Closed-form derivatives: the inner MLP's jet (linear and unit-wise steps), the sum over
        the inputs, then the outer layer's basis rows (nets/jet.py)."""
        act = UNIT_DERIVATIVES[self.activation]
        for i, layer in enumerate(self.inner):
            jet = linear(jet, layer.dense(), layer.bias)
            if i < len(self.inner) - 1:
                jet = elementwise(act(jet.value, jet.order), jet)
        c, n = jet.data.shape[:2]
        return self.outer.jet(jet.replace(jet.data.reshape(c, n, self.d, self.m).sum(2)))


__all__ = ["KKAN", "KKANOptions"]
