"""Hard constraints: conditions met exactly by the network's output instead of as loss terms.

    u(x) = g(x) + phi(x) * N(x)        g, phi: (N, n_out) each, N: the core network

g meets the conditions the constraint replaces and phi vanishes where they apply, so u meets them
whatever N is; those conditions leave the loss (their weights are ignored) and the rest stay loss
terms. With phi = 1 (``replaces`` empty) the transform only shifts the output by a known part of
the solution (the lid cavity's corner flows) and every condition stays a loss term.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

from torch import Tensor

from ..errors import ConfigError

Transform = Callable[[Tensor], "tuple[Tensor, Tensor]"]  # x (N, n_in) -> (g, phi), each (N, n_out)


@dataclass(frozen=True)
class HardConstraint:
    """The output transform ``transform(x) -> (g, phi)`` and the names of the conditions it
    meets exactly (``replaces``). A problem sets one as ``self.hard_constraint`` (None: none)."""

    transform: Transform
    replaces: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "replaces", tuple(self.replaces))

    def __call__(self, x: Tensor) -> tuple[Tensor, Tensor]:
        return self.transform(x)

    @classmethod
    def chosen(cls, constraints: str, transform: Transform, replaces: Sequence[str]) -> HardConstraint | None:
        """The constraint when the option ``problem.constraints`` is "hard", None when "soft"."""
        if constraints not in ("soft", "hard"):
            raise ConfigError("problem.constraints", f"must be soft or hard, got {constraints!r}")
        return cls(transform, replaces) if constraints == "hard" else None


__all__ = ["HardConstraint", "Transform"]
