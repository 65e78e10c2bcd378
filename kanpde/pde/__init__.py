"""The PDE specification: a ``Problem`` (domain, residual, named conditions, reference), its
conditions and optional hard constraint, the derivative engines a residual reads partials from, and the named residuals
(``residuals.py``) that training squares into loss terms."""
from .conditions import Condition, Dirichlet, Initial, InitialRate, Neumann, Periodic, PointData, Robin
from .derivatives import DERIVATIVES, Derivatives, derivatives
from .constraints import HardConstraint
from .problem import Problem, condition_data
from .test_set import TestSet, delaunay_in, line_set

__all__ = ["Condition", "DERIVATIVES", "Derivatives", "Dirichlet", "HardConstraint", "Initial", "InitialRate",
           "Neumann", "Periodic", "PointData", "Problem", "Robin", "TestSet", "condition_data", "delaunay_in",
           "derivatives", "line_set"]
