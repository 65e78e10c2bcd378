"""Candidate functions for symbolic edges, by name: each in torch, numpy and sympy, with a complexity.

An edge snapped to candidate f is a f(b x + c) + d. Each candidate says which of (a, b, c, d) are
free; the others are pinned (b = 1, c = 0, or b = +-1 by the fit) wherever a free one would only
duplicate them (a (x + c)^2 already covers a (b x + c)^2), so that fitted parameters are unique.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import sympy
import torch

from ..errors import KanpdeError


@dataclass(frozen=True)
class Candidate:
    """One library function f(z) and how its affine form a f(b z + c) + d is fitted.

    ``scale``: "free" (b > 0 when f is even or odd, any sign otherwise), "sign" (b = +-1) or
    "fixed" (b = 1); ``shift``: "free", "periodic" (c in [-pi, pi)) or "fixed" (c = 0);
    ``domain``: "all", "positive" (z > 0), "nonnegative" (z >= 0) or "nonzero" (z of one sign).
    """

    name: str
    torch_fn: Callable[[torch.Tensor], torch.Tensor]
    numpy_fn: Callable[[np.ndarray], np.ndarray]
    sympy_fn: Callable[[sympy.Expr], sympy.Expr]
    complexity: int
    scale: str = "fixed"
    shift: str = "free"
    domain: str = "all"
    symmetric: bool = False  # even or odd: b > 0 loses nothing

    @property
    def free(self) -> tuple[str, ...]:
        """The parameters a fit and the PDE training adjust."""
        if self.name == "0":
            return ("d",)
        return ("a", *(("b",) if self.scale == "free" else ()), *(("c",) if self.shift != "fixed" else ()), "d")

    def valid(self, z: np.ndarray) -> bool:
        """Whether every argument z = b x + c lies in f's domain (and f is finite there)."""
        if self.domain == "positive":
            return bool(np.all(z > 0))
        if self.domain == "nonnegative":
            return bool(np.all(z >= 0))
        if self.domain == "nonzero":
            return bool(np.all(z > 0) or np.all(z < 0))
        return True


def _gauss_np(z: np.ndarray) -> np.ndarray:
    return np.exp(-z * z)


LIBRARY: dict[str, Candidate] = {c.name: c for c in (
    Candidate("x", lambda z: z, lambda z: z, lambda z: z, 1, shift="fixed"),
    Candidate("x^2", lambda z: z**2, lambda z: z**2, lambda z: z**2, 2),
    Candidate("x^3", lambda z: z**3, lambda z: z**3, lambda z: z**3, 3),
    Candidate("1/x", lambda z: 1 / z, lambda z: 1 / z, lambda z: 1 / z, 2, domain="nonzero"),
    Candidate("sqrt", torch.sqrt, np.sqrt, sympy.sqrt, 2, scale="sign", domain="nonnegative"),
    Candidate("exp", torch.exp, np.exp, sympy.exp, 2, scale="free", shift="fixed"),
    Candidate("log", torch.log, np.log, sympy.log, 2, scale="sign", domain="positive"),
    Candidate("sin", torch.sin, np.sin, sympy.sin, 2, scale="free", shift="periodic", symmetric=True),
    Candidate("cos", torch.cos, np.cos, sympy.cos, 2, scale="free", shift="periodic", symmetric=True),
    Candidate("tanh", torch.tanh, np.tanh, sympy.tanh, 3, scale="free", symmetric=True),
    Candidate("abs", torch.abs, np.abs, sympy.Abs, 3),
    Candidate("gaussian", lambda z: torch.exp(-z * z), _gauss_np, lambda z: sympy.exp(-z**2), 3, scale="free",
              symmetric=True),
    Candidate("0", torch.zeros_like, np.zeros_like, lambda z: sympy.S.Zero, 0, shift="fixed"),
)}


def select(names: Sequence[str] | None = None) -> list[Candidate]:
    """The candidates named (all of them for None); an unknown name is a KanpdeError naming it."""
    if names is None:
        return list(LIBRARY.values())
    unknown = [n for n in names if n not in LIBRARY]
    if unknown:
        raise KanpdeError(f"unknown library function {unknown[0]!r}; choices: {', '.join(LIBRARY)}")
    if not names:
        raise KanpdeError(f"the library is empty; choose from: {', '.join(LIBRARY)}")
    return [LIBRARY[n] for n in dict.fromkeys(names)]


__all__ = ["Candidate", "LIBRARY", "select"]
