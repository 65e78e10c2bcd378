"""Independent high-accuracy reference solutions (numpy/scipy, float64): ground truth for PINN benchmarks."""
from .allen_cahn import (
    allen_cahn_dirichlet,
    allen_cahn_dirichlet_interp,
    allen_cahn_periodic,
    allen_cahn_periodic_interp,
)
from .cole_hopf import burgers_cole_hopf, burgers_cole_hopf_dx, burgers_reference_grid
from .kdv import kdv

__all__ = [
    "allen_cahn_dirichlet",
    "allen_cahn_dirichlet_interp",
    "allen_cahn_periodic",
    "allen_cahn_periodic_interp",
    "burgers_cole_hopf",
    "burgers_cole_hopf_dx",
    "burgers_reference_grid",
    "kdv",
]
