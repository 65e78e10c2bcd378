"""The limited-memory self-scaled inverse Hessian against the dense one on two small test functions.

    python benchmarks/limited_memory.py [--memory 5 20]

A quadratic f = x.A x / 2 - b.x in 60 dimensions (condition number 1e4, tests/test_limited_memory.py's)
and the 30-dimensional Rosenbrock function from x = -1, minimised by SelfScaledQuasiNewton with each
update (bfgs, ssbfgs, ssbroyden), its H dense and from the last m pairs. Printed per run: the steps
until f - f* < 1e-9, the steps taken in all (until no decrease can be found) and the number of
restarts of H (directions that were not descent directions, and the first start).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

from kanpde.training.limited_memory import LimitedMemoryInverseHessian
from kanpde.training.quasi_newton import UPDATES, DenseInverseHessian, SelfScaledQuasiNewton

sys.path.insert(0, str(Path(__file__).parents[1] / "tests"))
from test_limited_memory import quadratic  # noqa: E402


class Counted:
    """An InverseHessian that counts its resets."""

    def __init__(self, inner):
        self.inner, self.resets = inner, 0

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def reset(self, state, like):
        self.resets += 1
        self.inner.reset(state, like)


def run(problem: str, update: str, memory: int) -> tuple[int | None, int, int]:
    if problem == "quadratic":
        A, b = quadratic(60, 3, condition=1e4)
        f_star = float(-0.5 * b @ torch.linalg.solve(A, b))
        x = torch.zeros(60, requires_grad=True)
        f = lambda: 0.5 * x @ (A @ x) - b @ x  # noqa: E731
    else:
        f_star, x = 0.0, torch.full((30,), -1.0, requires_grad=True)
        f = lambda: (100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2).sum()  # noqa: E731
    inverse = Counted(LimitedMemoryInverseHessian(memory, update) if memory else DenseInverseHessian(update))
    opt = SelfScaledQuasiNewton([x], update, inverse_hessian=inverse)

    def closure():
        opt.zero_grad()
        value = f()
        value.backward()
        return value, None

    reached, steps = None, 0
    for steps in range(1, 5001):
        out = opt.step(closure)
        if out is None:
            break
        if reached is None and out[0] - f_star < 1e-9:
            reached = steps
    return reached, steps, inverse.resets


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--memory", nargs="*", type=int, default=[5, 20])
    args = parser.parse_args()
    torch.set_default_dtype(torch.float64)
    print("| problem | update | H | steps to f - f* < 1e-9 | steps | restarts |")
    print("|---|---|---|---|---|---|")
    for problem in ("quadratic", "rosenbrock"):
        for update in UPDATES:
            for memory in (0, *args.memory):
                reached, steps, resets = run(problem, update, memory)
                print(f"| {problem} | {update} | {'dense' if not memory else f'm = {memory}'} | {reached} | {steps} | {resets} |")


if __name__ == "__main__":
    main()
