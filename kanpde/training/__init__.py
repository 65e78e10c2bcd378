"""Training: the loop (loop.py) runs optimiser phases (phases.py) on a loss (loss.py, weighted by
weighting.py) with callbacks around every step (callbacks.py; resampling in collocation.py, the KAN
grid schedule in grid.py), keeping a history (history.py); SIGTERM and SIGINT stop it cleanly (interrupt.py)."""
from .callbacks import (Callback, Checkpoint, DivergedError, DivergenceGuard, Evaluation, Progress, StalledError,
                        TimeLimit)
from .collocation import Collocation, Resample
from .grid import GridSchedule
from .history import History
from .interrupt import Interrupted
from .loop import Loop
from .loss import Loss, Sparsity
from .phases import PHASES, SCHEDULES, Converged, Phase, Step
from .weighting import WEIGHTINGS, AdaptWeights, FixedWeights, Weighting, build_weighting

__all__ = ["AdaptWeights", "Callback", "Checkpoint", "Collocation", "Converged", "DivergedError",
           "DivergenceGuard", "Evaluation", "FixedWeights", "GridSchedule", "History", "Interrupted", "Loop",
           "Loss", "PHASES", "Phase", "Progress", "Resample", "SCHEDULES", "Sparsity", "StalledError", "Step",
           "TimeLimit",
           "WEIGHTINGS", "Weighting", "build_weighting"]
