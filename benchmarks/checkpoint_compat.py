"""Checkpoints of an earlier version: does this one continue them exactly?

    (old install)  python benchmarks/checkpoint_compat.py make RUN_DIR [overrides...]
    (this one)     python benchmarks/checkpoint_compat.py resume RUN_DIR [overrides...]

``make`` trains poisson2d with kan_small and stops it at step 25 of 50 (a callback's stop), leaving
a checkpoint; ``resume`` continues it with resume=true and compares the result with one
uninterrupted run of this version: the loss history and the trained parameters must be bitwise the
same. Run ``make`` with the previous release installed (one thread per process, as here), e.g.
``pip install kanpde==0.2.0`` or a checkout of its tag, then ``resume`` here with the same overrides
(``optim.weighting.name=rba`` covers a pointwise weighting state).
"""
from __future__ import annotations

import os
import sys

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402

import kanpde  # noqa: E402

BUDGET = ["optim.adam.steps=40", "optim.lbfgs.steps=10", "sampler.n_interior=128", "sampler.n_boundary=32",
          "output.progress=false", "output.figures=false"]


class StopAt(kanpde.Callback):
    def on_step_begin(self, loop) -> None:
        if loop.global_step == 25:
            loop.stop("stopped at step 25 for the checkpoint check")


def main() -> int:
    action, run_dir, *extra = sys.argv[1:]
    overrides = [*BUDGET, *extra]
    if action == "make":
        sol = kanpde.solve("poisson2d", "kan_small", overrides=overrides, run_dir=run_dir, callbacks=[StopAt()])
        print(f"kanpde {kanpde.__version__}: {len(sol.history['loss'])} steps, checkpoint in {run_dir}")
        return 0
    resumed = kanpde.solve("poisson2d", "kan_small", overrides=[*overrides, "resume=true"], run_dir=run_dir)
    whole = kanpde.solve("poisson2d", "kan_small", overrides=overrides)
    same = np.array_equal(resumed.history["loss"], whole.history["loss"]) and all(
        torch.equal(a, b) for a, b in zip(resumed.net.parameters(), whole.net.parameters()))
    print(f"kanpde {kanpde.__version__}: resumed to {len(resumed.history['loss'])} steps, status "
          f"{resumed.metrics['status']}; bitwise the uninterrupted run: {same}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
