"""Training: the loop (loop.py) runs optimiser phases (phases.py) on a loss (loss.py, weighted by
weighting.py) with callbacks around every step (callbacks.py; resampling in collocation.py, the KAN
grid schedule in grid.py), keeping a history (history.py); SIGTERM and SIGINT stop it cleanly (interrupt.py)."""
from .callbacks import (Callback, Checkpoint, DivergedError, DivergenceGuard, Evaluation, Progress, StalledError,
                        TimeLimit)
from .collocation import Collocation, Resample, SamplerOptions
from .grid import GridOptions, GridSchedule
from .history import History
from .interrupt import Interrupted
from .loop import Loop
from .loss import Loss, Sparsity, SparsityOptions
from .phases import (BFGS, LBFGS, PHASES, SCHEDULES, SSBFGS, Adam, Converged, Phase, QuasiNewton, SSBroyden,
                     Step)
from .weighting import (WEIGHTINGS, AdaptWeights, CausalWeights, FixedWeights, GradNormWeights, ResidualAttention,
                        Weighting, build_weighting)

__all__ = ["Adam", "AdaptWeights", "BFGS", "Callback", "CausalWeights", "Checkpoint", "Collocation", "Converged",
           "DivergedError", "DivergenceGuard", "Evaluation", "FixedWeights", "GradNormWeights",
           "GridOptions", "GridSchedule", "History", "Interrupted", "LBFGS", "Loop", "Loss", "PHASES", "Phase", "Progress", "QuasiNewton", "Resample",
           "ResidualAttention", "SCHEDULES", "SSBFGS", "SSBroyden", "SamplerOptions", "Sparsity", "SparsityOptions", "StalledError", "Step", "TimeLimit",
           "WEIGHTINGS", "Weighting", "build_weighting"]
