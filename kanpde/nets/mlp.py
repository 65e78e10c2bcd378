"""The baseline: a multilayer perceptron PINN, optionally with random Fourier features."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Sequence

import torch
from torch import Tensor, nn

from ..errors import ConfigError
from ..options import Options, at_least
from .jet import UNIT_DERIVATIVES, Jet, elementwise, linear
from .model import MODELS, CoreNet, check_widths


class Sine(nn.Module):
    """sin(x), the SIREN activation."""

    def forward(self, x: Tensor) -> Tensor:
        return torch.sin(x)


ACTIVATIONS = {"tanh": nn.Tanh, "sin": Sine, "silu": nn.SiLU, "gelu": nn.GELU, "softplus": nn.Softplus}


class FourierFeatures(nn.Module):
    """x -> [cos(2 pi x B), sin(2 pi x B)], B (n_in, m) ~ N(0, scale^2), fixed: (N, n_in) -> (N, 2m)."""

    def __init__(self, n_in: int, n_features: int, scale: float):
        super().__init__()
        self.register_buffer("frequencies", scale * torch.randn(n_in, n_features))

    def forward(self, x: Tensor) -> Tensor:
        z = 2 * math.pi * x @ self.frequencies
        return torch.cat([torch.cos(z), torch.sin(z)], dim=-1)


@dataclass
class MLPOptions(Options):
    """The model config of an MLP (conf/model/mlp.yaml)."""

    name: str = "mlp"
    hidden: list[int] = field(default_factory=lambda: [20, 20, 20])
    activation: str = "tanh"  # ACTIVATIONS: tanh | sin | silu | gelu | softplus
    fourier_features: int = 0  # random Fourier features of the inputs (0: none)
    fourier_scale: float = 1.0  # std of their frequencies

    def check(self) -> None:
        if any(int(w) < 1 for w in self.hidden):
            raise ConfigError("hidden", f"layer widths must be >= 1, got {list(self.hidden)}")
        if self.activation not in ACTIVATIONS:
            raise ConfigError("activation", f"unknown activation {self.activation!r}; choices: {', '.join(ACTIVATIONS)}")
        at_least(self, "fourier_features", 0)


@MODELS.register("mlp")
class MLP(CoreNet):
    """MLP(widths=[n_in, h_1, ..., n_out], activation): Xavier-initialised affine layers with the
    activation between them, linear output. (N, widths[0]) -> (N, widths[-1])."""

    Options = MLPOptions

    def __init__(self, widths: Sequence[int], activation: str = "tanh", fourier_features: int = 0,
                 fourier_scale: float = 1.0):
        super().__init__()
        self.widths = check_widths(widths)
        MLPOptions(activation=activation, fourier_features=fourier_features, fourier_scale=fourier_scale)  # checks
        self.activation, self.fourier_features, self.fourier_scale = activation, fourier_features, fourier_scale
        layers: list[nn.Module] = []
        n_in = self.widths[0]
        if fourier_features:
            layers.append(FourierFeatures(n_in, fourier_features, fourier_scale))
            n_in = 2 * fourier_features
        sizes = [n_in, *self.widths[1:]]
        for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
            linear = nn.Linear(a, b)
            nn.init.xavier_normal_(linear.weight)
            nn.init.zeros_(linear.bias)
            layers.append(linear)
            if i < len(sizes) - 2:
                layers.append(ACTIVATIONS[activation]())
        self.net = nn.Sequential(*layers)

    @classmethod
    def from_options(cls, options: MLPOptions, widths: Sequence[int]) -> "MLP":
        return cls(widths, options.activation, options.fourier_features, options.fourier_scale)

    @classmethod
    def features_per_input(cls, options: MLPOptions) -> int:
        return 1

    def config(self) -> dict[str, Any]:
        return MLPOptions(hidden=self.widths[1:-1], activation=self.activation, fourier_features=self.fourier_features,
                          fourier_scale=self.fourier_scale).as_dict()

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)

    def jet(self, jet: Jet) -> Jet:
        """Closed-form derivatives of the output (see nets.jet)."""
        act = UNIT_DERIVATIVES[self.activation]
        for module in self.net:
            if isinstance(module, nn.Linear):
                jet = linear(jet, module.weight, module.bias)
            elif isinstance(module, FourierFeatures):
                z = linear(jet, 2 * math.pi * module.frequencies.T, None)
                jet = z.replace(torch.cat([z.chain(UNIT_DERIVATIVES["cos"](z.value, z.order)),
                                           z.chain(UNIT_DERIVATIVES["sin"](z.value, z.order))], dim=-1))
            else:
                jet = elementwise(act(jet.value, jet.order), jet)
        return jet
