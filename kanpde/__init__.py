"""kanpde: physics-informed PDE solvers with Kolmogorov-Arnold networks and MLP baselines.

    import kanpde
    sol = kanpde.solve("poisson2d")            # a registered problem, or a Problem object
    sol(x)                                     # (N, n_in) -> (N, n_out)
    sol = kanpde.load("outputs/poisson2d/kan/<date>")

The pieces: geometry (domains and samplers), pde (problems, conditions, derivatives, residuals),
nets (KANs, MLPs), training (loop, phases, weighting, callbacks), io (run files), compare and
interpret (their commands), references (reference solvers); build, solve and solution make the
front door. The names below load on first use, so that ``kanpde --help`` does not import torch.
"""
from __future__ import annotations

import importlib
from typing import Any

from .errors import ConfigError, KanpdeError

__version__ = "0.2.0"
_LAZY = {"solve": "run", "load": "solution", "Solution": "solution", "Problem": "pde", "TestSet": "pde",
         "Callback": "training", "DivergedError": "training", "Interrupted": "training",
         "StalledError": "training"}
__all__ = ["ConfigError", "KanpdeError", "__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module 'kanpde' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
