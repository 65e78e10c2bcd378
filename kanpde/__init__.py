"""kanpde: physics-informed PDE solvers with Kolmogorov-Arnold networks and MLP baselines."""
from .errors import ConfigError, KanpdeError

__version__ = "0.1.0"
__all__ = ["ConfigError", "KanpdeError", "__version__"]
