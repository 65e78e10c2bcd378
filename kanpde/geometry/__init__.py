"""Domains, where collocation points live: every shape follows ``Domain`` (base.py).

``Box`` (intervals, rectangles, cubes) and ``SpaceTime`` in box.py; ``Disk``, ``Polygon`` and
``Difference`` in shapes.py; ``MeshDomain`` (a 2-D mesh file read with meshio) in mesh.py; point
sets in the unit cube (``sampling.py``: Sobol, Halton, LHS, uniform, grid).
"""
from .base import Domain
from .box import Box, Interval, Rectangle, SpaceTime
from .mesh import MeshDomain
from .shapes import Difference, Disk, Polygon

__all__ = ["Box", "Difference", "Disk", "Domain", "Interval", "MeshDomain", "Polygon", "Rectangle", "SpaceTime"]
