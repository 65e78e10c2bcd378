"""Benchmark problems shipped with kanpde (installed as ``kanpde.problems``)."""
from .advection import Advection1D
from .allen_cahn import AllenCahnDirichlet, AllenCahnPeriodic
from .burgers import Burgers1D
from .heat import Heat1D, Heat1DInverse
from .helmholtz import Helmholtz2D
from .kdv import KdV
from .klein_gordon import KleinGordon
from .kovasznay import Kovasznay
from .lid_cavity import LidCavity
from .poisson import Poisson2D, Poisson2DKANPaper
from .poisson_domains import Poisson3D, PoissonDiskRobin, PoissonLShape, PoissonMesh
from .wave import Wave1D

__all__ = ["Advection1D", "AllenCahnDirichlet", "AllenCahnPeriodic", "Burgers1D", "Heat1D", "Heat1DInverse", "Helmholtz2D",
           "KdV", "KleinGordon", "Kovasznay", "LidCavity", "Poisson2D", "Poisson2DKANPaper", "Poisson3D",
           "PoissonDiskRobin", "PoissonLShape", "PoissonMesh", "Wave1D"]
