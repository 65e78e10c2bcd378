"""The baseline: a multilayer perceptron PINN, optionally with random Fourier features."""
from __future__ import annotations

import math
from typing import Sequence

import torch
from torch import Tensor, nn

from ..errors import ConfigError
from .jet import UNIT_DERIVATIVES, Jet, elementwise, linear


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


class MLP(nn.Module):
    """MLP(widths=[n_in, h_1, ..., n_out], activation): Xavier-initialised affine layers with the
    activation between them, linear output. (N, widths[0]) -> (N, widths[-1])."""

    def __init__(self, widths: Sequence[int], activation: str = "tanh", fourier_features: int = 0,
                 fourier_scale: float = 1.0):
        super().__init__()
        if len(widths) < 2 or any(int(w) < 1 for w in widths):
            raise ConfigError("model.hidden", f"layer widths must be positive, got {list(widths)}")
        if activation not in ACTIVATIONS:
            raise ConfigError("model.activation", f"unknown activation {activation!r}; choices: {', '.join(ACTIVATIONS)}")
        if fourier_features < 0:
            raise ConfigError("model.fourier_features", f"must be >= 0, got {fourier_features}")
        self.widths = [int(w) for w in widths]
        self.activation = activation
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
                jet = z.replace(torch.cat([z.chain(UNIT_DERIVATIVES["cos"](z.value)),
                                           z.chain(UNIT_DERIVATIVES["sin"](z.value))], dim=-1))
            else:
                jet = elementwise(act(jet.value), jet)
        return jet
