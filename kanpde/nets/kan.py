"""Kolmogorov-Arnold networks: a learnable 1-D function on every edge, sums at the nodes."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..errors import ConfigError
from ..options import Options, build_options
from .bases import BASES, Basis, BSpline, basis_from
from .jet import UNIT_DERIVATIVES, Jet
from .model import MODELS, CoreNet, check_widths
from .spline_jet import SplineLayerJet, unit_chain
from .spline_jet_higher import SplineLayerJetHigher, partition_products, unit_chain_higher


# A jet goes through the layers this many points at a time: every layer's temporaries (basis rows,
# n_in (k + 1) or n_in n_basis values per jet component and point) then stay cache-sized, where at
# 65k points they would be arrays of hundreds of MB in fresh pages. Loss + backward, one thread
# (`python benchmarks/jet_chunks.py`): at 16x points and parameters advection1d 4.6 s -> 0.96 s,
# allen_cahn 8.7 -> 1.7 s, burgers1d 10.5 -> 1.6 s; at 4x 5-45 % less; at 1x the same.
JET_CHUNK_POINTS = 1024


class KANLayer(nn.Module):
    """y_o = sum_i [ base_io * silu(x_i) + scale_io * sum_m coef_iom basis_m(x_i) ].

    x: (B, n_in) -> y: (B, n_out). One basis evaluation and one matmul; no loop over edges.
    Edges start as w_io * x plus Gaussian noise of std ``noise / n_basis`` in the coefficients
    (so a finer grid or a higher degree is not a rougher start), w_io ~ U(-1, 1) / sqrt(n_in);
    the optional SiLU base branch starts at zero. ``mask`` (n_in, n_out) is 1 on live edges and 0 on
    pruned ones (kanpde.interpret.prune); checkpoints without it load with every edge live.
    """

    def __init__(self, n_in: int, n_out: int, basis: Basis, base_activation: bool = False, noise: float = 0.1):
        super().__init__()
        self.n_in, self.n_out, self.basis = n_in, n_out, basis
        slope = (2 * torch.rand(n_in, n_out) - 1) / n_in**0.5
        identity = basis.identity_coefficients().to(slope.dtype)  # (n_in, n_basis)
        coef = slope[..., None] * identity[:, None, :] + noise / basis.n_basis * torch.randn(n_in, n_out, basis.n_basis)
        self.coef = nn.Parameter(coef)
        self.scale = nn.Parameter(torch.ones(n_in, n_out))
        self.base = nn.Parameter(torch.zeros(n_in, n_out)) if base_activation else None
        self.register_buffer("mask", torch.ones(n_in, n_out))

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        state_dict.setdefault(prefix + "mask", torch.ones_like(self.mask))  # checkpoints from before pruning
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def weight(self) -> Tensor:
        """Edge coefficients times edge scales (times the mask), flattened for one matmul:
        (n_in * n_basis, n_out)."""
        return self.edges().reshape(-1, self.n_out)

    def edges(self) -> Tensor:
        """Edge coefficients times edge scales (times the mask): (n_in, n_basis, n_out)."""
        return (self.coef * (self.scale * self.mask)[..., None]).transpose(1, 2)

    @property
    def fusable(self) -> bool:
        """Uniform B-spline knots: the fused layer of nets/spline_jet.py applies."""
        return isinstance(self.basis, BSpline) and self.basis.uniform

    def fused(self, data: Tensor, d: int, pairs: tuple[tuple[int, int], ...], higher: tuple[tuple[int, ...], ...] = ()
              ) -> Tensor:
        """The layer on a features-first jet (n_in, C, N) -> (n_out, C, N) (d first partials, then
        one second partial per pair, then the partials of order 3-4 in ``higher``; d = 0: values
        only), by nets/spline_jet.py (to second order) and nets/spline_jet_higher.py: parameter
        gradients through their hand-written backward, no derivatives of derivatives."""
        if higher:
            products = partition_products(data, d, pairs, higher)
            out = SplineLayerJetHigher.apply(data[:, 0], products, self.edges(), self.basis.tables())
            if self.base is None:
                return out
            silu = unit_chain_higher(UNIT_DERIVATIVES["silu"](data[:, 0], products.shape[0]), products)
        else:
            out = SplineLayerJet.apply(data, self.edges(), self.basis.tables(), d, pairs)
            if self.base is None:
                return out
            silu = unit_chain(UNIT_DERIVATIVES["silu"](data[:, 0]), data[:, 1:], d, pairs)
        return out + (self.base_weight().T @ silu.reshape(self.n_in, -1)).reshape(out.shape)

    def base_weight(self) -> Tensor | None:
        """The SiLU branch's weights on the live edges (n_in, n_out), or None without the branch."""
        return None if self.base is None else self.base * self.mask

    def forward(self, x: Tensor) -> Tensor:
        y = self.basis(x).reshape(x.shape[0], -1) @ self.weight()
        if self.base is not None:
            y = y + F.silu(x) @ self.base_weight()
        return y

    def jet(self, jet: Jet) -> Jet:
        """Closed-form derivatives of the output (see nets.jet): the basis rows of every jet
        component times the coefficients, as one matmul."""
        c, n = jet.data.shape[:2]
        out = self.jet_rows(jet) @ self.weight()
        if self.base is not None:
            out = out + jet.chain(UNIT_DERIVATIVES["silu"](jet.value, jet.order)).reshape(c * n, -1) @ self.base_weight()
        return jet.replace(out.reshape(c, n, self.n_out))

    def jet_rows(self, jet: Jet) -> Tensor:
        """(C * N, n_in * n_basis) basis rows of every jet component (the chain rule applied to the
        basis and its derivatives). Their backward to the input uses the next closed-form
        derivative (BasisJet), not the autograd graph of the recursion."""
        order = max(jet.order, 1)
        rows = jet.chain(BasisJet.apply(jet.value, self.basis, order))  # (C, N, n_in, n_basis)
        return rows.reshape(rows.shape[0] * rows.shape[1], -1)

    @torch.no_grad()
    def refit_grid(self, x: Tensor, grid_size: int | None = None, eps: float = 0.02,
                   carried: Sequence[Tensor] = ()) -> list[Tensor]:
        """Grid update (``grid_size`` None: nodes from the samples x (B, n_in)) or grid extension
        (``grid_size`` G': nodes subdividing the current ones), refitting the coefficients by
        least squares so each edge keeps its function. B-spline bases only. ``carried``: tensors
        of the coefficients' shape (optimiser moments) refitted the same way, returned."""
        if not isinstance(self.basis, BSpline):
            raise ConfigError("optim.grid", f"grid update needs the bspline basis, not {type(self.basis).__name__}")
        nodes = self.basis.adaptive_nodes(x, eps) if grid_size is None else self.basis.refined_nodes(grid_size)
        if carried:
            coef, *moved = self.basis.refit(x, self.coef, nodes, *carried)
        else:
            coef, moved = self.basis.refit(x, self.coef, nodes), []
        if coef.shape == self.coef.shape:
            self.coef.copy_(coef)  # same Parameter object: the optimiser's state stays attached
        else:
            self.coef = nn.Parameter(coef)
        return moved


class BasisJet(torch.autograd.Function):
    """basis.derivatives(z, order) with a closed-form backward: d/dz of the r-th derivative is the
    (r+1)-th, so the gradient to z is sum_r grad_r * B^(r+1), summed over the basis axis."""

    @staticmethod
    def forward(ctx, z: Tensor, basis: Basis, order: int) -> Tensor:
        stacked = basis.derivatives(z, order + 1) if z.requires_grad else basis.derivatives(z, order)
        if z.requires_grad:
            ctx.save_for_backward(stacked[1:])
            return stacked[: order + 1]
        return stacked

    @staticmethod
    def backward(ctx, grad: Tensor):
        (higher,) = ctx.saved_tensors
        return (grad * higher).sum(dim=(0, 3)), None, None


@dataclass
class KANOptions(Options):
    """The model config of a KAN (conf/model/kan.yaml): the basis's options are flat keys beside
    the others, each basis reading its own (bspline: grid_size, order, grid_range; chebyshev:
    degree; rbf: grid_size, grid_range)."""

    name: str = "kan"
    hidden: list[int] = field(default_factory=lambda: [8, 8])
    basis: str = "bspline"  # BASES: bspline | chebyshev | rbf
    grid_size: int = 5  # intervals of the B-spline / RBF grid
    order: int = 4  # B-spline order k (4: the second derivatives a PDE residual takes are C^1)
    degree: int = 5  # Chebyshev degree
    grid_range: list[float] = field(default_factory=lambda: [-1.0, 1.0])
    base_activation: bool = False  # add pykan's SiLU branch to every edge
    noise: float = 0.1  # std of the initial coefficient noise
    fused: bool = True  # uniform B-splines: fused layers with a hand-written backward (false: plain autograd ops)

    def check(self) -> None:
        if any(int(w) < 1 for w in self.hidden):
            raise ConfigError("hidden", f"layer widths must be >= 1, got {list(self.hidden)}")
        cls = BASES.get(self.basis, key="basis")
        values = self.as_dict()
        build_options(cls.Options, {k: values[k] for k in cls.Options.__dataclass_fields__}, f"the {self.basis} basis")


@MODELS.register("kan")
class KAN(CoreNet):
    """KAN(widths=[n_in, h_1, ..., n_out], basis=BSpline(grid_size=5, order=4)): a stack of KANLayers.

    x: (B, widths[0]) -> (B, widths[-1]). Each layer takes ``basis.for_inputs(n_in)``;
    ``base_activation`` adds pykan's SiLU branch to every edge, ``noise`` is the std of the initial
    coefficient noise. ``fused``: on uniform B-spline knots, values and jets go through
    nets/spline_jet.py (one hand-written backward per layer: parameter gradients, not derivatives
    of them); false keeps plain autograd ops throughout.
    """

    Options = KANOptions
    family, prefers_jet = "kan", True  # jets: 5-9x cheaper than nested autograd (results/step_cost_poisson.md)

    def __init__(self, widths: Sequence[int], basis: Basis | None = None, *, base_activation: bool = False,
                 noise: float = 0.1, fused: bool = True):
        super().__init__()
        self.widths = check_widths(widths)
        basis = BSpline() if basis is None else basis
        if not isinstance(basis, Basis):
            raise ConfigError("basis", f"expected a Basis such as BSpline(grid_size=5), got {basis!r}")
        self.basis_name, self.basis_options = basis.name, basis.options
        self.base_activation, self.noise, self.fused = base_activation, noise, fused
        self.layers = nn.ModuleList(
            KANLayer(a, b, basis.for_inputs(a), base_activation, noise)
            for a, b in zip(self.widths[:-1], self.widths[1:])
        )

    @classmethod
    def from_options(cls, options: KANOptions, widths: Sequence[int]) -> "KAN":
        return cls(widths, basis_from(options.basis, options.as_dict()), base_activation=options.base_activation,
                   noise=options.noise, fused=options.fused)

    @classmethod
    def features_per_input(cls, options: KANOptions) -> int:
        return basis_from(options.basis, options.as_dict()).n_basis

    def config(self) -> dict[str, Any]:
        return {**KANOptions().as_dict(), "hidden": self.widths[1:-1], "basis": self.basis_name,
                **self.basis_options.as_dict(), "base_activation": self.base_activation, "noise": self.noise,
                "fused": self.fused}

    def forward(self, x: Tensor) -> Tensor:
        """x (N, n_in) -> (N, n_out). Inputs that need no gradient (collocation values) on uniform
        knots take the fused layers; inputs that do (nested autograd derivatives) the plain,
        twice-differentiable ones."""
        if self.fusable and not (x.requires_grad and torch.is_grad_enabled()):
            data = x.T[:, None, :]
            for layer in self.layers:
                data = layer.fused(data, 0, ())
            return data[:, 0, :].T
        for layer in self.layers:
            x = layer(x)
        return x

    def jet(self, jet: Jet) -> Jet:
        """Closed-form jets through every layer: fused (features first) on uniform B-spline
        knots, else layer by layer through the basis rows; JET_CHUNK_POINTS points at a time."""
        fused = self.fusable
        outs = []
        for data in jet.data.split(JET_CHUNK_POINTS, dim=1):
            if fused:
                data = data.permute(2, 0, 1)
                for layer in self.layers:
                    data = layer.fused(data, jet.d, jet.pairs, jet.higher)
                outs.append(data.permute(1, 2, 0))
            else:
                part = jet.replace(data)
                for layer in self.layers:
                    part = layer.jet(part)
                outs.append(part.data)
        return jet.replace(torch.cat(outs, dim=1))

    @property
    def fusable(self) -> bool:
        """Every layer fused; not while torch.compile traces, which fuses the plain ops itself."""
        return self.fused and not torch.compiler.is_compiling() and all(layer.fusable for layer in self.layers)

    @torch.no_grad()
    def update_grid(self, x: Tensor, eps: float = 0.02) -> None:
        """Move every layer's knots to the distribution of its inputs for network inputs x."""
        for layer in self.layers:
            layer.refit_grid(x, eps=eps)
            x = layer(x)

    @torch.no_grad()
    def extend_grid(self, x: Tensor, grid_size: int, optimizer: torch.optim.Optimizer | None = None) -> None:
        """Grid extension G -> G' of every layer, fitted on network inputs x (B, n_in). With an
        Adam-like ``optimizer``, each coefficient tensor's moments (exp_avg, exp_avg_sq) move to
        the new grid by the same least-squares map (exp_avg_sq clipped at 0) and its state is
        re-keyed to the new Parameter, so the optimiser goes on without a restart."""
        for layer in self.layers:
            x_next = layer(x)
            old = layer.coef
            state = optimizer.state.pop(old, None) if optimizer is not None else None
            keys = [k for k in ("exp_avg", "exp_avg_sq") if state and k in state]
            moved = layer.refit_grid(x, grid_size=grid_size, carried=[state[k] for k in keys])
            if state is not None:
                state.update(zip(keys, moved))
                if "exp_avg_sq" in state:
                    state["exp_avg_sq"].clamp_(min=0)
                for group in optimizer.param_groups:
                    group["params"] = [layer.coef if p is old else p for p in group["params"]]
                optimizer.state[layer.coef] = state
            x = x_next

    def grid_sizes(self) -> list[int]:
        return [layer.basis.grid_size for layer in self.layers if isinstance(layer.basis, BSpline)]

    def resize_grids(self, grid_sizes: Sequence[int]) -> None:
        """Give the B-spline layers the shapes of a checkpoint with these grid sizes (values are
        then overwritten by ``load_state_dict``)."""
        for layer, g in zip(self.layers, grid_sizes):
            if layer.basis.grid_size != g:
                basis = layer.basis
                basis.knots = basis._extend(basis.refined_nodes(g))
                layer.coef = nn.Parameter(layer.coef.new_zeros(layer.n_in, layer.n_out, basis.n_basis))
