"""Solution networks: KANs (kan.py, bases.py, the fused B-spline layers spline_jet.py and
spline_jet_higher.py), KKANs (kkan.py), the MLP baseline (mlp.py), closed-form jets (jet.py), edge activations and the sparsity regulariser, and
the ``SolutionNet`` that wraps a core network for a problem (solution_net.py)."""
from .bases import BASES, Basis, BSpline, Chebyshev, GaussianRBF
from .kan import KAN, KANLayer, KANOptions
from .kkan import KKAN, KKANOptions
from .mlp import MLP, MLPOptions
from .model import MODELS, CoreNet
from .solution_net import SolutionNet, build_core

__all__ = ["BASES", "MODELS", "Basis", "BSpline", "Chebyshev", "CoreNet", "GaussianRBF", "KAN", "KANLayer", "KANOptions",
           "KKAN", "KKANOptions", "MLP", "MLPOptions", "SolutionNet", "build_core"]
