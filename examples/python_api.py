"""kanpde from Python, as in a notebook: solve, evaluate, differentiate, your own problem, a callback,
KAN against MLP, networks and optimisers as objects, save and load.

    python examples/python_api.py            # about a minute on a 2-core CPU
    python examples/python_api.py --quick    # a few seconds of training per solve (what CI runs)

Each block below is one notebook cell.
"""
from __future__ import annotations

import math
import sys
import tempfile

import numpy as np
import torch

import kanpde
from kanpde.geometry import Interval
from kanpde.nets import KAN, Chebyshev
from kanpde.pde import Dirichlet, Problem
from kanpde.training import Adam, ResidualAttention, SSBroyden

QUICK = "--quick" in sys.argv
BUDGET = ["optim.adam.steps=200", "optim.lbfgs.steps=200"] if QUICK else ["optim.adam.steps=1000", "optim.lbfgs.steps=1500"]
SILENT = ["output.progress=false"]

# 1. A registered benchmark: -lap u = 2 pi^2 sin(pi x) sin(pi y) on [-1, 1]^2 with the default KAN.
sol = kanpde.solve("poisson2d", overrides=[*BUDGET, *SILENT])
print(sol)

# 2. The solution at any points: numpy in, numpy out (torch in, torch out).
x = np.array([[0.5, 0.5], [0.25, -0.5], [0.0, 0.9]])
exact = np.sin(np.pi * x[:, :1]) * np.sin(np.pi * x[:, 1:])
print("u(x):", sol(x)[:, 0], "exact:", exact[:, 0])

# 3. Derivatives by name: the PDE residual -u_xx - u_yy - f at those points.
d = sol.derivatives(x, "u_xx", "u_yy")
residual = -d["u_xx"] - d["u_yy"] - 2 * np.pi**2 * exact[:, 0]
print("residual:", residual)


# 4. Your own equation is a small Problem class: -u'' = k^2 sin(kx) on [0, 1], u = sin(kx) at the ends.
class Poisson1D(Problem):
    inputs, outputs = ("x",), ("u",)

    def __init__(self, frequency: float = 2.0):
        super().__init__({"pde": 1.0, "ends": 10.0})
        self.k = frequency * math.pi
        self.domain = Interval(0.0, 1.0)
        self.conditions = [Dirichlet("ends", value=lambda x: torch.sin(self.k * x[:, 0]))]

    def residual(self, x, u, d):
        return -d("u", "x", "x") - self.k**2 * torch.sin(self.k * x[:, 0])

    def exact(self, x):
        return torch.sin(self.k * x[:, :1])


# 5. A callback: stop as soon as the test error is below 1e-4 (evaluated every 50 steps).
class StopAtError(kanpde.Callback):
    def __init__(self, target: float):
        self.target = target

    def on_step_end(self, loop, step):
        error = loop.history.last("eval/rel_l2")
        if loop.history.last("eval/step") == step.index and error < self.target:
            loop.stop(f"rel_l2 {error:.1e} < {self.target:g}")


own = kanpde.solve(Poisson1D(frequency=2.0), "kan_small", overrides=[*BUDGET, *SILENT, "output.eval_every=50"],
                   callbacks=[StopAtError(1e-4)])
print(own, own.metrics["events"][-1:] or "ran every step")

# 6. KAN against MLP on one problem, same budget, three seeds.
print(f"{'model':6} {'seed':>4} {'rel L2':>10} {'seconds':>8}")
for model in ("kan", "mlp"):
    for seed in range(1 if QUICK else 3):
        m = kanpde.solve("heat1d", model, overrides=[*BUDGET, *SILENT], seed=seed).metrics
        print(f"{model:6} {seed:4d} {m['rel_l2']:10.2e} {m['train_seconds']:8.1f}")

# 7. Networks, optimiser phases and a loss weighting as objects (the run's config records them).
kan = KAN([2, 6, 6, 1], basis=Chebyshev(degree=4))
steps = 200 if QUICK else 1000
obj = kanpde.solve("heat1d", kan, phases=[Adam(steps=steps, lr=1e-2, lr_final=1e-3), SSBroyden(steps=steps)],
                   weighting=ResidualAttention(eta=0.01), overrides=SILENT)
print(obj, list(obj.config.optim.phases), obj.config.model.basis)

# 8. Save a solution as the command line would (ParaView, h5py, figures) and load it back.
with tempfile.TemporaryDirectory() as tmp:
    path = sol.save(f"{tmp}/poisson")
    again = kanpde.load(path)
    assert np.array_equal(again(x), sol(x))
    print("saved and reloaded:", sorted(p.name for p in path.iterdir()))
