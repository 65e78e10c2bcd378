"""Benchmark problems shipped with kanpde (installed as ``kanpde.problems``)."""
from .poisson import Poisson2D, Poisson2DKANPaper

__all__ = ["Poisson2D", "Poisson2DKANPaper"]
