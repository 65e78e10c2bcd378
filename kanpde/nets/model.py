"""The core networks' declared interface and their registry ``MODELS`` (kan, mlp).

A core network maps normalised inputs (N, widths[0]) to outputs (N, widths[-1]) and carries jets
(nets/jet.py) through itself in closed form. It is built from plain arguments
(``KAN([2, 8, 8, 1], basis=BSpline(grid_size=5, order=4))``, ``MLP([2, 20, 20, 1])``) or from a
flat model config section (``model.hidden``, ``model.grid_size``, ...: its ``Options``, from which
schema.py derives the schema of ``model``), and gives that section back (``config``) so that a run
of an object records how to rebuild it. A new core is one subclass with its options plus one
``@MODELS.register("name")`` line.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar, Mapping, Sequence

from omegaconf import OmegaConf
from torch import nn

from ..options import Options, build_options
from ..registry import Registry
from .jet import Jet


class CoreNet(nn.Module, ABC):
    """widths [n_in, *hidden, n_out]; ``name`` is set by ``MODELS.register``."""

    name: ClassVar[str]
    Options: ClassVar[type[Options]]
    family: ClassVar[str] = "mlp"  # "kan" | "mlp": metrics.json's "network", the colours of kanpde-compare
    prefers_jet: ClassVar[bool] = False  # diff=auto carries closed-form jets (measured cheaper than nested autograd)
    widths: list[int]

    @classmethod
    def from_config(cls, section: Mapping[str, Any], widths: Sequence[int]) -> "CoreNet":
        """The network of a flat model config ``section`` (its ``hidden`` replaced by ``widths``)."""
        values = OmegaConf.to_container(section, resolve=True) if OmegaConf.is_config(section) else dict(section)
        return cls.from_options(build_options(cls.Options, values, f"the {cls.__name__} model"), widths)

    @classmethod
    @abstractmethod
    def from_options(cls, options: Any, widths: Sequence[int]) -> "CoreNet":
        """The network of ``options`` (an instance of ``Options``) with layer widths ``widths``."""

    @classmethod
    @abstractmethod
    def features_per_input(cls, options: Any) -> int:
        """Numbers each layer input expands into (a KAN: its basis functions; an MLP: 1), for the
        memory estimate of a run before anything is allocated."""

    @abstractmethod
    def config(self) -> dict[str, Any]:
        """The flat model config section that rebuilds this network (``hidden``: its hidden widths)."""

    @abstractmethod
    def jet(self, jet: Jet) -> Jet:
        """Closed-form derivatives of the output (nets/jet.py)."""

    def grid_sizes(self) -> list[int]:
        """Every grid-carrying layer's grid size (grid extension changes them); none by default."""
        return []

    def resize_grids(self, grid_sizes: Sequence[int]) -> None:
        """Give the layers the shapes of a checkpoint with these grid sizes (nothing by default)."""


def check_widths(widths: Sequence[int]) -> list[int]:
    """[n_in, *hidden, n_out] as ints; one line unless there are two or more, each >= 1."""
    from ..errors import ConfigError

    if len(widths) < 2 or any(int(w) < 1 for w in widths):
        raise ConfigError("widths", f"layer widths must be positive, at least [n_in, n_out], got {list(widths)}")
    return [int(w) for w in widths]


MODELS: Registry[type[CoreNet]] = Registry("model", "model.name", label=True)

__all__ = ["MODELS", "CoreNet", "check_widths"]
