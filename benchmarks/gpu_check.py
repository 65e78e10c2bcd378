"""The GPU check, for a session lent a device: one command, about 5 minutes, into results/gpu.md.

    python benchmarks/gpu_check.py [--device cuda] [--quick] [--out results/gpu.md]

On the lent machine (torch with CUDA, but no hydra-core, omegaconf or meshio) first install the
wheels carried in ``wheels/`` (``pip download -d wheels hydra-core omegaconf meshio pytest`` here;
``run`` with ``carry=["wheels"]``):

    pip install --no-index --find-links wheels hydra-core omegaconf meshio pytest \
      && pip install --no-deps --no-build-isolation -e . && python benchmarks/gpu_check.py

It measures, in this order, each section written to the file as soon as it is done:
1. the CUDA tests (``pytest -k cuda``);
2. jets vs autograd on the device in float64: every residual of poisson2d and burgers1d with the
   B-spline KAN, largest relative difference (must be <= 1e-10);
3. ms per Adam step of a [2, 8, 8, 1] B-spline KAN at 4096 points on poisson2d and burgers1d
   (float32; the median over steps 20-200 of the training clock; jaxKAN reports 4.4-6.9 ms);
4. the largest number of collocation points whose Adam step fits (doubling from 65,536 up to
   16M), with its ms per step;
5. seconds to a test error of 1e-4 on poisson2d with the default KAN run.
``--device cpu --quick`` runs the same code with small sizes (the tests do, so it stays working).
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

import kanpde
from kanpde.build import build_net, instantiate_problem
from kanpde.config import compose
from kanpde.pde.residuals import pointwise_residuals
from kanpde.training.collocation import collocation_points

WARMUP = 20


def cuda_tests() -> str:
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-k", "cuda", "tests"], capture_output=True,
                            text=True)
    return f"`pytest -q -k cuda tests`: exit {result.returncode}, {result.stdout.strip().splitlines()[-1]}"


def jets_vs_autograd(device: torch.device, n: int) -> str:
    rows = []
    for name in ("poisson2d", "burgers1d"):
        cfg = compose(name, "kan", ["model.basis=bspline"])
        problem = instantiate_problem(cfg.problem)
        torch.manual_seed(0)
        net = build_net(problem, cfg.model, torch.float64, device)
        problem.to(device, torch.float64)
        points = {k: torch.as_tensor(v, dtype=torch.float64, device=device)
                  for k, v in collocation_points(problem, n, n // 4, "sobol", 0).items()}
        jet = pointwise_residuals(problem, net, points, "jet")
        auto = pointwise_residuals(problem, net, points, "autograd")
        worst = max(float((jet[k] - auto[k]).norm() / auto[k].norm().clamp_min(1e-300)) for k in auto)
        rows.append(f"{name} {worst:.1e} ({'ok' if worst <= 1e-10 else 'ABOVE 1e-10'})")
    return f"largest relative difference over the residuals, float64, {n} points: " + ", ".join(rows)


def ms_per_step(problem: str, device: str, points: int, steps: int, *extra: str) -> float:
    """The median ms per Adam step after WARMUP steps, from the run's training clock."""
    solution = kanpde.solve(problem, "kan", overrides=[
        "model.hidden=[8,8]", "model.basis=bspline", "dtype=float32", f"device={device}", f"sampler.n_interior={points}",
        "sampler.adaptive=false", "sampler.resample_every=0", "optim.phases=[adam]", f"optim.adam.steps={steps}",
        "optim.time_limit=0", "output.eval_every=0", "output.progress=false", *extra])
    elapsed = np.asarray(solution.history["elapsed_s"])
    return 1e3 * statistics.median(np.diff(elapsed[WARMUP - 1:]))


def step_times(device: str, steps: int) -> str:
    return ", ".join(f"{name} {ms_per_step(name, device, 4096, steps):.2f} ms" for name in ("poisson2d", "burgers1d"))


def largest_batch(device: str, start: int, stop: int) -> str:
    fitted, n = None, start
    while n <= stop:
        try:
            fitted = (n, ms_per_step("poisson2d", device, n, WARMUP + 5))
        except (torch.cuda.OutOfMemoryError, kanpde.KanpdeError) as exc:  # the size check refuses first, or CUDA
            if device.startswith("cuda"):
                torch.cuda.empty_cache()
            return f"{fitted[0]:,} points, {fitted[1]:.1f} ms per step; {n:,} did not fit ({str(exc)[:80]})" \
                if fitted else f"not even {n:,} points fit ({str(exc)[:80]})"
        n *= 2
    return f"{fitted[0]:,} points (the most tried), {fitted[1]:.1f} ms per step"


def time_to_accuracy(device: str, quick: bool) -> str:
    budget = ["optim.adam.steps=50", "optim.lbfgs.steps=20"] if quick else []
    solution = kanpde.solve("poisson2d", "kan", overrides=[f"device={device}", "output.eval_every=25",
                                                           "output.progress=false", *budget])
    errors = np.asarray(solution.history["eval/rel_l2"])
    seconds = np.asarray(solution.history["eval/elapsed_s"])
    hit = np.flatnonzero(errors <= 1e-4)
    final = f"final rel L2 {solution.metrics['rel_l2']:.2e} after {solution.metrics['train_seconds']:.1f} s"
    return (f"{seconds[hit[0]]:.1f} s to rel L2 <= 1e-4; " if hit.size else "1e-4 not reached; ") + final


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--quick", action="store_true", help="small sizes (a smoke test of this script)")
    parser.add_argument("--out", type=Path, default=Path("results/gpu.md"))
    args = parser.parse_args()
    device = torch.device(args.device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU ({torch.get_num_threads()} threads)"
    lines = [f"# GPU check: {name}", "", f"Command: `python benchmarks/gpu_check.py --device {args.device}"
             f"{' --quick' if args.quick else ''}`; torch {torch.__version__}, kanpde {kanpde.__version__}.", ""]
    sections = [("CUDA tests", lambda: cuda_tests() if device.type == "cuda" else "skipped (not a CUDA device)"),
                ("Jets vs autograd", lambda: jets_vs_autograd(device, 256 if args.quick else 4096)),
                ("ms per Adam step, [2,8,8,1] B-spline KAN, 4096 points",
                 lambda: step_times(args.device, WARMUP + 10 if args.quick else 200)),
                ("Largest collocation batch",
                 lambda: largest_batch(args.device, 4096 if args.quick else 65536, 8192 if args.quick else 2**24)),
                ("Time to 1e-4 on poisson2d", lambda: time_to_accuracy(args.device, args.quick))]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    for title, measure in sections:
        start = time.perf_counter()
        try:
            text = measure()
        except Exception as exc:  # noqa: BLE001 - a failed section is recorded; the others still run
            text = f"FAILED: {type(exc).__name__}: {str(exc)[:300]}"
        lines.append(f"- **{title}** ({time.perf_counter() - start:.0f} s): {text}")
        print(lines[-1], flush=True)
        args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
